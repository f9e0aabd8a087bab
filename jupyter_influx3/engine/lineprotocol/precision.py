"""Timestamp precision, as InfluxDB 3's ``Precision::to_nanos``.

Owns the accepted spellings of a precision (:func:`normalize_precision`), the default time
truncated to the precision, the ``auto`` guess of a timestamp's unit, overflow detection -- per
value for the exact parser, vectorised for the fast one -- and the out-of-range message.  Must
not cut timestamps out of text (the parsers do) nor decide which precisions an API accepts (the
v1 units ``m`` and ``h`` are the HTTP layer's call).
"""

from __future__ import annotations

import time as _time

import numpy as np

from .results import _I64_MAX, _I64_MIN


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


def _range_error(ts: int, precision: str) -> str:
    return f"timestamp, {ts}, out of range for precision: {_PRECISION_NAME[precision]}"
