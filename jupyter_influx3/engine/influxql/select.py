"""Running a prepared SELECT with InfluxDB 1.x's semantics.

The plan (:class:`~.planner.PreparedSelect`) is run in the shape of 1.x's iterator tree, but
column-wise:

* **raw queries** read the referenced fields and tags (DuckDB: time range, WHERE and projection
  pushed down), keep the rows where one of the selected fields has a value, group them into output
  series by the GROUP BY tags, and order each series by time the way 1.x's heap merge of per-series
  iterators does (ties between series at the same time come out in 1.x's order);
* **aggregate queries** compute every distinct call: map/reduce aggregates (count, sum, mean, min,
  max, first, last, spread) from per-series, per-window partials computed by DuckDB and combined
  like 1.x combines them; the others (median, mode, stddev, percentile, distinct, integral, top,
  bottom, sample) from the rows of each window; transformations (derivative, difference,
  moving_average, cumulative_sum, elapsed, holt_winters, technical analysis) per series over the
  inner call's points.  Then 1.x's interval iterator (window start times, or the selected point's
  time for a lone selector), fill, LIMIT/OFFSET per call, and the merge of the calls into rows;
* **subqueries** run first; their rows become the points of the outer query.

The result is a list of :class:`SeriesData` (name, tags, time, one :class:`~.functions.Vec` per
column) in 1.x's output order.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Optional

import numpy as np

from . import ast
from .ast import BinaryExpr, Call, Distinct, FillOption, ParenExpr, VarRef
from .functions import (MATH_FUNCTIONS, MIN_TIME, Vec, binary, cast_field, concat, holt_winters, math_call,
                        nan_to_null, seq_sum_fast, ta_state, window_end, window_start, window_starts)
from .planner import SELECTORS, MeasurementInfo, PreparedSelect
from .cachescan import Unsupported
from .goheap import Heap
from .pushdown import aggregate_partials, precompute
from ..querylimits import limits_for
from .scan import Frame, Scanner, condition_sql

__all__ = ["SeriesData", "run_select", "ExecError"]

WEEK = 7 * 86400 * 10**9
DAY = 86400 * 10**9
HOUR = 3600 * 10**9
ZERO_TO_EPOCH = 62135596800 * 10**9


#: answers kept per plan about its nodes (see _Run.from_plan)
PLAN_MEMO_KEPT = 512


class ExecError(ValueError):
    """An error 1.x reports while executing a statement."""


@dataclass
class SeriesData:
    name: str
    tags: dict                  # GROUP BY tag -> value ('' when absent); {} without GROUP BY tags
    time: np.ndarray
    cols: list[Vec]


def shard_duration(retention_ns: Optional[int]) -> int:
    d = retention_ns or 0
    if d == 0 or d >= 180 * DAY:
        return WEEK
    if d >= 2 * DAY:
        return DAY
    return HOUR


# ---------------------------------------------------------------------------------------------
# points: the stream between iterator stages


@dataclass
class Points:
    """Points of several groups: rows sorted by group (in output order) then time (in query
    order).  ``aux`` holds auxiliary values carried by selectors."""

    gid: np.ndarray
    time: np.ndarray
    value: Vec
    aux: list[Vec] = field(default_factory=list)
    sid: Optional[np.ndarray] = None      # underlying series (raw points only)
    shard: Optional[np.ndarray] = None

    def __len__(self) -> int:
        return len(self.time)

    def take(self, idx) -> "Points":
        return Points(self.gid[idx], self.time[idx], self.value.take(idx), [a.take(idx) for a in self.aux],
                      None if self.sid is None else self.sid[idx], None if self.shard is None else self.shard[idx])

    @staticmethod
    def empty(kind: str = "float", naux: int = 0) -> "Points":
        z = np.zeros(0, np.int64)
        return Points(z, z.copy(), Vec.nulls(0, kind), [Vec.nulls(0) for _ in range(naux)])


def _grid_union(grid: np.ndarray, times: np.ndarray, interval: int, asc: bool) -> np.ndarray:
    """``np.union1d(grid, times)`` for a regular grid (every ``interval`` from its first window):
    the grid itself (sorted ascending) when every time is one of its windows, as aggregated points
    are, without sorting the two together."""
    lo, hi = (int(grid[0]), int(grid[-1])) if asc else (int(grid[-1]), int(grid[0]))
    if len(times) and int(times.min()) >= lo and int(times.max()) <= hi \
            and not ((times - np.int64(lo)) % np.int64(interval)).any():
        return grid if asc else grid[::-1]
    return np.union1d(grid, times)


def _starts(keys: list[np.ndarray]) -> np.ndarray:
    """Start indices of runs of equal key tuples (rows already sorted by them)."""
    n = len(keys[0]) if keys else 0
    if n == 0:
        return np.zeros(0, np.int64)
    change = np.empty(n, bool)
    change[0] = True
    change[1:] = keys[0][1:] != keys[0][:-1]
    for k in keys[1:]:
        change[1:] |= k[1:] != k[:-1]
    return np.flatnonzero(change)


def _same_array(a: np.ndarray, b: np.ndarray) -> bool:
    return a is b or (len(a) == len(b) and np.array_equal(a, b))


def _one_series(parts: list) -> bool:
    """Whether ``raw_points`` read the points of one stored series (a frame's rows are by series,
    then time), with distinct times: then 1.x's merges and sorts all leave them in time order."""
    if len(parts) != 1 or not isinstance(parts[0][7], list):
        return False   # several measurements, or a subquery's rows
    sid, time = parts[0][2], parts[0][4]
    return len(time) > 0 and bool((sid == sid[0]).all()) and bool((time[1:] > time[:-1]).all())


