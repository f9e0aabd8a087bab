"""The one place that turns results and errors into response bodies.

InfluxDB 3 has no single error format (behaviour reference §0.3); each shape the real server uses
has one function here:

* plain text (the error's message, no wrapper),
* ``{"error": msg}`` (compact JSON, optionally with ``"data"`` for write line errors),
* the v2 compatibility shape ``{"code": ..., "message": ...}``,
* write line errors ``{"error_message", "line_number", "original_line"}`` with ``original_line``
  cut to 20 bytes on a UTF-8 boundary.

and the query output formats (json, jsonl, csv, pretty, parquet; §2.2) with the one mapping of
engine errors to answers (:func:`engine_error`).
"""

from __future__ import annotations

import io
import json
import math
import struct
import unicodedata
from datetime import timedelta
from typing import Any, Callable, Iterable, Iterator, Optional

import pyarrow as pa
import pyarrow.compute as pc

from ..engine.influxql.results import epoch_value, format_time_rfc3339, go_float

try:  # a C JSON encoder for large answers; everything works without it
    import orjson as _orjson
except ImportError:  # pragma: no cover
    _orjson = None

JSON_CONTENT_TYPE = "application/json"
TEXT_CONTENT_TYPE = "text/plain; charset=utf-8"

#: Bytes of a rejected line echoed back in a write error (the server's `WriteLineError` serializer).
ORIGINAL_LINE_MAX_BYTES = 20

#: HTTP status -> `code` of a v2 error body (InfluxDB 2's error codes).
V2_ERROR_CODES = {
    400: "invalid",
    401: "unauthorized",
    403: "forbidden",
    404: "not found",
    413: "request too large",
    422: "unprocessable entity",
    500: "internal error",
}

_MISSING = object()


def to_json(value: Any) -> bytes:
    """Compact JSON, non-ASCII kept as UTF-8 (what serde_json writes)."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def truncate_utf8(text: str, max_bytes: int = ORIGINAL_LINE_MAX_BYTES) -> str:
    """The longest prefix of `text` whose UTF-8 encoding fits in `max_bytes` bytes."""
    raw = text.encode("utf-8")
    if len(raw) <= max_bytes:
        return text
    # Dropping the bytes of a split character ("ignore") leaves exactly the whole characters.
    return raw[:max_bytes].decode("utf-8", errors="ignore")


def line_error(err: Any) -> dict:
    """A write line error in the server's key order, `original_line` truncated."""
    return {
        "error_message": err.error_message,
        "line_number": err.line_number,
        "original_line": truncate_utf8(err.original_line),
    }


def plain_error(message: str) -> bytes:
    return message.encode("utf-8")


def json_error(message: str, data: Any = _MISSING) -> bytes:
    """``{"error": message}``, plus ``"data"`` when given."""
    body: dict = {"error": message}
    if data is not _MISSING:
        body["data"] = data
    return to_json(body)


def v2_error(status: int, message: str) -> bytes:
    """The v2 write endpoint's ``{"code": ..., "message": ...}`` body for an HTTP status."""
    code = V2_ERROR_CODES.get(status, "invalid" if 400 <= status < 500 else "internal error")
    if status == 401:
        message = "unauthorized access"
    return to_json({"code": code, "message": message})


def partial_write_error(errors: Iterable[Any]) -> bytes:
    """400/422 body of an accept_partial write where some lines were rejected."""
    return json_error("partial write of line protocol occurred", [line_error(e) for e in errors])


def parse_error(err: Any) -> bytes:
    """400 body of a non-partial write stopped at its first bad line."""
    return json_error("line protocol parsing error", line_error(err))


# ==== query output formats (behaviour reference §2.1, §2.2) =====================================
#
# Results arrive as Arrow record batches and leave in one of five formats. Values are rendered the
# way the real server's Arrow writers render them:
#
# * json/jsonl (arrow_json): nulls omitted, floats in lexical_core's shortest form (`5.0`,
#   `1.0e10`, non-finite -> `null`), timestamps as strings, tags (dictionaries) as plain strings;
# * csv/pretty (arrow-cast display): floats in ryu's shortest form (`5.0`, `1e16`, `NaN`, `inf`),
#   nulls as empty cells; csv quotes only when needed, pretty is comfy-table's ASCII table.
#
# Timestamps without a time zone print without `Z` and with 0, 3, 6 or 9 fractional digits
# (`2065-01-07T17:28:51`, `…:34.984`, `…:00.000000123`); with a zone they are RFC 3339 (`Z` for UTC).
#
# Each column is rendered with Arrow compute kernels (string arrays, joined per row), so a large
# result is encoded batch by batch without a Python object per cell; only values Arrow cannot
# render the same way (rare floats, nested types) go through Python.

#: `format` values in serde's order (the order its "expected one of" message lists them).
QUERY_FORMATS = ("parquet", "csv", "pretty", "json", "json_lines")
FORMAT_ALIASES = {"jsonl": "json_lines"}
QUERY_CONTENT_TYPES = {
    "parquet": "application/vnd.apache.parquet",
    "csv": "text/csv",
    "pretty": "text/plain; charset=utf-8",
    "json": "application/json",
    "json_lines": "application/jsonl",
}
#: Exact `Accept` values that pick a format when `format` is absent.
ACCEPT_FORMATS = {
    "application/vnd.apache.parquet": "parquet",
    "text/csv": "csv",
    "text/plain": "pretty",
    "application/json": "json",
    "*/*": "json",
}

#: Rows encoded per step: bounds the size of one chunk of a streamed body.
ROWS_PER_CHUNK = 65536


class FormatError(ValueError):
    """A `format` value or `Accept` header that names no output format (message as served)."""


