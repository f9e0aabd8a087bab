"""``EXPLAIN`` and ``EXPLAIN ANALYZE`` of a SELECT.

InfluxDB 1.x (``/query``, checked against a real 1.6.7) answers one series without a name:

* ``EXPLAIN`` -- column ``QUERY PLAN``, one row per line: for every iterator the query creates
  (one per aggregate call -- or per field a transformation reads -- and per FROM item; the
  fields of a raw query share one), ``EXPRESSION: mean(usage::float)`` (``<nil>`` for a raw
  query), ``AUXILIARY FIELDS: host::tag, usage::float`` when there are any, then ``NUMBER OF
  SHARDS``, ``NUMBER OF SERIES``, ``CACHED VALUES``, ``NUMBER OF FILES``, ``NUMBER OF BLOCKS`` and
  ``SIZE OF BLOCKS``, an empty row between iterators.  Nothing is read or written (an INTO
  target neither).
* ``EXPLAIN ANALYZE`` -- column ``EXPLAIN ANALYZE``: the query runs (an INTO is not written) and
  the rows draw the tree of what it did: ``select`` (execution, planning and total time),
  ``build_cursor`` (the statement as planned), an ``iterator_scanner`` per iterator and a
  ``create_iterator`` per measurement and shard (cursors opened, blocks decoded by type).

The numbers come from this engine's data, with 1.x's meaning mapped onto its storage:

* a *shard* is a 1.x shard group: the time window (7 days, or 1 day / 1 hour for short
  retention periods, as 1.x sizes them) holding points of the measurement, among the windows the
  query's time range touches;
* *series* are counted per shard, those whose tags can satisfy the WHERE clause;
* *cached values* are values not yet persisted (the write buffer, 1.x's cache) of the fields the
  iterator reads (its own field, the auxiliary fields, and the fields the WHERE clause still
  needs for that series) within the time range;
* *files* / *blocks* / *size* are the Parquet files overlapping the time range that hold a field
  the iterator reads, their row groups in the range, and the compressed bytes of those columns.

The InfluxDB 3 dialect (``/api/v3/query_influxql``) answers as InfluxDB 3 does: the plan type as
the measurement (``logical_plan`` and ``physical_plan``; ``Plan with Metrics`` for ANALYZE) and
one ``plan`` column holding the text -- here the iterator plan above and DuckDB's physical plan
of each measurement's scan.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field, replace
from typing import Optional

from . import ast
from .ast import BinaryExpr, Call, Distinct, Field, Measurement, ParenExpr, SelectStatement, SubQuery, VarRef
from .functions import MATH_FUNCTIONS, MAX_TIME, MIN_TIME
from .into import _fill_for_target
from .planner import PreparedSelect, Source
from .points import ZERO_TO_EPOCH, shard_bounds
from .results import Series

__all__ = ["explain", "plan_nodes", "go_duration", "tree_lines"]

#: calls 1.x hands to a call iterator of the storage engine (the others read the raw field)
_STORAGE_CALLS = ("count", "min", "max", "sum", "first", "last", "mean")

_DT = {"float": ast.DataType.FLOAT, "integer": ast.DataType.INTEGER, "unsigned": ast.DataType.UNSIGNED,
       "string": ast.DataType.STRING, "boolean": ast.DataType.BOOLEAN, "tag": ast.DataType.TAG}
_KINDS = ("float", "integer", "unsigned", "string", "boolean")


# ---------------------------------------------------------------------------------------------
# Go's formatting


def go_duration(ns: int) -> str:
    """Go's ``time.Duration.String()``: ``61.762µs``, ``2.25823ms``, ``2m37.807736229s``."""
    if ns == 0:
        return "0s"
    sign = "-" if ns < 0 else ""
    u = abs(ns)
    if u < 1000:
        return f"{sign}{u}ns"
    if u < 1_000_000:
        return f"{sign}{_frac(u, 1000)}µs"
    if u < 1_000_000_000:
        return f"{sign}{_frac(u, 1_000_000)}ms"
    secs, rem = divmod(u, 1_000_000_000)
    h, secs = divmod(secs, 3600)
    m, secs = divmod(secs, 60)
    s = _frac(secs * 1_000_000_000 + rem, 1_000_000_000) + "s"
    if h:
        return f"{sign}{h}h{m}m{s}"
    if m:
        return f"{sign}{m}m{s}"
    return sign + s


