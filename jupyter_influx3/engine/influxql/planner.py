"""Planning a SELECT: 1.x's compile and prepare steps over our catalog.

:func:`prepare_select` takes a parsed :class:`~.ast.SelectStatement` and returns a
:class:`PreparedSelect`:

* the WHERE clause split into the time range and the rest (1.x's ``ConditionExpr``), with the
  range's open ends resolved (an unbounded end of a ``GROUP BY time()`` query is ``now()``);
* the statement checked with 1.x's rules and error texts (``mixing aggregate and non-aggregate
  queries is not supported``, ``GROUP BY requires at least one aggregate function``, argument
  checks of every function, ``invalid function call in condition``...);
* the sources resolved (regex measurements, ``db.rp.m``, subqueries planned recursively with the
  parent's time range and interval);
* wildcards expanded (``*``, ``*::field``, ``/regex/``, ``mean(*)``, ``GROUP BY *``) and every
  field reference typed from the catalog (1.x's ``RewriteFields``);
* the output column names (``mean``, ``mean_1``, ``last_usage_idle``...).

It plans only; :mod:`.select` runs the plan.
"""

from __future__ import annotations

import operator
from dataclasses import dataclass, field
from typing import Any, Callable, Optional

from . import ast
from .ast import (BinaryExpr, Call, Dimension, Distinct, DurationLiteral, Field, FillOption,
                  IntegerLiteral, Literal, Measurement, NumberLiteral, ParenExpr, RegexLiteral,
                  SelectStatement, StringLiteral, SubQuery, VarRef, Wildcard)
from .condition import MAX_TIME, MIN_TIME, ConditionError, condition_expr, reduce
from .functions import MATH_FUNCTIONS

__all__ = ["PlanError", "MeasurementInfo", "PreparedSelect", "Source", "prepare_select",
           "infer_type", "SELECTORS", "AGGREGATES", "TRANSFORMS"]


class PlanError(ValueError):
    """A statement 1.x refuses while compiling or preparing (``str()`` is 1.x's message)."""


#: catalog column types -> InfluxQL type names
CATALOG_TYPES = {"float": "float", "int": "integer", "uint": "unsigned", "string": "string", "bool": "boolean"}

SELECTORS = frozenset(["first", "last", "min", "max", "percentile", "sample", "top", "bottom"])
AGGREGATES = frozenset(["count", "sum", "mean", "median", "mode", "stddev", "spread", "distinct",
                        "integral", "first", "last", "min", "max", "percentile", "sample", "top",
                        "bottom"])
TA_FUNCTIONS = frozenset(["exponential_moving_average", "double_exponential_moving_average",
                          "triple_exponential_moving_average", "relative_strength_index",
                          "triple_exponential_derivative", "kaufmans_efficiency_ratio",
                          "kaufmans_adaptive_moving_average", "chande_momentum_oscillator"])
TRANSFORMS = frozenset(["derivative", "non_negative_derivative", "difference", "non_negative_difference",
                        "moving_average", "cumulative_sum", "elapsed", "holt_winters",
                        "holt_winters_with_fit"]) | TA_FUNCTIONS

# 1.x's DataType ordering for merging the types of one name across sources
_PRIORITY = {None: -1, "boolean": 0, "string": 1, "unsigned": 2, "integer": 3, "float": 4, "tag": -0.5}


def _better(a: Optional[str], b: Optional[str]) -> Optional[str]:
    """1.x's ``if a.LessThan(b) { a = b }``."""
    if a is None:
        return b
    if b is None:
        return a
    # Tag sits between unknown and the field types in 1.x's LessThan
    return b if _PRIORITY[b] > _PRIORITY[a] else a


@dataclass
class MeasurementInfo:
    """A measurement (table) of a database as the planner sees it."""

    name: str
    database: Any            # catalog Database
    table: Any               # catalog Table
    fields: dict[str, str]   # field -> influxql type
    tags: list[str]          # tag keys, sorted

    def map_type(self, name: str) -> Optional[str]:
        if name in self.fields:
            return self.fields[name]
        if name in self.tags:
            return "tag"
        return None


@dataclass
class Source:
    """A resolved FROM item: measurements (a name or a regex may give several, or none) or a
    prepared subquery."""

    measurements: list[MeasurementInfo] = field(default_factory=list)
    subquery: Optional["PreparedSelect"] = None


@dataclass
class PreparedSelect:
    stmt: SelectStatement            # rewritten: wildcards expanded, refs typed, time fields removed
    sources: list[Source]
    condition: Optional[ast.Expr]    # WHERE without the time terms
    start: int                       # inclusive, ns
    end: int                         # inclusive, ns
    interval: int
    offset: int
    ascending: bool
    fill: FillOption
    fill_value: Any
    location: Optional[str]
    time_name: str
    columns: list[str]
    dimensions: list[str]            # GROUP BY tag keys
    omit_time: bool = False
    extra_intervals: int = 0
    inherited_interval: bool = False
    types: dict = field(default_factory=dict)   # id(VarRef) -> type
    max_select_buckets: int = 0
    now_ns: int = 0
    #: lower bound of the rows read (max-select-buckets may raise it above ``start``)
    read_start: int = MIN_TIME
    #: what runs work out from the plan alone (see select._Run.from_plan); shared by the copies
    #: a reused plan is run as, never by a replanned one (a new dict)
    memo: dict = field(default_factory=dict, init=False, repr=False, compare=False)

    @property
    def is_raw(self) -> bool:
        # kept on the (immutable) statement: asked on every run of a reused plan
        return ast.shape_memo(self.stmt, "_is_raw", lambda: not any(
            isinstance(n, Call) and n.name not in MATH_FUNCTIONS for f in self.stmt.fields for n in ast.walk(f)))

    def ref_type(self, ref: VarRef) -> Optional[str]:
        try:
            return self.types[id(ref)]
        except KeyError:
            return _explicit(ref)


