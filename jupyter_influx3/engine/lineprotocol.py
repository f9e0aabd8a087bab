r"""Line protocol parsing: InfluxDB line protocol bytes -> columnar rows + per-line errors.

What this module owns
---------------------
* Splitting a write body into lines exactly as InfluxDB 3 does (``split_lines``: a newline inside
  a quoted string field value does not end the line; blank lines and ``#`` comments are skipped;
  leading whitespace is skipped).
* Parsing every line with InfluxDB 3's grammar (``influxdb_line_protocol::parse_lines``) and
  producing InfluxDB 3's exact error message for a line that does not parse.
* The per-line checks InfluxDB 3's write validator makes before it looks at a schema: duplicate
  field keys in one line (and, deliberately stricter than InfluxDB 3, duplicate tag keys), and
  the timestamp precision conversion (``Precision::to_nanos``: ``auto`` guessing, overflow,
  truncation of the default time).
* Returning accepted lines as columns, grouped by measurement, in input order
  (:class:`TableRows`), and rejected lines as :class:`LineError` records.

What it must not do
-------------------
* No catalog or schema decisions beyond one line: type conflicts with existing columns, a tag and
  a field sharing a name, reserved column names (``time``), column/table limits, dictionary
  encoding of tags -- all of that belongs to the caller.
* No I/O, no HTTP concerns (truncating ``original_line`` to 20 bytes, choosing partial vs
  non-partial writes, mapping errors to status codes), no tornado/IPython.

Why it is hand-written
----------------------
No available library parses line protocol the way InfluxDB 3 does: with its quirks (a bare
integer is a float, ``-1u`` is trailing content, unknown escapes are kept, tag keys may contain
commas, quoted newlines do not split lines, ...) and with its exact error messages, which the
HTTP API returns verbatim.  Python per-line parsing is also far too slow for bulk ingestion
(the engine must ingest >= 500K lines/s), so there are two implementations with identical
results:

* :func:`parse_exact` -- a per-line parser (regular expressions with possessive quantifiers,
  linear in the input, no backtracking blow-ups) that is the reference for every behaviour and
  every error message;
* :func:`parse_fast` -- a vectorised parser (numpy + pyarrow.compute; no Python loop per line, no
  Python object per value).  Lines containing a backslash (escapes) are handed whole to the
  exact line parser; bodies where a backslash might join lines (one right before a newline,
  or on a line with a double quote) are declined.  String field values are handled
  by locating the double quotes with numpy, pairing them per line and masking the quoted
  contents in a copy of the body (``_mask_quoted``), which the rest of the parse reads; the
  values themselves are cut from the original bytes.  A body whose quotes cannot be proven
  to pair up within lines exactly as InfluxDB 3's ``split_lines`` pairs them (a newline or an
  odd quote inside a string, a quote in a field key, quotes in comments, ...) is declined as
  a whole, since its physical and logical lines may differ.  Lines it cannot
  prove regular (odd spacing, control characters, unusual values, duplicate keys, numbers that
  might overflow, ...) are handed one by one to the exact line parser and merged back in input
  order, so its results are identical to :func:`parse_exact`'s in every case.  A body of 16K+
  lines is cut in two and the halves are parsed at the same time, one on a helper thread
  (numpy and Arrow release the GIL); the halves' results are then joined.

:func:`parse` uses the fast path when it accepts the body, else the exact one.

Decisions where we deliberately differ from InfluxDB 3 (and from some conformance vectors;
the full list with reasons is ``DEVIATIONS`` in tests/engine/test_lineprotocol_conformance.py)
--------------------------------------------------------------------------------------------
* Duplicate tag keys in one line are rejected with
  ``invalid line protocol - multiple instances of '<tag>' tag found`` (InfluxDB 3 keeps both;
  InfluxDB 1.x and the reference Go decoder reject the line).
* Control characters U+0000..U+001F in a measurement, tag key or field key are rejected with
  ``invalid line protocol - control character U+XXXX in <measurement|tag key|field key>``.
  InfluxDB 3 accepts them except a leading NUL in a measurement (its own test even writes NUL
  into tag and field keys); the reference Go decoder rejects them; fuzz inputs that must be
  rejected rely on it; and NUL truncates identifiers in DuckDB.  Tag values and string field
  values may contain any character.
* A float literal outside the double range (``1e400``) is rejected with
  ``Unable to parse floating-point value `...``` (InfluxDB 3 stores +/-inf; 1.x and the Go
  decoder reject it).
* A comma right after the first field with nothing after it (``m f=1,``) is trailing content.
  InfluxDB 3 accepts it through a quirk of its list parser (it rejects ``m f=1,g=2,``).
* Everything else follows InfluxDB 3 even where InfluxDB 1.x / the Go decoder differ: `.5` and
  `1.` are not floats, `\\` is an escaped backslash (so `a\\` "ends with a backslash"), CR is
  not stripped, whitespace after the field set needs a timestamp after it, leading tabs are
  skipped, tag keys may contain commas and tag values `=`.
* ``original_line`` (:attr:`LineError.original_line`, :meth:`ParseResult.line_text`) is the full
  raw text of the line: from the start of the physical line where its content starts to the
  end of the (logical) line, trailing CR included.  InfluxDB 3 uses the n-th ``str::lines()``
  line, which is misaligned when blank or comment lines precede it.
* Invalid UTF-8 raises ``UnicodeDecodeError`` (a ``ValueError``); a ``str`` body with lone
  surrogates raises ``UnicodeEncodeError``.

Process-wide side effect
------------------------
The first fast parse of a body of 4 MiB or more raises glibc's ``M_MMAP_THRESHOLD`` and
``M_TRIM_THRESHOLD`` (see ``malloc.tune_malloc_once``; opt out with JUPYTER_INFLUX3_MALLOC_TUNING=0):
with the defaults, page faults on fresh temporaries cost as much CPU as the parsing itself.
"""

from __future__ import annotations

import os
import re
import threading
import time as _time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from .malloc import tune_malloc_once

__all__ = [
    "FIELD_TYPES",
    "LineError",
    "TableRows",
    "ParseResult",
    "parse",
    "parse_fast",
    "parse_exact",
    "normalize_precision",
    "escape_measurement",
    "escape_key",
    "escape_string_field",
]


# -- writing line protocol (SELECT INTO, DataFrames): the escapes the parser undoes --------------

def escape_measurement(name: str) -> str:
    """A measurement name: backslash before comma and space."""
    return name.replace("\\", "\\\\").replace(",", "\\,").replace(" ", "\\ ")


def escape_key(text: str) -> str:
    """Tag keys, tag values and field keys: backslash before comma, equals sign and space."""
    return text.replace("\\", "\\\\").replace(",", "\\,").replace("=", "\\=").replace(" ", "\\ ")


def escape_string_field(text: str) -> str:
    """A string field's text (without its quotes): backslash before backslash and double quote."""
    return text.replace("\\", "\\\\").replace('"', '\\"')

FIELD_TYPES = ("float", "int", "uint", "string", "bool")

TAG_ARROW_TYPE = pa.dictionary(pa.int32(), pa.string())

_ARROW_FIELD_TYPES = {
    "float": pa.float64(),
    "int": pa.int64(),
    "uint": pa.uint64(),
    "string": pa.string(),
    "bool": pa.bool_(),
}

# --------------------------------------------------------------------------------------------
# Public data structures
# --------------------------------------------------------------------------------------------


@dataclass
class LineError:
    """One rejected line."""

    line_number: int  # 1-based among non-blank, non-comment lines
    error_message: str  # InfluxDB 3's exact message where known
    original_line: str  # the full raw line text (the HTTP layer truncates it)
    # What exactly is wrong, for people (`invalid field value "oops" for "usage": strings need
    # double quotes`) where InfluxDB 3's message is vaguer; never sent in an API body.
    detail: str = ""


@dataclass(eq=False)
class TableRows:
    """All accepted lines of one measurement, in input order."""

    measurement: str
    line_numbers: np.ndarray  # int64, 1-based line number of each row
    time: pa.Array  # int64 nanoseconds (precision applied), no nulls
    # order of first appearance; nullable; len == num_rows; dictionary-encoded (TAG_ARROW_TYPE: the
    # dictionary holds each value once, and only values some row has)
    tags: dict[str, pa.DictionaryArray]
    # key (field name, type in FIELD_TYPES); float64/int64/uint64/string/bool; nullable.  A name
    # written with two types gives two keys, each row non-null in at most one of them.
    fields: dict[tuple[str, str], pa.Array]

    @property
    def num_rows(self) -> int:
        return len(self.line_numbers)


@dataclass
class ParseResult:
    """Accepted rows per measurement plus one LineError per rejected line: every counted line
    (non-blank, non-comment) is in exactly one of the two."""

    tables: list[TableRows]  # in order of first appearance of the measurement
    errors: list[LineError]  # sorted by line_number
    num_lines: int  # non-blank, non-comment lines seen
    _lines: Any = field(default=None, repr=False, compare=False)

    def line_text(self, line_number: int) -> str:
        """Raw text of line ``line_number`` (1-based among non-blank, non-comment lines)."""
        if not 1 <= line_number <= self.num_lines:
            raise IndexError(f"line {line_number} out of range 1..{self.num_lines}")
        return self._lines.text(line_number)


class _LineSpans:
    """Where each counted line lives in the body (str or bytes)."""

    __slots__ = ("src", "starts", "ends")

    def __init__(self, src, starts, ends):
        self.src = src
        self.starts = starts
        self.ends = ends

    def text(self, line_number: int) -> str:
        i = line_number - 1
        s = self.src[int(self.starts[i]) : int(self.ends[i])]
        if isinstance(s, (bytes, bytearray, memoryview)):
            return bytes(s).decode("utf-8")
        return s


# --------------------------------------------------------------------------------------------
# Precision
# --------------------------------------------------------------------------------------------

_PRECISION_ALIASES = {
    "auto": "auto",
    "s": "s",
    "second": "s",
    "ms": "ms",
    "millisecond": "ms",
    "us": "us",
    "u": "us",
    "microsecond": "us",
    "\u00b5": "us",  # MICRO SIGN (the v1 spelling)
    "\u03bc": "us",  # GREEK SMALL LETTER MU
    "ns": "ns",
    "n": "ns",
    "nanosecond": "ns",
    "m": "m",  # minute (v1 /write spec)
    "h": "h",  # hour (v1 /write spec)
}

_MULTIPLIER = {
    "h": 3_600_000_000_000,
    "m": 60_000_000_000,
    "s": 1_000_000_000,
    "ms": 1_000_000,
    "us": 1_000,
    "ns": 1,
}

# Rust `{:?}` of InfluxDB 3's `Precision` (plus our two v1 extensions).
_PRECISION_NAME = {
    "auto": "Auto",
    "h": "Hour",
    "m": "Minute",
    "s": "Second",
    "ms": "Millisecond",
    "us": "Microsecond",
    "ns": "Nanosecond",
}

_I64_MIN = -(1 << 63)
_I64_MAX = (1 << 63) - 1
_U64_MAX = (1 << 64) - 1


def normalize_precision(p: str) -> str:
    """Canonical precision for any accepted spelling.

    Returns ``'auto'``, ``'s'``, ``'ms'``, ``'us'`` or ``'ns'`` for InfluxDB 3's spellings
    (``auto``, ``second``/``s``, ``millisecond``/``ms``, ``microsecond``/``us``/``u``,
    ``nanosecond``/``ns``/``n``) and for ``µ``; the v1 spec's minute and hour units ``m`` and
    ``h`` normalise to ``'m'`` and ``'h'`` (InfluxDB 3 itself rejects them; whether to accept
    them is the HTTP layer's decision).  Raises ``ValueError`` for anything else.
    """
    try:
        return _PRECISION_ALIASES[p]
    except (KeyError, TypeError):
        raise ValueError(f"unrecognized precision unit: {p}") from None


