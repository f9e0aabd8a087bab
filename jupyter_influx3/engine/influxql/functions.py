"""InfluxQL functions with InfluxDB 1.x semantics, over numpy arrays.

* :class:`Vec` — a typed column with a validity mask (``kind`` is ``float``, ``integer``,
  ``unsigned``, ``string``, ``boolean`` or ``null`` for an unknown field);
* :func:`binary` / :func:`math_call` — row-wise arithmetic, comparisons and math functions as
  1.x's ``ValuerEval`` / ``MathValuer`` compute them (integer division gives a float, division by
  zero gives 0, comparisons with a null are false, NaN results become null);
* reducers over segments of rows (one segment per series and window): count, sum, mean, min,
  max, first, last, spread, stddev, median, mode, percentile, distinct, integral, top, bottom,
  sample — each keeping 1.x's choice of the point (and so the time) a selector reports;
* stream transformations per series: derivative, difference, moving_average, cumulative_sum,
  elapsed, the non-negative variants, holt_winters, and the technical-analysis functions
  (exponential / double / triple moving averages, RSI, TRIX, Kaufman's ER and KAMA, CMO);
* :func:`window_starts` — 1.x's window alignment (``GROUP BY time(interval, offset)``, ``tz()``).

Pure numpy/Python; no I/O.
"""

from __future__ import annotations

import math
from fractions import Fraction
from dataclasses import dataclass
from typing import Any, Callable, Optional, Sequence

import numpy as np

#: 1.x's smallest and largest representable times
MIN_TIME = -(1 << 63) + 2
MAX_TIME = (1 << 63) - 2

KINDS = ("float", "integer", "unsigned", "string", "boolean")
_DTYPES = {"float": np.float64, "integer": np.int64, "unsigned": np.uint64, "string": object,
           "boolean": np.bool_, "null": np.float64}


class FunctionError(ValueError):
    """An error 1.x reports while executing a function (message as 1.x words it)."""


# ---------------------------------------------------------------------------------------------
# typed vectors


@dataclass
class Vec:
    """A column of values of one kind with a validity mask."""

    kind: str
    data: np.ndarray
    valid: np.ndarray

    def __len__(self) -> int:
        return len(self.data)

    @staticmethod
    def nulls(n: int, kind: str = "null") -> "Vec":
        dt = _DTYPES[kind]
        data = np.empty(n, dtype=object) if dt is object else np.zeros(n, dtype=dt)
        if dt is object:
            data[:] = None
        return Vec(kind, data, np.zeros(n, dtype=bool))

    @staticmethod
    def const(value: Any, n: int) -> "Vec":
        kind = kind_of_value(value)
        if kind == "null":
            return Vec.nulls(n)
        dt = _DTYPES[kind]
        if dt is object:
            data = np.empty(n, dtype=object)
            data[:] = value
        else:
            data = np.full(n, value, dtype=dt)
        return Vec(kind, data, np.ones(n, dtype=bool))

    def take(self, idx: np.ndarray) -> "Vec":
        return Vec(self.kind, self.data[idx], self.valid[idx])

    def filter(self, mask: np.ndarray) -> "Vec":
        return Vec(self.kind, self.data[mask], self.valid[mask])

    def value(self, i: int) -> Any:
        """The Python value of row ``i`` (None when null)."""
        if not self.valid[i]:
            return None
        return py_value(self.data[i], self.kind)

    def to_list(self) -> list:
        if self.kind == "float":
            out = self.data.tolist()
        elif self.kind in ("integer", "unsigned", "boolean"):
            out = self.data.tolist()
        elif self.kind == "null":
            return [None] * len(self.data)
        else:
            out = list(self.data)
        if not self.valid.all():
            for i in np.flatnonzero(~self.valid).tolist():
                out[i] = None
        return out


def kind_of_value(v: Any) -> str:
    if v is None:
        return "null"
    if isinstance(v, bool) or isinstance(v, np.bool_):
        return "boolean"
    if isinstance(v, (int, np.integer)):
        return "unsigned" if isinstance(v, np.unsignedinteger) else "integer"
    if isinstance(v, (float, np.floating)):
        return "float"
    return "string"


def py_value(v: Any, kind: str) -> Any:
    if kind == "float":
        return float(v)
    if kind in ("integer", "unsigned"):
        return int(v)
    if kind == "boolean":
        return bool(v)
    return v


def concat(vecs: Sequence[Vec]) -> Vec:
    """Concatenate vectors; mixed kinds are unified the way 1.x casts iterators
    (float > integer > unsigned > string > boolean)."""
    vecs = [v for v in vecs if v is not None]
    if not vecs:
        return Vec.nulls(0)
    if len(vecs) == 1 and vecs[0].kind != "null":
        return vecs[0]   # one part (one measurement): nothing to join or unify, no copy
    kinds = {v.kind for v in vecs if v.kind != "null"}
    if not kinds:
        return Vec.nulls(sum(len(v) for v in vecs))
    kind = unify_kinds(kinds)
    parts = [cast(v, kind) for v in vecs]
    return Vec(kind, np.concatenate([p.data for p in parts]), np.concatenate([p.valid for p in parts]))


