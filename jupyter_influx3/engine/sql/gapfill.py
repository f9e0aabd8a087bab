"""`date_bin_gapfill` queries: the aggregate query, plus a row for every empty bin of every group.

    SELECT date_bin_gapfill(INTERVAL '1 minute', time) AS t, host, locf(avg(usage))
    FROM cpu WHERE time >= A AND time < B GROUP BY 1, host

becomes (structurally; the function rewrites run afterwards):

    WITH __gf_inner AS (SELECT date_bin(…) AS __t, host AS __g0, avg(usage) AS __v2 … GROUP BY …),
         __gf_grid AS (SELECT DISTINCT __g0 FROM __gf_inner) × (every bin from date_bin(A) below B)
    SELECT grid.__t AS t, grid.__g0 AS host,
           last_value(__v2 IGNORE NULLS) OVER (PARTITION BY host ORDER BY t) AS "locf(avg(cpu.usage))"
    FROM grid LEFT JOIN __gf_inner ON same bin and group ORDER BY host, t

`locf(x)` carries the last non-null value forward; `interpolate(x)` fills nulls between two
non-null values linearly (integers stay integers). Groups are those present in the data between
the bounds; both bounds are required, as in InfluxDB 3.
"""

from __future__ import annotations

import sqlglot
from sqlglot import exp

from .bounds import time_bounds
from .errors import SqlPlanningError
from .functions import interval_ns

_GAPFILL = "date_bin_gapfill"


def _is_gapfill(e: exp.Expression) -> bool:
    return isinstance(e, exp.Anonymous) and e.name.lower() == _GAPFILL


def _unalias(e: exp.Expression) -> exp.Expression:
    return e.this if isinstance(e, exp.Alias) else e


def _resolve_group(select: exp.Select) -> list[exp.Expression]:
    group = select.args.get("group")
    if group is None:
        return []
    projections = select.expressions
    by_alias = {p.alias: _unalias(p) for p in projections if isinstance(p, exp.Alias)}
    out = []
    for g in group.expressions:
        if isinstance(g, exp.Literal) and not g.is_string and g.this.isdigit():
            k = int(g.this)
            if not 1 <= k <= len(projections):
                raise SqlPlanningError(f"GROUP BY position {k} is not in select list")
            out.append(_unalias(projections[k - 1]))
        elif isinstance(g, exp.Column) and not g.table and g.name in by_alias:
            out.append(by_alias[g.name])
        else:
            out.append(g)
    return out


