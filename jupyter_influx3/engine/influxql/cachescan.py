"""InfluxQL reads answered from the series cache (``sql/seriescache.py``) in numpy, without DuckDB.

A query about a few series (``WHERE host = 'a'``, Grafana's per-host panels, TSBS's single-host
queries) costs DuckDB a fixed several milliseconds of planning and scanning; 1.x answers it from
its series index in one or two.  When a table's series-ordered copy is at hand, this module
finds the series the tag terms allow, binary-searches each one's time range, evaluates the WHERE
on just those rows and hands back the same :class:`~.scan.Frame` the DuckDB read would.

Only conditions whose every term is a plain comparison of a tag, field or literal (``= != < <=
> >=``, ``=~ !~`` against a tag or string field) joined by AND/OR are evaluated here, with the
semantics :func:`.scan.condition_sql` gives them in SQL (a missing tag is ``''``, a comparison
with a missing field or of mismatched types is false).  Anything else -- arithmetic, calls,
casts, unsigned fields -- raises :class:`Unsupported` and the caller reads through DuckDB.

A table too big to copy whole is copied by UTC day (see ``sql/seriescache.py``): a copy of one
day answers only reads whose time range lies within that day (:class:`CachedDays` picks the day
per read); any other read raises :class:`Unsupported` and goes through DuckDB.

What a reader works out from the copy alone (the series a WHERE allows, the rows of a time range,
frames' series and time arrays, the segments of partials) may be kept with the copy
(``SeriesTable.derived``, :class:`_ReaderMemo`) for the next run of the same plan; rows picked by
a WHERE's field terms, and every value, are worked out by each read.
"""

from __future__ import annotations

from typing import Callable, Optional

import numpy as np
import pyarrow as pa

from . import ast
from .ast import BinaryExpr, Op, ParenExpr, VarRef
from .functions import MAX_TIME, MIN_TIME, Vec
from .regex import compile_re2
from ..sql.seriescache import day_of
from .scan import Frame

_KIND = {"float": "float", "int": "integer", "uint": "unsigned", "string": "string", "bool": "boolean"}
_CMP = {Op.EQ: np.equal, Op.NEQ: np.not_equal, Op.LT: np.less, Op.LTE: np.less_equal,
        Op.GT: np.greater, Op.GTE: np.greater_equal}
_FLIP = {Op.EQ: Op.EQ, Op.NEQ: Op.NEQ, Op.LT: Op.GT, Op.LTE: Op.GTE, Op.GT: Op.LT, Op.GTE: Op.LTE}
_SHARD_ZERO = 62135596800000000000  # 0001-01-01 in ns before the epoch: 1.x numbers shards from there


#: what is kept per copy of a table about the conditions read from it (see CachedTable._remember)
DERIVED_KEPT = 512
#: the candidate rows said of a read a copy cannot answer (more than any read from memory takes)
NOT_HERE = 1 << 62


class Unsupported(Exception):
    """The condition or read is not one this module answers; read through DuckDB instead."""


def _literal(e) -> tuple[str, object]:
    if isinstance(e, ast.StringLiteral):
        return "string", e.value
    if isinstance(e, ast.BooleanLiteral):
        return "boolean", bool(e.value)
    if isinstance(e, ast.IntegerLiteral):
        return "integer", int(e.value)
    if isinstance(e, ast.NumberLiteral) and np.isfinite(e.value):
        return "float", float(e.value)
    raise Unsupported(type(e).__name__)


#: entries a reader's memo keeps per kind (time ranges and row sets come and go with now())
READER_MEMO_KEPT = 64


class _ReaderMemo:
    """What readers of one copy work out for one measurement and WHERE of a plan alone (the rows
    of a time range, the series and time arrays of frames over them), kept with the copy
    (``SeriesTable.derived``) so that the next run of the plan finds it; a run also hands its
    frames' arrays to the select layer by identity, which keys what it derives from them on
    that.  Nothing in it refers to the copy object (arrays of it only), so it goes with the copy."""

    __slots__ = ("m", "cond", "rows", "counts", "spans", "frames", "layouts")

    def __init__(self, m, cond):
        self.m, self.cond = m, cond
        self.rows: dict[tuple, tuple[np.ndarray, np.ndarray]] = {}
        self.counts: dict[tuple, int] = {}
        self.spans: dict[tuple, np.ndarray] = {}   # rows_of per time bounds (counted, then read)
        self.frames: dict[int, tuple] = {}
        self.layouts: dict[tuple, tuple] = {}    # the segments of partials per rows (see _full_partials)

    def nbytes(self, own: set) -> int:
        """The bytes of the arrays it holds beyond the copy's (``own``: ids of the copy's arrays;
        views of the copy hold none of their own)."""
        total = 0
        for d in (self.rows, self.spans, self.frames, self.layouts):
            for v in d.values():
                total += _held(v, own)
        return total


