"""The dashboard run: a GROUP BY time() reduction of one series' fields over a time range,
answered from the series-cache copy's arrays in one pass.

A Grafana per-host panel, and TSBS's single-groupby queries, send one shape again and again
with a new time range (or host)::

    SELECT max(usage_user) FROM cpu WHERE hostname = 'host_5' AND time >= ... AND time < ...
    GROUP BY time(1m)

The general run (select.py) answers it in ~200 µs, most of it its generality (frames, per-call
stages, shared derived arrays, the state it keeps for the next run) around ~40 µs of numpy. For
a plan of exactly this form :func:`run` gives the same series straight from the copy, and
:func:`extent` what that run reads and answers (bounded.py's check) without setting up a general
run: ~60 µs instead of ~200, and a new text of that query ~0.26 ms in process instead of ~0.46
(benchmarks/README.md).

The form: a SELECT of one measurement (no regex, no subquery), GROUP BY time() alone (no tags, no
time zone), ascending, without INTO, LIMIT, OFFSET, SLIMIT or SOFFSET, every field a call
``count|sum|mean|min|max|first|last(field)`` of a float or integer field (no cast), filled with
null, none, a number or previous; the range bounded at both ends; the WHERE's tag terms alone
pick exactly one series of the copy, which covers the range. For anything else :func:`run`
returns None and the general run answers, as it does where it would merge calls that have points
in different windows (fill(none)), or a call has no point while another has.

What makes the answer the same: the same rows (``CachedTable.one_series_rows``, as the general
read finds them: retention cut-off, day copies), the reducers' own float steps (reducers.py:
partial sums and means per shard as 1.x forms them), the same windows and grid (functions.py,
fill.py), fill values, max-select-point budget per call and NaN-to-null. tests/engine/
test_influxql_dashboard.py holds its answers to the general run's on random data, queries and fills.

Must not: build a copy (``extent``), read through DuckDB, or answer a plan the general run would
answer differently. InfluxDB 3's dialect (``/api/v3/query_influxql``) is not answered here (its
fill and NaN rules differ): the executor asks only for 1.x's.
"""

from __future__ import annotations

import threading
from typing import Optional

import numpy as np

from . import ast
from .ast import Call, FillOption, VarRef
from .cachescan import CachedDays, CachedTable
from .fill import _cast_fill, _fill_previous, _PointBudget
from .functions import MAX_TIME, MIN_TIME, Vec, nan_to_null
from .planner import PreparedSelect
from .points import Points, _starts, shard_duration, shard_of
from .reducers import _partial_combine_mean, _partial_combine_sum, window_extreme_values
from .scan import Scanner, column_types
from .select import Extent
from .series import SeriesData

__all__ = ["run", "extent"]

_CALLS = frozenset({"count", "sum", "mean", "min", "max", "first", "last"})
_FILLS = frozenset({FillOption.NULL, FillOption.NONE, FillOption.NUMBER, FillOption.PREVIOUS})
#: the copy's column types (seriescache.Column.kind) read here, as InfluxQL names them
_KINDS = {"float": "float", "int": "integer"}


def run(p: PreparedSelect, scanner: Scanner) -> Optional[list[SeriesData]]:
    """The series of plan ``p`` (1.x's answer) when it has the dashboard form and the series
    cache answers it; None: the general run answers (nothing was read)."""
    got = _taken(p, scanner)
    if got is None:
        got = _reader(p, scanner, None, True)
    if got is None:
        return None
    calls, m, st, a, b = got
    time = st.time[a:b]
    shard_dur = shard_duration(m.database.retention_ns)
    whole = None   # the windows of every row's time: the calls of fields set in every row share them
    reduced = []
    for _key, c, kind in calls:
        col = st.columns.get(c.args[0].name)
        if col is None or _KINDS.get(col.kind) != kind:
            return None
        valid = col.valid[a:b]
        if valid.all():
            t, v = time, col.data[a:b]
            seg = whole = whole or _Segment(time, p.interval, p.offset)
        else:
            t, v = time[valid], col.data[a:b][valid]
            seg = _Segment(t, p.interval, p.offset)
        value = _reduce(c.name, kind, t, v, seg, shard_dur)
        if value is None:
            return None
        reduced.append((seg, value))
    if not any(len(seg.numbers) for seg, _ in reduced):
        return []   # no call has a point: no series (as the general run's merge of none)
    if not all(len(seg.numbers) for seg, _ in reduced):
        return None
    if p.fill is FillOption.NONE:
        numbers = reduced[0][0].numbers
        if any(not np.array_equal(seg.numbers, numbers) for seg, _ in reduced[1:]):
            return None   # rows merged from calls with points in different windows
        windows, values = numbers * np.int64(p.interval) + np.int64(p.offset), [v for _, v in reduced]
    else:
        windows, values = _filled(p, scanner, calls, reduced)
    by_key = {key: v for (key, _c, _k), v in zip(calls, values)}
    cols = [nan_to_null(by_key[ast.text(f.expr)]) for f in p.stmt.fields]
    return [SeriesData(m.name, {}, windows, cols)]


