"""Raw points of a SELECT (mixin :class:`_Raw` of the run): reading the referenced fields and tags
of every source (measurements through the run's reads, subqueries' rows) into points per output
series, putting them in 1.x's order (or InfluxDB 3's), and answering raw (call-less) SELECTs.
Must not compute calls.
"""

from __future__ import annotations

import operator
from typing import Optional

import numpy as np

from . import ast
from .ast import Call, VarRef
from .expr import _refs_outside_calls, eval_expr
from .functions import Vec, cast_field, concat, nan_to_null, window_starts
from .mergeorder import _heap_aux, _subquery_seq, go_merge_order, merge_order
from .planner import MeasurementInfo, PreparedSelect
from .points import Points, _limit_mask, frozen, shard_of
from .scan import Frame
from .series import SeriesData, _split_series


def _one_series(parts: list) -> bool:
    """Whether ``raw_points`` read the points of one stored series (a frame's rows are by series,
    then time), with distinct times: then 1.x's merges and sorts all leave them in time order."""
    if len(parts) != 1 or not isinstance(parts[0][7], list):
        return False   # several measurements, or a subquery's rows
    sid, time = parts[0][2], parts[0][4]
    return len(time) > 0 and bool((sid == sid[0]).all()) and bool((time[1:] > time[:-1]).all())