def _held(v, own: set) -> int:
    if isinstance(v, np.ndarray):
        return 0 if v.base is not None or id(v) in own else v.nbytes
    if isinstance(v, (tuple, list)):
        return sum(_held(x, own) for x in v if isinstance(x, (np.ndarray, tuple, list, pa.Array)))
    if isinstance(v, pa.Array):
        return v.nbytes
    return 0


def _put(d: dict, key, value):
    """``d[key] = value`` in a memo of at most READER_MEMO_KEPT entries."""
    if len(d) >= READER_MEMO_KEPT:
        d.clear()
    d[key] = value
    return value


class CachedTable:
    """One measurement's series-ordered rows and the statement's WHERE over them.

    ``memo_key``: what identifies the measurement, WHERE and retention cut-off among the readers
    of the copy.  With it, a reader starts from what the reader of the same key left with the copy
    (:class:`_ReaderMemo`, see :meth:`publish`).  Rows picked by a WHERE's field terms depend on
    the values: they are worked out again by every reader, and nothing is left with the copy."""

    def __init__(self, st, m, cond, ct: Callable, cutoff: Optional[int], memo_key: Optional[tuple] = None):
        self.st = st
        self.m = m
        self.cond = cond
        self.ct = ct
        self.cutoff = cutoff
        self._regex: dict[str, object] = {}
        #: a copy of one day's rows: [first, last] ns of the reads it may answer
        self.span = st.span
        #: the series the condition allows; whether its field terms must be evaluated per row
        self.sids, self._per_row = self._matching_series()
        #: whether the rows and frames this reader works out are the next reader's (field terms:
        #: the values pick the rows -- only the candidate rows before them are kept)
        self.reusable = memo_key is not None and not self._per_row
        self._memo_key = memo_key
        got = st.derived.get(memo_key) if memo_key is not None else None
        if not (isinstance(got, _ReaderMemo) and got.m is m and got.cond is cond):
            got = _ReaderMemo(m, cond)
        self.memo = got
        self._counts, self._spans = got.counts, got.spans
        self._rows, self._frames = (got.rows, got.frames) if self.reusable else ({}, {})
        self._layouts = got.layouts if self.reusable else {}
        self._run_frames: dict[int, tuple] = {}

    def unpublished_bytes(self) -> int:
        """What :meth:`publish` would add to what is kept with the copy (bytes; 0 when the memo is
        the copy's already)."""
        if self._memo_key is None or self.st.derived.get(self._memo_key) is self.memo:
            return 0
        st = self.st
        return self.memo.nbytes({id(st._all), id(st._row_sid), id(st.time)})

    def publish(self) -> None:
        """Leave this reader's memo with the copy for the next reader of its key (its caller
        bounds the size, see unpublished_bytes)."""
        if self._memo_key is not None and self.st.derived.get(self._memo_key) is not self.memo:
            self._remember(self._memo_key, self.memo)

    def _matching_series(self) -> tuple[np.ndarray, bool]:
        """The series the condition's tag terms allow, and whether it has field terms to check
        row by row.  Both depend on the copy and the condition's text only (the copy's columns
        are the table's, whose types never change): they are worked out once per copy, like
        1.x's series index answers a tag filter."""
        cond = self.cond
        if cond is None:
            return np.arange(len(self.st.series), dtype=np.int64), False
        memo = self.st.derived
        key = ("sids", ast.text(cond))
        got = memo.get(key)
        if got is None:
            try:
                self._check(cond)
                sids = np.flatnonzero(self._eval(cond, None, None))
                sids.setflags(write=False)   # shared by every reader of the copy
                got = (sids, self._has_field_terms(cond))
            except Unsupported:
                got = False
            self._remember(key, got)
        if got is False:
            raise Unsupported("condition")
        return got

    def _series_eval(self, e) -> np.ndarray:
        """``e`` (tag terms only) per series of the copy, worked out once per copy."""
        key = ("series", ast.text(e))
        got = self.st.derived.get(key)
        if got is None:
            got = self._eval(e, None, None)
            got.setflags(write=False)
            self._remember(key, got)
        return got

    def _has_field_terms(self, e) -> bool:
        """Whether an operand of the (checked) condition is a field: without one, the series
        decide and every row of a matching series passes."""
        key = ("field terms", ast.text(e))   # per copy: a name may be a tag in one table, a field in another
        got = self.st.derived.get(key)
        if got is None:
            got = self._remember(key, self._field_terms(e))
        return got

    def _remember(self, key, value):
        """Keep ``value`` with the copy (a bounded memo: conditions come and go)."""
        memo = self.st.derived
        if len(memo) >= DERIVED_KEPT:
            memo.clear()
        memo[key] = value
        return value

    def _field_terms(self, e) -> bool:
        if isinstance(e, ParenExpr):
            return self._field_terms(e.expr)
        if e.op in (Op.AND, Op.OR):
            return self._field_terms(e.lhs) or self._field_terms(e.rhs)
        if e.op in (Op.EQREGEX, Op.NEQREGEX):
            return self._operand(e.lhs)[0] == "field"
        return self._operand(e.lhs)[0] == "field" or self._operand(e.rhs)[0] == "field"

    # -- the condition ------------------------------------------------------------------------
    def _operand(self, e):
        """("tag"|"field"|"const"|"null", kind, name-or-value) of one side of a comparison."""
        if isinstance(e, ParenExpr):
            return self._operand(e.expr)
        if isinstance(e, VarRef):
            if e.type is not None:
                raise Unsupported("cast")
            r = self.ct(e)
            if r is None:
                return ("null", "null", None)
            kind, col = r
            if kind == "empty":
                return ("const", "string", "")
            if kind == "tag":
                return ("tag", "string", col)
            c = self.st.columns.get(col)
            if c is None or _KIND.get(c.kind) != kind or kind == "unsigned":
                raise Unsupported(f"column {col}")
            return ("field", kind, col)
        k, v = _literal(e)
        return ("const", k, v)

    def _check(self, e) -> None:
        if isinstance(e, ParenExpr):
            return self._check(e.expr)
        if not isinstance(e, BinaryExpr):
            raise Unsupported(type(e).__name__)
        if e.op in (Op.AND, Op.OR):
            self._check(e.lhs)
            self._check(e.rhs)
            return
        if e.op in (Op.EQREGEX, Op.NEQREGEX):
            if not isinstance(e.rhs, ast.RegexLiteral):
                raise Unsupported("regex operand")
            self._operand(e.lhs)
            self._pattern(e.rhs.pattern)
            return
        if e.op not in _CMP:
            raise Unsupported(str(e.op))
        a, b = self._operand(e.lhs), self._operand(e.rhs)
        if a[0] not in ("tag", "field") and b[0] not in ("tag", "field"):
            raise Unsupported("no column")
        if a[0] in ("tag", "field") and b[0] in ("tag", "field"):
            raise Unsupported("two columns")

    def _pattern(self, pattern: str):
        rx = self._regex.get(pattern)
        if rx is None:
            try:
                rx = compile_re2(pattern)
            except Exception as exc:  # noqa: BLE001 - DuckDB words the error
                raise Unsupported("regex") from exc
            self._regex[pattern] = rx
        return rx

    def _values(self, op, idx, rsid):
        """(kind, data, valid) of an operand: per series when ``idx`` is None (a field is then
        unknown: data None), else per row (``idx``: the rows, an index array or a slice)."""
        src, kind, x = op
        n = len(self.st.series) if idx is None else len(rsid)
        if src == "tag":
            vals = self.st.tag_values[x]
            return kind, (vals if idx is None else vals[rsid]), None
        if src == "field":
            if idx is None:
                return kind, None, None
            c = self.st.columns[x]
            return kind, c.data[idx], c.valid[idx]
        if src == "const":
            return kind, x, None
        return "null", None, np.zeros(n, bool)

    def _eval(self, e, idx, rsid) -> np.ndarray:
        """The condition per series (idx None: True unless the tags alone make it false) or per row
        (``idx``: the rows, an index array or a slice; ``rsid``: their series)."""
        n = len(self.st.series) if idx is None else len(rsid)
        if isinstance(e, ParenExpr):
            return self._eval(e.expr, idx, rsid)
        if idx is not None and not self._has_field_terms(e):
            # tags only: the series' answers, spread over their rows (no string compares per row)
            return self._series_eval(e)[rsid]
        if e.op is Op.AND:
            return self._eval(e.lhs, idx, rsid) & self._eval(e.rhs, idx, rsid)
        if e.op is Op.OR:
            return self._eval(e.lhs, idx, rsid) | self._eval(e.rhs, idx, rsid)
        if e.op in (Op.EQREGEX, Op.NEQREGEX):
            kind, data, valid = self._values(self._operand(e.lhs), idx, rsid)
            if kind != "string":
                return np.zeros(n, bool)
            if data is None:
                return np.ones(n, bool)
            rx = self._pattern(e.rhs.pattern)
            if isinstance(data, str):
                hit = np.full(n, rx.search(data) is not None)
            else:
                hit = _regex_hits(data, rx)
            out = hit if e.op is Op.EQREGEX else ~hit
            return out if valid is None else out & valid
        a, b = self._operand(e.lhs), self._operand(e.rhs)
        op = e.op
        if a[0] == "const":
            a, b, op = b, a, _FLIP[op]
        ka, da, va = self._values(a, idx, rsid)
        kb, db, _ = self._values(b, idx, rsid)
        if ka == "null" or kb == "null":
            return np.zeros(n, bool)
        numeric = ka in ("float", "integer") and kb in ("float", "integer")
        same = ka == kb and ka in ("string", "boolean")
        if not (numeric or same) or (ka == "boolean" and op not in (Op.EQ, Op.NEQ)):
            return np.zeros(n, bool)
        if da is None:
            return np.ones(n, bool)
        out = np.asarray(_CMP[op](da, db), dtype=bool)
        return out if va is None else out & va

    # -- rows ---------------------------------------------------------------------------------
    def covers(self, lo: int, hi: int) -> bool:
        """Whether every row a read within [lo, hi] may return is in the copy (always, for a copy
        of the whole table; for a copy of one day, when the read lies within that day)."""
        if self.span is None:
            return True
        lo_q = _low(lo, self.cutoff)
        return lo_q is not None and hi < MAX_TIME and self.span[0] <= lo_q and hi <= self.span[1]

    def _within(self, lo: int, hi: int) -> None:
        if not self.covers(lo, hi):
            raise Unsupported("a read outside the copy's day")

    def _bounds(self, lo: int, hi: int) -> tuple[Optional[int], Optional[int]]:
        """The time bounds that cut rows (None where every row is inside)."""
        lo_q = None if lo <= MIN_TIME else lo
        if self.cutoff is not None:
            lo_q = self.cutoff if lo_q is None else max(lo_q, self.cutoff)
        tmin, tmax = self.st.time_range()
        return (None if lo_q is not None and lo_q <= tmin else lo_q), (None if hi >= MAX_TIME or hi >= tmax else hi)

    def candidate_rows(self, lo: int, hi: int) -> int:
        """How many rows the tag terms and time range leave (before the field terms); NOT_HERE
        for a range the copy does not cover."""
        if not self.covers(lo, hi):
            return NOT_HERE
        n = self._counts.get((lo, hi))
        if n is None:
            lo_q, hi_q = self._bounds(lo, hi)
            st = self.st
            n = int((st.offsets[self.sids + 1] - st.offsets[self.sids]).sum()) if lo_q is None and hi_q is None \
                else len(self._span(lo_q, hi_q))
            _put(self._counts, (lo, hi), n)
        return n

    def candidate_series(self, lo: int, hi: int) -> int:
        """How many series the tag terms leave (some may have no row within [lo, hi])."""
        return len(self.sids) if self.covers(lo, hi) else NOT_HERE

    def one_series_rows(self, lo: int, hi: int) -> Optional[tuple[int, int]]:
        """(the first row, the row past the last) of the one series within [lo, hi] when the WHERE
        allows exactly one series by its tags alone (no field terms: every row of it passes) and
        the copy covers the range; None otherwise. The rows are consecutive in the copy (as
        ``rows_of`` finds them)."""
        if len(self.sids) != 1 or self._per_row or not self.covers(lo, hi):
            return None
        return self.st.series_span(int(self.sids[0]), *self._bounds(lo, hi))

    def _span(self, lo_q: Optional[int], hi_q: Optional[int]) -> np.ndarray:
        """``rows_of`` the matching series within the bounds, worked out once: the pushdown counts
        them (candidate_rows) and the read then takes the same rows."""
        idx = self._spans.get((lo_q, hi_q))
        if idx is None:
            idx = _put(self._spans, (lo_q, hi_q), self.st.rows_of(self.sids, lo_q, hi_q))
        return idx

    def rows(self, lo: int, hi: int, any_of: Optional[list[str]] = None) -> tuple[np.ndarray, np.ndarray]:
        """(row indices, series of each row), sorted by series then time, where the WHERE holds
        (and, with ``any_of``, one of those fields is set)."""
        key = (lo, hi)
        got = self._rows.get(key)
        if got is None:
            got = _put(self._rows, key, self._where(lo, hi))
        idx, rsid = got
        if any_of is not None and not any(self._all_valid(c) for c in any_of):
            keep = np.zeros(len(idx), bool)
            for c in any_of:
                col = self.st.columns.get(c)
                if col is not None:
                    keep |= self._take(col.valid, idx)
            if not keep.all():
                idx, rsid = idx[keep], rsid[keep]
        return idx, rsid

    def _where(self, lo: int, hi: int) -> tuple[np.ndarray, np.ndarray]:
        st = self.st
        lo_q, hi_q = self._bounds(lo, hi)
        if lo_q is None and hi_q is None and self.cond is None and len(self.sids) == len(st.series):
            return st.all_rows(), st.sid_of_rows()      # the whole table: no copies
        idx = self._span(lo_q, hi_q)
        if len(self.sids) == 1:
            rsid = np.full(len(idx), self.sids[0], np.int64)
        elif lo_q is None and hi_q is None:
            rsid = np.repeat(self.sids, np.diff(st.offsets)[self.sids])
        else:
            rsid = st.sid_of_rows()[idx] if len(idx) > 4 * len(self.sids) else \
                self.sids[np.searchsorted(st.offsets[self.sids + 1], idx, "right")]
        if self._per_row and len(idx):
            # one series' time range is consecutive rows: its values are read as views, not gathered
            rows = slice(int(idx[0]), int(idx[-1]) + 1) if int(idx[-1]) - int(idx[0]) + 1 == len(idx) else idx
            keep = self._eval(self.cond, rows, rsid)
            idx, rsid = idx[keep], rsid[keep]
        return idx, rsid

    def _all_valid(self, c: str) -> bool:
        """Whether field ``c`` has a value in every row of the copy (kept per copy)."""
        key = ("all valid", c)
        got = self.st.derived.get(key)
        if got is None:
            col = self.st.columns.get(c)
            got = self._remember(key, col is not None and bool(col.valid.all()))
        return got

    def frame(self, fields: list[tuple[str, str]], idx: np.ndarray, rsid: np.ndarray) -> Frame:
        """The :class:`Frame` the DuckDB read gives for these rows and ``fields`` ([(column, kind)])."""
        st = self.st
        # rows the memo holds (a read's rows) keep their frames with it; rows made for this read
        # (one series' edge points, rows with one of some fields set) are this run's alone
        kept = idx is st._all or any(idx is r[0] for r in self._rows.values())
        frames = self._frames if kept else self._run_frames
        base = frames.get(id(idx))
        if base is None:
            # frames of the same rows share their series and time arrays: the select layer reuses
            # what it derives from them (orders, windows) across the calls of a statement
            if len(self.sids) == 1:
                # one series (a host's query): nothing to sort out
                uniq, sid = self.sids[:1] if len(rsid) else self.sids[:0], np.zeros(len(rsid), np.int64)
            else:
                uniq, sid = np.unique(rsid, return_inverse=True)
            # consecutive rows (one series' time range) are read as views of the copy
            span = slice(int(idx[0]), int(idx[-1]) + 1) if len(idx) and int(idx[-1]) - int(idx[0]) + 1 == len(idx) \
                else idx
            base = _put(frames, id(idx), (idx, [st.series[i] for i in uniq.tolist()],
                                                [st.keys[i] for i in uniq.tolist()],
                                                sid.reshape(-1).astype(np.int64), _gather(st.time, span), span))
        fr = Frame(self.m.name, base[1], base[2], base[3], base[4])
        span = base[5]
        for c, kind in fields:
            if c in fr.cols:
                continue
            if kind == "tag" or (c in st.tag_values and c not in st.columns):
                vals = self._tag_column(c)[rsid]
                valid = np.asarray(st.tag_values[c][rsid] != "", dtype=bool)
                fr.cols[c] = Vec(kind, vals, valid)
                continue
            col = st.columns.get(c)
            if col is None or _KIND[col.kind] != kind:
                raise Unsupported(f"field {c} as {kind}")
            fr.cols[c] = Vec(kind, _gather(col.data, span), _gather(col.valid, span))
        return fr

    def _take(self, arr: np.ndarray, idx: np.ndarray) -> np.ndarray:
        """``arr[idx]`` for computing on (never handed out: it may be the copy's own array)."""
        return arr if idx is self.st._all else arr[idx]

    def _tag_column(self, t: str) -> np.ndarray:
        """A tag's value per series of the copy, None where missing (kept per copy)."""
        key = ("tag column", t)
        vals = self.st.derived.get(key)
        if vals is None:
            vals = self.st.tag_values[t].copy()
            vals[vals == ""] = None
            vals.setflags(write=False)   # shared by every reader of the copy
            self._remember(key, vals)
        return vals

    def read(self, fields, lo: int, hi: int, any_of=None, per_series=None) -> Frame:
        self._within(lo, hi)
        for c, kind in fields:
            if kind != "tag" and c not in self.st.columns:
                raise Unsupported(f"field {c}")
        idx, rsid = self.rows(lo, hi, any_of)
        if per_series is not None:
            n, asc, sd = per_series
            keep = _edge_mask(rsid, self.st.time[idx], n, asc, sd)
            idx, rsid = idx[keep], rsid[keep]
        return self.frame(fields, idx, rsid)

    def edge_rows(self, fields, n: int, ascending: bool, shard_dur: int, lo: int, hi: int) -> dict[str, Frame]:
        """Per field, each series' first (or last) ``n`` points per shard (see ``Scanner.edge_rows``)."""
        self._within(lo, hi)
        for c, _kind in fields:
            if c not in self.st.columns:
                raise Unsupported(f"field {c}")
        idx, rsid = self.rows(lo, hi)
        t = self._take(self.st.time, idx)
        out = {}
        full = None  # the edge rows of all rows: shared by every field set on all of them
        for c, kind in fields:
            valid = self._take(self.st.columns[c].valid, idx)
            if valid.all():
                if full is None:
                    keep = _edge_mask(rsid, t, n, ascending, shard_dur)
                    full = (idx[keep], rsid[keep])
                out[c] = self.frame([(c, kind)], *full)
                continue
            i2, s2 = idx[valid], rsid[valid]
            keep = _edge_mask(s2, t[valid], n, ascending, shard_dur)
            out[c] = self.frame([(c, kind)], i2[keep], s2[keep])
        return out


    def partials(self, fields, lo: int, hi: int, interval: int, offset: int, shard_dur: int):
        """``Scanner.partials`` from the copy: per (series, window, shard) the count, integer sum,
        min and max value of each field ([(column, kind, aggs)]), as the same Arrow table -- but
        for the tag columns: the series of each row is the copy's (``__sid``, an index into the
        copy's series, which are in series key order), given with them: ``(table, series)``.  The
        aggregates that depend on point order or time (float sums, first/last, selectors' times)
        raise :class:`Unsupported` and are read through DuckDB."""
        self._within(lo, hi)
        for c, kind, aggs in fields:
            if c not in self.st.columns or kind not in ("integer", "unsigned", "float") or \
                    not set(aggs) <= {"count", "sum", "minv", "maxv"} or ("sum" in aggs and kind == "float"):
                raise Unsupported(f"partials {c} {aggs}")
        idx, rsid = self.rows(lo, hi)
        if all(self._all_valid(c) for c, _k, _a in fields):
            return self._full_partials(fields, idx, rsid, interval, offset, shard_dur), self.st.series
        valid = [self._take(self.st.columns[c].valid, idx) for c, _k, _a in fields]
        if len(fields) > 1:
            keep = np.logical_or.reduce(valid)
            if not keep.all():
                idx, rsid = idx[keep], rsid[keep]
                valid = [v[keep] for v in valid]
        elif fields and not valid[0].all():
            idx, rsid, valid = idx[valid[0]], rsid[valid[0]], [valid[0][valid[0]]]
        n, starts, _lengths, head = self._segments(idx, rsid, interval, offset, shard_dur)
        out = dict(head)   # the copy's series ids: tag strings per row cost more than the rest
        for i, ((c, kind, aggs), v) in enumerate(zip(fields, valid)):
            data = self._take(self.st.columns[c].data, idx)
            counts = np.add.reduceat(v.astype(np.int64), starts) if n else np.zeros(0, np.int64)
            _field_partials(out, i, kind, aggs, data, starts, counts, v)
        return pa.table(out), self.st.series

    def _full_partials(self, fields, idx, rsid, interval: int, offset: int, shard_dur: int):
        """:meth:`partials` when every field has a value in every row of the copy: no row is
        dropped, so the (series, window, shard) segments depend on the rows alone -- worked out
        once per rows and kept with the reader's memo -- and each segment's count is its length."""
        key = ("partials", id(idx), interval, offset, shard_dur)
        got = self._layouts.get(key)
        if got is None or got[0] is not idx:
            got = _put(self._layouts, key, (idx,) + self._segments(idx, rsid, interval, offset, shard_dur))
        _idx, _n, starts, counts, head = got
        out = dict(head)
        for i, (c, kind, aggs) in enumerate(fields):
            _field_partials(out, i, kind, aggs, self._take(self.st.columns[c].data, idx), starts, counts)
        return pa.table(out)

    def _segments(self, idx, rsid, interval: int, offset: int, shard_dur: int) -> tuple:
        """(rows, segment starts, their lengths, the ``__sid``/``__win``/``__shard`` columns) of
        the partials of rows ``idx`` (of series ``rsid``)."""
        t = self._take(self.st.time, idx)
        n = len(idx)
        zero = _SHARD_ZERO % shard_dur if shard_dur else 0
        if n and int(t.min()) + zero < 0:
            raise Unsupported("times before the first shard")  # DuckDB's // truncates there
        win = (t - offset) - ((t - offset) % interval + interval) % interval + offset if interval \
            else np.zeros(n, np.int64)
        shard = (t + zero) // shard_dur if shard_dur else np.zeros(n, np.int64)
        brk = np.ones(n, bool)
        if n:
            brk[1:] = (rsid[1:] != rsid[:-1]) | (win[1:] != win[:-1]) | (shard[1:] != shard[:-1])
        starts = np.flatnonzero(brk)
        counts = np.diff(np.append(starts, n)).astype(np.int64)
        head = (("__sid", pa.array(rsid[starts], pa.int64())), ("__win", pa.array(win[starts], pa.int64())),
                ("__shard", pa.array(shard[starts], pa.int64())))
        return n, frozen_array(starts), frozen_array(counts), head