def _frac(v: int, unit: int) -> str:
    whole, rem = divmod(v, unit)
    if not rem:
        return str(whole)
    digits = len(str(unit)) - 1
    return f"{whole}." + f"{rem:0{digits}d}".rstrip("0")


@dataclass
class TreeNode:
    text: str
    children: list["TreeNode"] = field(default_factory=list)

    def add(self, text: str) -> "TreeNode":
        n = TreeNode(text)
        self.children.append(n)
        return n


def tree_lines(root: TreeNode) -> list[str]:
    """The tree as 1.x prints it (treeprint): ``.`` then ``├── ``/``└── `` branches (under a
    ``│`` followed by two no-break spaces), and the empty line its trailing newline leaves."""
    out = [root.text]
    _branch_lines(root, "", out)
    out.append("")
    return out


def _branch_lines(node: TreeNode, prefix: str, out: list[str]) -> None:
    # (a module function: a nested one calling itself is a reference cycle left for the GC)
    for i, c in enumerate(node.children):
        last = i == len(node.children) - 1
        out.append(prefix + ("└── " if last else "├── ") + c.text)
        _branch_lines(c, prefix + ("    " if last else "│\u00a0\u00a0 "), out)   # treeprint's bar, two no-break spaces


# ---------------------------------------------------------------------------------------------
# the iterators a statement creates


@dataclass
class PlanNode:
    """One iterator 1.x would create: its expression, auxiliary fields and sources."""

    expr: Optional[str]                     # "mean(usage::float)", "usage::float", None (raw)
    ref: Optional[str]                      # the field it reads (cost), None for raw
    aux: list[tuple[str, Optional[str]]]    # (name, type), sorted
    source: Source
    subnodes: list["PlanNode"] = field(default_factory=list)   # for a subquery source
    sub: Optional[PreparedSelect] = None

    @property
    def aux_text(self) -> str:
        return ", ".join(_ref_text(n, t) for n, t in self.aux)


def _ref_text(name: str, typ: Optional[str]) -> str:
    return str(VarRef(name, _DT.get(typ or "")))


def typed(expr, p: PreparedSelect):
    """``expr`` with every field reference carrying its type (``usage::float``), as 1.x prints
    the rewritten statement."""
    if isinstance(expr, VarRef):
        t = p.ref_type(expr)
        if t in _DT:
            return VarRef(expr.name, _DT[t])
        return expr
    if isinstance(expr, Call):
        return replace(expr, args=tuple(typed(a, p) for a in expr.args))
    if isinstance(expr, BinaryExpr):
        return replace(expr, lhs=typed(expr.lhs, p), rhs=typed(expr.rhs, p))
    if isinstance(expr, ParenExpr):
        return replace(expr, expr=typed(expr.expr, p))
    if isinstance(expr, Distinct):
        return typed(expr.to_call(), p)
    return expr


def _outside_calls(expr, out: list) -> None:
    if isinstance(expr, VarRef):
        out.append(expr)
    elif isinstance(expr, Call):
        if expr.name in MATH_FUNCTIONS:
            for a in expr.args:
                _outside_calls(a, out)
    elif isinstance(expr, BinaryExpr):
        _outside_calls(expr.lhs, out)
        _outside_calls(expr.rhs, out)
    elif isinstance(expr, ParenExpr):
        _outside_calls(expr.expr, out)


def _aux(refs: list[VarRef], p: PreparedSelect) -> list[tuple[str, Optional[str]]]:
    seen: dict[str, Optional[str]] = {}
    for r in refs:
        if r.name == "time" or r.name in seen:
            continue
        seen[r.name] = p.ref_type(r)
    return sorted(seen.items())


