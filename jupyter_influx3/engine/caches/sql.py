"""The caches as the SQL layer sees them: `last_cache()` / `distinct_cache()` table functions and
the `system.last_caches` / `system.distinct_caches` tables (behaviour reference §5).

Publishes them through the SQL layer's registries (`sql/system.py`) on import; the SQL layer does
not know the caches. Errors are the planning errors InfluxDB 3 answers with (400).
"""

from __future__ import annotations

import pyarrow as pa

from ..sql.errors import SqlPlanningError
from ..sql.system import register_system_table, register_table_function


def registry_of(engine):
    from . import registry_for
    return registry_for(engine)


def _cache_for(kind: str, engine, database, args: list):
    if not args or not isinstance(args[0], str):
        raise SqlPlanningError("first argument must be the table name as a string")
    if len(args) > 2 or (len(args) == 2 and args[1] is not None and not isinstance(args[1], str)):
        raise SqlPlanningError("second argument must be the cache name as a string")
    table = database.table(args[0])
    if table is None or table.deleted:
        raise SqlPlanningError("provided table name is invalid")
    name = args[1] if len(args) == 2 else None
    cache = registry_of(engine).find(kind, database.id, table.id, name)
    if cache is None:
        raise SqlPlanningError("could not find cache for the given arguments")
    return cache, table


def last_cache(engine, database, args: list) -> pa.Table:
    cache, table = _cache_for("last", engine, database, args)
    return cache.to_arrow(table)


def distinct_cache(engine, database, args: list) -> pa.Table:
    cache, table = _cache_for("distinct", engine, database, args)
    return cache.to_arrow(table)


_S = pa.string()
LAST_CACHES_SCHEMA = pa.schema([
    ("table", _S), ("name", _S), ("key_column_ids", pa.list_(pa.uint16())), ("key_column_names", pa.list_(_S)),
    ("value_column_ids", pa.list_(pa.uint16())), ("value_column_names", pa.list_(_S)),
    ("count", pa.uint64()), ("ttl", pa.uint64())])
DISTINCT_CACHES_SCHEMA = pa.schema([
    ("table", _S), ("name", _S), ("column_ids", pa.list_(pa.uint16())), ("column_names", pa.list_(_S)),
    ("max_cardinality", pa.uint64()), ("max_age_seconds", pa.uint64())])


def _definitions(database, attr: str):
    for t in sorted(database.live_tables(), key=lambda t: t.name):
        for definition in sorted(getattr(t, attr).values(), key=lambda d: d["id"]):
            yield t, definition


def last_caches(engine, database) -> list[dict]:
    return [{"table": t.name, "name": d["name"], "key_column_ids": d["key_column_ids"],
             "key_column_names": d["key_columns"], "value_column_ids": d["value_column_ids"],
             "value_column_names": d["value_columns"], "count": d["count"], "ttl": d["ttl"]}
            for t, d in _definitions(database, "last_caches")]


def distinct_caches(engine, database) -> list[dict]:
    return [{"table": t.name, "name": d["name"], "column_ids": d["column_ids"], "column_names": d["columns"],
             "max_cardinality": d["max_cardinality"], "max_age_seconds": d["max_age"]}
            for t, d in _definitions(database, "distinct_caches")]


def register() -> None:
    register_table_function("last_cache", last_cache, table_columns=True)
    register_table_function("distinct_cache", distinct_cache, table_columns=True)
    register_system_table("last_caches", LAST_CACHES_SCHEMA, last_caches)
    register_system_table("distinct_caches", DISTINCT_CACHES_SCHEMA, distinct_caches)