class CachedDays:
    """Reads of a table too big to copy whole, each answered from the copy of the UTC day it lies
    in (``get(lo, hi)``: the series cache's copy for that range, or None), with the interface of
    :class:`CachedTable`.  A read spanning days, or of a day without a copy yet, raises
    :class:`Unsupported` (or counts NOT_HERE candidate rows)."""

    def __init__(self, get: Callable, reader_of: Callable, cutoff: Optional[int], first=None):
        self._get = get
        self._reader_of = reader_of   # a day's copy -> its CachedTable
        self.cutoff = cutoff
        self._days: dict[int, Optional[CachedTable]] = {}
        #: the days reads asked for (a run state is kept only for a run that read one day)
        self.read_days: set[int] = set()
        if first is not None:
            self._days[day_of(*first.span)] = self._open(first)

    def _open(self, st) -> Optional[CachedTable]:
        try:
            return self._reader_of(st)
        except Unsupported:
            return None

    def table_for(self, lo: int, hi: int) -> Optional[CachedTable]:
        """The reader of the day copy that reads within [lo, hi] use, or None (no such day);
        not counted in ``read_days``."""
        try:
            return self._table(lo, hi, read=False)
        except Unsupported:
            return None

    def _table(self, lo: int, hi: int, read: bool = True) -> CachedTable:
        lo_q = _low(lo, self.cutoff)
        day = day_of(lo_q, None if hi >= MAX_TIME else hi)
        if day is None:
            raise Unsupported("a read spanning days")
        if read:
            self.read_days.add(day)
        if day not in self._days:
            st = self._get(lo_q, hi)
            self._days[day] = None if st is None else self._open(st)
        got = self._days[day]
        if got is None:
            raise Unsupported("no copy of the day")
        return got

    def candidate_rows(self, lo: int, hi: int) -> int:
        try:
            return self._table(lo, hi).candidate_rows(lo, hi)
        except Unsupported:
            return NOT_HERE

    def candidate_series(self, lo: int, hi: int) -> int:
        try:
            return self._table(lo, hi).candidate_series(lo, hi)
        except Unsupported:
            return NOT_HERE

    def read(self, fields, lo: int, hi: int, any_of=None, per_series=None) -> Frame:
        return self._table(lo, hi).read(fields, lo, hi, any_of, per_series)

    def edge_rows(self, fields, n: int, ascending: bool, shard_dur: int, lo: int, hi: int) -> dict[str, Frame]:
        return self._table(lo, hi).edge_rows(fields, n, ascending, shard_dur, lo, hi)

    def partials(self, fields, lo: int, hi: int, interval: int, offset: int, shard_dur: int):
        return self._table(lo, hi).partials(fields, lo, hi, interval, offset, shard_dur)


