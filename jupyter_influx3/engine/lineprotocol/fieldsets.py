"""Field sets (``key=value[,key=value...]``) of the vectorised parser.

Owns grouping the field sections of the candidate lines into (lines x fields) layouts: first by
comparing them with "template" lines (only the commas need finding), then by splitting the rest at
every ``=`` and ``,`` and grouping by key sequence; the values are parsed by ``values.py``.  A line
it cannot prove regular is marked not ok (the exact parser takes it); too many distinct key
sequences decline the whole body.  Must not assemble columns (``assemble.py``).
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from .errors import _STRING_LIMIT
from .values import _parse_values
from .vector import _Decline, _offsets_data, _scratch_bool, _split_groups, _Src, _Words


_TEMPLATE_TRIES = 4  # field-key "templates" tried before the general field-set split
_SIG_LIMIT = 256  # above this many distinct field-key sequences the body is declined


class _FieldGroup:
    """Lines sharing one field-key sequence, as (lines x fields) arrays."""

    __slots__ = ("lines", "keys", "ftype", "values")

    def __init__(self, lines, keys, ftype, values):
        self.lines = lines  # candidate line indexes (sorted)
        self.keys = keys  # key ids, one per field position
        self.ftype = ftype  # (n, k) int8
        self.values = values  # {type: (n, k) array}


class _FieldSets:
    """Result of the vectorised field-set parse of M candidate lines."""

    def __init__(self, M: int):
        self.line_ok = np.ones(M, dtype=bool)
        self.gid = np.full(M, -1, dtype=np.int64)  # group of each line
        self.gpos = np.zeros(M, dtype=np.int64)  # row within its group
        self.groups = []
        self.key_id = {}
        self._str_chunks = []
        self._str_count = 0
        self._strings = None

    def add_strings(self, arr) -> int:
        """Append string values; returns the index of the first one."""
        base = self._str_count
        self._str_chunks.append(arr)
        self._str_count += len(arr)
        self._strings = None
        return base

    def strings(self) -> pa.Array:
        if self._strings is None:
            chunks = [c if c.type == pa.string() else c.cast(pa.string()) for c in self._str_chunks]
            self._strings = chunks[0] if len(chunks) == 1 else pa.concat_arrays(chunks)
        return self._strings

    def add_group(self, lines, names, ftype, values, vok):
        keys = [self.key_id.setdefault(nm, len(self.key_id)) for nm in names]
        g = len(self.groups)
        self.groups.append(_FieldGroup(lines, keys, ftype, values))
        self.gid[lines] = g
        self.gpos[lines] = np.arange(len(lines))
        if not vok.all():  # (the row-wise reduction costs ~50x the whole-array check)
            bad = ~vok.all(axis=1)
            self.line_ok[lines[bad]] = False


def _template_keys(section: bytes):
    """Field keys (each with its `=`) of a field section that is plainly `k=v,k=v...` with
    distinct, non-empty, not-too-long keys and non-empty values; else None."""
    keys = []
    for part in section.split(b","):
        eq = part.find(b"=")
        if eq <= 0 or eq == len(part) - 1 or eq > _STRING_LIMIT:
            return None
        keys.append(part[: eq + 1])
    if len(set(keys)) != len(keys):
        return None
    return keys


def _parse_field_sets(src: _Src, fs, fe, M: int, strsrc=None) -> _FieldSets:
    """Vectorised parse of the field sections [fs, fe) of M candidate lines.  ``strsrc`` is
    the unmasked body when ``src`` is a masked copy (string fields, see _mask_quoted)."""
    out = _FieldSets(M)
    F = src.slices(fs, fe)
    SF = None if strsrc is None else strsrc.slices(fs, fe)  # (same offsets as F)
    pending = _field_sets_by_template(out, F, M, SF)
    if len(pending):
        if len(pending) != M:
            F = F.take(pa.array(pending))
            SF = None if SF is None else SF.take(pa.array(pending))
        _field_sets_by_separators(out, F, pending, SF)
    return out


def _str_source(out: _FieldSets, SF, hi: int):
    """(unmasked field bytes, out) for _parse_values, or None without string fields."""
    return None if SF is None else (_Src(SF.buffers()[2], hi), out)


def _field_bytes(out: _FieldSets, F, SF):
    """The field sets' offsets and bytes (up to the last set's end), as a source of values and
    of words, and the string-field source of both field-set paths."""
    fo, fd = _offsets_data(F)
    hi = int(fo[-1])
    fd = fd[:hi]
    return fo, fd, _Src(F.buffers()[2], hi), _str_source(out, SF, hi), _Words(fd)


def _field_sets_by_template(out: _FieldSets, F, M: int, SF=None):
    """Field sets shaped like the first line's: only the commas need finding.  For a line with
    the template's number of commas, the bytes at the start of each field must be the
    template key followed by `=` -- checked for all lines at once by dictionary-encoding the
    concatenation of those byte ranges.  Returns the lines left for the general path."""
    fo, fd, fsrc, strs, words = _field_bytes(out, F, SF)
    commas = np.flatnonzero(np.equal(fd, 44, out=_scratch_bool(len(fd))))
    cidx = ncom = None
    pending = np.arange(M)
    for _ in range(_TEMPLATE_TRIES):
        first = int(pending[0])
        tmpl = _template_keys(fd[fo[first] : fo[first + 1]].tobytes())
        if tmpl is None:
            break
        k = len(tmpl)
        klen = np.array([len(t) - 1 for t in tmpl], dtype=np.int64)  # key lengths
        C2 = None
        if len(pending) == M and len(commas) == M * (k - 1):
            # Every line has k-1 commas iff each line's first comma is in it and its last one too
            # (lines are disjoint and in order) -- cheaper than counting per line.
            C2 = commas.reshape(M, k - 1)
            if k > 1 and not ((C2[:, 0] >= fo[:-1]).all() and (C2[:, -1] < fo[1:]).all()):
                C2 = None
        if C2 is not None:
            lines = pending
        else:
            if cidx is None:
                cidx = np.searchsorted(commas, fo)
                ncom = np.diff(cidx)
            lines = pending[ncom[pending] == k - 1]
            C2 = commas[cidx[lines][:, None] + np.arange(k - 1)]
        n = len(lines)
        ks = np.empty((n, k), dtype=np.int64)
        ve = np.empty((n, k), dtype=np.int64)
        if n == M:  # (every line: fo's slices, no gathers)
            ks[:, 0] = fo[:-1]
            ve[:, -1] = fo[1:]
        else:
            ks[:, 0] = fo[lines]
            ve[:, -1] = fo[lines + 1]
        if k > 1:
            np.add(C2, 1, out=ks[:, 1:])
            ve[:, :-1] = C2
        E = ks + klen  # where each field's `=` must be
        np.minimum(E, ve - 1, out=E)  # keep the ranges inside their field (lines that will not match)
        E = E.ravel()
        K = fsrc.slices(ks.ravel(), E + 1)  # (E + 1 >= ks: klen >= 1 and ve >= ks)
        kbufs = K.buffers()
        ko = np.frombuffer(kbufs[1], dtype=fsrc.odt)[K.offset : K.offset + len(K) + 1 : k]
        sig = pa.Array.from_buffers(K.type, n, [None, pa.py_buffer(np.ascontiguousarray(ko)), kbufs[2]])
        # lines[0] is `first`, which matches its own template
        match = pc.equal(sig, sig[0]).to_numpy(zero_copy_only=False)
        if match.all():
            mlines = lines
        else:
            mlines = lines[match]
            mf = np.repeat(match, k)
            E, ve = E[mf], ve.ravel()[mf]
        ve = ve.ravel()
        vs = E + 1
        ftype, values, vok = _parse_values(fsrc, words, vs, ve, strs)
        vok &= ve > vs
        shape = (len(mlines), k)
        out.add_group(
            mlines,
            [t[:-1].decode("utf-8") for t in tmpl],
            ftype.reshape(shape),
            {tt: v.reshape(shape) for tt, v in values.items()},
            vok.reshape(shape),
        )
        if len(mlines) == len(pending):
            return pending[:0]
        keep = np.ones(len(pending), dtype=bool)
        keep[np.searchsorted(pending, mlines)] = False
        pending = pending[keep]
    return pending


def _field_sets_by_separators(out: _FieldSets, F, line_map, SF=None):
    """General field-set parse: find every `=` and `,`, group lines by key sequence."""
    M = len(F)
    fo, fd, fsrc, strs, words = _field_bytes(out, F, SF)
    m1 = np.equal(fd, 44, out=_scratch_bool(len(fd)))
    m1 |= fd == 61
    seps = np.flatnonzero(m1)
    cnt = np.diff(np.searchsorted(seps, fo))  # separators per line: 2k-1 for k fields
    c0 = int(cnt[0])
    uniform = False
    if c0 % 2 == 1 and (cnt == c0).all():
        s2 = seps.reshape(M, c0)
        pattern = np.where(np.arange(c0) % 2 == 0, 61, 44).astype(np.uint8)
        uniform = bool((fd[s2] == pattern).all())
    if uniform:  # every line has k fields and its separators alternate '=' ','
        k = (c0 + 1) // 2
        lines = np.arange(M)
        ks = np.empty((M, k), dtype=np.int64)
        ve = np.empty((M, k), dtype=np.int64)
        ks[:, 0] = fo[:-1]
        ve[:, -1] = fo[1:]
        if k > 1:
            C = s2[:, 1::2]
            np.add(C, 1, out=ks[:, 1:])
            ve[:, :-1] = C
        E = s2[:, 0::2].ravel()
        ks = ks.ravel()
        ve = ve.ravel()
        F0 = np.arange(0, M * k + 1, k, dtype=np.int64)
    else:
        bad, lines, E, ks, ve, F0 = _split_field_sets(fd, fo, seps, M)
        if bad is not None:
            out.line_ok[line_map[bad]] = False
        if not len(lines):
            return
    n = len(lines)
    fok = (E > ks) & (ve > E + 1)
    if not fok.all():  # keep the slices below ordered for fields that are not well formed
        E = np.clip(E, ks - 1, ve - 1)
    # keys: one "signature" `k1=k2=...kn=` per line, resolved per distinct signature
    K = fsrc.slices(ks, E + 1)
    ko, _kd = _offsets_data(K)
    sig = pa.Array.from_buffers(K.type, n, [None, pa.py_buffer(ko[F0].astype(fsrc.odt)), K.buffers()[2]])
    senc = pc.dictionary_encode(sig)
    if len(senc.dictionary) > _SIG_LIMIT:
        raise _Decline()
    ftype, values, vok = _parse_values(fsrc, words, E + 1, ve, strs)
    vok &= fok
    sigs = senc.dictionary.to_pylist()
    for g, rows in _split_groups(senc.indices.to_numpy(zero_copy_only=False), np.arange(n)):
        names = sigs[g][:-1].split("=")
        glines = line_map[lines[rows]]
        if len(set(names)) != len(names) or any(
            len(nm) > _STRING_LIMIT // 4 and len(nm.encode("utf-8")) > _STRING_LIMIT for nm in names
        ):
            out.line_ok[glines] = False
            continue
        f2 = F0[rows][:, None] + np.arange(len(names))
        out.add_group(glines, names, ftype[f2], {tt: v[f2] for tt, v in values.items()}, vok[f2])


def _split_field_sets(fd, fo, seps, M: int):
    """General case of the field-set split (lines with differing numbers of fields).  Lines
    whose separators do not alternate `=`, `,` are returned as bad."""
    iseq = fd[seps] == 61
    E = seps[iseq]
    C = seps[~iseq]
    k = np.diff(np.searchsorted(E, fo))
    kc = np.diff(np.searchsorted(C, fo))
    cnt_ok = (k >= 1) & (kc == k - 1)
    lines = np.arange(M)
    bad = None
    if not cnt_ok.all():
        bad = np.flatnonzero(~cnt_ok)
        E = E[np.repeat(cnt_ok, k)]
        C = C[np.repeat(cnt_ok, kc)]
        lines = lines[cnt_ok]
        k = k[cnt_ok]
    n = len(lines)
    NF = len(E)
    F0 = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(k, out=F0[1:])
    ls, le = fo[lines], fo[lines + 1]
    r_of_f = np.repeat(np.arange(n), k)
    fidx = np.arange(NF)
    fpos = fidx - F0[:-1][r_of_f]
    jr = fidx - r_of_f
    if len(C):
        ks = np.where(fpos == 0, ls[r_of_f], C[np.clip(jr - 1, 0, len(C) - 1)] + 1)
        ve = np.where(fpos == (k - 1)[r_of_f], le[r_of_f], C[np.clip(jr, 0, len(C) - 1)])
    else:
        ks = ls[r_of_f]
        ve = le[r_of_f]
    return bad, lines, E, ks, ve, F0