def _default_time(precision: str, default_time_ns: int | None) -> int:
    d = _time.time_ns() if default_time_ns is None else int(default_time_ns)
    if precision == "auto":
        return d
    m = _MULTIPLIER[precision]
    q = abs(d) // m  # Rust integer division truncates toward zero
    return (q if d >= 0 else -q) * m


def _ts_to_ns(ts: int, precision: str) -> int | None:
    """``ts`` (already a valid i64) converted to ns, or None when it overflows (error)."""
    if precision == "auto":
        if ts == _I64_MIN:  # Rust's i64::abs wraps: MIN is guessed as seconds, then overflows
            return None
        v = abs(ts) // 1_000_000_000
        if v < 5:
            m = 1_000_000_000
        elif v < 5_000:
            m = 1_000_000
        elif v < 5_000_000:
            m = 1_000
        else:
            m = 1
    else:
        m = _MULTIPLIER[precision]
    r = ts * m
    if r < _I64_MIN or r > _I64_MAX:
        return None
    return r


def _range_error(ts: int, precision: str) -> str:
    return f"timestamp, {ts}, out of range for precision: {_PRECISION_NAME[precision]}"


# --------------------------------------------------------------------------------------------
# Error messages (InfluxDB 3's, from influxdb_line_protocol::Error's Display)
# --------------------------------------------------------------------------------------------

_E_MEASUREMENT = "Invalid measurement was provided"
_E_NO_FIELDS = "No fields were provided"
_E_BACKSLASH = "Measurements, tag keys and values, and field keys may not end with a backslash"
_E_TOO_LARGE = "String is greater than 64KB"
_STRING_LIMIT = 65_536


def _truncate_context(s: str) -> str:
    # Rust: if message.len() (bytes) > 10 { first 10 chars + "..." }
    if len(s.encode("utf-8")) > 10:
        return s[:10] + "..."
    return s


def _e_trailing(rest: str) -> str:
    return f"Could not parse entire line. Found trailing content: `{_truncate_context(rest)}`"


def _e_expected_space(rest: str) -> str:
    got = "end of input" if not rest else f"`{rest}`"
    return f"Expected at least one space character, got {got}"


def _e_expected_tag_key(rest: str) -> str:
    got = "end of input" if not rest else f"`{_truncate_context(rest)}`"
    return f"Expected tag key, got {got}"


def _e_expected_tag_value(rest: str) -> str:
    got = "end of input" if not rest else f"`{_truncate_context(rest)}`"
    return f"Expected tag value, got {got}"


def _e_tag_equals(rest: str) -> str:
    return f"Tag set malformed: could not find equals sign in `{_truncate_context(rest)}`"


def _e_dup_field(name: str) -> str:
    return f"invalid line protocol - multiple instances of '{name}' field found"


def _e_dup_tag(name: str) -> str:
    return f"invalid line protocol - multiple instances of '{name}' tag found"


class _LPError(Exception):
    def __init__(self, message: str, detail: str = ""):
        super().__init__(message)
        self.detail = detail


def _no_fields_detail(s: str, pos: int) -> str:
    """Why the field set at ``pos`` did not parse (InfluxDB 3 only says "No fields were provided")."""
    key, e = _token(_KEY_TOKEN, _KEY_UNESC, s, pos)
    if key is None:
        return "a field set `name=value` must follow the measurement and tags, after one space"
    if e >= len(s) or s[e] != "=":
        return f'field "{key}" has no `=value`'
    raw = _TAGVAL_TOKEN.match(s, e + 1).group(0)
    if not raw:
        return f'field "{key}" has no value'
    if raw[0] == '"':
        return f'field "{key}": the string value has no closing double quote'
    if raw[0] not in "-0123456789tTfF" or raw.lower() in ("nan", "inf", "-inf"):
        return f'invalid field value "{raw}" for "{key}": strings need double quotes'
    return f'invalid field value "{raw}" for "{key}"'


def counted_lines(body: str | bytes) -> list[str]:
    """The lines line protocol numbers (not blank, not comments), without line endings; a
    rejected line's `line_number` indexes this list from 1."""
    if isinstance(body, (bytes, bytearray)):
        body = bytes(body).decode("utf-8", "replace")
    return [line.rstrip("\r") for line in body.split("\n") if line.strip() and not line.lstrip().startswith("#")]


def line_detail(line: str) -> str:
    """The ``detail`` of the error of one rejected line (clients over HTTP, which get InfluxDB 3's
    message only, explain a line with this); "" when there is nothing to add."""
    errors = parse_exact(line).errors
    return errors[0].detail if errors else ""


# --------------------------------------------------------------------------------------------
# The exact (per-line) parser
# --------------------------------------------------------------------------------------------

# Token = run of "normal" characters and backslash pairs.  A backslash escapes the next char
# (any char; unknown escapes are kept as both chars by the unescape step).  Possessive
# quantifiers: the scan is linear and never backtracks.
_MEAS_TOKEN = re.compile(r"(?:[^ \t\n\x00,\\]++|\\.)*+", re.S)
_KEY_TOKEN = re.compile(r"(?:[^ \t\n=\\]++|\\.)*+", re.S)  # tag keys and field keys
_TAGVAL_TOKEN = re.compile(r"(?:[^ \t\n,\\]++|\\.)*+", re.S)
_MEAS_UNESC = re.compile(r"\\([, \\])")
_KEY_UNESC = re.compile(r"\\([,= \\])")
_STR_UNESC = re.compile(r'\\(["\\])')
_STRING = re.compile(r'"((?:[^"\\]++|\\.)*+)"', re.S)
_NUMBER = re.compile(r"(-?)([0-9]+)(?:(i)|(u)|((?:\.[0-9]+)?(?:[eE][-+]?[0-9]+)?))")
_BOOL = re.compile(r"true|True|TRUE|t|T|false|False|FALSE|f|F")
_TIMESTAMP = re.compile(r"-?[0-9]+")
_SPACES = re.compile(r" +")
_INF = float("inf")
_NINF = float("-inf")
_BOOL_VALUE = {
    "t": True, "T": True, "true": True, "True": True, "TRUE": True,
    "f": False, "F": False, "false": False, "False": False, "FALSE": False,
}  # fmt: skip

# Control characters we reject in names (see the module docstring): C0 controls.
_CTRL_IN_NAME = re.compile(r"[\x00-\x1f]")


def _token(regex, unesc, s: str, pos: int):
    """Parse an escaped token at ``pos``: (value, end) or (None, pos) when empty."""
    end = regex.match(s, pos).end()
    if end < len(s) and s[end] == "\\":
        # A backslash the token regex did not take is a lone backslash at the end of input.
        end += 1
    if end == pos:
        return None, pos
    raw = s[pos:end]
    val = unesc.sub(r"\1", raw) if "\\" in raw else raw
    if val.endswith("\\"):
        raise _LPError(_E_BACKSLASH)
    if len(val) > _STRING_LIMIT // 4 and len(val.encode("utf-8", "surrogatepass")) > _STRING_LIMIT:
        raise _LPError(_E_TOO_LARGE)
    return val, end


def _parse_int(sign: str, digits: str, limit_lo: int, limit_hi: int):
    sig = digits.lstrip("0")
    if len(sig) > 20:
        return None
    v = int(sig or "0")
    if sign:
        v = -v
    if v < limit_lo or v > limit_hi:
        return None
    return v


def _field_value(s: str, p: int):
    """InfluxDB 3's field value alternatives (int, uint, float, string, bool) at ``p``.

    Returns (type, value, end), or None when nothing matches (a nom Error); raises _LPError
    for a nom Failure (overflowing integers, too-long strings)."""
    if p >= len(s):
        return None
    c = s[p]
    if c == '"':
        m = _STRING.match(s, p)
        if m is None:
            return None
        raw = m.group(1)
        val = _STR_UNESC.sub(r"\1", raw) if "\\" in raw else raw
        if len(val) > _STRING_LIMIT // 4 and len(val.encode("utf-8", "surrogatepass")) > _STRING_LIMIT:
            raise _LPError(_E_TOO_LARGE)
        return "string", val, m.end()
    if c == "-" or "0" <= c <= "9":
        m = _NUMBER.match(s, p)
        if m is None:
            return None
        sign, digits = m.group(1), m.group(2)
        if m.group(3):
            v = _parse_int(sign, digits, _I64_MIN, _I64_MAX)
            if v is None:
                raise _LPError(f"Unable to parse integer value `{sign}{digits}`")
            return "int", v, m.end()
        if m.group(4):
            if sign:  # `-1u` is not an unsigned integer: it is the float -1 + trailing `u...`
                return "float", float(sign + digits), m.start(4)
            v = _parse_int("", digits, 0, _U64_MAX)
            if v is None:
                raise _LPError(f"Unable to parse unsigned integer value `{digits}`")
            return "uint", v, m.end()
        text = m.group(0)
        v = float(text)
        if v in (_INF, _NINF):
            # InfluxDB 3 stores +/-inf here; we reject (see module docstring).
            raise _LPError(f"Unable to parse floating-point value `{text}`")
        return "float", v, m.end()
    if c in "tTfF":
        m = _BOOL.match(s, p)
        return "bool", _BOOL_VALUE[m.group(0)], m.end()
    return None


def _one_field(s: str, p: int):
    key, e = _token(_KEY_TOKEN, _KEY_UNESC, s, p)
    if key is None or e >= len(s) or s[e] != "=":
        return None
    r = _field_value(s, e + 1)
    if r is None:
        return None
    return key, r[0], r[1], r[2]


def _parse_line(s: str):
    """Parse one line (leading whitespace/comments already removed, ``s`` non-empty).

    Returns (measurement, tags, fields, timestamp-or-None) where tags is a list of (key, value)
    and fields a list of (key, type, value).  Raises _LPError with InfluxDB 3's message."""
    n = len(s)
    # --- measurement
    meas, pos = _token(_MEAS_TOKEN, _MEAS_UNESC, s, 0)
    if meas is None:
        raise _LPError(_E_MEASUREMENT)
    # --- tag set
    tags = []
    if pos < n and s[pos] == ",":
        rem = pos + 1
        pos = rem
        while True:
            key, e = _token(_KEY_TOKEN, _KEY_UNESC, s, pos)
            if key is None:
                raise _LPError(_e_expected_tag_key(s[pos:]))
            if e >= n or s[e] != "=":
                raise _LPError(_e_tag_equals(s[rem:]))
            val, e2 = _token(_TAGVAL_TOKEN, _KEY_UNESC, s, e + 1)
            if val is None:
                raise _LPError(_e_expected_tag_value(s[e + 1 :]))
            tags.append((key, val))
            pos = e2
            if pos < n and s[pos] == ",":
                pos += 1
                continue
            break
    # --- whitespace + field set
    if pos >= n or s[pos] != " ":
        raise _LPError(_e_expected_space(s[pos:]))
    pos = _SPACES.match(s, pos).end()
    f = _one_field(s, pos)
    if f is None:
        raise _LPError(_E_NO_FIELDS, _no_fields_detail(s, pos))
    fields = [f[:3]]
    pos = f[3]
    dangling = -1
    if pos < n and s[pos] == ",":
        # nom quirk (separated_list1): the comma after the first field is consumed even when
        # no field follows it; later commas are not.  InfluxDB 3 therefore accepts `m f=1,`;
        # we reject it (below) once the rest of the line parsed, so that InfluxDB 3's message
        # is kept whenever it reports an error itself.
        pos += 1
        f = _one_field(s, pos)
        if f is None:
            dangling = pos - 1
        else:
            fields.append(f[:3])
            pos = f[3]
            while pos < n and s[pos] == ",":
                f = _one_field(s, pos + 1)
                if f is None:
                    break
                fields.append(f[:3])
                pos = f[3]
    # --- optional timestamp
    ts = None
    if pos < n and s[pos] == " ":
        p2 = _SPACES.match(s, pos).end()
        m = _TIMESTAMP.match(s, p2)
        if m is not None:
            text = m.group(0)
            if text[0] == "-":
                ts = _parse_int("-", text[1:], _I64_MIN, _I64_MAX)
            else:
                ts = _parse_int("", text, _I64_MIN, _I64_MAX)
            if ts is None:
                raise _LPError(f"Unable to parse timestamp value `{text}`")
            pos = m.end()
            if pos < n and s[pos] == " ":
                pos = _SPACES.match(s, pos).end()
    if pos != n:
        raise _LPError(_e_trailing(s[pos:]))
    if dangling >= 0:
        raise _LPError(_e_trailing(s[dangling:]))
    return meas, tags, fields, ts