def _low(lo: int, cutoff: Optional[int]) -> Optional[int]:
    """The first time a read from ``lo`` returns (retention cuts older rows); None: unbounded."""
    lo_q = None if lo <= MIN_TIME else lo
    if cutoff is not None:
        lo_q = cutoff if lo_q is None else max(lo_q, cutoff)
    return lo_q


def frozen_array(a: np.ndarray) -> np.ndarray:
    a.setflags(write=False)
    return a


def _gather(arr: np.ndarray, rows) -> np.ndarray:
    """``arr[rows]``, read-only: a copy for an index array, a view of the copy for a slice."""
    out = arr[rows]
    out.setflags(write=False)   # a frame's columns may be kept for the next run over the copy
    return out


def _field_partials(out: dict, i: int, kind: str, aggs, data: np.ndarray, starts: np.ndarray,
                    counts: np.ndarray, valid: Optional[np.ndarray] = None) -> None:
    """Into `out`: the partial aggregates `aggs` of field `i` (its values `data`) per segment
    (`starts`, with `counts` values each); `valid`: which rows have a value (None: every row, when
    nothing is masked)."""
    n = len(data)
    for a in aggs:
        if a == "count":
            out[f"__{i}_count"] = pa.array(counts, pa.int64())
        elif a == "sum":
            vals = data if valid is None else np.where(valid, data, 0).astype(data.dtype)
            with np.errstate(over="ignore"):
                sums = np.add.reduceat(vals, starts) if n else np.zeros(0, data.dtype)
            out[f"__{i}_sum"] = pa.array(sums)
        else:
            fn = np.minimum if a == "minv" else np.maximum
            if kind == "float" and np.isnan(data if valid is None else data[valid]).any():
                raise Unsupported("NaN")
            vals = data if valid is None else np.where(valid, data, _extreme(data.dtype, a == "minv"))
            red = fn.reduceat(vals, starts) if n else np.zeros(0, data.dtype)
            out[f"__{i}_{a}"] = pa.array(red, mask=counts == 0)