def parse_query_format(value: str) -> str:
    """The canonical name of a `format` value; FormatError in serde's words if unknown."""
    if value in QUERY_FORMATS:
        return value
    if value in FORMAT_ALIASES:
        return FORMAT_ALIASES[value]
    # serde (since 1.0.2xx) lists a variant's aliases after its name: `json_lines`, `jsonl`
    expected = ", ".join(f"`{v}`" for v in (*QUERY_FORMATS, *FORMAT_ALIASES))
    raise FormatError(f"unknown variant `{value}`, expected one of {expected}")


def format_from_accept(accept: Optional[str]) -> str:
    """The format an `Accept` header asks for (exact values only, as the real server matches)."""
    if accept is None:
        return "json"
    if accept in ACCEPT_FORMATS:
        return ACCEPT_FORMATS[accept]
    if "text/html" in accept or "*/*" in accept:
        return "json"  # a browser's default Accept header
    raise FormatError(f"invalid mime type ({accept})")


# ---- string helpers ------------------------------------------------------------------------------

_END = 2**31 - 1  # a slice position past the end of any string


def _affix(strings: pa.Array, prefix: str = "", suffix: str = "") -> pa.Array:
    """`prefix + s + suffix` for every string (nulls stay null); cheaper than a join with scalars."""
    if prefix:
        strings = pc.binary_replace_slice(strings, start=0, stop=0, replacement=prefix)
    if suffix:
        strings = pc.binary_replace_slice(strings, start=_END, stop=_END, replacement=suffix)
    return strings


# ---- floats --------------------------------------------------------------------------------------


def _digits(x: float) -> tuple[str, int]:
    """Shortest round-trip decimal digits of |x| (x finite, non-zero) and the exponent `kk` such
    that |x| = 0.<digits> * 10**kk."""
    r = repr(abs(x))
    mant, _, exp = r.partition("e")
    whole, _, frac = mant.partition(".")
    digits = whole + frac
    kk = len(whole) + (int(exp) if exp else 0)
    stripped = digits.lstrip("0")
    kk -= len(digits) - len(stripped)
    digits = stripped.rstrip("0") or "0"
    return digits, kk


def ryu_float(x: float) -> str:
    """A float as Rust's `ryu` prints it (Arrow's display for csv and pretty)."""
    if math.isnan(x):
        return "NaN"
    if math.isinf(x):
        return "inf" if x > 0 else "-inf"
    if x == 0:
        return "-0.0" if math.copysign(1.0, x) < 0 else "0.0"
    sign = "-" if x < 0 else ""
    digits, kk = _digits(x)
    n = len(digits)
    if 0 <= kk - n and kk <= 16:
        return sign + digits + "0" * (kk - n) + ".0"
    if 0 < kk <= 16:
        return sign + digits[:kk] + "." + digits[kk:]
    if -5 < kk <= 0:
        return sign + "0." + "0" * (-kk) + digits
    if n == 1:
        return f"{sign}{digits}e{kk - 1}"
    return f"{sign}{digits[0]}.{digits[1:]}e{kk - 1}"


def lexical_float(x: float) -> str:
    """A float as Rust's `lexical_core` prints it (Arrow's JSON writer); non-finite -> null."""
    if not math.isfinite(x):
        return "null"
    if x == 0:
        return "-0.0" if math.copysign(1.0, x) < 0 else "0.0"
    sign = "-" if x < 0 else ""
    digits, kk = _digits(x)
    n = len(digits)
    sci = kk - 1
    if sci < -5 or sci > 9:
        return f"{sign}{digits[0]}.{digits[1:] or '0'}e{sci}"
    if sci >= 0:
        if kk >= n:
            return sign + digits + "0" * (kk - n) + ".0"
        return sign + digits[:kk] + "." + digits[kk:]
    return sign + "0." + "0" * (-kk) + digits


def _float32_value(x: float) -> float:
    """The shortest decimal that reads back as the same float32 (what Rust prints for an f32)."""
    if not math.isfinite(x) or x == 0:
        return x
    packed = struct.pack("<f", x)
    for precision in range(1, 10):
        candidate = float(f"{x:.{precision}g}")
        if struct.pack("<f", candidate) == packed:
            return candidate
    return x


#: columns and batches up to this long are printed value by value in Python (each Arrow compute
#: call costs ~5-20 µs whatever the length: the answer of a small query); see _float_strings and
#: JsonLinesWriter._short_rows
SHORT_LENGTH = 32


def _exact_strings(arr: pa.Array) -> pa.Array:
    """Integer or boolean column -> its decimal / ``true``/``false`` texts; nulls stay null."""
    if len(arr) > SHORT_LENGTH:
        return pc.cast(arr, pa.string())
    if pa.types.is_boolean(arr.type):
        return pa.array([None if v is None else "true" if v else "false" for v in arr.to_pylist()], pa.string())
    return pa.array([None if v is None else str(v) for v in arr.to_pylist()], pa.string())


def _float_strings(arr: pa.Array, style: Callable[[float], str]) -> pa.Array:
    """Float column -> strings in `style` (ryu_float or lexical_float); nulls stay null."""
    if pa.types.is_float32(arr.type) or pa.types.is_float16(arr.type):
        values = [None if v is None else style(_float32_value(v)) for v in arr.cast(pa.float64()).to_pylist()]
        return pa.array(values, pa.string())
    if len(arr) <= SHORT_LENGTH:   # the same texts as below, without Arrow's cast and calls
        return pa.array([None if v is None else style(float(v)) for v in arr.to_pylist()], pa.string())
    arr = arr.cast(pa.float64())
    # Arrow's own cast prints the same shortest digits as Rust for 1e-5 <= |x| < 1e10, only
    # without the ".0" of an integral value; everything else (exponents, nan, inf, tiny values)
    # is rendered in Python.
    text = pc.cast(arr, pa.string())
    odd = pc.or_(
        pc.match_substring_regex(text, "[eni]"),
        pc.and_(pc.less(pc.abs(arr), 1e-5), pc.not_equal(arr, 0.0)),
    )
    integral = pc.invert(pc.match_substring(text, "."))
    text = pc.if_else(integral, _affix(text, suffix=".0"), text)
    if pc.any(odd).as_py():
        mask = odd.fill_null(False)
        picked = pc.filter(arr, mask).to_pylist()
        text = pc.replace_with_mask(text, mask, pa.array([style(v) for v in picked], pa.string()))
    return text