def _check_controls(meas: str, tags, fields):
    """Our stricter-than-InfluxDB-3 rule on control characters (see module docstring)."""
    m = _CTRL_IN_NAME.search(meas)
    if m is not None:
        return _e_control(m.group(0), "measurement")
    for k, _v in tags:
        m = _CTRL_IN_NAME.search(k)
        if m is not None:
            return _e_control(m.group(0), "tag key")
    for k, _t, _v in fields:
        m = _CTRL_IN_NAME.search(k)
        if m is not None:
            return _e_control(m.group(0), "field key")
    return None


def _e_control(ch: str, place: str) -> str:
    return f"invalid line protocol - control character U+{ord(ch):04X} in {place}"


# Shortcut for the common case of the exact parser: a line without backslashes or control
# characters, single spaces, plainly valid tokens.  It returns what _parse_line would, or None
# as soon as anything is unusual (then _parse_line decides, errors included).
_SIMPLE_UNSAFE = re.compile(r"[\x00-\x1f\\]")
_SIMPLE_INT = re.compile(r"-?[0-9]{1,19}")
_SIMPLE_UINT = re.compile(r"[0-9]{1,20}")
_SIMPLE_FLOAT = re.compile(r"-?[0-9]+(?:\.[0-9]+)?(?:[eE][-+]?[0-9]+)?")


def _simple_value(v: str):
    last = v[-1]
    if last == "i":
        if _SIMPLE_INT.fullmatch(v, 0, len(v) - 1):
            i = int(v[:-1])
            if _I64_MIN <= i <= _I64_MAX:
                return "int", i
    elif last == "u":
        if _SIMPLE_UINT.fullmatch(v, 0, len(v) - 1):
            i = int(v[:-1])
            if i <= _U64_MAX:
                return "uint", i
    elif "0" <= last <= "9":
        if _SIMPLE_FLOAT.fullmatch(v):
            f = float(v)
            if f != _INF and f != _NINF:
                return "float", f
    else:
        b = _BOOL_VALUE.get(v)
        if b is not None:
            return "bool", b
    return None


_SIMPLE_FIELD = r'([^=, "]+)=(?:"([^"]*)"|([^, "]+))'
_SIMPLE_FIELDS = re.compile(_SIMPLE_FIELD)
_SIMPLE_FIELD_SET = re.compile(rf"(?:{_SIMPLE_FIELD},)*{_SIMPLE_FIELD}(?: (-?[0-9]{{1,19}}))?")


def _parse_line_simple(s: str):
    n = len(s)
    if n > _STRING_LIMIT // 4 or _SIMPLE_UNSAFE.search(s) is not None:
        return None  # (so no name or string can exceed the 64 KiB limit here)
    sp = s.find(" ")
    if sp <= 0:
        return None
    m = _SIMPLE_FIELD_SET.fullmatch(s, sp + 1)
    if m is None:
        return None
    parts = s[:sp].split(",")
    meas = parts[0]
    if not meas:
        return None
    tags = []
    for part in parts[1:]:
        k, _eq, v = part.partition("=")
        if not k or not v:
            return None
        tags.append((k, v))
    fields = []
    for k, sv, text in _SIMPLE_FIELDS.findall(s, sp + 1, m.start(7) - 1 if m.start(7) >= 0 else n):
        if text:
            val = _simple_value(text)
            if val is None:
                return None
            fields.append((k, val[0], val[1]))
        else:
            fields.append((k, "string", sv))
    ts = m.group(7)
    if ts is not None:
        ts = int(ts)
        if not _I64_MIN <= ts <= _I64_MAX:
            return None
    return meas, tags, fields, ts


def _check_line(s: str, precision: str, default_ns: int):
    """Full per-line processing: grammar, duplicate fields and precision conversion (InfluxDB
    3's checks, in its order), then our own stricter checks (duplicate tags, control
    characters in names), so that InfluxDB 3's message wins when a line has several problems.
    Returns (meas, tags, fields, time_ns) or raises _LPError."""
    r = _parse_line_simple(s)
    simple = r is not None
    meas, tags, fields, ts = r if simple else _parse_line(s)
    if len(fields) > 1:
        seen = set()
        for k, _t, _v in fields:
            if k in seen:
                raise _LPError(_e_dup_field(k))
            seen.add(k)
    if ts is None:
        t = default_ns
    else:
        t = _ts_to_ns(ts, precision)
        if t is None:
            raise _LPError(_range_error(ts, precision))
    if len(tags) > 1:
        seen = set()
        for k, _v in tags:
            if k in seen:
                raise _LPError(_e_dup_tag(k))
            seen.add(k)
    if not simple:  # (a line the shortcut took has no control characters)
        err = _check_controls(meas, tags, fields)
        if err is not None:
            raise _LPError(err)
    return meas, tags, fields, t


# --------------------------------------------------------------------------------------------
# Line splitting (exact)
# --------------------------------------------------------------------------------------------

_SPLIT_EVENTS = re.compile(r'[\\ ="\n,]')


def _logical_lines(text: str):
    """Yield (start, end) of each logical line of ``text``, following InfluxDB 3's (Go-derived)
    ``split_lines``: a newline ends a line unless escaped by a backslash or inside a quoted
    field value, where a double quote toggles quoting only after the first unescaped space and
    only while more ``=`` than ``,`` have been seen there outside quotes."""
    n = len(text)
    pos = 0
    find = text.find
    while pos <= n:
        nl = find("\n", pos)
        end = n if nl < 0 else nl
        if find('"', pos, end) < 0:
            # No quote on this physical line: it ends here unless its newline is escaped.
            k = end
            while k > pos and text[k - 1] == "\\":
                k -= 1
            if (end - k) % 2 == 0 or nl < 0:
                yield pos, end
                pos = end + 1
                continue
        elif find("\\", pos, end) < 0:
            # Quotes but no backslash (string fields): count with str.count between quotes.
            e = _quoted_line_end(text, pos)
            if e is not None:
                yield pos, e
                pos = e + 1
                continue
        e = _escaped_line_end(text, pos)
        yield pos, e
        pos = e + 1


def _quoted_line_end(text: str, start: int):
    """End of the logical line starting at ``start`` when its physical lines have no
    backslash (None when one that matters does): the split_lines state machine, jumping from
    quote to quote."""
    n = len(text)
    find = text.find
    count = text.count
    quoted = fields = False
    equals = commas = 0
    pos = start
    while True:
        nl = find("\n", pos)
        end = n if nl < 0 else nl
        if find("\\", pos, end) >= 0:
            return None
        if not fields:
            sp = find(" ", pos, end)
            if sp >= 0:
                fields = True
                pos = sp + 1
            else:
                pos = end
        if fields:
            while True:
                q = find('"', pos, end)
                if q < 0:
                    break
                if not quoted:
                    equals += count("=", pos, q)
                    commas += count(",", pos, q)
                if equals > commas:
                    quoted = not quoted
                pos = q + 1
            if not quoted:
                equals += count("=", pos, end)
                commas += count(",", pos, end)
        if not quoted or nl < 0:
            return end
        pos = nl + 1


def _escaped_line_end(text: str, start: int) -> int:
    """End of the logical line starting at ``start``: the full split_lines state machine."""
    quoted = fields = False
    equals = commas = 0
    skip = -1
    for m in _SPLIT_EVENTS.finditer(text, start):
        p = m.start()
        if p == skip:
            continue
        c = text[p]
        if c == "\\":
            skip = p + 1
            continue
        if c == " ":
            fields = True
            continue
        if fields:
            if not quoted and c == "=":
                equals += 1
                continue
            if not quoted and c == ",":
                commas += 1
                continue
            if c == '"':
                if equals > commas:
                    quoted = not quoted
                continue
        if c == "\n" and not quoted:
            return p
    return len(text)


def _trim_leading(text: str, start: int, end: int) -> int:
    """InfluxDB 3's trim_leading: skip space/tab/newline and whole comment lines."""
    p = start
    while True:
        while p < end and text[p] in " \t\n":
            p += 1
        if p < end and text[p] == "#":
            nl = text.find("\n", p, end)
            p = end if nl < 0 else nl
            continue
        return p


# --------------------------------------------------------------------------------------------
# Building columns from Python rows (exact path)
# --------------------------------------------------------------------------------------------


class _RowsBuilder:
    """Accumulates accepted rows of one measurement as Python values."""

    __slots__ = ("measurement", "line_numbers", "times", "tags", "fields")

    def __init__(self, measurement: str):
        self.measurement = measurement
        self.line_numbers = []
        self.times = []
        self.tags = {}  # key -> ([row], [value])
        self.fields = {}  # (name, type) -> ([row], [value])

    def add(self, line_number: int, tags, fields, t: int):
        row = len(self.line_numbers)
        self.line_numbers.append(line_number)
        self.times.append(t)
        for k, v in tags:
            col = self.tags.get(k)
            if col is None:
                col = self.tags[k] = ([], [])
            col[0].append(row)
            col[1].append(v)
        for k, typ, v in fields:
            key = (k, typ)
            col = self.fields.get(key)
            if col is None:
                col = self.fields[key] = ([], [])
            col[0].append(row)
            col[1].append(v)

    def finish(self) -> TableRows:
        n = len(self.line_numbers)
        tags = {
            k: _scatter_py(n, rows, vals, pa.string()).dictionary_encode() for k, (rows, vals) in self.tags.items()
        }
        fields = {
            key: _scatter_py(n, rows, vals, _ARROW_FIELD_TYPES[key[1]])
            for key, (rows, vals) in self.fields.items()
        }
        return TableRows(
            measurement=self.measurement,
            line_numbers=np.asarray(self.line_numbers, dtype=np.int64),
            time=pa.array(self.times, type=pa.int64()),
            tags=tags,
            fields=fields,
        )


def _scatter_py(n: int, rows, vals, typ) -> pa.Array:
    if len(rows) == n:
        return pa.array(vals, type=typ)
    full = [None] * n
    for r, v in zip(rows, vals):
        full[r] = v
    return pa.array(full, type=typ)


def _as_text(body) -> str:
    """The body as str.  Invalid UTF-8 raises UnicodeDecodeError (a ValueError); a str with
    lone surrogates raises UnicodeEncodeError (also a ValueError)."""
    if isinstance(body, str):
        body.encode("utf-8")  # rejects lone surrogates
        return body
    if isinstance(body, (bytes, bytearray, memoryview)):
        return bytes(body).decode("utf-8")
    raise TypeError(f"line protocol body must be bytes or str, not {type(body).__name__}")


