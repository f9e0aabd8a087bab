"""`system.*` and `information_schema.*` tables, built as Arrow tables when a query names them.

A registry (`register_system_table`, `register_table_function`) lets the parts of the engine that
own other state — caches, processing engine, tokens — publish their tables here without this
module knowing them; placeholders with the right schema exist until they do, so `SHOW TABLES` and
`information_schema.columns` already list them. Tables that only `_internal` has are marked.

Tables about activity across databases (`system.queries`) show only the databases the caller may
read: the adapter that authenticated the caller runs the query under :func:`readable_only` with
its permission check (this module knows no tokens and no HTTP), and builders ask :func:`may_read`.
"""

from __future__ import annotations

import contextvars
import json
import os
import threading
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Callable, Iterator, Optional

import pyarrow as pa

from ..catalog import INTERNAL_DB
from .functions import COLUMN_TYPES

INFO_TABLES = ["tables", "views", "columns", "df_settings", "schemata", "routines", "parameters"]

_INFLUX_TYPE = {"time": "time", "tag": "tag", "bool": "boolean", "int": "integer", "uint": "uinteger",
                "float": "float", "string": "string"}


@dataclass
class SystemTable:
    name: str
    schema: pa.Schema
    build: Callable[..., pa.Table | list[dict]]   # (engine, database) -> rows
    internal_only: bool = False


_SYSTEM: dict[str, SystemTable] = {}
_TABLE_FUNCTIONS: dict[str, Callable[..., pa.Table]] = {}
_TABLE_COLUMN_FUNCTIONS: set[str] = set()   # those whose columns are the named table's (see below)
_lock = threading.Lock()


_version = [0]

#: Which databases the query being built may show activity of (None: any). A context variable, so
#: concurrent queries in other threads each keep their own.
_READABLE: contextvars.ContextVar[Optional[Callable[[str], bool]]] = contextvars.ContextVar(
    "influx3_readable_databases", default=None)


@contextmanager
def readable_only(may_read_db: Optional[Callable[[str], bool]]) -> Iterator[None]:
    """Build system tables within this block for a caller who may read only the databases for
    which ``may_read_db(name)`` is true (None: unrestricted, e.g. an admin or no auth)."""
    token = _READABLE.set(may_read_db)
    try:
        yield
    finally:
        _READABLE.reset(token)


def run_readable_only(may_read_db: Optional[Callable[[str], bool]], fn: Callable[..., Any], *args: Any,
                      **kwargs: Any) -> Any:
    """``fn(*args, **kwargs)`` under :func:`readable_only` (for handing to a worker thread)."""
    with readable_only(may_read_db):
        return fn(*args, **kwargs)


def may_read(database_name: Optional[str]) -> bool:
    """Whether the current caller may see activity of ``database_name``."""
    check = _READABLE.get()
    return check is None or (database_name is not None and bool(check(database_name)))


def registry_version() -> int:
    return _version[0]


def register_system_table(name: str, schema: pa.Schema, build: Callable[..., pa.Table | list[dict]], *,
                          internal_only: bool = False) -> None:
    """Publish `system.<name>`; `build(engine, database)` returns its rows (a later call replaces)."""
    with _lock:
        _SYSTEM[name] = SystemTable(name, schema, build, internal_only)
        _version[0] += 1


def register_table_function(name: str, fn: Callable[..., pa.Table], *, table_columns: bool = False) -> None:
    """Publish a table function (e.g. `last_cache`): `fn(engine, database, args: list) -> pa.Table`.
    `table_columns`: its columns are columns of the table its first argument names (so a query
    tells apart those whose names differ only in case as it does for the table: casenames.py)."""
    with _lock:
        _TABLE_FUNCTIONS[name.lower()] = fn
        (_TABLE_COLUMN_FUNCTIONS.add if table_columns else _TABLE_COLUMN_FUNCTIONS.discard)(name.lower())
        _version[0] += 1


def unregister(name: str) -> None:
    """Withdraw a system table or table function published under `name`."""
    with _lock:
        _SYSTEM.pop(name, None)
        _TABLE_FUNCTIONS.pop(name.lower(), None)
        _TABLE_COLUMN_FUNCTIONS.discard(name.lower())
        _version[0] += 1


