"""Aggregate SELECTs (mixin :class:`_Aggregates` of the run): the distinct calls of a statement and
how each is computed (pushed-down partials, reducers, special calls, transformations, then 1.x's
interval and fill iterators and LIMIT per call), and 1.x's merge of the calls into rows.  Reads
only through the run and :mod:`.pushdown`; the reducers, fill and transformations are theirs.
"""

from __future__ import annotations

from typing import Optional

import numpy as np

from . import ast
from .ast import Call, Distinct, FillOption, VarRef
from .cachescan import Unsupported
from .errors import ExecError
from .expr import _calls_in
from .fill import _cast_fill
from .functions import MAX_TIME, MIN_TIME, Vec, window_starts
from .planner import SELECTORS, PreparedSelect
from .points import Points, _apply_limit, _same_array, _starts, frozen
from .pushdown import aggregate_partials, precompute
from .reducers import _count_points, _reduce
from .series import SeriesData, _split_series
from .transform import _TA


class _Aggregates:
    """The calls of :class:`~.select._Run` and their merge into rows."""

    # -- aggregates ----------------------------------------------------------------------------

    def _calls(self) -> tuple:
        """(key, call, its driver's type) of each distinct call of the statement."""
        calls: dict[str, Call] = {}
        for f in self.p.stmt.fields:
            for c in _calls_in(f.expr):
                calls.setdefault(ast.text(c), c)
        return tuple((k, c, _driver_type(c, self.p)) for k, c in calls.items())

    def run_aggregate(self) -> list[SeriesData]:
        p = self.p
        stmt = p.stmt
        calls = self.from_plan("calls", (), self._calls)
        aux = self.aux_refs()
        selector = len(calls) == 1 and calls[0][1].name in SELECTORS
        results: dict[str, Points] = {}
        call_list = [(k, c) for k, c, _t in calls]
        if not (selector and aux):
            precompute(self, [c for _, c in call_list], p.start)
            self._prefetch_edges([c for _, c in call_list])
        for key, c, driver_type in calls:
            if driver_type is None:
                continue
            pts = self.eval_call(c, aux, selector, top=True)
            pts = _apply_limit(pts, stmt.limit, stmt.offset)
            results[key] = pts
        if not results:
            return []
        fill_default = self._fill_default()
        return self.merge_calls(results, call_list, aux, fill_default)

    def _prefetch_edges(self, calls: list[Call]) -> None:
        """first()/last() without GROUP BY time read 2 points per series and shard; read them for
        all such calls at once (see ``aggregate``)."""
        p = self.p
        if p.interval or self.v3 or any(src.subquery is not None for src in p.sources):
            return
        for asc in (True, False):
            refs = [c.args[0] for c in calls if c.name == ("first" if asc else "last")
                    and len(c.args) == 1 and isinstance(c.args[0], VarRef)]
            if len(refs) < 2:
                continue
            lo, hi = max(p.start, p.read_start), p.end
            for m in self.measurements():
                fields = []
                for r in refs:
                    t = p.ref_type(r)
                    col = self.column_for(m, r, t)
                    if col is None or col[0] == "tag" or (t not in (None, "field") and t != col[0]):
                        continue
                    fields.append((col[1], col[0]))
                fields = list(dict.fromkeys(fields))
                if len(fields) < 2:
                    continue
                sd = self.shard_dur(m)
                frames = self._edge_rows_cached(m, fields, asc, sd, lo, hi)
                if frames is None:
                    frames = self.scanner.edge_rows(m, fields, 2, asc, sd, lo, hi, self.cond_sql(m))
                for (col, kind) in fields:
                    key = (id(m), ((col, kind),), (col,), lo, hi, (2, asc, sd))
                    self._frames[key] = frames[col]

    def _edge_rows_cached(self, m, fields, asc, sd, lo, hi) -> Optional[dict]:
        cached = self.cached(m)
        if cached is None:
            return None
        try:
            return cached.edge_rows(fields, 2, asc, sd, lo, hi)
        except Unsupported:
            return None

    def _fill_default(self):
        p = self.p
        if p.fill is FillOption.NUMBER:
            return ("number", p.fill_value)
        if p.fill is FillOption.PREVIOUS:
            return ("skip", None)
        return ("null", None)

    def merge_calls(self, results: dict[str, "Points"], call_list, aux: list[VarRef], fill_default) -> list[SeriesData]:
        """1.x's multi-scanner cursor: rows are (group, time) in order; each call contributes its
        next point at that time, else its default."""
        p = self.p
        keys = [k for k, _ in call_list if k in results]
        rank = self.rank()
        asc = p.ascending
        # fast path: one call
        if len(keys) == 1:
            pts = results[keys[0]]
            gid, time = pts.gid, pts.time
            env_vals = {keys[0]: pts.value}
            for r, a in zip(aux, pts.aux):
                env_vals[ast.text(r)] = a
            return self._emit(gid, time, env_vals, aux)
        # every call with points at the same (group, time) rows (shared arrays when the calls
        # read the same rows): the rows are those
        first = results[keys[0]]
        if all(_same_array(results[k].gid, first.gid) and _same_array(results[k].time, first.time)
               for k in keys[1:]):
            env_vals = {k: results[k].value for k in keys}
            for r, a in zip(aux, first.aux):
                env_vals[ast.text(r)] = a
            return self._emit(first.gid, first.time, env_vals, aux)
        # general: merge k sorted streams
        streams = []
        for k in keys:
            pts = results[k]
            streams.append((k, rank[pts.gid] if len(pts) else pts.gid, pts))
        # build union of (rank, time) rows, walking each stream
        heads = [0] * len(streams)
        out_gid, out_time = [], []
        picks = [[] for _ in streams]
        lens = [len(s[2]) for s in streams]
        ranks = [s[1].tolist() for s in streams]
        times = [s[2].time.tolist() for s in streams]
        gids = [s[2].gid.tolist() for s in streams]
        while True:
            best = None
            for i in range(len(streams)):
                h = heads[i]
                if h >= lens[i]:
                    continue
                cand = (ranks[i][h], times[i][h] if asc else -times[i][h])
                if best is None or cand < best:
                    best = cand
                    bgid = gids[i][h]
            if best is None:
                break
            out_gid.append(bgid)
            out_time.append(best[1] if asc else -best[1])
            for i in range(len(streams)):
                h = heads[i]
                if h < lens[i] and ranks[i][h] == best[0] and (times[i][h] if asc else -times[i][h]) == best[1]:
                    picks[i].append(h)
                    heads[i] = h + 1
                else:
                    picks[i].append(-1)
        n = len(out_time)
        gid = np.array(out_gid, np.int64)
        time = np.array(out_time, np.int64)
        env_vals = {}
        kind_fill, fv = fill_default
        for (k, _r, pts), pk in zip(streams, picks):
            idx = np.array(pk, np.int64)
            have = idx >= 0
            safe = np.where(have, idx, 0)
            v = pts.value.take(safe) if len(pts) else Vec.nulls(n, pts.value.kind)
            valid = v.valid & have
            data = v.data
            if kind_fill == "number" and fv is not None:
                fill_v = _cast_fill(fv, v.kind, self.v3)
                if fill_v is not None:
                    target = ~have
                    if self.v3:
                        # a call with nothing in a series (its field is not there) stays null
                        target = target & np.isin(gid, pts.gid)
                    data = data.copy()
                    data[target] = fill_v
                    valid = valid | target
            elif kind_fill == "skip":
                # previous value of this series stays
                valid = valid.copy()
                data = data.copy()
                last_valid = None
                prev_gid = None
                for i in range(n):
                    if gid[i] != prev_gid:
                        last_valid = None
                        prev_gid = gid[i]
                    if have[i]:
                        last_valid = (data[i], valid[i])
                    elif last_valid is not None:
                        data[i], valid[i] = last_valid
            env_vals[k] = Vec(v.kind, data, valid)
            for r, a in zip(aux, pts.aux):
                av = a.take(safe) if len(pts) else Vec.nulls(n)
                env_vals.setdefault(ast.text(r), Vec(av.kind, av.data, av.valid & have))
        return self._emit(gid, time, env_vals, aux)

    def _emit(self, gid, time, env_vals: dict, aux) -> list[SeriesData]:
        p = self.p
        n = len(time)
        if self.v3 and n > 1:
            order = self._v3_tie_order(gid, time, env_vals)
            if order is not None:
                gid, time = gid[order], time[order]
                env_vals = {k: v.take(order) for k, v in env_vals.items()}

        def env(node):
            key = ast.text(node)
            v = env_vals.get(key)
            if v is None:
                return Vec.nulls(n)
            return v

        cols = []
        for f in p.stmt.fields:
            cols.append(self.eval(f.expr, env, n))
            # top()/bottom() add their tag arguments as columns right after themselves
            e = f.expr
            if isinstance(e, Call) and e.name in ("top", "bottom") and p.stmt.target is None:
                for a in e.args[1:-1]:
                    cols.append(env(a))
        return _split_series(self.groups, gid, time, cols, p.ascending)

    # -- calls ---------------------------------------------------------------------------------

    def eval_call(self, c: Call, aux: list[VarRef], selector: bool, top: bool = False,
                  start: Optional[int] = None) -> Points:
        """Points of a call, after 1.x's interval and fill iterators."""
        p = self.p
        start = p.start if start is None else start
        name = c.name
        interval = p.interval
        if name in ("derivative", "non_negative_derivative", "difference", "non_negative_difference",
                    "moving_average", "elapsed") or name in _TA:
            if interval and not p.ascending:
                inp = self._past_the_end(interval, lambda: self.input_points(c.args[0], aux, start))
            else:
                inner_start = start
                if interval and start > MIN_TIME:
                    inner_start = max(MIN_TIME, start - interval)
                inp = self.input_points(c.args[0], aux, inner_start)
            return self.transform(c, inp)
        if name == "cumulative_sum":
            inp = self.input_points(c.args[0], aux, start)
            return self.transform(c, inp)
        if name in ("holt_winters", "holt_winters_with_fit"):
            inp = self.input_points(c.args[0], aux, start)
            return self.holt_winters(c, inp)
        if name in ("top", "bottom"):
            return self.top_bottom(c, aux, start)
        if name == "sample":
            return self.sample(c, aux, start)
        if name == "distinct":
            pts = self.distinct(c, start)
            return self.interval_points(pts)
        if name == "integral":
            return self.integral(c, start)
        # aggregates and selectors
        pts = self.aggregate(c, aux if selector else [], start)
        if not selector or interval:
            pts = self.interval_points(pts)
            if interval and p.fill is not FillOption.NONE:
                pts = self.fill(pts, c, start)
        return pts

    def _past_the_end(self, interval: int, compute):
        """``compute()`` with the range's end one window later: in descending order 1.x reads the
        window past the end for a transformation's first row (its previous point), as it reads the
        one before the start in ascending order. (What a run derives is keyed by the end as well.)"""
        p = self.p
        end = p.end
        p.end = min(MAX_TIME, end + interval)
        try:
            return compute()
        finally:
            p.end = end

    def input_points(self, arg, aux, start: int) -> Points:
        """The input of a transformation: an inner call's points, or a field's raw points."""
        if isinstance(arg, Call):
            return self.eval_call(arg, aux, False, start=start)
        if isinstance(arg, Distinct):
            return self.eval_call(arg.to_call(), aux, False, start=start)
        return self.field_points(arg, [], start, ordered=True)

    # window ids
    def windows(self, time: np.ndarray) -> np.ndarray:
        p = self.p
        if not p.interval:
            return np.zeros(len(time), np.int64)
        return window_starts(time, p.interval, p.offset, p.location)

    def aggregate(self, c: Call, aux: list[VarRef], start: int) -> Points:
        """count/sum/mean/min/max/first/last/spread/stddev/median/mode/percentile per (group,
        window): one point, at ZeroTime for aggregates or the selected point's time."""
        p = self.p
        name = c.name
        arg = c.args[0]
        if name == "count" and isinstance(arg, (Call, Distinct)):
            inner = arg.to_call() if isinstance(arg, Distinct) else arg
            d = self.distinct(inner, start)
            return _count_points(d, self.windows(d.time))
        if not isinstance(arg, VarRef):
            raise ExecError(f"expected field argument in {name}()")
        if not aux:
            pushed = aggregate_partials(self, c, start)
            if pushed is not None:
                return pushed
        kind = p.ref_type(arg)
        unsupported = (name in ("mean", "sum", "stddev", "median", "spread", "percentile", "integral")
                       and kind in ("string", "boolean")) or (name in ("min", "max") and kind == "string")
        ordered = name in ("median", "percentile", "stddev", "mode")
        if name in ("first", "last") and not p.interval and not self.v3 and not any(
                src.subquery is not None for src in p.sources):
            # 1.x reads first()/last() without GROUP BY time() as a sorted merge (ascending for
            # first, descending for last) behind a LIMIT 1 iterator that lets two points through
            # per tag set and shard; the selector then picks among those
            self._per_series = (2, name == "first")  # only these rows can come out of that iterator
            try:
                pts = self.field_points(arg, aux, start, ordered=True, ascending=(name == "first"))
            finally:
                self._per_series = None
            if len(pts) > 2 and pts.shard is not None:
                key = pts.gid * np.int64(1 << 20) + (pts.shard - pts.shard.min())
                _, first_idx, inv = np.unique(key, return_index=True, return_inverse=True)
                pos = np.arange(len(pts)) - first_idx[inv.reshape(-1)]
                # positions are counted in emission order; runs of a key are contiguous
                keep = pos < 2
                pts = pts.take(np.flatnonzero(keep))
        else:
            pts = self.field_points(arg, aux, start, ordered=ordered or name in ("first", "last", "min", "max"))
        # (1.x's iterators are made per series the tag terms match, points or not: no error where
        # none does, one where some does though a field term leaves it no point)
        if unsupported:
            self.refuse_type(name, kind, (), len(pts) > 0)
        if len(pts) == 0:
            return Points.empty("integer" if name == "count" else ("float" if name in (
                "mean", "median", "stddev") else pts.value.kind), len(aux))
        key = ("segments", id(pts.time), id(pts.gid))
        got = self._derived.get(key)
        if got is None or got[3] is not pts.time or got[4] is not pts.gid:
            win = self.windows(pts.time)
            rank = self.rank()
            # segments: (group, window) in output order
            key_w = win if p.ascending else -win
            gid = pts.gid
            if gid[0] == gid[-1] and (gid == gid[0]).all() and (key_w[1:] >= key_w[:-1]).all():
                order = None   # one group, windows in output order: the sort below keeps it as is
            else:
                order = np.lexsort((np.arange(len(pts)), key_w, rank[gid]))
                if (order[1:] > order[:-1]).all():
                    order = None   # already in output order (one series, time ascending): no copies
                else:
                    win = win[order]
            starts = _starts([gid if order is None else gid[order], win])
            got = self._derived[key] = frozen((order, win, starts)) + (pts.time, pts.gid)
        order, win, starts = got[:3]
        return _reduce(name, c, pts if order is None else pts.take(order), win, starts, self)

    def interval_points(self, pts: Points) -> Points:
        """1.x's interval iterator: the time of each point becomes its window's start (0 for the
        minimum time)."""
        p = self.p
        if len(pts) == 0:
            return pts

        def times():
            if p.interval:
                t = window_starts(pts.time, p.interval, p.offset, p.location)
            else:
                t = np.full(len(pts), p.start, np.int64)
            return np.where(t == MIN_TIME, 0, t)

        return Points(pts.gid, self.shared(("interval", p.start), (pts.time,), times), pts.value, pts.aux)


def _driver_type(c: Call, p: PreparedSelect) -> Optional[str]:
    """The type of the field driving a call (None: unknown field, the call is skipped)."""
    e = c
    while isinstance(e, Call):
        if not e.args:
            return None
        a = e.args[0]
        if isinstance(a, Distinct):
            a = VarRef(a.name)
        e = a
    if isinstance(e, VarRef):
        t = p.ref_type(e)
        return None if t in (None, "field") and t != "field" else (t or "float")
    return None
