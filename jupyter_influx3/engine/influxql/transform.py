"""Transformations of a SELECT, per series over their input points: derivative, difference,
elapsed, moving_average, cumulative_sum and the technical-analysis functions (``_stream``), and
holt_winters (mixin :class:`_Transforms` of the run).  Must not read data: the input points come
from the run's calls.
"""

from __future__ import annotations

import math

import numpy as np

from .ast import Call, VarRef
from .errors import ExecError, _iter_type
from .functions import NUMERIC_KINDS, Vec, holt_winters, ta_state
from .lexer import wrap64
from .points import Points, _starts


#: the names 1.x's errors give the iterators of transformations
_LABELS = {"non_negative_derivative": "derivative", "non_negative_difference": "difference",
           "cumulative_sum": "cumulative sum", "moving_average": "moving average"}


class _Transforms:
    """The transformation stages of :class:`~.select._Run`."""

    # -- transformations -----------------------------------------------------------------------

    def transform(self, c: Call, inp: Points) -> Points:
        p = self.p
        name = c.name
        arg = c.args[0]
        kind = inp.value.kind if len(inp) or not isinstance(arg, VarRef) else p.ref_type(arg)
        if name != "elapsed":
            self.refuse_type(_LABELS.get(name, name), kind, NUMERIC_KINDS, len(inp) > 0)
        if len(inp) == 0:
            kind = "integer" if name == "elapsed" else ("float" if name not in (
                "difference", "non_negative_difference", "cumulative_sum") else inp.value.kind)
            return Points.empty(kind)
        if name == "elapsed":
            unit = c.args[1].value if len(c.args) > 1 else 1
        elif name in ("derivative", "non_negative_derivative"):
            unit = c.args[1].value if len(c.args) > 1 else (p.interval or 10**9)
        out_g, out_t, out_v = [], [], []
        starts = _starts([inp.gid])
        ends = np.append(starts[1:], len(inp))
        asc = p.ascending
        out_kind = "float"
        if name in ("difference", "non_negative_difference", "cumulative_sum"):
            out_kind = kind
        elif name == "elapsed":
            out_kind = "integer"
        for s, e in zip(starts.tolist(), ends.tolist()):
            g = int(inp.gid[s])
            valid = inp.value.valid[s:e]
            times = inp.time[s:e][valid].tolist()
            if kind == "float" or kind not in ("integer", "unsigned"):
                vals = inp.value.data[s:e][valid].tolist()  # elapsed() only reads the times
            else:
                vals = [int(x) for x in inp.value.data[s:e][valid].tolist()]
            res = _stream(name, c, times, vals, kind, asc, unit if name in (
                "elapsed", "derivative", "non_negative_derivative") else None)
            for t, v in res:
                out_g.append(g)
                out_t.append(t)
                out_v.append(v)
        if out_kind == "float":
            data = np.array(out_v, np.float64)
        elif out_kind == "integer":
            data = np.array(out_v, np.int64) if out_v else np.zeros(0, np.int64)
        elif out_kind == "unsigned":
            data = np.array([x % (1 << 64) for x in out_v], np.uint64)
        else:
            data = np.array(out_v, dtype=object)
        return Points(np.array(out_g, np.int64), np.array(out_t, np.int64),
                      Vec(out_kind, data, np.ones(len(out_v), bool)))

    def holt_winters(self, c: Call, inp: Points) -> Points:
        p = self.p
        h, m = c.args[1].value, c.args[2].value
        with_fit = c.name == "holt_winters_with_fit"
        out_g, out_t, out_v = [], [], []
        if len(inp) == 0:
            return Points.empty("float")
        kind = inp.value.kind
        if kind not in ("float", "integer"):
            raise ExecError(f"unsupported {c.name} iterator type: *query.{_iter_type(kind)}InterruptIterator")
        starts = _starts([inp.gid])
        ends = np.append(starts[1:], len(inp))
        for s, e in zip(starts.tolist(), ends.tolist()):
            g = int(inp.gid[s])
            valid = inp.value.valid[s:e]
            times = inp.time[s:e][valid].tolist()
            vals = inp.value.data[s:e][valid].astype(np.float64).tolist()
            if not p.ascending:
                times, vals = times[::-1], vals[::-1]
            for t, v in holt_winters(times, vals, h, m, with_fit, p.interval):
                out_g.append(g)
                out_t.append(t)
                out_v.append(v)
        return Points(np.array(out_g, np.int64), np.array(out_t, np.int64),
                      Vec("float", np.array(out_v, np.float64), np.ones(len(out_v), bool)))


