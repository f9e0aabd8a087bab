"""Reading measurements for InfluxQL: DuckDB SQL over the SQL layer's per-table views.

Each table is read through :func:`..sql.sources.build_view` (pruned Parquet files and buffered
batches, deduplicated on series key and time, retention applied), registered on one DuckDB cursor
per statement.  On top of that view this module pushes down what SQL says well:

* the time range and the WHERE clause (tags, fields, regexes, arithmetic), translated with 1.x's
  semantics (:func:`condition_sql`: a comparison with a missing value is false, a missing tag
  equals ``''``, type mismatches are false rather than errors);
* the projection (only the fields and tags a statement uses);
* grouped partial aggregates per series and window (:meth:`Scanner.partials`) for count, sum,
  mean, min, max, first, last and spread, so large reads return one row per series and window.

Rows come back as :class:`Frame`: numpy columns sorted by series then time, with the series
(sorted by 1.x's series key) alongside.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from typing import Optional

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from . import ast
from .ast import BinaryExpr, Call, Op, ParenExpr, VarRef
from ..sql.runner import service_for
from ..sql.seriescache import arrow_to_numpy, cache_for, distinct_series, series_key
from .functions import MIN_TIME, MAX_TIME, NUMERIC_KINDS, Vec

__all__ = ["Frame", "Scanner", "series_key", "condition_sql"]


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _ts(ns: int) -> str:
    from ..sql.timeparse import ns_literal_sql
    return ns_literal_sql(ns)


@dataclass
class Frame:
    """Rows of one measurement: ``sid`` indexes ``series`` (sorted by series key); rows are
    sorted by (sid, time)."""

    name: str
    series: list[dict]          # tags of each series (missing tags absent)
    keys: list[str]             # series key of each series
    sid: np.ndarray
    time: np.ndarray
    cols: dict[str, Vec] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.time)

    def filter(self, mask: np.ndarray) -> "Frame":
        return Frame(self.name, self.series, self.keys, self.sid[mask], self.time[mask],
                     {k: v.filter(mask) for k, v in self.cols.items()})


_DTYPES = {"float": np.float64, "integer": np.int64, "unsigned": np.uint64, "boolean": np.bool_}


def arrow_to_vec(arr, kind: str) -> Vec:
    """An Arrow column as a :class:`Vec` of ``kind``."""
    return Vec(kind, *arrow_to_numpy(arr, _DTYPES.get(kind)))


# ---------------------------------------------------------------------------------------------
# WHERE -> SQL


class _Unsupported(Exception):
    pass


def column_types(m, v3: bool = False):
    """``ct(ref)``: what a reference in a WHERE reads from measurement ``m`` (a
    ``planner.MeasurementInfo``): ``(kind, column)`` -- kind ``tag``, a field's type, ``empty`` (a
    name that is neither: 1.x matches it as a tag with no value) or, under InfluxDB 3's casts,
    ``float_as_integer`` -- or None (nothing there). See condition_sql."""
    # ct closes over m and v3 only: a reader keeps ct, a run keeps its readers, and a cycle
    # through the run would be left for the cyclic GC (a pause every few requests)

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
                    if v3 and k == "float":
                        return ("float_as_integer", ref.name)
                    return (k, ref.name)
                return None
            return (k, ref.name)
        if ref.name in m.tags:
            return ("tag", ref.name)
        if ref.type is None:
            return ("empty", ref.name)
        return None

    return ct


def condition_sql(expr, column_type, tag_default: bool = True, v3: bool = False) -> str:
    """SQL for a (time-free) InfluxQL condition.  ``column_type(ref)`` gives ``("tag"|kind,
    column name)`` for a reference or None when this measurement has no such column.  ``v3``:
    InfluxDB 3's rules (casts honoured, bitwise operators truncate floats to integers)."""
    sql, kind = _expr_sql(expr, column_type, v3)
    # only ever used as a WHERE: NULL drops the row like FALSE, and InfluxQL has no NOT, so the
    # comparisons stay plain (DuckDB pushes those into its scans)
    if kind == "boolean":
        return sql
    return "FALSE"


_SQL_CMP = {Op.EQ: "=", Op.NEQ: "<>", Op.LT: "<", Op.LTE: "<=", Op.GT: ">", Op.GTE: ">="}