_EXPLICIT = {"float": "float", "integer": "integer", "unsigned": "unsigned", "string": "string",
             "boolean": "boolean", "tag": "tag", "field": "field"}


def _explicit(ref: VarRef) -> Optional[str]:
    t = ref.type
    if t is None:
        return None
    return _EXPLICIT[t.value]


@dataclass
class PlanContext:
    """What the planner needs from the executor."""

    now_ns: int
    resolve: Callable[[Measurement], list[MeasurementInfo]]
    max_select_buckets: int = 0


# ---------------------------------------------------------------------------------------------
# compile (1.x query/compile.go)


class _Compiler:
    def __init__(self, ctx: PlanContext):
        self.ctx = ctx
        self.interval = 0
        self.offset = 0
        self.inherited_interval = False
        self.extra_intervals = 0
        self.ascending = True
        self.function_calls: list[Call] = []
        self.only_selectors = True
        self.has_distinct = False
        self.top_bottom: Optional[str] = None
        self.has_aux = False
        self.fields: list[Field] = []
        self.time_name = "time"
        self.limit = 0
        self.has_target = False
        self.fill = FillOption.NULL
        self.condition: Optional[ast.Expr] = None
        self.tmin: Optional[int] = None
        self.tmax: Optional[int] = None
        self.start = MIN_TIME
        self.end = MAX_TIME

    # -- preprocess
    def preprocess(self, stmt: SelectStatement) -> None:
        self.ascending = stmt.time_ascending
        self.limit = stmt.limit
        self.has_target = stmt.target is not None
        try:
            cond, tr = condition_expr(stmt.condition, self.ctx.now_ns, stmt.location)
        except ConditionError as e:
            raise PlanError(str(e)) from None
        self._validate_condition(cond)
        self.condition = cond
        self.tmin, self.tmax = tr.min, tr.max
        self._compile_dimensions(stmt)
        self.fill = stmt.fill
        self.start = MIN_TIME if self.tmin is None else self.tmin
        if self.tmax is None:
            self.end = self.ctx.now_ns if self.interval else MAX_TIME
        else:
            self.end = self.tmax

    def _validate_condition(self, expr) -> None:
        if isinstance(expr, BinaryExpr):
            self._validate_condition(expr.lhs)
            self._validate_condition(expr.rhs)
        elif isinstance(expr, ParenExpr):
            self._validate_condition(expr.expr)
        elif isinstance(expr, Call):
            if expr.name not in MATH_FUNCTIONS:
                raise PlanError(f"invalid function call in condition: {expr}")
            _check_nargs(expr.name, expr.args, 2 if expr.name in ("atan2", "pow") else 1)
            for a in expr.args:
                self._validate_condition(a)

    def _compile_dimensions(self, stmt: SelectStatement) -> None:
        """The GROUP BY time() interval and offset (PlanError for what 1.x refuses). They depend on
        the dimensions, the time zone and, for an offset of now(), the time: worked out once for a
        statement's shape when now() is not among them (a dashboard's new texts share the shape)."""
        if ast.shape_memo(stmt, "_dims_call_now", lambda: any(
                isinstance(n, Call) and n.name == "now" for d in stmt.dimensions for n in ast.walk(d.expr))):
            self._interval_offset(stmt)
        else:
            self.interval, self.offset = ast.shape_memo(stmt, "_interval_offset",
                                                        lambda: self._interval_offset(stmt))

    def _interval_offset(self, stmt: SelectStatement) -> tuple[int, int]:
        for d in stmt.dimensions:
            expr = reduce(d.expr, None)
            if isinstance(expr, VarRef):
                if expr.name.lower() == "time":
                    raise PlanError("time() is a function and expects at least one argument")
            elif isinstance(expr, Call):
                if expr.name != "time":
                    raise PlanError("only time() calls allowed in dimensions")
                if not 1 <= len(expr.args) <= 2:
                    raise PlanError("time dimension expected 1 or 2 arguments")
                if not isinstance(expr.args[0], DurationLiteral):
                    raise PlanError("time dimension must have duration argument")
                if self.interval:
                    raise PlanError("multiple time dimensions not allowed")
                self.interval = expr.args[0].value
                if self.interval <= 0:
                    if len(expr.args) == 2:
                        raise PlanError("time dimension must have duration argument")
                    # 1.x treats time(0s) (and a negative interval) as no time grouping
                    self.interval = 0
                    continue
                if len(expr.args) == 2:
                    off = expr.args[1]
                    if isinstance(off, DurationLiteral):
                        self.offset = _go_mod(off.value, self.interval)
                    elif isinstance(off, ast.TimeLiteral):
                        self.offset = _truncation_offset(off.value, self.interval)
                    elif isinstance(off, Call):
                        if off.name != "now":
                            raise PlanError("time dimension offset function must be now()")
                        if off.args:
                            raise PlanError("time dimension offset now() function requires no arguments")
                        self.offset = _truncation_offset(self.ctx.now_ns, self.interval)
                    elif isinstance(off, StringLiteral):
                        from .condition import is_time_string, string_to_time
                        if not is_time_string(off.value):
                            raise PlanError("time dimension offset must be duration or now()")
                        try:
                            t = string_to_time(off.value, stmt.location)
                        except ConditionError as e:
                            raise PlanError(str(e)) from None
                        self.offset = _truncation_offset(t, self.interval)
                    else:
                        raise PlanError("time dimension offset must be duration or now()")
            elif isinstance(expr, (Wildcard, RegexLiteral)):
                pass
            else:
                raise PlanError("only time and tag dimensions allowed")
        return self.interval, self.offset

    # -- fields
    def compile_fields(self, stmt: SelectStatement) -> None:
        for f in stmt.fields:
            e = f.expr
            if isinstance(e, VarRef) and e.name == "time":
                if f.alias:
                    self.time_name = f.alias
                continue
            e = _rewrite_distinct(_fold_math(reduce(e, None)))
            self.fields.append(Field(e, f.alias))
            self._cf_allow_wildcard = True
            self._compile_expr(e)

    def _compile_expr(self, expr) -> None:
        if isinstance(expr, VarRef):
            self.has_aux = True
            return
        if isinstance(expr, Wildcard):
            self.has_aux = True
            if not self._cf_allow_wildcard:
                raise PlanError("unable to use wildcard in a binary expression")
            return
        if isinstance(expr, RegexLiteral):
            if not self._cf_allow_wildcard:
                raise PlanError("unable to use regex in a binary expression")
            self.has_aux = True
            return
        if isinstance(expr, Call):
            if expr.name in MATH_FUNCTIONS:
                return self._compile_math(expr)
            self.function_calls.append(expr)
            n = expr.name
            if n == "percentile":
                return self._compile_percentile(expr.args)
            if n == "sample":
                return self._compile_sample(expr.args)
            if n == "distinct":
                return self._compile_distinct(expr.args, False)
            if n in ("top", "bottom"):
                return self._compile_top_bottom(expr)
            if n in ("derivative", "non_negative_derivative", "elapsed"):
                return self._compile_derivative(expr.args, n)
            if n in ("difference", "non_negative_difference", "cumulative_sum"):
                _check_nargs(n, expr.args, 1)
                return self._check_interval_arg(n, expr.args, 1)
            if n == "moving_average":
                return self._compile_moving_average(expr.args)
            if n in ("exponential_moving_average", "double_exponential_moving_average",
                     "triple_exponential_moving_average", "relative_strength_index",
                     "triple_exponential_derivative"):
                return self._compile_ta(n, expr.args, 4, ("exponential", "simple"))
            if n in ("kaufmans_efficiency_ratio", "kaufmans_adaptive_moving_average"):
                return self._compile_ta(n, expr.args, 3)
            if n == "chande_momentum_oscillator":
                return self._compile_ta(n, expr.args, 4, ("none", "exponential", "simple"))
            if n == "integral":
                return self._compile_integral(expr.args)
            if n in ("holt_winters", "holt_winters_with_fit"):
                return self._compile_holt_winters(expr.args, n)
            return self._compile_function(expr)
        if isinstance(expr, Distinct):
            call = expr.to_call()
            self.function_calls.append(call)
            return self._compile_distinct(call.args, False)
        if isinstance(expr, BinaryExpr):
            self._cf_allow_wildcard = False
            lhs_lit = isinstance(expr.lhs, Literal)
            rhs_lit = isinstance(expr.rhs, Literal)
            if lhs_lit and rhs_lit:
                raise PlanError("cannot perform a binary expression on two literals")
            if lhs_lit:
                return self._compile_expr(expr.rhs)
            if rhs_lit:
                return self._compile_expr(expr.lhs)
            self._compile_expr(expr.lhs)
            self._compile_expr(expr.rhs)
            return
        if isinstance(expr, ParenExpr):
            return self._compile_expr(expr.expr)
        if isinstance(expr, Literal):
            raise PlanError("field must contain at least one variable")
        raise PlanError("unimplemented")

    def _compile_nested(self, expr) -> None:
        if isinstance(expr, Call) and expr.name == "distinct":
            return self._compile_distinct(expr.args, True)
        if isinstance(expr, Distinct):
            return self._compile_distinct(expr.to_call().args, True)
        return self._compile_expr(expr)

    def _compile_symbol(self, name: str, f) -> None:
        if isinstance(f, VarRef):
            return
        if isinstance(f, (Wildcard, RegexLiteral)):
            if not self._cf_allow_wildcard:
                what = "wildcard" if isinstance(f, Wildcard) else "regex field"
                raise PlanError(f"unsupported expression with {what}: {name}()")
            self.only_selectors = False
            return
        raise PlanError(f"expected field argument in {name}()")

    def _compile_function(self, expr: Call) -> None:
        n = expr.name
        if n in ("max", "min", "first", "last"):
            pass
        elif n in ("count", "sum", "mean", "median", "mode", "stddev", "spread"):
            self.only_selectors = False
        else:
            raise PlanError(f"undefined function {n}()")
        _check_nargs(n, expr.args, 1)
        if n == "count":
            a0 = expr.args[0]
            if isinstance(a0, Call) and a0.name == "distinct":
                return self._compile_distinct(a0.args, True)
            if isinstance(a0, Distinct):
                return self._compile_distinct(a0.to_call().args, True)
        return self._compile_symbol(n, expr.args[0])

    def _compile_percentile(self, args) -> None:
        _check_nargs("percentile", args, 2)
        if not isinstance(args[1], (IntegerLiteral, NumberLiteral)):
            raise PlanError("expected float argument in percentile()")
        return self._compile_symbol("percentile", args[0])

    def _compile_sample(self, args) -> None:
        _check_nargs("sample", args, 2)
        a1 = args[1]
        if not isinstance(a1, IntegerLiteral):
            raise PlanError("expected integer argument in sample()")
        if a1.value <= 0:
            raise PlanError(f"sample window must be greater than 1, got {a1.value}")
        return self._compile_symbol("sample", args[0])

    def _check_interval_arg(self, name: str, args, extra: int, nested: bool = True) -> None:
        """The first argument of a transformation: a call (which needs GROUP BY time; ``nested``
        compiles it as 1.x's compileNestedExpr, else as a field expression) or a field (which must
        not have one).  ``extra`` is how many intervals before the range the function needs."""
        self.only_selectors = False
        if self.extra_intervals < extra:
            self.extra_intervals = extra
        a0 = args[0]
        if isinstance(a0, Call):
            if not self.interval:
                raise PlanError(f"{name} aggregate requires a GROUP BY interval")
            return self._compile_nested(a0) if nested else self._compile_expr(a0)
        if self.interval and not self.inherited_interval:
            raise PlanError(f"aggregate function required inside the call to {name}")
        return self._compile_symbol(name, a0)

    def _compile_derivative(self, args, name: str) -> None:
        """derivative(), non_negative_derivative() and elapsed(): a field or call, then an optional
        positive duration."""
        _check_nargs(name, args, 1, 2)
        _check_duration_arg(args, name)
        return self._check_interval_arg(name, args, 1)

    def _compile_moving_average(self, args) -> None:
        _check_nargs("moving_average", args, 2)
        a1 = args[1]
        if not isinstance(a1, IntegerLiteral):
            raise PlanError(f"second argument for moving_average must be an integer, got {_go_type(a1)}")
        if a1.value <= 1:
            raise PlanError(f"moving_average window must be greater than 1, got {a1.value}")
        return self._check_interval_arg("moving_average", args, a1.value)

    def _compile_ta(self, name: str, args, max_args: int, warmups: tuple[str, ...] = ()) -> None:
        """The technical-analysis functions: a field or call, a period, then an optional hold
        period and (where ``max_args`` is 4) a warmup type among ``warmups``."""
        _check_nargs(name, args, 2, max_args)
        a1 = args[1]
        if not isinstance(a1, IntegerLiteral):
            raise PlanError(f"{name} period must be an integer")
        if a1.value < 1:
            raise PlanError(f"{name} period must be greater than or equal to 1")
        if len(args) >= 3:
            a2 = args[2]
            if not isinstance(a2, IntegerLiteral):
                raise PlanError(f"{name} hold period must be an integer")
            if name == "triple_exponential_derivative" and a2.value < 1 and a2.value != -1:
                raise PlanError(f"{name} hold period must be greater than or equal to 1")
            if a2.value < 0 and a2.value != -1:
                raise PlanError(f"{name} hold period must be greater than or equal to 0")
        if len(args) >= 4:
            a3 = args[3]
            if not isinstance(a3, StringLiteral):
                raise PlanError(f"{name} warmup type must be a string")
            if a3.value not in warmups:
                choices = " ".join(f"'{w}'" for w in warmups)
                raise PlanError(f"{name} warmup type must be one of: {choices}")
        return self._check_interval_arg(name, args, a1.value, nested=False)

    def _compile_integral(self, args) -> None:
        _check_nargs("integral", args, 1, 2)
        _check_duration_arg(args, None)
        self.only_selectors = False
        return self._compile_symbol("integral", args[0])

    def _compile_holt_winters(self, args, name: str) -> None:
        _check_nargs(name, args, 3)
        n = args[1]
        if not isinstance(n, IntegerLiteral):
            raise PlanError(f"expected integer argument as second arg in {name}")
        if n.value <= 0:
            raise PlanError(f"second arg to {name} must be greater than 0, got {n.value}")
        s = args[2]
        if not isinstance(s, IntegerLiteral):
            raise PlanError(f"expected integer argument as third arg in {name}")
        if s.value < 0:
            raise PlanError(f"third arg to {name} cannot be negative, got {s.value}")
        self.only_selectors = False
        call = args[0]
        if not isinstance(call, Call):
            raise PlanError(f"must use aggregate function with {name}")
        if not self.interval:
            raise PlanError(f"{name} aggregate requires a GROUP BY interval")
        return self._compile_nested(call)

    def _compile_distinct(self, args, nested: bool) -> None:
        if len(args) == 0:
            raise PlanError("distinct function requires at least one argument")
        if len(args) != 1:
            raise PlanError("distinct function can only have one argument")
        if not isinstance(args[0], VarRef):
            raise PlanError("expected field argument in distinct()")
        if not nested:
            self.has_distinct = True
        self.only_selectors = False

    def _compile_top_bottom(self, call: Call) -> None:
        if self.top_bottom is not None:
            raise PlanError(f"selector function {self.top_bottom}() cannot be combined with other functions")
        if len(call.args) < 2:
            raise PlanError(f"invalid number of arguments for {call.name}, expected at least 2, got {len(call.args)}")
        limit = call.args[-1]
        if not isinstance(limit, IntegerLiteral):
            raise PlanError(f"expected integer as last argument in {call.name}(), found {limit}")
        if limit.value <= 0:
            raise PlanError(f"limit ({limit.value}) in {call.name} function must be at least 1")
        if self.limit > 0 and limit.value > self.limit:
            raise PlanError(f"limit ({limit.value}) in {call.name} function can not be larger than the LIMIT ({self.limit}) in the select statement")
        if not isinstance(call.args[0], VarRef):
            raise PlanError(f"expected first argument to be a field in {call.name}(), found {call.args[0]}")
        for v in call.args[1:-1]:
            if not isinstance(v, VarRef):
                raise PlanError(f"only fields or tags are allowed in {call.name}(), found {v}")
            if not self.has_target:
                self.has_aux = True
        self.top_bottom = call.name

    def _compile_math(self, expr: Call) -> None:
        _check_nargs(expr.name, expr.args, MATH_FUNCTIONS[expr.name])
        for a in expr.args:
            if isinstance(a, Literal):
                continue
            self._compile_expr(a)

    def validate_fields(self) -> None:
        if not self.fields:
            raise PlanError("at least 1 non-time field must be queried")
        if len(self.function_calls) > 1 and self.top_bottom:
            raise PlanError(f"selector function {self.top_bottom}() cannot be combined with other functions")
        if not self.function_calls:
            if self.fill is FillOption.NONE:
                raise PlanError("fill(none) must be used with a function")
            if self.fill is FillOption.LINEAR:
                raise PlanError("fill(linear) must be used with a function")
            if self.interval and not self.inherited_interval:
                raise PlanError("GROUP BY requires at least one aggregate function")
        if self.has_distinct and (len(self.function_calls) != 1 or self.has_aux):
            raise PlanError("aggregate function distinct() cannot be combined with other functions or fields")
        if self.has_aux:
            if not self.only_selectors:
                raise PlanError("mixing aggregate and non-aggregate queries is not supported")
            if len(self.function_calls) > 1:
                raise PlanError("mixing multiple selector functions with tags or fields is not supported")