def table_functions() -> dict[str, Callable[..., pa.Table]]:
    with _lock:
        return dict(_TABLE_FUNCTIONS)


def table_column_functions() -> frozenset[str]:
    with _lock:
        return frozenset(_TABLE_COLUMN_FUNCTIONS)


def system_tables_for(database) -> dict[str, SystemTable]:
    internal = database.name == INTERNAL_DB
    with _lock:
        return {n: t for n, t in _SYSTEM.items() if internal or not t.internal_only}


def build_system_table(name: str, engine, database) -> pa.Table:
    spec = system_tables_for(database)[name]
    rows = spec.build(engine, database)
    if isinstance(rows, pa.Table):
        return rows
    return pa.Table.from_pylist(rows, schema=spec.schema)


def arrow_type_name(t: pa.DataType) -> str:
    """An Arrow type as DataFusion prints it."""
    if pa.types.is_dictionary(t):
        return f"Dictionary({arrow_type_name(t.index_type)}, {arrow_type_name(t.value_type)})"
    if pa.types.is_timestamp(t):
        unit = {"s": "Second", "ms": "Millisecond", "us": "Microsecond", "ns": "Nanosecond"}[t.unit]
        return f'Timestamp({unit}, {"None" if t.tz is None else "Some(" + json.dumps(t.tz) + ")"})'
    if pa.types.is_duration(t):
        unit = {"s": "Second", "ms": "Millisecond", "us": "Microsecond", "ns": "Nanosecond"}[t.unit]
        return f"Duration({unit})"
    if pa.types.is_list(t):
        return f"List({arrow_type_name(t.value_type)})"
    simple = {pa.string(): "Utf8", pa.large_string(): "LargeUtf8", pa.int8(): "Int8", pa.int16(): "Int16",
              pa.int32(): "Int32", pa.int64(): "Int64", pa.uint8(): "UInt8", pa.uint16(): "UInt16",
              pa.uint32(): "UInt32", pa.uint64(): "UInt64", pa.float32(): "Float32", pa.float64(): "Float64",
              pa.bool_(): "Boolean", pa.binary(): "Binary", pa.date32(): "Date32"}
    return simple.get(t, str(t))


# ---- information_schema --------------------------------------------------------------------
_U64 = pa.uint64()
INFO_SCHEMAS = {
    "tables": pa.schema([("table_catalog", pa.string()), ("table_schema", pa.string()),
                         ("table_name", pa.string()), ("table_type", pa.string())]),
    "views": pa.schema([("table_catalog", pa.string()), ("table_schema", pa.string()),
                        ("table_name", pa.string()), ("definition", pa.string())]),
    "columns": pa.schema([("table_catalog", pa.string()), ("table_schema", pa.string()),
                          ("table_name", pa.string()), ("column_name", pa.string()),
                          ("ordinal_position", _U64), ("column_default", pa.string()),
                          ("is_nullable", pa.string()), ("data_type", pa.string()),
                          ("character_maximum_length", _U64), ("character_octet_length", _U64),
                          ("numeric_precision", _U64), ("numeric_precision_radix", _U64),
                          ("numeric_scale", _U64), ("datetime_precision", _U64),
                          ("interval_type", pa.string())]),
    "df_settings": pa.schema([("name", pa.string()), ("value", pa.string()), ("description", pa.string())]),
    "schemata": pa.schema([("catalog_name", pa.string()), ("schema_name", pa.string()),
                           ("schema_owner", pa.string()), ("default_character_set_catalog", pa.string()),
                           ("default_character_set_schema", pa.string()),
                           ("default_character_set_name", pa.string()), ("sql_path", pa.string())]),
    "routines": pa.schema([("specific_catalog", pa.string()), ("specific_schema", pa.string()),
                           ("specific_name", pa.string()), ("routine_catalog", pa.string()),
                           ("routine_schema", pa.string()), ("routine_name", pa.string()),
                           ("routine_type", pa.string()), ("is_deterministic", pa.bool_()),
                           ("data_type", pa.string()), ("function_type", pa.string()),
                           ("description", pa.string()), ("syntax_example", pa.string())]),
    "parameters": pa.schema([("specific_catalog", pa.string()), ("specific_schema", pa.string()),
                             ("specific_name", pa.string()), ("ordinal_position", _U64),
                             ("parameter_mode", pa.string()), ("parameter_name", pa.string()),
                             ("data_type", pa.string()), ("parameter_default", pa.string()),
                             ("is_variadic", pa.bool_()), ("rid", _U64)]),
}


