"""Series keys (``measurement[,tag=value...]``) of the vectorised parser.

Owns splitting the distinct series keys of a body column-wise into measurement and tags, with
their validity (empty or oversized names, tag pieces without ``=``, duplicate tag keys), and a
small cache of them for clients that send batch after batch of the same series.  A
:class:`_Series` is shared between threads, so it must never be changed once made (except
``tag_layout``, a memo that ``assemble.py`` fills with the same value whichever thread does).
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from .errors import _STRING_LIMIT
from .vector import _offsets_data


class _Series:
    """The distinct series keys (`measurement[,k=v...]`) of a body, parsed column-wise."""

    def __init__(self, U):
        nU = len(U)
        parts = pc.split_pattern(U, pattern=",")
        po = parts.offsets.to_numpy().astype(np.int64)
        po -= po[0]
        pieces = parts.flatten()
        npieces = np.diff(po)
        first = po[:-1]
        meas = pieces.take(pa.array(first))
        ok = np.ones(nU, dtype=bool)
        mlen = pc.binary_length(meas).to_numpy()
        ok &= (mlen > 0) & (mlen <= _STRING_LIMIT)
        tagmask = np.ones(len(pieces), dtype=bool)
        tagmask[first] = False
        parent = np.repeat(np.arange(nU), npieces)
        self.tpos = (np.arange(len(pieces)) - np.repeat(first, npieces))[tagmask] - 1
        self.tparent = parent[tagmask]
        self.poff = np.zeros(nU + 1, dtype=np.int64)
        np.cumsum(npieces - 1, out=self.poff[1:])
        tp = pieces.filter(pa.array(tagmask))
        kv = pc.split_pattern(tp, pattern="=", max_splits=1)
        kvo = kv.offsets.to_numpy().astype(np.int64)
        kvo -= kvo[0]
        has2 = np.diff(kvo) == 2
        flat = kv.flatten()
        ko = kvo[:-1]
        keys = flat.take(pa.array(ko))
        self.vals = flat.take(pa.array(np.where(has2, ko + 1, ko)))
        klen = pc.binary_length(keys).to_numpy()
        vlen = pc.binary_length(self.vals).to_numpy()
        pok = has2 & (klen > 0) & (vlen > 0) & (klen <= _STRING_LIMIT) & (vlen <= _STRING_LIMIT)
        ok[self.tparent[~pok]] = False
        kenc = pc.dictionary_encode(keys)
        self.kcode = kenc.indices.to_numpy(zero_copy_only=False).astype(np.int64)
        self.key_names = kenc.dictionary.to_pylist()
        nk = len(self.key_names)
        if len(self.kcode) > 1:  # duplicate tag keys within one series
            comb = np.sort(self.tparent * nk + self.kcode)
            dup = comb[1:] == comb[:-1]
            if dup.any():
                ok[comb[1:][dup] // nk] = False
        menc = pc.dictionary_encode(meas)
        self.mcode = menc.indices.to_numpy(zero_copy_only=False).astype(np.int64)
        self.meas_names = menc.dictionary.to_pylist()
        self.ok = ok
        self.tag_layout = None  # how all these series fill tag columns (assemble._tag_layout)


_SERIES_CACHE: dict = {}  # bytes of a body's distinct series keys -> their _Series
_SERIES_CACHE_ENTRIES = 16
_SERIES_CACHE_MAX_BYTES = 1 << 18  # bodies with more distinct series than this are not kept


def _series_of(U) -> _Series:
    """``_Series(U)``, reused when a recent body had the same distinct series keys (a client
    sending batches of the same hosts): ~0.2 us per line of pyarrow.compute calls saved.
    A _Series is never changed after it is made, so threads may share one."""
    o, d = _offsets_data(U)
    lo, hi = int(o[0]), int(o[-1])
    if hi - lo > _SERIES_CACHE_MAX_BYTES:
        return _Series(U)
    key = (o - lo).tobytes() + d[lo:hi].tobytes()
    ser = _SERIES_CACHE.get(key)
    if ser is None:
        ser = _Series(U)
        if len(_SERIES_CACHE) >= _SERIES_CACHE_ENTRIES:
            _SERIES_CACHE.clear()
        _SERIES_CACHE[key] = ser
    return ser
