"""Go's float64 math, bit for bit, for InfluxQL's math functions.

InfluxDB 1.x answers ``sin()``, ``ln()``, ``pow()``... with Go's ``math`` package, whose results
differ from the C library's in the last bit now and then (Go computes them with its own Cephes /
FreeBSD derived polynomials, ``Exp`` and ``Log`` with amd64 assembly).  These functions evaluate
the same algorithms in the same operation order so the answers match 1.x exactly.  They work on
Python floats (IEEE doubles, round-to-nearest); the one fused multiply-add ``Exp`` uses on CPUs with
FMA is computed exactly with fractions.
"""

from __future__ import annotations

import math
from decimal import Decimal, getcontext
from fractions import Fraction

getcontext().prec = 80
_PI = Decimal("3.14159265358979323846264338327950288419716939937510582097494459230781640628620899")
_LN2 = Decimal("0.693147180559945309417232121458176568075500134360255254120680009493393621969694715")
_LN10 = Decimal("2.30258509299404568401799145468436420760110148862877297603332790096757260967735248")

# Go evaluates constant expressions exactly and rounds once
PI = float(_PI)
FOUR_OVER_PI = float(4 / _PI)
INV_LN2 = float(1 / _LN2)
INV_LN10 = float(1 / _LN10)

_NAN = float("nan")
_INF = float("inf")


def fma(a: float, b: float, c: float) -> float:
    """a*b + c rounded once."""
    if not (math.isfinite(a) and math.isfinite(b) and math.isfinite(c)):
        return a * b + c
    r = Fraction(a) * Fraction(b) + Fraction(c)
    if r == 0:
        return (a * b) + c  # the sign of a zero result
    return float(r)


# -- log (amd64 assembly: FreeBSD's e_log.c in this order) -------------------------------------

_L1 = 6.666666666666735130e-01
_L2 = 3.999999999940941908e-01
_L3 = 2.857142874366239149e-01
_L4 = 2.222219843214978396e-01
_L5 = 1.818357216161805012e-01
_L6 = 1.531383769920937332e-01
_L7 = 1.479819860511658591e-01
_LN2HI = 6.93147180369123816490e-01
_LN2LO = 1.90821492927058770002e-10
_HSQRT2 = 7.07106781186547524401e-01


def log(x: float) -> float:
    if x != x or x == _INF:
        return x
    if x == 0:
        return -_INF
    if x < 0:
        return _NAN
    f1, ki = math.frexp(x)
    k = float(ki)
    if f1 < _HSQRT2:
        k -= 1.0
        f1 *= 2.0
    f = f1 - 1.0
    s = f / (2.0 + f)
    s2 = s * s
    s4 = s2 * s2
    t1 = s2 * (_L1 + s4 * (_L3 + s4 * (_L5 + s4 * _L7)))
    t2 = s4 * (_L2 + s4 * (_L4 + s4 * _L6))
    r = t1 + t2
    hfsq = 0.5 * f * f
    return k * _LN2HI - ((hfsq - (s * (hfsq + r) + k * _LN2LO)) - f)


def log10(x: float) -> float:
    return log(x) * INV_LN10


def log2(x: float) -> float:
    frac, e = math.frexp(x)
    if frac == 0.5:
        return float(e - 1)
    return log(frac) * INV_LN2 + float(e)


# -- exp (amd64 assembly, FMA path: Shibata's method) ---------------------------------------------

_LOG2E = 1.4426950408889634073599246810018920
_LN2U = 0.69314718055966295651160180568695068359375
_LN2L = 0.28235290563031577122588448175013436025525412068e-12
_OVERFLOW = 7.09782712893384e+02
_E = (0.5, 1.0, 2.0, 1.6666666666666666667e-1, 4.1666666666666666667e-2, 8.3333333333333333333e-3,
      1.3888888888888888889e-3, 1.9841269841269841270e-4, 2.4801587301587301587e-5)


def exp(x: float) -> float:
    if x != x or x == _INF:
        return x
    if x == -_INF:
        return 0.0
    if x > _OVERFLOW:
        return _INF
    t = _LOG2E * x
    if not -2147483648.0 <= t <= 2147483647.0:
        k = -2147483648  # CVTSD2SL's "integer indefinite"
    else:
        k = int(round(t))  # round half to even, as CVTSD2SL does
    kf = float(k)
    x0 = fma(-_LN2U, kf, x)
    x0 = fma(-_LN2L, kf, x0)
    x0 *= 0.0625
    x1 = _E[8]
    for c in (_E[7], _E[6], _E[5], _E[4], _E[3], _E[0], _E[1]):
        x1 = fma(x1, x0, c)
    x0 = x0 * x1
    for _ in range(3):
        x1 = x0 + 2.0
        x0 = x0 * x1
    x1 = x0 + 2.0
    x0 = fma(x0, x1, 1.0)
    b = k + 0x3FF
    if b <= 0:
        return 0.0
    if b >= 0x7FF:
        return _INF
    return x0 * math.ldexp(1.0, k)