def parse_exact(body, precision: str = "auto", default_time_ns: int | None = None) -> ParseResult:
    """Parse ``body`` line by line (the reference implementation; exact errors)."""
    precision = normalize_precision(precision)
    text = _as_text(body)
    default_ns = _default_time(precision, default_time_ns)
    builders: dict = {}
    errors = []
    starts = []
    ends = []
    line_number = 0
    for ls, le in _logical_lines(text):
        p = _trim_leading(text, ls, le)
        if p >= le:
            continue
        line_number += 1
        nl = text.rfind("\n", ls, p)
        starts.append(ls if nl < 0 else nl + 1)
        ends.append(le)
        try:
            meas, tags, fields, t = _check_line(text[p:le], precision, default_ns)
        except _LPError as e:
            errors.append(LineError(line_number, str(e), text[starts[-1] : le], e.detail))
            continue
        b = builders.get(meas)
        if b is None:
            b = builders[meas] = _RowsBuilder(meas)
        b.add(line_number, tags, fields, t)
    return ParseResult(
        tables=[b.finish() for b in builders.values()],
        errors=errors,
        num_lines=line_number,
        _lines=_LineSpans(text, starts, ends),
    )


# --------------------------------------------------------------------------------------------
# The vectorised parser
# --------------------------------------------------------------------------------------------
#
# It works on the raw bytes of a body (lines with a backslash are left to the exact parser), in which the contents of quoted
# string values have been masked (`_mask_quoted`), so physical and logical lines coincide and
# every token boundary is one of the ASCII bytes `\n`, ` `, `,`, `=`.  A string value is a
# field value ending in `"`; it is accepted only when it is exactly one quoted string.
# A line is handled here only when its shape is provably "regular":
#
#     measurement[,key=value...] key=value[,key=value...][ timestamp]
#
# (single spaces, no control characters, non-empty tokens, value forms it parses exactly, no
# duplicate keys, numbers that cannot overflow).  Every other line -- valid or not -- goes to
# the exact line parser, and the two sets of rows are merged back in input order.
#
# How it stays vectorised:
# * Substrings are cut out of a buffer without Python objects: a string array whose offsets
#   alternate "slice start", "slice end" partitions the buffer (zero copy), and taking its even
#   items gives a compact array of exactly the wanted slices (`_Src.slices`).
# * Series keys (`measurement,tags`) are dictionary-encoded; only the distinct ones are split
#   into measurement and tags (with Arrow string kernels, still column-wise).
# * Field sections are compacted into one buffer.  Lines whose field keys equal those of a
#   "template" line (the first line of each shape) are recognised by comparing 8-byte words at
#   computed offsets; the remaining lines are grouped by their key sequence ("signature",
#   dictionary-encoded).  Either way every group is a 2-D (lines x fields) layout.
# * Integers and timestamps are parsed with SWAR arithmetic on unaligned 8-byte loads (exact,
#   with overflow detection); floats with Arrow's cast after a grammar check; booleans by
#   lookup of the ten spellings.

_TEMPLATE_TRIES = 4  # field-key "templates" tried before the general field-set split
_SIG_LIMIT = 256  # above this many distinct field-key sequences the body is declined
_FT_FLOAT, _FT_INT, _FT_UINT, _FT_STRING, _FT_BOOL = 0, 1, 2, 3, 4  # indexes into FIELD_TYPES
# (string values are int64 indexes into _FieldSets.strings())
_NP_FIELD_DTYPES = {
    _FT_FLOAT: np.float64, _FT_INT: np.int64, _FT_UINT: np.uint64, _FT_STRING: np.int64, _FT_BOOL: np.bool_,
}  # fmt: skip
_BOOL_SPELLINGS = pa.array(["t", "T", "true", "True", "TRUE", "f", "F", "false", "False", "FALSE"])
_FLOAT_GRAMMAR = r"^-?[0-9]+(?:\.[0-9]+)?(?:[eE][-+]?[0-9]+)?$"
_TYPE_BY_LAST_BYTE = np.full(256, -1, dtype=np.int8)  # a value's type, guessed from its last byte
_TYPE_BY_LAST_BYTE[list(b"0123456789")] = _FT_FLOAT
_TYPE_BY_LAST_BYTE[list(b"eEtTfF")] = _FT_BOOL
_TYPE_BY_LAST_BYTE[ord("i")] = _FT_INT
_TYPE_BY_LAST_BYTE[ord("u")] = _FT_UINT
_TYPE_BY_LAST_BYTE[ord('"')] = _FT_STRING
_U64 = np.uint64
_ONES = _U64(0xFFFFFFFFFFFFFFFF)
_ASCII0 = _U64(0x3030303030303030)


_PARALLEL_MIN_LINES = 16384  # bodies with at least this many lines are parsed in two halves
_PARALLEL_MIN_BYTES = 1 << 20
_LINES_SAMPLE = 1 << 16  # bytes whose newlines estimate a body's line count (counting 1 MiB took 0.5 ms)
_POOL = None  # (pid, ThreadPoolExecutor)
_POOL_LOCK = threading.Lock()
_HELPER_FREE = threading.Semaphore(1)  # the helper runs one job at a time; never queue behind it


def _in_helper(fn, *args):
    """Submit ``fn(*args)`` to the helper thread if it is idle (a Future), else None."""
    global _POOL
    if not _HELPER_FREE.acquire(blocking=False):
        return None

    def job():
        try:
            return fn(*args)
        finally:
            _HELPER_FREE.release()

    try:
        with _POOL_LOCK:
            pid = os.getpid()
            if _POOL is None or _POOL[0] != pid:  # (re)create after a fork
                _POOL = (pid, ThreadPoolExecutor(max_workers=1, thread_name_prefix="lineprotocol"))
            return _POOL[1].submit(job)
    except RuntimeError:  # e.g. the interpreter is shutting down
        _HELPER_FREE.release()
        return None


_SCRATCH = threading.local()


def _scratch_bool(n: int):
    """A reusable per-thread bool array of length n, for big temporary masks: allocating
    fresh ones costs more in page faults than the comparisons themselves."""
    buf = getattr(_SCRATCH, "buf", None)
    if buf is None or len(buf) < n:
        buf = _SCRATCH.buf = np.empty(max(n, 1 << 20), dtype=bool)
    return buf[:n]


class _Decline(Exception):
    """Raised inside the fast path to hand the whole body to the exact parser."""


def _as_bytes(body) -> bytes:
    """The body as UTF-8 bytes (validated; same exceptions as _as_text)."""
    if isinstance(body, str):
        return body.encode("utf-8")
    if isinstance(body, (bytes, bytearray, memoryview)):
        data = bytes(body)
        if not data.isascii():
            data.decode("utf-8")
        return data
    raise TypeError(f"line protocol body must be bytes or str, not {type(body).__name__}")


class _Src:
    """A byte buffer from which arrays of (sorted, non-overlapping) slices are cut."""

    __slots__ = ("buf", "nbytes", "typ", "odt")

    def __init__(self, buf, nbytes: int):
        self.buf = buf
        self.nbytes = int(nbytes)
        large = self.nbytes >= 2**31 - 1
        self.typ = pa.large_string() if large else pa.string()
        self.odt = np.int64 if large else np.int32

    def slices(self, s, e) -> pa.Array:
        n = len(s)
        if n == 0:
            return pa.array([], type=self.typ)
        off = np.empty(2 * n + 1, dtype=self.odt)
        off[0 : 2 * n : 2] = s
        off[1 : 2 * n : 2] = e
        off[2 * n] = self.nbytes
        if off[0] < 0 or (np.diff(off) < 0).any():  # never hand Arrow inconsistent offsets
            raise AssertionError("line protocol fast path: unordered slices")
        part = pa.Array.from_buffers(self.typ, 2 * n, [None, pa.py_buffer(off), self.buf])
        return part.take(pa.array(np.arange(0, 2 * n, 2, dtype=self.odt)))


def _offsets_data(arr):
    """(offsets as int64 numpy [n+1], data bytes as uint8 numpy) of a (large_)string array."""
    bufs = arr.buffers()
    odt = np.int64 if pa.types.is_large_string(arr.type) else np.int32
    o = np.frombuffer(bufs[1], dtype=odt)[arr.offset : arr.offset + len(arr) + 1].astype(np.int64)
    d = np.frombuffer(bufs[2], dtype=np.uint8) if bufs[2] is not None else np.zeros(0, np.uint8)
    return o, d


class _Words:
    """Unaligned little-endian 8-byte loads from a byte array (bytes past the end read as 0)."""

    __slots__ = ("d", "n", "w", "pad")

    def __init__(self, d):
        self.d = d
        self.n = n = len(d)
        self.w = np.ndarray((n - 7,), dtype="<u8", buffer=d, strides=(1,)) if n >= 8 else None
        pad = np.zeros(24, dtype=np.uint8)
        m = min(n, 16)
        pad[:m] = d[n - m :]
        self.pad = (np.ndarray((17,), dtype="<u8", buffer=pad, strides=(1,)), n - m)

    def load(self, pos):
        n = self.n
        if self.w is not None and (len(pos) == 0 or int(pos.max()) <= n - 8):
            return self.w[pos]  # (ndarray.take would copy the whole strided view)
        if self.w is not None:
            out = self.w[np.minimum(pos, n - 8)]
        else:
            out = np.zeros(len(pos), dtype=np.uint64)
        tail = pos > n - 8
        pw, base = self.pad
        out[tail] = pw[np.minimum(pos[tail] - base, 16)]
        return out


def _swar8(w, L):
    """Decimal value of the first L (1..8; array or int) bytes of LE words ``w``, and whether
    they are all ASCII digits.  (SWAR: validate, right-align, combine pairs, quads, octets.)"""
    if isinstance(L, int):
        sh = _U64(8 * (8 - L))
        mask = _ONES >> sh
        x = np.bitwise_and(w, mask)
        x |= _ASCII0 & ~mask  # bytes past the digits read as '0'
    else:
        sh = (8 - L).astype(np.uint64)
        sh *= _U64(8)
        mask = np.right_shift(_ONES, sh)
        x = np.bitwise_and(w, mask)
        np.invert(mask, out=mask)
        np.bitwise_and(mask, _ASCII0, out=mask)
        np.bitwise_or(x, mask, out=x)  # bytes past the digits read as '0'
    t = x + _U64(0x4646464646464646)
    np.subtract(x, _ASCII0, out=x)
    np.bitwise_or(t, x, out=t)
    np.bitwise_and(t, _U64(0x8080808080808080), out=t)
    ok = t == 0
    np.left_shift(x, sh, out=x)
    np.bitwise_and(x, _U64(0x0F0F0F0F0F0F0F0F), out=x)
    np.multiply(x, _U64(2561), out=x)
    np.right_shift(x, _U64(8), out=x)
    np.bitwise_and(x, _U64(0x00FF00FF00FF00FF), out=x)
    np.multiply(x, _U64(6553601), out=x)
    np.right_shift(x, _U64(16), out=x)
    np.bitwise_and(x, _U64(0x0000FFFF0000FFFF), out=x)
    np.multiply(x, _U64(42949672960001), out=x)
    np.right_shift(x, _U64(32), out=x)
    return x, ok


_U32 = np.uint32