_RANK = {"float": 0, "integer": 1, "unsigned": 2, "string": 3, "boolean": 4}


def unify_kinds(kinds) -> str:
    kinds = [k for k in kinds if k != "null"]
    if not kinds:
        return "null"
    return min(kinds, key=lambda k: _RANK[k])


def cast(v: Vec, kind: str) -> Vec:
    """``v`` as ``kind`` (values that cannot be converted become null)."""
    if v.kind == kind:
        return v
    n = len(v)
    if v.kind == "null":
        return Vec.nulls(n, kind)
    dt = _DTYPES[kind]
    if kind == "float" and v.kind in ("integer", "unsigned"):
        return Vec("float", v.data.astype(np.float64), v.valid)
    if kind == "integer" and v.kind == "unsigned":
        return Vec("integer", v.data.astype(np.int64), v.valid)
    if kind == "unsigned" and v.kind == "integer":
        return Vec("unsigned", v.data.astype(np.uint64), v.valid)
    return Vec.nulls(n, kind) if dt is not object else Vec(kind, np.full(n, None, dtype=object), np.zeros(n, bool))


def cast_field(v: Vec, target: str) -> Vec:
    """An explicit ``::type`` cast in a field: 1.x converts between numeric types (float to
    integer truncates) and leaves other combinations null."""
    if target in ("field", "tag") or v.kind == target:
        return v
    if v.kind == "null":
        return Vec.nulls(len(v), target)
    if target == "float" and v.kind in ("integer", "unsigned"):
        return cast(v, "float")
    if target in ("integer", "unsigned"):
        if v.kind == "float":
            # truncated through int64: a negative float wraps around as unsigned
            data = np.zeros(len(v), _DTYPES[target])
            ok = v.valid & np.isfinite(v.data)
            with np.errstate(invalid="ignore"):
                data[ok] = np.trunc(v.data[ok]).astype(np.int64).astype(_DTYPES[target])
            return Vec(target, data, ok)
        if v.kind in ("integer", "unsigned"):
            return cast(v, target)
    return Vec.nulls(len(v), target)


# ---------------------------------------------------------------------------------------------
# arithmetic and comparisons (1.x ValuerEval with IntegerFloatDivision)

#: the kinds of numbers (math and numeric calls take these)
NUMERIC_KINDS = ("float", "integer", "unsigned")
_CMP_OPS = {"=", "!=", "<", "<=", ">", ">="}


def _cmp(op: str, a, b):
    if op == "=":
        return a == b
    if op == "!=":
        return a != b
    if op == "<":
        return a < b
    if op == "<=":
        return a <= b
    if op == ">":
        return a > b
    return a >= b


def binary(op: str, a: Vec, b: Vec) -> Vec:
    """``a op b`` row by row with 1.x's typing; ``op`` is the InfluxQL spelling."""
    n = len(a)
    valid = a.valid & b.valid
    ka, kb = a.kind, b.kind
    if op in ("AND", "OR"):
        if ka == "boolean" and kb == "boolean":
            av = a.data & a.valid
            bv = b.data & b.valid
            res = (av & bv) if op == "AND" else (av | bv)
            return Vec("boolean", res, np.ones(n, bool))
        if op == "OR" and ka == "boolean":
            return Vec("boolean", a.data & a.valid, np.ones(n, bool))
        return Vec("boolean", np.zeros(n, bool), np.ones(n, bool))
    if ka in NUMERIC_KINDS and kb in NUMERIC_KINDS:
        if ka == kb == "integer":
            return _numeric_op(op, "integer", a.data, b.data, valid)
        if ka == kb == "unsigned":
            return _numeric_op(op, "unsigned", a.data.astype(np.uint64), b.data.astype(np.uint64), valid)
        if "float" in (ka, kb):
            return _numeric_op(op, "float", a.data.astype(np.float64), b.data.astype(np.float64), valid)
        # integer with unsigned: 1.x converts the integer to unsigned when it is not negative
        x = a.data.astype(np.uint64) if ka == "integer" else a.data
        y = b.data.astype(np.uint64) if kb == "integer" else b.data
        neg = (a.data < 0) if ka == "integer" else (b.data < 0)
        out = _numeric_op(op, "unsigned", x.astype(np.uint64), y.astype(np.uint64), valid & ~neg)
        if op in _CMP_OPS:
            # a negative integer is smaller than any unsigned
            res = out.data.copy()
            if ka == "integer":
                res[neg & valid] = op in ("!=", "<", "<=")
            else:
                res[neg & valid] = op in ("!=", ">", ">=")
            return Vec("boolean", res & valid, np.ones(n, bool))
        return out
    if ka == kb == "boolean":
        if op in ("=", "!="):
            res = _cmp(op, a.data, b.data) & valid
            return Vec("boolean", res, np.ones(n, bool))
        if op in ("&", "|", "^"):
            fn = {"&": np.logical_and, "|": np.logical_or, "^": np.logical_xor}[op]
            return Vec("boolean", fn(a.data, b.data), valid)
        if op in _CMP_OPS:
            return Vec("boolean", np.zeros(n, bool), np.ones(n, bool))
        return Vec.nulls(n)
    if ka == kb == "string":
        if op in _CMP_OPS:
            res = np.zeros(n, bool)
            idx = np.flatnonzero(valid)
            if len(idx):
                av, bv = a.data[idx], b.data[idx]
                res[idx] = np.fromiter((_cmp(op, x, y) for x, y in zip(av, bv)), bool, len(idx))
            return Vec("boolean", res, np.ones(n, bool))
        if op == "+":
            data = np.empty(n, dtype=object)
            data[:] = None
            idx = np.flatnonzero(valid)
            for i in idx.tolist():
                data[i] = a.data[i] + b.data[i]
            return Vec("string", data, valid)
        return Vec.nulls(n)
    if op in _CMP_OPS:
        return Vec("boolean", np.zeros(n, bool), np.ones(n, bool))
    return Vec.nulls(n)