def _iterators(expr, p: PreparedSelect, aux_refs: list[VarRef], out: list, in_call: bool = False) -> None:
    """(expression text, field read, aux) of the iterators a field's expression needs (a field
    outside any call is an auxiliary field, read by the call's iterator)."""
    if isinstance(expr, ParenExpr):
        return _iterators(expr.expr, p, aux_refs, out, in_call)
    if isinstance(expr, BinaryExpr):
        _iterators(expr.lhs, p, aux_refs, out, in_call)
        _iterators(expr.rhs, p, aux_refs, out, in_call)
        return
    if isinstance(expr, Distinct):
        expr = expr.to_call()
    if isinstance(expr, VarRef):
        if not in_call:
            return
        out.append((str(typed(expr, p)), expr.name, _aux(aux_refs, p)))
        return
    if not isinstance(expr, Call) or not expr.args:
        return
    if expr.name in MATH_FUNCTIONS:
        for a in expr.args:
            _iterators(a, p, aux_refs, out, in_call)
        return
    a0 = expr.args[0]
    if expr.name in ("top", "bottom"):
        tags = [a for a in expr.args[1:-1] if isinstance(a, VarRef)]
        if tags and isinstance(a0, VarRef):
            call = Call("max" if expr.name == "top" else "min", (a0,))
            out.append((str(typed(call, p)), a0.name, _aux(tags + aux_refs, p)))
            return
        return _iterators(a0, p, aux_refs, out, True)
    if expr.name in _STORAGE_CALLS and isinstance(a0, VarRef):
        out.append((str(typed(expr, p)), a0.name, _aux(aux_refs, p)))
        return
    # count(distinct(x)), median, mode, stddev, spread, percentile, distinct, sample, integral,
    # holt_winters, derivatives, moving averages...: an iterator over the argument
    _iterators(a0, p, aux_refs, out, True)


def plan_nodes(p: PreparedSelect) -> list[PlanNode]:
    """The iterators of a prepared SELECT, in field order (1.x walks a Go map: the order of its
    calls varies from run to run; field order is one of those)."""
    specs: list[tuple[Optional[str], Optional[str], list]] = []
    if p.is_raw:
        refs: list[VarRef] = []
        for f in p.stmt.fields:
            refs.extend(n for n in ast.walk(f.expr) if isinstance(n, VarRef))
        specs.append((None, None, _aux(refs, p)))
    else:
        aux_refs: list[VarRef] = []
        for f in p.stmt.fields:
            _outside_calls(f.expr, aux_refs)
        found: list = []
        for f in p.stmt.fields:
            _iterators(f.expr, p, aux_refs, found)
        seen = set()
        for expr, ref, aux in found:
            key = (expr, tuple(aux))
            if key not in seen:
                seen.add(key)
                specs.append((expr, ref, aux))
    nodes = []
    for expr, ref, aux in specs:
        for src in p.sources:
            node = PlanNode(expr, ref, aux, src)
            if src.subquery is not None:
                node.sub = src.subquery
                node.subnodes = _subquery_nodes(src.subquery, ref)
            nodes.append(node)
    return nodes


def _subquery_nodes(sq: PreparedSelect, ref: Optional[str]) -> list[PlanNode]:
    nodes = plan_nodes(sq)
    if ref is None or sq.is_raw:
        return nodes
    # only the subquery fields the outer iterator reads
    names = sq.stmt.column_names(sq.time_name)[1:]
    want = [f for f, n in zip(sq.stmt.fields, names) if n == ref]
    if not want:
        return nodes
    sub = replace(sq, stmt=replace(sq.stmt, fields=tuple(want)))
    return plan_nodes(sub)


def _flatten(nodes: list[PlanNode]) -> list[PlanNode]:
    """Iterators over measurements: a subquery source stands for its own iterators."""
    out = []
    for n in nodes:
        if n.sub is not None:
            out.extend(_flatten(n.subnodes))
        else:
            out.append(n)
    return out


# ---------------------------------------------------------------------------------------------
# costs from the data


@dataclass
class Cost:
    shards: int = 0
    series: int = 0
    cached: int = 0
    files: int = 0
    blocks: int = 0
    size: int = 0
    cursors_ref: int = 0
    cursors_aux: int = 0
    cursors_cond: int = 0
    blocks_by_kind: dict = field(default_factory=dict)   # kind -> [row groups, bytes]

    def add(self, o: "Cost") -> None:
        for k in ("shards", "series", "cached", "files", "blocks", "size", "cursors_ref", "cursors_aux",
                  "cursors_cond"):
            setattr(self, k, getattr(self, k) + getattr(o, k))
        for k, (b, s) in o.blocks_by_kind.items():
            cur = self.blocks_by_kind.setdefault(k, [0, 0])
            cur[0] += b
            cur[1] += s