def _numeric(t: pa.DataType) -> tuple[int | None, int | None]:
    if pa.types.is_integer(t):
        return t.bit_width, 2
    if pa.types.is_float64(t):
        return 53, 2
    if pa.types.is_float32(t):
        return 24, 2
    return None, None


def build_info_table(name: str, engine, database) -> pa.Table:
    systems = system_tables_for(database)
    user = sorted(database.live_tables(), key=lambda t: t.name)
    if name == "tables":
        rows = [("public", "iox", t.name, "BASE TABLE") for t in user]
        rows += [("public", "system", n, "BASE TABLE") for n in sorted(systems)]
        rows += [("public", "information_schema", n, "VIEW") for n in INFO_TABLES]
        cols = list(zip(*rows)) if rows else [[]] * 4
        return pa.Table.from_arrays([pa.array(c, pa.string()) for c in cols], schema=INFO_SCHEMAS["tables"])
    if name == "columns":
        out = []

        def add(schema_name, table_name, names_types, not_null=()):
            for i, (col, arrow_name, t) in enumerate(names_types):
                prec, radix = _numeric(t)
                out.append({"table_catalog": "public", "table_schema": schema_name, "table_name": table_name,
                            "column_name": col, "ordinal_position": i, "column_default": None,
                            "is_nullable": "NO" if col in not_null else "YES", "data_type": arrow_name,
                            "numeric_precision": prec, "numeric_precision_radix": radix,
                            "datetime_precision": None, "interval_type": None})

        for t in user:
            cols = [(c, COLUMN_TYPES[t.columns[c].type][0], COLUMN_TYPES[t.columns[c].type][2])
                    for c in t.column_names_sorted()]
            add("iox", t.name, cols, not_null=("time",))
        for n in sorted(systems):
            add("system", n, [(f.name, arrow_type_name(f.type), f.type) for f in systems[n].schema])
        for n in INFO_TABLES:
            add("information_schema", n, [(f.name, arrow_type_name(f.type), f.type) for f in INFO_SCHEMAS[n]])
        return pa.Table.from_pylist(out, schema=INFO_SCHEMAS["columns"])
    if name == "schemata":
        rows = [{"catalog_name": "public", "schema_name": s} for s in ("information_schema", "iox", "system")]
        return pa.Table.from_pylist(rows, schema=INFO_SCHEMAS["schemata"])
    if name == "df_settings":
        rows = [{"name": "datafusion.execution.time_zone", "value": None, "description": "session time zone (UTC)"},
                {"name": "datafusion.catalog.default_catalog", "value": "public", "description": None},
                {"name": "datafusion.catalog.default_schema", "value": "iox", "description": None}]
        return pa.Table.from_pylist(rows, schema=INFO_SCHEMAS["df_settings"])
    return INFO_SCHEMAS[name].empty_table()


# ---- built-in system tables ----------------------------------------------------------------
_DUR = pa.duration("ns")
QUERIES_SCHEMA = pa.schema([
    ("id", pa.string()), ("phase", pa.string()), ("issue_time", pa.timestamp("ns")),
    ("query_type", pa.string()), ("query_text", pa.string()), ("partitions", pa.int64()),
    ("parquet_files", pa.int64()), ("plan_duration", _DUR), ("permit_duration", _DUR),
    ("execute_duration", _DUR), ("end2end_duration", _DUR), ("compute_duration", _DUR),
    ("max_memory", pa.int64()), ("success", pa.bool_()), ("running", pa.bool_()),
    ("cancelled", pa.bool_()), ("trace_id", pa.string())])


