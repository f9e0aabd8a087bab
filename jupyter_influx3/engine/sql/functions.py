"""SQL macros and type names the translated queries rely on, installed once per DuckDB database.

Every InfluxDB 3 function that DuckDB lacks (or names or types differently) becomes an `influx_*`
macro here; `translate.py` renames the user's calls to them. Also the Arrow type names of
InfluxDB's `arrow_typeof` / `arrow_cast` / information_schema and their DuckDB equivalents.
"""

from __future__ import annotations

import re

import pyarrow as pa
from sqlglot import exp

_INT_TYPES = "('TINYINT','SMALLINT','INTEGER','BIGINT','HUGEINT','UTINYINT','USMALLINT','UINTEGER','UBIGINT','UHUGEINT')"
_FLOAT_TYPES = "('FLOAT','DOUBLE')"


def _to_ts(factor: str) -> str:
    """Body of a to_timestamp-like macro: integers count `factor` ns, text is parsed, timestamps pass."""
    return (
        f"CASE WHEN typeof(x) IN {_INT_TYPES} THEN make_timestamp_ns(CAST(CAST(x AS VARCHAR) AS BIGINT) * {factor}) "
        f"WHEN typeof(x) IN {_FLOAT_TYPES} OR typeof(x) LIKE 'DECIMAL%' "
        f"THEN make_timestamp_ns(CAST(CAST(CAST(x AS VARCHAR) AS DOUBLE) * {factor} AS BIGINT)) "
        f"WHEN typeof(x) = 'VARCHAR' THEN CAST(CAST(CAST(x AS VARCHAR) AS TIMESTAMPTZ) AS TIMESTAMP_NS) "
        f"ELSE CAST(CAST(x AS VARCHAR) AS TIMESTAMP_NS) END")


def _selector(agg: str, order: str, extra: int) -> str:
    fields = ["value := v", "time := t"] + [f"other_{i} := o{i}" for i in range(1, extra + 1)]
    return f"{agg}(struct_pack({', '.join(fields)}), {order}) FILTER (WHERE v IS NOT NULL)"


def _selector_macro(name: str, agg: str, order: str, max_extra: int = 4) -> str:
    overloads = []
    for n in range(max_extra + 1):
        params = ", ".join(["v", "t"] + [f"o{i}" for i in range(1, n + 1)])
        overloads.append(f"({params}) AS {_selector(agg, order, n)}")
    return f"CREATE OR REPLACE MACRO {name}" + ", ".join(overloads)


_ARROW_NAMES = {
    "BOOLEAN": "Boolean", "TINYINT": "Int8", "SMALLINT": "Int16", "INTEGER": "Int32", "BIGINT": "Int64",
    "UTINYINT": "UInt8", "USMALLINT": "UInt16", "UINTEGER": "UInt32", "UBIGINT": "UInt64",
    "HUGEINT": "Int64", "FLOAT": "Float32", "DOUBLE": "Float64", "VARCHAR": "Utf8", "BLOB": "Binary",
    "DATE": "Date32", "TIME": "Time64(Nanosecond)", "TIMESTAMP_NS": "Timestamp(Nanosecond, None)",
    "TIMESTAMP": "Timestamp(Nanosecond, None)", "TIMESTAMP_MS": "Timestamp(Millisecond, None)",
    "TIMESTAMP_S": "Timestamp(Second, None)",
    "TIMESTAMP WITH TIME ZONE": 'Timestamp(Nanosecond, Some("UTC"))',
    "INTERVAL": "Interval(MonthDayNano)", "NULL": "Null",
}


def _arrow_typeof_body() -> str:
    cases = " ".join(f"WHEN '{k}' THEN '{v}'" for k, v in _ARROW_NAMES.items())
    return (f"CASE typeof(x) {cases} ELSE CASE WHEN typeof(x) LIKE 'DECIMAL(%' "
            f"THEN 'Decimal128' || substr(typeof(x), 8) ELSE typeof(x) END END")


MACROS = [
    # ns width of an interval (exact for day/time parts; months count from 1970-01).
    "CREATE OR REPLACE MACRO influx_interval_ns(iv) AS epoch_ns(TIMESTAMP_NS '1970-01-01 00:00:00' + iv)",
    # date_bin(width_ns, ts, origin_ns): floor ts into bins of width aligned to origin.
    "CREATE OR REPLACE MACRO influx_date_bin(w, ts, o) AS make_timestamp_ns("
    "epoch_ns(ts) - ((((epoch_ns(ts) - o) % w) + w) % w))",
    f"CREATE OR REPLACE MACRO influx_to_timestamp(x) AS {_to_ts('1')}",
    f"CREATE OR REPLACE MACRO influx_to_timestamp_us(x) AS {_to_ts('1000')}",
    f"CREATE OR REPLACE MACRO influx_to_timestamp_ms(x) AS {_to_ts('1000000')}",
    f"CREATE OR REPLACE MACRO influx_to_timestamp_s(x) AS {_to_ts('1000000000')}",
    _selector_macro("influx_selector_first", "arg_min", "t"),
    _selector_macro("influx_selector_last", "arg_max", "t"),
    _selector_macro("influx_selector_min", "arg_min", "struct_pack(a := v, b := epoch_ns(t))"),
    _selector_macro("influx_selector_max", "arg_max", "struct_pack(a := v, b := -epoch_ns(t))"),
    f"CREATE OR REPLACE MACRO influx_arrow_typeof(x) AS {_arrow_typeof_body()}",
]

