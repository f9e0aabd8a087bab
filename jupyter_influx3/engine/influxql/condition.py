"""WHERE-clause helpers for the planner: time literals, constant folding, time ranges.

These follow InfluxDB 1.x's ``influxql.ConditionExpr`` / ``Reduce``:

* :func:`string_to_time` — ``'2000-01-01T00:00:00Z'``, ``'2000-01-01 00:00:00.5'`` and
  ``'2000-01-01'`` strings as nanoseconds (in ``tz`` when the string has no offset);
* :func:`reduce` — fold constants: ``now()``, ``now() - 1h``, ``10 + 10``, ``'2000-01-01' + 1d``...;
* :func:`condition_expr` — split a condition into the non-time part and the time range
  (``time > x`` / ``>=`` / ``<`` / ``<=`` / ``=``, joined by AND; like 1.x, ranges under OR are
  intersected too);
* :func:`time_range` — only the bounds; :func:`split_condition` — a purely syntactic split of the
  top-level AND terms into time terms and the rest.

Times are integers (ns since the epoch); a bound of None means "unbounded".  Errors are
:class:`ConditionError` with 1.x's messages.
"""

from __future__ import annotations

import math
import operator
import re
import zoneinfo
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone, tzinfo
from typing import Optional

from . import ast
from .ast import (
    BinaryExpr,
    BooleanLiteral,
    Call,
    DurationLiteral,
    Expr,
    IntegerLiteral,
    NilLiteral,
    NumberLiteral,
    Op,
    ParenExpr,
    StringLiteral,
    TimeLiteral,
    UnsignedLiteral,
    VarRef,
)

__all__ = [
    "MIN_TIME",
    "MAX_TIME",
    "ConditionError",
    "TimeRange",
    "string_to_time",
    "reduce",
    "condition_expr",
    "time_range",
    "split_condition",
    "has_time_expr",
    "is_time_ref",
]

#: the smallest time 1.x can represent (1677-09-21T00:12:43.145224194Z)
MIN_TIME = -(1 << 63) + 2
#: the largest time 1.x can represent (2262-04-11T23:47:16.854775806Z)
MAX_TIME = (1 << 63) - 2

_NS = 1_000_000_000
_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


class ConditionError(ValueError):
    """A WHERE clause 1.x refuses (``str()`` is 1.x's message)."""


# ---------------------------------------------------------------------------------------------
# time literals

_DATE = re.compile(r"(\d{4})-(\d{2})-(\d{2})\Z")
_DATE_PREFIX = re.compile(r"\d{4}-\d{2}-\d{2}.")
# 2006-01-02 15:04:05.999999 (Go accepts any number of fraction digits when parsing)
_DATETIME = re.compile(r"(\d{4})-(\d{2})-(\d{2}) (\d{2}):(\d{2}):(\d{2})(?:\.(\d+))?\Z")
# RFC 3339 with optional fraction
_RFC3339 = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d+))?(Z|[+-]\d{2}:\d{2})\Z"
)


def is_time_string(s: str) -> bool:
    """True when 1.x would try to read ``s`` as a time (``YYYY-MM-DD`` or ``YYYY-MM-DD...``)."""
    return _DATE.match(s) is not None or _DATE_PREFIX.match(s) is not None


def _zone(tz: Optional[str]) -> tzinfo:
    if not tz or tz == "UTC":
        return timezone.utc
    if tz == "Local":
        return datetime.now().astimezone().tzinfo or timezone.utc
    return zoneinfo.ZoneInfo(tz)


def _to_ns(y, mo, d, h, mi, s, frac, zone: tzinfo, offset: Optional[str]) -> int:
    y, mo, d, h, mi, s = int(y), int(mo), int(d), int(h), int(mi), int(s)
    if not (1 <= mo <= 12 and 0 <= h <= 23 and 0 <= mi <= 59 and 0 <= s <= 59):
        raise ConditionError("invalid timestamp string")
    if offset is not None:
        if offset == "Z":
            zone = timezone.utc
        else:
            sign = -1 if offset[0] == "-" else 1
            oh, om = int(offset[1:3]), int(offset[4:6])
            if oh > 23 or om > 59:
                raise ConditionError("invalid timestamp string")
            zone = timezone(sign * timedelta(hours=oh, minutes=om))
    try:
        dt = datetime(y, mo, d, h, mi, s, tzinfo=zone)
    except ValueError:
        raise ConditionError("invalid timestamp string") from None
    if offset is None and zone is not timezone.utc:
        dt = dt.replace(fold=0)
    delta = dt - _EPOCH
    ns = (delta.days * 86400 + delta.seconds) * _NS
    if frac:
        ns += int(frac[:9].ljust(9, "0"))
    return ns