def _queries(engine, database):
    # Query texts name tables, tags and values: only those of databases the caller may read.
    rows = [e.as_row() for e in engine.query_log if may_read(getattr(e, "database", None))]
    peers = engine.__dict__.get("peer_query_logs")   # the other workers of `serve --workers N`
    if peers is not None:
        rows += [r for r, database in peers.rows() if may_read(database)]
    return rows


def _parquet_files(engine, database):
    rows = []
    for t in sorted(database.live_tables(), key=lambda t: t.name):
        for f in sorted(engine.index.for_table(database.id, t.id), key=lambda f: (f.min_time, f.path)):
            rows.append({"table_name": t.name, "path": f.path, "size_bytes": f.bytes, "row_count": f.rows,
                         "min_time": f.min_time, "max_time": f.max_time})
    return rows


def _influxdb_schema(engine, database):
    return [{"measurement": t.name, "key": c, "data_type": _INFLUX_TYPE[t.columns[c].type]}
            for t in sorted(database.live_tables(), key=lambda t: t.name) for c in t.column_names_sorted()]


def _databases(engine, database):
    return [{"database_name": d.name, "retention_period_ns": d.retention_ns, "deleted": d.deleted,
             "hard_deletion_time": None if d.hard_delete_at is None else d.hard_delete_at // 10**9}
            for d in sorted(engine.catalog.databases.values(), key=lambda d: d.id)]


def _tables(engine, database):
    rows = []
    for d in sorted(engine.catalog.databases.values(), key=lambda d: d.id):
        for t in sorted(d.tables.values(), key=lambda t: t.id):
            rows.append({"database_name": d.name, "table_name": t.name, "column_count": len(t.columns),
                         "series_key_columns": ",".join(t.series_key),
                         "last_cache_count": len(t.last_caches),
                         "distinct_cache_count": len(t.distinct_caches), "deleted": t.deleted,
                         "hard_deletion_time": None if t.hard_delete_at is None else t.hard_delete_at // 10**9})
    return rows


def _nodes(engine, database):
    from ..admin import nodes

    rows = []
    names = nodes.node_dirs(engine)    # backups/, admin/ and catalog/ are not nodes
    for i, name in enumerate(names):
        path = engine.data_dir / name
        try:
            updated = int(max(p.stat().st_mtime for p in [path, *path.iterdir()]) * 1000)
        except (OSError, ValueError):
            updated = None
        rows.append({"node_id": name, "node_catalog_id": i, "instance_id": name,
                     "mode": ["ingest", "query", "compact", "process"], "core_count": os.cpu_count() or 1,
                     "state": nodes.state(engine, name), "updated_at": updated,
                     "cli_params": json.dumps({"node-id": name, "data-dir": str(engine.data_dir)})})
    return rows


def _row_deletes(engine, database):
    """Row-delete requests (engine/admin/deletes.py), every disposition."""
    from ..admin import deletes

    return [{"sequence": r["sequence"], "database_name": r["db_name"], "table_name": r["table_name"],
             "min_time": r["min_time"], "max_time": r["max_time"], "delete_predicate": r["delete_predicate"],
             "disposition": r["disposition"], "created_at": r["created_at"], "completed_at": r.get("completed_at"),
             "aborted_at": r.get("aborted_at"), "abort_reason": r.get("abort_reason")}
            for r in deletes.listing(engine)]


def _tokens(engine, database):
    rows = []
    for t in sorted(engine.catalog.tokens.values(), key=lambda t: t.id):
        perms = "*:*:*" if t.kind in ("admin", "named_admin") else ",".join(
            p if isinstance(p, str) else json.dumps(p, separators=(",", ":")) for p in t.permissions)
        rows.append({"token_id": t.id, "name": t.name, "hash": t.hash[:9], "created_at": t.created_at,
                     "description": t.description, "created_by_token_id": None, "updated_at": None,
                     "updated_by_token_id": None, "expiry": t.expiry, "permissions": perms})
    return rows


_TS_S_UTC, _TS_MS = pa.timestamp("s", tz="UTC"), pa.timestamp("ms")


def _empty(engine, database):
    return []


def _register_builtins() -> None:
    s = pa.string()
    register_system_table("queries", QUERIES_SCHEMA, _queries)
    register_system_table("parquet_files", pa.schema([
        ("table_name", s), ("path", s), ("size_bytes", pa.uint64()), ("row_count", pa.uint64()),
        ("min_time", pa.int64()), ("max_time", pa.int64())]), _parquet_files)
    register_system_table("influxdb_schema", pa.schema([("measurement", s), ("key", s), ("data_type", s)]),
                          _influxdb_schema)
    # placeholders until the caches and the processing engine register theirs
    register_system_table("last_caches", pa.schema([
        ("table", s), ("name", s), ("key_column_ids", pa.list_(pa.uint16())), ("key_column_names", pa.list_(s)),
        ("value_column_ids", pa.list_(pa.uint16())), ("value_column_names", pa.list_(s)),
        ("count", pa.uint64()), ("ttl", pa.uint64())]), _empty)
    register_system_table("distinct_caches", pa.schema([
        ("table", s), ("name", s), ("column_ids", pa.list_(pa.uint16())), ("column_names", pa.list_(s)),
        ("max_cardinality", pa.uint64()), ("max_age_seconds", pa.uint64())]), _empty)
    register_system_table("processing_engine_triggers", pa.schema([
        ("trigger_name", s), ("plugin_filename", s), ("trigger_specification", s), ("disabled", pa.bool_()),
        ("error_behavior", s)]), _empty)
    register_system_table("processing_engine_trigger_arguments", pa.schema([
        ("trigger_name", s), ("argument_key", s), ("argument_value", s)]), _empty)
    register_system_table("processing_engine_logs", pa.schema([
        ("event_time", pa.timestamp("ns")), ("trigger_name", s), ("log_level", s), ("log_text", s)]), _empty)
    # _internal only
    register_system_table("databases", pa.schema([
        ("database_name", s), ("retention_period_ns", pa.uint64()), ("deleted", pa.bool_()),
        ("hard_deletion_time", _TS_S_UTC)]), _databases, internal_only=True)
    register_system_table("tables", pa.schema([
        ("database_name", s), ("table_name", s), ("column_count", pa.uint64()), ("series_key_columns", s),
        ("last_cache_count", pa.uint64()), ("distinct_cache_count", pa.uint64()), ("deleted", pa.bool_()),
        ("hard_deletion_time", _TS_S_UTC)]), _tables, internal_only=True)
    register_system_table("row_deletes", pa.schema([
        ("sequence", pa.int64()), ("database_name", s), ("table_name", s), ("min_time", pa.int64()),
        ("max_time", pa.int64()), ("delete_predicate", s), ("disposition", s), ("created_at", _TS_S_UTC),
        ("completed_at", _TS_S_UTC), ("aborted_at", _TS_S_UTC), ("abort_reason", s)]), _row_deletes,
        internal_only=True)
    register_system_table("nodes", pa.schema([
        ("node_id", s), ("node_catalog_id", pa.uint32()), ("instance_id", s), ("mode", pa.list_(s)),
        ("core_count", pa.uint64()), ("state", s), ("updated_at", _TS_MS), ("cli_params", s)]),
        _nodes, internal_only=True)
    register_system_table("tokens", pa.schema([
        ("token_id", pa.uint64()), ("name", s), ("hash", s), ("created_at", _TS_MS), ("description", s),
        ("created_by_token_id", pa.uint64()), ("updated_at", _TS_MS), ("updated_by_token_id", pa.uint64()),
        ("expiry", _TS_MS), ("permissions", s)]), _tokens, internal_only=True)
    register_system_table("generation_durations", pa.schema([
        ("level", pa.uint8()), ("duration_seconds", pa.uint64())]),
        lambda e, d: [{"level": 1, "duration_seconds": 600}], internal_only=True)
    register_system_table("plugin_files", pa.schema([
        ("plugin_name", s), ("file_name", s), ("file_path", s), ("size_bytes", pa.uint64()),
        ("last_modified", pa.int64())]), _empty, internal_only=True)


_register_builtins()
