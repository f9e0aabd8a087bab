"""``POST /api/v3/enterprise/configure/file_index`` ``{"db", "table"?, "columns": [...]}`` -> 200
(the index, as stored); ``DELETE`` ``{"db", "table"?}`` -> 200. 404 for an unknown database or
table (or no index to delete), 400 for columns that are not tags or string fields. Admin only.
The layout is engine/admin/fileindex.py's."""

from __future__ import annotations

from ..params import Field
from .base import AdminHandler


class FileIndexHandler(AdminHandler):
    async def post(self) -> None:
        p = self.json_body([Field("db", required=True), Field("table"),
                            Field("columns", "string_list", required=True)], "struct FileIndexCreateRequest")
        self.send_json(await self.admin("create_file_index", p["db"], p["table"], p["columns"]))

    async def delete(self) -> None:
        p = self.json_body([Field("db", required=True), Field("table")], "struct FileIndexDeleteRequest")
        await self.admin("delete_file_index", p["db"], p["table"])
        self.set_status(200)
        self.finish()


FILE_INDEX_ROUTES = [("/api/v3/enterprise/configure/file_index", FileIndexHandler)]
