"""Bulk import and export (engine/admin/imports.py, export.py), admin only:

* ``POST /api/v3/enterprise/import`` multipart/form-data with ``database``, ``table``,
  ``file_bytes`` (Parquet) and optional ``column_metadata`` (JSON) -> 200 UploadedImportInfo
  (``imported``: the rows are queryable now); 400 for a missing part, a body that is not
  multipart, bad Parquet or metadata; 404 for an unknown database or table;
  ``GET …/import[?database=]`` -> the jobs (a JSON array);
* ``GET /api/v3/export/databases`` -> ``{"databases": [...]}``; ``/tables?db=`` ->
  ``{"tables": [...]}``; ``/windows?db=&table=`` -> ``{"windows": ["YYYY-MM-DD", ...]}``;
  ``/window_data?db=&table=[&windows=d1,d2]`` -> ``application/x-tar`` of
  ``<table>/<date>/<table>-<date>.parquet``, streamed one window at a time (404 unknown window).
"""

from __future__ import annotations

import tarfile
import time

from tornado import httputil

from ..base import ApiError
from ..params import Field, query_struct
from .base import AdminHandler


class ImportHandler(AdminHandler):
    async def post(self) -> None:
        ctype = self.request.headers.get("Content-Type", "")
        if not ctype.lower().startswith("multipart/form-data") or "boundary=" not in ctype:
            raise ApiError(400, "expected a multipart/form-data body (with a boundary)", "json")
        args: dict = {}
        files: dict = {}
        httputil.parse_body_arguments(ctype, self.read_body(), args, files)
        parts = {k: v[0].decode("utf-8", "replace") for k, v in args.items() if v}
        for name, fl in files.items():   # a text part sent as a file still counts
            if name != "file_bytes" and fl:
                parts[name] = fl[0]["body"].decode("utf-8", "replace")
        data = files["file_bytes"][0]["body"] if files.get("file_bytes") else \
            (args["file_bytes"][0] if args.get("file_bytes") else None)
        filename = files["file_bytes"][0]["filename"] if files.get("file_bytes") else None
        for need, value in (("database", parts.get("database")), ("table", parts.get("table")), ("file_bytes", data)):
            if not value:
                raise ApiError(400, f"missing multipart part `{need}`", "json")
        meta = parts.get("column_metadata") or parts.get("column_mapping") or parts.get("schema")
        self.send_json(await self.admin("import_parquet", parts["database"], parts["table"], data, meta, filename))

    async def get(self) -> None:
        q = query_struct(self.request.query, [Field("database"), Field("db")])
        self.send_json(await self.admin("list_imports", q["database"] or q["db"]))


class ExportDatabasesHandler(AdminHandler):
    async def get(self) -> None:
        self.send_json({"databases": await self.admin("export_databases")})


class ExportTablesHandler(AdminHandler):
    async def get(self) -> None:
        q = query_struct(self.request.query, [Field("db", required=True)])
        self.send_json({"tables": await self.admin("export_tables", q["db"])})


class ExportWindowsHandler(AdminHandler):
    async def get(self) -> None:
        q = query_struct(self.request.query, [Field("db", required=True), Field("table", required=True)])
        self.send_json({"windows": await self.admin("export_windows", q["db"], q["table"])})


class ExportWindowDataHandler(AdminHandler):
    async def get(self) -> None:
        q = query_struct(self.request.query, [Field("db", required=True), Field("table", required=True),
                                              Field("windows")])
        members = await self.admin("export_window_files", q["db"], q["table"], q["windows"])
        self.set_header("Content-Type", "application/x-tar")
        self.set_header("Content-Disposition", f'attachment; filename="{q["table"]}.tar"')
        while True:
            item = await self.run_blocking(next, members, None)   # one window's query off the IOLoop
            if item is None:
                break
            name, data = item
            info = tarfile.TarInfo(name)
            info.size, info.mtime, info.mode = len(data), int(time.time()), 0o644
            self.write(info.tobuf(tarfile.GNU_FORMAT) + data + b"\0" * (-len(data) % tarfile.BLOCKSIZE))
            await self.flush()
        self.finish(b"\0" * (2 * tarfile.BLOCKSIZE))


TRANSFER_ROUTES = [
    ("/api/v3/enterprise/import", ImportHandler),
    ("/api/v3/export/databases", ExportDatabasesHandler),
    ("/api/v3/export/tables", ExportTablesHandler),
    ("/api/v3/export/windows", ExportWindowsHandler),
    ("/api/v3/export/window_data", ExportWindowDataHandler),
]
