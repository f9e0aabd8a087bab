"""Calls computed in Python from each window's points: distinct(), integral(), top()/bottom()
(with 1.x's reducer heap where tied points were chosen) and sample() (mixin
:class:`_SpecialCalls` of the run).  Gets its points from the run (``field_points``): must not
read data itself.
"""

from __future__ import annotations

import numpy as np

from . import ast
from .ast import Call, VarRef
from .functions import MIN_TIME, NUMERIC_KINDS, Vec, window_end, window_start
from .goheap import Heap
from .points import Points, _segments, _starts


class _SpecialCalls:
    """distinct(), integral(), top()/bottom() and sample() of :class:`~.select._Run`."""

    # -- special calls -------------------------------------------------------------------------

    def distinct(self, c: Call, start: int) -> Points:
        arg = c.args[0]
        pts = self.field_points(arg, [], start, ordered=True)
        if len(pts) == 0:
            return pts
        p = self.p
        win = self.windows(pts.time)
        out_g, out_t, out_v = [], [], []
        rank = self.rank()
        key_w = win if p.ascending else -win
        order = np.lexsort((np.arange(len(pts)), key_w, rank[pts.gid]))
        gid, tm, w = pts.gid[order], pts.time[order], win[order]
        vals = pts.value.take(order)
        starts = _starts([gid, w])
        ends = np.append(starts[1:], len(gid))
        for s, e in zip(starts.tolist(), ends.tolist()):
            first: dict = {}
            for i in range(s, e):
                if not vals.valid[i]:
                    continue
                v = vals.data[i]
                key = v.item() if hasattr(v, "item") else v
                t = int(tm[i])
                if key not in first or (t < first[key][0] if p.ascending else t > first[key][0]):
                    first[key] = (t, v)
            # 1.x's reducer keeps each value's first point as read (the latest under ORDER BY time
            # DESC) and emits them sorted by that point's time, ascending in either order
            asc = p.ascending or not self.v3
            items = sorted(first.items(), key=lambda kv: (kv[1][0], kv[0]) if asc else (-kv[1][0], kv[0]))
            for key, (t, v) in items:
                out_g.append(int(gid[s]))
                out_t.append(t)
                out_v.append(v)
        kind = pts.value.kind
        data = np.array(out_v, dtype=vals.data.dtype) if kind != "string" else np.array(out_v, dtype=object)
        return Points(np.array(out_g, np.int64), np.array(out_t, np.int64),
                      Vec(kind, data, np.ones(len(out_v), bool)))

    def integral(self, c: Call, start: int) -> Points:
        p = self.p
        arg = c.args[0]
        unit = c.args[1].value if len(c.args) > 1 else 10**9
        pts = self.field_points(arg, [], start, ordered=True)
        kind = pts.value.kind if len(pts) else p.ref_type(arg)
        self.refuse_type("integral", kind, NUMERIC_KINDS, len(pts) > 0)
        if len(pts) == 0:
            return Points.empty("float")
        out_g, out_t, out_v = [], [], []
        starts = _starts([pts.gid])
        ends = np.append(starts[1:], len(pts))
        interval, offset, tz = p.interval, p.offset, p.location
        asc = p.ascending
        is_float = kind == "float"
        for s, e in zip(starts.tolist(), ends.tolist()):
            g = int(pts.gid[s])
            times = pts.time[s:e].tolist()
            vals = pts.value.data[s:e].astype(np.float64).tolist()
            prev_t, prev_v = None, None
            wstart = wend = 0
            total = 0.0
            for t, v in zip(times, vals):
                if prev_t is None:
                    prev_t, prev_v = t, v
                    if interval:
                        ws = window_start(t, interval, offset, tz)
                        we = window_end(t, interval, offset, tz)
                        wstart, wend = (ws, we) if asc else (we, ws)
                    elif not is_float:
                        wstart, wend = (p.start, p.end + 1) if asc else (p.end + 1, p.start)
                        if wstart == MIN_TIME:
                            wstart = 0
                    continue
                if prev_t == t:
                    prev_t, prev_v = t, v
                    continue
                v_used = v
                if (interval or not is_float) and ((asc and t >= wend) or (not asc and t <= wend)):
                    if prev_t != wend:
                        value = _linear(wend, prev_t, t, prev_v, v)
                        elapsed = float(wend - prev_t) / float(unit)
                        total += 0.5 * (value + prev_v) * elapsed
                        if is_float:
                            prev_v = value
                        else:
                            # 1.x's integer reducer keeps the previous value and uses the
                            # interpolated one in place of the current point's for the next area
                            v_used = value
                        prev_t = wend
                    out_g.append(g)
                    out_t.append(wstart)
                    out_v.append(total)
                    if interval:
                        ws = window_start(t, interval, offset, tz)
                        we = window_end(t, interval, offset, tz)
                        wstart, wend = (ws, we) if asc else (we, ws)
                    total = 0.0
                elapsed = float(t - prev_t) / float(unit)
                total += 0.5 * (v_used + prev_v) * elapsed
                prev_t, prev_v = t, v
            if prev_t is not None and prev_t != wstart:
                out_g.append(g)
                out_t.append(wstart)
                out_v.append(total)
        t_arr = np.array(out_t, np.int64)
        return Points(np.array(out_g, np.int64), t_arr, Vec("float", np.array(out_v, np.float64),
                                                             np.ones(len(out_v), bool)))

    def top_bottom(self, c: Call, aux: list[VarRef], start: int) -> Points:
        p = self.p
        n = c.args[-1].value
        is_top = c.name == "top"
        ref = c.args[0]
        tag_args = [a for a in c.args[1:-1]]
        all_aux = aux
        # without other fields or tag arguments, points tied on value and time look the same:
        # any input order gives the same answer
        any_order = not all_aux and not tag_args
        pts = self.field_points(ref, all_aux, start, ordered=bool(all_aux), any_order=any_order)
        kind = pts.value.kind if len(pts) else p.ref_type(ref)
        if tag_args and kind == "string":   # (1.x picks per tag value with max()/min() first)
            self.refuse_type("max" if is_top else "min", kind, (), len(pts) > 0)
        self.refuse_type(c.name, kind, NUMERIC_KINDS, len(pts) > 0,
                         "booleanReduceBooleanIterator" if tag_args and kind == "boolean" else None)
        if len(pts) == 0:
            return pts
        win = self.windows(pts.time)
        if any_order and p.interval:
            # (read series by series: a group's windows are runs only once put in window order)
            o = np.lexsort((win if p.ascending else -win, self.rank()[pts.gid]))
            pts, win = pts.take(o), win[o]
        if tag_args:
            # max/min per (group, window, tag argument values)
            arg_vecs = []
            for a in tag_args:
                key = ast.text(a)
                idx = [i for i, r in enumerate(all_aux) if ast.text(r) == key]
                arg_vecs.append(pts.aux[idx[0]] if idx else Vec.nulls(len(pts)))
            codes = []
            for v in arg_vecs:
                vals = [v.data[i] if v.valid[i] else None for i in range(len(v))]
                mapping: dict = {}
                codes.append(np.array([mapping.setdefault(x, len(mapping)) for x in vals], np.int64))
            order = np.lexsort(tuple([pts.time] + codes[::-1] + [win, pts.gid]))
            sel = []
            gid_o, win_o = pts.gid[order], win[order]
            codes_o = [cd[order] for cd in codes]
            starts = _starts([gid_o, win_o] + codes_o)
            ends = np.append(starts[1:], len(order))
            vals = pts.value.data[order]
            times = pts.time[order]
            for s, e in zip(starts.tolist(), ends.tolist()):
                best = s
                for i in range(s + 1, e):
                    if is_top:
                        if vals[i] > vals[best] or (vals[i] == vals[best] and times[i] < times[best]):
                            best = i
                    else:
                        if vals[i] < vals[best] or (vals[i] == vals[best] and times[i] < times[best]):
                            best = i
                sel.append(order[best])
            rank = self.rank()
            sgn = 1 if p.ascending else -1
            sel = np.array(sorted(sel, key=lambda i: (int(rank[pts.gid[i]]), sgn * int(win[i]))), np.int64)
            pts = pts.take(sel)
            win = win[sel]
        starts, seg = _segments([pts.gid, win])
        m = len(pts)
        _, codes = np.unique(pts.value.data, return_inverse=True)
        codes = codes.reshape(-1).astype(np.int64)
        pos = np.arange(m)
        # per segment: best value first, then the earliest, then input order (a stable sort)
        order = np.lexsort((pos, pts.time, -codes if is_top else codes, seg))
        rank_in_seg = np.empty(m, np.int64)
        rank_in_seg[order] = np.arange(m) - starts[seg[order]]
        chosen = np.flatnonzero(rank_in_seg < n)
        if all_aux and not self.v3:
            # points tied on value and time come out in the order 1.x's reducer leaves them (its
            # heap, then Go's unstable sort); replay it where such ties were chosen
            cv, ct, cs = codes[chosen], pts.time[chosen], seg[chosen]
            o = np.lexsort((ct, cv, cs))
            dup = (cv[o][1:] == cv[o][:-1]) & (ct[o][1:] == ct[o][:-1]) & (cs[o][1:] == cs[o][:-1])
            if dup.any():
                ends = np.append(starts[1:], m)
                for sg in np.unique(cs[o][1:][dup]).tolist():
                    a, b = int(starts[sg]), int(ends[sg])
                    picked = _go_top_bottom(codes[a:b].tolist(), pts.time[a:b].tolist(), n, is_top)
                    for r, i in enumerate(picked):
                        rank_in_seg[a + i] = r
        # emitted by time (ascending even under ORDER BY DESC); equal times keep the rank order
        tkey = pts.time[chosen] if (p.ascending or not self.v3) else -pts.time[chosen]
        idx = chosen[np.lexsort((rank_in_seg[chosen], tkey, seg[chosen]))]
        res = pts.take(idx)
        return Points(res.gid, res.time, res.value, res.aux)

    def sample(self, c: Call, aux: list[VarRef], start: int) -> Points:
        n = c.args[1].value
        pts = self.field_points(c.args[0], aux, start, ordered=True)
        if len(pts) == 0:
            return pts
        win = self.windows(pts.time)
        starts = _starts([pts.gid, win])
        ends = np.append(starts[1:], len(pts))
        rng = np.random.default_rng()
        out = []
        for s, e in zip(starts.tolist(), ends.tolist()):
            idx = np.arange(s, e)
            if len(idx) > n:
                idx = np.sort(rng.choice(idx, n, replace=False))
            out.extend(idx.tolist())
        return pts.take(np.array(out, np.int64))


