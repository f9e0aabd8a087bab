"""Exact timestamp text <-> nanoseconds, for literals the SQL layer turns into typed constants.

DuckDB's own cast of `'2024-01-01T00:00:00+02:00'` to TIMESTAMP_NS drops the offset, and its
TIMESTAMPTZ is microsecond precision, so RFC 3339 strings compared with `time` are parsed here
(nanosecond precision, `Z` or `±HH:MM` offsets, date-only and space-separated forms).
"""

from __future__ import annotations

import datetime as _dt
import re

_RFC3339 = re.compile(
    r"^\s*(\d{4})-(\d{2})-(\d{2})"
    r"(?:[Tt ](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d{1,9}))?)?)?"
    r"\s*(Z|z|UTC|[+-]\d{2}(?::?\d{2})?)?\s*$")
_EPOCH_ORDINAL = _dt.date(1970, 1, 1).toordinal()
NS_PER_S = 1_000_000_000


def parse_rfc3339_ns(text: str) -> int | None:
    """Nanoseconds since the epoch for an RFC 3339-like string, or None if it is not one."""
    m = _RFC3339.match(text)
    if not m:
        return None
    y, mo, d, hh, mm, ss, frac, off = m.groups()
    try:
        days = _dt.date(int(y), int(mo), int(d)).toordinal() - _EPOCH_ORDINAL
    except ValueError:
        return None
    h, mi, s = int(hh or 0), int(mm or 0), int(ss or 0)
    if h > 23 or mi > 59 or s > 60:
        return None
    secs = days * 86400 + h * 3600 + mi * 60 + s
    if off and off not in ("Z", "z", "UTC"):
        sign = -1 if off[0] == "-" else 1
        digits = off[1:].replace(":", "")
        oh, om = int(digits[:2]), int(digits[2:4] or 0)
        secs -= sign * (oh * 3600 + om * 60)
    ns = int((frac or "").ljust(9, "0")) if frac else 0
    return secs * NS_PER_S + ns


def format_ns(ns: int) -> str:
    """`YYYY-MM-DD HH:MM:SS.fffffffff` (UTC) for nanoseconds since the epoch."""
    secs, frac = divmod(ns, NS_PER_S)
    t = _dt.datetime(1970, 1, 1) + _dt.timedelta(seconds=secs)
    return f"{t:%Y-%m-%d %H:%M:%S}.{frac:09d}"


def ns_literal_sql(ns: int) -> str:
    """A DuckDB TIMESTAMP_NS constant for `ns` (safe to embed: built from an int)."""
    return f"TIMESTAMP_NS '{format_ns(int(ns))}'"