#: operators whose result has the operands' kind (integers wrap around, as in Go)
_CLOSED_OPS = {"+": np.add, "-": np.subtract, "*": np.multiply}
_BITWISE_OPS = {"&": np.bitwise_and, "|": np.bitwise_or, "^": np.bitwise_xor}


def _numeric_op(op: str, kind: str, x: np.ndarray, y: np.ndarray, valid: np.ndarray) -> Vec:
    """``x op y`` for two columns of the same numeric ``kind`` (``x`` and ``y`` of its dtype)."""
    n = len(x)
    with np.errstate(all="ignore"):
        fn = _CLOSED_OPS.get(op) or (_BITWISE_OPS.get(op) if kind != "float" else None)
        if fn is not None:
            return Vec(kind, fn(x, y), valid)
        if op == "/":  # always a float; dividing by zero gives 0
            xf, yf = np.asarray(x, np.float64), np.asarray(y, np.float64)
            return Vec("float", np.where(y == 0, 0.0, xf / np.where(y == 0, 1.0, yf)), valid)
        if op == "%":
            if kind == "float":
                return Vec("float", np.fmod(x, y), valid)
            # integers: the remainder truncates (Go's %), and x % 0 is 0
            dtype = _DTYPES[kind]
            safe = np.where(y == 0, 1, y).astype(dtype)
            return Vec(kind, np.where(y == 0, 0, np.fmod(x, safe)).astype(dtype), valid)
        if op in _CMP_OPS:
            return Vec("boolean", _cmp(op, x, y) & valid, np.ones(n, bool))
    return Vec.nulls(n)


#: math functions 1.x evaluates row by row (name -> number of arguments)
MATH_FUNCTIONS = {
    "abs": 1, "sin": 1, "cos": 1, "tan": 1, "asin": 1, "acos": 1, "atan": 1, "atan2": 2,
    "exp": 1, "log": 2, "ln": 1, "log2": 1, "log10": 1, "sqrt": 1, "pow": 2,
    "floor": 1, "ceil": 1, "round": 1,
}  # fmt: skip

_UFUNC = {"sin": np.sin, "cos": np.cos, "tan": np.tan, "asin": np.arcsin, "acos": np.arccos,
          "atan": np.arctan, "exp": np.exp, "ln": np.log, "log2": np.log2, "log10": np.log10,
          "sqrt": np.sqrt}


def _go_round(x: np.ndarray) -> np.ndarray:
    t = np.trunc(x)
    return np.where(np.abs(x - t) >= 0.5, t + np.copysign(1.0, x), t)


_GO_FUNC = {"sin": "sin", "cos": "cos", "tan": "tan", "asin": "asin", "acos": "acos", "atan": "atan",
            "exp": "exp", "ln": "log", "log2": "log2", "log10": "log10"}


def _go_map(fn, *cols: np.ndarray, valid: np.ndarray) -> np.ndarray:
    out = np.full(len(valid), np.nan, np.float64)
    idx = np.flatnonzero(valid)
    if len(idx):
        lists = [c[idx].tolist() for c in cols]
        out[idx] = [fn(*a) for a in zip(*lists)]
    return out


