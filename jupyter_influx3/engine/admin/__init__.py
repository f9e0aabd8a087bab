"""Administration of a data directory: backups and restores, row deletes, node stop.

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

    # nodes
    def stop_node(self, node_id: str) -> dict:
        from .nodes import stop
        return stop(self.engine, node_id)

    def close(self) -> None:
        self.backups.close()
        self.restores.close()
