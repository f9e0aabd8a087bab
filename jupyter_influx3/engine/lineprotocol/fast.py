"""The vectorised parser (:func:`parse_fast`): numpy + pyarrow.compute, no Python loop per line.

Owns the driver of the fast path: deciding whether a body can be taken at all (backslashes that
might join lines, quotes that do not provably pair up within lines, mostly unusual lines),
masking quoted string contents, classifying physical lines, cutting each candidate line into
series key, field set and timestamp, handing every line it cannot prove regular to the exact line
parser and merging the two sets of rows back in input order.  Its result must be identical to
:func:`parse_exact`'s, or ``None`` (declined); it must never be merely close.

It works on the raw bytes of a body (lines with a backslash are left to the exact parser), in
which the contents of quoted string values have been masked (`_mask_quoted`), so physical and
logical lines coincide and every token boundary is one of the ASCII bytes `\\n`, ` `, `,`, `=`.
A string value is a field value ending in `"`; it is accepted only when it is exactly one quoted
string.  A line is handled here only when its shape is provably "regular":

    measurement[,key=value...] key=value[,key=value...][ timestamp]

(single spaces, no control characters, non-empty tokens, value forms it parses exactly, no
duplicate keys, numbers that cannot overflow).  Every other line -- valid or not -- goes to
the exact line parser, and the two sets of rows are merged back in input order.

How it stays vectorised:

* Substrings are cut out of a buffer without Python objects: a string array whose offsets
  alternate "slice start", "slice end" partitions the buffer (zero copy), and taking its even
  items gives a compact array of exactly the wanted slices (`_Src.slices`, ``vector.py``).
* Series keys (`measurement,tags`) are dictionary-encoded; only the distinct ones are split
  into measurement and tags (with Arrow string kernels, still column-wise; ``series.py``).
* Field sections are compacted into one buffer.  Lines whose field keys equal those of a
  "template" line (the first line of each shape) are recognised by comparing 8-byte words at
  computed offsets; the remaining lines are grouped by their key sequence ("signature",
  dictionary-encoded).  Either way every group is a 2-D (lines x fields) layout (``fieldsets.py``).
* Integers and timestamps are parsed with SWAR arithmetic on unaligned 8-byte loads (exact,
  with overflow detection); floats with Arrow's cast after a grammar check; booleans by
  lookup of the ten spellings (``values.py``).
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ..malloc import tune_malloc_once
from .assemble import _assemble, _merge_tables
from .errors import _LPError
from .exact import _check_line, _RowsBuilder
from .fieldsets import _parse_field_sets
from .halves import _halving_point, _in_helper, _join_halves
from .precision import _convert_timestamps, _default_time, _range_error, normalize_precision
from .results import LineError, ParseResult, _LineSpans
from .series import _series_of
from .values import _parse_timestamps
from .vector import _Decline, _ranges, _scratch_bool, _Src


def _as_bytes(body) -> bytes:
    """The body as UTF-8 bytes (validated; same exceptions as _as_text)."""
    if isinstance(body, str):
        return body.encode("utf-8")
    if isinstance(body, (bytes, bytearray, memoryview)):
        data = bytes(body)
        if not data.isascii():
            data.decode("utf-8")
        return data
    raise TypeError(f"line protocol body must be bytes or str, not {type(body).__name__}")


def _mask_quoted(b):
    """A copy of the body bytes ``b`` (no backslash) with the contents of its quoted field
    values replaced by ``x``, so that the rest of the vectorised parse sees no space, comma,
    equals sign, newline or control character inside a string; ``b`` itself when it has no
    double quote; None (decline) when its quotes do not provably pair up within lines.

    The quotes of a physical line that follow its first space are paired in order (1st with
    2nd, 3rd with 4th, ...).  InfluxDB 3's split_lines toggles "quoted" at a quote only when
    more ``=`` than ``,`` have been counted outside quotes after the first space.  If that
    holds at every such quote -- counting on the masked copy, i.e. under the assumed pairing --
    then, by induction along the line, every one of them toggles, the pairing is exactly the
    one split_lines makes, and (with an even number of them) the line ends unquoted at its
    newline: physical and logical lines coincide.  Otherwise the body is declined.  Quotes
    before a line's first space are literal characters of the measurement or a tag."""
    q = np.flatnonzero(b == 34)
    if not len(q):
        return b
    N = len(b)
    nl = np.flatnonzero(b == 10)
    line = np.searchsorted(nl, q)  # physical line of each quote
    lstart = np.zeros(len(q), dtype=np.int64)
    has_prev = line > 0
    lstart[has_prev] = nl[line[has_prev] - 1] + 1
    lend = np.full(len(q), N, dtype=np.int64)
    has_nl = line < len(nl)
    lend[has_nl] = nl[line[has_nl]]
    sp = np.flatnonzero(b == 32)
    k = np.searchsorted(sp, lstart)
    fsp = sp[np.minimum(k, len(sp) - 1)] if len(sp) else lend
    fsp = np.where((k < len(sp)) & (fsp < lend), fsp, lend)  # first space of the line (or its end)
    post = q > fsp
    if not post.all():
        q, line, fsp = q[post], line[post], fsp[post]
        if not len(q):
            return b
    newline = np.empty(len(q), dtype=bool)
    newline[0] = True
    np.not_equal(line[1:], line[:-1], out=newline[1:])
    first = np.flatnonzero(newline)
    if (np.diff(np.append(first, len(q))) % 2).any():
        return None  # an odd number of quotes on a line
    op, cl = q[0::2], q[1::2]
    mb = b.copy()
    mb[_ranges(op + 1, cl - op - 1)] = 120  # 'x'
    eq = np.flatnonzero(mb == 61)
    cm = np.flatnonzero(mb == 44)
    n_eq = np.searchsorted(eq, q) - np.searchsorted(eq, fsp)
    n_cm = np.searchsorted(cm, q) - np.searchsorted(cm, fsp)
    if not (n_eq > n_cm).all():
        return None
    return mb