def _lit(e) -> tuple[str, str]:
    if isinstance(e, ast.StringLiteral):
        return "'" + e.value.replace("'", "''") + "'", "string"
    if isinstance(e, ast.BooleanLiteral):
        return ("TRUE" if e.value else "FALSE"), "boolean"
    if isinstance(e, ast.IntegerLiteral):
        return f"CAST({e.value} AS BIGINT)", "integer"
    if isinstance(e, ast.UnsignedLiteral):
        return f"CAST({e.value} AS UBIGINT)", "unsigned"
    if isinstance(e, ast.NumberLiteral):
        v = e.value
        if v != v:
            return "CAST('nan' AS DOUBLE)", "float"
        if v in (float("inf"), float("-inf")):
            return f"CAST('{'inf' if v > 0 else '-inf'}' AS DOUBLE)", "float"
        return f"CAST({v!r} AS DOUBLE)", "float"
    if isinstance(e, ast.DurationLiteral):
        return f"CAST({e.value} AS BIGINT)", "integer"
    if isinstance(e, ast.TimeLiteral):
        return f"CAST({e.value} AS BIGINT)", "integer"
    if isinstance(e, ast.NilLiteral):
        return "NULL", "null"
    raise _Unsupported(type(e).__name__)


def _expr_sql(e, ct, v3: bool = False) -> tuple[str, str]:
    if isinstance(e, ParenExpr):
        s, k = _expr_sql(e.expr, ct, v3)
        return f"({s})", k
    if isinstance(e, VarRef):
        r = ct(e)
        if r is None:
            return "NULL", "null"
        kind, col = r
        if kind == "empty":
            return "''", "string"
        if kind == "tag":
            return f"COALESCE({_q(col)}, '')", "string"
        if kind == "float_as_integer":
            return f"CAST(trunc({_q(col)}) AS BIGINT)", "integer"
        return _q(col), kind
    if isinstance(e, ast.RegexLiteral):
        return "'" + e.pattern.replace("'", "''") + "'", "regex"
    if isinstance(e, BinaryExpr):
        op = e.op
        if op in (Op.AND, Op.OR):
            ls, lk = _expr_sql(e.lhs, ct, v3)
            rs, rk = _expr_sql(e.rhs, ct, v3)
            lb = ls if lk == "boolean" else "FALSE"
            rb = rs if rk == "boolean" else "FALSE"
            return f"({lb} {op.value} {rb})", "boolean"
        if op in (Op.EQREGEX, Op.NEQREGEX):
            ls, lk = _expr_sql(e.lhs, ct, v3)
            if not isinstance(e.rhs, ast.RegexLiteral):
                return "FALSE", "boolean"
            pat = "'" + e.rhs.pattern.replace("'", "''") + "'"
            if lk != "string":
                return "FALSE", "boolean"
            m = f"regexp_matches({ls}, {pat})"
            return (f"COALESCE({m}, FALSE)" if op is Op.EQREGEX else f"COALESCE(NOT {m}, FALSE)"), "boolean"
        if op is Op.EQ:
            direct = _tag_equals(e, ct)
            if direct is not None:
                return direct, "boolean"
        ls, lk = _expr_sql(e.lhs, ct, v3)
        rs, rk = _expr_sql(e.rhs, ct, v3)
        if op in _SQL_CMP:
            if lk == "null" or rk == "null":
                return "FALSE", "boolean"
            if lk in NUMERIC_KINDS and rk in NUMERIC_KINDS:
                if "unsigned" in (lk, rk) and "integer" in (lk, rk):
                    ls, rs = f"CAST({ls} AS HUGEINT)", f"CAST({rs} AS HUGEINT)"
                return f"(({ls}) {_SQL_CMP[op]} ({rs}))", "boolean"
            if lk == rk and lk in ("string", "boolean"):
                if lk == "boolean" and op not in (Op.EQ, Op.NEQ):
                    return "FALSE", "boolean"
                return f"(({ls}) {_SQL_CMP[op]} ({rs}))", "boolean"
            return "FALSE", "boolean"
        # arithmetic
        if lk == "null" or rk == "null":
            return "NULL", "null"
        if lk in NUMERIC_KINDS and rk in NUMERIC_KINDS:
            if op is Op.ADD:
                return f"(({ls}) + ({rs}))", _num_kind(lk, rk)
            if op is Op.SUB:
                return f"(({ls}) - ({rs}))", _num_kind(lk, rk)
            if op is Op.MUL:
                return f"(({ls}) * ({rs}))", _num_kind(lk, rk)
            if op is Op.DIV:
                k = _num_kind(lk, rk)
                if k == "float":
                    return f"(CASE WHEN ({rs}) = 0 THEN 0.0 ELSE CAST({ls} AS DOUBLE) / ({rs}) END)", "float"
                return f"(CASE WHEN ({rs}) = 0 THEN 0 ELSE ({ls}) // ({rs}) END)", k
            if op is Op.MOD:
                k = _num_kind(lk, rk)
                if k == "float":
                    return f"fmod({ls}, {rs})", "float"
                return f"(CASE WHEN ({rs}) = 0 THEN 0 ELSE ({ls}) % ({rs}) END)", k
            if v3 and op in (Op.BITWISE_AND, Op.BITWISE_OR, Op.BITWISE_XOR) and "float" in (lk, rk):
                if lk == "float":
                    ls, lk = f"CAST(trunc({ls}) AS BIGINT)", "integer"
                if rk == "float":
                    rs, rk = f"CAST(trunc({rs}) AS BIGINT)", "integer"
            if op in (Op.BITWISE_AND, Op.BITWISE_OR, Op.BITWISE_XOR) and "float" not in (lk, rk):
                fn = {Op.BITWISE_AND: "&", Op.BITWISE_OR: "|"}.get(op)
                if fn:
                    return f"(({ls}) {fn} ({rs}))", _num_kind(lk, rk)
                return f"xor({ls}, {rs})", _num_kind(lk, rk)
            return "NULL", "null"
        if lk == rk == "string" and op is Op.ADD:
            return f"(({ls}) || ({rs}))", "string"
        if lk == rk == "boolean" and op in (Op.BITWISE_AND, Op.BITWISE_OR, Op.BITWISE_XOR):
            fn = {Op.BITWISE_AND: "AND", Op.BITWISE_OR: "OR", Op.BITWISE_XOR: "<>"}[op]
            return f"(({ls}) {fn} ({rs}))", "boolean"
        return "NULL", "null"
    if isinstance(e, Call):
        return _call_sql(e, ct, v3)
    return _lit(e)