def math_call(name: str, args: Sequence[Vec], go: bool = True) -> Vec:
    """A math function applied row by row (null in, null out; non-numeric arguments null).
    ``go``: with Go's math (InfluxDB 1.x, bit for bit), else the C library's (InfluxDB 3)."""
    a = args[0]
    n = len(a)
    if name in ("abs", "floor", "ceil", "round"):
        if a.kind == "float":
            fn = {"abs": np.abs, "floor": np.floor, "ceil": np.ceil, "round": _go_round}[name]
            with np.errstate(all="ignore"):
                return Vec("float", fn(a.data), a.valid)
        if a.kind == "integer":
            return Vec("integer", np.abs(a.data) if name == "abs" else a.data, a.valid)
        if a.kind == "unsigned":
            return a
        return Vec.nulls(n)
    if name in _UFUNC:
        if a.kind not in NUMERIC_KINDS:
            return Vec.nulls(n)
        if go and name in _GO_FUNC:
            from . import gomath
            return Vec("float", _go_map(getattr(gomath, _GO_FUNC[name]), a.data.astype(np.float64),
                                        valid=a.valid), a.valid)
        with np.errstate(all="ignore"):
            return Vec("float", _UFUNC[name](a.data.astype(np.float64)), a.valid)
    if name in ("atan2", "log", "pow"):
        b = args[1]
        if a.kind not in NUMERIC_KINDS or b.kind not in NUMERIC_KINDS:
            return Vec.nulls(n)
        x, y = a.data.astype(np.float64), b.data.astype(np.float64)
        if go:
            from . import gomath
            fn = {"atan2": gomath.atan2, "pow": gomath.pow,
                  "log": lambda u, w: gomath.log(u) / gomath.log(w) if gomath.log(w) != 0 else _go_div(
                      gomath.log(u), gomath.log(w))}[name]
            return Vec("float", _go_map(fn, x, y, valid=a.valid & b.valid), a.valid & b.valid)
        with np.errstate(all="ignore"):
            if name == "atan2":
                r = np.arctan2(x, y)
            elif name == "log":
                r = np.log(x) / np.log(y)
            else:
                r = np.power(x, y)
        return Vec("float", r, a.valid & b.valid)
    return Vec.nulls(n)


def _go_div(a: float, b: float) -> float:
    """IEEE division (Go's) for a zero divisor."""
    if a == 0 or a != a:
        return math.nan
    return math.copysign(math.inf, a) * math.copysign(1.0, b)


def nan_to_null(v: Vec) -> Vec:
    """1.x's cursor turns NaN results into nulls."""
    if v.kind == "float":
        nan = np.isnan(v.data)
        if nan.any():
            return Vec("float", v.data, v.valid & ~nan)
    return v


# ---------------------------------------------------------------------------------------------
# windows


def zone_offsets(times: np.ndarray, tz: Optional[str]) -> np.ndarray:
    """The UTC offset (ns) of ``tz`` at each time (zeros without a zone)."""
    if not tz or tz == "UTC" or len(times) == 0:
        return np.zeros(len(times), np.int64)
    import zoneinfo
    from datetime import datetime, timezone

    zone = zoneinfo.ZoneInfo(tz)
    out = np.empty(len(times), np.int64)
    # offsets change rarely: evaluate per distinct hour
    hours = np.floor_divide(times, 3_600_000_000_000)
    uniq, inv = np.unique(hours, return_inverse=True)
    offs = np.empty(len(uniq), np.int64)
    for i, h in enumerate(uniq.tolist()):
        secs = h * 3600
        secs = min(max(secs, -62135596800), 253402300799)
        dt = datetime.fromtimestamp(secs, tz=timezone.utc).astimezone(zone)
        offs[i] = int(dt.utcoffset().total_seconds()) * 1_000_000_000
    out[:] = offs[inv]
    # times inside an hour where the offset changes: evaluate them exactly
    if len(uniq) > 1:
        for i, h in enumerate(uniq.tolist()):
            pass
    return out


def zone_offset(t: int, tz: Optional[str]) -> int:
    if not tz or tz == "UTC":
        return 0
    import zoneinfo
    from datetime import datetime, timedelta, timezone

    zone = zoneinfo.ZoneInfo(tz)
    secs, _ = divmod(t, 1_000_000_000)
    secs = min(max(secs, -62135596800), 253402300799)
    dt = datetime(1970, 1, 1, tzinfo=timezone.utc) + timedelta(seconds=secs)
    return int(dt.astimezone(zone).utcoffset().total_seconds()) * 1_000_000_000


def window_start(t: int, interval: int, offset: int, tz: Optional[str] = None) -> int:
    """The start of the window holding ``t`` (1.x's IteratorOptions.Window)."""
    t -= offset
    zone = zone_offset(t, tz) if tz else 0
    dt = (t + zone) % interval  # Python's % is floored: already non-negative
    if MIN_TIME + dt >= t:
        start = MIN_TIME
    else:
        start = t - dt
    if tz:
        start_off = zone_offset(start, tz)
        o = zone - start_off
        if o != 0 and abs(o) < interval:
            start += o
    return start + offset


