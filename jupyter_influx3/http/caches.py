"""Cache endpoints (behaviour reference §3.4, semantics §5):

* ``POST /api/v3/configure/last_cache`` ``{"db","table","name"?,"key_columns"?,"value_columns"?,
  "count"?,"ttl"?}`` -> 201 JSON (the committed catalog record);
* ``POST /api/v3/configure/distinct_cache`` ``{"db","table","name"?,"columns","max_cardinality"?,
  "max_age"?}`` -> 201 JSON;
* ``DELETE`` on either, ``db``, ``table``, ``name`` from the query string when there is one, else
  from a JSON body (415 with neither) -> 200 empty.

Creating and deleting caches needs an admin token. Integers (`count`, `ttl` and `max_age` in
seconds, `max_cardinality`) are checked the way serde checks a `u64`. Engine errors are answered
by :func:`.query.api_error` (404 unknown db/table/cache, 409 duplicate name, 400 bad columns).
"""

from __future__ import annotations

import json
import time
from typing import Any

from . import serialize
from .base import ApiError
from .databases import ConfigureHandler
from .params import Field, JsonBodyError, _describe, json_content_type, json_struct, parse_json, query_struct

_DELETE_FIELDS = [Field("db", required=True), Field("table", required=True), Field("name", required=True)]


def _u64(doc: dict, name: str) -> int | None:
    """`doc[name]` as serde reads an optional u64 (400 ``serde json error`` otherwise)."""
    value = doc.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise ApiError(400, f"serde json error: invalid type: {_describe(value)}, expected u64")
    if value < 0:
        raise ApiError(400, f"serde json error: invalid value: {_describe(value)}, expected u64")
    return value


class CacheHandler(ConfigureHandler):
    """What both cache endpoints share: the JSON create body, the two-source DELETE, the 201 body."""

    kind = "last"
    required = ("admin",)

    def json_request(self, fields: list[Field], struct: str, ints: tuple[str, ...]) -> dict:
        if not json_content_type(self.request.headers.get("Content-Type")):
            raise ApiError(415, "unacceptable content-type, expected: application/json")
        body = self.read_body()
        try:
            out = json_struct(body, fields, struct)
            doc = parse_json(body)[1]
        except JsonBodyError as exc:
            raise ApiError(400, f"serde json error: {exc}") from None
        for name in ints:
            out[name] = _u64(doc, name)
        return out

    async def delete(self) -> None:
        if self.request.query:
            p = query_struct(self.request.query, _DELETE_FIELDS)
        else:
            p = self.json_request(_DELETE_FIELDS, "struct CacheDeleteRequest", ())
        await self.call(f"delete_{self.kind}_cache", p["db"], p["table"], p["name"])
        self.ok()

    def created(self, db: str, table: str, op: str, definition: dict) -> None:
        engine = self.context.engine
        record = {"table_name": table, **{k: v for k, v in definition.items() if k not in ("db",)}}
        record["table_id"] = record.pop("table")
        body = {"catalog_batch": {"Database": {"time_ns": time.time_ns(), "database_id": definition["db"],
                                               "database_name": db, "ops": [{op: record}]}},
                "sequence_number": engine.catalog.seq}
        self.send_body(json.dumps(body), serialize.JSON_CONTENT_TYPE, 201)


class LastCacheHandler(CacheHandler):
    """``/api/v3/configure/last_cache``."""

    kind = "last"

    async def post(self) -> None:
        p: dict[str, Any] = self.json_request([
            Field("db", required=True), Field("table", required=True), Field("name"),
            Field("key_columns", "string_list"), Field("value_columns", "string_list"),
        ], "struct LastCacheCreateRequest", ("count", "ttl"))
        if p["count"] == 0:
            raise ApiError(400, "invalid configuration provided: count must be greater than 0")
        if p["ttl"] == 0:
            raise ApiError(400, "invalid configuration provided: ttl must be greater than 0")
        definition = await self.call("create_last_cache", p["db"], p["table"], name=p["name"],
                                     key_columns=p["key_columns"], value_columns=p["value_columns"],
                                     count=p["count"], ttl=p["ttl"])
        self.created(p["db"], p["table"], "CreateLastCache", definition)


class DistinctCacheHandler(CacheHandler):
    """``/api/v3/configure/distinct_cache``."""

    kind = "distinct"

    async def post(self) -> None:
        p: dict[str, Any] = self.json_request([
            Field("db", required=True), Field("table", required=True), Field("name"),
            Field("columns", "string_list", required=True),
        ], "struct DistinctCacheCreateRequest", ("max_cardinality", "max_age"))
        for name in ("max_cardinality", "max_age"):
            if p[name] == 0:
                raise ApiError(400, f"invalid configuration provided: {name} must be greater than 0")
        definition = await self.call("create_distinct_cache", p["db"], p["table"], p["columns"], name=p["name"],
                                     max_cardinality=p["max_cardinality"], max_age=p["max_age"])
        self.created(p["db"], p["table"], "CreateDistinctCache", definition)


CACHE_ROUTES = [
    ("/api/v3/configure/last_cache", LastCacheHandler),
    ("/api/v3/configure/distinct_cache", DistinctCacheHandler),
]