def _reduce(cond, tags: dict, m) -> tuple[Optional[bool], list[str]]:
    """The WHERE clause for one series: True / False when its tags decide it, else None and the
    fields the rest of it reads (1.x's per-series filter)."""
    from .executor import _eval_tag_cond

    if cond is None:
        return True, []
    if isinstance(cond, ParenExpr):
        return _reduce(cond.expr, tags, m)
    if isinstance(cond, BinaryExpr) and cond.op in (ast.Op.AND, ast.Op.OR):
        lv, lr = _reduce(cond.lhs, tags, m)
        rv, rr = _reduce(cond.rhs, tags, m)
        if cond.op is ast.Op.AND:
            if lv is False or rv is False:
                return False, []
            if lv is True:
                return rv, rr
            if rv is True:
                return lv, lr
            return None, lr + rr
        if lv is True or rv is True:
            return True, []
        if lv is False:
            return rv, rr
        if rv is False:
            return lv, lr
        return None, lr + rr
    fields = [n.name for n in ast.walk(cond) if isinstance(n, VarRef) and n.name in m.fields
              and n.type is not ast.DataType.TAG and not (n.name in m.tags and n.type is None)]
    if fields:
        return None, fields
    return _eval_tag_cond(cond, tags, m.name), []


class _Costs:
    """Costs of iterators over one engine, caching what several iterators share."""

    def __init__(self, ex, p: PreparedSelect, now: int):
        from .scan import Scanner
        self.ex = ex
        self.now = now
        self.scanner = Scanner(ex.engine, now)
        self._series: dict = {}
        self._cached: dict = {}
        self._files: dict = {}

    def close(self) -> None:
        self.scanner.close()

    # series per shard: [(shard index, tags)]
    def series(self, m, p: PreparedSelect) -> list[tuple[int, dict]]:
        from .scan import _q, _ts
        from .select import shard_duration

        key = (id(m), p.start, p.end)
        got = self._series.get(key)
        if got is not None:
            return got
        sd = shard_duration(m.database.retention_ns)
        lo, hi = shard_bounds(p.start, p.end, sd)
        z = ZERO_TO_EPOCH % sd
        src = self.scanner.view(m, lo, hi)
        conds = []
        if lo is not None:
            conds.append(f'"time" >= {_ts(lo)}')
        if hi is not None:
            conds.append(f'"time" <= {_ts(hi)}')
        tags = list(m.tags)
        sel = [_q(t) for t in tags] + [f'(epoch_ns("time") + {z}) // {sd} AS __shard']
        sql = f"SELECT DISTINCT {', '.join(sel)} FROM {src} AS __v"
        if conds:
            sql += " WHERE " + " AND ".join(conds)
        tbl = self.scanner.query(sql)
        cols = {t: tbl.column(t).to_pylist() for t in tags}
        shards = tbl.column("__shard").to_pylist()
        got = []
        for i in range(tbl.num_rows):
            got.append((int(shards[i]), {t: cols[t][i] for t in tags if cols[t][i] not in (None, "")}))
        got.sort(key=lambda st: (st[0], sorted(st[1].items())))
        self._series[key] = got
        return got

    # values in the write buffer: {series tags tuple: {field: count}}
    def cached(self, m, p: PreparedSelect) -> dict:
        import pyarrow as pa
        import pyarrow.compute as pc

        key = (id(m), p.start, p.end)
        got = self._cached.get(key)
        if got is not None:
            return got
        from ..sql.sources import snapshot_sources
        _files, chunks = snapshot_sources(self.ex.engine, m.database.id, m.table.id)
        counts: dict = {}
        fields = [f for f in m.fields]
        for b in chunks:
            tbl = pa.Table.from_batches([b])
            if "time" in tbl.column_names:
                t = tbl.column("time").cast(pa.int64())
                mask = None
                if p.start > MIN_TIME:
                    mask = pc.greater_equal(t, p.start)
                if p.end < MAX_TIME:
                    m2 = pc.less_equal(t, p.end)
                    mask = m2 if mask is None else pc.and_(mask, m2)
                if mask is not None:
                    tbl = tbl.filter(mask)
            if not tbl.num_rows:
                continue
            tag_cols = [c for c in m.tags if c in tbl.column_names]
            fcols = [c for c in fields if c in tbl.column_names]
            if not fcols:
                continue
            keep = {c: tbl.column(c).cast(pa.string()) for c in tag_cols}
            keep.update({f"__f{i}": tbl.column(c) for i, c in enumerate(fcols)})
            grouped = pa.table(keep).group_by(tag_cols, use_threads=False).aggregate(
                [(f"__f{i}", "count") for i in range(len(fcols))])
            keys = [grouped.column(c).to_pylist() for c in tag_cols]
            ns = [grouped.column(f"__f{i}_count").to_pylist() for i in range(len(fcols))]
            for r in range(grouped.num_rows):
                sk = tuple((c, keys[j][r]) for j, c in enumerate(tag_cols) if keys[j][r] not in (None, ""))
                d = counts.setdefault(sk, {})
                for i, c in enumerate(fcols):
                    if ns[i][r]:
                        d[c] = d.get(c, 0) + ns[i][r]
        self._cached[key] = counts
        return counts

    # parquet files: [(min_time, max_time, {column: [(rg_min, rg_max, bytes)]}, kinds)]
    def files(self, m) -> list:
        key = id(m)
        got = self._files.get(key)
        if got is not None:
            return got
        import pyarrow.parquet as pq
        from ..sql.sources import snapshot_sources
        files, _chunks = snapshot_sources(self.ex.engine, m.database.id, m.table.id)
        got = []
        for f in files:
            try:
                md = pq.read_metadata(str(self.ex.engine.data_dir / f.path))
            except Exception:  # noqa: BLE001 - a file compacted away meanwhile: not counted
                continue
            names = [md.schema.column(i).name for i in range(md.num_columns)]
            tcol = names.index("time") if "time" in names else None
            groups = []
            for g in range(md.num_row_groups):
                rg = md.row_group(g)
                lo, hi = f.min_time, f.max_time
                if tcol is not None:
                    st = rg.column(tcol).statistics
                    if st is not None and st.has_min_max:
                        lo, hi = _ns(st.min), _ns(st.max)
                sizes = {names[c]: rg.column(c).total_compressed_size for c in range(md.num_columns)}
                groups.append((lo, hi, sizes))
            got.append((f.min_time, f.max_time, groups))
        self._files[key] = got
        return got

    def cost(self, node: PlanNode, m, p: PreparedSelect, shard: Optional[int] = None) -> Cost:
        """The cost of ``node`` reading measurement ``m`` (one shard of it, or all)."""
        from .select import shard_duration

        c = Cost()
        series = [s for s in self.series(m, p) if shard is None or s[0] == shard]
        if not series:
            return c
        c.shards = len({s[0] for s in series})
        aux_fields = [n for n, t in node.aux if n in m.fields and t != "tag"]
        ref_fields = [node.ref] if node.ref is not None and node.ref in m.fields else []
        cached = self.cached(m, p)
        cond_fields_all: set[str] = set()
        seen_series: set = set()
        for _sh, tags in series:
            ok, cond_fields = _reduce(p.condition, tags, m)
            if ok is False:
                continue
            c.series += 1
            cond_fields = [f for f in cond_fields if f in m.fields]
            cond_fields_all.update(cond_fields)
            c.cursors_ref += len(ref_fields)
            c.cursors_aux += len(aux_fields)
            c.cursors_cond += len(cond_fields)
            sk = tuple(sorted(tags.items()))
            if sk in seen_series:
                continue   # a series in several shards: its cached values once
            seen_series.add(sk)
            counts = cached.get(sk, {})
            for f in ref_fields + aux_fields + cond_fields:
                c.cached += counts.get(f, 0)
        # Parquet files holding what the iterator reads, within the time range (and shard)
        cols = list(dict.fromkeys(ref_fields + aux_fields + sorted(cond_fields_all)))
        if not c.series or not cols:
            return c
        lo, hi = p.start, p.end
        if shard is not None:
            sd = shard_duration(m.database.retention_ns)
            z = ZERO_TO_EPOCH % sd
            lo, hi = max(lo, shard * sd - z), min(hi, (shard + 1) * sd - z - 1)
        for fmin, fmax, groups in self.files(m):
            if fmax < lo or fmin > hi:
                continue
            for col in cols:
                in_range = [g for g in groups if not (g[1] < lo or g[0] > hi) and col in g[2]]
                if not in_range:
                    continue
                c.files += 1
                c.blocks += len(in_range)
                size = sum(g[2][col] for g in in_range)
                c.size += size
                kb = c.blocks_by_kind.setdefault(m.fields.get(col, "float"), [0, 0])
                kb[0] += len(in_range)
                kb[1] += size
        return c