class _Segment:
    """Runs of points in one window: each run's window number (``window start = number x
    interval + offset``, functions.window_starts' arithmetic), first point and the point past its
    last."""

    __slots__ = ("numbers", "starts", "ends")

    def __init__(self, t: np.ndarray, interval: int, offset: int):
        num = (t - np.int64(offset)) // np.int64(interval)
        self.starts = _starts([num])
        self.ends = np.append(self.starts[1:], len(t))
        self.numbers = num[self.starts]


def extent(p: PreparedSelect, scanner: Scanner, max_series: int) -> Optional[Extent]:
    """What :func:`run` reads and answers for ``p`` (rows, cells), counted from the copy at hand
    (none is built), or None: not the dashboard form, or no copy answers it."""
    got = _reader(p, scanner, max_series, False)
    _AHEAD.held = None if got is None else (_inputs(p, scanner), got)
    if got is None:
        return None
    _calls, _m, _st, a, b = got
    return Extent(b - a, _windows(p)[1] * max(1, len(p.columns)), False)


#: per thread: (what _reader read of a plan, what it found) of the last :func:`extent`, for the
#: run of that plan that follows it on the same thread. A new text's bound check (bounded.py) and
#: run both looked up the series copy and its rows (~30 µs of a new text's ~190 in process). Taken
#: once, and only when nothing was committed to the data directory in between (its change signal:
#: every node bumps it after each write, snapshot and catalog commit), for the same plan at the
#: same ``now``: then the run would find the same copy and rows.
_AHEAD = threading.local()


def _inputs(p: PreparedSelect, scanner: Scanner) -> Optional[tuple]:
    """What :func:`_reader` depends on for ``p``: the run's plan is a copy of the bound check's
    (executor._run_copy), which shares its statement, condition and sources. None: not known."""
    signal = scanner.engine.catalog.data_signal
    if signal is None:
        return None
    return (p.stmt, p.condition, p.sources, signal.value(), scanner.now_ns, p.start, p.end, p.read_start)


def _taken(p: PreparedSelect, scanner: Scanner):
    held = getattr(_AHEAD, "held", None)
    if held is None:
        return None
    _AHEAD.held = None
    inputs, got = held
    mine = _inputs(p, scanner)
    if inputs is None or mine is None:
        return None
    same = all(x is y for x, y in zip(inputs[:3], mine[:3])) and inputs[3:] == mine[3:]
    return got if same else None


def forget() -> None:
    """Drop what :func:`extent` kept for a run on this thread (the run will not follow)."""
    _AHEAD.held = None


def _windows(p: PreparedSelect) -> tuple[int, int]:
    """(the number of the range's first window, how many windows the range meets); window number
    k starts at k x interval + offset (the range's first window does not start at MIN_TIME: see
    _reader)."""
    first = (p.start - p.offset) // p.interval
    return first, (p.end - p.offset) // p.interval - first + 1


def _reader(p: PreparedSelect, scanner: Scanner, max_series: Optional[int], build: bool):
    """(the calls, the measurement, the copy, the first row, the row past the last) of the one
    series ``p`` reads, or None: not the form, or no copy answers it."""
    calls = _calls(p)
    if calls is None or p.interval <= 0 or p.location is not None or not p.ascending or p.dimensions \
            or p.fill not in _FILLS or p.extra_intervals or p.omit_time or len(p.sources) != 1 \
            or p.sources[0].subquery is not None or len(p.sources[0].measurements) != 1:
        return None
    lo, hi = max(p.start, p.read_start), p.end
    if p.start - p.interval - abs(p.offset) <= MIN_TIME or hi >= MAX_TIME or lo > hi:
        return None   # (the first window would start at MIN_TIME, which 1.x shows as 0)
    m = p.sources[0].measurements[0]
    kinds = []
    for _key, c in calls:
        ref = c.args[0]
        kind = m.fields.get(ref.name)
        if kind not in ("float", "integer") or ref.name in m.tags or p.ref_type(ref) != kind:
            return None
        kinds.append(kind)
    reader = scanner.cached(m, p.condition, column_types(m), p.read_start, p.end, max_series=max_series,
                            build=build)
    if isinstance(reader, CachedDays):
        reader = reader.table_for(lo, hi)
    if not isinstance(reader, CachedTable):
        return None
    rows = reader.one_series_rows(lo, hi)
    if rows is None:
        return None
    return tuple((k, c, kind) for (k, c), kind in zip(calls, kinds)), m, reader.st, *rows


