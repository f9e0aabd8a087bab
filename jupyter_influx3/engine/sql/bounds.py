"""Time bounds of a WHERE clause: which AND-ed conjuncts constrain `time` to constants.

Used for Parquet pruning (a file whose [min_time, max_time] misses the bounds is not read) and by
gap filling (which needs both bounds). Only top-level AND conjuncts count; anything under OR/NOT,
any bound that is not constant, or a `time` that may belong to another relation gives no bound.
The same rules give the string equalities (``col = 'v'``, ``col IN ('a', 'b')``) the file index
prunes files by (engine/admin/fileindex.py).
"""

from __future__ import annotations

from typing import Callable

from sqlglot import exp

_FLIP = {exp.GT: exp.LT, exp.GTE: exp.LTE, exp.LT: exp.GT, exp.LTE: exp.GTE}


def conjuncts(e: exp.Expression | None):
    if e is None:
        return
    if isinstance(e, exp.Where):
        yield from conjuncts(e.this)
    elif isinstance(e, exp.And):
        yield from conjuncts(e.left)
        yield from conjuncts(e.right)
    elif isinstance(e, exp.Paren):
        yield from conjuncts(e.this)
    else:
        yield e


def is_time_column(e: exp.Expression) -> bool:
    return isinstance(e, exp.Column) and not e.is_star and e.name.lower() == "time"


def is_constant(e: exp.Expression) -> bool:
    for n in e.walk():
        if isinstance(n, (exp.Column, exp.Select, exp.Subquery, exp.AggFunc, exp.Window, exp.Star)):
            return False
        if isinstance(n, (exp.Rand,)):
            return False
        if isinstance(n, exp.Anonymous) and n.name.lower() in ("random", "uuid", "gen_random_uuid"):
            return False
    return True


def time_bounds(where: exp.Expression | None, matches: Callable[[exp.Column], bool]):
    """([(expr, inclusive)...] lower bounds, [(expr, inclusive)...] upper bounds) on time."""
    lowers, uppers = [], []
    for c in conjuncts(where):
        if isinstance(c, exp.Between) and not c.args.get("symmetric"):
            if is_time_column(c.this) and matches(c.this):
                lo, hi = c.args["low"], c.args["high"]
                if is_constant(lo):
                    lowers.append((lo, True))
                if is_constant(hi):
                    uppers.append((hi, True))
            continue
        if not isinstance(c, (exp.EQ, exp.GT, exp.GTE, exp.LT, exp.LTE)):
            continue
        left, right, op = c.left, c.right, type(c)
        if is_time_column(right) and not is_time_column(left):
            left, right, op = right, left, _FLIP.get(op, op)
        if not (is_time_column(left) and matches(left) and is_constant(right)):
            continue
        if op in (exp.GT, exp.GTE, exp.EQ):
            lowers.append((right, op is not exp.GT))
        if op in (exp.LT, exp.LTE, exp.EQ):
            uppers.append((right, op is not exp.LT))
    return lowers, uppers


def equalities(where: exp.Expression | None, matches: Callable[[exp.Column], bool]) -> dict[str, set[str]]:
    """{column name: the string values it must equal} from top-level ``col = 'v'`` / ``col IN (...)``
    conjuncts (two conjuncts on one column: the values both allow)."""
    out: dict[str, set[str]] = {}

    def add(col: exp.Expression, values: list[exp.Expression]) -> None:
        if not (isinstance(col, exp.Column) and not col.is_star and matches(col)):
            return
        if not values or not all(isinstance(v, exp.Literal) and v.is_string for v in values):
            return
        vs = {v.this for v in values}
        out[col.name] = out[col.name] & vs if col.name in out else vs

    for c in conjuncts(where):
        if isinstance(c, exp.EQ):
            if isinstance(c.right, exp.Column):
                add(c.right, [c.left])
            else:
                add(c.left, [c.right])
        elif isinstance(c, exp.In) and not c.args.get("query") and not c.args.get("unnest"):
            add(c.this, list(c.expressions))
    return out
