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

This module owns :func:`run_select` and the run of one statement (:class:`_Run`: its state, the
answers it keeps with a reused plan, its sources and subqueries) and what a run leaves with the
series-cache copy it read for the next run of its plan (:class:`_RunState`). The stages of the
run are mixins, one module a noun: :mod:`.raw` (reading and ordering raw points, raw queries),
:mod:`.aggregate` (calls and their merge into rows), :mod:`.fill`, :mod:`.specialcalls`,
:mod:`.transform`; the functions they share are in :mod:`.points`, :mod:`.series`, :mod:`.expr`,
:mod:`.mergeorder`, :mod:`.reducers` and :mod:`.errors`. It must not hold a stage's logic
itself, and nothing in these modules imports tornado, IPython or Flight.
"""

from __future__ import annotations

import operator
from typing import NamedTuple, Optional

import numpy as np

from .. import afterwards
from ..querylimits import limits_for
from .aggregate import _Aggregates
from . import ast
from .ast import BinaryExpr, Op, ParenExpr, VarRef
from .cachescan import DERIVED_KEPT, NOT_HERE, CachedDays, CachedTable, Unsupported, day_of
from .errors import ExecError, _iter_type
from .expr import eval_expr
from .fill import _Fill
from .functions import Vec, nan_to_null
from .planner import MeasurementInfo, PreparedSelect
from .points import ZERO_TO_EPOCH, frozen, shard_bounds, shard_duration
from .raw import _Raw
from .scan import Frame, Scanner, _q, column_types, condition_sql
from .series import Groups, SeriesData
from .specialcalls import _SpecialCalls
from .transform import _Transforms


__all__ = ["SeriesData", "run_select", "ExecError"]


#: answers kept per plan about its nodes (see _Run.from_plan)
PLAN_MEMO_KEPT = 512
#: the mark an executor leaves in the memo of a plan it keeps for the next runs of its text
KEPT_PLAN = ("kept plan",)
#: a run's derived arrays are kept for the next run of its plan when its reads took at most
#: this many rows and it derived at most this many (see _Run._keep_state) ...
STATE_ROWS_KEPT = 100_000
STATE_DERIVED_KEPT = 256
#: ... and the states kept with one copy hold about this many bytes at most (counted as
#: STATE_ROW_BYTES per row read: frames of several series are copies, orders and ids per row)
STATE_BYTES_KEPT = 64 << 20
STATE_ROW_BYTES = 48
_STATE_BYTES = ("run state bytes",)


class _RunState:
    """What a run of a plan derived from the series-cache copy it read (the output series' ids,
    orders, windows, fill grids: ``_Run.groups`` and ``_Run._derived``), kept with that copy for
    the next run of the plan.  A run takes it out while it runs (runs of one plan at the same
    time do not share it) and puts it back when done.  It holds the plan memo only to tell the
    plan by identity, and nothing that refers back to the copy object, so it goes with the copy."""

    __slots__ = ("memo", "reader", "limit", "groups", "derived", "frames", "rows", "nbytes")

    def __init__(self, memo: dict, reader, limit: int, groups: Groups, derived: dict, frames: dict, rows: int,
                 nbytes: int):
        #: the plan's memo, the reader's memo (the same rows), the max-select-point limit the
        #: kept fill grids were counted against
        self.memo, self.reader, self.limit = memo, reader, limit
        #: and the runs': series ids, what they derived, the frames they read (of the copy), the
        #: rows of those frames, the bytes this state is counted as
        self.groups, self.derived, self.frames, self.rows, self.nbytes = groups, derived, frames, rows, nbytes


_WRITEABLE = operator.attrgetter("flags.writeable")


class Extent(NamedTuple):
    """What a run reads and answers at most (_Run.extent)."""

    rows: int     #: rows of the matching series within the time range
    cells: int    #: the answer's rows (the rows read, or windows times groups) times its columns
    merged: bool  #: whether a group holds several series (merged point by point, in Python)


# ---------------------------------------------------------------------------------------------
# the statement runner


class _Run(_Raw, _Aggregates, _Fill, _SpecialCalls, _Transforms):
    """The run of one prepared statement: the state its stages share (frames read, orders and
    grids derived from the same rows, subqueries' rows) and its sources."""

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
        self._given_groups = groups is not None
        #: whether the plan runs again (its executor keeps it, or it ran before: its memo has
        #: answers): then what its run derives is worth keeping
        self._rerun = bool(p.memo)
        self._rows_read = 0

    def from_plan(self, name: str, nodes: tuple, compute):
        """``compute()`` for a question about the plan and ``nodes`` (its tree's nodes, by
        identity) alone: kept with the plan, so the next run of a reused plan finds it."""
        memo = self.p.memo
        key = (name, *map(id, nodes))
        got = memo.get(key)
        if got is not None and all(map(operator.is_, got[1], nodes)):
            return got[0]
        value = compute()
        if len(memo) >= PLAN_MEMO_KEPT:
            memo.clear()   # nodes made while running (a Distinct's call) come and go
        memo[key] = (value, nodes)
        return value

    def shared(self, name, inputs: tuple, compute):
        """``compute()``, worked out once for the same ``inputs`` (arrays, by identity): the calls
        of a statement over the same rows hand each other their derived arrays, so that the next
        stage finds its inputs by identity as well (and the next run of the plan over the same
        series-cache copy, see _RunState).  What is shared is never written to (it is made
        read-only), and is a function of its inputs alone.  Inputs that are not shared themselves
        (writable: a selector's points, made by each run) are nobody else's: nothing is kept."""
        if any(map(_WRITEABLE, inputs)):   # (a C loop: asked several times per run)
            return compute()
        key = (name, *map(id, inputs))
        got = self._derived.get(key)
        if got is not None:
            return got[0]   # the inputs are kept with it: an id found is still theirs
        value = frozen(compute())
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
                                                    self.p.read_start, self.p.end,
                                                    types_key=self.v3 if self._rerun else None)
        return self._cached[key]

    def extent(self, max_series: int) -> Optional[Extent]:
        """What this run would read and answer at most, counted before anything is read (see
        :class:`Extent`). None when it would read anything but the series cache's copy of one
        measurement (DuckDB, a subquery, several sources), or that copy holds more than
        ``max_series`` series (a new condition is evaluated over every one). Builds no copy."""
        p = self.p
        ms = self.measurements()
        if len(p.sources) != 1 or len(ms) != 1 or p.sources[0].subquery is not None:
            return None
        m = ms[0]
        reader = self.scanner.cached(m, p.condition, self.column_types(m), p.read_start, p.end,
                                     max_series=max_series, build=False)
        if isinstance(reader, CachedDays):
            reader = reader.table_for(max(p.start, p.read_start), p.end)
        if not isinstance(reader, CachedTable):
            return None
        rows = reader.candidate_rows(p.read_start, p.end)
        if rows == NOT_HERE:
            return None
        series = reader.candidate_series(p.read_start, p.end)
        groups = series if p.dimensions else 1
        # several series in a group are merged point by point (in 1.x's order)
        merged = series > 1 and not set(m.tags) <= set(p.dimensions)
        if p.is_raw:
            out = rows
        elif p.interval:
            first = max(p.read_start, p.start, reader.st.time_range()[0])   # (no lower bound: the data's)
            out = (max(0, p.end - first) // p.interval + 2 + p.extra_intervals) * groups
        else:
            out = groups
        return Extent(rows, out * max(1, len(p.columns)), merged)

    def column_types(self, m: MeasurementInfo):
        """``ct(ref)``: what a reference in the WHERE reads from ``m`` (scan.column_types)."""
        return column_types(m, self.v3)

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
            self._rows_read += len(fr)
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

    def refuse_type(self, label: str, kind: Optional[str], allowed, have_points: bool,
                    iterator: Optional[str] = None) -> None:
        """1.x's error for a call (`label`: the name its iterator goes by) over values of type
        `kind` it does not take (`iterator`: the Go type of its input, by default the field's
        interrupt iterator): raised where it has points, or else where a series matches
        (series_match: 1.x types a call's iterators from the field, points or not)."""
        if kind not in (None, "null") and kind not in allowed and (have_points or self.series_match()):
            raise ExecError(f"unsupported {label} iterator type: "
                            f"*query.{iterator or _iter_type(kind) + 'InterruptIterator'}")

    def tag_sets_by_shard(self, m: MeasurementInfo) -> list[list[str]]:
        """Per shard group the range meets, the keys (``slimit_key``) of ``m``'s tag sets that
        have a series there the WHERE's tag terms match, whether or not it has points in the
        range: what 1.x's SLIMIT counts, shard by shard."""
        sd = self.shard_dur(m)
        cols = [f"coalesce(CAST({_q(d)} AS VARCHAR), '')" if d in m.tags else "''" for d in sorted(self.dims)]
        key = " || '|' || ".join(cols) if cols else "''"
        got = self._tag_matched(m, f"DISTINCT (epoch_ns(time) + {ZERO_TO_EPOCH % sd}) // {sd} AS s, {key} AS k",
                                " ORDER BY s, k")
        out: dict[int, list[str]] = {}
        for shard, k in zip(got.column("s").to_pylist(), got.column("k").to_pylist()):
            out.setdefault(shard, []).append(k)
        return list(out.values())

    def series_match(self) -> bool:
        """Whether a series of a source matches the WHERE's tag terms in the shards the range
        meets (1.x makes a call's iterators per such series, whether or not they hold points of
        the call's field: its type errors come from those iterators). Field terms count as true."""
        return any(self._tag_matched(m, "1", " LIMIT 1").num_rows for m in self.measurements())

    def _tag_matched(self, m: MeasurementInfo, select: str, tail: str):
        """``SELECT {select}`` (then ``tail``) over ``m``'s rows in the shard groups the range meets
        whose series the WHERE's tag terms match (field terms count as true)."""
        p = self.p
        cond = _tag_terms(p.condition, set(m.tags))
        lo, hi = shard_bounds(max(p.start, p.read_start), p.end, self.shard_dur(m))
        where = None if cond is None else condition_sql(cond, self.column_types(m), v3=self.v3)
        src, conds, _lo, _hi = self.scanner.source(m, lo, hi, where)
        return self.scanner.query(f"SELECT {select} FROM {src} AS __v"
                                  + (f" WHERE {' AND '.join(conds)}" if conds else "") + tail)

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
        home = self._take_state()
        if p.is_raw:
            out = self.run_raw()
        else:
            out = self.run_aggregate()
        out = self.apply_slimit(out)
        if home is not None:
            # only the next run of the plan reads it: a server may write this answer first
            afterwards.later(lambda: self._keep_state(home))
        return out

    # -- the state kept for the next run -------------------------------------------------------

    def _take_state(self) -> Optional[dict]:
        """For a plan whose last run kept its state: the ``derived`` memo of the series-cache copy
        its one measurement is read from, and the state the last run kept there, now this run's
        (same copy, same plan: the same series, rows and windows -- the values are read again).
        None when nothing is to be kept (see _keep_state)."""
        if self._given_groups or not self._rerun:
            return None
        ms = self.measurements()
        if len(ms) != 1 or len(self.p.sources) != 1:
            return None
        reader = self._state_reader(ms[0])
        if reader is None:
            return None
        home = reader.st.derived
        if not reader.reusable:
            return home   # rows picked by values: only the reader's candidate rows are kept
        got = home.pop(self._state_key(), None)   # one run at a time has it
        if not isinstance(got, _RunState):
            return home
        home[_STATE_BYTES] = max(0, home.get(_STATE_BYTES, 0) - got.nbytes)
        if got.memo is self.p.memo and got.reader is reader.memo and got.limit == self._limit():
            self.groups, self._derived, self._frames = got.groups, got.derived, got.frames
            self._rows_read = got.rows   # frames found are not read again: counted once
        return home

    def _state_reader(self, m, read: bool = False) -> Optional[CachedTable]:
        """The reader of the one copy this run reads ``m`` from (whole, or the day copy of the
        statement's range, which every read of it lies in), or None; with `read`, also None when
        the run's reads asked for another day too (a kept state must come from one copy)."""
        reader = self.cached(m)   # asked by every read of the run anyway
        if isinstance(reader, CachedDays):
            days = reader
            reader = days.table_for(max(self.p.start, self.p.read_start), self.p.end)
            if read and reader is not None and days.read_days != {day_of(*reader.span)}:
                return None
        return reader if isinstance(reader, CachedTable) else None

    def _limit(self) -> int:
        return limits_for(self.scanner.engine).max_select_points

    def _state_key(self) -> tuple:
        return ("run state", id(self.p.memo), self.v3)

    def _keep_state(self, home: dict) -> None:
        """Leave this run's state with the copy it read, when that is all it read (no DuckDB,
        no subquery) and its rows were few: what it derived is a function of the copy and plan."""
        reader = self._state_reader(self.measurements()[0], read=True)
        if reader is None:
            return
        nbytes = self._rows_read * STATE_ROW_BYTES if reader.reusable else 0
        added = reader.unpublished_bytes()   # the reader's rows and segments, kept once per plan
        if self.scanner._cursor is not None or self._sub_rows or self._rows_read > STATE_ROWS_KEPT \
                or len(self._derived) > STATE_DERIVED_KEPT or len(home) >= DERIVED_KEPT - 1 \
                or home.get(_STATE_BYTES, 0) + nbytes + added > STATE_BYTES_KEPT:
            return   # (a full memo of the copy is about to be cleared)
        reader.publish()
        home[_STATE_BYTES] = home.get(_STATE_BYTES, 0) + added
        if not reader.reusable:
            return
        home[_STATE_BYTES] += nbytes
        home[self._state_key()] = _RunState(self.p.memo, reader.memo, self._limit(), self.groups, self._derived,
                                             self._frames, self._rows_read, nbytes)

    def apply_slimit(self, out: list[SeriesData]) -> list[SeriesData]:
        stmt = self.p.stmt
        if not stmt.slimit and not stmt.soffset:
            return out
        if not self.v3 and not any(src.subquery is not None for src in self.p.sources):
            return self._v1_slimit(out)
        by_name: dict[str, list[int]] = {}
        for i, s in enumerate(out):
            by_name.setdefault(s.name, []).append(i)
        keep = set()
        for name, idxs in by_name.items():
            sel = idxs[stmt.soffset:]
            if stmt.slimit:
                sel = sel[:stmt.slimit]
            keep.update(sel)
        return [s for i, s in enumerate(out) if i in keep]

    def _v1_slimit(self, out: list[SeriesData]) -> list[SeriesData]:
        """1.x's SLIMIT/SOFFSET: in every shard group the range meets, a measurement's tag sets
        there (tag_sets_by_shard), sorted by their tsdb.MarshalTags keys (the values joined by
        '|' in tag key order: a missing one of two tags sorts last), are cut; the answer keeps
        the series of the tag sets any shard kept."""
        stmt = self.p.stmt
        kept: dict[str, set] = {}
        for m in self.measurements():
            for keys in self.tag_sets_by_shard(m):
                cut = keys[stmt.soffset:stmt.soffset + stmt.slimit] if stmt.slimit else keys[stmt.soffset:]
                kept.setdefault(m.name, set()).update(cut)
        return [s for s in out if slimit_key(s.tags) in kept.get(s.name, ())]


def slimit_key(tags: dict) -> str:
    """A tag set's key as 1.x sorts tag sets for SLIMIT: its values in tag key order, '|' apart."""
    return "|".join(v for _k, v in sorted(tags.items()))


def _with_dims(sq: PreparedSelect, dims: list[str]) -> PreparedSelect:
    from dataclasses import replace
    return replace(sq, dimensions=dims)


# ---------------------------------------------------------------------------------------------
# entry point



def _tag_terms(cond, tags: set[str]):
    """``cond`` with every comparison that reads anything but tags and literals taken as true (None:
    true throughout)."""
    if cond is None:
        return None
    if isinstance(cond, ParenExpr):
        inner = _tag_terms(cond.expr, tags)
        return None if inner is None else ParenExpr(inner)
    if isinstance(cond, BinaryExpr) and cond.op in (Op.AND, Op.OR):
        lhs, rhs = _tag_terms(cond.lhs, tags), _tag_terms(cond.rhs, tags)
        if cond.op is Op.OR:
            return None if lhs is None or rhs is None else BinaryExpr(Op.OR, lhs, rhs)
        return rhs if lhs is None else lhs if rhs is None else BinaryExpr(Op.AND, lhs, rhs)
    refs = [n for n in ast.walk(cond) if isinstance(n, VarRef)]
    return cond if refs and all(r.name in tags for r in refs) else None


def run_select(p: PreparedSelect, scanner: Scanner, dialect: str = "v1") -> list[SeriesData]:
    """Run a prepared SELECT; series in 1.x's output order (``dialect="v3"``: InfluxDB 3's)."""
    return _Run(p, scanner, v3=dialect == "v3").run()


def run_extent(p: PreparedSelect, scanner: Scanner, max_series: int, dialect: str = "v1") -> Optional[Extent]:
    """What the run of ``p`` would read and fill, before it runs (see _Run.extent)."""
    return _Run(p, scanner, v3=dialect == "v3").extent(max_series)
