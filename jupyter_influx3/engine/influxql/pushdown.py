"""Aggregates computed in DuckDB as 1.x's per-series partials, combined in Python the 1.x way.

1.x pushes ``count``, ``sum``, ``mean``, ``min``, ``max``, ``first`` and ``last`` down to each shard's
series iterators: one partial point per (series, shard, window), merged into the group's answer
in series order.  Reading those partials from DuckDB (``GROUP BY`` the tag columns, the window and
the shard, with ``sum(v ORDER BY time)`` for the float sums that must add up in time order) gives
the same numbers as reading every point, and only (series x windows) rows come back to Python.
All the calls of a statement are read in one pass per measurement (:func:`precompute`).

:func:`aggregate_partials` answers what ``_Run.aggregate`` would for those calls (``spread`` too),
or None when the query needs the raw points (casts, subqueries, time zones, aux fields...).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Optional

import numpy as np
import pyarrow as pa

from .ast import Call, VarRef, text
from .cachescan import Unsupported
from .functions import NUMERIC_KINDS, Vec
from .points import Points
from ..sql.seriescache import distinct_series

if TYPE_CHECKING:  # pragma: no cover
    from .select import _Run

PUSHED = {"count", "sum", "mean", "min", "max", "first", "last", "spread"}
_AGGS = {"count": ["count"], "sum": ["count", "sum"], "mean": ["count", "sum"], "min": ["count", "min"],
         "max": ["count", "max"], "first": ["count", "first"], "last": ["count", "last"],
         "spread": ["count", "min", "max"]}


def eligible(run: "_Run", c: Call) -> bool:
    """Whether ``c``'s partials can be computed (a question about the plan: kept with it)."""
    return run.from_plan("pushdown eligible", (c,), lambda: _eligible(run, c))


def _eligible(run: "_Run", c: Call) -> bool:
    p = run.p
    if c.name not in PUSHED or len(c.args) != 1 or not isinstance(c.args[0], VarRef):
        return False
    if p.location or any(src.subquery is not None for src in p.sources):
        return False
    if c.name in ("first", "last") and not p.interval:
        return False  # 1.x reads these through its limit iterator (see _Run.aggregate)
    kind = p.ref_type(c.args[0])
    if kind not in NUMERIC_KINDS or (c.name == "first" and kind == "unsigned"):
        return False
    for m in run.measurements():
        col = run.column_for(m, c.args[0], kind)
        if col is not None and col[0] not in ("tag", kind):
            return False  # a cast: the raw path converts values
    return True


def precompute(run: "_Run", calls: list[Call], start: int) -> None:
    """Read the partials of every eligible call in one DuckDB pass per measurement; the points
    are kept in ``run._pushed`` for :func:`aggregate_partials`."""
    calls = [c for c in calls if eligible(run, c)]
    if not calls:
        return
    p = run.p
    lo, hi = max(start, p.read_start), p.end
    pushed = getattr(run, "_pushed", None)
    if pushed is None:
        pushed = run._pushed = {}
    if _few_cached_rows(run, lo, hi, len({text(c.args[0]) for c in calls})):
        # the points are read instead: said once for every call, not asked again per call
        for c in calls:
            pushed[(text(c), start, p.end)] = None
        return
    per_call: dict[str, list] = {text(c): [] for c in calls}
    for m in run.measurements():
        fields: dict[str, tuple[str, set]] = {}
        for c in calls:
            kind = p.ref_type(c.args[0])
            col = run.column_for(m, c.args[0], kind)
            if col is None or col[0] == "tag":
                continue
            aggs = set(_AGGS[c.name])
            if kind == "float" and "sum" in aggs:
                aggs = (aggs - {"sum"}) | {"sumf"}
            if p.interval and c.name in ("min", "max", "spread"):
                # the window start replaces the point's time: the values alone decide (and a
                # null says the field has no point there)
                aggs = {a + "v" for a in aggs if a in ("min", "max")}
            prev = fields.get(col[1])
            fields[col[1]] = (kind, aggs | (prev[1] if prev else set()))
        if not fields:
            continue
        spec = [(col, kind, sorted(aggs)) for col, (kind, aggs) in fields.items()]
        tbl, series = _cached_partials(run, m, spec, lo, hi)
        if tbl is None:
            try:
                tbl = run.scanner.partials(m, spec, lo, hi, run.cond_sql(m), p.interval, p.offset, run.shard_dur(m),
                                           ascending=p.ascending)
            except Exception:  # noqa: BLE001 - e.g. an integer overflow in DuckDB: read the points instead
                return
        run.scanner.rows_read += tbl.num_rows
        if not tbl.num_rows:
            continue
        ser = _series(run, m, tbl, series)
        index = {col: i for i, (col, _k, _a) in enumerate(spec)}
        for c in calls:
            col = run.column_for(m, c.args[0], p.ref_type(c.args[0]))
            if col is None or col[0] == "tag":
                continue
            per_call[text(c)].append((ser, tbl, index[col[1]]))
    for c in calls:
        pushed[(text(c), start, p.end)] = _combine(run, c, per_call[text(c)])


