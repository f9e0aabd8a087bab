"""The answers to Flight SQL's metadata commands: SQL info, catalogs, schemas, tables, table types.

Shapes are Flight SQL's (``FlightSql.proto``); contents are InfluxDB 3's: one catalog ``public``
with the schemas ``iox`` (the database's tables), ``system`` and ``information_schema``. Tables
come from the engine's own ``information_schema.tables`` of the database the call names, and a
table's schema (``include_schema``) is the schema a ``SELECT *`` of it answers with, so a
browsing tool sees exactly the types a query returns.

Owns: building those Arrow tables. Must not: check tokens (the caller authorizes first).
"""

from __future__ import annotations

import re
from typing import Optional

import pyarrow as pa

from .. import __version__
from ..engine.persist import quote
from . import flightsql

CATALOG = "public"
SCHEMAS = ("information_schema", "iox", "system")
TABLE_TYPES = ("BASE TABLE", "VIEW")

CATALOGS_SCHEMA = pa.schema([pa.field("catalog_name", pa.string(), False)])
DB_SCHEMAS_SCHEMA = pa.schema([pa.field("catalog_name", pa.string()), pa.field("db_schema_name", pa.string(), False)])
TABLES_SCHEMA = pa.schema([pa.field("catalog_name", pa.string()), pa.field("db_schema_name", pa.string()),
                           pa.field("table_name", pa.string(), False), pa.field("table_type", pa.string(), False)])
TABLES_WITH_SCHEMA = TABLES_SCHEMA.append(pa.field("table_schema", pa.binary(), False))
TABLE_TYPES_SCHEMA = pa.schema([pa.field("table_type", pa.string(), False)])

_VALUE_FIELDS = [
    pa.field("string_value", pa.string()),
    pa.field("bool_value", pa.bool_()),
    pa.field("bigint_value", pa.int64()),
    pa.field("int32_bitmask", pa.int32()),
    pa.field("string_list", pa.list_(pa.string())),
    pa.field("int32_to_int32_list_map", pa.map_(pa.int32(), pa.list_(pa.int32()))),
]
SQL_INFO_SCHEMA = pa.schema([pa.field("info_name", pa.uint32(), False),
                             pa.field("value", pa.dense_union(_VALUE_FIELDS, list(range(6))), False)])

# SqlInfo codes (FlightSql.proto) -> (union member, value).
SQL_INFO: dict[int, tuple[int, object]] = {
    0: (0, "InfluxDB IOx"),          # FLIGHT_SQL_SERVER_NAME (what InfluxDB 3 answers)
    1: (0, __version__),             # FLIGHT_SQL_SERVER_VERSION
    2: (0, pa.__version__),          # FLIGHT_SQL_SERVER_ARROW_VERSION
    3: (1, True),                    # FLIGHT_SQL_SERVER_READ_ONLY
    4: (1, True),                    # FLIGHT_SQL_SERVER_SQL
    5: (1, False),                   # FLIGHT_SQL_SERVER_SUBSTRAIT
    8: (3, 0),                       # FLIGHT_SQL_SERVER_TRANSACTION: none
    9: (1, False),                   # FLIGHT_SQL_SERVER_CANCEL
    500: (1, False),                 # SQL_DDL_CATALOG
    501: (1, False),                 # SQL_DDL_SCHEMA
    502: (1, False),                 # SQL_DDL_TABLE
    503: (3, 2),                     # SQL_IDENTIFIER_CASE: unquoted names folded to lower case
    504: (0, '"'),                   # SQL_IDENTIFIER_QUOTE_CHAR
    505: (3, 1),                     # SQL_QUOTED_IDENTIFIER_CASE: case-sensitive
    506: (1, True),                  # SQL_ALL_TABLES_ARE_SELECTABLE
    507: (3, 1),                     # SQL_NULL_ORDERING: nulls sorted high (at the end ascending)
    515: (1, True),                  # SQL_SUPPORTS_COLUMN_ALIASING
    516: (1, True),                  # SQL_NULL_PLUS_NULL_IS_NULL
}