def _rewrite_distinct(e):
    """1.x's RewriteDistinct: ``DISTINCT x`` becomes ``distinct(x)``."""
    if isinstance(e, Distinct):
        return e.to_call()
    if isinstance(e, Call):
        return Call(e.name, tuple(_rewrite_distinct(a) for a in e.args))
    if isinstance(e, BinaryExpr):
        return BinaryExpr(e.op, _rewrite_distinct(e.lhs), _rewrite_distinct(e.rhs))
    if isinstance(e, ParenExpr):
        return ParenExpr(_rewrite_distinct(e.expr))
    return e


def _fold_math(e):
    """1.x reduces fields with its MathValuer: math functions of literals become literals."""
    if isinstance(e, Call):
        args = tuple(_fold_math(a) for a in e.args)
        e = Call(e.name, args)
        if e.name in MATH_FUNCTIONS and args and all(isinstance(a, (IntegerLiteral, NumberLiteral)) for a in args):
            from .functions import Vec, math_call
            vecs = [Vec.const(a.value, 1) for a in args]
            r = math_call(e.name, vecs)
            if r.valid[0]:
                v = r.data[0]
                if r.kind == "float":
                    return NumberLiteral(float(v))
                if r.kind == "integer":
                    return IntegerLiteral(int(v))
        return e
    if isinstance(e, BinaryExpr):
        l, r = _fold_math(e.lhs), _fold_math(e.rhs)
        out = BinaryExpr(e.op, l, r)
        if isinstance(l, Literal) and isinstance(r, Literal):
            return reduce(out, None)
        return out
    if isinstance(e, ParenExpr):
        inner = _fold_math(e.expr)
        return inner if isinstance(inner, Literal) else ParenExpr(inner)
    return e