def string_to_time(s: str, tz: Optional[str] = None) -> int:
    """The time a string literal denotes, in ns.  ``tz`` (an IANA name, from ``tz('...')``)
    applies to strings without an offset.  Raises ConditionError("invalid timestamp string")."""
    zone = _zone(tz)
    if _DATE_PREFIX.match(s):
        m = _DATETIME.match(s)
        if m:
            return _to_ns(*m.groups(), zone, None)
        m = _RFC3339.match(s)
        if m:
            g = m.groups()
            return _to_ns(*g[:7], zone, g[7])
        raise ConditionError("invalid timestamp string")
    m = _DATE.match(s)
    if m:
        return _to_ns(*m.groups(), 0, 0, 0, None, zone, None)
    raise ConditionError("invalid timestamp string")


def _as_time(lit: StringLiteral, tz: Optional[str]) -> Optional[TimeLiteral]:
    if not is_time_string(lit.value):
        return None
    try:
        return TimeLiteral(string_to_time(lit.value, tz))
    except ConditionError:
        return None


# ---------------------------------------------------------------------------------------------
# constant folding


def _i64(v: int) -> int:
    v &= (1 << 64) - 1
    return v - (1 << 64) if v >> 63 else v


def _u64(v: int) -> int:
    return v & ((1 << 64) - 1)


_COMPARISONS = {Op.EQ: operator.eq, Op.NEQ: operator.ne, Op.LT: operator.lt, Op.LTE: operator.le,
                Op.GT: operator.gt, Op.GTE: operator.ge}  # fmt: skip
#: the operators whose result has the operands' type (wrapped to 64 bits for integers)
_CLOSED = {Op.ADD: operator.add, Op.SUB: operator.sub, Op.MUL: operator.mul}
_BITWISE = {Op.BITWISE_AND: operator.and_, Op.BITWISE_OR: operator.or_, Op.BITWISE_XOR: operator.xor}


def _compare(op: Op, a, b) -> Optional[BooleanLiteral]:
    """``a op b`` when ``op`` is a comparison, else None (no fold)."""
    f = _COMPARISONS.get(op)
    return BooleanLiteral(f(a, b)) if f is not None else None


def _go_div(a: int, b: int) -> int:
    q = abs(a) // abs(b)
    return q if (a >= 0) == (b >= 0) else -q


def _go_mod(a: int, b: int) -> int:
    r = abs(a) % abs(b)
    return -r if a < 0 else r


def reduce(expr: Optional[Expr], now_ns: Optional[int] = None, tz: Optional[str] = None) -> Optional[Expr]:
    """Fold constant sub-expressions as 1.x's ``Reduce`` does (``now()`` becomes a
    :class:`~.ast.TimeLiteral` when ``now_ns`` is given; strings that look like times take part in
    time arithmetic).  A top-level parenthesis is removed."""
    out = _reduce(expr, now_ns, tz)
    if isinstance(out, ParenExpr):
        return out.expr
    return out


def _reduce(e: Optional[Expr], now_ns, tz) -> Optional[Expr]:
    if e is None:
        return None
    if isinstance(e, BinaryExpr):
        return _reduce_binary(e, now_ns, tz)
    if isinstance(e, Call):
        args = tuple(_reduce(a, now_ns, tz) for a in e.args)
        if e.name == "now" and not args and now_ns is not None:
            return TimeLiteral(now_ns)
        return Call(e.name, args)
    if isinstance(e, ParenExpr):
        inner = _reduce(e.expr, now_ns, tz)
        return ParenExpr(inner) if isinstance(inner, BinaryExpr) else inner
    return e


def _left_spine(e: BinaryExpr, ops=None) -> tuple[list[BinaryExpr], Expr]:
    """The chain e, e.lhs, e.lhs.lhs... of binary expressions (restricted to ``ops`` if given),
    top first, and the expression below it.  Lets long left-deep chains such as
    ``a = 1 OR a = 2 OR ...`` be handled without recursion."""
    spine = []
    while isinstance(e, BinaryExpr) and (ops is None or e.op in ops):
        spine.append(e)
        e = e.lhs
    return spine, e


