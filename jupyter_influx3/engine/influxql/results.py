"""InfluxQL results in 1.x's shape, and the flat table InfluxDB 3 serves.

* :class:`Series` — ``name``, ``tags``, ``columns`` and ``values`` (rows of Python values; a
  time column holds integer nanoseconds) with the ``partial`` flag chunking sets;
* :class:`StatementResult` — ``statement_id``, ``series``, ``error``, ``partial``, ``messages``;
* :func:`chunk_results` — 1.x's emitter: a series longer than ``chunk_size`` rows is split into
  several documents, ``partial`` set on every piece but the last, and on the result while more of
  the statement follows;
* :func:`v1_document` — the ``{"results": [...]}`` dict with 1.x's key order, times formatted as
  RFC 3339 (``Z``) or integers in an ``epoch`` unit;
* :func:`flat_table` — InfluxDB 3's ``/api/v3/query_influxql`` table: ``iox::measurement``,
  ``time``, the GROUP BY tags, then the selected columns;
* :func:`go_float` — a float as Go's ``encoding/json`` writes it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any, Iterator, Optional

import numpy as np
import pyarrow as pa

__all__ = ["Series", "StatementResult", "chunk_results", "v1_document", "format_time_rfc3339",
           "epoch_value", "flat_table", "go_float", "EPOCH_UNITS"]

#: ``epoch=`` units -> nanoseconds
EPOCH_UNITS = {"ns": 1, "n": 1, "u": 1_000, "µ": 1_000, "us": 1_000, "ms": 1_000_000, "s": 1_000_000_000,
               "m": 60_000_000_000, "h": 3_600_000_000_000, "d": 86_400_000_000_000, "w": 604_800_000_000_000}


class Series:
    """One 1.x series: ``name``, ``tags``, ``columns`` and rows.  The rows are kept as given
    (``values``, row lists) or as columns (``col_data``, one list per column), or as the SELECT
    engine's arrays (``arrays``: the time, then one ``functions.Vec`` per other column); each form
    is built from the others on first use (the flat table reads the arrays without any)."""

    def __init__(self, name: Optional[str], columns: list[str], values: Optional[list[list]] = None,
                 tags: Optional[dict] = None, partial: bool = False, time_index: Optional[int] = 0,
                 kinds: Optional[list] = None, location: Optional[str] = None,
                 col_data: Optional[list[list]] = None, arrays: Optional[tuple] = None):
        self.name = name
        self.columns = columns
        self._values = values
        self._cols = col_data
        self.arrays = arrays if values is None and col_data is None else None
        self.tags = tags
        self.partial = partial
        #: index of the time column in ``columns`` (values there are ns integers), or None
        self.time_index = time_index
        #: InfluxQL types of the columns (for the flat table / DataFrames); None when unknown
        self.kinds = kinds
        #: time zone of tz(), for RFC 3339 output
        self.location = location

    @property
    def values(self) -> list[list]:
        if self._values is None:
            cols = self.col_data
            self._values = [list(r) for r in zip(*cols)] if cols else []
        return self._values

    @values.setter
    def values(self, rows: list[list]) -> None:
        self._values, self._cols, self.arrays = rows, None, None

    @property
    def col_data(self) -> list[list]:
        """The rows as columns."""
        if self._cols is None:
            if self._values is None and self.arrays is not None:
                time, vecs = self.arrays
                self._cols = [time.tolist()] + [v.to_list() for v in vecs]
                self.arrays = None   # the lists answer from now on (a big answer is not held twice)
            else:
                rows = self._values or []
                self._cols = [list(c) for c in zip(*rows)] if rows else [[] for _ in self.columns]
        return self._cols

    def __len__(self) -> int:
        if self._values is not None:
            return len(self._values)
        if self._cols is None and self.arrays is not None:
            return len(self.arrays[0])
        return len(self._cols[0]) if self._cols else 0

    def __eq__(self, other) -> bool:
        if not isinstance(other, Series):
            return NotImplemented
        return (self.name, self.columns, self.values, self.tags, self.partial, self.time_index, self.kinds,
                self.location) == (other.name, other.columns, other.values, other.tags, other.partial,
                                   other.time_index, other.kinds, other.location)

    def __repr__(self) -> str:
        return (f"Series(name={self.name!r}, tags={self.tags!r}, columns={self.columns!r}, "
                f"rows={len(self)}, partial={self.partial})")

    def to_dict(self, epoch: Optional[str] = None) -> dict:
        d: dict[str, Any] = {}
        if self.name:
            d["name"] = self.name
        if self.tags:
            d["tags"] = dict(sorted(self.tags.items()))
        if self.columns:
            d["columns"] = list(self.columns)
        if self.values:
            ti = self.time_index
            if ti is None:
                d["values"] = [list(r) for r in self.values]
            else:
                d["values"] = [_row_time(r, ti, epoch, self.location) for r in self.values]
        if self.partial:
            d["partial"] = True
        return d


def _row_time(row: list, ti: int, epoch: Optional[str], location: Optional[str]) -> list:
    r = list(row)
    t = r[ti]
    if isinstance(t, int):
        r[ti] = epoch_value(t, epoch) if epoch else format_time_rfc3339(t, location)
    return r


@dataclass
class StatementResult:
    statement_id: int
    series: list[Series] = field(default_factory=list)
    error: Optional[str] = None
    partial: bool = False
    messages: list = field(default_factory=list)

    def to_dict(self, epoch: Optional[str] = None) -> dict:
        d: dict[str, Any] = {"statement_id": self.statement_id}
        if self.series:
            d["series"] = [s.to_dict(epoch) for s in self.series]
        if self.messages:
            d["messages"] = self.messages
        if self.partial:
            d["partial"] = True
        if self.error is not None:
            d["error"] = self.error
        return d


def v1_document(results: list[StatementResult], epoch: Optional[str] = None) -> dict:
    return {"results": [r.to_dict(epoch) for r in results]}


def mark_long_series(result: StatementResult, chunk_size: int = 10000) -> StatementResult:
    """1.6's non-chunked answer: the emitter still cuts a series every ``chunk_size`` rows and the
    handler, gluing the pieces back, keeps the first piece's ``partial`` flag -- so a series longer
    than ``chunk_size`` rows says ``"partial": true``."""
    for s in result.series:
        if len(s) > chunk_size:
            s.partial = True
    return result


def chunk_results(result: StatementResult, chunk_size: int) -> Iterator[StatementResult]:
    """Split one statement's result the way 1.x's emitter does: one series (or a piece of one
    with at most ``chunk_size`` rows) per result."""
    if result.error is not None or not result.series:
        yield result
        return
    pieces: list[Series] = []
    for s in result.series:
        vals = s.values
        if chunk_size <= 0 or len(vals) <= chunk_size:
            pieces.append(s)
            continue
        for i in range(0, len(vals), chunk_size):
            part = Series(s.name, s.columns, vals[i:i + chunk_size], s.tags, False, s.time_index, s.kinds,
                          s.location)
            part.partial = i + chunk_size < len(vals)
            pieces.append(part)
    for i, p in enumerate(pieces):
        yield StatementResult(result.statement_id, [p], None, partial=i < len(pieces) - 1,
                              messages=result.messages if i == 0 else [])


# ---------------------------------------------------------------------------------------------
# values

_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


def format_time_rfc3339(ns: int, location: Optional[str] = None) -> str:
    """RFC 3339 with nanoseconds trimmed (Go's RFC3339Nano): ``2000-01-01T00:00:00Z``,
    ``…:36.703820946Z``; with a zone, its offset (``-08:00``)."""
    sec, frac = divmod(ns, 1_000_000_000)
    try:
        dt = _EPOCH + timedelta(seconds=sec)
    except OverflowError:
        return str(ns)
    suffix = "Z"
    if location and location != "UTC":
        import zoneinfo
        try:
            dt = dt.astimezone(zoneinfo.ZoneInfo(location))
            off = dt.utcoffset()
            total = int(off.total_seconds())
            if total == 0:
                suffix = "Z"
            else:
                sign = "+" if total > 0 else "-"
                total = abs(total)
                suffix = f"{sign}{total // 3600:02d}:{(total % 3600) // 60:02d}"
        except Exception:  # noqa: BLE001 - a bad zone was refused by the parser already
            pass
    s = f"{dt.year:04d}-{dt.month:02d}-{dt.day:02d}T{dt.hour:02d}:{dt.minute:02d}:{dt.second:02d}"
    if frac:
        s += "." + f"{frac:09d}".rstrip("0")
    return s + suffix


def epoch_value(ns: int, unit: str) -> int:
    d = EPOCH_UNITS.get(unit, 1)
    # Go's integer division truncates toward zero
    q = abs(ns) // d
    return q if ns >= 0 else -q


def go_float(x: float) -> str:
    """A float64 as Go's encoding/json writes it ('f' format in [1e-6, 1e21), else 'e')."""
    if x == 0:
        return "-0" if math.copysign(1.0, x) < 0 else "0"
    a = abs(x)
    r = repr(x)
    if 1e-6 <= a < 1e21:
        if "e" in r or "E" in r:
            # expand the shortest digits positionally
            from decimal import Decimal
            s = format(Decimal(r), "f")
        else:
            s = r
        if s.endswith(".0"):
            s = s[:-2]
        return s
    # exponent form: shortest digits, exponent without leading zeros, at least 2 digits
    mant, _, exp = ("%r" % x).partition("e")
    if not exp:
        from decimal import Decimal
        d = Decimal(r)
        sign, digits, e = d.as_tuple()
        digs = "".join(map(str, digits)).rstrip("0") or "0"
        exp_val = e + len(digits) - 1
        mant = ("-" if sign else "") + digs[0] + ("." + digs[1:] if len(digs) > 1 else "")
        exp = str(exp_val)
    if mant.endswith(".0"):
        mant = mant[:-2]
    e = int(exp)
    es = f"{'-' if e < 0 else '+'}{abs(e):02d}"
    return f"{mant}e{es}"


# ---------------------------------------------------------------------------------------------
# flat table (InfluxDB 3)


_ARROW = {"float": pa.float64(), "integer": pa.int64(), "unsigned": pa.uint64(), "string": pa.string(),
          "boolean": pa.bool_(), "tag": pa.dictionary(pa.int32(), pa.string())}


def flat_table(result: StatementResult, group_tags: Optional[list[str]] = None) -> pa.Table:
    """The statement's series as InfluxDB 3's flat table: ``iox::measurement``, ``time``, the
    GROUP BY tags, then the other columns (for SHOW statements, without ``time``)."""
    series = result.series
    if not series:
        return pa.table({})
    first = series[0]
    has_time = first.time_index is not None
    tag_keys = list(group_tags if group_tags is not None else sorted({k for s in series for k in (s.tags or {})}))
    value_cols = [c for i, c in enumerate(first.columns) if i != first.time_index]
    if has_time and first.time_index == 0 and all(
            s.arrays is not None and s.kinds == first.kinds and s.time_index == 0 for s in series):
        return _flat_from_arrays(series, tag_keys, value_cols)
    kinds = first.kinds
    col_kinds: dict[str, Optional[str]] = {}
    if kinds:
        for c, k in zip([c for i, c in enumerate(first.columns) if i != first.time_index],
                        [k for i, k in enumerate(kinds) if i != first.time_index]):
            col_kinds[c] = k
    meas, times = [], []
    tag_vals: dict[str, list] = {k: [] for k in tag_keys}
    vals: dict[int, list] = {i: [] for i in range(len(value_cols))}
    for s in series:
        # column by column (the SELECT's series hold columns): a row loop costs ~1 us per cell
        n = len(s)
        if not n:
            continue
        meas.extend([s.name or ""] * n)
        for k in tag_keys:
            v = (s.tags or {}).get(k)
            tag_vals[k].extend([v if v else None] * n)
        j = 0
        for i, col in enumerate(s.col_data):
            if i == s.time_index:
                if has_time:
                    times.extend(col)
                continue
            vals[j].extend(col)
            j += 1
    arrays, names = [pa.array(meas, pa.dictionary(pa.int32(), pa.string()))], ["iox::measurement"]
    if has_time:
        arrays.append(pa.array(times, pa.timestamp("ns")))
        names.append("time")
    for k in tag_keys:
        if k in value_cols:
            continue
        arrays.append(pa.array(tag_vals[k], pa.dictionary(pa.int32(), pa.string())))
        names.append(k)
    for j, c in enumerate(value_cols):
        kind = col_kinds.get(c)
        arrays.append(_arrow_column(vals[j], kind))
        names.append(c)
    return pa.table(arrays, names=_dedupe(names))


def _flat_from_arrays(series: list[Series], tag_keys: list[str], value_cols: list[str]) -> pa.Table:
    """:func:`flat_table` from the SELECT's arrays (no Python value per cell): the same table."""
    lens = [len(s) for s in series]
    meas: list = []
    for s, n in zip(series, lens):
        meas.extend([s.name or ""] * n)
    arrays = [pa.array(meas, pa.dictionary(pa.int32(), pa.string()))]
    times = [s.arrays[0] for s in series]
    arrays.append(pa.array(times[0] if len(times) == 1 else np.concatenate(times), pa.timestamp("ns")))
    names = ["iox::measurement", "time"]
    for k in tag_keys:
        if k in value_cols:
            continue
        vals: list = []
        for s, n in zip(series, lens):
            v = (s.tags or {}).get(k)
            vals.extend([v if v else None] * n)
        arrays.append(pa.array(vals, pa.dictionary(pa.int32(), pa.string())))
        names.append(k)
    for j, c in enumerate(value_cols):
        vecs = [s.arrays[1][j] for s in series]
        arrays.append(_arrow_from_vecs(vecs, series[0].kinds[j + 1]))
        names.append(c)
    return pa.table(arrays, names=_dedupe(names))


_NUMPY_ARROW = {"float": pa.float64(), "integer": pa.int64(), "unsigned": pa.uint64(), "boolean": pa.bool_(),
                "string": pa.string()}


def _arrow_from_vecs(vecs: list, kind: Optional[str]) -> pa.Array:
    """One column of the flat table from the series' Vecs, as :func:`_arrow_column` makes it from
    their values."""
    if kind in _NUMPY_ARROW and all(v.kind == kind for v in vecs):
        data = vecs[0].data if len(vecs) == 1 else np.concatenate([v.data for v in vecs])
        valid = vecs[0].valid if len(vecs) == 1 else np.concatenate([v.valid for v in vecs])
        try:
            return pa.array(data, _NUMPY_ARROW[kind], mask=None if valid.all() else ~valid)
        except (pa.ArrowInvalid, pa.ArrowTypeError, TypeError, OverflowError):
            pass
    return _arrow_column([x for v in vecs for x in v.to_list()], kind)


def _dedupe(names: list[str]) -> list[str]:
    seen: dict[str, int] = {}
    out = []
    for n in names:
        if n in seen:
            seen[n] += 1
            out.append(f"{n}_{seen[n]}")
        else:
            seen[n] = 0
            out.append(n)
    return out


def _arrow_column(values: list, kind: Optional[str]) -> pa.Array:
    if kind in _ARROW and kind != "tag":
        try:
            if kind == "float":
                return pa.array([None if v is None else float(v) for v in values], pa.float64())
            return pa.array(values, _ARROW[kind])
        except (pa.ArrowInvalid, pa.ArrowTypeError, TypeError, OverflowError):
            pass
    if kind == "tag":
        return pa.array(values, pa.dictionary(pa.int32(), pa.string()))
    try:
        return pa.array(values)
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        return pa.array([None if v is None else str(v) for v in values], pa.string())