def _check_nargs(name: str, args, lo: int, hi: Optional[int] = None) -> None:
    """1.x's error for a call with fewer than ``lo`` or more than ``hi`` (default ``lo``) arguments."""
    hi = lo if hi is None else hi
    if not lo <= len(args) <= hi:
        want = str(lo) if lo == hi else f"at least {lo} but no more than {hi}"
        raise PlanError(f"invalid number of arguments for {name}, expected {want}, got {len(args)}")


def _check_duration_arg(args, name: Optional[str]) -> None:
    """An optional second argument that must be a positive duration.  1.x names the function and
    the type found when it is not a duration, except for integral() (``name`` None)."""
    if len(args) == 2:
        a1 = args[1]
        if not isinstance(a1, DurationLiteral):
            if name is None:
                raise PlanError("second argument must be a duration")
            raise PlanError(f"second argument to {name} must be a duration, got {_go_type(a1)}")
        if a1.value <= 0:
            raise PlanError(f"duration argument must be positive, got {a1}")


def _go_type(e) -> str:
    return "*influxql." + type(e).__name__


def _go_mod(a: int, b: int) -> int:
    if b == 0:
        return 0
    r = abs(a) % abs(b)
    return -r if a < 0 else r


def _truncation_offset(t: int, interval: int) -> int:
    """Go's ``t.Sub(t.Truncate(interval))``: Truncate counts from the zero time (year 1)."""
    return (t + 62135596800 * 1_000_000_000) % interval