class _Raw:
    """The raw points of :class:`~.select._Run`: reads, orders, raw queries."""

    # -- raw -----------------------------------------------------------------------------------

    def aux_refs(self) -> list[VarRef]:
        """The field references outside of calls, sorted like 1.x sorts opt.Aux."""
        # the statement's alone: kept on it for the next run of a reused plan
        return list(ast.shape_memo(self.p.stmt, "_aux_refs", self._aux_refs))

    def _aux_refs(self) -> tuple:
        seen: dict[str, VarRef] = {}
        for f in self.p.stmt.fields:
            for n in _refs_outside_calls(f.expr):
                key = ast.text(n)
                if key not in seen:
                    seen[key] = n
        for f in self.p.stmt.fields:
            e = f.expr
            if isinstance(e, Call) and e.name in ("top", "bottom"):
                for a in e.args[1:-1]:
                    if isinstance(a, VarRef) and ast.text(a) not in seen:
                        seen[ast.text(a)] = a
        return tuple(sorted(seen.values(), key=lambda r: (r.name, ast.text(r))))

    def raw_points(self, refs: list[VarRef], driver: Optional[VarRef] = None, drop_null_driver: bool = True):
        """Rows for the references over all sources: (name, gid, sid, shard, time, [Vec per ref]),
        sorted by sid then time per measurement.  With ``driver``, rows are the points of that
        field (1.x's main cursor); otherwise rows where any referenced field has a value."""
        p = self.p
        lo, hi = max(p.start, p.read_start), p.end
        parts = []
        sid_base = 0
        for s in p.sources:
            if s.subquery is not None:
                parts.extend(self._subquery_points(s.subquery, refs, driver, sid_base))
                sid_base += 1_000_000
                continue
            for m in s.measurements:
                types, cols, any_of = self.from_plan("columns", (m, driver, *refs),
                                                     lambda: self._columns(m, refs, driver))
                if cols is None:
                    continue
                fr = self.read(m, cols, any_of, lo, hi)
                if len(fr) == 0:
                    continue
                vecs = []
                for r, t in zip(refs, types):
                    vecs.append(self._ref_vec(fr, m, r, t))
                gids, sids, shard = self._frame_rows(fr, m, sid_base)
                dvec = None
                if driver is not None:
                    dvec = self._ref_vec(fr, m, driver, p.ref_type(driver))
                parts.append((m.name, gids, sids, shard, fr.time, vecs, dvec, fr.keys))
                sid_base += len(fr.series)
        return parts

    def _columns(self, m: MeasurementInfo, refs: list[VarRef], driver: Optional[VarRef]) -> tuple:
        """(type of each ref, [(column, kind)] to read from ``m``, the columns one of which a row
        must have); the columns None when ``m`` has nothing to read."""
        p = self.p
        types = [p.ref_type(r) for r in refs]
        cols = []
        real = []
        for r, t in zip(refs, types):
            c = self.column_for(m, r, t)
            if c is None or c[0] == "tag":
                continue
            if t not in (None, "field") and t != c[0]:
                # 1.x casts numeric fields to the requested numeric type, else no cursor
                if not (t in ("float", "integer", "unsigned") and c[0] in ("float", "integer", "unsigned")):
                    continue
            cols.append((c[1], c[0]))
            real.append(c[1])
        if driver is not None:
            dt = p.ref_type(driver)
            dc = self.column_for(m, driver, dt)
            if dc is None or dc[0] == "tag":
                return types, None, None
            if dt not in (None, "field") and dt != dc[0] and not (
                    dt in ("float", "integer", "unsigned") and dc[0] in ("float", "integer", "unsigned")):
                return types, None, None
            cols.append((dc[1], dc[0]))
            return types, cols, [dc[1]]
        if not real:
            return types, None, None
        return types, cols, real

    def _frame_rows(self, fr: Frame, m: MeasurementInfo, sid_base: int) -> tuple:
        """(group, numbered series, shard) of each row of ``fr``; frames of the same rows (the
        series cache hands every field of a statement the same series and time arrays) share them."""
        key = ("rows", id(fr.series), id(fr.sid), id(fr.time), sid_base, id(m))
        got = self._derived.get(key)
        if got is None or got[3] is not fr.time or got[4] is not fr.sid or got[5] is not fr.series:
            sd = self.shard_dur(m)
            shard = shard_of(fr.time, sd)
            got = self._derived[key] = frozen((self._gids_for_frame(fr), fr.sid + sid_base if sid_base else fr.sid,
                                               shard)) + (fr.time, fr.sid, fr.series)   # keeps the ids alive
        return got[:3]

    def _gids_for_frame(self, fr: Frame) -> np.ndarray:
        sg = [self.groups.id_for(fr.name, {d: s.get(d, "") for d in self.dims}) for s in fr.series]
        if len(sg) == 1:
            return np.full(len(fr.sid), sg[0], np.int64)
        return np.array(sg, dtype=np.int64)[fr.sid] if len(fr.sid) else np.zeros(0, np.int64)

    def _ref_vec(self, fr: Frame, m: MeasurementInfo, r: VarRef, t: Optional[str]) -> Vec:
        n = len(fr)
        c = self.column_for(m, r, t)
        if c is None:
            return Vec.nulls(n, t if t in ("float", "integer", "unsigned", "string", "boolean") else "null")
        kind, col = c
        if kind == "tag":
            per_series = [s.get(col) for s in fr.series]
            vals = np.array(per_series + [None], dtype=object)
            # per series, not per row (a list, not the object array: a fifth of the time)
            has = np.array([v is not None and v != "" for v in per_series] + [False], dtype=bool)
            data = vals[fr.sid] if n else np.zeros(0, object)
            valid = has[fr.sid] if n else np.zeros(0, bool)
            return Vec("string", data, valid)
        v = fr.cols[col]
        if t in ("float", "integer", "unsigned") and v.kind != t:
            return cast_field(v, t)
        if t in ("string", "boolean") and v.kind != t:
            return Vec.nulls(n, t)
        return v

    def _subquery_points(self, sq: PreparedSelect, refs: list[VarRef], driver, sid_base: int):
        rows = self.subquery_rows(sq)
        cols = sq.columns
        parts = []
        for k, s in enumerate(rows):
            n = len(s.time)
            if n == 0:
                continue
            colmap = {c: v for c, v in zip(cols, s.cols)}

            def vec_for(r: VarRef) -> Vec:
                if r.name in colmap:
                    v = colmap[r.name]
                    return Vec("string", v.data, v.valid) if v.kind == "tag" else v
                if r.name in s.tags:
                    val = s.tags[r.name]
                    return Vec.const(val, n) if val else Vec.nulls(n, "string")
                return Vec.nulls(n)

            vecs = [vec_for(r) for r in refs]
            mask = np.ones(n, bool)
            if driver is not None:
                dvec = vec_for(driver)
                mask &= dvec.valid
            else:
                # the subquery's cursor drives the rows: every row comes out
                dvec = None
            # the outer condition filters the subquery's rows
            if self.p.condition is not None:
                def env(node, _colmap=colmap, _s=s, _n=n):
                    if isinstance(node, VarRef):
                        if node.name in _colmap:
                            v = _colmap[node.name]
                            return Vec("string", v.data, v.valid) if v.kind == "tag" else v
                        if node.name in _s.tags:
                            return Vec.const(_s.tags[node.name] or "", _n)
                        return Vec.nulls(_n)
                    return Vec.nulls(_n)

                c = eval_expr(self.p.condition, env, n)
                if c.kind == "boolean":
                    mask &= c.data & c.valid
                else:
                    mask &= False
            tmask = (s.time >= self.p.start) & (s.time <= self.p.end)
            mask &= tmask
            if not mask.any():
                continue
            idx = np.flatnonzero(mask)
            gid = self.groups.id_for(s.name, {d: s.tags.get(d, "") for d in self.dims})
            gids = np.full(len(idx), gid, np.int64)
            if sq.is_raw:
                win = np.zeros(len(idx), np.int64)
            elif sq.interval:
                win = window_starts(s.time[idx], sq.interval, sq.offset, sq.location)
            else:
                win = np.zeros(len(idx), np.int64)
            # a raw subquery's series are read like stored series (merged by time); an aggregate
            # subquery's rows come as one stream, window by window
            sid = sid_base + (k if sq.is_raw else 0)
            parts.append((s.name, gids, np.full(len(idx), sid, np.int64), np.zeros(len(idx), np.int64),
                          s.time[idx], [v.take(idx) for v in vecs], None if dvec is None else dvec.take(idx),
                          {"win": win, "series": np.full(len(idx), k, np.int64)}))
        return parts

    def run_raw(self) -> list[SeriesData]:
        p = self.p
        refs = self.aux_refs()
        if not any(p.ref_type(r) not in (None,) for r in refs):
            return []
        parts = self.raw_points(refs)
        if not parts:
            return []
        if len(parts) == 1:
            gid, sid, shard, time = parts[0][1:5]
        else:
            gid = np.concatenate([x[1] for x in parts])
            sid = np.concatenate([x[2] for x in parts])
            shard = np.concatenate([x[3] for x in parts])
            time = np.concatenate([x[4] for x in parts])
        vecs = list(parts[0][5]) if len(parts) == 1 else [concat([x[5][i] for x in parts]) for i in range(len(refs))]
        if _one_series(parts):
            # every order below is the time order for one series' points
            order = None if p.ascending else np.arange(len(time) - 1, -1, -1)
        elif self.v3:
            order = self._v3_raw_order(refs, gid, sid, time, vecs)
        else:
            seq = _subquery_seq(parts, p.ascending)
            heap_refs, heap_vecs = refs, vecs
            if seq is not None:
                # a subquery's GROUP BY tags are not among the values its iterators compare
                dims = {d for src in p.sources if src.subquery is not None for d in src.subquery.dimensions}
                keep = [i for i, r in enumerate(refs) if r.name not in dims]
                heap_refs, heap_vecs = [refs[i] for i in keep], [vecs[i] for i in keep]
            order = merge_order(gid, sid, shard, time, self.rank(), p.ascending,
                                _heap_aux(heap_refs, heap_vecs, p), seq)
        if order is not None:
            gid, time = gid[order], time[order]
            vecs = [v.take(order) for v in vecs]
        # limit / offset per output series
        keep = _limit_mask(gid, p.stmt.limit, p.stmt.offset)
        if keep is not None:
            gid, time = gid[keep], time[keep]
            vecs = [v.filter(keep) for v in vecs]
        env_map = {ast.text(r): v for r, v in zip(refs, vecs)}
        n = len(time)

        def env(node):
            if isinstance(node, VarRef):
                v = env_map.get(ast.text(node))
                if v is None:
                    return Vec.nulls(n)
                if node.type is not None and node.type.value in ("float", "integer", "unsigned"):
                    return cast_field(v, node.type.value)
                return v
            return Vec.nulls(n)

        plain = self.from_plan("plain fields", tuple(refs), lambda: _plain_fields(p.stmt.fields, refs))
        cols = [self.eval(f.expr, env, n) if i is None else self._plain(vecs[i], cast)
                for f, (i, cast) in zip(p.stmt.fields, plain)]
        return _split_series(self.groups, gid, time, cols, p.ascending)

    def _plain(self, v: Vec, cast: Optional[str]) -> Vec:
        """What ``eval`` gives for a reference to ``v`` (with its numeric ``::type`` cast)."""
        if cast is not None:
            v = cast_field(v, cast)
        return v if self.v3 else nan_to_null(v)

    def _v3_tie_order(self, gid, time, env_vals: dict) -> Optional[np.ndarray]:
        """Rows sharing a series and a time (top/bottom) ordered by the selected tag columns."""
        p = self.p
        same = (gid[1:] == gid[:-1]) & (time[1:] == time[:-1])
        if not same.any():
            return None
        keys = []
        for f in reversed(p.stmt.fields):
            if isinstance(f.expr, VarRef) and p.ref_type(f.expr) == "tag" and ast.text(f.expr) in env_vals:
                keys.append(_null_last_codes(env_vals[ast.text(f.expr)]))
        if not keys:
            return None
        run = np.concatenate([[0], np.cumsum(~same)])
        return np.lexsort(tuple(keys) + (run,))

    def _v3_raw_order(self, refs, gid, sid, time, vecs) -> np.ndarray:
        """InfluxDB 3's raw row order: series ascending, then time (descending under DESC), then
        the selected tag columns ascending with empty values last, then series key order."""
        p = self.p
        keys = [sid]
        tag_refs = []
        for f in p.stmt.fields:
            if isinstance(f.expr, VarRef) and p.ref_type(f.expr) == "tag":
                tag_refs.append(ast.text(f.expr))
        by_ref = {ast.text(r): v for r, v in zip(refs, vecs)}
        for name in reversed(list(dict.fromkeys(tag_refs))):
            v = by_ref.get(name)
            if v is None:
                continue
            keys.append(_null_last_codes(v))
        keys.append(time if p.ascending else -time)
        keys.append(self.rank()[gid])
        return np.lexsort(tuple(keys))

    def field_points(self, ref: VarRef, aux: list[VarRef], start: int, ordered: bool = True,
                     ascending: Optional[bool] = None, any_order: bool = False) -> Points:
        """Raw points of a field per output group, time-ordered within each group (1.x's sorted
        merge of the series iterators).  The same points for the same reads: kept with what the run
        derives (the calls of a statement, and the next run over the same copy, see _RunState)."""
        key = ("points", id(ref), start, self.p.end, ordered, ascending, any_order, self._per_series, *map(id, aux))
        got = self._derived.get(key)
        if got is not None and got[1] is ref and len(got[2]) == len(aux) and all(map(operator.is_, got[2], aux)):
            return got[0]
        pts = self._field_points(ref, aux, start, ordered, ascending, any_order)
        self._derived[key] = (frozen(pts), ref, tuple(aux))   # the nodes: their ids stay theirs
        return pts

    def _field_points(self, ref: VarRef, aux: list[VarRef], start: int, ordered: bool, ascending: Optional[bool],
                      any_order: bool) -> Points:
        p = self.p
        saved = p.start
        try:
            p.start = start
            parts = self.raw_points(aux, driver=ref)
        finally:
            p.start = saved
        if not parts:
            kind = p.ref_type(ref)
            return Points.empty(kind if kind in ("float", "integer", "unsigned", "string", "boolean") else "float",
                                len(aux))
        if len(parts) == 1:
            value, auxv = parts[0][6], list(parts[0][5])
        else:
            value = concat([x[6] for x in parts])
            auxv = [concat([x[5][i] for x in parts]) for i in range(len(aux))]
        asc = p.ascending if ascending is None else ascending
        # calls over the same rows (several fields of one series, all set) share the order
        key = None
        if not aux and all(isinstance(x[7], list) for x in parts):
            key = (tuple((id(x[4]), id(x[7])) for x in parts), ordered, asc, any_order)
        got = self._derived.get(key) if key is not None else None
        if got is None:
            got = self._order_points(parts, auxv, aux, ordered, asc, ascending, any_order)
            if key is not None:
                self._derived[key] = frozen(got) + ([x[4] for x in parts], [x[7] for x in parts])  # keeps the ids alive
        order, gid, time, sid, shard = got[:5]
        if order is None:
            return Points(gid, time, value, auxv, sid, shard)
        return Points(gid, time, value.take(order), [a.take(order) for a in auxv], sid, shard)

    def _order_points(self, parts, auxv, aux, ordered: bool, asc: bool, ascending, any_order: bool) -> tuple:
        """(order, and group, time, series and shard in that order) of the rows of ``parts``;
        order None: the rows are in that order already."""
        p = self.p
        if _one_series(parts):
            # every merge below keeps one series' points in time order, or reverses them
            _n, gid, sid, shard, time = parts[0][:5]
            if asc:
                return (None, gid, time, sid, shard)
            order = np.arange(len(time) - 1, -1, -1)
            return (order, gid[order], time[order], sid[order], shard[order])
        gid = np.concatenate([x[1] for x in parts])
        sid = np.concatenate([x[2] for x in parts])
        shard = np.concatenate([x[3] for x in parts])
        time = np.concatenate([x[4] for x in parts])
        rank = self.rank()
        if ascending is not None and ascending != p.ascending:
            rank = self.groups.order(ascending)
        if ordered:
            order = merge_order(gid, sid, shard, time, rank, asc, _heap_aux(aux, auxv, p))
        elif self.v3 or any_order:
            key_t = time if asc else -time
            order = np.lexsort((key_t, sid, rank[gid]))
        else:
            # 1.x's (unsorted) merge iterators: series within a tag set, then shards
            order = go_merge_order(gid, sid, shard, time, rank, self.windows(time), asc)
        return (order, gid[order], time[order], sid[order], shard[order])


def _plain_fields(fields, refs: list[VarRef]) -> tuple:
    """Per field of the statement that is a reference to a column of the raw rows: (the index in
    ``refs`` of that column, its numeric ``::type`` cast or None); (None, None) for the others
    (evaluated: expressions, references to nothing read)."""
    at = {ast.text(r): i for i, r in enumerate(refs)}   # the last of equal texts, as the env's map
    out = []
    for f in fields:
        e = f.expr
        i = at.get(ast.text(e)) if isinstance(e, VarRef) else None
        cast = e.type.value if i is not None and e.type is not None \
            and e.type.value in ("float", "integer", "unsigned") else None
        out.append((i, cast))
    return tuple(out)


def _null_last_codes(v: Vec) -> np.ndarray:
    """Sort codes of a string column: ascending, empty values last."""
    vals = [x if ok and x not in (None, "") else None for x, ok in zip(v.data.tolist(), v.valid.tolist())]
    uniq = sorted({x for x in vals if x is not None})
    code = {x: i for i, x in enumerate(uniq)}
    return np.array([code[x] if x is not None else len(uniq) for x in vals], np.int64)