def _segments(keys: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """Start indices of runs of equal key tuples (rows already sorted by them), and a run id per
    row."""
    n = len(keys[0]) if keys else 0
    if n == 0:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    change = np.zeros(n, bool)
    change[0] = True
    for k in keys:
        change[1:] |= k[1:] != k[:-1]
    starts = np.flatnonzero(change)
    ids = np.cumsum(change) - 1
    return starts, ids


# ---------------------------------------------------------------------------------------------
# groups (output series)


class Groups:
    """Output series keys (measurement name, GROUP BY tag values) -> dense ids; ordered like
    1.x orders series (name, then the tag values in tag-key order)."""

    def __init__(self, dims: list[str]):
        self.dims = list(dims)
        self.sorted_dims = sorted(set(dims))
        self.index: dict[tuple, int] = {}
        self.keys: list[tuple] = []

    def id_for(self, name: str, tags: dict) -> int:
        key = (name,) + tuple(tags.get(d, "") or "" for d in self.sorted_dims)
        i = self.index.get(key)
        if i is None:
            i = len(self.keys)
            self.index[key] = i
            self.keys.append(key)
        return i

    def order(self, ascending: bool = True) -> np.ndarray:
        """rank[gid] = position of the group in output order."""
        n = len(self.keys)
        cache = getattr(self, "_order_cache", None)
        if cache is not None and cache[0] == (n, ascending):
            return cache[1]
        rank = self._order(n, ascending)
        self._order_cache = ((n, ascending), rank)
        return rank

    def _order(self, n: int, ascending: bool) -> np.ndarray:
        idx = sorted(range(n), key=lambda i: self.keys[i], reverse=not ascending)
        rank = np.empty(n, np.int64)
        rank[idx] = np.arange(n)
        return rank

    def tags_of(self, gid: int) -> dict:
        key = self.keys[gid]
        return {d: v for d, v in zip(self.sorted_dims, key[1:])}


# ---------------------------------------------------------------------------------------------
# expressions over columns


def _regex_match(v: Vec, pattern, negate: bool) -> Vec:
    n = len(v)
    out = np.zeros(n, bool)
    if v.kind in ("string", "tag"):
        rows = np.flatnonzero(v.valid)
        hit = pattern.compile().hits([v.data[i] for i in rows.tolist()])  # RE2: linear time
        out[rows] = ~hit if negate else hit
    return Vec("boolean", out, np.ones(n, bool))


def eval_expr(e, env, n: int, keep_nan: bool = False) -> Vec:
    """Evaluate ``e`` for ``n`` rows; ``env(node)`` gives the Vec of a VarRef or a call.  Math
    functions use Go's math and their NaN results are nulls (1.x), unless ``keep_nan`` (InfluxDB 3:
    the C library's math, NaN kept)."""
    if isinstance(e, ParenExpr):
        return eval_expr(e.expr, env, n, keep_nan)
    if isinstance(e, (VarRef, Distinct)):
        return env(e)
    if isinstance(e, Call):
        if e.name in MATH_FUNCTIONS:
            v = math_call(e.name, [eval_expr(a, env, n, keep_nan) for a in e.args], go=not keep_nan)
            return v if keep_nan else nan_to_null(v)
        return env(e)
    if isinstance(e, BinaryExpr):
        if e.op in (ast.Op.EQREGEX, ast.Op.NEQREGEX) and isinstance(e.rhs, ast.RegexLiteral):
            return _regex_match(eval_expr(e.lhs, env, n, keep_nan), e.rhs, e.op is ast.Op.NEQREGEX)
        a = eval_expr(e.lhs, env, n, keep_nan)
        b = eval_expr(e.rhs, env, n, keep_nan)
        return binary(e.op.value, _as_value(a), _as_value(b))
    if isinstance(e, ast.StringLiteral):
        return Vec.const(e.value, n)
    if isinstance(e, ast.IntegerLiteral):
        return Vec.const(int(e.value), n)
    if isinstance(e, ast.UnsignedLiteral):
        return Vec("unsigned", np.full(n, e.value, np.uint64), np.ones(n, bool))
    if isinstance(e, ast.NumberLiteral):
        return Vec.const(float(e.value), n)
    if isinstance(e, ast.BooleanLiteral):
        return Vec.const(bool(e.value), n)
    if isinstance(e, ast.DurationLiteral):
        return Vec.const(int(e.value), n)
    if isinstance(e, ast.TimeLiteral):
        return Vec.const(int(e.value), n)
    return Vec.nulls(n)


def _as_value(v: Vec) -> Vec:
    if v.kind == "tag":
        return Vec("string", v.data, v.valid)
    return v


# ---------------------------------------------------------------------------------------------
# the statement runner


class _Run:
    def __init__(self, p: PreparedSelect, scanner: Scanner, groups: Optional[Groups] = None, v3: bool = False):
        self.p = p
        self.v3 = v3  # InfluxDB 3's answers (row order, NaN kept, fill casts) instead of 1.x's
        self.scanner = scanner
        self.dims = list(p.dimensions)
        self.groups = groups or Groups(self.dims)
        self._frames: dict = {}
        self._per_series: Optional[tuple[int, bool]] = None  # read only this many rows per series
        self._sub_rows: dict[int, list[SeriesData]] = {}
        self._cached: dict[int, object] = {}
        # what the calls of this statement derive from the same rows (orders, window segments,
        # fill grids), keyed by the identity or bytes of those rows
        self._derived: dict = {}

    def from_plan(self, name: str, nodes: tuple, compute):
        """``compute()`` for a question about the plan and ``nodes`` (its tree's nodes, by
        identity) alone: kept with the plan, so the next run of a reused plan finds it."""
        memo = self.p.memo
        key = (name, *map(id, nodes))
        got = memo.get(key)
        if got is not None and all(a is b for a, b in zip(got[1], nodes)):
            return got[0]
        value = compute()
        if len(memo) >= PLAN_MEMO_KEPT:
            memo.clear()   # nodes made while running (a Distinct's call) come and go
        memo[key] = (value, nodes)
        return value

    def shared(self, name, inputs: tuple, compute):
        """``compute()``, worked out once per run for the same ``inputs`` (arrays, by identity):
        the calls of a statement over the same rows hand each other their derived arrays, so
        that the next stage finds its inputs by identity as well.  What is shared is never
        written to."""
        key = (name, *map(id, inputs))
        got = self._derived.get(key)
        if got is not None:
            return got[0]   # the inputs are kept with it: an id found is still theirs
        value = compute()
        self._derived[key] = (value, inputs)
        return value

    def rank(self) -> np.ndarray:
        """rank[gid]: output position of each series; InfluxDB 3 keeps them ascending under DESC."""
        return self.groups.order(True if self.v3 else self.p.ascending)

    def eval(self, e, env, n: int) -> Vec:
        v = eval_expr(e, env, n, keep_nan=self.v3)
        return v if self.v3 else nan_to_null(v)

    # -- sources -------------------------------------------------------------------------------

    def measurements(self) -> list[MeasurementInfo]:
        out = []
        for s in self.p.sources:
            out.extend(s.measurements)
        return out

    def column_for(self, m: MeasurementInfo, ref: VarRef, typ: Optional[str]) -> Optional[tuple[str, str]]:
        """(kind, column) to read for ``ref`` of type ``typ`` from ``m``; kind "tag" for a tag;
        None when the measurement has nothing for it."""
        name = ref.name
        if typ == "tag":
            return ("tag", name) if name in m.tags else None
        if name in m.fields:
            return (m.fields[name], name)
        return None

    def cond_sql(self, m: MeasurementInfo) -> Optional[str]:
        cond = self.p.condition
        if cond is None:
            return None
        return condition_sql(cond, self.column_types(m), v3=self.v3)

    def cached(self, m: MeasurementInfo):
        """Reads of ``m`` from the series cache (see cachescan.py), or None: read through DuckDB."""
        key = id(m)
        if key not in self._cached:
            self._cached[key] = self.scanner.cached(m, self.p.condition, self.column_types(m),
                                                    self.p.read_start, self.p.end)
        return self._cached[key]

    def column_types(self, m: MeasurementInfo):
        """``ct(ref)``: what a reference in the WHERE reads from ``m`` (see condition_sql)."""

        def ct(ref: VarRef):
            if ref.type is ast.DataType.TAG:
                return ("tag", ref.name) if ref.name in m.tags else None
            if ref.name in m.tags and ref.type is None:
                return ("tag", ref.name)
            if ref.name in m.fields:
                k = m.fields[ref.name]
                if ref.type is not None and ref.type.value in ("float", "integer", "unsigned", "string", "boolean") \
                        and ref.type.value != k:
                    if ref.type.value == "float" and k in ("integer", "unsigned"):
                        return ("float", ref.name)
                    if ref.type.value in ("integer", "unsigned") and k in ("float", "integer", "unsigned"):
                        if self.v3 and k == "float":
                            return ("float_as_integer", ref.name)
                        return (k, ref.name)
                    return None
                return (k, ref.name)
            if ref.name in m.tags:
                return ("tag", ref.name)
            if ref.type is None:
                # neither a tag nor a field here: 1.x matches it as a tag with no value
                return ("empty", ref.name)
            return None

        return ct

    def read(self, m: MeasurementInfo, fields: list[tuple[str, str]], any_of: Optional[list[str]],
             lo: int, hi: int) -> Frame:
        limit = self._per_series
        if limit is not None:
            limit = (limit[0], limit[1], self.shard_dur(m))
        key = (id(m), tuple(fields), None if any_of is None else tuple(any_of), lo, hi, limit)
        fr = self._frames.get(key)
        if fr is None:
            fr = self._read_cached(m, fields, lo, hi, any_of, limit)
            if fr is None:
                fr = self.scanner.read(m, fields, lo, hi, self.cond_sql(m), any_of, per_series=limit)
            self._frames[key] = fr
        return fr

    def _read_cached(self, m, fields, lo, hi, any_of, limit) -> Optional[Frame]:
        cached = self.cached(m)
        if cached is None:
            return None
        try:
            return cached.read(fields, lo, hi, any_of, limit)
        except Unsupported:
            return None

    def shard_dur(self, m: MeasurementInfo) -> int:
        return shard_duration(m.database.retention_ns)

    def subquery_rows(self, sq: PreparedSelect) -> list[SeriesData]:
        rows = self._sub_rows.get(id(sq))
        if rows is None:
            # the subquery groups by its own tags and the outer query's
            sub_dims = list(dict.fromkeys(list(sq.dimensions) + self.dims))
            sq2 = _with_dims(sq, sub_dims)
            rows = _Run(sq2, self.scanner, v3=self.v3).run()
            self._sub_rows[id(sq)] = rows
        return rows

    # -- entry ---------------------------------------------------------------------------------

    def run(self) -> list[SeriesData]:
        p = self.p
        if p.is_raw:
            out = self.run_raw()
        else:
            out = self.run_aggregate()
        return self.apply_slimit(out)

    def apply_slimit(self, out: list[SeriesData]) -> list[SeriesData]:
        stmt = self.p.stmt
        if not stmt.slimit and not stmt.soffset:
            return out
        by_name: dict[str, list[int]] = {}
        for i, s in enumerate(out):
            by_name.setdefault(s.name, []).append(i)
        keep = set()
        for name, idxs in by_name.items():
            if not self.p.ascending and not self.v3:
                idxs = idxs[::-1]  # 1.x limits the tag sets in ascending order, then reverses the output
            sel = idxs[stmt.soffset:]
            if stmt.slimit:
                sel = sel[:stmt.slimit]
            keep.update(sel)
        return [s for i, s in enumerate(out) if i in keep]

    # -- raw -----------------------------------------------------------------------------------

    def aux_refs(self) -> list[VarRef]:
        """The field references outside of calls, sorted like 1.x sorts opt.Aux."""
        # the statement's alone: kept on it for the next run of a reused plan
        return list(ast.memo(self.p.stmt, "_aux_refs", self._aux_refs))

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
            shard = (fr.time + np.int64(ZERO_TO_EPOCH % sd)) // np.int64(sd)
            got = self._derived[key] = (self._gids_for_frame(fr), fr.sid + sid_base if sid_base else fr.sid, shard,
                                        fr.time, fr.sid, fr.series)   # keeps the ids alive
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
            vals = np.array([s.get(col) for s in fr.series] + [None], dtype=object)
            has = np.array([v is not None and v != "" for v in vals], dtype=bool)   # per series, not per row
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

        cols = [self.eval(f.expr, env, n) for f in p.stmt.fields]
        return _split_series(self.groups, gid, time, cols, p.ascending)

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

    def opt_window(self, start: int) -> tuple[int, int]:
        return start, self.p.end

    def eval_call(self, c: Call, aux: list[VarRef], selector: bool, top: bool = False,
                  start: Optional[int] = None) -> Points:
        """Points of a call, after 1.x's interval and fill iterators."""
        p = self.p
        start = p.start if start is None else start
        name = c.name
        interval = p.interval
        if name in ("derivative", "non_negative_derivative", "difference", "non_negative_difference",
                    "moving_average", "elapsed") or name in _TA:
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

    def input_points(self, arg, aux, start: int) -> Points:
        """The input of a transformation: an inner call's points, or a field's raw points."""
        if isinstance(arg, Call):
            return self.eval_call(arg, aux, False, start=start)
        if isinstance(arg, Distinct):
            return self.eval_call(arg.to_call(), aux, False, start=start)
        return self.field_points(arg, [], start, ordered=True)

    def field_points(self, ref: VarRef, aux: list[VarRef], start: int, ordered: bool = True,
                     ascending: Optional[bool] = None, any_order: bool = False) -> Points:
        """Raw points of a field per output group, time-ordered within each group (1.x's sorted
        merge of the series iterators)."""
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
                self._derived[key] = got + ([x[4] for x in parts], [x[7] for x in parts])  # keeps the ids alive
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
        if name in ("mean", "sum", "stddev", "median", "spread", "integral") and kind in ("string", "boolean"):
            raise ExecError(f"unsupported {name} iterator type: *query.{_iter_type(kind)}InterruptIterator" if False
                            else f"unsupported {name} iterator type: *query.{_iter_type(kind)}InterruptIterator")
        ordered = name in ("median", "percentile", "stddev")
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
            got = self._derived[key] = (order, win, starts, pts.time, pts.gid)
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
            key = ("fill", start, pts.gid.tobytes(), pts.time.tobytes()) if len(pts) <= 100_000 else None
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
                got = (out_gid, out_time, at, found, np.where(found, at, 0))
                if key is not None:
                    self._derived[key] = got
            return got

        out_gid, out_time, idx, have, safe = self.shared(("fill", start), (pts.gid, pts.time), grid)
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
            gids = np.array(out_gid, np.int64)
            prev_g, prev = None, None
            for i in range(len(idx)):
                if gids[i] != prev_g:
                    prev_g, prev = gids[i], None
                if have[i]:
                    prev = (data[i], valid[i]) if valid[i] else prev
                    if not valid[i]:
                        prev = None
                elif prev is not None:
                    data[i], valid[i] = prev
        elif fill is FillOption.LINEAR:
            gids = np.array(out_gid, np.int64)
            times_all = np.array(out_time, np.int64)
            if kind in ("float", "integer", "unsigned"):
                fdata = data.astype(np.float64) if kind != "float" else data
                res = data.copy()
                prev_i = None
                prev_g = None
                for i in range(len(idx)):
                    if gids[i] != prev_g:
                        prev_g, prev_i = gids[i], None
                    if have[i]:
                        prev_i = i if valid[i] else None
                        continue
                    if prev_i is None:
                        continue
                    # next real point of the same group
                    j = i + 1
                    while j < len(idx) and gids[j] == gids[i] and not have[j]:
                        j += 1
                    if j < len(idx) and gids[j] == gids[i] and valid[j]:
                        t0 = int(times_all[prev_i] // interval)
                        t1 = int(times_all[j] // interval)
                        ti = int(times_all[i] // interval)
                        y0, y1 = fdata[prev_i], fdata[j]
                        if kind == "float":
                            m = (y1 - y0) / float(t1 - t0)
                            res[i] = m * float(ti - t0) + y0
                        else:
                            m = (int(data[j]) - int(data[prev_i])) // (t1 - t0)
                            res[i] = int(m) * (ti - t0) + int(data[prev_i])
                        valid[i] = True
                data = res
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
            items = sorted(first.items(), key=lambda kv: (kv[1][0], kv[0]) if p.ascending else (-kv[1][0], kv[0]))
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
        if len(pts) == 0:
            return Points.empty("float")
        kind = pts.value.kind
        if kind not in ("float", "integer", "unsigned"):
            raise ExecError(f"unsupported integral iterator type: *query.{_iter_type(kind)}InterruptIterator")
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
        pts = self.field_points(ref, all_aux, start, ordered=bool(all_aux), any_order=not all_aux and not tag_args)
        if len(pts) == 0:
            return pts
        kind = pts.value.kind
        if kind not in ("float", "integer", "unsigned"):
            raise ExecError(f"unsupported {c.name} iterator type: *query.{_iter_type(kind)}InterruptIterator")
        win = self.windows(pts.time)
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

    # -- transformations -----------------------------------------------------------------------

    def transform(self, c: Call, inp: Points) -> Points:
        p = self.p
        name = c.name
        if len(inp) == 0:
            kind = "integer" if name == "elapsed" else ("float" if name not in (
                "difference", "non_negative_difference", "cumulative_sum") else inp.value.kind)
            return Points.empty(kind)
        kind = inp.value.kind
        if name == "elapsed":
            unit = c.args[1].value if len(c.args) > 1 else 1
        elif name in ("derivative", "non_negative_derivative"):
            unit = c.args[1].value if len(c.args) > 1 else (p.interval or 10**9)
        if kind not in ("float", "integer", "unsigned") and name != "elapsed":
            raise ExecError(f"unsupported {name} iterator type: *query.{_iter_type(kind)}InterruptIterator")
        out_g, out_t, out_v = [], [], []
        starts = _starts([inp.gid])
        ends = np.append(starts[1:], len(inp))
        asc = p.ascending
        out_kind = "float"
        if name in ("difference", "non_negative_difference", "cumulative_sum"):
            out_kind = kind
        elif name == "elapsed":
            out_kind = "integer"
        for s, e in zip(starts.tolist(), ends.tolist()):
            g = int(inp.gid[s])
            valid = inp.value.valid[s:e]
            times = inp.time[s:e][valid].tolist()
            if kind == "float" or kind not in ("integer", "unsigned"):
                vals = inp.value.data[s:e][valid].tolist()  # elapsed() only reads the times
            else:
                vals = [int(x) for x in inp.value.data[s:e][valid].tolist()]
            res = _stream(name, c, times, vals, kind, asc, unit if name in (
                "elapsed", "derivative", "non_negative_derivative") else None)
            for t, v in res:
                out_g.append(g)
                out_t.append(t)
                out_v.append(v)
        if out_kind == "float":
            data = np.array(out_v, np.float64)
        elif out_kind == "integer":
            data = np.array(out_v, np.int64) if out_v else np.zeros(0, np.int64)
        elif out_kind == "unsigned":
            data = np.array([x % (1 << 64) for x in out_v], np.uint64)
        else:
            data = np.array(out_v, dtype=object)
        return Points(np.array(out_g, np.int64), np.array(out_t, np.int64),
                      Vec(out_kind, data, np.ones(len(out_v), bool)))

    def holt_winters(self, c: Call, inp: Points) -> Points:
        p = self.p
        h, m = c.args[1].value, c.args[2].value
        with_fit = c.name == "holt_winters_with_fit"
        out_g, out_t, out_v = [], [], []
        if len(inp) == 0:
            return Points.empty("float")
        kind = inp.value.kind
        if kind not in ("float", "integer"):
            raise ExecError(f"unsupported {c.name} iterator type: *query.{_iter_type(kind)}InterruptIterator")
        starts = _starts([inp.gid])
        ends = np.append(starts[1:], len(inp))
        for s, e in zip(starts.tolist(), ends.tolist()):
            g = int(inp.gid[s])
            valid = inp.value.valid[s:e]
            times = inp.time[s:e][valid].tolist()
            vals = inp.value.data[s:e][valid].astype(np.float64).tolist()
            if not p.ascending:
                times, vals = times[::-1], vals[::-1]
            for t, v in holt_winters(times, vals, h, m, with_fit, p.interval):
                out_g.append(g)
                out_t.append(t)
                out_v.append(v)
        return Points(np.array(out_g, np.int64), np.array(out_t, np.int64),
                      Vec("float", np.array(out_v, np.float64), np.ones(len(out_v), bool)))


_TA = frozenset(["exponential_moving_average", "double_exponential_moving_average",
                 "triple_exponential_moving_average", "relative_strength_index", "triple_exponential_derivative",
                 "kaufmans_efficiency_ratio", "kaufmans_adaptive_moving_average", "chande_momentum_oscillator"])


def _iter_type(kind: str) -> str:
    return {"float": "float", "integer": "integer", "unsigned": "unsigned", "string": "string",
            "boolean": "boolean"}.get(kind, "float")


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


def _calls_in(e) -> list[Call]:
    out = []
    stack = [e]
    while stack:
        n = stack.pop()
        if isinstance(n, Call):
            if n.name in MATH_FUNCTIONS:
                stack.extend(reversed(n.args))
            else:
                out.append(n)
        elif isinstance(n, Distinct):
            out.append(n.to_call())
        elif isinstance(n, BinaryExpr):
            stack.extend((n.rhs, n.lhs))
        elif isinstance(n, ParenExpr):
            stack.append(n.expr)
    return out


def _refs_outside_calls(e) -> list[VarRef]:
    out = []
    stack = [e]
    while stack:
        n = stack.pop()
        if isinstance(n, VarRef):
            out.append(n)
        elif isinstance(n, Call):
            if n.name in MATH_FUNCTIONS:
                stack.extend(reversed(n.args))
        elif isinstance(n, BinaryExpr):
            stack.extend((n.rhs, n.lhs))
        elif isinstance(n, ParenExpr):
            stack.append(n.expr)
    return out


def _with_dims(sq: PreparedSelect, dims: list[str]) -> PreparedSelect:
    from dataclasses import replace
    return replace(sq, dimensions=dims)


def _null_last_codes(v: Vec) -> np.ndarray:
    """Sort codes of a string column: ascending, empty values last."""
    vals = [x if ok and x not in (None, "") else None for x, ok in zip(v.data.tolist(), v.valid.tolist())]
    uniq = sorted({x for x in vals if x is not None})
    code = {x: i for i, x in enumerate(uniq)}
    return np.array([code[x] if x is not None else len(uniq) for x in vals], np.int64)


def _cast_fill(v, kind: str, v3: bool = False):
    """FILL(number) as a value of ``kind``; 1.x gives up on a fractional value for integers,
    InfluxDB 3 truncates it."""
    if v is None:
        return None
    if kind == "float":
        return float(v)
    if kind == "integer":
        if v3:
            return int(v)
        return int(v) if not isinstance(v, float) or v == int(v) else None
    if kind == "unsigned":
        return int(v) if int(v) >= 0 else None
    return None


def _linear(t: int, t0: int, t1: int, v0: float, v1: float) -> float:
    m = (v1 - v0) / float(t1 - t0)
    return m * float(t - t0) + v0


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


# ---------------------------------------------------------------------------------------------
# merge order of raw points (1.x's heap merge of series iterators)


def _subquery_seq(parts: list, ascending: bool) -> Optional[np.ndarray]:
    """Order keys inside each iterator when subquery rows are among ``parts``: a subquery's rows
    come as its iterators emit them -- window by window, series by series inside a window (one
    window for a raw or an ungrouped subquery), each series' rows in order."""
    if not any(isinstance(x[7], dict) for x in parts):
        return None
    sub = [x for x in parts if isinstance(x[7], dict)]
    win = np.concatenate([x[7]["win"] for x in sub])
    ser = np.concatenate([x[7]["series"] for x in sub])
    pos = np.arange(len(win), dtype=np.int64)
    rank = np.empty(len(win), np.int64)
    rank[np.lexsort((pos, ser, win if ascending else -win))] = pos
    seqs, off = [], 0
    for x in parts:
        n = len(x[4])
        if isinstance(x[7], dict):
            seqs.append(rank[off:off + n])
            off += n
        else:
            seqs.append(x[4] if ascending else -x[4])
    return np.concatenate(seqs)


def _heap_aux(refs: list, vecs: list, p) -> Optional[list]:
    """Per aux column, the values 1.x's sorted merge compares on equal times: strings (a tag's
    missing value is ""), None for anything else (which stops the comparison)."""
    out = []
    for r, v in zip(refs, vecs):
        if p.ref_type(r) == "tag":
            out.append(np.where(v.valid, v.data, ""))
        elif v.kind == "string":
            out.append(np.where(v.valid, v.data, None))
        else:
            out.append(None)
            break
    while out and out[-1] is None:
        out.pop()
    return out or None


def merge_order(gid, sid, shard, time, rank, ascending: bool, aux: Optional[list] = None,
                seq: Optional[np.ndarray] = None) -> np.ndarray:
    """The order in which 1.x emits raw points: by group (output order), then per shard the
    sorted merge of the group's series iterators (Go's container/heap; equal times compare the
    string aux values, then are left as the heap happens to pop them), shards in time order.
    ``seq`` orders the points inside each iterator when that is not their time (a subquery's
    rows come in the subquery's output order)."""
    n = len(time)
    if n == 0:
        return np.zeros(0, np.int64)
    r = rank[gid]
    key_t = time if ascending else -time
    key_sh = shard if ascending else -shard
    key_sid = sid if ascending else -sid
    base = np.lexsort((key_t if seq is None else seq, key_sid, key_sh, r))
    # within (group, shard): if times are unique, the time order is the answer
    rb, shb, tb, sb = r[base], key_sh[base], key_t[base], sid[base]
    starts = _starts([rb, shb])
    ends = np.append(starts[1:], n)
    out = []
    for s, e in zip(starts.tolist(), ends.tolist()):
        seg = base[s:e]
        sids = sb[s:e]
        if len(seg) == 1 or sids[0] == sids[-1]:
            out.append(seg)
            continue
        tseg = tb[s:e]
        if seq is None:
            o = np.argsort(tseg, kind="stable")
            ts = tseg[o]
            if not (ts[1:] == ts[:-1]).any():
                out.append(seg[o])
                continue
        if aux is not None:
            strict = _strict_order(tseg, [a[seg] for a in aux], ascending)
            if strict is not None:
                # the heap's "less" is a strict order on these points: its pops are the sort
                out.append(seg[strict])
                continue
        seg_aux = None if aux is None else [a[seg].tolist() for a in aux]
        out.append(seg[_go_heap_merge(sids, tseg, seg_aux, ascending)])
    return np.concatenate(out)


def _strict_order(keyt: np.ndarray, aux: list, ascending: bool) -> Optional[np.ndarray]:
    """The order (time, then the string aux values) when no two points tie on all of them and
    every compared value is a string; None otherwise (the heap's pops then depend on its
    layout)."""
    keys = []
    for a in aux:
        if any(v is None for v in a.tolist()):
            return None
        uniq, codes = np.unique(a.astype(str), return_inverse=True)
        codes = codes.reshape(-1).astype(np.int64)
        keys.append(codes if ascending else -codes)
    order = np.lexsort(tuple(reversed(keys)) + (keyt,))
    t = keyt[order]
    same = t[1:] == t[:-1]
    for k in keys:
        ko = k[order]
        same &= ko[1:] == ko[:-1]
    if same.any():
        return None
    return order


def go_merge_order(gid, sid, shard, time, rank, win, ascending: bool) -> np.ndarray:
    """The order of 1.x's MergeIterator stack for unordered reads: per shard and tag set the
    series iterators are merged by window (a popped iterator is read while its points stay in
    the window; equal windows are left to Go's heap), tag sets follow in output order, then the
    shards' streams are merged the same way per group."""
    n = len(time)
    if n == 0:
        return np.zeros(0, np.int64)
    r = rank[gid]
    key_w = win if ascending else -win
    key_t = time if ascending else -time
    key_sid = sid if ascending else -sid  # 1.x reverses a tag set's series under DESC
    base = np.lexsort((key_t, key_sid, r, shard if ascending else -shard))
    sh_b, r_b, sid_b = shard[base], r[base], sid[base]
    kw = key_w.tolist()
    # per (shard, group): merge the series runs
    per_group: dict[int, list[list[int]]] = {}
    starts = _starts([sh_b, r_b])
    ends = np.append(starts[1:], n)
    for s0, e0 in zip(starts.tolist(), ends.tolist()):
        seg = base[s0:e0]
        sids = sid_b[s0:e0]
        sub = _starts([sids])
        sub_e = np.append(sub[1:], len(seg))
        runs = [seg[a:b].tolist() for a, b in zip(sub.tolist(), sub_e.tolist())]
        merged = _go_merge_runs(runs, kw) if len(runs) > 1 else runs[0]
        per_group.setdefault(int(r_b[s0]), []).append(merged)
    out: list[int] = []
    for g in sorted(per_group):
        shard_runs = per_group[g]
        out.extend(_go_merge_runs(shard_runs, kw) if len(shard_runs) > 1 else shard_runs[0])
    return np.array(out, np.int64)


def _go_merge_runs(runs: list[list[int]], key: list) -> list[int]:
    """Go's MergeIterator over iterators ``runs`` (positions; ``key[pos]`` is the point's window
    key): the heap orders iterators by the key of their next point; the popped iterator is read
    until its key changes, then pushed back."""
    heads = [0] * len(runs)
    heap = Heap(list(range(len(runs))), lambda a, b: key[runs[a][heads[a]]] < key[runs[b][heads[b]]])
    heap.init()
    out: list[int] = []
    while heap.h:
        it = heap.pop()
        run = runs[it]
        k = key[run[heads[it]]]
        while heads[it] < len(run) and key[run[heads[it]]] == k:
            out.append(run[heads[it]])
            heads[it] += 1
        if heads[it] < len(run):
            heap.push(it)
    return out


def _go_heap_merge(sids: np.ndarray, times: np.ndarray, aux: Optional[list] = None,
                   ascending: bool = True) -> np.ndarray:
    """Positions in emission order of a Go container/heap merge of per-series sorted runs (the
    runs appear consecutively in ``sids``/``times``, series in iterator order).  Ordered by time
    only; equal times come out as Go's heap happens to pop them."""
    starts = _starts([sids])
    ends = np.append(starts[1:], len(sids))
    tl = times.tolist()
    heads = starts.tolist()
    lim = ends.tolist()
    items = list(range(len(heads)))  # item i = series i; key = tl[heads[i]]

    if aux:
        def less(a, b):
            ia, ib = heads[a], heads[b]
            ta, tb = tl[ia], tl[ib]
            if ta != tb:
                return ta < tb
            for col in aux:
                v1, v2 = col[ia], col[ib]
                if v1 is None or v2 is None:
                    return False
                if v1 == v2:
                    continue
                return v1 < v2 if ascending else v1 > v2
            return False
    else:
        def less(a, b):
            return tl[heads[a]] < tl[heads[b]]

    heap = Heap(items, less)
    h = heap.h
    heap.init()
    out = []

    def pop_one():
        item = heap.pop()
        out.append(heads[item])
        heads[item] += 1
        if heads[item] < lim[item]:
            heap.push(item)
        return item

    # A "round": every series in the heap is at the same time and each one's next point is at
    # the same later time.  Then the heap's pops depend only on its layout, which repeats from
    # round to round in regular data -- replay a recorded round instead of sifting again.
    memo: dict = {}
    rounds = not aux and len(h) > 2
    while h:
        if rounds:
            t0 = tl[heads[h[0]]]
            nxt = None
            ok = True
            for it in h:
                pos = heads[it]
                if tl[pos] != t0 or pos + 1 >= lim[it]:
                    ok = False
                    break
                tn = tl[pos + 1]
                if nxt is None:
                    nxt = tn
                elif tn != nxt:
                    ok = False
                    break
            if ok:
                key = tuple(h)
                rec = memo.get(key)
                if rec is None:
                    popped = [pop_one() for _ in range(len(key))]
                    memo[key] = (popped, tuple(h))
                else:
                    popped, final = rec
                    for it in popped:
                        out.append(heads[it])
                        heads[it] += 1
                    h[:] = final
                continue
        pop_one()
    return np.array(out, np.int64)


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


def _limit_mask(gid: np.ndarray, limit: int, offset: int) -> Optional[np.ndarray]:
    if not limit and not offset:
        return None
    n = len(gid)
    if n == 0:
        return np.zeros(0, bool)
    starts, seg = _segments([gid])
    pos = np.arange(n) - starts[seg]
    keep = pos >= offset
    if limit:
        keep &= pos < offset + limit
    return keep


def _apply_limit(pts: Points, limit: int, offset: int) -> Points:
    keep = _limit_mask(pts.gid, limit, offset)
    if keep is None:
        return pts
    return pts.take(np.flatnonzero(keep))


def _split_series(groups: Groups, gid, time, cols: list[Vec], ascending: bool) -> list[SeriesData]:
    out = []
    n = len(time)
    if n == 0:
        return out
    if gid[0] == gid[-1] and (gid == gid[0]).all():
        bounds = [(0, n)]   # one series (the runs below would be one)
    else:
        starts = _starts([gid]).tolist()
        bounds = zip(starts, starts[1:] + [n])
    for s, e in bounds:
        g = int(gid[s])
        key = groups.keys[g]
        tags = groups.tags_of(g) if groups.dims else {}
        out.append(SeriesData(key[0], tags, time[s:e], [Vec(c.kind, c.data[s:e], c.valid[s:e]) for c in cols]))
    return out


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
        zt = win[starts] if interval else np.full(len(starts), p_start, np.int64)
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
        for s, e in zip(starts.tolist(), ends.tolist()):
            length = e - s
            i = int(math.floor(float(length) * pct / 100.0 + 0.5)) - 1
            if i < 0 or i >= length:
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
    kind, vals = value.kind, value.data
    if not (kind == "integer" or (kind == "float" and not np.isnan(vals).any())):
        return None
    fn = np.maximum if name == "max" else np.minimum
    return Points(gid, zero_t, Vec(kind, fn.reduceat(vals, starts), ones))


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
    o = np.argsort(vals, kind="stable") if kind != "string" else sorted(range(len(vals)), key=lambda i: vals[i])
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


# ---------------------------------------------------------------------------------------------
# stream transformations


def _steps(times: list, vals: list):
    """``(previous, current)`` (time, value) pairs of derivative()/difference(): a point at the
    same time as the one before it is skipped."""
    prev = curr = None
    for t, v in zip(times, vals):
        if curr is not None and curr[0] == t:
            continue
        prev, curr = curr, (t, v)
        if prev is not None:
            yield prev, curr


def _stream(name: str, c: Call, times: list, vals: list, kind: str, asc: bool, unit) -> list:
    out = []
    if name in ("derivative", "non_negative_derivative"):
        nonneg = name == "non_negative_derivative"
        for prev, curr in _steps(times, vals):
            t = curr[0]
            if kind == "unsigned":
                diff = float(curr[1] - prev[1])
            elif kind == "integer":
                diff = float(_wrap64(curr[1] - prev[1]))
            else:
                diff = curr[1] - prev[1]
            elapsed = curr[0] - prev[0]
            if not asc:
                elapsed = -elapsed
            value = diff / (float(elapsed) / float(unit))
            if nonneg and diff < 0:
                continue
            out.append((t, value))
        return out
    if name in ("difference", "non_negative_difference"):
        nonneg = name == "non_negative_difference"
        for prev, curr in _steps(times, vals):
            t = curr[0]
            if kind == "integer":
                value = _wrap64(curr[1] - prev[1])
            elif kind == "unsigned":
                if nonneg and curr[1] < prev[1]:
                    continue
                value = (curr[1] - prev[1]) % (1 << 64)
            else:
                value = curr[1] - prev[1]
            if nonneg and value < 0:
                continue
            out.append((t, value))
        return out
    if name == "elapsed":
        prev = None
        for t, v in zip(times, vals):
            if prev is not None and prev != t:
                el = t - prev
                if not asc:
                    el = -el
                out.append((t, int(el // unit) if el >= 0 else -int((-el) // unit)))
            if prev is None or prev != t:
                prev = t
        return out
    if name == "moving_average":
        n = c.args[1].value
        buf = []
        pos = 0
        total = 0.0 if kind == "float" else 0
        for t, v in zip(times, vals):
            if len(buf) != n:
                buf.append(v)
            else:
                total -= buf[pos]
                buf[pos] = v
            total += v
            if kind == "integer":
                total = _wrap64(total)
            pos += 1
            if pos >= n:
                pos = 0
            if len(buf) == n:
                out.append((t, float(total) / float(n)))
        return out
    if name == "cumulative_sum":
        total = 0.0 if kind == "float" else 0
        for t, v in zip(times, vals):
            total += v
            if kind == "integer":
                total = _wrap64(total)
            elif kind == "unsigned":
                total %= 1 << 64
            out.append((t, total))
        return out
    if name in _TA:
        period = c.args[1].value
        hold = c.args[2].value if len(c.args) >= 3 else -1
        warmup = c.args[3].value if len(c.args) >= 4 else None
        if name == "chande_momentum_oscillator":
            wt = warmup if warmup is not None else None
            st = ta_state(name, period, wt if wt != "none" else "none")
        else:
            st = ta_state(name, period, warmup or "exponential")
        if hold == -1:
            hold = st.warm_count()
        count = 0
        for t, v in zip(times, vals):
            r = st.add(float(v))
            count += 1
            if count <= hold:
                continue
            if name in ("triple_exponential_derivative", "kaufmans_efficiency_ratio",
                        "kaufmans_adaptive_moving_average") and math.isinf(r):
                continue
            out.append((t, r))
        return out
    raise ExecError(f"unsupported call: {name}")


def _wrap64(v: int) -> int:
    v &= (1 << 64) - 1
    return v - (1 << 64) if v >> 63 else v


# ---------------------------------------------------------------------------------------------
# entry point


def run_select(p: PreparedSelect, scanner: Scanner, dialect: str = "v1") -> list[SeriesData]:
    """Run a prepared SELECT; series in 1.x's output order (``dialect="v3"``: InfluxDB 3's)."""
    return _Run(p, scanner, v3=dialect == "v3").run()