# ---------------------------------------------------------------------------------------------
# prepare


def prepare_select(stmt: SelectStatement, ctx: PlanContext, parent: Optional[_Compiler] = None,
                   is_subquery: bool = False) -> PreparedSelect:
    """Compile, resolve and rewrite one SELECT (1.x's Compile + Prepare).  Raises PlanError."""
    c = _Compiler(ctx)
    c.preprocess(stmt)
    if parent is not None:
        # subquery: inherit from the parent (1.x's compiledStatement.subquery)
        if stmt.sort_fields and c.ascending != parent.ascending:
            raise PlanError("subqueries must be ordered in the same direction as the query itself")
        c.ascending = parent.ascending
        c.start, c.end = max(c.start, parent.start), min(c.end, parent.end)
        if c.interval and c.fill is FillOption.NULL:
            c.fill = FillOption.NONE
        if parent.interval and not c.interval:
            c.interval = parent.interval
            c.offset = parent.offset
            c.inherited_interval = True
    c.compile_fields(stmt)
    c.validate_fields()

    # resolve the sources (subqueries prepared with this statement as their parent)
    sources: list[Source] = []
    for src in stmt.sources:
        if isinstance(src, SubQuery):
            sub = prepare_select(src.statement, ctx, c, is_subquery=True)
            sources.append(Source(subquery=sub))
        else:
            sources.append(Source(measurements=ctx.resolve(src)))

    # statement with the time fields removed and the reduced expressions
    fields = tuple(c.fields)
    rewritten = ast.replaced(stmt, fields=fields, condition=c.condition)
    rewritten = _rewrite_fields(rewritten, sources)

    # derive the time range used for reads (extra intervals for derivative & co.)
    prepared = PreparedSelect(
        stmt=rewritten, sources=sources, condition=c.condition, start=c.start, end=c.end,
        interval=c.interval, offset=c.offset, ascending=c.ascending, fill=c.fill,
        fill_value=stmt.fill_value, location=stmt.location, time_name=c.time_name,
        columns=[], dimensions=[], omit_time=is_subquery, extra_intervals=c.extra_intervals,
        inherited_interval=c.inherited_interval, max_select_buckets=ctx.max_select_buckets,
        now_ns=ctx.now_ns)
    _type_refs(prepared)
    _validate_types(prepared)
    prepared.dimensions = [d.expr.name for d in rewritten.dimensions if isinstance(d.expr, VarRef)]
    prepared.columns = rewritten.column_names(c.time_name)
    if is_subquery:
        prepared.columns = prepared.columns[1:]
    return prepared