def _swar4(w, L):
    """Like _swar8 for L in 1..4, on 32-bit lanes (half the memory traffic)."""
    x = w.astype(np.uint32)
    sh = (4 - L).astype(np.uint32)
    sh *= _U32(8)
    mask = np.right_shift(_U32(0xFFFFFFFF), sh)
    np.bitwise_and(x, mask, out=x)
    np.invert(mask, out=mask)
    np.bitwise_and(mask, _U32(0x30303030), out=mask)
    np.bitwise_or(x, mask, out=x)
    t = x + _U32(0x46464646)
    np.subtract(x, _U32(0x30303030), out=x)
    np.bitwise_or(t, x, out=t)
    np.bitwise_and(t, _U32(0x80808080), out=t)
    ok = t == 0
    np.left_shift(x, sh, out=x)
    np.bitwise_and(x, _U32(0x0F0F0F0F), out=x)
    np.multiply(x, _U32(2561), out=x)
    np.right_shift(x, _U32(8), out=x)
    np.bitwise_and(x, _U32(0x00FF00FF), out=x)
    np.multiply(x, _U32(6553601), out=x)
    np.right_shift(x, _U32(16), out=x)
    return x.astype(np.uint64), ok


def _parse_decimal(words: _Words, start, end, signed: bool):
    """Exact parse of the items [start, end) as `-?[0-9]+` (signed) or `[0-9]+`.

    Returns (values int64/uint64, ok).  Items with more than 19 digits are not ok (so are
    overflowing ones); the exact parser decides those."""
    L = end - start
    w = words.load(start)
    neg = None
    if signed:
        neg = w.view(np.uint8)[::8] == 45  # first byte is '-'
        if neg.any():
            ni = np.flatnonzero(neg)
            start = start + neg
            L = L - neg
            w[ni] = words.load(start[ni])
        else:
            neg = None
    lmin, lmax = int(L.min()), int(L.max())
    if lmin >= 1 and lmax <= 8:
        if lmin == lmax:
            v, ok = _swar8(w, lmin)
        else:
            v, ok = (_swar4 if lmax <= 4 else _swar8)(w, L)
    elif lmin == lmax and 8 < lmin <= 19:  # e.g. nanosecond timestamps: fixed-length groups
        v, ok = _swar8(words.load(start + (lmin - 8)), 8)
        l1 = min(lmin - 8, 8)
        v1, ok1 = _swar8(words.load(start + (lmin - 8 - l1)), l1)
        ok &= ok1
        v1 *= _U64(100_000_000)
        v += v1
        if lmin > 16:
            v2, ok2 = _swar8(w, lmin - 16)
            ok &= ok2
            v2 *= _U64(10**16)
            v += v2
    else:
        ok = (L >= 1) & (L <= 19)
        Lc = np.clip(L, 1, 19)
        l0 = np.minimum(Lc, 8)
        v, ok0 = _swar8(words.load(start + Lc - l0), l0)
        ok &= ok0
        if lmax > 8:
            i1 = np.flatnonzero(Lc > 8)
            L1 = Lc[i1]
            l1 = np.minimum(L1 - 8, 8)
            v1, ok1 = _swar8(words.load(start[i1] + L1 - 8 - l1), l1)
            ok[i1] &= ok1
            v[i1] += v1 * _U64(100_000_000)
            i2 = i1[L1 > 16]
            if len(i2):
                v2, ok2 = _swar8(words.load(start[i2]), Lc[i2] - 16)
                ok[i2] &= ok2
                v[i2] += v2 * _U64(10**16)
    if not signed:
        return v, ok
    if lmax >= 19:
        lim = _U64((1 << 63) - 1)
        if neg is None:
            ok &= v <= lim
        else:
            ok &= v <= lim + neg.astype(np.uint64)
    if neg is not None:
        np.negative(v, out=v, where=neg)  # two's complement in uint64
    return v.view(np.int64), ok


def _parse_timestamps(arr):
    """Strict `-?[0-9]+` -> int64 of a string array with Arrow's cast (faster than SWAR for
    19-digit nanosecond timestamps).  Returns (values, ok); when something overflows, every
    item with 19 or more digits is left to the exact parser."""
    n = len(arr)
    o, d = _offsets_data(arr)
    lens = np.diff(o)
    lo, hi = int(o[0]), int(o[-1])
    seg = d[lo:hi]
    nd = np.flatnonzero((seg < 48) | (seg > 57)) + lo  # must be a leading '-' followed by a digit
    neg = np.zeros(n, dtype=bool)
    ok = lens > 0
    if len(nd):
        item = np.searchsorted(o, nd, side="right") - 1
        lead = (d[nd] == 45) & (nd == o[item])
        neg[item[lead]] = True
        ok[item[~lead]] = False
        ok &= lens > neg
    try:
        vals = (arr if ok.all() else arr.filter(pa.array(ok))).cast(pa.int64())
    except pa.ArrowInvalid:  # overflow (Arrow also parses 0x.. hex, but 'x' was rejected above)
        ok &= (lens - neg) < 19
        vals = arr.filter(pa.array(ok)).cast(pa.int64())
    if len(vals) == n:
        return vals.to_numpy(), ok
    out = np.zeros(n, dtype=np.int64)
    out[ok] = vals.to_numpy()
    return out, ok


def _parse_floats(arr):
    """Parse InfluxDB 3's float grammar `-?\\d+(\\.\\d+)?([eE][-+]?\\d+)?` exactly (Arrow's
    cast is correctly rounded, like Rust's and Python's); non-finite values are not ok."""
    n = len(arr)
    o, d = _offsets_data(arr)
    ok = np.diff(o) > 0
    lo, hi = int(o[0]), int(o[-1])
    seg = d[lo:hi]
    nd = np.flatnonzero((seg < 48) | (seg > 57)) + lo
    if len(nd):
        item = np.searchsorted(o, nd, side="right") - 1
        ch = d[nd]
        is_minus = ch == 45
        is_dot = ch == 46
        last = len(d) - 1
        nxt = d[np.minimum(nd + 1, last)]
        prv = d[np.maximum(nd - 1, 0)]
        nxt_digit = (nd + 1 < o[item + 1]) & (nxt >= 48) & (nxt <= 57)
        prv_digit = (nd > o[item]) & (prv >= 48) & (prv <= 57)
        bad = (is_minus & ~((nd == o[item]) & nxt_digit)) | (is_dot & ~(prv_digit & nxt_digit))
        ok[item[bad]] = False
        ok &= np.bincount(item[is_dot], minlength=n) <= 1
        exotic = np.unique(item[~(is_minus | is_dot)])
        if len(exotic):
            m = pc.match_substring_regex(arr.take(pa.array(exotic)), _FLOAT_GRAMMAR)
            ok[exotic] = m.to_numpy(zero_copy_only=False)
    out = np.zeros(n, dtype=np.float64)
    okidx = np.flatnonzero(ok)
    if len(okidx):
        try:
            vals = (arr if len(okidx) == n else arr.take(pa.array(okidx))).cast(pa.float64())
        except pa.ArrowInvalid:
            return out, np.zeros(n, dtype=bool)
        v = vals.to_numpy()
        out[okidx] = v
        ok[okidx[~np.isfinite(v)]] = False
    return out, ok


def _parse_strings(d, vs, ve, ssrc: "_Src", fl: "_FieldSets"):
    """String field values at [vs, ve) of the masked field bytes ``d`` (quoted contents
    replaced, see _mask_quoted): ok when the value is exactly one quoted string -- a quote
    first, a quote last, no quote in between (not `"a"b"`), at most 64 KiB of content.  The
    contents are cut from the unmasked bytes (``ssrc``, same offsets) and appended to the
    strings of ``fl``; the values returned are their indexes there."""
    n = len(d)
    L = ve - vs
    ok = (L >= 2) & (L - 2 <= _STRING_LIMIT)
    ok &= d[np.minimum(vs, n - 1)] == 34
    qp = np.flatnonzero(d == 34)
    ok &= np.searchsorted(qp, ve) - np.searchsorted(qp, vs) == 2
    s = np.minimum(vs + 1, ve)
    e = np.maximum(ve - 1, s)
    base = fl.add_strings(ssrc.slices(s, e))
    return np.arange(base, base + len(vs), dtype=np.int64), ok


def _parse_bools(arr):
    idx = pc.index_in(arr, value_set=_BOOL_SPELLINGS)
    ok = idx.is_valid().to_numpy(zero_copy_only=False)
    return idx.fill_null(0).to_numpy(zero_copy_only=False) < 5, ok


def _parse_values(src: "_Src", words: _Words, vs, ve, strs=None):
    """Type and parse field values [vs, ve) (flat arrays).  Returns (ftype int8 with -1 for
    unknown forms, {type: values}, ok).  ``strs`` is (source of the unmasked bytes, the
    _FieldSets that collects string values) when the body has string fields."""
    nf = len(vs)
    ftype = _TYPE_BY_LAST_BYTE.take(words.d.take(ve - 1))
    ok = ftype >= 0
    values = {}
    for tt in (_FT_INT, _FT_UINT, _FT_FLOAT, _FT_BOOL, _FT_STRING):
        sel = ftype == tt
        if tt == _FT_INT and sel.all():
            values[tt], ok = _parse_decimal(words, vs, ve - 1, True)
            break
        idx = np.flatnonzero(sel)
        if not len(idx):
            continue
        if tt == _FT_INT or tt == _FT_UINT:
            v, vok = _parse_decimal(words, vs[idx], ve[idx] - 1, tt == _FT_INT)
        elif tt == _FT_FLOAT:  # (min: ill-formed fields must still give ordered slices)
            v, vok = _parse_floats(src.slices(np.minimum(vs[idx], ve[idx]), ve[idx]))
        elif tt == _FT_STRING:
            if strs is None:  # (cannot happen: a body without quotes has no value ending in one)
                ok[idx] = False
                continue
            v, vok = _parse_strings(words.d, vs[idx], ve[idx], *strs)
        else:
            v, vok = _parse_bools(src.slices(np.minimum(vs[idx], ve[idx]), ve[idx]))
        full = np.zeros(nf, dtype=_NP_FIELD_DTYPES[tt])
        full[idx] = v
        values[tt] = full
        ok[idx[~vok]] = False
    return ftype, values, ok


