"""Administration from a notebook or Python: backups, restores, Parquet import and export, over
the kernel's own engine (`EngineClient`: `engine.admin`) or any server over HTTP (`HttpClient`,
the same endpoints as InfluxDB 3 Enterprise), and the `%influx3 backup | restore | import | export`
magics built on them, which show their progress while they wait.

Thin: the work is engine/admin/'s (or the server's).
"""

from __future__ import annotations

import io
import json
import tarfile
import time
import urllib.parse
import uuid
from pathlib import Path
from typing import Any, Callable, Optional

from .client import EngineClient, Influx3Error

Progress = Optional[Callable[[str], None]]


class AdminCalls:
    def __init__(self, client: Any):
        self.client = client

    @property
    def _engine(self):
        return self.client.engine.admin if isinstance(self.client, EngineClient) else None

    def _json(self, method: str, path: str, body: Any = None, query: Optional[dict] = None) -> Any:
        _, data = self.client._request(method, path, json_body=body, query=query)
        return json.loads(data) if data.strip() else None

    def _engine_call(self, fn: Callable, *args, **kwargs) -> Any:
        from ..engine.admin import AdminError

        try:
            return fn(*args, **kwargs)
        except AdminError as exc:
            raise Influx3Error(exc.message, exc.status) from None

    # -- backups and restores ---------------------------------------------------------------------
    def backup(self, name: Optional[str] = None, *, parent: Optional[str] = None, force: bool = False,
               wait: bool = True, progress: Progress = None) -> dict:
        kind = "incremental" if parent else "full"
        if self._engine is not None:
            out = self._engine_call(self._engine.create_backup, name, force=force, kind=kind, parent=parent)
        else:
            out = self._json("POST", "/api/v3/enterprise/backup",
                             {"type": kind, "name": name, "force": force, "parent": parent})
        if not wait:
            return out
        return self._wait(lambda: self.backup_status(out["backup_name"]), f"backup {out['backup_name']}", progress)

    def backup_status(self, name: str) -> dict:
        if self._engine is not None:
            return self._engine_call(self._engine.get_backup, name)
        return self._json("GET", f"/api/v3/enterprise/backup/{urllib.parse.quote(name, safe='')}")

    def backups(self) -> list[dict]:
        if self._engine is not None:
            return self._engine.list_backups()
        return self._json("GET", "/api/v3/enterprise/backup")["backups"]

    def restore(self, backup_name: str, *, wait: bool = True, progress: Progress = None) -> dict:
        if self._engine is not None:
            out = self._engine_call(self._engine.create_restore, backup_name)
        else:
            out = self._json("POST", "/api/v3/enterprise/restore", {"backup_name": backup_name})
        if not wait:
            return out
        rid = out["restore_id"]
        return self._wait(lambda: self.restore_status(rid), f"restore of {backup_name}", progress)

    def restore_status(self, restore_id: str) -> dict:
        if self._engine is not None:
            from ..engine.admin.restore import summary
            return summary(self._engine_call(self._engine.get_restore, restore_id))
        return self._json("GET", f"/api/v3/enterprise/restore/{urllib.parse.quote(restore_id, safe='')}")

    @staticmethod
    def _wait(status: Callable[[], dict], what: str, progress: Progress) -> dict:
        t0 = time.monotonic()
        while True:
            record = status()
            if progress is not None:
                progress(f"{what}: {record['status']} ({time.monotonic() - t0:.1f} s, "
                         f"{record.get('total_files', 0)} files, {record.get('total_size_bytes', 0):,} bytes)")
            if record["status"] != "in_progress":
                if record["status"] != "completed":
                    raise Influx3Error(f"{what} {record['status']}: {record.get('error', '')}")
                return record
            time.sleep(0.2)

    # -- import and export ------------------------------------------------------------------------
    def import_parquet(self, source: str | Path, table: str, database: str,
                       columns: Optional[dict] = None, progress: Progress = None) -> list[dict]:
        """Import a Parquet file, or every *.parquet under a directory; one job record each."""
        src = Path(source).expanduser()
        files = sorted(src.rglob("*.parquet")) if src.is_dir() else [src]
        if not files or not all(f.is_file() for f in files):
            raise Influx3Error(f"no Parquet file at {src}")
        out, rows, t0 = [], 0, time.monotonic()
        for i, f in enumerate(files, 1):
            data = f.read_bytes()
            if self._engine is not None:
                info = self._engine_call(self._engine.import_parquet, database, table, data,
                                         {"column_mapping": columns} if columns else None, f.name)
            else:
                info = self._upload(database, table, data, columns, f.name)
            out.append(info)
            rows += info.get("row_count", 0)
            if progress is not None:
                progress(f"[{i}/{len(files)}] {f.name}: {info.get('row_count', 0):,} rows {info.get('status')} "
                         f"({rows:,} rows, {rows / max(time.monotonic() - t0, 1e-9):,.0f} rows/s)")
        return out

    def _upload(self, database: str, table: str, data: bytes, columns: Optional[dict], filename: str) -> dict:
        boundary = f"influx3-{uuid.uuid4().hex}"
        parts = {"database": database, "table": table}
        if columns:
            parts["column_metadata"] = json.dumps({"column_mapping": columns})
        body = b"".join(f'--{boundary}\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n{v}\r\n'.encode()
                        for k, v in parts.items())
        body += (f'--{boundary}\r\nContent-Disposition: form-data; name="file_bytes"; '
                 f'filename="{filename.replace(chr(34), "_")}"\r\n\r\n').encode() + data + f"\r\n--{boundary}--\r\n".encode()
        _, answer = self.client._request("POST", "/api/v3/enterprise/import", body=body,
                                         content_type=f"multipart/form-data; boundary={boundary}")
        return json.loads(answer)

    def export(self, table: str, database: str, windows: Optional[list[str]] = None,
               output_dir: str | Path = ".") -> list[Path]:
        """Write each window's Parquet file under `output_dir` (``<table>/<date>/…``); returns the paths."""
        dest = Path(output_dir).expanduser()
        files: list[tuple[str, bytes]] = []
        if self._engine is not None:
            files = list(self._engine_call(self._engine.export_window_files, database, table, windows))
        else:
            _, data = self.client._request("GET", "/api/v3/export/window_data", query={
                "db": database, "table": table, "windows": ",".join(windows) if windows else None})
            with tarfile.open(fileobj=io.BytesIO(data)) as tar:
                files = [(m.name, tar.extractfile(m).read()) for m in tar.getmembers() if m.isfile()]
        out = []
        for name, data in files:
            path = dest / name
            if ".." in Path(name).parts or Path(name).is_absolute():
                raise Influx3Error(f"refusing an export member outside {dest}: {name}")
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)
            out.append(path)
        return out