def replanned(p0: PreparedSelect, stmt: SelectStatement, ctx: PlanContext) -> Optional[PreparedSelect]:
    """The plan ``prepare_select(stmt, ctx)`` gives, made from ``p0``: the plan of a statement that
    differs from ``stmt`` in its WHERE alone (a dashboard's query with a new time range or host,
    see shapes.py), made for the same catalog. Only what the WHERE decides is worked out again
    (preprocess: the condition without its time terms, the time range, and the dimensions and
    their now()); the fields, sources and types are the same. None where that does not hold (a
    subquery inherits the range, so it is planned whole). Raises PlanError as prepare_select."""
    if any(src.subquery is not None for src in p0.sources):
        return None
    c = _Compiler(ctx)
    c.preprocess(stmt)
    if c.interval != p0.interval:
        return None   # (one of the two plans' dimensions read now(): planned whole)
    stmt1 = ast.replaced(p0.stmt, condition=c.condition)
    ast.memo(stmt1, ast.LIKE, lambda: p0.stmt)   # (its fields are p0's: see ast.shape_memo)
    # p0 with what the WHERE decides made again: its condition's types (see _retype_condition),
    # read_start (raised by the bucket check), its lists (runs change them) and its memo (a new
    # one: see PreparedSelect.memo). (Its fields copied, not dataclasses.replace: that __init__
    # costs a new text ~5 µs.)
    p = object.__new__(PreparedSelect)
    p.__dict__.update(p0.__dict__)
    p.__dict__.update(stmt=stmt1, condition=c.condition, start=c.start, end=c.end, offset=c.offset,
                      ascending=c.ascending, columns=list(p0.columns), dimensions=list(p0.dimensions),
                      types=dict(p0.types), max_select_buckets=ctx.max_select_buckets,
                      now_ns=ctx.now_ns, read_start=MIN_TIME, memo={})
    _retype_condition(p0, p)
    return p


def _retype_condition(p0: PreparedSelect, p: PreparedSelect) -> None:
    """Types of ``p``, replanned from ``p0`` (``p.types`` a copy of p0's), for its own condition.
    The fields' references are the same nodes in both and keep their types. So do the
    condition's when they are p0's very nodes (the usual case: a new time range or tag value
    only makes new literal nodes); else p0's are dropped (an entry of a node the plan does not
    hold would be stale once that node is freed: its id may be a new node's) and the new ones
    typed. (p0's references are kept in its memo: it plans every new text of its shape.)"""
    old = p0.memo.get(_REFS)
    if old is None:
        old = p0.memo[_REFS] = _condition_refs(p0.condition)
    new = _condition_refs(p.condition)
    if len(old) == len(new) and all(map(operator.is_, old, new)):
        return
    for n in old:
        p.types.pop(id(n), None)
    if p.condition is not None:
        _type_refs(p, (p.condition,))


#: a plan's memo: its condition's references (see _retype_condition)
_REFS = "condition refs"


