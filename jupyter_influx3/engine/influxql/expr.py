"""Expressions of a SELECT over columns: :func:`eval_expr` evaluates a field expression for n rows
(math with Go's or the C library's semantics, regex matches with RE2), and the walks that find
an expression's calls and its references outside calls.  Must not read data or know about the run.
"""

from __future__ import annotations

import numpy as np

from . import ast
from .ast import BinaryExpr, Call, Distinct, ParenExpr, VarRef
from .functions import MATH_FUNCTIONS, Vec, binary, math_call, nan_to_null


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
