"""Database endpoints (behaviour reference §3.1, §3.2):

* ``GET /api/v3/configure/database?format=&show_deleted=`` -- the list, in a query output format
  (``format`` required), column ``iox::database`` (+ ``deleted`` with ``show_deleted=true``); an
  admin sees every database, a credential with ``describe`` permissions (an Auditor user) those;
* ``POST`` ``{"db","retention_period"?}`` -> 200 empty; ``PUT`` ``{"db","retention_period"?}``
  (absent clears it) -> 200; ``DELETE ?db=&hard_delete_at=&data_only=&remove_tables=`` -> 200;
* ``POST /api/v3/configure/database/retention_period?db=&duration=`` -> 204, ``DELETE ?db=`` -> 204.

JSON bodies need a JSON Content-Type (415 otherwise). Engine errors are answered by
:func:`.query.api_error` (the one mapping, :func:`.serialize.engine_error`).
"""

from __future__ import annotations

import pyarrow as pa

from . import serialize
from .auth import describable_check
from .base import ApiHandler
from .params import Field, query_struct, read_json_struct
from .query import api_error, send_result


class ConfigureHandler(ApiHandler):
    """What the configure endpoints share: one engine call off the IOLoop, errors mapped."""

    async def call(self, method: str, *args, **kwargs):
        fn = getattr(self.context.engine, method)
        try:
            return await self.run_blocking(fn, *args, **kwargs)
        except Exception as exc:  # noqa: BLE001 - every failure has an answer
            raise api_error(exc) from None

    def ok(self) -> None:
        self.set_status(200)
        self.finish()


class DatabaseHandler(ConfigureHandler):
    """``/api/v3/configure/database``."""

    required = {"GET": ("db_describe",), "*": ("admin",)}

    async def get(self) -> None:
        p = query_struct(
            self.request.query,
            [Field("format", "format", required=True), Field("show_deleted", "bool", default=False)],
            parse={"format": serialize.parse_query_format},
        )
        table = await self.call("list_databases", show_deleted=p["show_deleted"])
        visible = describable_check(self)
        if visible is not None:
            keep = [visible(name) for name in table.column("iox::database").to_pylist()]
            table = table.filter(pa.array(keep, type=pa.bool_()))
        await send_result(self, p["format"], table.schema, table.to_batches())

    async def post(self) -> None:
        p = read_json_struct(self, [Field("db", required=True), Field("retention_period")],
                             "struct CreateDatabaseRequest")
        await self.call("create_database", p["db"], retention_period=p["retention_period"])
        self.ok()

    async def put(self) -> None:
        p = read_json_struct(self, [Field("db", required=True), Field("retention_period")],
                             "struct UpdateDatabaseRequest")
        await self.call("update_database", p["db"], retention_period=p["retention_period"])
        self.ok()

    async def delete(self) -> None:
        p = query_struct(self.request.query, [
            Field("db", required=True),
            Field("hard_delete_at"),
            Field("data_only", "bool", default=False),
            Field("remove_tables", "bool", default=False),
        ])
        await self.call("delete_database", p["db"], hard_delete_at=p["hard_delete_at"],
                        data_only=p["data_only"], remove_tables=p["remove_tables"])
        self.ok()


class DatabaseRetentionHandler(ConfigureHandler):
    """``/api/v3/configure/database/retention_period``."""

    async def post(self) -> None:
        p = query_struct(self.request.query, [Field("db", required=True), Field("duration", required=True)])
        await self.call("set_database_retention", p["db"], p["duration"])
        self.send_no_content()

    async def delete(self) -> None:
        p = query_struct(self.request.query, [Field("db", required=True)])
        await self.call("set_database_retention", p["db"], None)
        self.send_no_content()
