"""Cache definitions: the catalog ops that create and delete last-value and distinct-value caches.

Owns InfluxDB 3's rules for them (behaviour reference §3.4, §5): defaults (LVC `count` 1, `ttl`
4 h, key columns = the series key, values = every other column; DVC `max_cardinality` 100000,
`max_age` 24 h), generated names (`<table>_<cols>_last_cache` / `_distinct_cache`), allowed column
types and the exact error messages. A definition is a catalog record, so every node of the data
directory sees it and it survives restarts.

Does not hold cached values (`last_value.py`, `distinct_value.py`) or know about HTTP.
"""

from __future__ import annotations

from .. import errors
from ..catalog import Catalog
from ..lifecycle import live_table

LAST_CACHE_DEFAULT_COUNT = 1
LAST_CACHE_DEFAULT_TTL_S = 4 * 3600
DISTINCT_CACHE_DEFAULT_MAX_CARDINALITY = 100_000
DISTINCT_CACHE_DEFAULT_MAX_AGE_S = 24 * 3600

_LVC_KEY_TYPES = ("tag", "string", "int", "uint", "bool")
_DVC_TYPES = ("tag", "string")


def _positive(value, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise errors.InvalidConfiguration(f"invalid configuration provided: {what} must be a positive integer")
    return value


def create_last_cache(cat: Catalog, db: str, table: str, name: str | None = None,
                      key_columns: list[str] | None = None, value_columns: list[str] | None = None,
                      count: int | None = None, ttl_s: int | None = None) -> dict:
    """Commit a last-value cache definition; returns it (the committed catalog record)."""
    count = LAST_CACHE_DEFAULT_COUNT if count is None else _positive(count, "count")
    ttl_s = LAST_CACHE_DEFAULT_TTL_S if ttl_s is None else _positive(ttl_s, "ttl")
    if name is not None and not name:
        raise errors.InvalidConfiguration("invalid configuration provided: cache name cannot be empty")

    def ops(c: Catalog):
        d, t = live_table(c, db, table)
        if key_columns is None:
            keys = list(t.series_key)
        else:
            keys = []
            for k in key_columns:
                col = t.columns.get(k)
                if col is None or col.type == "time":
                    raise errors.InvalidConfiguration(
                        f"invalid configuration provided: invalid key column provided: {k}")
                if col.type not in _LVC_KEY_TYPES:
                    raise errors.InvalidConfiguration(
                        "only uint64, int64, bool, tag, and string columns are supported in the last cache")
                if k in keys:
                    raise errors.InvalidConfiguration(
                        f"invalid configuration provided: duplicate key column provided: {k}")
                keys.append(k)
        values = None
        if value_columns is not None:
            values = []
            for v in value_columns:
                if v not in t.columns:
                    raise errors.InvalidConfiguration(
                        f"invalid configuration provided: invalid value column provided: {v}")
                if v != "time" and v not in values and v not in keys:
                    values.append(v)
        cache_name = name if name is not None else f"{t.name}_{'_'.join(keys)}_last_cache"
        if cache_name in t.last_caches:
            raise errors.AlreadyExists()
        return [{"op": "create_last_cache", "db": d.id, "table": t.id, "id": t.next_cache_id, "name": cache_name,
                 "key_columns": keys, "key_column_ids": [t.columns[k].id for k in keys],
                 "value_columns": values,
                 "value_column_ids": None if values is None else [t.columns[v].id for v in values],
                 "count": count, "ttl": ttl_s}]

    return _definition(cat.transact(ops))


def create_distinct_cache(cat: Catalog, db: str, table: str, columns: list[str], name: str | None = None,
                          max_cardinality: int | None = None, max_age_s: int | None = None) -> dict:
    """Commit a distinct-value cache definition; returns it."""
    max_cardinality = DISTINCT_CACHE_DEFAULT_MAX_CARDINALITY if max_cardinality is None else \
        _positive(max_cardinality, "max_cardinality")
    max_age_s = DISTINCT_CACHE_DEFAULT_MAX_AGE_S if max_age_s is None else _positive(max_age_s, "max_age")
    if name is not None and not name:
        raise errors.InvalidConfiguration("invalid configuration provided: cache name cannot be empty")

    def ops(c: Catalog):
        d, t = live_table(c, db, table)
        if not columns:
            raise errors.InvalidConfiguration(
                "invalid configuration provided: no columns provided when creating distinct cache")
        cols = []
        for k in columns:
            col = t.columns.get(k)
            if col is None:
                raise errors.InvalidConfiguration(f"invalid configuration provided: invalid column provided: {k}")
            if col.type not in _DVC_TYPES:
                raise errors.InvalidConfiguration("only tag and string columns are supported in the distinct cache")
            if k in cols:
                raise errors.InvalidConfiguration(f"invalid configuration provided: duplicate column provided: {k}")
            cols.append(k)
        cache_name = name if name is not None else f"{t.name}_{'_'.join(cols)}_distinct_cache"
        if cache_name in t.distinct_caches:
            raise errors.AlreadyExists()
        return [{"op": "create_distinct_cache", "db": d.id, "table": t.id, "id": t.next_cache_id,
                 "name": cache_name, "columns": cols, "column_ids": [t.columns[k].id for k in cols],
                 "max_cardinality": max_cardinality, "max_age": max_age_s}]

    return _definition(cat.transact(ops))


def delete_cache(cat: Catalog, kind: str, db: str, table: str, name: str) -> None:
    """Delete the `kind` ("last" | "distinct") cache `name` of a table; NotFound if there is none."""
    def ops(c: Catalog):
        d, t = live_table(c, db, table)
        caches = t.last_caches if kind == "last" else t.distinct_caches
        if name not in caches:
            raise errors.NotFound(f"the requested resource was not found: {name}")
        return [{"op": f"delete_{kind}_cache", "db": d.id, "table": t.id, "name": name}]

    cat.transact(ops)


def _definition(ops: list[dict]) -> dict:
    return {k: v for k, v in ops[0].items() if k != "op"}