def _cached_partials(run: "_Run", m, spec, lo: int, hi: int) -> tuple[Optional[pa.Table], Optional[list]]:
    """The partials from the series cache (numpy) and the copy's series their ``__sid`` numbers,
    or (None, None): compute them in DuckDB."""
    cached = run.cached(m)
    if cached is None:
        return None, None
    try:
        return cached.partials(spec, lo, hi, run.p.interval, run.p.offset, run.shard_dur(m))
    except Unsupported:
        return None, None


#: up to this many rows in the series cache, reading the points beats DuckDB's partials ...
CACHED_POINTS_MAX = 50_000
#: ... when they are one series' (no merge of series), or this few, or the plan runs again and
#: its points' merge order will be kept for the next runs over the same copy (select._RunState:
#: a run reading at most STATE_ROWS_KEPT rows); otherwise the copy's partials are several times
#: quicker (a merge of 2 x 4,320 points costs ~5 ms, their partials ~0.6 ms)
MERGED_POINTS_MAX = 1_000


def _few_cached_rows(run: "_Run", lo: int, hi: int, fields: int = 1) -> bool:
    """Every measurement is in the series cache and the tag terms and time range leave few rows:
    the points (of ``fields`` fields) are read from memory and reduced in numpy (same answers as
    the partials)."""
    from .select import STATE_ROWS_KEPT

    total = 0
    series = 0
    for m in run.measurements():
        cached = run.cached(m)
        if cached is None:
            return False
        total += cached.candidate_rows(lo, hi)
        series += cached.candidate_series(lo, hi)
        if total > CACHED_POINTS_MAX:
            return False
    return series <= 1 or total <= MERGED_POINTS_MAX or (
        getattr(run, "_rerun", False) and total * fields <= STATE_ROWS_KEPT)


def aggregate_partials(run: "_Run", c: Call, start: int) -> Optional["Points"]:
    pushed, key = getattr(run, "_pushed", None), (text(c), start, run.p.end)
    if pushed is not None and key in pushed:
        return pushed[key]
    if not eligible(run, c):
        return None
    precompute(run, [c], start)
    pushed = getattr(run, "_pushed", None) or {}
    return pushed.get(key)


def _series(run: "_Run", m, tbl: pa.Table, copy_series: Optional[list] = None) -> tuple[np.ndarray, np.ndarray,
                                                                                          np.ndarray, np.ndarray]:
    """Per partial row: group id, series rank (series key order), shard, window.  The rows of
    DuckDB's partials name their series by tag columns; those of a series-cache copy by the
    copy's series (``__sid`` into ``copy_series``, which are in key order already)."""
    if copy_series is not None:
        uniq, sid = np.unique(np.asarray(tbl.column("__sid").to_numpy(), dtype=np.int64), return_inverse=True)
        sid = sid.reshape(-1).astype(np.int64)
        series = [copy_series[i] for i in uniq.tolist()]
    else:
        tag_cols = [t for t in m.tags if t in tbl.column_names]
        sid, series, _keys = distinct_series(m.name, [(t, tbl.column(t)) for t in tag_cols], tbl.num_rows)
    gids = np.array([run.groups.id_for(m.name, {d: t.get(d, "") for d in run.dims}) for t in series], np.int64)
    shard = np.asarray(tbl.column("__shard").to_numpy(), dtype=np.int64)
    win = np.asarray(tbl.column("__win").to_numpy(), dtype=np.int64)
    return gids[sid], sid, shard, win