def admin_command(magics: Any, ns: Any) -> Any:
    """`%influx3 backup [NAME] [--parent P] | restore NAME | import FILE --table T [--tags a,b]
    [--time-column C] | export TABLE [DAY,…] [--output-dir DIR]`, with a progress line while they run."""
    from .display import Message

    handle = _progress_display()
    calls = AdminCalls(magics.client)
    if ns.command == "backup":
        r = calls.backup(ns.name, parent=ns.parent, force=ns.force, progress=handle)
        return Message(f"backup {r['name']} completed: {r['total_files']} files, {r['total_size_bytes']:,} bytes")
    if ns.command == "restore":
        r = calls.restore(ns.name, progress=handle)
        return Message(f"restore {r['restore_id']} of {r['backup_name']} completed: {r['total_files']} files")
    if ns.command == "import":
        columns = {t: "tag" for t in (ns.tags.split(",") if ns.tags else []) if t}
        if ns.time_column:
            columns[ns.time_column] = "time"
        infos = calls.import_parquet(ns.source, ns.table, magics._need_db(ns.database), columns or None, handle)
        return Message(f"{sum(i.get('row_count', 0) for i in infos):,} rows imported into {ns.table} "
                       f"from {len(infos)} file{'s' if len(infos) != 1 else ''}")
    paths = calls.export(ns.table, magics._need_db(ns.database), ns.windows.split(",") if ns.windows else None,
                         ns.output_dir)
    return Message("\n".join(str(p) for p in paths) or "(no windows)")


def _progress_display() -> Progress:
    """A line that updates in place in the notebook (printing elsewhere)."""
    try:
        from IPython.display import display
        handle = display("…", display_id=True)
    except Exception:  # noqa: BLE001 - not in IPython
        handle = None
    if handle is None:
        return lambda text: print(text, flush=True)
    return lambda text: handle.update(text)


def add_parsers(sub) -> None:
    """The subcommands on `%influx3`'s parser (magics.py)."""
    b = sub.add_parser("backup", add_help=False)
    b.add_argument("name", nargs="?")
    b.add_argument("--parent")
    b.add_argument("--force", action="store_true")
    r = sub.add_parser("restore", add_help=False)
    r.add_argument("name")
    i = sub.add_parser("import", add_help=False)
    i.add_argument("source")
    i.add_argument("--table", "-t", required=True)
    i.add_argument("--tags", default="")
    i.add_argument("--time-column")
    i.add_argument("-d", "--database")
    e = sub.add_parser("export", add_help=False)
    e.add_argument("table")
    e.add_argument("windows", nargs="?")
    e.add_argument("--output-dir", default=".")
    e.add_argument("-d", "--database")


HELP = """  backup [NAME] [--parent P] [--force]    back up the data directory (every node's writes), waits
  restore NAME                            roll the data back to a backup (every node follows), waits
  import FILE|DIR --table T [--tags a,b] [--time-column C] [-d DB]   bulk-import Parquet
  export TABLE [DAY,…] [--output-dir DIR] [-d DB]                    Parquet per UTC day"""