def _reduce_binary(e: BinaryExpr, now_ns, tz) -> Expr:
    spine, base = _left_spine(e)
    acc = _reduce(base, now_ns, tz)
    for node in reversed(spine):
        acc = _combine(node.op, acc, _reduce(node.rhs, now_ns, tz), tz)
    return acc


def _combine(op: Op, lhs: Expr, rhs: Expr, tz) -> Expr:
    """``lhs op rhs`` for already reduced operands."""
    if op is Op.AND or op is Op.OR:
        absorbing = op is Op.OR  # x AND false is false, x OR true is true; the other value is neutral
        if _is_bool(lhs, absorbing) or _is_bool(rhs, absorbing):
            return BooleanLiteral(absorbing)
        if _is_bool(lhs, not absorbing):
            return rhs
        if _is_bool(rhs, not absorbing):
            return lhs
    folded = _fold(op, lhs, rhs, tz)
    return folded if folded is not None else BinaryExpr(op, lhs, rhs)


def _is_bool(e: Expr, v: bool) -> bool:
    return type(e) is BooleanLiteral and e.value is v


def _fold(op: Op, lhs: Expr, rhs: Expr, tz) -> Optional[Expr]:
    """The literal ``lhs op rhs`` folds to, or None."""
    L, R = type(lhs), type(rhs)
    if R is NilLiteral and L in (BooleanLiteral, DurationLiteral, IntegerLiteral, NumberLiteral, TimeLiteral):
        return BooleanLiteral(False)
    if L is NilLiteral:
        return BooleanLiteral(False) if op in (Op.EQ, Op.NEQ) else None
    if L is BooleanLiteral and R is BooleanLiteral:
        a, b = lhs.value, rhs.value
        table = {Op.EQ: a == b, Op.NEQ: a != b, Op.AND: a and b, Op.OR: a or b,
                 Op.BITWISE_AND: a and b, Op.BITWISE_OR: a or b, Op.BITWISE_XOR: a != b}  # fmt: skip
        return BooleanLiteral(table[op]) if op in table else None
    if L is DurationLiteral:
        return _fold_duration(op, lhs, rhs, tz)
    if L is IntegerLiteral:
        if R is NumberLiteral:
            return _fold_number(op, float(lhs.value), rhs.value)
        if R is IntegerLiteral:
            return _fold_int(op, lhs.value, rhs.value)
        if R is UnsignedLiteral:
            if lhs.value < 0 and op in (Op.LT, Op.LTE, Op.GT, Op.GTE):
                return BooleanLiteral(op in (Op.LT, Op.LTE))
            return _fold_uint(op, _u64(lhs.value), rhs.value)
        if R is DurationLiteral:  # the integer is a timestamp
            if op is Op.ADD:
                return TimeLiteral(lhs.value + rhs.value)
            if op is Op.SUB:
                return TimeLiteral(lhs.value - rhs.value)
            return None
        if R is TimeLiteral or R is StringLiteral:
            t = rhs if R is TimeLiteral else _as_time(rhs, tz)
            if t is not None:
                return _fold_duration(op, DurationLiteral(lhs.value), t, tz)
        return None
    if L is UnsignedLiteral:
        if R is NumberLiteral:
            return _fold_number(op, float(lhs.value), rhs.value)
        if R is IntegerLiteral:
            if rhs.value < 0 and op in (Op.LT, Op.LTE, Op.GT, Op.GTE):
                return BooleanLiteral(op in (Op.GT, Op.GTE))
            return _fold_uint(op, lhs.value, _u64(rhs.value))
        if R is UnsignedLiteral:
            return _fold_uint(op, lhs.value, rhs.value)
        return None
    if L is NumberLiteral:
        if R is NumberLiteral or R is IntegerLiteral or R is UnsignedLiteral:
            return _fold_number(op, lhs.value, float(rhs.value))
        return None
    if L is StringLiteral:
        return _fold_string(op, lhs, rhs, tz)
    if L is TimeLiteral:
        return _fold_time(op, lhs, rhs, tz)
    return None