def _parse_fast_bytes(data, precision: str, default_ns: int, backslashes: bool = False, quotes: bool = True):
    """The vectorised parse of ``data`` (bytes or a memoryview of them; validated UTF-8), or
    None when it declines.  ``backslashes``, ``quotes``: whether the body may contain one.

    Lines with a backslash are handed whole to the exact line parser.  That is right only
    when they are logical lines of their own, which is ensured by declining bodies with a
    backslash right before a newline (an escaped newline continues the line) or on a line
    with a double quote (an escaped quote does not toggle quoting)."""
    N = len(data)
    if N == 0:
        z = np.zeros(0, dtype=np.int64)
        return ParseResult([], [], 0, _LineSpans(data, z, z))
    b = np.frombuffer(data, dtype=np.uint8)
    bs = None
    if backslashes:
        bs = np.flatnonzero(b == 92)
        if len(bs):
            if (b[np.minimum(bs + 1, N - 1)] == 10).any():
                return None
            q = np.flatnonzero(b == 34)
            if len(q):
                nl0 = np.flatnonzero(b == 10)
                if len(np.intersect1d(np.searchsorted(nl0, bs), np.searchsorted(nl0, q))):
                    return None
        else:
            bs = None
    src = _Src(pa.py_buffer(data), N)
    strsrc = None
    mb = _mask_quoted(b) if quotes else b
    if mb is None:
        return None
    if mb is not b:  # string fields: parse the masked copy, cut string values from the body
        strsrc = src
        b = mb
        src = _Src(pa.py_buffer(mb), N)

    # ---- physical lines; classify as blank / comment / irregular (exact parser) / candidate
    low = np.flatnonzero(np.less_equal(b, 32, out=_scratch_bool(N)))  # newlines, spaces, controls
    lowb = b[low]
    sp = low[lowb == 32]
    knl = np.flatnonzero(lowb == 10)  # (indexes into low)
    nl = low[knl]
    other_ctl = low[lowb < 32] if len(nl) + len(sp) != len(low) else None
    ends = nl if b[-1] == 10 else np.append(nl, N)
    starts = np.empty_like(ends)
    starts[0] = 0
    starts[1:] = ends[:-1] + 1
    L = len(ends)
    nonempty = ends > starts
    fc = b[np.minimum(starts, N - 1)]
    comment = nonempty & (fc == 35)
    irregular = nonempty & (fc == 32)
    if other_ctl is not None:
        other_ctl = other_ctl[b[other_ctl] != 10]
        irregular[np.searchsorted(ends, other_ctl, side="right")] = True
    if bs is not None:  # escapes: the exact line parser
        irregular[np.searchsorted(ends, bs, side="right")] = True
    irregular &= ~comment
    n_irregular = int(np.count_nonzero(irregular))
    if n_irregular > 64 and n_irregular * 4 > L:
        return None  # mostly unusual lines (e.g. CRLF): the exact parser is the better tool
    cand = nonempty & ~comment & ~irregular

    # ---- sections: series, fields, timestamp (one or two single spaces)
    if other_ctl is None:  # low holds spaces and newlines only: count the spaces by index
        kend = knl if len(knl) == L else np.append(knl, len(low))
        kfirst = np.empty_like(kend)
        kfirst[0] = 0
        kfirst[1:] = kend[:-1] + 1
        si = kfirst - np.arange(L)  # spaces before each line: entries of low before it, less its newlines
        nsp = kend - kfirst
    else:
        si = np.searchsorted(sp, starts)
        nsp = np.searchsorted(sp, ends) - si
    ci = np.flatnonzero(cand & ((nsp == 1) | (nsp == 2)))
    to_exact = cand.copy()  # candidate lines the vectorised checks do not accept
    M = len(ci)
    if M:
        ls = starts[ci]
        le = ends[ci]
        k0 = si[ci]
        sp1 = sp[k0]
        has_ts = nsp[ci] == 2
        sp2 = sp[np.minimum(k0 + 1, len(sp) - 1)]
        fe = np.where(has_ts, sp2, le)
        good = (sp1 > ls) & (fe > sp1 + 1) & (~has_ts | (le > sp2 + 1))
        if not good.all():
            ci, ls, le, sp1, has_ts, sp2, fe = (x[good] for x in (ci, ls, le, sp1, has_ts, sp2, fe))
            M = len(ci)
    if M:
        # ---- timestamps
        ts = np.zeros(M, dtype=np.int64)
        cok = np.ones(M, dtype=bool)
        if has_ts.all():
            ts, cok = _parse_timestamps(src.slices(sp2 + 1, le))
        else:
            ti = np.flatnonzero(has_ts)
            if len(ti):
                tv, tok = _parse_timestamps(src.slices(sp2[ti] + 1, le[ti]))
                ts[ti] = tv
                cok[ti[~tok]] = False
        # ---- series keys: dictionary-encode, parse the distinct ones column-wise
        enc = pc.dictionary_encode(src.slices(ls, sp1))
        scode = enc.indices.to_numpy(zero_copy_only=False).astype(np.int64)
        ser = _series_of(enc.dictionary)
        cok &= ser.ok[scode]
        # ---- field sets
        try:
            fl = _parse_field_sets(src, sp1 + 1, fe, M, strsrc)
        except _Decline:
            return None
        cok &= fl.line_ok
        # ---- precision
        t_ns = np.full(M, default_ns, dtype=np.int64)
        tsel = np.flatnonzero(has_ts & cok)
        ovf = np.zeros(M, dtype=bool)
        if len(tsel):
            conv, conv_ok = _convert_timestamps(ts[tsel], precision)
            t_ns[tsel] = conv
            ovf[tsel[~conv_ok]] = True
        to_exact[ci[cok]] = False

    # ---- line numbers; lines for the exact parser
    counted = cand.copy()
    exact_lines = []  # (physical line index, text after leading whitespace)
    for i in np.flatnonzero(irregular).tolist():
        text = str(data[starts[i] : ends[i]], "utf-8").lstrip(" \t")
        if text and text[0] != "#":
            counted[i] = True
            exact_lines.append((i, text))
    for i in np.flatnonzero(to_exact).tolist():
        exact_lines.append((i, str(data[starts[i] : ends[i]], "utf-8")))
    exact_lines.sort()
    line_no = np.cumsum(counted)
    num_lines = int(line_no[-1])

    errors = []
    builders: dict = {}
    for i, text in exact_lines:
        n_i = int(line_no[i])
        try:
            meas, tags, fields, t = _check_line(text, precision, default_ns)
        except _LPError as e:
            errors.append(LineError(n_i, str(e), str(data[starts[i] : ends[i]], "utf-8"), e.detail))
            continue
        bld = builders.get(meas)
        if bld is None:
            bld = builders[meas] = _RowsBuilder(meas)
        bld.add(n_i, tags, fields, t)

    tables = []
    if M:
        for r in np.flatnonzero(ovf).tolist():
            i = int(ci[r])
            msg = _range_error(int(ts[r]), precision)
            errors.append(LineError(int(line_no[i]), msg, str(data[starts[i] : ends[i]], "utf-8")))
        acc = np.flatnonzero(cok & ~ovf)
        if len(acc):
            tables = _assemble(acc, line_no[ci], t_ns, scode, ser, fl)
    if builders:
        tables = _merge_tables([tables, [bld.finish() for bld in builders.values()]])
    errors.sort(key=lambda e: e.line_number)
    cl = np.flatnonzero(counted)
    return ParseResult(tables, errors, num_lines, _LineSpans(data, starts[cl], ends[cl]))