def _ns(v) -> int:
    if isinstance(v, int):
        return v
    try:
        import pandas as pd
        return int(pd.Timestamp(v).value)
    except Exception:  # noqa: BLE001
        return 0


# ---------------------------------------------------------------------------------------------
# the statement as planned (1.x prints it normalized: sources qualified, references typed)


def _qualified(m: Measurement, database: Optional[str], rp: Optional[str]) -> Measurement:
    return replace(m, database=m.database or database, retention_policy=m.retention_policy or rp or "autogen")


def planned_statement(stmt: SelectStatement, p: PreparedSelect, database: Optional[str],
                      rp: Optional[str]) -> SelectStatement:
    sources = []
    for src, psrc in zip(stmt.sources, p.sources):
        if isinstance(src, SubQuery) and psrc.subquery is not None:
            sources.append(SubQuery(planned_statement(src.statement, psrc.subquery, database, rp)))
        elif isinstance(src, Measurement):
            sources.append(_qualified(src, database, rp))
        else:
            sources.append(src)
    fields = tuple(Field(typed(f.expr, p), f.alias) for f in p.stmt.fields)
    cond = typed(p.condition, p) if p.condition is not None else None
    target = stmt.target
    if target is not None:
        target = replace(target, measurement=_qualified(target.measurement, database, rp))
    return replace(p.stmt, fields=fields, sources=tuple(sources), condition=cond, target=target,
                   fill=stmt.fill, fill_value=stmt.fill_value)


