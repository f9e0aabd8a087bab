"""The exact per-line parser: the reference for every behaviour and every error message.

Owns InfluxDB 3's line grammar (``influxdb_line_protocol::parse_lines``) as regular expressions
with possessive quantifiers (linear in the input, no backtracking blow-ups), a shortcut for
plain lines that must agree with the grammar, the per-line checks in InfluxDB 3's order
(duplicate fields, precision) then ours (duplicate tags, control characters), building accepted
rows from Python values (:class:`_RowsBuilder`, which the fast parser uses for the lines it
hands over), :func:`parse_exact` over a whole body and :func:`line_detail`.  Must not trade
exactness for speed: ``fast.py`` is checked against this module, not the other way round.
"""

from __future__ import annotations

import re

import numpy as np
import pyarrow as pa

from .errors import (_E_BACKSLASH, _E_MEASUREMENT, _E_NO_FIELDS, _E_TOO_LARGE, _STRING_LIMIT, _e_control, _e_dup_field,
                     _e_dup_tag, _e_expected_space, _e_expected_tag_key, _e_expected_tag_value, _e_tag_equals,
                     _e_trailing, _LPError)
from .lines import _logical_lines, _trim_leading
from .precision import _default_time, _range_error, _ts_to_ns, normalize_precision
from .results import _ARROW_FIELD_TYPES, _I64_MAX, _I64_MIN, _U64_MAX, LineError, ParseResult, TableRows, _LineSpans


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

# Control characters we reject in names (see the package docstring): C0 controls.
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
            # InfluxDB 3 stores +/-inf here; we reject (see the package docstring).
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


def _check_controls(meas: str, tags, fields):
    """Our stricter-than-InfluxDB-3 rule on control characters (see the package docstring)."""
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


def line_detail(line: str) -> str:
    """The ``detail`` of the error of one rejected line (clients over HTTP, which get InfluxDB 3's
    message only, explain a line with this); "" when there is nothing to add."""
    errors = parse_exact(line).errors
    return errors[0].detail if errors else ""