def parse_fast(body, precision: str = "auto", default_time_ns: int | None = None):
    """Vectorised parse (numpy + pyarrow.compute).  Returns None when it declines the body:
    bodies with a backslash right before a newline or on a line with a double quote (lines
    with other backslashes go to the exact line parser), bodies whose double quotes do not provably pair
    up within lines (see _mask_quoted), bodies made mostly of unusual lines, and bodies with
    more than 256 distinct field-key sequences.
    Otherwise the result is identical to :func:`parse_exact`'s.

    A body of 16K lines or more is cut in two at a newline and the halves are parsed at the
    same time, one on a helper thread (numpy and Arrow release the GIL), then joined."""
    precision = normalize_precision(precision)
    data = _as_bytes(body)
    bsl = b"\\" in data
    quotes = b'"' in data  # (memchr: no numpy pass over a body without string fields)
    if len(data) >= 1 << 22:
        tune_malloc_once()
    default_ns = _default_time(precision, default_time_ns)
    cut = _halving_point(data)
    if cut is not None:
        view = memoryview(data)
        second = _in_helper(_parse_fast_bytes, view[cut:], precision, default_ns, bsl, quotes)
        if second is not None:
            first = _parse_fast_bytes(view[:cut], precision, default_ns, bsl, quotes)
            rest = second.result()
            if first is None or rest is None:
                return None
            return _join_halves(data, cut, first, rest)
    return _parse_fast_bytes(data, precision, default_ns, bsl, quotes)