def _condition_refs(cond) -> tuple:
    return () if cond is None else tuple(n for n in ast.walk(cond) if type(n) is VarRef)


# ---------------------------------------------------------------------------------------------
# wildcard expansion and typing (1.x's RewriteFields)


def _source_fields(sources: list[Source]) -> tuple[dict[str, str], set[str]]:
    """FieldDimensions: field name -> merged type, and the tag keys, over all sources."""
    fields: dict[str, str] = {}
    dims: set[str] = set()
    for s in sources:
        if s.subquery is not None:
            sq = s.subquery
            for name, typ in _subquery_columns(sq).items():
                if typ == "tag":
                    dims.add(name)
                    continue
                fields[name] = _better(fields.get(name), typ)
            dims.update(sq.dimensions)
        else:
            for m in s.measurements:
                for k, t in m.fields.items():
                    fields[k] = _better(fields.get(k), t)
                dims.update(m.tags)
    return fields, dims


def _subquery_columns(sq: PreparedSelect) -> dict[str, Optional[str]]:
    out = {}
    stmt = sq.stmt
    names = stmt.column_names(sq.time_name)[1:]
    exprs = [f.expr for f in stmt.fields]
    # top()/bottom() add their tag arguments as columns
    for f in stmt.fields:
        e = f.expr
        if isinstance(e, Call) and e.name in ("top", "bottom"):
            exprs.extend(a for a in e.args[1:-1])
    for name, e in zip(names, exprs):
        out[name] = infer_type(e, sq)
    return out


def infer_type(e, prepared: PreparedSelect) -> Optional[str]:
    """1.x's EvalType with the function and math type mappers."""
    if isinstance(e, VarRef):
        t = prepared.ref_type(e)
        if t == "field":
            return None
        return t
    if isinstance(e, Call):
        if e.name in MATH_FUNCTIONS:
            if e.name in ("abs", "floor", "ceil", "round"):
                return infer_type(e.args[0], prepared) if e.args else None
            return "float"
        n = e.name
        if n == "mean":
            return "float"
        if n == "count":
            return "integer"
        if n in ("median", "integral", "stddev", "derivative", "non_negative_derivative", "moving_average",
                 "holt_winters", "holt_winters_with_fit") or n in TA_FUNCTIONS:
            return "float"
        if n == "elapsed":
            return "integer"
        if n == "distinct" and e.args:
            return infer_type(e.args[0], prepared)
        return infer_type(e.args[0], prepared) if e.args else None
    if isinstance(e, Distinct):
        return infer_type(VarRef(e.name), prepared)
    if isinstance(e, ParenExpr):
        return infer_type(e.expr, prepared)
    if isinstance(e, BinaryExpr):
        lt, rt = infer_type(e.lhs, prepared), infer_type(e.rhs, prepared)
        if e.op.is_comparison or e.op.is_logical:
            return "boolean"
        if e.op is ast.Op.DIV and lt in ("integer", "unsigned") and rt in ("integer", "unsigned"):
            return "float"
        return _better(lt, rt) if lt != "tag" and rt != "tag" else None
    if isinstance(e, IntegerLiteral):
        return "integer"
    if isinstance(e, NumberLiteral):
        return "float"
    if isinstance(e, StringLiteral):
        return "string"
    if isinstance(e, ast.BooleanLiteral):
        return "boolean"
    if isinstance(e, ast.UnsignedLiteral):
        return "unsigned"
    return None


def _rewrite_fields(stmt: SelectStatement, sources: list[Source]) -> SelectStatement:
    has_field_wc = any(isinstance(n, (Wildcard, RegexLiteral)) for f in stmt.fields for n in ast.walk(f))
    has_dim_wc = any(isinstance(d.expr, (Wildcard, RegexLiteral)) for d in stmt.dimensions)
    if not has_field_wc and not has_dim_wc:
        return stmt
    field_set, dim_set = _source_fields(sources)
    if not has_dim_wc:
        for d in stmt.dimensions:
            if isinstance(d.expr, VarRef):
                dim_set.discard(d.expr.name)
    refs: list[tuple[str, str]] = []
    if field_set:
        refs = [(k, t) for k, t in field_set.items()]
        if not has_dim_wc:
            refs += [(k, "tag") for k in dim_set]
            dim_set = set()
        refs.sort(key=lambda r: (r[0], _TYPE_ORDER.get(r[1], 0)))
    dimensions = sorted(dim_set)
    fields = list(stmt.fields)
    if has_field_wc:
        out: list[Field] = []
        for f in fields:
            e = f.expr
            if isinstance(e, Wildcard):
                for name, typ in refs:
                    if e.type is ast.DataType.FIELD and typ == "tag":
                        continue
                    if e.type is ast.DataType.TAG and typ != "tag":
                        continue
                    out.append(Field(_typed_ref(name, typ)))
            elif isinstance(e, RegexLiteral):
                rx = e.compile()
                for name, typ in refs:
                    if rx.search(name):
                        out.append(Field(_typed_ref(name, typ)))
            elif isinstance(e, Call):
                inner = e
                path = []
                while inner.args and isinstance(inner.args[0], Call):
                    path.append(inner)
                    inner = inner.args[0]
                if not inner.args:
                    out.append(f)
                    continue
                a0 = inner.args[0]
                rx = None
                if isinstance(a0, Wildcard):
                    if a0.type is ast.DataType.TAG:
                        raise PlanError(f"unable to use tag wildcard in {inner.name}()")
                elif isinstance(a0, RegexLiteral):
                    rx = a0.compile()
                else:
                    out.append(f)
                    continue
                supported = {"float", "integer", "unsigned"}
                if inner.name in ("count", "first", "last", "distinct", "elapsed", "mode", "sample"):
                    supported |= {"string", "boolean"}
                elif inner.name in ("min", "max"):
                    supported |= {"boolean"}
                elif inner.name in ("holt_winters", "holt_winters_with_fit"):
                    supported.discard("unsigned")
                for name, typ in refs:
                    if typ == "tag" or typ not in supported:
                        continue
                    if rx is not None and not rx.search(name):
                        continue
                    new_inner = Call(inner.name, (_typed_ref(name, typ),) + tuple(inner.args[1:]))
                    expr = new_inner
                    for outer in reversed(path):
                        expr = Call(outer.name, (expr,) + tuple(outer.args[1:]))
                    out.append(Field(expr, f"{f.name}_{name}"))
            elif isinstance(e, BinaryExpr):
                wc = any(isinstance(n, Wildcard) for n in ast.walk(e))
                rxs = any(isinstance(n, RegexLiteral) for n in ast.walk(e))
                if wc:
                    raise PlanError(f"unsupported expression with wildcard: {e}")
                if rxs:
                    raise PlanError(f"unsupported expression with regex field: {e}")
                out.append(f)
            else:
                out.append(f)
        fields = out
    dims = list(stmt.dimensions)
    if has_dim_wc:
        nd: list[Dimension] = []
        for d in dims:
            if isinstance(d.expr, Wildcard):
                nd.extend(Dimension(VarRef(n)) for n in dimensions)
            elif isinstance(d.expr, RegexLiteral):
                rx = d.expr.compile()
                nd.extend(Dimension(VarRef(n)) for n in dimensions if rx.search(n))
            else:
                nd.append(d)
        dims = nd
    return ast.replaced(stmt, fields=tuple(fields), dimensions=tuple(dims))