def uses_gapfill(select: exp.Select) -> bool:
    return any(_is_gapfill(g) for g in _resolve_group(select))


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def rewrite(select: exp.Select) -> exp.Expression:
    """The gap-filling query around `select` (which becomes its inner aggregate, modified in place)."""
    groups = _resolve_group(select)
    gaps = [g for g in groups if _is_gapfill(g)]
    if len(gaps) != 1:
        raise SqlPlanningError("date_bin_gapfill may only be used once, as a GROUP BY expression")
    gap = gaps[0]
    others = [g for g in groups if g is not gap and not _is_gapfill(g)]
    args = gap.expressions
    if len(args) not in (2, 3):
        raise SqlPlanningError("date_bin_gapfill expects 2 or 3 arguments")
    interval, ts = args[0], args[1]
    origin = args[2] if len(args) == 3 else None
    if not isinstance(ts, exp.Column):
        raise SqlPlanningError("date_bin_gapfill requires a time column as its second argument")

    def matches(col: exp.Column) -> bool:
        return col.name.lower() == ts.name.lower() and (not col.table or not ts.table or col.table == ts.table)

    lowers, uppers = time_bounds(select.args.get("where"), matches)
    if not lowers:
        raise SqlPlanningError("gap-filling query is missing lower time bound")
    if not uppers:
        raise SqlPlanningError("gap-filling query is missing upper time bound")

    def date_bin(t: exp.Expression) -> exp.Expression:
        a = [interval.copy(), t] + ([origin.copy()] if origin is not None else [])
        return exp.Anonymous(this="date_bin", expressions=a)

    def as_ts(e: exp.Expression) -> exp.Expression:
        return exp.Anonymous(this="to_timestamp", expressions=[e.copy()])

    lower = as_ts(lowers[0][0]) if len(lowers) == 1 else exp.Greatest(
        this=as_ts(lowers[0][0]), expressions=[as_ts(b) for b, _ in lowers[1:]])
    upper_parts = []
    for b, inclusive in uppers:
        ns = exp.Anonymous(this="epoch_ns", expressions=[as_ts(b)])
        upper_parts.append(exp.Add(this=ns, expression=exp.Literal.number(1)) if inclusive else ns)
    upper = upper_parts[0] if len(upper_parts) == 1 else exp.Least(this=upper_parts[0], expressions=upper_parts[1:])
    width = interval_ns(interval)
    first_bin = exp.Anonymous(this="epoch_ns", expressions=[date_bin(lower)])

    # classify the projections
    kinds = []   # (kind, index, name, fill)
    inner_proj = [exp.alias_(date_bin(ts.copy()), "__t", quoted=True)]
    for j, g in enumerate(others):
        inner_proj.append(exp.alias_(g.copy(), f"__g{j}", quoted=True))
    for i, p in enumerate(select.expressions):
        e, name = _unalias(p), p.alias_or_name
        if _is_gapfill(e):
            kinds.append(("time", 0, name, None))
            continue
        j = next((j for j, g in enumerate(others) if g == e), None)
        if j is not None:
            kinds.append(("group", j, name, None))
            continue
        fill = None
        if isinstance(e, exp.Anonymous) and e.name.lower() in ("locf", "interpolate"):
            if len(e.expressions) != 1:
                raise SqlPlanningError(f"{e.name.lower()} expects 1 argument")
            fill, e = e.name.lower(), e.expressions[0]
        inner_proj.append(exp.alias_(e.copy(), f"__v{i}", quoted=True))
        kinds.append(("value", i, name, fill))

    order = select.args.get("order")
    limit, offset = select.args.get("limit"), select.args.get("offset")
    new_group = [date_bin(ts.copy())] + [g.copy() for g in others]
    select.set("expressions", inner_proj)
    select.set("group", exp.Group(expressions=new_group))
    for k in ("order", "limit", "offset"):
        select.set(k, None)

    gcols = [f"gr.__g{j}" for j in range(len(others))]
    part = f"PARTITION BY {', '.join(gcols)} " if gcols else ""
    win_prev = f"OVER ({part}ORDER BY gr.__t ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING)"
    win_next = f"OVER ({part}ORDER BY gr.__t ROWS BETWEEN 1 FOLLOWING AND UNBOUNDED FOLLOWING)"
    win_upto = f"OVER ({part}ORDER BY gr.__t ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW)"
    outs = []
    for kind, idx, name, fill in kinds:
        if kind == "time":
            expr = "gr.__t"
        elif kind == "group":
            expr = f"gr.__g{idx}"
        else:
            v = f"i.__v{idx}"
            if fill == "locf":
                expr = f"last_value({v} IGNORE NULLS) {win_upto}"
            elif fill == "interpolate":
                t = "epoch_ns(gr.__t)"
                vt = f"CASE WHEN {v} IS NOT NULL THEN {t} END"
                pv, pt = f"last_value({v} IGNORE NULLS) {win_prev}", f"last_value({vt} IGNORE NULLS) {win_prev}"
                nv, nt = f"first_value({v} IGNORE NULLS) {win_next}", f"first_value({vt} IGNORE NULLS) {win_next}"
                expr = (f"CASE WHEN {v} IS NOT NULL THEN {v} "
                        f"ELSE {pv} + ({nv} - {pv}) * CAST({t} - {pt} AS HUGEINT) / ({nt} - {pt}) END")
            else:
                expr = v
        outs.append(f"{expr} AS {_q(name)}")
    grid_groups = f"(SELECT DISTINCT {', '.join(f'__g{j}' for j in range(len(others)))} FROM __gf_inner) AS g CROSS JOIN " \
        if others else ""
    on = " AND ".join(["gr.__t = i.__t"] + [f"gr.__g{j} IS NOT DISTINCT FROM i.__g{j}" for j in range(len(others))])
    template = (
        "WITH __gf_inner AS (SELECT 1), "
        f"__gf_grid AS (SELECT {'g.*, ' if others else ''}make_timestamp_ns(r.ns) AS __t FROM {grid_groups}"
        "range(__gf_lo, __gf_hi, __gf_w) AS r(ns)) "
        f"SELECT {', '.join(outs)} FROM __gf_grid AS gr LEFT JOIN __gf_inner AS i ON {on}")
    outer = sqlglot.parse_one(template, read="duckdb")
    outer.args["with_"].expressions[0].set("this", select) if "with_" in outer.args else \
        outer.args["with"].expressions[0].set("this", select)
    for col in list(outer.find_all(exp.Column)):
        if col.name == "__gf_lo":
            col.replace(first_bin)
        elif col.name == "__gf_hi":
            col.replace(upper)
        elif col.name == "__gf_w":
            col.replace(width)

    names = [k[2] for k in kinds]
    if order is not None:
        items = []
        for o in order.expressions:
            target = o.this
            if isinstance(target, exp.Column) and not target.table and target.name in names:
                o.set("this", exp.column(target.name, quoted=True))
            elif not (isinstance(target, exp.Literal) and not target.is_string):
                pos = next((i for i, p in enumerate(kinds) if p[0] == "time" and _is_gapfill(target)), None)
                if pos is None:
                    raise SqlPlanningError(
                        "ORDER BY of a gap-filling query must name an output column or position")
                o.set("this", exp.Literal.number(pos + 1))
            items.append(o)
        outer.set("order", exp.Order(expressions=items))
    else:
        keys = [exp.column(f"__g{j}", table="gr") for j in range(len(others))] + [exp.column("__t", table="gr")]
        outer.set("order", exp.Order(expressions=[exp.Ordered(this=k, nulls_first=False) for k in keys]))
    if limit is not None:
        outer.set("limit", limit)
    if offset is not None:
        outer.set("offset", offset)
    return outer
