"""1.x's fill iterator of a GROUP BY time() SELECT (mixin :class:`_Fill` of the run): the grid of
windows of each series (built for all series at once when the range is bounded and regular;
stepped window by window in a time zone), the budget of points it may build (max-select-point),
and fill(null|number|previous|linear) over it.  Must not read data or reduce points.
"""

from __future__ import annotations

from typing import Optional

import numpy as np

from .ast import Call, FillOption
from .errors import ExecError
from .functions import MIN_TIME, Vec, window_start
from .points import Points, _starts, frozen
from ..querylimits import limits_for


def _grid_union(grid: np.ndarray, times: np.ndarray, interval: int, asc: bool) -> np.ndarray:
    """``np.union1d(grid, times)`` for a regular grid (every ``interval`` from its first window):
    the grid itself (sorted ascending) when every time is one of its windows, as aggregated points
    are, without sorting the two together."""
    lo, hi = (int(grid[0]), int(grid[-1])) if asc else (int(grid[-1]), int(grid[0]))
    if len(times) and int(times.min()) >= lo and int(times.max()) <= hi \
            and not ((times - np.int64(lo)) % np.int64(interval)).any():
        return grid if asc else grid[::-1]
    return np.union1d(grid, times)


class _Fill:
    """The fill stage of :class:`~.select._Run`."""

    def fill(self, pts: Points, c: Call, start: int) -> Points:
        """1.x's fill iterator over the windows [window(start), window(end)] of each group."""
        p = self.p
        fill = p.fill
        fill_value = p.fill_value
        if fill is FillOption.NULL and c.name == "count":
            fill, fill_value = FillOption.NUMBER, 0
        interval, offset, tz = p.interval, p.offset, p.location
        if len(pts) == 0:
            return pts
        kind = pts.value.kind

        def grid():
            # the calls of a statement mostly have points in the same windows: the grid is
            # shared by the arrays' identity (see _reduce), else by their contents
            key = ("fill", start, p.end, pts.gid.tobytes(), pts.time.tobytes()) if len(pts) <= 100_000 else None
            got = self._derived.get(key) if key is not None else None
            if got is None:
                if p.ascending:
                    s_lim = window_start(start, interval, offset, tz) if start > MIN_TIME else MIN_TIME
                    e_lim = window_start(p.end, interval, offset, tz)
                else:
                    s_lim = window_start(p.end, interval, offset, tz)
                    e_lim = window_start(start, interval, offset, tz) if start > MIN_TIME else MIN_TIME
                out_gid, out_time, at = self._fill_grid(pts, s_lim, e_lim)
                found = at >= 0
                # every window has its point, in order: nothing to fill (rows and order as they are)
                same = len(at) == len(pts) and bool(found.all()) and bool((at == np.arange(len(at))).all())
                got = frozen((out_gid, out_time, at, found, np.where(found, at, 0), same))
                if key is not None:
                    self._derived[key] = got
            return got

        out_gid, out_time, idx, have, safe, same = self.shared(("fill", start, p.end), (pts.gid, pts.time), grid)
        if same and not pts.aux:
            # what every fill below gives when no window lacks a point (the values as they are)
            return Points(np.asarray(out_gid, np.int64), np.asarray(out_time, np.int64), pts.value, [])
        v = pts.value.take(safe)
        data, valid = v.data, v.valid & have   # take's own copies: _filled may write to them
        return self._filled(pts, fill, fill_value, kind, interval, out_gid, out_time, idx, have, safe, data, valid)

    def _fill_grid(self, pts: Points, s_lim: int, e_lim: int) -> tuple:
        """(group, time, index into ``pts`` or -1) of every row the fill iterator emits."""
        p = self.p
        interval, offset, tz, asc = p.interval, p.offset, p.location, p.ascending
        if not tz and s_lim != MIN_TIME and e_lim != MIN_TIME:
            got = self._regular_fill_grid(pts, s_lim, e_lim)
            if got is not None:
                return got
        starts = _starts([pts.gid]).tolist()
        ends = starts[1:] + [len(pts)]
        out_gid, out_time, out_idx = [], [], []
        budget = _PointBudget(self.scanner.engine)
        for s, e in zip(starts, ends):
            g = int(pts.gid[s])
            times = pts.time[s:e]
            budget.take(s_lim, e_lim, times, interval, offset, asc)
            if tz:
                grid = _fill_grid_tz(s_lim, e_lim, times, interval, offset, tz, asc)
            else:
                if asc:
                    first = s_lim if s_lim != MIN_TIME else int(window_start(int(times[0]), interval, offset))
                    last = e_lim
                    grid = _window_grid(first, last, interval)
                else:
                    first = s_lim
                    last = e_lim if e_lim != MIN_TIME else int(window_start(int(times[-1]), interval, offset))
                    grid = _window_grid(first, last, -interval)
            # points falling outside the grid are kept as they come (1.x emits them)
            union = _grid_union(grid, times, interval, asc) if len(grid) and not tz else \
                np.union1d(grid, times) if len(grid) else times
            if not asc:
                union = union[::-1]
            tt = times if asc else times[::-1]
            if len(tt) > 1 and not (tt[1:] > tt[:-1]).all():
                pos = {int(t): i for i, t in enumerate(times.tolist())}
                at = np.array([s + pos[t] if t in pos else -1 for t in union.tolist()], np.int64)
            else:
                k = np.minimum(np.searchsorted(tt, union), len(tt) - 1)
                hit = tt[k] == union
                at = np.where(hit, s + (k if asc else len(tt) - 1 - k), -1)
            out_gid.append(np.full(len(union), g, np.int64))
            out_time.append(np.asarray(union, np.int64))
            out_idx.append(np.asarray(at, np.int64))
        if len(out_gid) == 1:
            return out_gid[0], out_time[0], out_idx[0]
        return np.concatenate(out_gid), np.concatenate(out_time), np.concatenate(out_idx)

    def _regular_fill_grid(self, pts: Points, s_lim: int, e_lim: int) -> Optional[tuple]:
        """What :meth:`_fill_grid` gives when the range is bounded and every point is at one of
        its windows, in order (aggregated points are): every group has the same windows, built
        for all groups at once.  None otherwise."""
        step = self.p.interval if self.p.ascending else -self.p.interval
        m = (e_lim - s_lim) // step + 1
        if m <= 0:
            return None
        t, gid = pts.time, pts.gid
        rel = t - np.int64(s_lim)
        slot = rel // np.int64(step)
        if gid[0] == gid[-1]:
            # one group (its points are contiguous): in order, the first and last slots bound them
            n = len(t)
            if (n > 1 and not (slot[1:] > slot[:-1]).all()) or slot[0] < 0 or slot[-1] >= m \
                    or (rel % np.int64(step)).any():
                return None
            _PointBudget(self.scanner.engine).take_groups(m, [n])
            at = np.full(m, -1, np.int64)
            at[slot] = np.arange(n, dtype=np.int64)
            return np.full(m, gid[0], np.int64), np.arange(m, dtype=np.int64) * np.int64(step) + np.int64(s_lim), at
        if (slot < 0).any() or (slot >= m).any() or (rel % np.int64(step)).any():
            return None
        starts = _starts([gid])
        n, groups = len(t), len(starts)
        new_group = np.zeros(n, bool)
        new_group[starts] = True
        if ((slot[1:] <= slot[:-1]) & ~new_group[1:]).any():
            return None   # not one point per window in order: the general path decides
        lens = np.diff(np.append(starts, n))
        _PointBudget(self.scanner.engine).take_groups(m, lens)
        group_of = np.cumsum(new_group) - 1
        at = np.full(groups * m, -1, np.int64)
        at[group_of * m + slot] = np.arange(n, dtype=np.int64)
        grid = np.arange(m, dtype=np.int64) * np.int64(step) + np.int64(s_lim)
        return np.repeat(gid[starts], m), np.tile(grid, groups), at

    def _filled(self, pts: Points, fill, fill_value, kind: str, interval: int, out_gid, out_time, idx, have, safe,
                data, valid) -> Points:
        """The fill iterator's rows: ``data``/``valid`` at the grid rows, the gaps filled."""
        if fill is FillOption.NUMBER:
            fv = _cast_fill(fill_value, kind, self.v3)
            if fv is not None:
                data[~have] = fv
                valid = valid | ~have
        elif fill is FillOption.PREVIOUS:
            _fill_previous(np.asarray(out_gid, np.int64), have, data, valid)
        elif fill is FillOption.LINEAR:
            if kind in ("float", "integer", "unsigned"):
                data = _fill_linear(np.asarray(out_gid, np.int64), np.asarray(out_time, np.int64), interval, kind,
                                    have, data, valid)
        aux = [a.take(safe) for a in pts.aux]
        aux = [Vec(a.kind, a.data, a.valid & have) for a in aux]
        if self.v3 and fill is FillOption.NUMBER:
            # InfluxDB 3 fills the other selected fields of a filled window too
            filled = []
            for a in aux:
                fa = _cast_fill(fill_value, a.kind if a.kind != "null" else "float", True)
                if fa is None:
                    filled.append(a)
                    continue
                d = a.data.copy() if a.kind != "null" else np.zeros(len(a.data), np.float64)
                d[~a.valid] = fa
                filled.append(Vec(a.kind if a.kind != "null" else "float", d, np.ones(len(d), bool)))
            aux = filled
        return Points(np.asarray(out_gid, np.int64), np.asarray(out_time, np.int64), Vec(kind, data, valid), aux)


