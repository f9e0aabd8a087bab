"""Administration of a data directory: backups and restores, row deletes, bulk
import and export, node stop.

`Admin` is the one API the HTTP handlers, the CLI and the notebook call (`engine.admin`); each
noun lives in its own module (backup.py, restore.py, jobs.py for the job records, copying.py for
verified copies). Errors callers must tell apart are `AdminError`s carrying the HTTP status.
Never imports tornado or IPython.
"""

from __future__ import annotations

from .backup import Backups
from .jobs import AdminError
from .restore import Restores, restore_offline

__all__ = ["Admin", "AdminError", "restore_offline"]


class Admin:
    def __init__(self, engine):
        self.engine = engine
        self.backups = Backups(engine)
        self.restores = Restores(engine, self.backups)

    # backups
    def create_backup(self, name=None, *, force=False, kind="full", parent=None, wait=False) -> dict:
        return self.backups.create(name, force=force, kind=kind, parent=parent, wait=wait)

    def list_backups(self) -> list[dict]:
        return self.backups.list()

    def get_backup(self, name: str) -> dict:
        return self.backups.get(name)

    def delete_backup(self, name: str, *, incremental: bool = False) -> dict:
        return self.backups.delete(name, incremental=incremental)

    def cancel_backup(self, name: str) -> dict:
        return self.backups.cancel(name)

    # restores
    def create_restore(self, backup_name: str, *, wait=False) -> dict:
        return self.restores.create(backup_name, wait=wait)

    def list_restores(self) -> list[dict]:
        return self.restores.list()

    def get_restore(self, restore_id: str) -> dict:
        return self.restores.get(restore_id)

    def cancel_restore(self, restore_id: str) -> None:
        self.restores.cancel(restore_id)

    # row deletes
    def create_row_delete(self, db: str, table: str, *, min_time=None, max_time=None, all_time=False,
                          predicate=None) -> dict:
        from . import deletes
        return deletes.create(self.engine, db, table, min_time=min_time, max_time=max_time, all_time=all_time,
                              predicate=predicate)

    def list_row_deletes(self, **filters) -> list[dict]:
        from . import deletes
        return deletes.listing(self.engine, **filters)

    def abort_row_delete(self, sequence: int, reason: str) -> dict:
        from . import deletes
        return deletes.abort(self.engine, sequence, reason)

    # bulk import and export
    def import_parquet(self, db: str, table: str, data: bytes, column_metadata=None,
                       filename: str | None = None) -> dict:
        from . import imports
        try:
            return imports.run(self.engine, db, table, data, column_metadata, filename)
        except AdminError as exc:
            if exc.status == 400:
                imports.fail(self.engine, db, table, exc.message, filename, len(data))
            raise

    def list_imports(self, database: str | None = None) -> list[dict]:
        from . import imports
        return imports.listing(self.engine, database)

    def export_databases(self) -> list[str]:
        from . import export
        return export.databases(self.engine)

    def export_tables(self, db: str) -> list[str]:
        from . import export
        return export.tables(self.engine, db)

    def export_windows(self, db: str, table: str) -> list[str]:
        from . import export
        return export.windows(self.engine, db, table)

    def export_window_files(self, db: str, table: str, windows: str | list[str] | None = None):
        """(tar member name, Parquet bytes) per window; `windows` a list or ``"d1,d2"`` (None: all)."""
        from . import export
        wanted = export.parse_windows(windows) if isinstance(windows, str) or windows is None else windows
        return export.window_files(self.engine, db, table, wanted)

    # file index
    def create_file_index(self, db: str, table: str | None, columns: list[str]) -> dict:
        from . import fileindex
        return fileindex.create(self.engine, db, table, columns)

    def delete_file_index(self, db: str, table: str | None = None) -> None:
        from . import fileindex
        fileindex.delete(self.engine, db, table)

    # nodes
    def stop_node(self, node_id: str) -> dict:
        from .nodes import stop
        return stop(self.engine, node_id)

    def close(self) -> None:
        self.backups.close()
        self.restores.close()