def _tag_equals(e: BinaryExpr, ct) -> Optional[str]:
    """``tag = 'value'`` (non-empty value) as a plain comparison DuckDB can push into its scans
    (row-group statistics): a missing tag gives NULL, which a WHERE treats as false -- InfluxQL
    conditions have no NOT, so that is the same answer."""
    ref, lit = e.lhs, e.rhs
    if isinstance(ref, ast.StringLiteral):
        ref, lit = lit, ref
    if not (isinstance(ref, VarRef) and isinstance(lit, ast.StringLiteral) and lit.value):
        return None
    r = ct(ref)
    if r is None or r[0] != "tag":
        return None
    return f"({_q(r[1])} = '" + lit.value.replace("'", "''") + "')"


def _num_kind(a: str, b: str) -> str:
    if "float" in (a, b):
        return "float"
    if "unsigned" in (a, b):
        return "unsigned"
    return "integer"


_SQL_MATH = {"sin": "sin", "cos": "cos", "tan": "tan", "asin": "asin", "acos": "acos", "atan": "atan",
             "exp": "exp", "ln": "ln", "log2": "log2", "log10": "log10", "sqrt": "sqrt"}


def _call_sql(e: Call, ct, v3: bool = False) -> tuple[str, str]:
    args = [_expr_sql(a, ct, v3) for a in e.args]
    if any(k not in NUMERIC_KINDS for _, k in args):
        return "NULL", "null"
    n = e.name
    a0 = args[0][0]
    if n in _SQL_MATH:
        return f"{_SQL_MATH[n]}(CAST({a0} AS DOUBLE))", "float"
    if n == "abs":
        return f"abs({a0})", args[0][1]
    if n in ("floor", "ceil"):
        return (f"{n}({a0})", "float") if args[0][1] == "float" else (a0, args[0][1])
    if n == "round":
        return (f"round({a0})", "float") if args[0][1] == "float" else (a0, args[0][1])
    if n == "pow":
        return f"pow(CAST({a0} AS DOUBLE), CAST({args[1][0]} AS DOUBLE))", "float"
    if n == "atan2":
        return f"atan2(CAST({a0} AS DOUBLE), CAST({args[1][0]} AS DOUBLE))", "float"
    if n == "log":
        return f"(ln(CAST({a0} AS DOUBLE)) / ln(CAST({args[1][0]} AS DOUBLE)))", "float"
    return "NULL", "null"