def _fill_linear(gids: np.ndarray, times: np.ndarray, interval: int, kind: str, have: np.ndarray,
                 data: np.ndarray, valid: np.ndarray) -> np.ndarray:
    """fill(linear): a row without a point (``~have``) between two rows of its group with points
    whose values are not null takes the value on the line through them, by window number (1.x's
    linearFloat / linearInteger); ``valid`` is set in place, the values come back (a copy).

    Found for all rows at once: a row-by-row search for the next point made a sparse series over
    many windows quadratic (1M empty windows froze the server)."""
    n = len(gids)
    res = data.copy()
    if n == 0 or have.all():
        return res
    rows = np.arange(n)
    new_group = np.ones(n, bool)
    new_group[1:] = gids[1:] != gids[:-1]
    first = np.maximum.accumulate(np.where(new_group, rows, 0))
    last_row = np.append(np.flatnonzero(new_group)[1:], n) - 1
    last = last_row[np.cumsum(new_group) - 1]                  # each row's group's last row
    prev = np.maximum.accumulate(np.where(have, rows, -1))     # the last row with a point, at or before
    nxt = np.minimum.accumulate(np.where(have, rows, n)[::-1])[::-1]   # the next, at or after
    safe_prev, safe_next = np.maximum(prev, 0), np.minimum(nxt, n - 1)
    target = ~have & (prev >= first) & (nxt <= last) & valid[safe_prev] & valid[safe_next]
    if not target.any():
        return res
    i, a, b = np.flatnonzero(target), safe_prev[target], safe_next[target]
    t0, t1, ti = times[a] // interval, times[b] // interval, times[i] // interval
    if kind == "float":
        y0 = data[a]
        res[i] = (data[b] - y0) / (t1 - t0).astype(np.float64) * (ti - t0).astype(np.float64) + y0
    elif kind == "integer":
        # 1.x's linearInteger: the int64 difference (wrapping), then float64 steps, and the value
        # truncated toward zero (-1.5 is -1, where integer division would give -2)
        with np.errstate(over="ignore", invalid="ignore"):
            step = (data[b] - data[a]).astype(np.float64) / (t1 - t0).astype(np.float64)
            res[i] = np.trunc(step * (ti - t0).astype(np.float64) + data[a].astype(np.float64)).astype(np.int64)
    else:
        # unsigned: in Python's integers (1.6.7 was not recorded filling unsigned values linearly)
        for k, x0, x1, w0, w1, wi in zip(i.tolist(), data[a].tolist(), data[b].tolist(), t0.tolist(), t1.tolist(),
                                         ti.tolist()):
            res[k] = ((x1 - x0) // (w1 - w0)) * (wi - w0) + x0
    valid[target] = True
    return res


def _fill_previous(gids: np.ndarray, have: np.ndarray, data: np.ndarray, valid: np.ndarray) -> None:
    """fill(previous) in place: a row without a point (``~have``) takes the value of the last row
    of its group that had one, when that value is not null (rows sorted by group)."""
    n = len(gids)
    if n == 0 or have.all():
        return
    rows = np.arange(n)
    # the last row with a point at or before each row, and the first row of each row's group
    last = np.maximum.accumulate(np.where(have, rows, -1))
    new_group = np.ones(n, bool)
    new_group[1:] = gids[1:] != gids[:-1]
    first = np.maximum.accumulate(np.where(new_group, rows, 0))
    src = np.maximum(last, 0)
    take = ~have & (last >= first) & valid[src]
    if take.any():
        data[take] = data[src[take]]
        valid[take] = True


def _cast_fill(v, kind: str, v3: bool = False):
    """FILL(number) as a value of ``kind``: an integer truncates it; 1.x fills booleans with
    false and strings with "" (its casts of a number to those types)."""
    if v is None:
        return None
    if kind == "float":
        return float(v)
    if kind == "integer":
        return int(v)   # (toward zero: fill(2.5) is 2, fill(-2.5) is -2, as 1.6.7 answers)
    if kind == "unsigned":
        return int(v) if int(v) >= 0 else None
    if not v3 and kind in ("boolean", "string"):
        # 1.x's castToBoolean / castToString of a number: the type's zero value, not a null
        return False if kind == "boolean" else ""
    return None


class _PointBudget:
    """1.x's ``max-select-point`` for the fill grid: the windows x series a GROUP BY time() fill
    would build are counted before any is allocated (``time(1s) fill(0)`` over a year is 31.5M
    rows per series)."""

    def __init__(self, engine):
        self.limit = limits_for(engine).max_select_points
        self.used = 0

    def take_groups(self, windows: int, points) -> None:
        """:meth:`take` for groups that each have ``windows`` windows (a bounded range) and
        ``points[i]`` points: the same running count, the same error at the same group."""
        if not self.limit or windows <= 0:
            return
        if len(points) == 1:
            self.used += windows + int(points[0])
            if self.used > self.limit:
                raise ExecError(f"max-select-point limit exceeed: ({self.used}/{self.limit})")
            return
        used = self.used + np.cumsum(np.asarray(points) + windows)
        over = np.flatnonzero(used > self.limit)
        if len(over):
            self.used = int(used[over[0]])
            raise ExecError(f"max-select-point limit exceeed: ({self.used}/{self.limit})")
        self.used = int(used[-1]) if len(used) else self.used

    def take(self, s_lim: int, e_lim: int, times: np.ndarray, interval: int, offset: int, asc: bool) -> None:
        if not self.limit or not len(times) or interval <= 0:
            return
        lo = s_lim if asc else e_lim
        hi = e_lim if asc else s_lim
        if lo == MIN_TIME:
            lo = int(window_start(int(times.min()), interval, offset))
        self.used += max(0, (hi - lo) // interval + 1) + len(times)
        if self.used > self.limit:
            raise ExecError(f"max-select-point limit exceeed: ({self.used}/{self.limit})")


def _window_grid(first: int, last: int, step: int) -> np.ndarray:
    """``first``, ``first + step``, ... up to ``last`` included, counted in integers
    (np.arange counts in floats: over a range of months in ns it drops the last window)."""
    m = (last - first) // step + 1
    if m <= 0:
        return np.zeros(0, np.int64)
    return np.arange(m, dtype=np.int64) * np.int64(step) + np.int64(first)


def _fill_grid_tz(s_lim, e_lim, times, interval, offset, tz, asc) -> np.ndarray:
    from .functions import zone_offset
    first = s_lim if s_lim != MIN_TIME else window_start(int(times[0]), interval, offset, tz)
    last = e_lim
    out = []
    t = first
    cur_off = zone_offset(t, tz)
    step = interval if asc else -interval
    guard = 0
    while (t <= last) if asc else (t >= last):
        out.append(t)
        t += step
        o = zone_offset(t - 1, tz)
        if o != cur_off:
            diff = cur_off - o
            if abs(diff) < interval:
                t += diff
            cur_off = o
        guard += 1
        if guard > 10_000_000:
            break
    return np.array(out, np.int64)


def v1_outputs_kept(gids: list, wins: list, empty: list, p) -> int:
    """How many of a reduce iterator's outputs, one per (group, window) in the order 1.x reads
    them, reach 1.x's answer when some are empty (``empty[k]``: a percentile() of too few points)
    and the call is the statement's only one: 1.x's reduce iterator answers an empty output with
    nil, which is its end of stream. Its cursor reads a nil right after a point as nothing and
    reads on, and ends the answer at a nil read first or right after another nil. Between the two,
    with GROUP BY time() and a fill other than none, 1.x's fill iterator fills a nil read while
    the current group still has windows as a gap, and passes it on otherwise. Worked out on
    InfluxDB 1.6.7's answers (tests/engine/test_influxql_diff.py)."""
    n = len(gids)
    read = _filled_reads(gids, wins, empty, p) if p.interval and p.fill is not FillOption.NONE \
        else _plain_reads(empty)
    after_point = False
    for nil, upto in read:
        if nil and not after_point:
            return upto
        after_point = not nil
    return n


def _plain_reads(empty: list):
    """(whether it is nil, outputs read so far) per read of the reduce iterator, then its end."""
    for k, e in enumerate(empty):
        yield e, k
    while True:
        yield True, len(empty)


def _filled_reads(gids: list, wins: list, empty: list, p):
    """(whether it is nil, outputs read so far) per read of 1.x's fill iterator over the reduce
    iterator's outputs (its Next: a point read again once put back, a nil put back is gone)."""
    n, interval = len(gids), p.interval
    first = window_start(p.start, interval, p.offset, None)
    last = window_start(p.end, interval, p.offset, None)
    step, begin, end = (interval, first, last) if p.ascending else (-interval, last, first)
    k = 0          # outputs read
    held = None    # the output put back, to be read again

    def pull():
        nonlocal k, held
        if held is not None:
            i, held = held, None
            return i
        if k >= n:
            return None
        k += 1
        return None if empty[k - 1] else k - 1

    while True:   # (its first read peeks: a nil there is answered as nil, and peeked again)
        i = pull()
        if i is not None:
            break
        yield True, k
    held = i
    group, t = gids[i], begin
    while True:
        i = pull()
        if i is None or gids[i] != group:
            if (t <= end) if step > 0 else (t >= end):
                held = i
                yield False, k      # the window filled
                t += step
                continue
            if i is None:
                yield True, k
                continue
            group, t = gids[i], begin
        if (wins[i] - t) * step > 0:        # a later window: this one filled, the point kept
            held = i
        yield False, k
        t += step