# ---- timestamps ----------------------------------------------------------------------------------

_UNITS_PER_SECOND = {"s": 1, "ms": 1_000, "us": 1_000_000, "ns": 1_000_000_000}
_UTC_NAMES = {"UTC", "utc", "Z", "+00:00", "-00:00", "+0000", "Etc/UTC", "GMT", "Etc/GMT", "+00", "Universal", "Zulu"}


def _floor_divmod(values: pa.Array, divisor: int) -> tuple[pa.Array, pa.Array]:
    """Integer floor division and non-negative remainder, element-wise."""
    q = pc.divide(values, divisor)  # truncates toward zero
    r = pc.subtract(values, pc.multiply(q, divisor))
    negative = pc.less(r, 0)
    q = pc.if_else(negative, pc.subtract(q, 1), q)
    r = pc.if_else(negative, pc.add(r, divisor), r)
    return q, r


def _fraction_strings(nanos: pa.Array) -> pa.Array | pa.Scalar:
    """Sub-second nanoseconds -> "" / ".ddd" / ".dddddd" / ".ddddddddd" (chrono's `%.f`)."""
    empty = pa.scalar("", pa.string())
    whole = pc.equal(nanos, 0)
    if pc.all(whole).as_py():
        return empty
    nine = _affix(pc.utf8_lpad(pc.cast(nanos, pa.string()), width=9, padding="0"), prefix=".")
    by_ms = pc.equal(pc.remainder(nanos, 1_000_000), 0)
    by_us = pc.equal(pc.remainder(nanos, 1_000), 0)
    out = pc.if_else(by_us, pc.utf8_slice_codeunits(nine, 0, 7), nine)
    out = pc.if_else(by_ms, pc.utf8_slice_codeunits(nine, 0, 4), out)
    return pc.if_else(whole, empty, out)


def _wall_clock_strings(seconds: pa.Array, nanos: pa.Array) -> pa.Array:
    """`YYYY-MM-DDTHH:MM:SS[.fff…]` of whole seconds since the epoch plus nanoseconds."""
    base = pc.replace_substring(pc.cast(pc.cast(seconds, pa.timestamp("s")), pa.string()), " ", "T",
                                max_replacements=1)
    return _join_fraction(base, _fraction_strings(nanos))


def _join_fraction(base: pa.Array, fraction: pa.Array | pa.Scalar) -> pa.Array:
    if isinstance(fraction, pa.Scalar):  # every value a whole second
        return base
    return pc.binary_join_element_wise(base, fraction, "")


def _offset_text(seconds: int) -> str:
    if seconds == 0:
        return "Z"
    sign = "+" if seconds > 0 else "-"
    seconds = abs(seconds)
    text = f"{sign}{seconds // 3600:02d}:{seconds % 3600 // 60:02d}"
    return text + (f":{seconds % 60:02d}" if seconds % 60 else "")