class _Series:
    """The distinct series keys (`measurement[,k=v...]`) of a body, parsed column-wise."""

    def __init__(self, U):
        nU = len(U)
        parts = pc.split_pattern(U, pattern=",")
        po = parts.offsets.to_numpy().astype(np.int64)
        po -= po[0]
        pieces = parts.flatten()
        npieces = np.diff(po)
        first = po[:-1]
        meas = pieces.take(pa.array(first))
        ok = np.ones(nU, dtype=bool)
        mlen = pc.binary_length(meas).to_numpy()
        ok &= (mlen > 0) & (mlen <= _STRING_LIMIT)
        tagmask = np.ones(len(pieces), dtype=bool)
        tagmask[first] = False
        parent = np.repeat(np.arange(nU), npieces)
        self.tpos = (np.arange(len(pieces)) - np.repeat(first, npieces))[tagmask] - 1
        self.tparent = parent[tagmask]
        self.poff = np.zeros(nU + 1, dtype=np.int64)
        np.cumsum(npieces - 1, out=self.poff[1:])
        tp = pieces.filter(pa.array(tagmask))
        kv = pc.split_pattern(tp, pattern="=", max_splits=1)
        kvo = kv.offsets.to_numpy().astype(np.int64)
        kvo -= kvo[0]
        has2 = np.diff(kvo) == 2
        flat = kv.flatten()
        ko = kvo[:-1]
        keys = flat.take(pa.array(ko))
        self.vals = flat.take(pa.array(np.where(has2, ko + 1, ko)))
        klen = pc.binary_length(keys).to_numpy()
        vlen = pc.binary_length(self.vals).to_numpy()
        pok = has2 & (klen > 0) & (vlen > 0) & (klen <= _STRING_LIMIT) & (vlen <= _STRING_LIMIT)
        ok[self.tparent[~pok]] = False
        kenc = pc.dictionary_encode(keys)
        self.kcode = kenc.indices.to_numpy(zero_copy_only=False).astype(np.int64)
        self.key_names = kenc.dictionary.to_pylist()
        nk = len(self.key_names)
        if len(self.kcode) > 1:  # duplicate tag keys within one series
            comb = np.sort(self.tparent * nk + self.kcode)
            dup = comb[1:] == comb[:-1]
            if dup.any():
                ok[comb[1:][dup] // nk] = False
        menc = pc.dictionary_encode(meas)
        self.mcode = menc.indices.to_numpy(zero_copy_only=False).astype(np.int64)
        self.meas_names = menc.dictionary.to_pylist()
        self.ok = ok


_SERIES_CACHE: dict = {}  # bytes of a body's distinct series keys -> their _Series
_SERIES_CACHE_ENTRIES = 16
_SERIES_CACHE_MAX_BYTES = 1 << 18  # bodies with more distinct series than this are not kept


def _series_of(U) -> _Series:
    """``_Series(U)``, reused when a recent body had the same distinct series keys (a client
    sending batches of the same hosts): ~0.2 us per line of pyarrow.compute calls saved.
    A _Series is never changed after it is made, so threads may share one."""
    o, d = _offsets_data(U)
    lo, hi = int(o[0]), int(o[-1])
    if hi - lo > _SERIES_CACHE_MAX_BYTES:
        return _Series(U)
    key = (o - lo).tobytes() + d[lo:hi].tobytes()
    ser = _SERIES_CACHE.get(key)
    if ser is None:
        ser = _Series(U)
        if len(_SERIES_CACHE) >= _SERIES_CACHE_ENTRIES:
            _SERIES_CACHE.clear()
        _SERIES_CACHE[key] = ser
    return ser


class _FieldGroup:
    """Lines sharing one field-key sequence, as (lines x fields) arrays."""

    __slots__ = ("lines", "keys", "ftype", "values")

    def __init__(self, lines, keys, ftype, values):
        self.lines = lines  # candidate line indexes (sorted)
        self.keys = keys  # key ids, one per field position
        self.ftype = ftype  # (n, k) int8
        self.values = values  # {type: (n, k) array}


class _FieldSets:
    """Result of the vectorised field-set parse of M candidate lines."""

    def __init__(self, M: int):
        self.line_ok = np.ones(M, dtype=bool)
        self.gid = np.full(M, -1, dtype=np.int64)  # group of each line
        self.gpos = np.zeros(M, dtype=np.int64)  # row within its group
        self.groups = []
        self.key_id = {}
        self._str_chunks = []
        self._str_count = 0
        self._strings = None

    def add_strings(self, arr) -> int:
        """Append string values; returns the index of the first one."""
        base = self._str_count
        self._str_chunks.append(arr)
        self._str_count += len(arr)
        self._strings = None
        return base

    def strings(self) -> pa.Array:
        if self._strings is None:
            chunks = [c if c.type == pa.string() else c.cast(pa.string()) for c in self._str_chunks]
            self._strings = chunks[0] if len(chunks) == 1 else pa.concat_arrays(chunks)
        return self._strings

    def add_group(self, lines, names, ftype, values, vok):
        keys = [self.key_id.setdefault(nm, len(self.key_id)) for nm in names]
        g = len(self.groups)
        self.groups.append(_FieldGroup(lines, keys, ftype, values))
        self.gid[lines] = g
        self.gpos[lines] = np.arange(len(lines))
        bad = ~vok.all(axis=1)
        if bad.any():
            self.line_ok[lines[bad]] = False


def _template_keys(section: bytes):
    """Field keys (each with its `=`) of a field section that is plainly `k=v,k=v...` with
    distinct, non-empty, not-too-long keys and non-empty values; else None."""
    keys = []
    for part in section.split(b","):
        eq = part.find(b"=")
        if eq <= 0 or eq == len(part) - 1 or eq > _STRING_LIMIT:
            return None
        keys.append(part[: eq + 1])
    if len(set(keys)) != len(keys):
        return None
    return keys


def _parse_field_sets(src: _Src, fs, fe, M: int, strsrc=None) -> _FieldSets:
    """Vectorised parse of the field sections [fs, fe) of M candidate lines.  ``strsrc`` is
    the unmasked body when ``src`` is a masked copy (string fields, see _mask_quoted)."""
    out = _FieldSets(M)
    F = src.slices(fs, fe)
    SF = None if strsrc is None else strsrc.slices(fs, fe)  # (same offsets as F)
    pending = _field_sets_by_template(out, F, M, SF)
    if len(pending):
        if len(pending) != M:
            F = F.take(pa.array(pending))
            SF = None if SF is None else SF.take(pa.array(pending))
        _field_sets_by_separators(out, F, pending, SF)
    return out


def _str_source(out: _FieldSets, SF, hi: int):
    """(unmasked field bytes, out) for _parse_values, or None without string fields."""
    return None if SF is None else (_Src(SF.buffers()[2], hi), out)


def _field_sets_by_template(out: _FieldSets, F, M: int, SF=None):
    """Field sets shaped like the first line's: only the commas need finding.  For a line with
    the template's number of commas, the bytes at the start of each field must be the
    template key followed by `=` -- checked for all lines at once by dictionary-encoding the
    concatenation of those byte ranges.  Returns the lines left for the general path."""
    fo, fd = _offsets_data(F)
    hi = int(fo[-1])
    fd = fd[:hi]
    fsrc = _Src(F.buffers()[2], hi)
    strs = _str_source(out, SF, hi)
    words = _Words(fd)
    commas = np.flatnonzero(np.equal(fd, 44, out=_scratch_bool(len(fd))))
    cidx = ncom = None
    pending = np.arange(M)
    for _ in range(_TEMPLATE_TRIES):
        first = int(pending[0])
        tmpl = _template_keys(fd[fo[first] : fo[first + 1]].tobytes())
        if tmpl is None:
            break
        k = len(tmpl)
        klen = np.array([len(t) - 1 for t in tmpl], dtype=np.int64)  # key lengths
        C2 = None
        if len(pending) == M and len(commas) == M * (k - 1):
            # Every line has k-1 commas iff each line's first comma is in it and its last one too
            # (lines are disjoint and in order) -- cheaper than counting per line.
            C2 = commas.reshape(M, k - 1)
            if k > 1 and not ((C2[:, 0] >= fo[:-1]).all() and (C2[:, -1] < fo[1:]).all()):
                C2 = None
        if C2 is not None:
            lines = pending
        else:
            if cidx is None:
                cidx = np.searchsorted(commas, fo)
                ncom = np.diff(cidx)
            lines = pending[ncom[pending] == k - 1]
            C2 = commas[cidx[lines][:, None] + np.arange(k - 1)]
        n = len(lines)
        ks = np.empty((n, k), dtype=np.int64)
        ve = np.empty((n, k), dtype=np.int64)
        ks[:, 0] = fo[lines]
        ve[:, -1] = fo[lines + 1]
        if k > 1:
            np.add(C2, 1, out=ks[:, 1:])
            ve[:, :-1] = C2
        E = ks + klen  # where each field's `=` must be
        np.minimum(E, ve - 1, out=E)  # keep the ranges inside their field (lines that will not match)
        E = E.ravel()
        K = fsrc.slices(ks.ravel(), E + 1)  # (E + 1 >= ks: klen >= 1 and ve >= ks)
        ko, _kd = _offsets_data(K)
        sig = pa.Array.from_buffers(K.type, n, [None, pa.py_buffer(ko[::k].astype(fsrc.odt)), K.buffers()[2]])
        # lines[0] is `first`, which matches its own template
        match = pc.equal(sig, sig[0]).to_numpy(zero_copy_only=False)
        if match.all():
            mlines = lines
        else:
            mlines = lines[match]
            mf = np.repeat(match, k)
            E, ve = E[mf], ve.ravel()[mf]
        ve = ve.ravel()
        ftype, values, vok = _parse_values(fsrc, words, E + 1, ve, strs)
        vok &= ve > E + 1
        shape = (len(mlines), k)
        out.add_group(
            mlines,
            [t[:-1].decode("utf-8") for t in tmpl],
            ftype.reshape(shape),
            {tt: v.reshape(shape) for tt, v in values.items()},
            vok.reshape(shape),
        )
        if len(mlines) == len(pending):
            return pending[:0]
        keep = np.ones(len(pending), dtype=bool)
        keep[np.searchsorted(pending, mlines)] = False
        pending = pending[keep]
    return pending


def _field_sets_by_separators(out: _FieldSets, F, line_map, SF=None):
    """General field-set parse: find every `=` and `,`, group lines by key sequence."""
    M = len(F)
    fo, fd = _offsets_data(F)
    hi = int(fo[-1])
    fd = fd[:hi]
    fsrc = _Src(F.buffers()[2], hi)
    strs = _str_source(out, SF, hi)
    words = _Words(fd)
    m1 = np.equal(fd, 44, out=_scratch_bool(len(fd)))
    m1 |= fd == 61
    seps = np.flatnonzero(m1)
    cnt = np.diff(np.searchsorted(seps, fo))  # separators per line: 2k-1 for k fields
    c0 = int(cnt[0])
    uniform = False
    if c0 % 2 == 1 and (cnt == c0).all():
        s2 = seps.reshape(M, c0)
        pattern = np.where(np.arange(c0) % 2 == 0, 61, 44).astype(np.uint8)
        uniform = bool((fd[s2] == pattern).all())
    if uniform:  # every line has k fields and its separators alternate '=' ','
        k = (c0 + 1) // 2
        lines = np.arange(M)
        ks = np.empty((M, k), dtype=np.int64)
        ve = np.empty((M, k), dtype=np.int64)
        ks[:, 0] = fo[:-1]
        ve[:, -1] = fo[1:]
        if k > 1:
            C = s2[:, 1::2]
            np.add(C, 1, out=ks[:, 1:])
            ve[:, :-1] = C
        E = s2[:, 0::2].ravel()
        ks = ks.ravel()
        ve = ve.ravel()
        F0 = np.arange(0, M * k + 1, k, dtype=np.int64)
    else:
        bad, lines, E, ks, ve, F0 = _split_field_sets(fd, fo, seps, M)
        if bad is not None:
            out.line_ok[line_map[bad]] = False
        if not len(lines):
            return
    n = len(lines)
    fok = (E > ks) & (ve > E + 1)
    if not fok.all():  # keep the slices below ordered for fields that are not well formed
        E = np.clip(E, ks - 1, ve - 1)
    # keys: one "signature" `k1=k2=...kn=` per line, resolved per distinct signature
    K = fsrc.slices(ks, E + 1)
    ko, _kd = _offsets_data(K)
    sig = pa.Array.from_buffers(K.type, n, [None, pa.py_buffer(ko[F0].astype(fsrc.odt)), K.buffers()[2]])
    senc = pc.dictionary_encode(sig)
    if len(senc.dictionary) > _SIG_LIMIT:
        raise _Decline()
    ftype, values, vok = _parse_values(fsrc, words, E + 1, ve, strs)
    vok &= fok
    sigs = senc.dictionary.to_pylist()
    for g, rows in _split_groups(senc.indices.to_numpy(zero_copy_only=False), np.arange(n)):
        names = sigs[g][:-1].split("=")
        glines = line_map[lines[rows]]
        if len(set(names)) != len(names) or any(
            len(nm) > _STRING_LIMIT // 4 and len(nm.encode("utf-8")) > _STRING_LIMIT for nm in names
        ):
            out.line_ok[glines] = False
            continue
        f2 = F0[rows][:, None] + np.arange(len(names))
        out.add_group(glines, names, ftype[f2], {tt: v[f2] for tt, v in values.items()}, vok[f2])


def _split_field_sets(fd, fo, seps, M: int):
    """General case of the field-set split (lines with differing numbers of fields).  Lines
    whose separators do not alternate `=`, `,` are returned as bad."""
    iseq = fd[seps] == 61
    E = seps[iseq]
    C = seps[~iseq]
    k = np.diff(np.searchsorted(E, fo))
    kc = np.diff(np.searchsorted(C, fo))
    cnt_ok = (k >= 1) & (kc == k - 1)
    lines = np.arange(M)
    bad = None
    if not cnt_ok.all():
        bad = np.flatnonzero(~cnt_ok)
        E = E[np.repeat(cnt_ok, k)]
        C = C[np.repeat(cnt_ok, kc)]
        lines = lines[cnt_ok]
        k = k[cnt_ok]
    n = len(lines)
    NF = len(E)
    F0 = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(k, out=F0[1:])
    ls, le = fo[lines], fo[lines + 1]
    r_of_f = np.repeat(np.arange(n), k)
    fidx = np.arange(NF)
    fpos = fidx - F0[:-1][r_of_f]
    jr = fidx - r_of_f
    if len(C):
        ks = np.where(fpos == 0, ls[r_of_f], C[np.clip(jr - 1, 0, len(C) - 1)] + 1)
        ve = np.where(fpos == (k - 1)[r_of_f], le[r_of_f], C[np.clip(jr, 0, len(C) - 1)])
    else:
        ks = ls[r_of_f]
        ve = le[r_of_f]
    return bad, lines, E, ks, ve, F0


def _convert_timestamps(ts, precision: str):
    """Vectorised Precision::to_nanos for explicit timestamps: (ns, ok)."""
    if precision == "auto":
        ok = ts != _I64_MIN
        v = np.abs(ts) // 1_000_000_000
        m = np.where(v < 5, 1_000_000_000, np.where(v < 5_000, 1_000_000, np.where(v < 5_000_000, 1_000, 1)))
        return ts * m.astype(np.int64), ok
    m = _MULTIPLIER[precision]
    if m == 1:
        return ts, np.ones(len(ts), dtype=bool)
    lo = -((1 << 63) // m)
    hi = ((1 << 63) - 1) // m
    ok = (ts >= lo) & (ts <= hi)
    return ts * np.int64(m), ok


def _ranges(starts, counts):
    """Concatenation of arange(starts[i], starts[i] + counts[i])."""
    total = int(counts.sum())
    if total == 0:
        return np.zeros(0, dtype=np.int64)
    cs = np.zeros(len(counts), dtype=np.int64)
    np.cumsum(counts[:-1], out=cs[1:])
    return np.repeat(starts - cs, counts) + np.arange(total)


def _mask_quoted(b):
    """A copy of the body bytes ``b`` (no backslash) with the contents of its quoted field
    values replaced by ``x``, so that the rest of the vectorised parse sees no space, comma,
    equals sign, newline or control character inside a string; ``b`` itself when it has no
    double quote; None (decline) when its quotes do not provably pair up within lines.

    The quotes of a physical line that follow its first space are paired in order (1st with
    2nd, 3rd with 4th, ...).  InfluxDB 3's split_lines toggles "quoted" at a quote only when
    more ``=`` than ``,`` have been counted outside quotes after the first space.  If that
    holds at every such quote -- counting on the masked copy, i.e. under the assumed pairing --
    then, by induction along the line, every one of them toggles, the pairing is exactly the
    one split_lines makes, and (with an even number of them) the line ends unquoted at its
    newline: physical and logical lines coincide.  Otherwise the body is declined.  Quotes
    before a line's first space are literal characters of the measurement or a tag."""
    q = np.flatnonzero(b == 34)
    if not len(q):
        return b
    N = len(b)
    nl = np.flatnonzero(b == 10)
    line = np.searchsorted(nl, q)  # physical line of each quote
    lstart = np.zeros(len(q), dtype=np.int64)
    has_prev = line > 0
    lstart[has_prev] = nl[line[has_prev] - 1] + 1
    lend = np.full(len(q), N, dtype=np.int64)
    has_nl = line < len(nl)
    lend[has_nl] = nl[line[has_nl]]
    sp = np.flatnonzero(b == 32)
    k = np.searchsorted(sp, lstart)
    fsp = sp[np.minimum(k, len(sp) - 1)] if len(sp) else lend
    fsp = np.where((k < len(sp)) & (fsp < lend), fsp, lend)  # first space of the line (or its end)
    post = q > fsp
    if not post.all():
        q, line, fsp = q[post], line[post], fsp[post]
        if not len(q):
            return b
    newline = np.empty(len(q), dtype=bool)
    newline[0] = True
    np.not_equal(line[1:], line[:-1], out=newline[1:])
    first = np.flatnonzero(newline)
    if (np.diff(np.append(first, len(q))) % 2).any():
        return None  # an odd number of quotes on a line
    op, cl = q[0::2], q[1::2]
    mb = b.copy()
    mb[_ranges(op + 1, cl - op - 1)] = 120  # 'x'
    eq = np.flatnonzero(mb == 61)
    cm = np.flatnonzero(mb == 44)
    n_eq = np.searchsorted(eq, q) - np.searchsorted(eq, fsp)
    n_cm = np.searchsorted(cm, q) - np.searchsorted(cm, fsp)
    if not (n_eq > n_cm).all():
        return None
    return mb


def _parse_fast_bytes(data, precision: str, default_ns: int, backslashes: bool = False):
    """The vectorised parse of ``data`` (bytes or a memoryview of them; validated UTF-8), or
    None when it declines.  ``backslashes``: whether the body may contain one.

    Lines with a backslash are handed whole to the exact line parser.  That is right only
    when they are logical lines of their own, which is ensured by declining bodies with a
    backslash right before a newline (an escaped newline continues the line) or on a line
    with a double quote (an escaped quote does not toggle quoting)."""
    N = len(data)
    if N == 0:
        z = np.zeros(0, dtype=np.int64)
        return ParseResult([], [], 0, _LineSpans(data, z, z))
    b = np.frombuffer(data, dtype=np.uint8)
    bs = None
    if backslashes:
        bs = np.flatnonzero(b == 92)
        if len(bs):
            if (b[np.minimum(bs + 1, N - 1)] == 10).any():
                return None
            q = np.flatnonzero(b == 34)
            if len(q):
                nl0 = np.flatnonzero(b == 10)
                if len(np.intersect1d(np.searchsorted(nl0, bs), np.searchsorted(nl0, q))):
                    return None
        else:
            bs = None
    src = _Src(pa.py_buffer(data), N)
    strsrc = None
    mb = _mask_quoted(b)
    if mb is None:
        return None
    if mb is not b:  # string fields: parse the masked copy, cut string values from the body
        strsrc = src
        b = mb
        src = _Src(pa.py_buffer(mb), N)

    # ---- physical lines; classify as blank / comment / irregular (exact parser) / candidate
    low = np.flatnonzero(np.less_equal(b, 32, out=_scratch_bool(N)))  # newlines, spaces, controls
    lowb = b[low]
    sp = low[lowb == 32]
    nl = low[lowb == 10]
    other_ctl = low[lowb < 32] if len(nl) + len(sp) != len(low) else None
    ends = nl if b[-1] == 10 else np.append(nl, N)
    starts = np.empty_like(ends)
    starts[0] = 0
    starts[1:] = ends[:-1] + 1
    L = len(ends)
    nonempty = ends > starts
    fc = b[np.minimum(starts, N - 1)]
    comment = nonempty & (fc == 35)
    irregular = nonempty & (fc == 32)
    if other_ctl is not None:
        other_ctl = other_ctl[b[other_ctl] != 10]
        irregular[np.searchsorted(ends, other_ctl, side="right")] = True
    if bs is not None:  # escapes: the exact line parser
        irregular[np.searchsorted(ends, bs, side="right")] = True
    irregular &= ~comment
    n_irregular = int(np.count_nonzero(irregular))
    if n_irregular > 64 and n_irregular * 4 > L:
        return None  # mostly unusual lines (e.g. CRLF): the exact parser is the better tool
    cand = nonempty & ~comment & ~irregular

    # ---- sections: series, fields, timestamp (one or two single spaces)
    si = np.searchsorted(sp, starts)
    nsp = np.searchsorted(sp, ends) - si
    ci = np.flatnonzero(cand & ((nsp == 1) | (nsp == 2)))
    to_exact = cand.copy()  # candidate lines the vectorised checks do not accept
    M = len(ci)
    if M:
        ls = starts[ci]
        le = ends[ci]
        k0 = si[ci]
        sp1 = sp[k0]
        has_ts = nsp[ci] == 2
        sp2 = sp[np.minimum(k0 + 1, len(sp) - 1)]
        fe = np.where(has_ts, sp2, le)
        good = (sp1 > ls) & (fe > sp1 + 1) & (~has_ts | (le > sp2 + 1))
        if not good.all():
            ci, ls, le, sp1, has_ts, sp2, fe = (x[good] for x in (ci, ls, le, sp1, has_ts, sp2, fe))
            M = len(ci)
    if M:
        # ---- timestamps
        ts = np.zeros(M, dtype=np.int64)
        cok = np.ones(M, dtype=bool)
        if has_ts.all():
            ts, cok = _parse_timestamps(src.slices(sp2 + 1, le))
        else:
            ti = np.flatnonzero(has_ts)
            if len(ti):
                tv, tok = _parse_timestamps(src.slices(sp2[ti] + 1, le[ti]))
                ts[ti] = tv
                cok[ti[~tok]] = False
        # ---- series keys: dictionary-encode, parse the distinct ones column-wise
        enc = pc.dictionary_encode(src.slices(ls, sp1))
        scode = enc.indices.to_numpy(zero_copy_only=False).astype(np.int64)
        ser = _series_of(enc.dictionary)
        cok &= ser.ok[scode]
        # ---- field sets
        try:
            fl = _parse_field_sets(src, sp1 + 1, fe, M, strsrc)
        except _Decline:
            return None
        cok &= fl.line_ok
        # ---- precision
        t_ns = np.full(M, default_ns, dtype=np.int64)
        tsel = np.flatnonzero(has_ts & cok)
        ovf = np.zeros(M, dtype=bool)
        if len(tsel):
            conv, conv_ok = _convert_timestamps(ts[tsel], precision)
            t_ns[tsel] = conv
            ovf[tsel[~conv_ok]] = True
        to_exact[ci[cok]] = False

    # ---- line numbers; lines for the exact parser
    counted = cand.copy()
    exact_lines = []  # (physical line index, text after leading whitespace)
    for i in np.flatnonzero(irregular).tolist():
        text = str(data[starts[i] : ends[i]], "utf-8").lstrip(" \t")
        if text and text[0] != "#":
            counted[i] = True
            exact_lines.append((i, text))
    for i in np.flatnonzero(to_exact).tolist():
        exact_lines.append((i, str(data[starts[i] : ends[i]], "utf-8")))
    exact_lines.sort()
    line_no = np.cumsum(counted)
    num_lines = int(line_no[-1])

    errors = []
    builders: dict = {}
    for i, text in exact_lines:
        n_i = int(line_no[i])
        try:
            meas, tags, fields, t = _check_line(text, precision, default_ns)
        except _LPError as e:
            errors.append(LineError(n_i, str(e), str(data[starts[i] : ends[i]], "utf-8"), e.detail))
            continue
        bld = builders.get(meas)
        if bld is None:
            bld = builders[meas] = _RowsBuilder(meas)
        bld.add(n_i, tags, fields, t)

    tables = []
    if M:
        for r in np.flatnonzero(ovf).tolist():
            i = int(ci[r])
            msg = _range_error(int(ts[r]), precision)
            errors.append(LineError(int(line_no[i]), msg, str(data[starts[i] : ends[i]], "utf-8")))
        acc = np.flatnonzero(cok & ~ovf)
        if len(acc):
            tables = _assemble(acc, line_no[ci], t_ns, scode, ser, fl)
    if builders:
        tables = _merge_tables([tables, [bld.finish() for bld in builders.values()]])
    errors.sort(key=lambda e: e.line_number)
    cl = np.flatnonzero(counted)
    return ParseResult(tables, errors, num_lines, _LineSpans(data, starts[cl], ends[cl]))


def _split_groups(codes, items):
    """[(code, items with that code)] in order of first appearance (items sorted)."""
    if len(codes) == 0:
        return []
    c0 = codes[0]
    if (codes == c0).all():
        return [(int(c0), items)]
    order = np.argsort(codes, kind="stable")
    cs = codes[order]
    cuts = np.flatnonzero(cs[1:] != cs[:-1]) + 1
    groups = [(int(cs[a]), items[order[a:z]]) for a, z in zip(np.r_[0, cuts], np.r_[cuts, len(cs)])]
    groups.sort(key=lambda g: g[1][0])
    return groups


def _assemble(acc, line_no_c, t_ns, scode, ser: _Series, fl: _FieldSets):
    """TableRows for the accepted candidate lines ``acc`` (sorted candidate indexes)."""
    groups = _split_groups(ser.mcode[scode[acc]], acc)
    tags = [_assemble_tags(scode[rows], ser) for _t, rows in groups]
    fields = [_assemble_fields(rows, fl) for _t, rows in groups]
    return [
        TableRows(
            measurement=ser.meas_names[t],
            line_numbers=line_no_c[rows].astype(np.int64),
            time=pa.array(t_ns[rows]),
            tags=tg,
            fields=fd,
        )
        for (t, rows), tg, fd in zip(groups, tags, fields)
    ]


def _assemble_tags(sc, ser: _Series) -> dict:
    us, first_row = np.unique(sc, return_index=True)
    counts = ser.poff[us + 1] - ser.poff[us]
    pidx = _ranges(ser.poff[us], counts)
    if not len(pidx):
        return {}
    plid = np.repeat(np.arange(len(us)), counts)
    pk = ser.kcode[pidx]
    uk, lk = np.unique(pk, return_inverse=True)
    srt = np.lexsort((ser.tpos[pidx], first_row[plid]))
    _u, firstpos = np.unique(lk[srt], return_index=True)
    key_order = np.argsort(firstpos)  # local key indexes by first appearance
    mat = np.full((len(us), len(uk)), -1, dtype=np.int64)
    mat[plid, lk] = pidx
    row_lid = np.searchsorted(us, sc)
    tags = {}
    for j in key_order.tolist():
        # encoded once per distinct series (a body has few), then spread over the rows as indexes
        sidx = mat[:, j]
        has = sidx >= 0
        enc = ser.vals.take(pa.array(sidx if has.all() else sidx[has])).dictionary_encode()
        codes = enc.indices.to_numpy(zero_copy_only=False).astype(np.int32)
        if not has.all():
            full = np.full(len(us), -1, dtype=np.int32)
            full[has] = codes
            codes = full
        rc = codes[row_lid]
        dictionary = enc.dictionary if enc.dictionary.type == pa.string() else enc.dictionary.cast(pa.string())
        indices = pa.array(rc) if has.all() else pa.array(rc, mask=rc < 0)
        tags[ser.key_names[uk[j]]] = pa.DictionaryArray.from_arrays(indices, dictionary)
    return tags


def _assemble_fields(rows, fl: _FieldSets) -> dict:
    """Field columns for the candidate lines ``rows`` (one table, sorted)."""
    n = len(rows)
    cols: dict = {}  # (key id, type) -> [first (row, pos), pieces]
    for g, sel in _split_groups(fl.gid[rows], np.arange(n)):
        grp = fl.groups[g]
        gp = fl.gpos[rows[sel]]
        whole = len(gp) == len(grp.lines)  # every line of the group is in this table
        for f, kid in enumerate(grp.keys):
            ty = grp.ftype[:, f] if whole else grp.ftype[gp, f]
            t0 = int(ty[0])
            if (ty == t0).all():
                parts = [(t0, None)]
            else:
                parts = [(tt, ty == tt) for tt in np.unique(ty).tolist()]
            for tt, m in parts:
                vals = grp.values[tt][:, f] if whole else grp.values[tt][gp, f]
                rws = sel
                if m is not None:
                    vals = vals[m]
                    rws = sel[m]
                key = (kid, tt)
                first = (int(rws[0]), f)
                c = cols.get(key)
                if c is None:
                    cols[key] = [first, [(rws, vals)]]
                else:
                    c[1].append((rws, vals))
                    if first < c[0]:
                        c[0] = first
    names = list(fl.key_id)
    fields = {}
    for (kid, tt), (_first, pieces) in sorted(cols.items(), key=lambda kv: kv[1][0]):
        col = _full_column(n, pieces, _NP_FIELD_DTYPES[tt])
        if tt == _FT_STRING:  # (indexes -> values; nulls stay null)
            col = fl.strings().take(col)
        fields[(names[kid], FIELD_TYPES[tt])] = col
    return fields


def _full_column(n: int, pieces, dtype) -> pa.Array:
    """A length-n array from (row indexes, values) pieces; null elsewhere."""
    if len(pieces) == 1 and len(pieces[0][0]) == n:
        return pa.array(pieces[0][1])
    full = np.zeros(n, dtype=dtype)
    valid = np.zeros(n, dtype=bool)
    for rws, vals in pieces:
        full[rws] = vals
        valid[rws] = True
    return pa.array(full, mask=~valid)


def _merge_tables(groups) -> list:
    """Merge lists of TableRows (disjoint line sets) into one list in input order."""
    by: dict = {}
    for tabs in groups:
        for t in tabs:
            by.setdefault(t.measurement, []).append(t)
    out = []
    for meas, parts in by.items():
        out.append(parts[0] if len(parts) == 1 else _concat_tables(meas, parts))
    out.sort(key=lambda t: int(t.line_numbers[0]))
    return out


def _first_valid(arr) -> int:
    if arr.null_count == 0:
        return 0
    return int(np.argmax(arr.is_valid().to_numpy(zero_copy_only=False)))


def _concat_tables(meas: str, parts) -> TableRows:
    ln = np.concatenate([p.line_numbers for p in parts])
    order_np = np.argsort(ln, kind="stable")
    order = pa.array(order_np)

    def merge(attr, typ_of):
        firsts = {}
        for pi, p in enumerate(parts):
            for ci, (key, arr) in enumerate(getattr(p, attr).items()):
                cand = (int(p.line_numbers[_first_valid(arr)]), pi, ci)
                if key not in firsts or cand < firsts[key]:
                    firsts[key] = cand
        out = {}
        for key in sorted(firsts, key=firsts.get):
            chunks = []
            for p in parts:
                a = getattr(p, attr).get(key)
                chunks.append(a if a is not None else pa.nulls(p.num_rows, type=typ_of(key)))
            out[key] = pa.concat_arrays(chunks).take(order)
        return out

    return TableRows(
        measurement=meas,
        line_numbers=ln[order_np],
        time=pa.concat_arrays([p.time for p in parts]).take(order),
        tags=merge("tags", lambda k: TAG_ARROW_TYPE),
        fields=merge("fields", lambda k: _ARROW_FIELD_TYPES[k[1]]),
    )


def parse_fast(body, precision: str = "auto", default_time_ns: int | None = None):
    """Vectorised parse (numpy + pyarrow.compute).  Returns None when it declines the body:
    bodies with a backslash right before a newline or on a line with a double quote (lines
    with other backslashes go to the exact line parser), bodies whose double quotes do not provably pair
    up within lines (see _mask_quoted), bodies made mostly of unusual lines, and bodies with
    more than 256 distinct field-key sequences.
    Otherwise the result is identical to :func:`parse_exact`'s.

    A body of 16K lines or more is cut in two at a newline and the halves are parsed at the
    same time, one on a helper thread (numpy and Arrow release the GIL), then joined."""
    precision = normalize_precision(precision)
    data = _as_bytes(body)
    bsl = b"\\" in data
    if len(data) >= 1 << 22:
        tune_malloc_once()
    default_ns = _default_time(precision, default_time_ns)
    cut = _halving_point(data)
    if cut is not None:
        view = memoryview(data)
        second = _in_helper(_parse_fast_bytes, view[cut:], precision, default_ns, bsl)
        if second is not None:
            first = _parse_fast_bytes(view[:cut], precision, default_ns, bsl)
            rest = second.result()
            if first is None or rest is None:
                return None
            return _join_halves(data, cut, first, rest)
    return _parse_fast_bytes(data, precision, default_ns, bsl)


def _halving_point(data: bytes):
    """Where to cut a big body in two (just after a newline), or None."""
    if len(data) < _PARALLEL_MIN_BYTES or (os.cpu_count() or 1) < 2:
        return None
    nl = data.find(b"\n", len(data) // 2)
    if nl < 0 or nl + 1 >= len(data):
        return None
    if data.count(b"\n", 0, _LINES_SAMPLE) * len(data) < _PARALLEL_MIN_LINES * _LINES_SAMPLE:
        return None  # (estimated from the first 64 KiB: too few lines to be worth it)
    return nl + 1


def _join_halves(data: bytes, cut: int, a: ParseResult, b: ParseResult) -> ParseResult:
    """The result for data, from the results for data[:cut] and data[cut:]."""
    shift = a.num_lines
    for t in b.tables:
        t.line_numbers = t.line_numbers + shift
    errors = a.errors + [LineError(e.line_number + shift, e.error_message, e.original_line, e.detail)
                           for e in b.errors]
    by_name = {t.measurement: t for t in a.tables}
    tables = list(a.tables)
    for t in b.tables:
        ta = by_name.get(t.measurement)
        if ta is None:
            tables.append(t)
        else:
            tables[tables.index(ta)] = _concat_in_order(ta, t)
    la, lb = a._lines, b._lines
    spans = _LineSpans(data, np.concatenate([la.starts, lb.starts + cut]), np.concatenate([la.ends, lb.ends + cut]))
    return ParseResult(tables, errors, a.num_lines + b.num_lines, spans)


def _concat_in_order(a: TableRows, b: TableRows) -> TableRows:
    """Rows of ``a`` then rows of ``b`` (all of b's lines come after a's)."""

    def merge(ca: dict, cb: dict, typ_of) -> dict:
        out = {}
        for key in list(ca) + [k for k in cb if k not in ca]:
            x = ca.get(key)
            y = cb.get(key)
            if x is None:
                x = pa.nulls(a.num_rows, type=typ_of(key))
            if y is None:
                y = pa.nulls(b.num_rows, type=typ_of(key))
            out[key] = pa.concat_arrays([x, y])
        return out

    return TableRows(
        measurement=a.measurement,
        line_numbers=np.concatenate([a.line_numbers, b.line_numbers]),
        time=pa.concat_arrays([a.time, b.time]),
        tags=merge(a.tags, b.tags, lambda k: TAG_ARROW_TYPE),
        fields=merge(a.fields, b.fields, lambda k: _ARROW_FIELD_TYPES[k[1]]),
    )


def parse(body, precision: str = "auto", default_time_ns: int | None = None) -> ParseResult:
    """Parse a line protocol body: the vectorised path when it accepts the body, else the
    exact per-line path.  Both give identical results."""
    r = parse_fast(body, precision, default_time_ns)
    if r is None:
        r = parse_exact(body, precision, default_time_ns)
    return r