def _linear(t: int, t0: int, t1: int, v0: float, v1: float) -> float:
    m = (v1 - v0) / float(t1 - t0)
    return m * float(t - t0) + v0


def _go_top_bottom(vals: list, times: list, n: int, is_top: bool) -> list[int]:
    """1.x's top()/bottom() reducer on one segment's points (in arrival order): a heap of ``n``
    ordered by ``cmp`` (the worst at the root; a newcomer replaces it only when strictly better),
    then Emit's ``sort.Sort(sort.Reverse(...))``.  Returns the kept positions, best first."""
    from .gosort import sort_order

    if is_top:
        def cmp(a, b):  # a sorts before b (a is worse)
            return vals[a] < vals[b] if vals[a] != vals[b] else times[a] > times[b]
    else:
        def cmp(a, b):
            return vals[a] > vals[b] if vals[a] != vals[b] else times[a] > times[b]
    heap = Heap([], cmp)
    h = heap.h
    for p in range(len(vals)):
        if len(h) == n:
            if not cmp(h[0], p):
                continue
            h[0] = p
            heap.fix(0)
        else:
            heap.push(p)
    # sort.Sort(sort.Reverse(h)): Less(i, j) = cmp(h[j], h[i]) -- best first
    keys = [_Desc(vals[i], times[i], is_top) for i in h]
    return [h[k] for k in sort_order(keys)]


class _Desc:
    """A sort key whose ``<`` is top()'s/bottom()'s reversed cmp (the better point first)."""

    __slots__ = ("v", "t", "top")

    def __init__(self, v, t, top: bool):
        self.v, self.t, self.top = v, t, top

    def __lt__(self, other: "_Desc") -> bool:
        # Reverse(h).Less(i, j) = h.Less(j, i) = cmp(other, self)
        if self.v != other.v:
            return other.v < self.v if self.top else other.v > self.v
        return other.t > self.t