def _timestamp_strings(arr: pa.Array) -> pa.Array:
    """Timestamp column -> Arrow display strings; nulls stay null."""
    unit, tz = arr.type.unit, arr.type.tz
    per_second = _UNITS_PER_SECOND[unit]
    ints = arr.cast(pa.int64())
    filled = ints.fill_null(0)
    suffix: Any = "Z" if tz is not None else ""
    if tz is not None and tz not in _UTC_NAMES:
        local = pc.local_timestamp(arr).cast(pa.int64()).fill_null(0)
        offsets = pc.divide(pc.subtract(local, filled), per_second)
        suffix = pa.array([_offset_text(o) for o in offsets.to_pylist()], pa.string())
        filled = local
    seconds, rest = _floor_divmod(filled, per_second)
    nanos = pc.multiply(rest, 1_000_000_000 // per_second)
    text = _wall_clock_strings(seconds, nanos)
    if isinstance(suffix, str):
        text = _affix(text, suffix=suffix)
    else:
        text = pc.binary_join_element_wise(text, suffix, "")
    if ints.null_count:
        text = pc.if_else(pc.is_null(ints), pa.scalar(None, pa.string()), text)
    return text


def _time_strings(arr: pa.Array) -> pa.Array:
    """time32/time64 -> `HH:MM:SS[.fff…]` (chrono's NaiveTime display)."""
    per_second = _UNITS_PER_SECOND[arr.type.unit]
    ints = arr.cast(pa.int64())
    seconds, rest = _floor_divmod(ints.fill_null(0), per_second)
    nanos = pc.multiply(rest, 1_000_000_000 // per_second)
    base = pc.utf8_slice_codeunits(pc.cast(pc.cast(seconds, pa.timestamp("s")), pa.string()), 11)
    text = _join_fraction(base, _fraction_strings(nanos))
    return pc.if_else(pc.is_null(ints), pa.scalar(None, pa.string()), text)


# ---- one column -> strings -------------------------------------------------------------------------

_NEEDS_JSON_ESCAPE = r'[\x00-\x1f"\\]'


def _json_quote(strings: pa.Array) -> pa.Array:
    """Strings -> JSON string literals (serde_json's escapes); nulls stay null."""
    escape = pc.match_substring_regex(strings, _NEEDS_JSON_ESCAPE)
    quoted = _affix(strings, '"', '"')
    if pc.any(escape).as_py():
        mask = escape.fill_null(False)
        picked = pc.filter(strings, mask).to_pylist()
        fixed = pa.array([json.dumps(s, ensure_ascii=False) for s in picked], pa.string())
        quoted = pc.replace_with_mask(quoted, mask, fixed)
    return quoted


def _plain(arr: pa.Array) -> pa.Array:
    """Dictionary -> its values; string views and large strings -> string."""
    if pa.types.is_dictionary(arr.type):
        arr = arr.dictionary_decode()
    if pa.types.is_large_string(arr.type) or pa.types.is_string_view(arr.type):
        arr = arr.cast(pa.string())
    return arr


def _via_dictionary(arr: pa.Array, render: Callable[[pa.Array], pa.Array]) -> pa.Array:
    """Render a dictionary column's distinct values once, then pick them per row."""
    rendered = render(arr.dictionary)
    return pc.take(rendered, arr.indices)


def display_strings(arr: pa.Array) -> pa.Array:
    """A column as Arrow's display renders each value (csv, pretty); nulls stay null."""
    if pa.types.is_dictionary(arr.type):
        return _via_dictionary(arr, display_strings)
    arr = _plain(arr)
    t = arr.type
    if pa.types.is_string(t):
        return arr
    if pa.types.is_boolean(t) or pa.types.is_integer(t):
        return _exact_strings(arr)
    if pa.types.is_decimal(t) or pa.types.is_date(t):
        return pc.cast(arr, pa.string())
    if pa.types.is_floating(t):
        return _float_strings(arr, ryu_float)
    if pa.types.is_timestamp(t):
        return _timestamp_strings(arr)
    if pa.types.is_time(t):
        return _time_strings(arr)
    if pa.types.is_null(t):
        return pa.nulls(len(arr), pa.string())
    return pa.array([None if v is None else _display_value(v) for v in arr.to_pylist()], pa.string())


def json_values(arr: pa.Array) -> pa.Array:
    """A column as JSON value texts (Arrow's JSON writer); nulls stay null."""
    if pa.types.is_dictionary(arr.type):
        return _via_dictionary(arr, json_values)
    arr = _plain(arr)
    t = arr.type
    if pa.types.is_string(t):
        return _json_quote(arr)
    if pa.types.is_boolean(t) or pa.types.is_integer(t):
        return _exact_strings(arr)
    if pa.types.is_decimal(t):
        return pc.cast(arr, pa.string())
    if pa.types.is_floating(t):
        return _float_strings(arr, lexical_float)
    if pa.types.is_timestamp(t) or pa.types.is_date(t) or pa.types.is_time(t):
        return _affix(display_strings(arr), '"', '"')
    if pa.types.is_null(t):
        return pa.nulls(len(arr), pa.string())
    return pa.array([None if v is None else to_json(_json_value(v)).decode("utf-8") for v in arr.to_pylist()],
                    pa.string())


def _display_value(value: Any) -> str:
    """Python fallback for nested and rare types (lists `[a, b]`, structs `{k: v}`, bytes as hex)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return ryu_float(value)
    if isinstance(value, (bytes, bytearray)):
        return value.hex()
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}: {'' if v is None else _display_value(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ", ".join("" if v is None else _display_value(v) for v in value) + "]"
    if isinstance(value, timedelta):
        return str(value)
    if hasattr(value, "isoformat"):
        text = value.isoformat()
        return text.replace("+00:00", "Z")
    return str(value)


def _json_value(value: Any) -> Any:
    if isinstance(value, float):
        return _RawJson(lexical_float(value))
    if isinstance(value, (bytes, bytearray)):
        return value.hex()
    if isinstance(value, dict):
        return {str(k): _json_value(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_json_value(v) for v in value]
    if isinstance(value, (bool, int, str)) or value is None:
        return value
    return _display_value(value)


class _RawJson(float):
    """A float whose JSON text is already decided (json.dumps calls float.__repr__)."""

    def __new__(cls, text: str):
        obj = super().__new__(cls, 0.0 if text == "null" else float(text))
        obj.text = text
        return obj

    def __repr__(self) -> str:
        return self.text


# ---- joining strings -----------------------------------------------------------------------------


def _concat(strings: pa.Array) -> bytes:
    """The bytes of a string array without nulls, back to back (no copy per value)."""
    if len(strings) == 0:
        return b""
    if isinstance(strings, pa.ChunkedArray):
        return b"".join(_concat(c) for c in strings.chunks)
    if pa.types.is_large_string(strings.type):
        strings = strings.cast(pa.string())
    _, offsets, data = strings.buffers()
    view = memoryview(offsets).cast("i")
    start, end = view[strings.offset], view[strings.offset + len(strings)]
    return data[start:end].to_pybytes() if data is not None else b""


def _join_rows(columns: list[pa.Array], separator: str, prefix: str, suffix: str) -> pa.Array:
    """Row strings `prefix + c0 + sep + c1 … + suffix`; null cells become empty."""
    parts: list[Any] = [pa.scalar(prefix, pa.string())] if prefix else []
    for i, col in enumerate(columns):
        if i:
            parts.append(pa.scalar(separator, pa.string()))
        parts.append(col.fill_null(""))
    if suffix:
        parts.append(pa.scalar(suffix, pa.string()))
    if len(parts) == 1:
        return pc.binary_join_element_wise(parts[0], "", "")
    return pc.binary_join_element_wise(*parts, "")


def _slices(batch: pa.RecordBatch) -> Iterator[pa.RecordBatch]:
    for start in range(0, batch.num_rows, ROWS_PER_CHUNK):
        yield batch.slice(start, ROWS_PER_CHUNK)


# ---- writers -------------------------------------------------------------------------------------


class ResultWriter:
    """Encodes a stream of record batches in one format: `write(batch)` returns the bytes to send
    now, `finish()` the bytes that end the body. Writers are not thread-safe."""

    format = ""

    def __init__(self, schema: pa.Schema):
        self.schema = schema
        self.rows = 0

    @property
    def content_type(self) -> str:
        return QUERY_CONTENT_TYPES[self.format]

    def write(self, batch: pa.RecordBatch) -> bytes:
        self.rows += batch.num_rows
        if batch.num_rows == 0:
            return b""
        return b"".join(self._encode(part) for part in _slices(batch))

    def _encode(self, batch: pa.RecordBatch) -> bytes:  # pragma: no cover - overridden
        raise NotImplementedError

    def finish(self) -> bytes:
        return b""


class JsonLinesWriter(ResultWriter):
    """One compact JSON object per row, each followed by a newline; nulls omitted."""

    format = "json_lines"
    row_prefix, row_suffix = "{", "}\n"

    def _row_objects(self, batch: pa.RecordBatch) -> pa.Array:
        members = []
        for name, col in zip(batch.schema.names, batch.columns):
            # `,"name":value`, or null (dropped) where the value is null
            key = "," + json.dumps(name, ensure_ascii=False) + ":"
            members.append(_affix(json_values(col), prefix=key))
        if not members:
            return pa.array([self.row_prefix + self.row_suffix] * batch.num_rows, pa.string())
        if len(members) == 1:
            joined = members[0].fill_null("")
        else:
            # (not null_handling="skip": pyarrow drops rows whose values are all null with it)
            joined = pc.binary_join_element_wise(*members, "", null_handling="replace", null_replacement="")
        # the comma before the first member becomes the row's opening (empty rows: just the opening)
        opened = pc.binary_replace_slice(joined, start=0, stop=1, replacement=self.row_prefix)
        return _affix(opened, suffix=self.row_suffix)

    def _short_rows(self, batch: pa.RecordBatch) -> bytes:
        """The rows of a short batch, as `_row_objects` writes them, joined in Python (see
        SHORT_LENGTH)."""
        keys = ["," + json.dumps(name, ensure_ascii=False) + ":" for name in batch.schema.names]
        columns = [json_values(col).to_pylist() for col in batch.columns]
        rows = []
        for i in range(batch.num_rows):
            members = "".join(key + col[i] for key, col in zip(keys, columns) if col[i] is not None)
            rows.append(self.row_prefix + members[1:] + self.row_suffix)
        return "".join(rows).encode("utf-8")

    def _encode(self, batch: pa.RecordBatch) -> bytes:
        if batch.num_rows <= SHORT_LENGTH:
            return self._short_rows(batch)
        return _concat(self._row_objects(batch))


class JsonWriter(JsonLinesWriter):
    """One JSON array of objects (`[]` when there are no rows); nulls omitted."""

    format = "json"
    row_prefix, row_suffix = ",{", "}"

    def __init__(self, schema: pa.Schema):
        super().__init__(schema)
        self.started = False

    def _encode(self, batch: pa.RecordBatch) -> bytes:
        data = super()._encode(batch)
        if not self.started:
            self.started = True
            data = b"[" + data[1:]
        return data

    def finish(self) -> bytes:
        return b"]" if self.started else b"[]"


_CSV_NEEDS_QUOTES = '[,"\r\n]'


def _csv_fields(strings: pa.Array) -> pa.Array:
    strings = strings.fill_null("")
    needs = pc.match_substring_regex(strings, _CSV_NEEDS_QUOTES)
    if not pc.any(needs).as_py():
        return strings
    quoted = _affix(pc.replace_substring(strings, '"', '""'), '"', '"')
    return pc.if_else(needs, quoted, strings)


class CsvWriter(ResultWriter):
    """Header line then rows, `\\n` line ends; no header at all when there are no rows."""

    format = "csv"

    def __init__(self, schema: pa.Schema):
        super().__init__(schema)
        self.started = False

    def _record(self, fields: list[pa.Array]) -> pa.Array:
        if len(fields) == 1:
            # A record of one empty field is written `""` (else it would be an empty line).
            fields = [pc.if_else(pc.equal(fields[0], ""), pa.scalar('""'), fields[0])]
        return _join_rows(fields, ",", "", "\n")

    def _encode(self, batch: pa.RecordBatch) -> bytes:
        out = b""
        if not self.started:
            self.started = True
            header = [_csv_fields(pa.array([name], pa.string())) for name in batch.schema.names]
            out = _concat(self._record(header)) if header else b"\n"
        fields = [_csv_fields(display_strings(col)) for col in batch.columns]
        if not fields:
            return out + b"\n" * batch.num_rows
        return out + _concat(self._record(fields))


class ResultTooLarge(ValueError):
    """A format that must hold the whole result (pretty) was asked for a result past the cap."""

    status = 400

    def __init__(self, fmt: str, limit: int):
        super().__init__(f"the result is too large for format={fmt}, which holds every row in memory before "
                         f"printing (limit {limit // 2**20} MiB): ask for json, jsonl, csv or parquet, which "
                         "stream, or add a LIMIT")


class PrettyWriter(ResultWriter):
    """Arrow's `pretty_format_batches` table; needs every row first (column widths), so what it
    holds is capped at `max_bytes` (None: no cap), past which it raises ResultTooLarge."""

    format = "pretty"

    def __init__(self, schema: pa.Schema, max_bytes: Optional[int] = None):
        super().__init__(schema)
        self.columns: list[list[pa.Array]] = [[] for _ in schema.names]
        self.max_bytes = max_bytes
        self.held = 0

    def _encode(self, batch: pa.RecordBatch) -> bytes:
        if self.max_bytes and self.held + batch.nbytes > self.max_bytes:
            raise ResultTooLarge(self.format, self.max_bytes)  # before the text, which is larger
        for store, col in zip(self.columns, batch.columns):
            text = display_strings(col).fill_null("")
            self.held += text.nbytes
            store.append(text)
        if self.max_bytes and self.held > self.max_bytes:
            raise ResultTooLarge(self.format, self.max_bytes)
        return b""

    def finish(self) -> bytes:
        if self.rows == 0:
            return b"++\n++"
        cells = [pa.chunked_array(chunks, pa.string()).combine_chunks() if chunks else pa.array([], pa.string())
                 for chunks in self.columns]
        return pretty_table(list(self.schema.names), cells).encode("utf-8")


class ParquetWriter(ResultWriter):
    """A Parquet file (Arrow schema kept, so tags stay dictionaries); no bytes for no rows."""

    format = "parquet"

    class _Sink(io.RawIOBase):
        """A write-only file whose bytes are taken out as they are written."""

        def __init__(self):
            super().__init__()
            self.parts: list[bytes] = []
            self.position = 0

        def writable(self) -> bool:
            return True

        def write(self, data) -> int:
            chunk = bytes(data)
            self.parts.append(chunk)
            self.position += len(chunk)
            return len(chunk)

        def tell(self) -> int:
            return self.position

        def take(self) -> bytes:
            out = b"".join(self.parts)
            self.parts.clear()
            return out

    def __init__(self, schema: pa.Schema):
        super().__init__(schema)
        self.sink = self._Sink()
        self.writer = None

    def write(self, batch: pa.RecordBatch) -> bytes:
        self.rows += batch.num_rows
        if batch.num_rows == 0:
            return b""
        import pyarrow.parquet as pq

        if self.writer is None:
            self.writer = pq.ParquetWriter(self.sink, batch.schema)
        self.writer.write_batch(batch)
        return self.sink.take()

    def finish(self) -> bytes:
        if self.writer is None:
            return b""
        self.writer.close()
        return self.sink.take()


WRITERS = {w.format: w for w in (ParquetWriter, CsvWriter, PrettyWriter, JsonWriter, JsonLinesWriter)}


def result_writer(fmt: str, schema: pa.Schema, max_held_bytes: Optional[int] = None) -> ResultWriter:
    """The writer of `fmt`; a format that holds the whole result holds at most `max_held_bytes`."""
    writer = WRITERS[FORMAT_ALIASES.get(fmt, fmt)](schema)
    if isinstance(writer, PrettyWriter):
        writer.max_bytes = max_held_bytes
    return writer


def render_result(data: pa.Table | pa.RecordBatchReader | list, fmt: str) -> bytes:
    """A whole result in one format (for small results: lists, tests, the CLI)."""
    if isinstance(data, pa.Table):
        schema, batches = data.schema, data.to_batches()
    elif isinstance(data, pa.RecordBatchReader):
        schema, batches = data.schema, data
    else:
        batches = list(data)
        schema = batches[0].schema if batches else pa.schema([])
    writer = result_writer(fmt, schema)
    parts = [writer.write(b) for b in batches]
    parts.append(writer.finish())
    return b"".join(parts)


# ---- pretty table (comfy-table as Arrow configures it) ---------------------------------------------


def display_width(text: str) -> int:
    """Terminal columns of `text` (wide East Asian characters 2, combining marks and controls 0)."""
    if text.isascii():
        return sum(1 for ch in text if " " <= ch <= "~")
    width = 0
    for ch in text:
        if unicodedata.combining(ch) or unicodedata.category(ch) in ("Mn", "Me", "Cf", "Cc"):
            continue
        width += 2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1
    return width


def pretty_table(names: list[str], columns: list[pa.Array]) -> str:
    """ASCII table: `+---+` borders, header, `+===` none, cells left-aligned with one space of
    padding, multi-line cells split on newlines; no trailing newline."""
    if not names:
        return "++\n++"
    simple = all(
        pc.all(pc.match_substring_regex(col, r"^[ -~]*$")).as_py() is not False for col in columns
    ) and all(n.isascii() and n.isprintable() for n in names)
    if simple:
        return _pretty_simple(names, columns)
    return _pretty_general(names, [col.to_pylist() for col in columns])


def _pretty_simple(names: list[str], columns: list[pa.Array]) -> str:
    widths = []
    for name, col in zip(names, columns):
        longest = pc.max(pc.utf8_length(col)).as_py() if len(col) else 0
        widths.append(max(len(name), longest or 0))
    border = "+" + "+".join("-" * (w + 2) for w in widths) + "+"
    header = "| " + " | ".join(n.ljust(w) for n, w in zip(names, widths)) + " |"
    padded = [pc.utf8_rpad(col, width=w, padding=" ") for col, w in zip(columns, widths)]
    rows = _concat(_join_rows(padded, " | ", "| ", " |\n")).decode("utf-8")
    return f"{border}\n{header}\n{border}\n{rows}{border}"


def _pretty_general(names: list[str], columns: list[list[str]]) -> str:
    widths = []
    split_columns = []
    for name, col in zip(names, columns):
        lines = [cell.split("\n") for cell in col]
        split_columns.append(lines)
        widths.append(max([display_width(line) for line in name.split("\n")]
                          + [display_width(line) for cell in lines for line in cell]))

    def render_row(cells: list[list[str]]) -> list[str]:
        height = max(len(c) for c in cells)
        out = []
        for i in range(height):
            parts = []
            for cell, w in zip(cells, widths):
                line = cell[i] if i < len(cell) else ""
                parts.append(line + " " * (w - display_width(line)))
            out.append("| " + " | ".join(parts) + " |")
        return out

    border = "+" + "+".join("-" * (w + 2) for w in widths) + "+"
    lines = [border, *render_row([n.split("\n") for n in names]), border]
    for r in range(len(columns[0]) if columns else 0):
        lines.extend(render_row([col[r] for col in split_columns]))
    lines.append(border)
    return "\n".join(lines)


# ==== engine errors -> answers (§0.3) ===========================================================


def engine_error(exc: Exception) -> tuple[int, str, str]:
    """(status, message, body kind "plain"/"json") for an engine error raised by a query or a
    configure call. The one mapping the query and configure endpoints use."""
    from ..engine import errors

    message = getattr(exc, "message", None) or str(exc)
    if isinstance(exc, errors.DatabaseNotFound):
        return 404, f"query error: {message}", "json"
    if isinstance(exc, errors.NotFound):
        return 404, message, "plain"
    if isinstance(exc, (errors.AlreadyExists, errors.AlreadyDeleted)):
        return 409, message, "plain"
    if isinstance(exc, (errors.InvalidDatabaseName, errors.WriteToDeletedDatabase)):
        return 400, message, "json"
    if isinstance(exc, errors.LimitExceeded):
        return 422, message, "json"
    if isinstance(exc, errors.QueryError):
        status = getattr(exc, "status", None)
        return (status if isinstance(status, int) and 400 <= status < 600 else 500), message, "plain"
    bad_request = tuple(
        getattr(errors, name) for name in ("InvalidConfiguration", "InvalidDuration", "InvalidTimestamp",
                                           "EmptyWrite", "InvalidBody")
        if hasattr(errors, name)
    )
    if isinstance(exc, bad_request):
        return 400, message, "plain"
    return 500, message, "plain"


# ==== InfluxDB 1.x (/query) formats ===============================================================
#
# `/query` answers with 1.x's JSON (`{"results":[{"statement_id":0,"series":[...]}]}`), in chunks
# with `chunked=true`, or 1.x's CSV. Values are rendered like Go's encoding/json: floats in their
# shortest form without a fraction when whole (`82.0` -> `82`), exponents only outside
# [1e-6, 1e21), NaN as null (the engine already turned NaN into null), ±Inf refused.

V1_JSON_CONTENT_TYPE = "application/json"
V1_CSV_CONTENT_TYPE = "application/csv"


class V1EncodeError(ValueError):
    """A value Go's encoding/json refuses (±Inf); 1.x answers with this message."""


def _v1_cells(values: list, is_time: bool, epoch: Optional[str], location: Optional[str],
              kind: Optional[str] = None) -> list[str]:
    """One column's cells as JSON text (``kind``, when known, picks a faster path)."""
    out: list[str] = []
    if len(values) == 1 and not is_time:
        # one row (last(*) per series and the like): the value alone, without the column paths
        v = values[0]
        if v is None or (type(v) is float and v != v):
            return ["null"]
        if type(v) is float and v not in (math.inf, -math.inf):
            return [go_float(v)]
        if type(v) is int:
            return [str(v)]
        if type(v) is str:
            return [_json_str(v)]
    if is_time:
        if epoch:
            if epoch == "ns" and all(type(v) is int for v in values):
                return list(map(str, values))
            return [str(epoch_value(v, epoch)) if isinstance(v, int) else _json_cell(v) for v in values]
        if not location or location == "UTC":
            ints = [v for v in values if isinstance(v, int)]
            if len(ints) == len(values) and values:
                try:
                    import numpy as np

                    arr = np.array(values, dtype="int64").astype("datetime64[ns]")
                    texts = np.datetime_as_string(arr, unit="ns").tolist()
                    return ['"' + _trim_fraction(t) + 'Z"' for t in texts]
                except (OverflowError, ValueError):
                    pass
        return [('"' + format_time_rfc3339(v, location) + '"') if isinstance(v, int) else _json_cell(v)
                for v in values]
    if kind in ("integer", "unsigned") and all(type(v) is int or v is None for v in values):
        return ["null" if v is None else str(v) for v in values]
    if kind == "string":
        cache: dict = {None: "null"}
        get = cache.get
        for v in values:
            c = get(v)
            if c is None:
                if not isinstance(v, str):
                    break
                c = cache[v] = json.dumps(v, ensure_ascii=False)
            out.append(c)
        else:
            return out
        out = []
    cache = {}
    for v in values:
        if v is None:
            out.append("null")
        elif v is True:
            out.append("true")
        elif v is False:
            out.append("false")
        elif isinstance(v, float):
            if v != v:
                out.append("null")
            elif v in (math.inf, -math.inf):
                raise V1EncodeError(f"json: unsupported value: {'+Inf' if v > 0 else '-Inf'}")
            else:
                out.append(go_float(v))
        elif isinstance(v, int):
            out.append(str(v))
        elif isinstance(v, str):
            s = cache.get(v)
            if s is None:
                s = json.dumps(v, ensure_ascii=False)
                cache[v] = s
            out.append(s)
        else:
            out.append(_json_cell(v))
    return out


def _trim_fraction(text: str) -> str:
    if "." in text:
        text = text.rstrip("0")
        if text.endswith("."):
            text = text[:-1]
    return text


def _json_cell(v: Any) -> str:
    return json.dumps(v, ensure_ascii=False)


# json.dumps(str, ensure_ascii=False) without its per-call overhead (the same C encoder)
_json_str = getattr(json.encoder, "c_encode_basestring", None) or json.encoder.encode_basestring


_PLAIN_KINDS = {"integer", "unsigned", "string", "boolean", "tag"}
_PLAIN_TYPES = {int, str, bool, type(None)}
#: kinds of the InfluxQL engine's arrays (influxql/functions.Vec: "a column of values of one
#: kind") whose lists hold only ints, bools, strs and None (the first array, the time, holds ints)
_TYPED_VEC_KINDS = {"integer", "unsigned", "boolean", "null", "string"}


def _v1_values_fast(s: Any, epoch: Optional[str]) -> Optional[str]:
    """The ``values`` rows encoded by orjson (C; the same text as json.dumps for integers, strings,
    booleans and nulls) when no column holds floats -- those need Go's float formatting -- and
    times are epoch integers.  None: use the general path."""
    if _orjson is None or not epoch:
        return None
    kinds = getattr(s, "kinds", None)
    # columns still held as the engine's arrays are of a known Python type once listed: no need
    # to look at each value (that look costs more than the encoding: ~160 µs for 9,000 values)
    arrays = getattr(s, "arrays", None)
    typed = [True] + [v.kind in _TYPED_VEC_KINDS for v in arrays[1]] if arrays is not None else []
    cols = s.col_data
    if not kinds or len(kinds) != len(cols):
        return None
    out = list(cols)
    for i, (k, col) in enumerate(zip(kinds, cols)):
        if not (i < len(typed) and typed[i]) and not set(map(type, col)) <= _PLAIN_TYPES:
            return None
        if i == s.time_index:
            if epoch != "ns":
                out[i] = [epoch_value(v, epoch) if type(v) is int else v for v in col]
        elif k not in _PLAIN_KINDS:
            return None
    try:
        return _orjson.dumps(list(zip(*out))).decode("utf-8")
    except (TypeError, ValueError):  # e.g. an integer beyond 64 bits, a lone surrogate
        return None


def _v1_series_json(s: Any, epoch: Optional[str]) -> str:
    parts = []
    if s.name:
        parts.append('"name":' + _json_str(s.name))
    if s.tags:
        if all(type(k) is str and type(v) is str for k, v in s.tags.items()):
            parts.append('"tags":{' + ",".join(_json_str(k) + ":" + _json_str(v)
                                                for k, v in sorted(s.tags.items())) + "}")
        else:
            parts.append('"tags":' + json.dumps(dict(sorted(s.tags.items())), ensure_ascii=False,
                                                separators=(",", ":")))
    if s.columns:
        parts.append('"columns":[' + ",".join(map(_json_str, s.columns)) + "]")
    fast = _v1_values_fast(s, epoch) if len(s) > 1 else None
    if fast is not None:
        parts.append('"values":' + fast)
    elif len(s):
        cols = s.col_data
        ncol = len(cols)
        kinds = getattr(s, "kinds", None) or [None] * ncol
        texts = [_v1_cells(col, i == s.time_index, epoch, getattr(s, "location", None),
                           kinds[i] if i < len(kinds) else None)
                 for i, col in enumerate(cols)]
        rows = ",".join("[" + ",".join(cells) + "]" for cells in zip(*texts))
        parts.append('"values":[' + rows + "]")
    if s.partial:
        parts.append('"partial":true')
    return "{" + ",".join(parts) + "}"


def _v1_result_json(r: Any, epoch: Optional[str]) -> str:
    parts = ['"statement_id":' + str(r.statement_id)]
    if r.series:
        parts.append('"series":[' + ",".join(_v1_series_json(s, epoch) for s in r.series) + "]")
    if r.messages:
        parts.append('"messages":' + json.dumps(r.messages, ensure_ascii=False, separators=(",", ":")))
    if r.partial:
        parts.append('"partial":true')
    if r.error is not None:
        parts.append('"error":' + json.dumps(r.error, ensure_ascii=False))
    return "{" + ",".join(parts) + "}"


def v1_json(results: Iterable[Any], epoch: Optional[str] = None, pretty: bool = False) -> bytes:
    """``{"results":[...]}`` followed by a newline (as 1.x's encoder writes it)."""
    try:
        text = '{"results":[' + ",".join(_v1_result_json(r, epoch) for r in results) + "]}"
    except V1EncodeError as exc:
        text = to_json({"error": str(exc)}).decode("utf-8")
    if pretty:
        text = json.dumps(json.loads(text), indent=4, ensure_ascii=False)
    return (text + "\n").encode("utf-8")


def v1_error(message: str) -> bytes:
    return (to_json({"error": message}).decode("utf-8") + "\n").encode("utf-8")


def _csv_field(text: str) -> str:
    if text == "" or any(c in text for c in ',"\r\n') or text[0] in " \t":
        if text == "":
            return ""
        return '"' + text.replace('"', '""') + '"'
    return text


def _csv_value(v: Any, is_time: bool, epoch: Optional[str]) -> str:
    if v is None:
        return ""
    if is_time and isinstance(v, int):
        return str(epoch_value(v, epoch) if epoch else v)
    if v is True:
        return "true"
    if v is False:
        return "false"
    if isinstance(v, float):
        if v != v:
            return ""
        if v in (math.inf, -math.inf):
            return "+Inf" if v > 0 else "-Inf"
        from decimal import Decimal

        s = format(Decimal(repr(v)), "f")
        if "." in s:
            s = s.rstrip("0").rstrip(".")
        return s
    return str(v)


class V1CsvWriter:
    """1.x's CSV: a ``name,tags,<columns>`` header whenever the columns change, one line per row,
    a blank line between statements; times as integers (ns, or the ``epoch`` unit)."""

    def __init__(self, epoch: Optional[str] = None):
        self.epoch = epoch
        self.columns: Optional[list] = None
        self.statement_id: Optional[int] = None

    def write(self, results: Iterable[Any]) -> bytes:
        out: list[str] = []
        for r in results:
            if r.error is not None:
                out.append("error\n" + _csv_field(r.error) + "\n")
                continue
            if not r.series:
                continue
            if self.statement_id is not None and r.statement_id != self.statement_id and self.columns is not None:
                out.append("\n")
                self.columns = None
            self.statement_id = r.statement_id
            for s in r.series:
                if self.columns != list(s.columns):
                    self.columns = list(s.columns)
                    out.append(",".join(_csv_field(c) for c in ["name", "tags"] + self.columns) + "\n")
                name = _csv_field(s.name or "")
                tags = ""
                if s.tags:
                    from ..engine.influxql.scan import series_key

                    tags = _csv_field(series_key("", s.tags).lstrip(","))
                for row in s.values:
                    cells = [name, tags] + [_csv_field(_csv_value(v, i == s.time_index, self.epoch))
                                            for i, v in enumerate(row)]
                    out.append(",".join(cells) + "\n")
        return "".join(out).encode("utf-8")
