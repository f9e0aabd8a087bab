"""Reducers of an aggregate SELECT: one point per (group, window) segment for count, sum, mean,
min, max, first, last, spread, stddev, median, mode and percentile (``_reduce``), with 1.x's
tie-breaks and float steps (per-series, per-shard partials combined as 1.x combines them), and
the vectorised short cuts where those steps change nothing.  Works on points handed to it in
segment order: must not read or order points.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Optional

import numpy as np

from .ast import Call
from .errors import ExecError, _iter_type
from .functions import MIN_TIME, Vec, seq_sum_fast
from .points import Points, _starts, frozen

if TYPE_CHECKING:  # pragma: no cover
    from .select import _Run


# ---------------------------------------------------------------------------------------------
# reducers


def _count_points(d: Points, win: np.ndarray) -> Points:
    if len(d) == 0:
        return Points.empty("integer")
    starts = _starts([d.gid, win])
    counts = np.diff(np.append(starts, len(d)))
    return Points(d.gid[starts], np.full(len(starts), MIN_TIME, np.int64) if True else None,
                  Vec("integer", counts.astype(np.int64), np.ones(len(starts), bool)))


def _reduce(name: str, c: Call, pts: Points, win: np.ndarray, starts: np.ndarray, run: _Run) -> Points:
    """One (or zero) point per segment (group, window)."""
    n = len(pts)
    kind = pts.value.kind
    vals = pts.value.data
    times = pts.time
    p_start, interval = run.p.start, run.p.interval

    def base():
        # aggregates report the window's start (1.x's reduce iterator sets ZeroTime to it)
        # read-only: shared (below) keeps what is worked out from shared arrays only
        zt = frozen(win[starts] if interval else np.full(len(starts), p_start, np.int64))
        if not interval or not run.p.location:
            # and the interval iterator gives a window's start its own window's start: said
            # here, it need not work it out again for every call (see interval_points)
            run.shared(("interval", p_start), (zt,), lambda: np.where(zt == MIN_TIME, 0, zt))
        return pts.gid[starts], zt, np.ones(len(starts), bool)

    gid, zero_t, ones = run.shared(("reduce", p_start), (pts.gid, win, starts), base)
    if name in ("min", "max") and interval and not run.p.location and not pts.aux:
        got = _window_extremes(name, pts.value, starts, gid, zero_t, ones)
        if got is not None:
            return got
    ends = np.append(starts[1:], n)
    lengths = ends - starts
    if name == "count":
        return Points(gid, zero_t, Vec("integer", lengths.astype(np.int64), ones))
    if name == "sum":
        if kind == "float":
            res = _partial_combine_sum(pts, starts, ends, run.p.ascending)
            return Points(gid, zero_t, Vec("float", res, ones))
        if kind in ("integer", "unsigned"):
            with np.errstate(over="ignore"):
                res = np.add.reduceat(vals, starts)
            return Points(gid, zero_t, Vec(kind, res, ones))
        raise ExecError(f"unsupported sum iterator type: *query.{_iter_type(kind)}InterruptIterator")
    if name == "mean":
        if kind not in ("float", "integer", "unsigned"):
            raise ExecError(f"unsupported mean iterator type: *query.{_iter_type(kind)}InterruptIterator")
        res = _partial_combine_mean(pts, starts, ends, run.p.ascending)
        return Points(gid, zero_t, Vec("float", res, ones))
    if name in ("min", "max", "first", "last"):
        if name in ("min", "max") and kind == "string":
            raise ExecError(f"unsupported {name} iterator type: *query.stringInterruptIterator")
        sel = _edge_points(name, times, starts, ends) if name in ("first", "last") else None
        if sel is None and kind in ("float", "integer", "unsigned"):
            sel = _select_vectorized(name, kind, vals, times, starts, n)
        elif sel is None:
            sel = np.array([_select_point(name, kind, vals, times, s, e)
                            for s, e in zip(starts.tolist(), ends.tolist())], np.int64)
        res = pts.take(sel)
        return Points(res.gid, res.time, res.value, res.aux)
    if name == "spread":
        if kind not in ("float", "integer", "unsigned"):
            raise ExecError(f"unsupported spread iterator type: *query.{_iter_type(kind)}InterruptIterator")
        mx = np.maximum.reduceat(vals, starts)
        mn = np.minimum.reduceat(vals, starts)
        with np.errstate(over="ignore"):
            res = mx - mn
        return Points(gid, zero_t, Vec(kind, res, ones))
    if name == "stddev":
        if kind not in ("float", "integer", "unsigned"):
            raise ExecError(f"unsupported stddev iterator type: *query.{_iter_type(kind)}InterruptIterator")
        out = np.empty(len(starts), np.float64)
        fv = vals.astype(np.float64)
        for i, (s, e) in enumerate(zip(starts.tolist(), ends.tolist())):
            a = fv[s:e].tolist()
            if len(a) < 2:
                out[i] = math.nan
                continue
            mean = 0.0
            cnt = 0
            for x in a:
                if kind == "float" and x != x:
                    continue
                cnt += 1
                mean += (x - mean) / float(cnt)
            var = 0.0
            for x in a:
                if kind == "float" and x != x:
                    continue
                d = x - mean
                var += d * d
            out[i] = math.sqrt(var / float(cnt - 1)) if cnt > 1 else math.nan
        # Fewer than two points: 1.x's NaN (JSON shows null); InfluxDB 3 (DataFusion) answers null,
        # so every format of /api/v3/query_influxql shows the same empty value.
        valid = ~np.isnan(out) if run.v3 else ones
        return Points(gid, zero_t, Vec("float", out, valid))
    if name == "median":
        if kind not in ("float", "integer", "unsigned"):
            raise ExecError(f"unsupported median iterator type: *query.{_iter_type(kind)}InterruptIterator")
        out = np.empty(len(starts), np.float64)
        for i, (s, e) in enumerate(zip(starts.tolist(), ends.tolist())):
            a = np.sort(vals[s:e], kind="stable")
            m = len(a)
            if m == 1:
                out[i] = float(a[0])
            elif m % 2 == 0:
                lo, hi = a[m // 2 - 1], a[m // 2]
                if kind == "float":
                    out[i] = lo + (hi - lo) / 2
                else:
                    out[i] = float(lo) + float(int(hi) - int(lo)) / 2
            else:
                out[i] = float(a[m // 2])
        return Points(gid, zero_t, Vec("float", out, ones))
    if name == "mode":
        out = []
        for s, e in zip(starts.tolist(), ends.tolist()):
            out.append(_mode(vals[s:e], times[s:e], kind))
        data = np.array(out, dtype=vals.dtype) if kind != "string" else np.array(out, dtype=object)
        return Points(gid, zero_t, Vec(kind, data, ones))
    if name == "percentile":
        if kind not in ("float", "integer", "unsigned"):
            raise ExecError(f"unsupported percentile iterator type: *query.{_iter_type(kind)}InterruptIterator")
        pct = float(c.args[1].value)
        sel = []
        first, past = starts.tolist(), ends.tolist()
        at = [int(math.floor(float(e - s) * pct / 100.0 + 0.5)) - 1 for s, e in zip(first, past)]
        empty = [i < 0 or i >= e - s for i, s, e in zip(at, first, past)]
        kept = len(at)
        if not run.v3 and any(empty) and len(run.from_plan("calls", (), run._calls)) == 1:
            # 1.x answers a (group, window) too small for it with its reduce iterator's end: what
            # comes out after it depends on its cursor and fill iterator (fill.v1_outputs_kept);
            # the calls of a statement of several are each read again past it
            from .fill import v1_outputs_kept
            kept = v1_outputs_kept(pts.gid[starts].tolist(), win[starts].tolist(), empty, run.p)
        for s, e, i, none in zip(first[:kept], past[:kept], at, empty):
            if none:
                continue
            o = np.argsort(vals[s:e], kind="stable")
            if not run.v3 and int(np.count_nonzero(vals[s:e] == vals[s:e][o[i]])) > 1:
                # 1.x sorts the points with Go's (unstable) sort.Sort: equal values land where its
                # pdqsort leaves them, which decides the reported time
                from .gosort import sort_order
                o = sort_order(vals[s:e].tolist())
            sel.append(s + int(o[i]))
        if not sel:
            return Points.empty(kind, len(pts.aux))
        res = pts.take(np.array(sel, np.int64))
        return Points(res.gid, res.time, res.value, res.aux)
    raise ExecError(f"unsupported call: {name}")


def _edge_points(name: str, times: np.ndarray, starts: np.ndarray, ends: np.ndarray) -> Optional[np.ndarray]:
    """The point first()/last() keep in each segment when no two of its points share a time (one
    series' points): the earliest or the latest, the first or the last of a segment whose times
    all rise (or all fall).  None when times tie or go both ways (the value then decides)."""
    if len(times) < 2:
        return starts if len(times) else None
    inner = np.ones(len(times) - 1, bool)
    inner[starts[1:] - 1] = False          # the step from one segment into the next
    step = times[1:] - times[:-1]
    if ((step > 0) | ~inner).all():
        return starts if name == "first" else ends - 1
    if ((step < 0) | ~inner).all():
        return ends - 1 if name == "first" else starts
    return None


def _window_extremes(name: str, value: Vec, starts, gid, zero_t, ones) -> Optional[Points]:
    """min()/max() per window under GROUP BY time() without other selected fields: the interval
    iterator then replaces the selected point's time by its window's start and keeps nothing else
    of the point, so the extreme value is the whole answer.  None where the general selection
    may keep another value: NaN, and unsigned values (compared there as floats)."""
    vals = window_extreme_values(name, value.kind, value.data, starts)
    return None if vals is None else Points(gid, zero_t, Vec(value.kind, vals, ones))


def window_extreme_values(name: str, kind: str, vals: np.ndarray, starts: np.ndarray) -> Optional[np.ndarray]:
    """min()/max() of each segment's values (segments starting at ``starts``) when the value
    alone is the answer, else None (NaN, unsigned: see _window_extremes)."""
    if not (kind == "integer" or (kind == "float" and not np.isnan(vals).any())):
        return None
    return (np.maximum if name == "max" else np.minimum).reduceat(vals, starts)


def _select_vectorized(name: str, kind: str, vals, times, starts, n: int) -> np.ndarray:
    """Index of the point 1.x's min/max/first/last reducer keeps in each segment."""
    fast = _select_by_reduce(name, kind, vals, times, starts, n)
    if fast is not None:
        return fast
    seg = np.zeros(n, np.int64)
    seg[starts[1:]] = 1
    seg = np.cumsum(seg)
    if kind == "unsigned":
        v = vals.astype(np.float64)  # order only
        desc = -v
    elif kind == "integer":
        v = vals
        desc = -(vals.astype(np.float64)) if vals.size and vals.min() == np.iinfo(np.int64).min else -vals
    else:
        v = vals
        desc = -vals
    if name == "min":
        order = np.lexsort((times, v, seg))
    elif name == "max":
        order = np.lexsort((times, desc, seg))
    elif name == "first":
        order = np.lexsort((desc, times, seg))
    else:
        order = np.lexsort((desc, -times, seg))
    first_in_seg = np.ones(n, bool)
    so = seg[order]
    first_in_seg[1:] = so[1:] != so[:-1]
    return order[first_in_seg]


def _select_by_reduce(name: str, kind: str, vals, times, starts, n: int) -> Optional[np.ndarray]:
    """What :func:`_select_vectorized`'s sort picks, by segment reductions (several times faster):
    the best value (min/max) or time (first/last), then the tie-breaker, then the earliest row.
    None for the cases the sort order alone gets right (NaN, unsigned)."""
    if n == 0 or kind not in ("float", "integer") or (kind == "float" and np.isnan(vals).any()):
        return None
    lens = np.diff(np.append(starts, n))

    def pick(mask: np.ndarray, key: np.ndarray, largest: bool) -> np.ndarray:
        # rows of `mask` whose `key` is the segment's best among them
        if largest:
            fill = -np.inf if key.dtype.kind == "f" else np.iinfo(key.dtype).min
            best = np.maximum.reduceat(np.where(mask, key, fill), starts)
        else:
            fill = np.inf if key.dtype.kind == "f" else np.iinfo(key.dtype).max
            best = np.minimum.reduceat(np.where(mask, key, fill), starts)
        return mask & (key == np.repeat(best, lens))

    every = np.ones(n, bool)
    if name in ("min", "max"):
        cand = pick(pick(every, vals, name == "max"), times, False)
    elif name == "first":
        cand = pick(pick(every, times, False), vals, True)
    else:
        cand = pick(pick(every, times, True), vals, True)
    rows = np.flatnonzero(cand)
    return rows[np.searchsorted(rows, starts)]


def _select_point(name: str, kind: str, vals, times, s: int, e: int) -> int:
    best = s
    for i in range(s + 1, e):
        v, bv = vals[i], vals[best]
        t, bt = times[i], times[best]
        if kind == "boolean":
            v, bv = bool(v), bool(bv)
        if name == "min":
            if kind == "boolean":
                better = (v != bv and not v) or (v == bv and t < bt)
            else:
                better = v < bv or (v == bv and t < bt)
        elif name == "max":
            if kind == "boolean":
                better = (v != bv and v) or (v == bv and t < bt)
            else:
                better = v > bv or (v == bv and t < bt)
        elif name == "first":
            if kind == "boolean":
                better = t < bt or (t == bt and not v and bv)
            else:
                better = t < bt or (t == bt and v > bv)
        else:
            if kind == "boolean":
                better = t > bt or (t == bt and v and not bv)
            else:
                better = t > bt or (t == bt and v > bv)
        if better:
            best = i
    return best


def _mode(vals, times, kind):
    if len(vals) == 1:
        return vals[0]
    if kind == "boolean":
        t = int(np.count_nonzero(vals))
        return t >= len(vals) - t
    if _top_frequency_tied(vals):
        # which of the values seen equally often wins follows the order 1.x's (unstable) sort.Sort
        # leaves equal values in (the time of each value's first point decides)
        from .gosort import sort_order
        o = sort_order(vals.tolist() if hasattr(vals, "tolist") else list(vals))
    elif kind != "string":
        o = np.argsort(vals, kind="stable")
    else:
        o = sorted(range(len(vals)), key=lambda i: vals[i])
    a = [vals[i] for i in o]
    at = [int(times[i]) for i in o]
    most_freq = 0
    curr_freq = 0
    curr_mode = a[0]
    most_mode = a[0]
    most_time = at[0]
    curr_time = at[0]
    for v, t in zip(a, at):
        if v != curr_mode:
            curr_freq = 1
            curr_mode = v
            curr_time = t
            continue
        curr_freq += 1
        if most_freq > curr_freq or (most_freq == curr_freq and curr_time > most_time):
            continue
        most_freq = curr_freq
        most_mode = v
        most_time = t
    return most_mode


def _top_frequency_tied(vals) -> bool:
    """Whether two values or more are seen most often, at least twice each."""
    _, counts = np.unique(np.asarray(vals, dtype=object if not hasattr(vals, "dtype") else vals.dtype),
                          return_counts=True)
    top = counts.max()
    return bool(top > 1 and np.count_nonzero(counts == top) > 1)


def _partial_keys(pts: Points, s: int, e: int):
    """Per-series partial segments of rows s..e (rows sorted by time within a group window)."""
    sid = pts.sid[s:e] if pts.sid is not None else np.zeros(e - s, np.int64)
    shard = pts.shard[s:e] if pts.shard is not None else np.zeros(e - s, np.int64)
    return sid, shard


def _one_run_segments(pts: Points, starts: np.ndarray) -> bool:
    """Whether every segment's points are of one series and one shard: 1.x's partials of a
    segment are then one, and combining them changes nothing."""
    n = len(pts)
    if n < 2:
        return True
    inner = np.ones(n - 1, bool)
    inner[starts[1:] - 1] = False          # the step from one segment into the next
    for a in (pts.sid, pts.shard):
        if a is not None and ((a[1:] != a[:-1]) & inner).any():
            return False
    return True


def _running_totals(values: np.ndarray, starts: np.ndarray, ends: np.ndarray) -> np.ndarray:
    """Each segment's float values added left to right from its first (np.cumsum's order)."""
    lengths = ends - starts
    if len(starts) <= 64 or int(lengths.max()) > 4 * len(starts):
        return np.array([np.cumsum(values[s:e])[-1] for s, e in zip(starts.tolist(), ends.tolist())],
                        np.float64)
    acc = values[starts].astype(np.float64)
    active = np.arange(len(starts))
    for k in range(1, int(lengths.max())):
        active = active[lengths[active] > k]
        acc[active] += values[starts[active] + k]
    return acc


def _partial_combine_sum(pts: Points, starts, ends, asc: bool = True) -> np.ndarray:
    """Float sums as 1.x forms them: per series (in time order), per shard, then added."""
    vals = pts.value.data
    if _one_run_segments(pts, starts):
        return _running_totals(vals, starts, ends)
    out = np.empty(len(starts), np.float64)
    for i, (s, e) in enumerate(zip(starts.tolist(), ends.tolist())):
        sid, shard = _partial_keys(pts, s, e)
        if (sid == sid[0]).all():
            out[i] = float(np.cumsum(vals[s:e])[-1])
            continue
        o = np.lexsort((np.arange(e - s), sid if asc else -sid, shard if asc else -shard))
        v = vals[s:e][o]
        so, sho = sid[o], shard[o]
        pst = _starts([sho, so])
        partial = seq_sum_fast(v, pst)
        psh = sho[pst]
        total = 0.0
        shard_starts = _starts([psh])
        sh_ends = np.append(shard_starts[1:], len(psh))
        for a, b in zip(shard_starts.tolist(), sh_ends.tolist()):
            st = 0.0
            for x in partial[a:b].tolist():
                st += x
            total += st
        out[i] = total
    return out


def _partial_combine_mean(pts: Points, starts, ends, asc: bool = True) -> np.ndarray:
    """Means as 1.x forms them: per series mean, combined per shard weighted by count, then across
    shards."""
    vals = pts.value.data
    kind = pts.value.kind
    if _one_run_segments(pts, starts):
        # one partial per segment: the steps below, for all segments at once (same float steps)
        counts = ends - starts
        if kind == "float":
            sums = _running_totals(vals, starts, ends)
        else:
            with np.errstate(over="ignore"):
                sums = np.add.reduceat(vals.astype(np.int64) if kind == "integer" else vals, starts).astype(np.float64)
        c = counts.astype(np.float64)
        two = counts >= 2
        m = sums / c
        # the accumulators below start at 0.0 (0.0 + -0.0 is 0.0)
        shard_mean = (0.0 + np.where(two, m * c, m)) / c
        res = (0.0 + np.where(two, shard_mean * c, shard_mean)) / c
        return np.where(two, (res * c) / c, res)
    out = np.empty(len(starts), np.float64)
    for i, (s, e) in enumerate(zip(starts.tolist(), ends.tolist())):
        sid, shard = _partial_keys(pts, s, e)
        o = np.lexsort((np.arange(e - s), sid if asc else -sid, shard if asc else -shard))
        v = vals[s:e][o]
        so, sho = sid[o], shard[o]
        pst = _starts([sho, so])
        pend = np.append(pst[1:], len(v))
        counts = (pend - pst).tolist()
        if kind == "float":
            sums = seq_sum_fast(v, pst).tolist()
        else:
            with np.errstate(over="ignore"):
                sums = [float(x) for x in np.add.reduceat(v.astype(np.int64) if kind == "integer" else v, pst).tolist()]
        means = [sm / float(c) for sm, c in zip(sums, counts)]
        psh = sho[pst].tolist()
        # combine per shard, then across shards (1.x's FloatMeanReducer on partial means)
        shard_means = []
        cur_sh, acc, cnt = None, 0.0, 0
        for m, c, sh in zip(means, counts, psh):
            if sh != cur_sh:
                if cur_sh is not None:
                    shard_means.append((acc / float(cnt), cnt))
                cur_sh, acc, cnt = sh, 0.0, 0
            if c >= 2:
                acc += m * float(c)
            else:
                acc += m
            cnt += c
        shard_means.append((acc / float(cnt), cnt))
        acc, cnt = 0.0, 0
        for m, c in shard_means:
            if c >= 2:
                acc += m * float(c)
            else:
                acc += m
            cnt += c
        res = acc / float(cnt)
        # the select level reduces once more (a single partial: m*c/c)
        if cnt >= 2:
            res = (res * float(cnt)) / float(cnt)
        out[i] = res
    return out