# ---------------------------------------------------------------------------------------------
# entry


def explain(ex, stmt: ast.ExplainStatement, database: Optional[str], rp: Optional[str], now: int) -> list[Series]:
    sel = stmt.statement
    # the rows of an INTO are what the SELECT alone answers (fill(null) is fill(none)); nothing
    # is written
    run_stmt = replace(_fill_for_target(sel), target=None) if sel.target is not None else sel
    t0 = time.perf_counter_ns()
    p = ex.prepare(run_stmt, database, rp, now, check_limits=stmt.analyze)
    t_plan = time.perf_counter_ns() - t0
    if stmt.analyze:
        t1 = time.perf_counter_ns()
        ex.run_prepared(p, now)
        t_exec = time.perf_counter_ns() - t1
        lines = _analyze_lines(ex, sel, p, database, rp, now, t_plan, t_exec)
        if ex.dialect == "v3":
            return [Series("Plan with Metrics", ["plan"], [["\n".join(lines).rstrip("\n")]], time_index=None,
                           kinds=["string"])]
        return [Series(None, ["EXPLAIN ANALYZE"], [[ln] for ln in lines], time_index=None, kinds=["string"])]
    lines = _explain_lines(ex, p, now)
    if ex.dialect == "v3":
        return [Series("logical_plan", ["plan"], [["\n".join(lines)]], time_index=None, kinds=["string"]),
                Series("physical_plan", ["plan"], [[_physical_plan(ex, p, now)]], time_index=None,
                       kinds=["string"])]
    return [Series(None, ["QUERY PLAN"], [[ln] for ln in lines], time_index=None, kinds=["string"])]


def _explain_lines(ex, p: PreparedSelect, now: int) -> list[str]:
    costs = _Costs(ex, p, now)
    out: list[str] = []
    try:
        for node in _flatten(plan_nodes(p)):
            owner = _owner(node, p)
            c = Cost()
            for m in node.source.measurements:
                c.add(costs.cost(node, m, owner))
            if out:
                out.append("")
            out.append(f"EXPRESSION: {node.expr if node.expr is not None else '<nil>'}")
            if node.aux:
                out.append(f"AUXILIARY FIELDS: {node.aux_text}")
            out += [f"NUMBER OF SHARDS: {c.shards}", f"NUMBER OF SERIES: {c.series}",
                    f"CACHED VALUES: {c.cached}", f"NUMBER OF FILES: {c.files}",
                    f"NUMBER OF BLOCKS: {c.blocks}", f"SIZE OF BLOCKS: {c.size}"]
    finally:
        costs.close()
    return out


def _owner(node: PlanNode, p: PreparedSelect) -> PreparedSelect:
    """The prepared statement whose time range and WHERE an iterator reads with."""
    return _reading(node, p) or p


def _reading(node: PlanNode, q: PreparedSelect) -> Optional[PreparedSelect]:
    for src in q.sources:
        if src is node.source:
            return q
        if src.subquery is not None:
            r = _reading(node, src.subquery)
            if r is not None:
                return r
    return None