def _combine(run: "_Run", c: Call, parts: list) -> "Points":
    p = run.p
    name = c.name
    kind = p.ref_type(c.args[0])
    out_kind = {"count": "integer", "mean": "float"}.get(name, kind)
    keeps = []
    for _ser, tbl, i in parts:
        if f"__{i}_count" in tbl.column_names:
            keep = np.asarray(tbl.column(f"__{i}_count").to_numpy(), dtype=np.int64) > 0
        else:
            present = [tbl.column(f"__{i}_{a}") for a in ("minv", "maxv") if f"__{i}_{a}" in tbl.column_names]
            keep = np.asarray(present[0].is_valid().to_numpy(zero_copy_only=False), dtype=bool)
        keeps.append(keep)
    rows = _combined_rows(run, [x[0] for x in parts], keeps)
    if rows is None:
        return Points.empty(out_kind, 0)
    idxs, order, shard, starts, ends, out_gid, zero_t, ones = rows
    cols: dict[str, list] = {}
    for (_ser, tbl, i), idx in zip(parts, idxs):
        if idx is None:
            continue
        for a in _AGGS[name] + (["sumf"] if kind == "float" and name in ("sum", "mean") else []) + ["minv", "maxv"]:
            colname = f"__{i}_{a}"
            if colname in tbl.column_names:
                cols.setdefault(a, []).append(tbl.column(colname) if idx is True else tbl.column(colname).take(idx))

    def column(a: str) -> pa.ChunkedArray:
        chunks = [ch for x in cols[a] for ch in x.chunks]
        return pa.chunked_array(chunks, type=cols[a][0].type).take(pa.array(order))

    def values(a: str) -> np.ndarray:
        """``column(a).to_numpy()`` for a column of numbers, taken in numpy (no Arrow take)."""
        got = [x.to_numpy() for x in cols[a]]
        return (got[0] if len(got) == 1 else np.concatenate(got))[order]

    if name == "count":
        counts = np.asarray(values("count"), dtype=np.int64)
        return Points(out_gid, zero_t, Vec("integer", np.add.reduceat(counts, starts), ones))
    if name in ("sum", "mean"):
        counts = np.asarray(values("count"), dtype=np.int64)
        if kind == "float":
            sums = np.asarray(values("sumf"), dtype=np.float64)
        else:
            raw = column("sum").to_pylist()
            sums = np.array([_wrap(int(x)) for x in raw], np.int64) if kind == "integer" else \
                np.array([int(x) % (1 << 64) for x in raw], np.uint64)
        if name == "sum":
            if kind == "float":
                res = np.array([_shard_sum(sums[s:e], shard[s:e]) for s, e in zip(starts.tolist(), ends.tolist())],
                               np.float64)
            else:
                with np.errstate(over="ignore"):
                    res = np.add.reduceat(sums, starts)
            return Points(out_gid, zero_t, Vec(kind, res, ones))
        fsums = sums.astype(np.float64) if kind != "float" else sums
        res = np.array([_combine_means(fsums[s:e], counts[s:e], shard[s:e])
                        for s, e in zip(starts.tolist(), ends.tolist())], np.float64)
        return Points(out_gid, zero_t, Vec("float", res, ones))
    plain = "minv" in cols or "maxv" in cols
    if plain and name in ("min", "max"):
        v = np.asarray(values(name + "v"), dtype=_DTYPE[kind])
        res = np.minimum.reduceat(v, starts) if name == "min" else np.maximum.reduceat(v, starts)
        return Points(out_gid, zero_t, Vec(kind, res, ones))
    if name == "spread":
        mn = np.asarray(values("minv"), dtype=_DTYPE[kind]) if plain else _struct_values(column("min"), kind)
        mx = np.asarray(values("maxv"), dtype=_DTYPE[kind]) if plain else _struct_values(column("max"), kind)
        with np.errstate(over="ignore"):
            res = np.maximum.reduceat(mx, starts) - np.minimum.reduceat(mn, starts)
        return Points(out_gid, zero_t, Vec(kind, res, ones))
    # selectors: the best partial point by 1.x's rule
    st = column(name)
    vals = _struct_values(st, kind)
    times = np.asarray(pa.chunked_array([ch.field("t") for ch in st.chunks]).to_numpy(), dtype=np.int64)
    if name == "max":
        times = -times  # stored negated so that max() prefers the earlier point
    if name == "first":
        vals = -vals  # stored negated so that min() prefers the larger value
    sel = _best(name, vals, times, starts, ends)
    return Points(out_gid, times[sel], Vec(kind, vals[sel], ones))