# InfluxDB column type -> (Arrow type name as information_schema prints it, DuckDB type, Arrow type)
COLUMN_TYPES = {
    "tag": ("Dictionary(Int32, Utf8)", "VARCHAR", pa.dictionary(pa.int32(), pa.string())),
    "time": ("Timestamp(Nanosecond, None)", "TIMESTAMP_NS", pa.timestamp("ns")),
    "float": ("Float64", "DOUBLE", pa.float64()),
    "int": ("Int64", "BIGINT", pa.int64()),
    "uint": ("UInt64", "UBIGINT", pa.uint64()),
    "string": ("Utf8", "VARCHAR", pa.string()),
    "bool": ("Boolean", "BOOLEAN", pa.bool_()),
}

_UNITS = {"Second": ("s", "TIMESTAMP_S", "1000000000"), "Millisecond": ("ms", "TIMESTAMP_MS", "1000000"),
          "Microsecond": ("us", "TIMESTAMP", "1000"), "Nanosecond": ("ns", "TIMESTAMP_NS", "1")}
_SIMPLE_CASTS = {
    "Int8": ("TINYINT", pa.int8()), "Int16": ("SMALLINT", pa.int16()), "Int32": ("INTEGER", pa.int32()),
    "Int64": ("BIGINT", pa.int64()), "UInt8": ("UTINYINT", pa.uint8()), "UInt16": ("USMALLINT", pa.uint16()),
    "UInt32": ("UINTEGER", pa.uint32()), "UInt64": ("UBIGINT", pa.uint64()),
    "Float32": ("FLOAT", pa.float32()), "Float64": ("DOUBLE", pa.float64()),
    "Utf8": ("VARCHAR", pa.string()), "LargeUtf8": ("VARCHAR", pa.large_string()),
    "Utf8View": ("VARCHAR", pa.string()), "Boolean": ("BOOLEAN", pa.bool_()),
    "Binary": ("BLOB", pa.binary()), "LargeBinary": ("BLOB", pa.large_binary()),
    "Date32": ("DATE", pa.date32()), "Date64": ("DATE", pa.date64()),
}
_TS_RE = re.compile(r'^Timestamp\(\s*(Second|Millisecond|Microsecond|Nanosecond)\s*,\s*'
                    r'(None|Some\(\s*"([^"]*)"\s*\))\s*\)$')
_DICT_RE = re.compile(r"^Dictionary\(\s*(Int8|Int16|Int32|Int64|UInt8|UInt16|UInt32|UInt64)\s*,\s*(Utf8|LargeUtf8)\s*\)$")


def arrow_cast_target(type_name: str) -> tuple[str, pa.DataType, str | None] | None:
    """For an `arrow_cast` type string: (DuckDB cast type, Arrow output type, ns factor for
    integer→timestamp or None); None when the type is not supported."""
    t = type_name.strip()
    if t in _SIMPLE_CASTS:
        duck, arrow = _SIMPLE_CASTS[t]
        return duck, arrow, None
    m = _TS_RE.match(t)
    if m:
        unit, _, tz = m.groups()
        code, duck, factor = _UNITS[unit]
        return duck, pa.timestamp(code, tz=tz), factor
    m = _DICT_RE.match(t)
    if m:
        key = getattr(pa, m.group(1).lower())()
        return "VARCHAR", pa.dictionary(key, pa.string()), None
    return None


_FIXED_UNIT_NS = {"MICROSECOND": 1_000, "MILLISECOND": 1_000_000, "SECOND": 10**9, "MINUTE": 60 * 10**9,
                  "HOUR": 3600 * 10**9, "DAY": 86_400 * 10**9, "WEEK": 7 * 86_400 * 10**9}


def interval_ns(e: exp.Expression) -> exp.Expression:
    """The ns width of a date_bin interval: a constant for `INTERVAL 'n' unit` of a fixed-length
    unit (what DuckDB's influx_interval_ns gives it, without the macro and casts DuckDB would
    bind for every query, ~0.2 ms), else the influx_interval_ns call."""
    n, unit = e.args.get("this"), e.args.get("unit")
    if isinstance(e, exp.Interval) and isinstance(n, exp.Literal) and n.is_string and unit is not None \
            and re.fullmatch(r"-?\d{1,12}", n.this):
        name = unit.name.upper()
        per = _FIXED_UNIT_NS.get(name[:-1] if name.endswith("S") else name)
        if per is not None:
            return exp.Literal.number(int(n.this) * per)
    return exp.Anonymous(this="influx_interval_ns",
                          expressions=[exp.Cast(this=e.copy(), to=exp.DataType.build("INTERVAL"))])