# -- sin / cos / tan (Cephes) -----------------------------------------------------------------

_PI4A = 7.85398125648498535156e-1
_PI4B = 3.77489470793079817668e-8
_PI4C = 2.69515142907905952645e-15
_REDUCE_THRESHOLD = float(1 << 29)
_SIN = (1.58962301576546568060e-10, -2.50507477628578072866e-8, 2.75573136213857245213e-6,
        -1.98412698295895385996e-4, 8.33333333332211858878e-3, -1.66666666666666307295e-1)
_COS = (-1.13585365213876817300e-11, 2.08757008419747316778e-9, -2.75573141792967388112e-7,
        2.48015872888517045348e-5, -1.38888888888730564116e-3, 4.16666666666665929218e-2)
_TANP = (-1.30936939181383777646e4, 1.15351664838587416140e6, -1.79565251976484877988e7)
_TANQ = (1.0, 1.36812963470692954678e4, -1.32089234440210967447e6, 2.50083801823357915839e7,
         -5.38695755929454629881e7)


def _octant(x: float) -> tuple[int, float]:
    j = int(x * FOUR_OVER_PI)
    y = float(j)
    if j & 1:
        j += 1
        y += 1
    z = ((x - y * _PI4A) - y * _PI4B) - y * _PI4C
    return j, z


def _sin_poly(z: float, zz: float) -> float:
    return z + z * zz * ((((((_SIN[0] * zz) + _SIN[1]) * zz + _SIN[2]) * zz + _SIN[3]) * zz + _SIN[4]) * zz
                         + _SIN[5])


def _cos_poly(zz: float) -> float:
    return 1.0 - 0.5 * zz + zz * zz * ((((((_COS[0] * zz) + _COS[1]) * zz + _COS[2]) * zz + _COS[3]) * zz
                                         + _COS[4]) * zz + _COS[5])


def _odd(x: float, libc, reduced) -> float:
    """Go's Sin and Tan around their polynomials: ±0 and NaN are returned as they are, ±Inf gives
    NaN, f(-x) is -f(x), and from 2**29 on (where Go reduces with Payne-Hanek) the C library's
    answer stands in; ``reduced`` computes f for the rest (0 < x < 2**29)."""
    if x == 0 or x != x:
        return x
    if math.isinf(x):
        return _NAN
    sign = x < 0
    if sign:
        x = -x
    y = libc(x) if x >= _REDUCE_THRESHOLD else reduced(x)
    return -y if sign else y


def _sin_reduced(x: float) -> float:
    j, z = _octant(x)
    j &= 7
    sign = j > 3
    if sign:
        j -= 4
    zz = z * z
    y = _cos_poly(zz) if j in (1, 2) else _sin_poly(z, zz)
    return -y if sign else y


def sin(x: float) -> float:
    return _odd(x, math.sin, _sin_reduced)


def cos(x: float) -> float:
    if x != x or math.isinf(x):
        return _NAN
    x = abs(x)
    if x >= _REDUCE_THRESHOLD:
        return math.cos(x)
    sign = False
    j, z = _octant(x)
    j &= 7
    if j > 3:
        j -= 4
        sign = not sign
    if j > 1:
        sign = not sign
    zz = z * z
    y = _sin_poly(z, zz) if j in (1, 2) else _cos_poly(zz)
    return -y if sign else y


def _tan_reduced(x: float) -> float:
    j, z = _octant(x)
    zz = z * z
    if zz > 1e-14:
        y = z + z * (zz * (((_TANP[0] * zz) + _TANP[1]) * zz + _TANP[2])
                     / ((((zz + _TANQ[1]) * zz + _TANQ[2]) * zz + _TANQ[3]) * zz + _TANQ[4]))
    else:
        y = z
    if j & 2 == 2:
        y = -1 / y
    return y


def tan(x: float) -> float:
    return _odd(x, math.tan, _tan_reduced)