def _combined_rows(run: "_Run", sers: list, keeps: list) -> Optional[tuple]:
    """The rows of the partials of a call, in 1.x's combine order: per part the rows kept (an
    index array, True for all, None for none), the order, shards, (group, window) segments, and
    each segment's group, time and validity.  Calls over the same partials with the same rows
    kept share them (worked out once per run)."""
    asc = run.p.ascending
    key = (asc, tuple((id(ser[0]), None if keep.all() else keep.tobytes()) for ser, keep in zip(sers, keeps)))
    memo = getattr(run, "_combined", None)
    if memo is None:
        memo = run._combined = {}
    got = memo.get(key)
    if got is not None:
        return got[0]
    idxs, gid_l, sid_l, shard_l, win_l = [], [], [], [], []
    sid_base = 0
    for (gids, sids, shards, wins), keep in zip(sers, keeps):
        if not keep.any():
            idxs.append(None)
            continue
        if keep.all():
            idxs.append(True)
            gid_l.append(gids)
            sid_l.append(sids + sid_base if sid_base else sids)
            shard_l.append(shards)
            win_l.append(wins)
        else:
            idx = np.flatnonzero(keep)
            idxs.append(pa.array(idx))
            gid_l.append(gids[idx])
            sid_l.append(sids[idx] + sid_base)
            shard_l.append(shards[idx])
            win_l.append(wins[idx])
        sid_base += int(sids.max()) + 1 if len(sids) else 0
    if not gid_l:
        memo[key] = (None, sers)
        return None
    gid = np.concatenate(gid_l)
    sid = np.concatenate(sid_l)
    shard = np.concatenate(shard_l)
    win = np.concatenate(win_l)
    order = np.lexsort((sid if asc else -sid, shard if asc else -shard, win if asc else -win, run.rank()[gid]))
    gid, shard, win = gid[order], shard[order], win[order]
    seg = np.ones(len(gid), bool)
    seg[1:] = (gid[1:] != gid[:-1]) | (win[1:] != win[:-1])
    starts = np.flatnonzero(seg)
    ends = np.append(starts[1:], len(gid))
    zero_t = win[starts].copy() if run.p.interval else np.full(len(starts), run.p.start, np.int64)
    got = (idxs, order, shard, starts, ends, gid[starts], zero_t, np.ones(len(starts), bool))
    memo[key] = (got, sers)   # the partials: their ids stay theirs for the run
    return got


_DTYPE = {"float": np.float64, "integer": np.int64, "unsigned": np.uint64}


def _best(name: str, vals: np.ndarray, times: np.ndarray, starts: np.ndarray, ends: np.ndarray) -> np.ndarray:
    """Index of the point 1.x's reducer keeps in each segment: min/max the smallest/largest value
    (then the earliest), first/last the earliest/latest time (then the larger value)."""
    if len(starts) == len(vals):
        return np.arange(len(vals))
    vl, tl = vals.tolist(), times.tolist()
    out = []
    for s, e in zip(starts.tolist(), ends.tolist()):
        best = s
        for i in range(s + 1, e):
            v, bv, t, bt = vl[i], vl[best], tl[i], tl[best]
            if name == "min":
                better = v < bv or (v == bv and t < bt)
            elif name == "max":
                better = v > bv or (v == bv and t < bt)
            elif name == "first":
                better = t < bt or (t == bt and v > bv)
            else:
                better = t > bt or (t == bt and v > bv)
            if better:
                best = i
        out.append(best)
    return np.array(out, np.int64)


def _wrap(v: int) -> int:
    v &= (1 << 64) - 1
    return v - (1 << 64) if v >= 1 << 63 else v


def _struct_values(st: pa.ChunkedArray, kind: str) -> np.ndarray:
    arr = pa.chunked_array([ch.field("v") for ch in st.chunks])
    dtype = {"float": np.float64, "integer": np.int64, "unsigned": np.uint64}[kind]
    return np.asarray(arr.to_numpy(), dtype=dtype)


def _shard_sum(partials: np.ndarray, shards: np.ndarray) -> float:
    """Per shard, the series' sums added in order; then the shards' totals."""
    total = 0.0
    cur, acc = None, 0.0
    for x, sh in zip(partials.tolist(), shards.tolist()):
        if sh != cur:
            if cur is not None:
                total += acc
            cur, acc = sh, 0.0
        acc += x
    return total + acc


def _combine_means(sums: np.ndarray, counts: np.ndarray, shards: np.ndarray) -> float:
    """1.x's mean of per-series means: per shard weighted by count, then across shards, then the
    select level's reduce of one partial."""
    means = [s / float(c) for s, c in zip(sums.tolist(), counts.tolist())]
    shard_means = []
    cur, acc, cnt = None, 0.0, 0
    for m, c, sh in zip(means, counts.tolist(), shards.tolist()):
        if sh != cur:
            if cur is not None:
                shard_means.append((acc / float(cnt), cnt))
            cur, acc, cnt = sh, 0.0, 0
        acc += m * float(c) if c >= 2 else m
        cnt += c
    shard_means.append((acc / float(cnt), cnt))
    acc, cnt = 0.0, 0
    for m, c in shard_means:
        acc += m * float(c) if c >= 2 else m
        cnt += c
    res = acc / float(cnt)
    if cnt >= 2:
        res = (res * float(cnt)) / float(cnt)
    return res