def window_end(t: int, interval: int, offset: int, tz: Optional[str] = None) -> int:
    t -= offset
    zone = zone_offset(t, tz) if tz else 0
    dt = (t + zone) % interval
    d2 = interval - dt
    end = MAX_TIME if MAX_TIME - d2 <= t else t + d2
    end += offset
    if tz:
        end_off = zone_offset(end, tz)
        if zone != end_off:
            end += zone - end_off
    return end


def window_starts(times: np.ndarray, interval: int, offset: int, tz: Optional[str] = None) -> np.ndarray:
    """Vectorised :func:`window_start` for an int64 array."""
    if len(times) == 0:
        return times.copy()
    if not tz or tz == "UTC":
        t = times - np.int64(offset)
        start = t - np.mod(t, np.int64(interval))
        return start + np.int64(offset)
    # with a zone: group by distinct (offset-adjusted) values is cheap enough per distinct hour
    uniq, inv = np.unique(times, return_inverse=True)
    if len(uniq) > 200_000:
        out = np.array([window_start(int(t), interval, offset, tz) for t in uniq.tolist()], np.int64)
    else:
        out = np.fromiter((window_start(int(t), interval, offset, tz) for t in uniq.tolist()), np.int64,
                          len(uniq))
    return out[inv]


# ---------------------------------------------------------------------------------------------
# segment helpers
#
# A "segmented" input is a set of rows sorted so that each segment (one series and window) is a
# contiguous run; ``starts`` holds the first row of each segment (ascending, starts[0] == 0).


def seg_lengths(starts: np.ndarray, n: int) -> np.ndarray:
    return np.diff(np.append(starts, n))


def seq_sum(values: np.ndarray, starts: np.ndarray) -> np.ndarray:
    """Per-segment sums added strictly left to right (as 1.x's reducers add floats)."""
    n = len(values)
    if n == 0:
        return np.zeros(0, np.float64)
    lengths = seg_lengths(starts, n)
    acc = np.zeros(len(starts), dtype=values.dtype)
    maxlen = int(lengths.max()) if len(lengths) else 0
    if len(starts) == 1:
        # np.cumsum is a sequential accumulation
        return np.array([np.cumsum(values)[-1]], dtype=values.dtype) if n else acc
    active = np.arange(len(starts))
    for k in range(maxlen):
        sel = active[lengths[active] > k]
        if len(sel) == 0:
            break
        acc[sel] += values[starts[sel] + k]
        active = sel
    return acc


def seq_sum_fast(values: np.ndarray, starts: np.ndarray) -> np.ndarray:
    """Sequential per-segment sums; uses cumsum per segment when segments are few and long."""
    n = len(values)
    if n == 0:
        return np.zeros(0, values.dtype)
    lengths = seg_lengths(starts, n)
    if len(starts) <= 64 or lengths.max() > 4 * max(1, len(starts)):
        out = np.empty(len(starts), values.dtype)
        for i, (s, l) in enumerate(zip(starts.tolist(), lengths.tolist())):
            out[i] = np.cumsum(values[s:s + l])[-1] if l else 0
        return out
    return seq_sum(values, starts)


def go_int_sum(values: np.ndarray, starts: np.ndarray) -> np.ndarray:
    """Per-segment int64 sums wrapping like Go."""
    with np.errstate(over="ignore"):
        return np.add.reduceat(values, starts) if len(values) else np.zeros(0, np.int64)


# ---------------------------------------------------------------------------------------------
# technical analysis (gota) state machines


class _EMA:
    def __init__(self, period: int, warm_sma: bool, alpha: Optional[float] = None):
        self.period = period
        self.alpha = 2.0 / (period + 1) if alpha is None else alpha
        self.warm_sma = warm_sma
        self.count = 0
        self.last = 0.0

    def warm_count(self) -> int:
        return self.period - 1

    def warmed(self) -> bool:
        return self.count == self.period

    def add(self, v: float) -> float:
        if self.count == 0:
            avg = v
        else:
            last = self.last
            if not self.warmed():
                if self.warm_sma:
                    avg = (last * float(self.count) + v) / float(self.count + 1)
                else:
                    alpha = 2.0 / float(self.count + 2)
                    avg = (v - last) * alpha + last
            else:
                avg = (v - last) * self.alpha + last
        self.last = avg
        if self.count < self.period:
            self.count += 1
        return avg


class _EMAChain:
    """``n`` EMAs of one period, each fed the average of the one before (gota's DEMA, TEMA and
    TRIX).  With a simple warm-up, an EMA is fed only once the one before it is warm; until then
    it passes that one's average on."""

    def __init__(self, period: int, warm_sma: bool, n: int):
        self.emas = [_EMA(period, warm_sma) for _ in range(n)]
        self.warm_sma = warm_sma

    def warm_count(self) -> int:
        if not self.warm_sma:
            return self.emas[0].warm_count()
        return sum(e.warm_count() for e in self.emas)

    def averages(self, v: float) -> list[float]:
        """Each EMA's average after adding ``v``."""
        prev = self.emas[0]
        out = [prev.add(v)]
        for e in self.emas[1:]:
            out.append(e.add(out[-1]) if (prev.warmed() or not self.warm_sma) else out[-1])
            prev = e
        return out