# -- atan / asin / acos / atan2 (Cephes) --------------------------------------------------------

_MOREBITS = 6.123233995736765886130e-17
_TAN3PIO8 = 2.41421356237309504880
_P = (-8.750608600031904122785e-01, -1.615753718733365076637e+01, -7.500855792314704667340e+01,
      -1.228866684490136173410e+02, -6.485021904942025371773e+01)
_Q = (2.485846490142306297962e+01, 1.650270098316988542046e+02, 4.328810604912902668951e+02,
      4.853903996359136964868e+02, 1.945506571482613964425e+02)


def _xatan(x: float) -> float:
    z = x * x
    z = z * ((((_P[0] * z + _P[1]) * z + _P[2]) * z + _P[3]) * z + _P[4]) / (
        ((((z + _Q[0]) * z + _Q[1]) * z + _Q[2]) * z + _Q[3]) * z + _Q[4])
    return x * z + x


def _satan(x: float) -> float:
    if x <= 0.66:
        return _xatan(x)
    if x > _TAN3PIO8:
        return PI / 2 - _xatan(1 / x) + _MOREBITS
    return PI / 4 + _xatan((x - 1) / (x + 1)) + 0.5 * _MOREBITS


def atan(x: float) -> float:
    if x == 0 or x != x:
        return x
    return _satan(x) if x > 0 else -_satan(-x)


def asin(x: float) -> float:
    if x == 0 or x != x:
        return x
    sign = False
    if x < 0:
        x, sign = -x, True
    if x > 1:
        return _NAN
    temp = math.sqrt(1 - x * x)
    if x > 0.7:
        temp = PI / 2 - _satan(temp / x)
    else:
        temp = _satan(x / temp)
    return -temp if sign else temp


def acos(x: float) -> float:
    return PI / 2 - asin(x)


def atan2(y: float, x: float) -> float:
    if y != y or x != x:
        return _NAN
    if y == 0:
        if x >= 0 and math.copysign(1.0, x) > 0:
            return math.copysign(0.0, y)
        return math.copysign(PI, y)
    if x == 0:
        return math.copysign(PI / 2, y)
    if math.isinf(x):
        if x > 0:
            return math.copysign(PI / 4, y) if math.isinf(y) else math.copysign(0.0, y)
        return math.copysign(3 * PI / 4, y) if math.isinf(y) else math.copysign(PI, y)
    if math.isinf(y):
        return math.copysign(PI / 2, y)
    q = atan(y / x)
    if x < 0:
        return q + PI if q <= 0 else q - PI
    return q


# -- pow ----------------------------------------------------------------------------------------


def _is_odd_int(x: float) -> bool:
    if not math.isfinite(x):
        return False
    xf, xi = math.modf(x)
    return xf == 0 and abs(xi) < 2 ** 63 and int(xi) & 1 == 1


def pow(x: float, y: float) -> float:
    if y == 0 or x == 1:
        return 1.0
    if x != x or y != y:
        return _NAN
    if x == 0:
        if y < 0:
            return math.copysign(_INF, x) if _is_odd_int(y) else _INF
        return x if _is_odd_int(y) else 0.0
    if math.isinf(y):
        if x == -1:
            return 1.0
        return 0.0 if (abs(x) < 1) == (y > 0) else _INF
    if math.isinf(x):
        if x < 0:
            return pow(1 / x, -y)
        return 0.0 if y < 0 else _INF
    if y == 0.5:
        return math.sqrt(x)
    if y == -0.5:
        return 1 / math.sqrt(x)
    yf, yi = math.modf(abs(y))
    if yf != 0 and x < 0:
        return _NAN
    if yi >= 2.0 ** 63:
        if x == -1:
            return 1.0
        return 0.0 if (abs(x) < 1) == (y > 0) else _INF
    a1, ae = 1.0, 0
    if yf != 0:
        if yf > 0.5:
            yf -= 1
            yi += 1
        a1 = exp(yf * log(x))
    x1, xe = math.frexp(x)
    i = int(yi)
    while i != 0:
        if xe < -(1 << 12) or (1 << 12) < xe:
            ae += xe
            break
        if i & 1:
            a1 *= x1
            ae += xe
        x1 *= x1
        xe <<= 1
        if x1 < 0.5:
            x1 += x1
            xe -= 1
        i >>= 1
    if y < 0:
        a1 = 1 / a1
        ae = -ae
    try:
        return math.ldexp(a1, ae)
    except OverflowError:
        return math.copysign(_INF, a1)
