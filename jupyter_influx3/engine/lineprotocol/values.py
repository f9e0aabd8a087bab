"""Field and timestamp values of the vectorised parser, parsed exactly, column-wise.

Owns guessing a field value's type from its last byte, and the exact parses of integers and
unsigned integers (SWAR arithmetic on unaligned 8-byte loads, with overflow detection),
timestamps and floats (Arrow casts after a grammar check), string values (exactly one quoted
string of at most 64 KiB) and booleans (the ten spellings).  Each returns values plus an ok mask:
a value that is not ok goes to the exact parser with its line; it must never be guessed.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from .errors import _STRING_LIMIT
from .vector import _offsets_data, _Src, _Words

if TYPE_CHECKING:
    from .fieldsets import _FieldSets


_FT_FLOAT, _FT_INT, _FT_UINT, _FT_STRING, _FT_BOOL = 0, 1, 2, 3, 4  # indexes into FIELD_TYPES
# (string values are int64 indexes into _FieldSets.strings())
_NP_FIELD_DTYPES = {
    _FT_FLOAT: np.float64, _FT_INT: np.int64, _FT_UINT: np.uint64, _FT_STRING: np.int64, _FT_BOOL: np.bool_,
}  # fmt: skip
_BOOL_SPELLINGS = pa.array(["t", "T", "true", "True", "TRUE", "f", "F", "false", "False", "FALSE"])
_FLOAT_GRAMMAR = r"^-?[0-9]+(?:\.[0-9]+)?(?:[eE][-+]?[0-9]+)?$"
_TYPE_BY_LAST_BYTE = np.full(256, -1, dtype=np.int8)  # a value's type, guessed from its last byte
_TYPE_BY_LAST_BYTE[list(b"0123456789")] = _FT_FLOAT
_TYPE_BY_LAST_BYTE[list(b"eEtTfF")] = _FT_BOOL
_TYPE_BY_LAST_BYTE[ord("i")] = _FT_INT
_TYPE_BY_LAST_BYTE[ord("u")] = _FT_UINT
_TYPE_BY_LAST_BYTE[ord('"')] = _FT_STRING
_U64 = np.uint64
_ONES = _U64(0xFFFFFFFFFFFFFFFF)
_ASCII0 = _U64(0x3030303030303030)


def _swar8(w, L):
    """Decimal value of the first L (1..8; array or int) bytes of LE words ``w``, and whether
    they are all ASCII digits.  (SWAR: validate, right-align, combine pairs, quads, octets.)"""
    if isinstance(L, int):
        sh = _U64(8 * (8 - L))
        mask = _ONES >> sh
        x = np.bitwise_and(w, mask)
        x |= _ASCII0 & ~mask  # bytes past the digits read as '0'
    else:
        sh = (8 - L).astype(np.uint64)
        sh *= _U64(8)
        mask = np.right_shift(_ONES, sh)
        x = np.bitwise_and(w, mask)
        np.invert(mask, out=mask)
        np.bitwise_and(mask, _ASCII0, out=mask)
        np.bitwise_or(x, mask, out=x)  # bytes past the digits read as '0'
    t = x + _U64(0x4646464646464646)
    np.subtract(x, _ASCII0, out=x)
    np.bitwise_or(t, x, out=t)
    np.bitwise_and(t, _U64(0x8080808080808080), out=t)
    ok = t == 0
    np.left_shift(x, sh, out=x)
    np.bitwise_and(x, _U64(0x0F0F0F0F0F0F0F0F), out=x)
    np.multiply(x, _U64(2561), out=x)
    np.right_shift(x, _U64(8), out=x)
    np.bitwise_and(x, _U64(0x00FF00FF00FF00FF), out=x)
    np.multiply(x, _U64(6553601), out=x)
    np.right_shift(x, _U64(16), out=x)
    np.bitwise_and(x, _U64(0x0000FFFF0000FFFF), out=x)
    np.multiply(x, _U64(42949672960001), out=x)
    np.right_shift(x, _U64(32), out=x)
    return x, ok


_U32 = np.uint32


def _swar4(w, L):
    """Like _swar8 for L in 1..4, on 32-bit lanes (half the memory traffic)."""
    x = w.astype(np.uint32)
    sh = (4 - L).astype(np.uint32)
    sh *= _U32(8)
    mask = np.right_shift(_U32(0xFFFFFFFF), sh)
    np.bitwise_and(x, mask, out=x)
    np.invert(mask, out=mask)
    np.bitwise_and(mask, _U32(0x30303030), out=mask)
    np.bitwise_or(x, mask, out=x)
    t = x + _U32(0x46464646)
    np.subtract(x, _U32(0x30303030), out=x)
    np.bitwise_or(t, x, out=t)
    np.bitwise_and(t, _U32(0x80808080), out=t)
    ok = t == 0
    np.left_shift(x, sh, out=x)
    np.bitwise_and(x, _U32(0x0F0F0F0F), out=x)
    np.multiply(x, _U32(2561), out=x)
    np.right_shift(x, _U32(8), out=x)
    np.bitwise_and(x, _U32(0x00FF00FF), out=x)
    np.multiply(x, _U32(6553601), out=x)
    np.right_shift(x, _U32(16), out=x)
    return x.astype(np.uint64), ok


def _parse_decimal(words: _Words, start, end, signed: bool):
    """Exact parse of the items [start, end) as `-?[0-9]+` (signed) or `[0-9]+`.

    Returns (values int64/uint64, ok).  Items with more than 19 digits are not ok (so are
    overflowing ones); the exact parser decides those."""
    L = end - start
    w = words.load(start)
    neg = None
    if signed:
        neg = w.view(np.uint8)[::8] == 45  # first byte is '-'
        if neg.any():
            ni = np.flatnonzero(neg)
            start = start + neg
            L = L - neg
            w[ni] = words.load(start[ni])
        else:
            neg = None
    lmin, lmax = int(L.min()), int(L.max())
    if lmin >= 1 and lmax <= 8:
        if lmin == lmax:
            v, ok = _swar8(w, lmin)
        else:
            v, ok = (_swar4 if lmax <= 4 else _swar8)(w, L)
    elif lmin == lmax and 8 < lmin <= 19:  # e.g. nanosecond timestamps: fixed-length groups
        v, ok = _swar8(words.load(start + (lmin - 8)), 8)
        l1 = min(lmin - 8, 8)
        v1, ok1 = _swar8(words.load(start + (lmin - 8 - l1)), l1)
        ok &= ok1
        v1 *= _U64(100_000_000)
        v += v1
        if lmin > 16:
            v2, ok2 = _swar8(w, lmin - 16)
            ok &= ok2
            v2 *= _U64(10**16)
            v += v2
    else:
        ok = (L >= 1) & (L <= 19)
        Lc = np.clip(L, 1, 19)
        l0 = np.minimum(Lc, 8)
        v, ok0 = _swar8(words.load(start + Lc - l0), l0)
        ok &= ok0
        if lmax > 8:
            i1 = np.flatnonzero(Lc > 8)
            L1 = Lc[i1]
            l1 = np.minimum(L1 - 8, 8)
            v1, ok1 = _swar8(words.load(start[i1] + L1 - 8 - l1), l1)
            ok[i1] &= ok1
            v[i1] += v1 * _U64(100_000_000)
            i2 = i1[L1 > 16]
            if len(i2):
                v2, ok2 = _swar8(words.load(start[i2]), Lc[i2] - 16)
                ok[i2] &= ok2
                v[i2] += v2 * _U64(10**16)
    if not signed:
        return v, ok
    if lmax >= 19:
        lim = _U64((1 << 63) - 1)
        if neg is None:
            ok &= v <= lim
        else:
            ok &= v <= lim + neg.astype(np.uint64)
    if neg is not None:
        np.negative(v, out=v, where=neg)  # two's complement in uint64
    return v.view(np.int64), ok


def _parse_timestamps(arr):
    """Strict `-?[0-9]+` -> int64 of a string array with Arrow's cast (faster than SWAR for
    19-digit nanosecond timestamps).  Returns (values, ok); when something overflows, every
    item with 19 or more digits is left to the exact parser."""
    n = len(arr)
    o, d = _offsets_data(arr)
    lens = np.diff(o)
    lo, hi = int(o[0]), int(o[-1])
    seg = d[lo:hi]
    nd = np.flatnonzero((seg < 48) | (seg > 57)) + lo  # must be a leading '-' followed by a digit
    neg = np.zeros(n, dtype=bool)
    ok = lens > 0
    if len(nd):
        item = np.searchsorted(o, nd, side="right") - 1
        lead = (d[nd] == 45) & (nd == o[item])
        neg[item[lead]] = True
        ok[item[~lead]] = False
        ok &= lens > neg
    try:
        vals = (arr if ok.all() else arr.filter(pa.array(ok))).cast(pa.int64())
    except pa.ArrowInvalid:  # overflow (Arrow also parses 0x.. hex, but 'x' was rejected above)
        ok &= (lens - neg) < 19
        vals = arr.filter(pa.array(ok)).cast(pa.int64())
    if len(vals) == n:
        return vals.to_numpy(), ok
    out = np.zeros(n, dtype=np.int64)
    out[ok] = vals.to_numpy()
    return out, ok


def _parse_floats(arr):
    """Parse InfluxDB 3's float grammar `-?\\d+(\\.\\d+)?([eE][-+]?\\d+)?` exactly (Arrow's
    cast is correctly rounded, like Rust's and Python's); non-finite values are not ok."""
    n = len(arr)
    o, d = _offsets_data(arr)
    ok = np.diff(o) > 0
    lo, hi = int(o[0]), int(o[-1])
    seg = d[lo:hi]
    nd = np.flatnonzero((seg < 48) | (seg > 57)) + lo
    if len(nd):
        item = np.searchsorted(o, nd, side="right") - 1
        ch = d[nd]
        is_minus = ch == 45
        is_dot = ch == 46
        last = len(d) - 1
        nxt = d[np.minimum(nd + 1, last)]
        prv = d[np.maximum(nd - 1, 0)]
        nxt_digit = (nd + 1 < o[item + 1]) & (nxt >= 48) & (nxt <= 57)
        prv_digit = (nd > o[item]) & (prv >= 48) & (prv <= 57)
        bad = (is_minus & ~((nd == o[item]) & nxt_digit)) | (is_dot & ~(prv_digit & nxt_digit))
        ok[item[bad]] = False
        ok &= np.bincount(item[is_dot], minlength=n) <= 1
        exotic = np.unique(item[~(is_minus | is_dot)])
        if len(exotic):
            m = pc.match_substring_regex(arr.take(pa.array(exotic)), _FLOAT_GRAMMAR)
            ok[exotic] = m.to_numpy(zero_copy_only=False)
    out = np.zeros(n, dtype=np.float64)
    okidx = np.flatnonzero(ok)
    if len(okidx):
        try:
            vals = (arr if len(okidx) == n else arr.take(pa.array(okidx))).cast(pa.float64())
        except pa.ArrowInvalid:
            return out, np.zeros(n, dtype=bool)
        v = vals.to_numpy()
        out[okidx] = v
        ok[okidx[~np.isfinite(v)]] = False
    return out, ok


def _parse_strings(d, vs, ve, ssrc: "_Src", fl: "_FieldSets"):
    """String field values at [vs, ve) of the masked field bytes ``d`` (quoted contents
    replaced, see _mask_quoted): ok when the value is exactly one quoted string -- a quote
    first, a quote last, no quote in between (not `"a"b"`), at most 64 KiB of content.  The
    contents are cut from the unmasked bytes (``ssrc``, same offsets) and appended to the
    strings of ``fl``; the values returned are their indexes there."""
    n = len(d)
    L = ve - vs
    ok = (L >= 2) & (L - 2 <= _STRING_LIMIT)
    ok &= d[np.minimum(vs, n - 1)] == 34
    qp = np.flatnonzero(d == 34)
    ok &= np.searchsorted(qp, ve) - np.searchsorted(qp, vs) == 2
    s = np.minimum(vs + 1, ve)
    e = np.maximum(ve - 1, s)
    base = fl.add_strings(ssrc.slices(s, e))
    return np.arange(base, base + len(vs), dtype=np.int64), ok


def _parse_bools(arr):
    idx = pc.index_in(arr, value_set=_BOOL_SPELLINGS)
    ok = idx.is_valid().to_numpy(zero_copy_only=False)
    return idx.fill_null(0).to_numpy(zero_copy_only=False) < 5, ok


def _parse_values(src: "_Src", words: _Words, vs, ve, strs=None):
    """Type and parse field values [vs, ve) (flat arrays).  Returns (ftype int8 with -1 for
    unknown forms, {type: values}, ok).  ``strs`` is (source of the unmasked bytes, the
    _FieldSets that collects string values) when the body has string fields."""
    nf = len(vs)
    end = ve - 1
    last = words.d.take(end)
    if (last == 105).all():  # every value ends in `i` (the usual batch): all integers, no type pass
        v, ok = _parse_decimal(words, vs, end, True)
        return np.full(nf, _FT_INT, dtype=np.int8), {_FT_INT: v}, ok
    ftype = _TYPE_BY_LAST_BYTE.take(last)
    ok = ftype >= 0
    values = {}
    for tt in (_FT_INT, _FT_UINT, _FT_FLOAT, _FT_BOOL, _FT_STRING):
        sel = ftype == tt
        if tt == _FT_INT and sel.all():
            values[tt], ok = _parse_decimal(words, vs, ve - 1, True)
            break
        idx = np.flatnonzero(sel)
        if not len(idx):
            continue
        if tt == _FT_INT or tt == _FT_UINT:
            v, vok = _parse_decimal(words, vs[idx], ve[idx] - 1, tt == _FT_INT)
        elif tt == _FT_FLOAT:  # (min: ill-formed fields must still give ordered slices)
            v, vok = _parse_floats(src.slices(np.minimum(vs[idx], ve[idx]), ve[idx]))
        elif tt == _FT_STRING:
            if strs is None:  # (cannot happen: a body without quotes has no value ending in one)
                ok[idx] = False
                continue
            v, vok = _parse_strings(words.d, vs[idx], ve[idx], *strs)
        else:
            v, vok = _parse_bools(src.slices(np.minimum(vs[idx], ve[idx]), ve[idx]))
        full = np.zeros(nf, dtype=_NP_FIELD_DTYPES[tt])
        full[idx] = v
        values[tt] = full
        ok[idx[~vok]] = False
    return ftype, values, ok