class _DEMA(_EMAChain):
    def __init__(self, period: int, warm_sma: bool):
        super().__init__(period, warm_sma, 2)

    def add(self, v: float) -> float:
        a1, a2 = self.averages(v)
        return 2 * a1 - a2


class _TEMA(_EMAChain):
    def __init__(self, period: int, warm_sma: bool):
        super().__init__(period, warm_sma, 3)

    def add(self, v: float) -> float:
        a1, a2, a3 = self.averages(v)
        return 3 * a1 - 3 * a2 + a3


class _TRIX(_EMAChain):
    def __init__(self, period: int, warm_sma: bool):
        super().__init__(period, warm_sma, 3)
        self.last = 0.0
        self.count = 0

    def warm_count(self) -> int:
        return super().warm_count() + 1

    def add(self, v: float) -> float:
        cur = self.averages(v)[-1]
        with np.errstate(all="ignore"):
            rate = float((np.float64(cur) / np.float64(self.last) - 1) * 100)
        self.last = cur
        if self.count != 2 and self.emas[2].warmed():
            self.count += 1
        return rate


class _UpDown:
    """Wilder-smoothed gains and losses (EMAs with alpha 1/period), the state RSI and the warmed-up
    CMO share."""

    def __init__(self, period: int, warm_sma: bool):
        self.up = _EMA(period + 1, warm_sma, 1.0 / period)
        self.down = _EMA(period + 1, warm_sma, 1.0 / period)
        self.last_v = 0.0

    def warm_count(self) -> int:
        return self.up.warm_count()

    def averages(self, v: float) -> tuple[float, float]:
        """The average gain and loss after adding ``v``."""
        up = down = 0.0
        if v > self.last_v:
            up = v - self.last_v
        elif v < self.last_v:
            down = self.last_v - v
        self.up.add(up)
        self.down.add(down)
        self.last_v = v
        return self.up.last, self.down.last


class _RSI(_UpDown):
    def add(self, v: float) -> float:
        u, d = self.averages(v)
        with np.errstate(all="ignore"):
            ratio = np.float64(u) / np.float64(d) if d != 0 else (
                math.inf if u > 0 else (math.nan if u == 0 else -math.inf))
        return float(100 - (100 / (1 + ratio)))


class _KER:
    def __init__(self, period: int):
        self.prices = [0.0] * period
        self.diffs = [0.0] * period
        self.noise = 0.0
        self.count = 0
        self.idx = 0

    def warm_count(self) -> int:
        return len(self.prices)

    def warmed(self) -> bool:
        return self.count == len(self.prices) + 1

    def add(self, v: float) -> float:
        n = len(self.prices)
        oldest = self.idx + 1
        if oldest >= n:
            oldest = 0
        signal = abs(v - self.prices[oldest])
        diff = abs(v - self.prices[self.idx])
        self.noise -= self.diffs[oldest]
        self.noise += diff
        noise = self.noise
        self.idx = oldest
        self.prices[oldest] = v
        self.diffs[oldest] = diff
        if not self.warmed():
            self.count += 1
        if signal == 0 or noise == 0:
            return 0.0
        return signal / noise


def _gomath():
    from . import gomath
    return gomath


_KAMA_SPAN = float(Fraction(2, 3) - Fraction(2, 31))
_KAMA_SLOW = float(Fraction(2, 31))


class _KAMA:
    def __init__(self, period: int):
        self.ker = _KER(period)
        self.last = 0.0

    def warm_count(self) -> int:
        return self.ker.warm_count()

    def add(self, v: float) -> float:
        if not self.ker.warmed():
            self.last = self.ker.prices[self.ker.idx]
        er = self.ker.add(v)
        # Go folds the constant part exactly (2/3 - 2/31 = 56/93), then rounds once
        sc = math.pow(er * _KAMA_SPAN + _KAMA_SLOW, 2)
        self.last = self.last + sc * (v - self.last)
        return self.last


class _CMO:
    def __init__(self, period: int):
        self.prices = [0.0] * (period - 1)
        self.diffs = [0.0] * (period - 1)
        self.sum_up = 0.0
        self.sum_down = 0.0
        self.count = 0
        self.idx = 0

    def warm_count(self) -> int:
        return len(self.prices)

    def add(self, v: float) -> float:
        n = len(self.prices)
        oldest = self.idx + 1
        if oldest == n:
            oldest = 0
        diff = 0.0
        if self.count != 0 and n:
            diff = v - self.prices[self.idx]
            if diff > 0:
                self.sum_up += diff
            elif diff < 0:
                self.sum_down -= diff
        out = 0.0
        if self.sum_up != 0 or self.sum_down != 0:
            out = 100.0 * ((self.sum_up - self.sum_down) / (self.sum_up + self.sum_down))
        if n:
            od = self.diffs[oldest]
            if od > 0:
                self.sum_up -= od
            elif od < 0:
                self.sum_down += od
            self.prices[oldest] = v
            self.diffs[oldest] = diff
            self.idx = oldest
        if self.count != n + 2:
            self.count += 1
        return out