# ---------------------------------------------------------------------------------------------
# scanner


_KIND_OF = {"float": "float", "int": "integer", "uint": "unsigned", "string": "string", "bool": "boolean",
            "tag": "tag"}


_READERS: Optional[tuple] = None


def _readers() -> tuple:
    """(CachedDays, CachedTable, Unsupported) of .cachescan, which imports this module: imported
    on first use, then kept (an import statement costs a microsecond or two per read)."""
    global _READERS
    if _READERS is None:
        from .cachescan import CachedDays, CachedTable, Unsupported
        _READERS = (CachedDays, CachedTable, Unsupported)
    return _READERS


class Scanner:
    """One DuckDB cursor and the table views registered on it, for one statement."""

    _ids = itertools.count()

    def __init__(self, engine, now_ns: int):
        self.engine = engine
        self.now_ns = now_ns
        self.service = service_for(engine)
        self._cursor = None
        # what other nodes on this data directory have acknowledged is read too
        engine.refresh()
        self.views: dict[tuple, str] = {}
        self.rows_read = 0

    @property
    def cursor(self):
        # opened on first use: a statement answered from the series cache never needs one
        if self._cursor is None:
            self._cursor = self.service._connection().cursor()
            self.service._track(self._cursor, True)   # interruptible: interrupt_all, a QueryScope
        return self._cursor

    def close(self) -> None:
        try:
            if self._cursor is not None:
                self.service._track(self._cursor, False)
                self._cursor.close()
        except Exception:  # noqa: BLE001 - best effort
            pass

    def cached(self, m, cond, column_type, lo: Optional[int] = None, hi: Optional[int] = None,
               types_key=None, max_series: Optional[int] = None, build: bool = True):
        """A :class:`.cachescan.CachedTable` answering reads of ``m`` under ``cond`` from the
        series cache, or None (no valid copy yet, or a condition it does not evaluate). The rows
        read lie within [lo, hi] (ns, inclusive; None: open).  ``types_key``: what ``column_type``
        depends on besides ``m`` (None: unknown -- nothing is kept with the copy for the next
        reader).  ``max_series``: a copy of more series counts as none (a reader evaluates the
        condition over every series of its copy).  ``build=False``: no copy is built for a later
        read (see SeriesCache.get)."""
        CachedDays, CachedTable, Unsupported = _readers()
        cache = cache_for(self.engine)
        db, table, now = m.database, m.table, self.now_ns
        st = cache.get(db, table, now, lo, hi, build)
        retention = table.retention_ns or db.retention_ns
        cutoff = now - retention if retention else None
        def reader_of(st):
            """A CachedTable of copy ``st`` (whole or of one day), keyed for the next reader."""
            cut = cutoff
            if cut is not None and cut <= st.time_range()[0]:
                # the cut-off removes no row of the copy: the same reads as without one (and
                # what a reader keeps with the copy does not change with every now)
                cut = None
            if max_series is not None and len(st.series) > max_series:
                raise Unsupported("more series than asked for")
            key = None if types_key is None else ("reader", id(m), id(cond), types_key, cut)
            return CachedTable(st, m, cond, column_type, cut, key)

        if st is not None and st.span is None:
            try:
                return reader_of(st)
            except Unsupported:
                return None
        if st is None and not cache.by_day(db, table):
            return None
        # too big to copy whole: each read uses the copy of the day it lies in (the bounds given
        # may be open -- a statement's reads are narrower -- or reach past the day)
        return CachedDays(lambda a, b: cache.get(db, table, now, a, b, build), reader_of, cutoff, st)

    def view(self, m, lo: Optional[int], hi: Optional[int]) -> str:
        """A SQL expression (subquery) reading table ``m`` within [lo, hi]."""
        from ..sql.sources import build_view

        key = (m.database.id, m.table.id, lo, hi)
        sql = self.views.get(key)
        if sql is None:
            prefix = f"__iq{next(self._ids)}"
            v = build_view(self.engine, m.database, m.table, lo, hi, self.now_ns, self.service.stats, prefix)
            for name, tbl in v.registrations.items():
                self.cursor.register(name, tbl)
            sql = f"({v.sql})"
            self.views[key] = sql
        return sql

    def source(self, m, lo: Optional[int], hi: Optional[int], where: Optional[str] = None):
        """``(view, conditions, lo, hi)`` to read ``m`` within [lo, hi]: the view subquery, the
        WHERE terms (time bounds, then ``where``) and the bounds that apply (None: open; so are
        None and the extreme times given)."""
        lo_q = None if lo is None or lo <= MIN_TIME else lo
        hi_q = None if hi is None or hi >= MAX_TIME else hi
        conds = []
        if lo_q is not None:
            conds.append(f'"time" >= {_ts(lo_q)}')
        if hi_q is not None:
            conds.append(f'"time" <= {_ts(hi_q)}')
        if where:
            conds.append(f"({where})")
        return self.view(m, lo_q, hi_q), conds, lo_q, hi_q

    def query(self, sql: str) -> pa.Table:
        return self.cursor.sql(sql).to_arrow_table()

    # -- reads
    def read(self, m, fields: list[tuple[str, str]], lo: int, hi: int, where: Optional[str],
             any_of: Optional[list[str]] = None, tags: Optional[list[str]] = None,
             per_series: Optional[tuple[int, bool, int]] = None) -> Frame:
        """Rows of ``m`` with ``fields`` ([(column, kind)]) whose time is in [lo, hi] and where
        ``where`` holds; with ``any_of``, only rows where one of those columns is not null.
        ``tags`` limits the tag columns read (default: all, which identifies the series).
        ``per_series=(n, ascending, shard_duration)`` keeps each series' first (or last) ``n``
        rows per shard."""
        tag_cols = list(m.tags) if tags is None else [t for t in tags if t in m.tags]
        src, conds, lo_q, hi_q = self.source(m, lo, hi, where)
        if any_of is not None:
            if not any_of:
                conds.append("FALSE")
            else:
                conds.append("(" + " OR ".join(f"{_q(c)} IS NOT NULL" for c in any_of) + ")")
        cols = [_q(t) for t in tag_cols] + ['epoch_ns("time") AS "__time"']
        seen = set()
        for c, _k in fields:
            if c not in seen:
                seen.add(c)
                cols.append(_q(c))
        sql = f"SELECT {', '.join(cols)} FROM {src} AS __v"
        if conds:
            sql += " WHERE " + " AND ".join(conds)
        if per_series is not None:
            n, asc, sd = per_series
            part = [_q(t) for t in tag_cols]
            if sd:
                part.append(f'(epoch_ns("time") + {62135596800000000000 % sd}) // {sd}')
            over = f"PARTITION BY {', '.join(part)} " if part else ""
            sql += f' QUALIFY row_number() OVER ({over}ORDER BY "time"{"" if asc else " DESC"}) <= {int(n)}'
        tbl = self.query(sql)
        self.rows_read += tbl.num_rows
        return self._frame(m, tbl, tag_cols, fields)

    def edge_rows(self, m, fields: list[tuple[str, str]], n: int, ascending: bool, shard_dur: int, lo: int,
                  hi: int, where: Optional[str]) -> dict[str, Frame]:
        """Per field, each series' first (or last) ``n`` points per shard, as the Frame
        :meth:`read` would give with ``per_series`` for that field alone.  One pass keeps the
        first ``n`` rows of each series (rows where any of the fields is set); a field missing
        from some of those rows is read again on its own (``min_by``/``max_by`` with ``n``)."""
        tag_cols = list(m.tags)
        src, conds, lo_q, hi_q = self.source(m, lo, hi, where)
        t = 'epoch_ns("time")'
        shard = f"({t} + {62135596800000000000 % shard_dur}) // {shard_dur}" if shard_dur else "0"
        part = [_q(c) for c in tag_cols]
        if shard_dur:
            # partitioning by a computed shard is several times slower: only when the rows span shards
            span = self.query(f'SELECT min("time") AS a, max("time") AS b FROM {src} AS __v'
                              + (f" WHERE {' AND '.join(conds)}" if conds else ""))
            a, b = span.column("a")[0], span.column("b")[0]
            if a.is_valid and b.is_valid:
                z = 62135596800000000000 % shard_dur
                ta, tb = pa.scalar(a).cast(pa.int64()).as_py(), pa.scalar(b).cast(pa.int64()).as_py()
                if (ta + z) // shard_dur != (tb + z) // shard_dur:
                    part.append(shard)
        cols = [_q(c) for c in tag_cols] + [f"{t} AS __time", f"{shard} AS __shard"] + \
            list(dict.fromkeys(_q(c) for c, _k in fields))
        any_set = "(" + " OR ".join(f"{_q(c)} IS NOT NULL" for c, _k in fields) + ")"
        sql = (f"SELECT {', '.join(cols)} FROM {src} AS __v WHERE {' AND '.join(conds + [any_set])} "
               f'QUALIFY row_number() OVER ({"PARTITION BY " + ", ".join(part) + " " if part else ""}ORDER BY "time"'
               f'{"" if ascending else " DESC"}) <= {int(n)}')
        tbl = self.query(sql)
        self.rows_read += tbl.num_rows
        out: dict[str, Frame] = {}
        # which fields have their n points among these rows in every series
        key_cols = tag_cols + ["__shard"]
        grouped = tbl.group_by(key_cols, use_threads=False).aggregate(
            [("__time", "count")] + [(c, "count") for c, _k in fields]) if tbl.num_rows else None
        redo = []
        full = [(c, k) for c, k in fields if tbl.num_rows and tbl.column(c).null_count == 0]
        shared = None
        if len(full) > 1:
            # every row has these fields: one frame serves them all
            keep = {tc: tbl.column(tc) for tc in tag_cols}
            keep["__time"] = tbl.column("__time")
            for c, _k in full:
                keep[c] = tbl.column(c)
            shared = self._frame(m, pa.table(keep), tag_cols, full)
        for c, kind in fields:
            if shared is not None and (c, kind) in full:
                out[c] = shared
                continue
            if grouped is not None:
                rows = np.asarray(grouped.column("__time_count").to_numpy(), dtype=np.int64)
                have = np.asarray(grouped.column(f"{c}_count").to_numpy(), dtype=np.int64)
                if not np.all((have >= n) | (rows < n)):
                    redo.append((c, kind))
                    continue
            sub = tbl.filter(pc.is_valid(tbl.column(c))) if tbl.num_rows else tbl
            keep = {tc: sub.column(tc) for tc in tag_cols}
            keep["__time"] = sub.column("__time")
            keep[c] = sub.column(c)
            out[c] = self._frame(m, pa.table(keep), tag_cols, [(c, kind)])
        if redo:
            fn = "min_by" if ascending else "max_by"
            sel = [f"{fn}({{'t': {t}, 'v': {_q(c)}}}, {t}, {int(n)}) FILTER (WHERE {_q(c)} IS NOT NULL) AS __f{i}"
                   for i, (c, _k) in enumerate(redo)]
            sql = (f"SELECT {', '.join([_q(c) for c in tag_cols] + sel)} FROM {src} AS __v "
                   f"WHERE {' AND '.join(conds + ['TRUE'])} GROUP BY {', '.join(part)}")
            t2 = self.query(sql)
            self.rows_read += t2.num_rows
            for i, (c, kind) in enumerate(redo):
                lists = t2.column(f"__f{i}").combine_chunks()
                lengths = np.asarray(lists.value_lengths().fill_null(0), dtype=np.int64)
                rows = pa.array(np.repeat(np.arange(t2.num_rows), lengths))
                flat = lists.flatten()
                keep = {tc: t2.column(tc).take(rows) for tc in tag_cols}
                keep["__time"] = flat.field("t")
                keep[c] = flat.field("v")
                out[c] = self._frame(m, pa.table(keep), tag_cols, [(c, kind)])
        return out

    def _frame(self, m, tbl: pa.Table, tag_cols: list[str], fields) -> Frame:
        n = tbl.num_rows
        times = np.asarray(tbl.column("__time").combine_chunks() if tbl.num_rows else pa.array([], pa.int64()),
                           dtype=np.int64) if n else np.zeros(0, np.int64)
        sid, series, keys = distinct_series(m.name, [(t, tbl.column(t)) for t in tag_cols], n)
        perm = np.lexsort((times, sid)) if n else np.zeros(0, np.int64)
        frame = Frame(m.name, series, keys, sid[perm], times[perm])
        for c, k in fields:
            if c in frame.cols:
                continue
            arr = tbl.column(c)
            frame.cols[c] = arrow_to_vec(arr.take(pa.array(perm)) if n else arr, k)
        return frame

    def partials(self, m, fields: list[tuple[str, str, list[str]]], lo: int, hi: int,
                 where: Optional[str], interval: int, offset: int, shard_dur: int,
                 ascending: bool = True) -> pa.Table:
        """Per (series, shard, window) partial aggregates of several fields in one pass.

        ``fields`` is [(column, kind, aggs)]; the answer has the tag columns, ``__win`` (window
        start, or 0), ``__shard``, then per field ``i`` and agg: ``__{i}_count``, ``__{i}_sum``,
        ``__{i}_sumf`` (sequential float sum, in time order or reversed), ``__{i}_min``, ``_max``,
        ``_first``, ``_last`` (structs of value and time), each over the rows where that field is
        set (a field with no point in a group has count 0 and nulls)."""
        tag_cols = list(m.tags)
        src, conds, lo_q, hi_q = self.source(m, lo, hi, where)
        conds.append("(" + " OR ".join(f"{_q(c)} IS NOT NULL" for c, _k, _a in fields) + ")")
        t = "__t"
        if interval:
            win = f"({t} - {offset}) - (({t} - {offset}) % {interval} + {interval}) % {interval} + {offset}"
        else:
            win = "0"
        # shard index, as select.py numbers them (BIGINT arithmetic: HUGEINT is several times slower)
        shard = f"({t} + {62135596800000000000 % shard_dur}) // {shard_dur}" if shard_dur else "0"
        if shard_dur and lo_q is not None and hi_q is not None:
            z = 62135596800000000000 % shard_dur
            if (lo_q + z) // shard_dur == (hi_q + z) // shard_dur:
                shard = str((lo_q + z) // shard_dur)  # the whole range is in one shard
        sel = []
        for i, (col, kind, aggs) in enumerate(fields):
            v = _q(col)
            nn = f" FILTER (WHERE {v} IS NOT NULL)"
            for a in aggs:
                name = f"__{i}_{a}"
                if a == "count":
                    sel.append(f"count({v}) AS {name}")
                elif a == "sum":
                    sel.append(f"sum({v}) AS {name}")
                elif a == "sumf":
                    sel.append(f"sum({v} ORDER BY {t}{'' if ascending else ' DESC'}) AS {name}")
                elif a in ("minv", "maxv"):
                    sel.append(f"{a[:3]}({v}) AS {name}")
                elif a == "min":
                    sel.append(f"min({{'v': {v}, 't': {t}}}){nn} AS {name}")
                elif a == "max":
                    sel.append(f"max({{'v': {v}, 't': -{t}}}){nn} AS {name}")
                elif a == "first":
                    sel.append(f"min({{'t': {t}, 'v': {_neg(v, kind)}}}){nn} AS {name}")
                elif a == "last":
                    sel.append(f"max({{'t': {t}, 'v': {v}}}){nn} AS {name}")
        group = [_q(c) for c in tag_cols] + ["__win", "__shard"]
        cols = list(dict.fromkeys(_q(c) for c, _k, _a in fields))
        inner = (f"SELECT {', '.join([_q(c) for c in tag_cols] + cols)}, epoch_ns(\"time\") AS __t "
                 f"FROM {src} AS __v WHERE {' AND '.join(conds)}")
        sql = (f"SELECT {', '.join(group)}, {', '.join(sel)} FROM "
               f"(SELECT *, {win} AS __win, {shard} AS __shard FROM ({inner})) "
               f"GROUP BY {', '.join(group)}")
        return self.query(sql)


def _neg(v: str, kind: str) -> str:
    """An ordering key that makes min() pick the larger value on equal times (1.x's first())."""
    if kind in ("float", "integer"):
        return f"-({v})"
    if kind == "boolean":
        return f"NOT ({v})"
    return v