def _calls(p: PreparedSelect) -> Optional[tuple]:
    """The statement's distinct calls ((text, call), in field order) when its structure is
    the form's, else None; worked out once per shape."""
    return ast.shape_memo(p.stmt, "_dashboard_calls", lambda: _form_calls(p.stmt))


def _form_calls(stmt) -> Optional[tuple]:
    if stmt.target is not None or stmt.limit or stmt.offset or stmt.slimit or stmt.soffset or not stmt.fields:
        return None
    calls: dict[str, Call] = {}
    for f in stmt.fields:
        c = f.expr
        if not isinstance(c, Call) or c.name not in _CALLS or len(c.args) != 1 \
                or not isinstance(c.args[0], VarRef) or c.args[0].type is not None:
            return None
        calls.setdefault(ast.text(c), c)
    return tuple(calls.items())


def _reduce(name: str, kind: str, t: np.ndarray, v: np.ndarray, seg: _Segment, shard_dur: int) -> Optional[Vec]:
    """The call's value in each window with a point (``seg``) over one series' points ``t``/``v``
    (time ascending, no two at one time), or None: the general run decides."""
    starts, ends = seg.starts, seg.ends
    if len(t) == 0:
        return Vec.nulls(0, "integer" if name == "count" else "float" if name == "mean" else kind)
    ones = np.ones(len(starts), bool)
    if name == "count":
        return Vec("integer", (ends - starts).astype(np.int64), ones)
    if name in ("min", "max"):
        vals = window_extreme_values(name, kind, v, starts)   # (None: a NaN, kept its own way)
        return None if vals is None else Vec(kind, vals, ones)
    if name in ("first", "last"):
        return Vec(kind, v[starts if name == "first" else ends - 1], ones)
    if name == "sum" and kind == "integer":
        with np.errstate(over="ignore"):
            return Vec(kind, np.add.reduceat(v, starts), ones)
    # float sums and every mean: 1.x's partials per shard (reducers.py), for the same points
    shard = shard_of(t, shard_dur)
    pts = Points(np.zeros(len(t), np.int64), t, Vec(kind, v, np.ones(len(t), bool)), [], None, shard)
    combine = _partial_combine_sum if name == "sum" else _partial_combine_mean
    return Vec("float", combine(pts, starts, ends), ones)


def _filled(p: PreparedSelect, scanner: Scanner, calls: tuple, reduced: list) -> tuple[np.ndarray, list[Vec]]:
    """(every window of the range, each call's values there filled as 1.x's fill iterator fills
    them); raises ExecError past max-select-point, counted per call as fill.py counts it."""
    first, n = _windows(p)
    grid = (np.arange(n, dtype=np.int64) + np.int64(first)) * np.int64(p.interval) + np.int64(p.offset)
    values = []
    placed: dict = {}   # id(segment) -> (its windows' rows in the grid, which rows have a point)
    for (_key, c, _kind), (seg, v) in zip(calls, reduced):
        _PointBudget(scanner.engine).take_groups(n, [len(seg.numbers)])
        got = placed.get(id(seg))
        if got is None:
            slot = seg.numbers - np.int64(first)
            have = np.zeros(n, bool)
            have[slot] = True
            got = placed[id(seg)] = (slot, have)
        slot, have = got
        data = np.zeros(n, v.data.dtype)
        data[slot] = v.data
        valid = have.copy()
        fill, fill_value = p.fill, p.fill_value
        if fill is FillOption.NULL and c.name == "count":
            fill, fill_value = FillOption.NUMBER, 0
        if fill is FillOption.NUMBER:
            fv = _cast_fill(fill_value, v.kind)
            if fv is not None:
                data[~have] = fv
                valid[:] = True
        elif fill is FillOption.PREVIOUS:
            _fill_previous(np.zeros(n, np.int64), have, data, valid)
        values.append(Vec(v.kind, data, valid))
    return grid, values
