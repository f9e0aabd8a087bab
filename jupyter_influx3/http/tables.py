"""Table endpoints (behaviour reference §3.3; Enterprise additions from the spec):

* ``POST /api/v3/configure/table`` ``{"db","table","tags":[…],"fields":[{"name","type"}],
  "retention_period"?}`` -> 200 empty (the database is created when missing; ``tags`` and
  ``fields`` are required, may be empty; types ``utf8``, ``int64``, ``uint64``, ``float64``, ``bool``);
* ``PUT /api/v3/configure/table`` ``{"db","table","retention_period"?}`` -> 200 (Enterprise);
* ``DELETE /api/v3/configure/table?db=&table=&hard_delete_at=&data_only=`` -> 200;
* ``POST /api/v3/enterprise/configure/table/retention_period?db=&table=&duration=`` -> 204 and
  ``DELETE …?db=&table=`` -> 204 (clears it).
"""

from __future__ import annotations

from .databases import ConfigureHandler
from .params import Field, query_struct, read_json_struct


class TableHandler(ConfigureHandler):
    """``/api/v3/configure/table``."""

    async def post(self) -> None:
        p = read_json_struct(self, [
            Field("db", required=True),
            Field("table", required=True),
            Field("tags", "string_list", required=True),
            Field("fields", "fields", required=True),
            Field("retention_period"),
        ], "struct CreateTableRequest")
        fields = [(f["name"], f["type"]) for f in p["fields"]]
        await self.call("create_table", p["db"], p["table"], p["tags"], fields,
                        retention_period=p["retention_period"])
        self.ok()

    async def put(self) -> None:
        p = read_json_struct(self, [Field("db", required=True), Field("table", required=True),
                                    Field("retention_period")], "struct UpdateTableRequest")
        await self.call("update_table", p["db"], p["table"], retention_period=p["retention_period"])
        self.ok()

    async def delete(self) -> None:
        p = query_struct(self.request.query, [
            Field("db", required=True),
            Field("table", required=True),
            Field("hard_delete_at"),
            Field("data_only", "bool", default=False),
        ])
        await self.call("delete_table", p["db"], p["table"], hard_delete_at=p["hard_delete_at"],
                        data_only=p["data_only"])
        self.ok()


class TableRetentionHandler(ConfigureHandler):
    """``/api/v3/enterprise/configure/table/retention_period``."""

    async def post(self) -> None:
        p = query_struct(self.request.query, [Field("db", required=True), Field("table", required=True),
                                              Field("duration", required=True)])
        await self.call("update_table", p["db"], p["table"], retention_period=p["duration"])
        self.send_no_content()

    async def delete(self) -> None:
        p = query_struct(self.request.query, [Field("db", required=True), Field("table", required=True)])
        await self.call("update_table", p["db"], p["table"], retention_period=None)
        self.send_no_content()