def _fold_duration(op: Op, lhs: DurationLiteral, rhs: Expr, tz) -> Optional[Expr]:
    R = type(rhs)
    a = lhs.value
    if R is DurationLiteral:
        b = rhs.value
        if op is Op.ADD:
            return DurationLiteral(_i64(a + b))
        if op is Op.SUB:
            return DurationLiteral(_i64(a - b))
        return _compare(op, a, b)
    if R is NumberLiteral or R is IntegerLiteral:
        b = int(rhs.value) if R is IntegerLiteral else _f2i(rhs.value)
        if op is Op.MUL:
            return DurationLiteral(_i64(a * b))
        if op is Op.DIV:
            return DurationLiteral(0 if b == 0 else _go_div(a, b))
        return None
    if R is TimeLiteral:
        return TimeLiteral(rhs.value + a) if op is Op.ADD else None
    if R is StringLiteral:
        t = _as_time(rhs, tz)
        return _fold_duration(op, lhs, t, tz) if t is not None else None
    return None


def _f2i(v: float) -> int:
    if math.isnan(v) or math.isinf(v):
        return -(1 << 63)
    return _i64(int(v))


def _fold_int(op: Op, a: int, b: int) -> Optional[Expr]:
    f = _CLOSED.get(op) or _BITWISE.get(op)
    if f is not None:
        return IntegerLiteral(_i64(f(a, b)))
    if op is Op.DIV:
        return NumberLiteral(0.0 if b == 0 else a / b)
    if op is Op.MOD:
        return IntegerLiteral(0 if b == 0 else _go_mod(a, b))
    return _compare(op, a, b)