_TYPE_ORDER = {"float": 1, "integer": 2, "string": 3, "boolean": 4, "tag": 7, "unsigned": 9}
_DT = {"float": ast.DataType.FLOAT, "integer": ast.DataType.INTEGER, "unsigned": ast.DataType.UNSIGNED,
       "string": ast.DataType.STRING, "boolean": ast.DataType.BOOLEAN, "tag": ast.DataType.TAG}


def _typed_ref(name: str, typ: str) -> VarRef:
    return VarRef(name, _DT.get(typ))


def _type_refs(p: PreparedSelect, roots: Optional[tuple] = None) -> None:
    """Give every field reference in the fields and the condition (or in ``roots``) its type
    (1.x: a reference without a cast gets the merged type of its name over the sources;
    ``::field`` keeps asking for a field even when the name is a tag)."""
    if roots is None:
        roots = [f.expr for f in p.stmt.fields] + ([p.condition] if p.condition is not None else [])
    for root in roots:
        for n in ast.walk(root):
            if not isinstance(n, VarRef):
                continue
            explicit = _explicit(n)
            if explicit not in (None, "field"):
                p.types[id(n)] = explicit
                continue
            typ = _eval_ref_type(n.name, p.sources)
            if typ == "tag" and explicit == "field":
                p.types[id(n)] = "field"
                continue
            p.types[id(n)] = typ


def _eval_ref_type(name: str, sources: list[Source]) -> Optional[str]:
    typ = None
    for s in sources:
        if s.subquery is not None:
            sq = s.subquery
            cols = _subquery_columns(sq)
            t = cols.get(name)
            if t is None and name in sq.dimensions:
                t = "tag"
            typ = _better(typ, t)
        else:
            for m in s.measurements:
                typ = _better(typ, m.map_type(name))
    return typ


def _validate_types(p: PreparedSelect) -> None:
    """1.x's validateTypes: math on a string or boolean is an error."""
    for f in p.stmt.fields:
        _check_expr_type(f.expr, p)


def _check_expr_type(e, p: PreparedSelect) -> Optional[str]:
    if isinstance(e, BinaryExpr):
        lt = _check_expr_type(e.lhs, p)
        rt = _check_expr_type(e.rhs, p)
        if e.op.is_arithmetic and e.op not in (ast.Op.BITWISE_AND, ast.Op.BITWISE_OR, ast.Op.BITWISE_XOR):
            for t, side in ((lt, e.lhs), (rt, e.rhs)):
                if t in ("string", "boolean") and not (t == "string" and e.op is ast.Op.ADD and lt == rt):
                    raise PlanError(f"cannot use type {t} in argument to {e.op.value} operator" if False else
                                    f"invalid operation: {e} (mismatched types)" if False else
                                    _mismatch_message(e, lt, rt))
        return infer_type(e, p)
    if isinstance(e, ParenExpr):
        return _check_expr_type(e.expr, p)
    if isinstance(e, Call):
        for a in e.args:
            _check_expr_type(a, p)
        if e.name in MATH_FUNCTIONS and e.args:
            t = infer_type(e.args[0], p)
            if t in ("string", "boolean", "tag"):
                raise PlanError(f"invalid argument type for the first argument in {e.name}(): {t}")
        return infer_type(e, p)
    return infer_type(e, p)


def _mismatch_message(e: BinaryExpr, lt, rt) -> str:
    return f"type error: {e}: cannot use {e.op.value} with {lt or 'unknown'} and {rt or 'unknown'}"