def _analyze_lines(ex, stmt: SelectStatement, p: PreparedSelect, database, rp, now, t_plan: int,
                   t_exec: int) -> list[str]:
    root = TreeNode(".")
    sel = root.add("select")
    sel.add(f"execution_time: {go_duration(t_exec)}")
    sel.add(f"planning_time: {go_duration(t_plan)}")
    sel.add(f"total_time: {go_duration(t_plan + t_exec)}")
    costs = _Costs(ex, p, now)
    try:
        _build_cursor(sel, costs, stmt, p, database, rp)
    finally:
        costs.close()
    return tree_lines(root)


def _build_cursor(parent: TreeNode, costs: _Costs, stmt: SelectStatement, p: PreparedSelect, database, rp) -> None:
    bc = parent.add("build_cursor")
    bc.add("labels").add(f"statement: {planned_statement(stmt, p, database, rp)}")
    nodes = plan_nodes(p)
    if p.is_raw:
        # one scanner reads every source's auxiliary iterator
        groups = [nodes]
    else:
        groups, by_expr = [], {}
        for n in nodes:
            key = (n.expr, tuple(n.aux))
            if key not in by_expr:
                by_expr[key] = []
                groups.append(by_expr[key])
            by_expr[key].append(n)
    for group in groups:
        first = group[0]
        sc = bc.add("iterator_scanner")
        labels = sc.add("labels")
        if first.expr is not None:
            labels.add(f"expr: {first.expr}")
        if first.aux:
            labels.add(f"auxiliary_fields: {first.aux_text}")
        for node in group:
            if node.sub is not None:
                sub_stmt = next((s.statement for s, ps in zip(stmt.sources, p.sources)
                                 if ps is node.source and isinstance(s, SubQuery)), None)
                if sub_stmt is not None:
                    _build_cursor(sc, costs, sub_stmt, node.sub, database, rp)
                continue
            for m in node.source.measurements:
                for shard in sorted({s for s, _t in costs.series(m, p)}):
                    t0 = time.perf_counter_ns()
                    c = costs.cost(node, m, p, shard)
                    elapsed = time.perf_counter_ns() - t0
                    if not c.shards:
                        continue
                    ci = sc.add("create_iterator")
                    cl = ci.add("labels")
                    if p.condition is not None:
                        cl.add(f"cond: {typed(p.condition, p)}")
                    cl.add(f"measurement: {m.name}")
                    cl.add(f"shard_id: {shard}")
                    ci.add(f"cursors_ref: {c.cursors_ref}")
                    ci.add(f"cursors_aux: {c.cursors_aux}")
                    ci.add(f"cursors_cond: {c.cursors_cond}")
                    for kind in _KINDS:
                        b, s = c.blocks_by_kind.get(kind, (0, 0))
                        ci.add(f"{kind}_blocks_decoded: {b}")
                        ci.add(f"{kind}_blocks_size_bytes: {s}")
                    ci.add(f"planning_time: {go_duration(elapsed)}")


def _physical_plan(ex, p: PreparedSelect, now: int) -> str:
    """DuckDB's plan of each measurement's scan (time range, WHERE and the columns read)."""
    from .scan import Scanner, _q
    from .select import _Run

    scanner = Scanner(ex.engine, now)
    parts = []
    try:
        seen = set()
        for node in _flatten(plan_nodes(p)):
            owner = _owner(node, p)
            for m in node.source.measurements:
                if id(m) in seen:
                    continue
                seen.add(id(m))
                try:
                    w = _Run(owner, scanner, v3=True).cond_sql(m)
                except Exception:  # noqa: BLE001 - a WHERE evaluated in Python instead
                    w = None
                src, conds, _lo, _hi = scanner.source(m, owner.start, owner.end, w)
                cols = [_q(t) for t in m.tags] + ['"time"'] + [_q(f) for f in m.fields]
                sql = f"SELECT {', '.join(cols)} FROM {src} AS __v"
                if conds:
                    sql += " WHERE " + " AND ".join(conds)
                rows = scanner.cursor.sql("EXPLAIN " + sql).fetchall()
                text = "\n".join(str(r[1]) for r in rows)
                parts.append(f"{m.name}:\n{text}")
    finally:
        scanner.close()
    return "\n".join(parts) if parts else "EmptyExec"