def sql_info(codes: tuple[int, ...]) -> pa.Table:
    """The requested infos this server knows (all of them when none is requested)."""
    wanted = [c for c in (codes or sorted(SQL_INFO)) if c in SQL_INFO]
    members: list[list] = [[] for _ in _VALUE_FIELDS]
    type_ids, offsets = [], []
    for code in wanted:
        member, value = SQL_INFO[code]
        type_ids.append(member)
        offsets.append(len(members[member]))
        members[member].append(value)
    children = [pa.array(vals, f.type) for vals, f in zip(members, _VALUE_FIELDS)]
    value = pa.UnionArray.from_dense(pa.array(type_ids, pa.int8()), pa.array(offsets, pa.int32()), children,
                                     [f.name for f in _VALUE_FIELDS], list(range(6)))
    return pa.Table.from_arrays([pa.array(wanted, pa.uint32()), value], schema=SQL_INFO_SCHEMA)


def like(pattern: Optional[str]):
    """A predicate for a Flight SQL filter pattern (``%`` any run, ``_`` one character)."""
    if pattern is None:
        return lambda _: True
    rx = re.compile("".join(".*" if c == "%" else "." if c == "_" else re.escape(c) for c in pattern), re.S)
    return lambda name: rx.fullmatch(name) is not None


def _catalog_ok(catalog: Optional[str]) -> bool:
    return catalog is None or catalog == CATALOG


def catalogs() -> pa.Table:
    return pa.table({"catalog_name": [CATALOG]}, schema=CATALOGS_SCHEMA)


def db_schemas(cmd: flightsql.GetDbSchemas) -> pa.Table:
    ok = like(cmd.schema_pattern)
    names = [s for s in SCHEMAS if ok(s)] if _catalog_ok(cmd.catalog) else []
    return pa.table({"catalog_name": [CATALOG] * len(names), "db_schema_name": names}, schema=DB_SCHEMAS_SCHEMA)


def table_types() -> pa.Table:
    return pa.table({"table_type": list(TABLE_TYPES)}, schema=TABLE_TYPES_SCHEMA)


def tables(engine, database: str, cmd: flightsql.GetTables) -> pa.Table:
    """The tables of `database` matching the command's filters, sorted like InfluxDB 3's."""
    listing = engine.query_sql(database, "SELECT table_schema, table_name, table_type FROM information_schema.tables",
                               query_type="flightsql", log_text="CommandGetTables").to_table().to_pylist()
    schema_ok, table_ok = like(cmd.schema_pattern), like(cmd.table_pattern)
    rows = sorted((r["table_schema"], r["table_name"], r["table_type"]) for r in listing
                  if _catalog_ok(cmd.catalog) and schema_ok(r["table_schema"]) and table_ok(r["table_name"])
                  and (not cmd.table_types or r["table_type"] in cmd.table_types))
    data = {"catalog_name": [CATALOG] * len(rows), "db_schema_name": [r[0] for r in rows],
            "table_name": [r[1] for r in rows], "table_type": [r[2] for r in rows]}
    if not cmd.include_schema:
        return pa.table(data, schema=TABLES_SCHEMA)
    data["table_schema"] = [table_schema(engine, database, s, t).serialize().to_pybytes() for s, t, _ in rows]
    return pa.table(data, schema=TABLES_WITH_SCHEMA)


def table_schema(engine, database: str, schema: str, table: str) -> pa.Schema:
    """The schema ``SELECT *`` of one table answers with (no row is read)."""
    result = engine.query_sql(database, f"SELECT * FROM {quote(schema)}.{quote(table)} LIMIT 0",
                              query_type="flightsql", log_text=f"CommandGetTables {schema}.{table}")
    try:
        return result.schema
    finally:
        result.close()