def _extreme(dtype, largest: bool):
    """The value that never wins a min (largest=True) or a max reduction of ``dtype``."""
    if dtype.kind == "f":
        return np.inf if largest else -np.inf
    info = np.iinfo(dtype)
    return info.max if largest else info.min


def _regex_hits(values: np.ndarray, rx) -> np.ndarray:
    """``rx.search`` over an object array, once per distinct value (in RE2, see regex.py)."""
    uniq, inv = np.unique(values.astype(str), return_inverse=True)
    return rx.hits(uniq.tolist())[inv.reshape(-1)]


def _edge_mask(rsid: np.ndarray, times: np.ndarray, n: int, ascending: bool, shard_dur: int) -> np.ndarray:
    """Rows among the first (or last) ``n`` of their (series, shard); rows sorted by series, time."""
    m = len(rsid)
    if m == 0:
        return np.zeros(0, bool)
    grp = np.ones(m, bool)
    grp[1:] = rsid[1:] != rsid[:-1]
    if shard_dur:
        shard = (times + (_SHARD_ZERO % shard_dur)) // shard_dur
        grp[1:] |= shard[1:] != shard[:-1]
    starts = np.flatnonzero(grp)
    ends = np.append(starts[1:], m)
    pos = np.arange(m) - np.repeat(starts, ends - starts)
    if ascending:
        return pos < n
    return pos >= np.repeat(ends - starts, ends - starts) - n