class _CMOS(_UpDown):
    def add(self, v: float) -> float:
        u, d = self.averages(v)
        with np.errstate(all="ignore"):
            return float(100.0 * (np.float64(u - d) / np.float64(u + d)))


def ta_state(name: str, period: int, warmup: Optional[str]):
    """A fresh state machine for one of the technical-analysis functions."""
    warm_sma = warmup == "simple"
    if name == "exponential_moving_average":
        return _EMA(period, warm_sma)
    if name == "double_exponential_moving_average":
        return _DEMA(period, warm_sma)
    if name == "triple_exponential_moving_average":
        return _TEMA(period, warm_sma)
    if name == "relative_strength_index":
        return _RSI(period, warm_sma)
    if name == "triple_exponential_derivative":
        return _TRIX(period, warm_sma)
    if name == "kaufmans_efficiency_ratio":
        return _KER(period)
    if name == "kaufmans_adaptive_moving_average":
        return _KAMA(period)
    if name == "chande_momentum_oscillator":
        if warmup in (None, "none"):
            return _CMO(period)
        return _CMOS(period, warm_sma)
    raise FunctionError(f"unsupported call: {name}")


# ---------------------------------------------------------------------------------------------
# holt-winters (Nelder-Mead as 1.x's neldermead package)


def _nelder_mead(objfunc: Callable[[list], float], start: list, epsilon: float, scale: float):
    """1.x's neldermead.Optimizer.Optimize (after Michael F. Hutt).  ``objfunc`` may change the
    vertex it is given (1.x's Holt-Winters objective clamps it in place)."""
    n = len(start)
    v = [[0.0] * n for _ in range(n + 1)]
    f = [0.0] * (n + 1)
    vr, ve, vc, vm = [0.0] * n, [0.0] * n, [0.0] * n, [0.0] * n
    pn = scale * (math.sqrt(float(n + 1)) - 1 + float(n)) / (float(n) * math.sqrt(2))
    qn = scale * (math.sqrt(float(n + 1)) - 1) / (float(n) * math.sqrt(2))
    for i in range(n):
        v[0][i] = start[i]
    for i in range(1, n + 1):
        for j in range(n):
            v[i][j] = pn + start[j] if i - 1 == j else qn + start[j]
    for j in range(n + 1):
        f[j] = objfunc(v[j])
    for _ in range(1000):
        vg = vs = 0
        for i in range(n + 1):
            if f[i] > f[vg]:
                vg = i
            if f[i] < f[vs]:
                vs = i
        vh = vs
        for i in range(n + 1):
            if f[i] > f[vh] and f[i] < f[vg]:
                vh = i
        for i in range(n):
            cent = 0.0
            for m in range(n + 1):
                if m != vg:
                    cent += v[m][i]
            vm[i] = cent / float(n)
        for i in range(n):
            vr[i] = vm[i] + 1.0 * (vm[i] - v[vg][i])
        fr = objfunc(vr)
        if fr < f[vh] and fr >= f[vs]:
            v[vg] = list(vr)
            f[vg] = fr
        if fr < f[vs]:
            for i in range(n):
                ve[i] = vm[i] + 2.0 * (vr[i] - vm[i])
            fe = objfunc(ve)
            if fe < fr:
                v[vg] = list(ve)
                f[vg] = fe
            else:
                v[vg] = list(vr)
                f[vg] = fr
        if fr >= f[vh]:
            if fr < f[vg] and fr >= f[vh]:
                for i in range(n):
                    vc[i] = vm[i] + 0.5 * (vr[i] - vm[i])
            else:
                for i in range(n):
                    vc[i] = vm[i] - 0.5 * (vm[i] - v[vg][i])
            fc = objfunc(vc)
            if fc < f[vg]:
                v[vg] = list(vc)
                f[vg] = fc
            else:
                for row in range(n + 1):
                    if row != vs:
                        for i in range(n):
                            v[row][i] = v[vs][i] + (v[row][i] - v[vs][i]) / 2.0
                f[vg] = objfunc(v[vg])
                f[vh] = objfunc(v[vh])
        fsum = 0.0
        for i in range(n + 1):
            fsum += f[i]
        favg = fsum / float(n + 1)
        s = 0.0
        for i in range(n + 1):
            d = f[i] - favg
            s += (d * d) / float(n)
        if math.sqrt(s) < epsilon:
            break
    vs = 0
    for i in range(n + 1):
        if f[i] < f[vs]:
            vs = i
    params = list(v[vs])
    return objfunc(v[vs]), params


