"""Building blocks of the vectorised parser, with no line protocol syntax in them.

Owns cutting arrays of slices out of a byte buffer without a Python object per slice
(:class:`_Src`), reading the offsets and bytes of Arrow string arrays, unaligned little-endian
8-byte loads (:class:`_Words`), per-thread scratch masks, concatenated ranges, grouping items by
a code, and :class:`_Decline`, the signal that hands a whole body to the exact parser.  Must not
know what a measurement, tag or field is.
"""

from __future__ import annotations

import threading

import numpy as np
import pyarrow as pa


_SCRATCH = threading.local()


def _scratch_bool(n: int):
    """A reusable per-thread bool array of length n, for big temporary masks: allocating
    fresh ones costs more in page faults than the comparisons themselves."""
    buf = getattr(_SCRATCH, "buf", None)
    if buf is None or len(buf) < n:
        buf = _SCRATCH.buf = np.empty(max(n, 1 << 20), dtype=bool)
    return buf[:n]


class _Decline(Exception):
    """Raised inside the fast path to hand the whole body to the exact parser."""


class _Src:
    """A byte buffer from which arrays of (sorted, non-overlapping) slices are cut."""

    __slots__ = ("buf", "nbytes", "typ", "odt")

    def __init__(self, buf, nbytes: int):
        self.buf = buf
        self.nbytes = int(nbytes)
        large = self.nbytes >= 2**31 - 1
        self.typ = pa.large_string() if large else pa.string()
        self.odt = np.int64 if large else np.int32

    def slices(self, s, e) -> pa.Array:
        n = len(s)
        if n == 0:
            return pa.array([], type=self.typ)
        off = np.empty(2 * n + 1, dtype=self.odt)
        off[0 : 2 * n : 2] = s
        off[1 : 2 * n : 2] = e
        off[2 * n] = self.nbytes
        if off[0] < 0 or (off[1:] < off[:-1]).any():  # never hand Arrow inconsistent offsets
            raise AssertionError("line protocol fast path: unordered slices")
        part = pa.Array.from_buffers(self.typ, 2 * n, [None, pa.py_buffer(off), self.buf])
        return part.take(pa.array(np.arange(0, 2 * n, 2, dtype=self.odt)))


def _offsets_data(arr):
    """(offsets as int64 numpy [n+1], data bytes as uint8 numpy) of a (large_)string array."""
    bufs = arr.buffers()
    odt = np.int64 if pa.types.is_large_string(arr.type) else np.int32
    o = np.frombuffer(bufs[1], dtype=odt)[arr.offset : arr.offset + len(arr) + 1].astype(np.int64)
    d = np.frombuffer(bufs[2], dtype=np.uint8) if bufs[2] is not None else np.zeros(0, np.uint8)
    return o, d


class _Words:
    """Unaligned little-endian 8-byte loads from a byte array (bytes past the end read as 0)."""

    __slots__ = ("d", "n", "w", "pad")

    def __init__(self, d):
        self.d = d
        self.n = n = len(d)
        self.w = np.ndarray((n - 7,), dtype="<u8", buffer=d, strides=(1,)) if n >= 8 else None
        pad = np.zeros(24, dtype=np.uint8)
        m = min(n, 16)
        pad[:m] = d[n - m :]
        self.pad = (np.ndarray((17,), dtype="<u8", buffer=pad, strides=(1,)), n - m)

    def load(self, pos):
        n = self.n
        if self.w is not None and (len(pos) == 0 or int(pos.max()) <= n - 8):
            return self.w[pos]  # (ndarray.take would copy the whole strided view)
        if self.w is not None:
            out = self.w[np.minimum(pos, n - 8)]
        else:
            out = np.zeros(len(pos), dtype=np.uint64)
        tail = pos > n - 8
        pw, base = self.pad
        out[tail] = pw[np.minimum(pos[tail] - base, 16)]
        return out


def _ranges(starts, counts):
    """Concatenation of arange(starts[i], starts[i] + counts[i])."""
    total = int(counts.sum())
    if total == 0:
        return np.zeros(0, dtype=np.int64)
    cs = np.zeros(len(counts), dtype=np.int64)
    np.cumsum(counts[:-1], out=cs[1:])
    return np.repeat(starts - cs, counts) + np.arange(total)


def _split_groups(codes, items):
    """[(code, items with that code)] in order of first appearance (items sorted)."""
    if len(codes) == 0:
        return []
    c0 = codes[0]
    if (codes == c0).all():
        return [(int(c0), items)]
    order = np.argsort(codes, kind="stable")
    cs = codes[order]
    cuts = np.flatnonzero(cs[1:] != cs[:-1]) + 1
    groups = [(int(cs[a]), items[order[a:z]]) for a, z in zip(np.r_[0, cuts], np.r_[cuts, len(cs)])]
    groups.sort(key=lambda g: g[1][0])
    return groups