def _fold_uint(op: Op, a: int, b: int) -> Optional[Expr]:
    f = _CLOSED.get(op)
    if f is not None:
        return UnsignedLiteral(_u64(f(a, b)))
    if op is Op.DIV:
        return UnsignedLiteral(0 if b == 0 else a // b)
    if op is Op.MOD:
        return UnsignedLiteral(0 if b == 0 else a % b)
    return _compare(op, a, b)


def _fold_number(op: Op, a: float, b: float) -> Optional[Expr]:
    f = _CLOSED.get(op)
    if f is not None:
        return NumberLiteral(f(a, b))
    if op is Op.DIV:
        return NumberLiteral(0.0 if b == 0 else a / b)
    if op is Op.MOD:
        return NumberLiteral(math.fmod(a, b) if b != 0 else math.nan)
    return _compare(op, a, b)


def _fold_string(op: Op, lhs: StringLiteral, rhs: Expr, tz) -> Optional[Expr]:
    R = type(rhs)
    if R is StringLiteral:
        if op in (Op.EQ, Op.NEQ):
            result: Expr = BooleanLiteral((lhs.value == rhs.value) is (op is Op.EQ))
            tl, tr = _as_time(lhs, tz), _as_time(rhs, tz)
            if tl is not None and tr is not None:
                result = _fold_time(op, tl, tr, tz) or result
            return result
        if op is Op.ADD:
            return StringLiteral(lhs.value + rhs.value)
    elif R is NilLiteral:
        return BooleanLiteral(False) if op in (Op.EQ, Op.NEQ) else None
    if R in (StringLiteral, DurationLiteral, TimeLiteral, IntegerLiteral):
        t = _as_time(lhs, tz)
        if t is not None:
            return _fold_time(op, t, rhs, tz)
    return None


def _fold_time(op: Op, lhs: TimeLiteral, rhs: Expr, tz) -> Optional[Expr]:
    R = type(rhs)
    if R is DurationLiteral or R is IntegerLiteral:
        if op is Op.ADD:
            return TimeLiteral(lhs.value + rhs.value)
        if op is Op.SUB:
            return TimeLiteral(lhs.value - rhs.value)
        return None
    if R is TimeLiteral:
        if op is Op.SUB:
            return DurationLiteral(_i64(lhs.value - rhs.value))
        return _compare(op, lhs.value, rhs.value)
    if R is StringLiteral:
        t = _as_time(rhs, tz)
        return _fold_time(op, lhs, t, tz) if t is not None else None
    if R is NilLiteral:
        return BooleanLiteral(False)
    return None


# ---------------------------------------------------------------------------------------------
# time ranges


@dataclass(frozen=True)
class TimeRange:
    """Inclusive bounds in ns; None is unbounded."""

    min: Optional[int] = None
    max: Optional[int] = None

    def intersect(self, other: "TimeRange") -> "TimeRange":
        lo = self.min if other.min is None else other.min if self.min is None else max(self.min, other.min)
        hi = self.max if other.max is None else other.max if self.max is None else min(self.max, other.max)
        return TimeRange(lo, hi)

    @property
    def is_unbounded(self) -> bool:
        return self.min is None and self.max is None

    @property
    def min_ns(self) -> int:
        """The lower bound, or :data:`MIN_TIME`."""
        return MIN_TIME if self.min is None else self.min

    @property
    def max_ns(self) -> int:
        """The upper bound, or :data:`MAX_TIME`."""
        return MAX_TIME if self.max is None else self.max


def is_time_ref(e: Expr) -> bool:
    """``time`` (any case, any cast)."""
    return isinstance(e, VarRef) and e.name.lower() == "time"


_FLIP = {Op.GT: Op.LT, Op.LT: Op.GT, Op.GTE: Op.LTE, Op.LTE: Op.GTE}


def condition_expr(
    cond: Optional[Expr], now_ns: Optional[int] = None, tz: Optional[str] = None
) -> tuple[Optional[Expr], TimeRange]:
    """Split ``cond`` into (condition without time terms, time range), as 1.x's ConditionExpr.

    Comparisons of ``time`` with a literal, a time string, ``now()`` arithmetic or a duration give
    bounds (``time > t`` -> ``min = t + 1``, ``time < t`` -> ``max = t - 1``, ``time = t`` -> both);
    everything else is kept (constant-folded) in the returned condition, which is None when nothing
    remains.  Raises :class:`ConditionError` for what 1.x refuses (``invalid time comparison
    operator: !=``, ``invalid operation: time and *influxql.StringLiteral are not compatible``,
    ``time ... overflows time literal``, ``invalid condition expression: ...``).
    """
    expr, tr = _condition(cond, now_ns, tz)
    if isinstance(expr, ParenExpr):
        expr = expr.expr
    if _is_bool(expr, True):
        expr = None
    return expr, tr


#: what a comparison of a field or tag with it reduces to: itself (_reduce keeps a leaf, and _fold
#: folds nothing whose left side is a reference)
_PLAIN = frozenset({StringLiteral, IntegerLiteral, NumberLiteral, UnsignedLiteral, BooleanLiteral, DurationLiteral,
                    TimeLiteral, NilLiteral, ast.RegexLiteral, VarRef})
_ANY_TIME = TimeRange()


def _condition(cond, now_ns, tz):
    if cond is None:
        return None, TimeRange()
    if isinstance(cond, BinaryExpr) and cond.op in (Op.AND, Op.OR):
        spine, base = _left_spine(cond, (Op.AND, Op.OR))
        expr, tr = _condition(base, now_ns, tz)
        for node in reversed(spine):
            re_, rt = _condition(node.rhs, now_ns, tz)
            tr = tr.intersect(rt)  # even under OR, as 1.x does
            if re_ is None:
                continue
            expr = re_ if expr is None else _combine(node.op, expr, re_, tz)
        return expr, tr
    if isinstance(cond, BinaryExpr):
        if is_time_ref(cond.lhs):
            return None, _time_bound(cond.op, cond.rhs, now_ns, tz)
        if is_time_ref(cond.rhs):
            return None, _time_bound(_FLIP.get(cond.op, cond.op), cond.lhs, now_ns, tz)
        if type(cond.lhs) is VarRef and type(cond.rhs) in _PLAIN:
            return cond, _ANY_TIME   # (what _reduce gives: nothing folds, the node is kept)
        return _reduce(cond, now_ns, tz), _ANY_TIME
    if isinstance(cond, ParenExpr):
        e, tr = _condition(cond.expr, now_ns, tz)
        if e is None:
            return None, tr
        return (ParenExpr(e) if isinstance(e, BinaryExpr) else e), tr
    if isinstance(cond, BooleanLiteral):
        return cond, TimeRange()
    raise ConditionError(f"invalid condition expression: {cond}")


_GO_TYPE = {
    StringLiteral: "*influxql.StringLiteral",
    BooleanLiteral: "*influxql.BooleanLiteral",
    VarRef: "*influxql.VarRef",
    Call: "*influxql.Call",
    BinaryExpr: "*influxql.BinaryExpr",
    ParenExpr: "*influxql.ParenExpr",
    ast.RegexLiteral: "*influxql.RegexLiteral",
    UnsignedLiteral: "*influxql.UnsignedLiteral",
    NilLiteral: "*influxql.NilLiteral",
    ast.Wildcard: "*influxql.Wildcard",
    ast.Distinct: "*influxql.Distinct",
}


def _time_bound(op: Op, rhs: Expr, now_ns, tz) -> TimeRange:
    if type(rhs) is not DurationLiteral and type(rhs) is not IntegerLiteral:   # (those reduce to themselves)
        if isinstance(rhs, StringLiteral) and is_time_string(rhs.value):
            rhs = TimeLiteral(string_to_time(rhs.value, tz))
        rhs = reduce(rhs, now_ns, tz)
    if isinstance(rhs, TimeLiteral):
        v = rhs.value
        if v > MAX_TIME:
            raise ConditionError(f"time {_rfc3339_seconds(v)} overflows time literal")
        if v < MIN_TIME + 1:
            raise ConditionError(f"time {_rfc3339_seconds(v)} underflows time literal")
    elif isinstance(rhs, (DurationLiteral, IntegerLiteral)):
        v = rhs.value
    elif isinstance(rhs, NumberLiteral):
        v = _f2i(rhs.value)
    else:
        name = _GO_TYPE.get(type(rhs), "*influxql." + type(rhs).__name__)
        raise ConditionError(f"invalid operation: time and {name} are not compatible")
    if op is Op.GT:
        return TimeRange(min=v + 1)
    if op is Op.GTE:
        return TimeRange(min=v)
    if op is Op.LT:
        return TimeRange(max=v - 1)
    if op is Op.LTE:
        return TimeRange(max=v)
    if op is Op.EQ:
        return TimeRange(v, v)
    raise ConditionError(f"invalid time comparison operator: {op.value}")


def _rfc3339_seconds(ns: int) -> str:
    try:
        return (_EPOCH + timedelta(microseconds=ns // 1000)).strftime("%Y-%m-%dT%H:%M:%SZ")
    except OverflowError:
        return str(ns)


def time_range(
    cond: Optional[Expr], now_ns: Optional[int] = None, tz: Optional[str] = None
) -> tuple[Optional[int], Optional[int]]:
    """(min_ns, max_ns) of the time terms of ``cond`` (inclusive; None when unbounded)."""
    _, tr = condition_expr(cond, now_ns, tz)
    return tr.min, tr.max


def has_time_expr(e: Optional[Expr]) -> bool:
    """True when a comparison with ``time`` on its left appears under AND/OR/parentheses (1.x's
    HasTimeExpr, used to refuse time conditions in SHOW statements)."""
    stack = [e]
    while stack:
        e = stack.pop()
        if isinstance(e, BinaryExpr):
            if e.op in (Op.AND, Op.OR):
                stack.extend((e.rhs, e.lhs))
            elif is_time_ref(e.lhs):
                return True
        elif isinstance(e, ParenExpr):
            stack.append(e.expr)
    return False


def _and_terms(e: Expr) -> list[Expr]:
    terms, stack = [], [e]
    while stack:
        e = stack.pop()
        while isinstance(e, ParenExpr) and isinstance(e.expr, BinaryExpr) and e.expr.op is Op.AND:
            e = e.expr
        if isinstance(e, BinaryExpr) and e.op is Op.AND:
            stack.extend((e.rhs, e.lhs))
        else:
            terms.append(e)
    return terms


def _and(terms: list[Expr]) -> Optional[Expr]:
    out = None
    for t in terms:
        out = t if out is None else BinaryExpr(Op.AND, out, t)
    return out


def _mentions_time(e: Expr) -> bool:
    return any(is_time_ref(n) for n in ast.walk(e))


def split_condition(cond: Optional[Expr]) -> tuple[Optional[Expr], Optional[Expr]]:
    """Split the top-level AND terms of ``cond`` into (terms that mention ``time``, the others),
    each re-joined with AND (None when empty).  Purely syntactic; see :func:`condition_expr` for
    the evaluated split."""
    if cond is None:
        return None, None
    time_terms, other = [], []
    for t in _and_terms(cond):
        (time_terms if _mentions_time(t) else other).append(t)
    return _and(time_terms), _and(other)