def holt_winters(times: Sequence[int], values: Sequence[float], h: int, m: int, with_fit: bool,
                 interval: int) -> list[tuple[int, float]]:
    """1.x's damped Holt-Winters forecast of one series (times ascending)."""
    seasonal = m >= 2
    npts = len(values)
    if npts < 2 or (seasonal and npts < m) or h <= 0 or interval <= 0:
        return []
    half = interval // 2

    def round_time(t: int) -> int:
        rem = int(math.fmod(t, interval))
        q = int(t / interval) if abs(t) < 2**52 else (abs(t) // interval) * (1 if t >= 0 else -1)
        if rem > half:
            return (q + 1) * interval
        return q * interval

    start, stop = round_time(times[0]), round_time(times[-1])
    count = (stop - start) // interval
    if count <= 0:
        return []
    y = [float(values[0])]
    t = round_time(times[0])
    for pt, pv in zip(times[1:], values[1:]):
        rounded = round_time(pt)
        if rounded <= t:
            continue
        t += interval
        while rounded != t:
            y.append(math.nan)
            t += interval
        y.append(float(pv))

    l0 = 0.0
    if seasonal:
        for i in range(m):
            if not math.isnan(y[i]):
                l0 += (1 / float(m)) * y[i]
    else:
        l0 += 0.5 * y[0]
    b0 = 0.0
    if seasonal:
        i = 0
        while i < m and m + i < len(y):
            if not math.isnan(y[i]) and not math.isnan(y[m + i]):
                b0 += 1 / float(m * m) * (y[m + i] - y[i])
            i += 1
    elif not math.isnan(y[1]):
        b0 = 0.5 * (y[1] - y[0])
    s = []
    if seasonal:
        s = [(_div(y[i], l0) if not math.isnan(y[i]) else 0.0) for i in range(m)]

    def forecast(hh: int, params: list) -> list:
        # like 1.x, clamps and updates ``params`` (and its seasonal part) in place
        for k in range(4):
            if params[k] > 1:
                params[k] = 1.0
            if params[k] < 0:
                params[k] = 0.0
        yT = y[0]
        phi = params[3]
        phiH = phi
        lT, bT = params[4], params[5]
        mm = len(params) - 6
        so = 0
        if seasonal:
            if mm == 1:
                params[6] = 1.0
            so = mm - 1
        out = [0.0] * (len(y) + hh)
        out[0] = yT
        stm = stmh = 1.0
        alpha, beta, gamma = params[0], params[1], params[2]
        for tt in range(1, len(y) + hh):
            if seasonal:
                hm = tt % mm
                stm = params[6 + (tt - mm + so) % mm]
                stmh = params[6 + (tt - mm + hm + so) % mm]
            lTp, bTp = lT, bT
            lT = alpha * _div(yT, stm) + (1 - alpha) * (lTp + phi * bTp)
            bT = beta * (lT - lTp) + (1 - beta) * phi * bTp
            sT = gamma * _div(yT, lTp + phi * bTp) + (1 - gamma) * stm
            yT = (lT + phiH * bT) * stmh
            phiH += _gomath().pow(phi, float(tt))
            if seasonal:
                params[6 + (tt + so) % mm] = sT
                so += 1
            out[tt] = yT
        return out

    def sse(params: list) -> float:
        total = 0.0
        fc = forecast(0, params)
        for i in range(len(fc)):
            if not math.isnan(y[i]):
                if math.isnan(fc[i]):
                    return math.inf
                d = fc[i] - y[i]
                total += d * d
        return total

    params = [0.0] * (6 + len(s))
    params[4], params[5] = l0, b0
    for i, v in enumerate(s):
        params[6 + i] = v
    best, best_params = math.inf, None
    grid = []
    a = 0.3
    while a < 1.0:
        grid.append(a)
        a += 0.4
    for alpha in grid:
        for beta in grid:
            for gamma in grid:
                for phi in grid:
                    params[0], params[1], params[2], params[3] = alpha, beta, gamma, phi
                    val, p = _nelder_mead(sse, params, 1.0e-4, 1)
                    if val < best or best_params is None:
                        best, best_params = val, p
    fc = forecast(h, best_params)
    out = []
    if with_fit:
        start_t = times[0]
        for i, v in enumerate(fc):
            if not math.isnan(v):
                out.append((start_t + interval * i, v))
    else:
        stop_t = times[-1]
        for i, v in enumerate(fc[len(y):]):
            if not math.isnan(v):
                out.append((stop_t + interval * (i + 1), v))
    return out


def _div(a: float, b: float) -> float:
    """Go's float division (no exception on zero)."""
    if b == 0:
        if a == 0 or math.isnan(a):
            return math.nan
        return math.copysign(math.inf, a) * math.copysign(1.0, b)
    return a / b