_TA = frozenset(["exponential_moving_average", "double_exponential_moving_average",
                 "triple_exponential_moving_average", "relative_strength_index", "triple_exponential_derivative",
                 "kaufmans_efficiency_ratio", "kaufmans_adaptive_moving_average", "chande_momentum_oscillator"])


# ---------------------------------------------------------------------------------------------
# stream transformations


def _steps(times: list, vals: list):
    """``(previous, current)`` (time, value) pairs of derivative()/difference(): a point at the
    same time as the one before it is skipped."""
    prev = curr = None
    for t, v in zip(times, vals):
        if curr is not None and curr[0] == t:
            continue
        prev, curr = curr, (t, v)
        if prev is not None:
            yield prev, curr


def _stream(name: str, c: Call, times: list, vals: list, kind: str, asc: bool, unit) -> list:
    out = []
    if name in ("derivative", "non_negative_derivative"):
        nonneg = name == "non_negative_derivative"
        for prev, curr in _steps(times, vals):
            t = curr[0]
            if kind == "unsigned":
                diff = float(curr[1] - prev[1])
            elif kind == "integer":
                diff = float(wrap64(curr[1] - prev[1]))
            else:
                diff = curr[1] - prev[1]
            elapsed = curr[0] - prev[0]
            if not asc:
                elapsed = -elapsed
            value = diff / (float(elapsed) / float(unit))
            if nonneg and diff < 0:
                continue
            out.append((t, value))
        return out
    if name in ("difference", "non_negative_difference"):
        nonneg = name == "non_negative_difference"
        for prev, curr in _steps(times, vals):
            t = curr[0]
            if kind == "integer":
                value = wrap64(curr[1] - prev[1])
            elif kind == "unsigned":
                if nonneg and curr[1] < prev[1]:
                    continue
                value = (curr[1] - prev[1]) % (1 << 64)
            else:
                value = curr[1] - prev[1]
            if nonneg and value < 0:
                continue
            out.append((t, value))
        return out
    if name == "elapsed":
        prev = None
        for t, v in zip(times, vals):
            if prev is not None and prev != t:
                el = t - prev   # (negative in descending order, as 1.x's elapsed reducer leaves it)
                out.append((t, int(el // unit) if el >= 0 else -int((-el) // unit)))
            if prev is None or prev != t:
                prev = t
        return out
    if name == "moving_average":
        n = c.args[1].value
        buf = []
        pos = 0
        total = 0.0 if kind == "float" else 0
        for t, v in zip(times, vals):
            if len(buf) != n:
                buf.append(v)
            else:
                total -= buf[pos]
                buf[pos] = v
            total += v
            if kind == "integer":
                total = wrap64(total)
            pos += 1
            if pos >= n:
                pos = 0
            if len(buf) == n:
                out.append((t, float(total) / float(n)))
        return out
    if name == "cumulative_sum":
        total = 0.0 if kind == "float" else 0
        for t, v in zip(times, vals):
            total += v
            if kind == "integer":
                total = wrap64(total)
            elif kind == "unsigned":
                total %= 1 << 64
            out.append((t, total))
        return out
    if name in _TA:
        period = c.args[1].value
        hold = c.args[2].value if len(c.args) >= 3 else -1
        warmup = c.args[3].value if len(c.args) >= 4 else None
        if name == "chande_momentum_oscillator":
            wt = warmup if warmup is not None else None
            st = ta_state(name, period, wt if wt != "none" else "none")
        else:
            st = ta_state(name, period, warmup or "exponential")
        if hold == -1:
            hold = st.warm_count()
        count = 0
        for t, v in zip(times, vals):
            r = st.add(float(v))
            count += 1
            if count <= hold:
                continue
            if name in ("triple_exponential_derivative", "kaufmans_efficiency_ratio",
                        "kaufmans_adaptive_moving_average") and math.isinf(r):
                continue
            out.append((t, r))
        return out
    raise ExecError(f"unsupported call: {name}")
