"""TableRows out of the vectorised parse, and TableRows merged back into input order.

Owns building each measurement's tag and field columns from the accepted candidate lines (tag
values dictionary-encoded once per distinct series, fields gathered from the field-set groups),
and merging TableRows of disjoint line sets: the fast and exact rows of one body, the two halves
of a big body.  Must not parse or validate anything: every row it gets was accepted already.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pyarrow as pa

from .results import _ARROW_FIELD_TYPES, FIELD_TYPES, TAG_ARROW_TYPE, TableRows
from .values import _FT_STRING, _NP_FIELD_DTYPES
from .vector import _ranges, _split_groups

if TYPE_CHECKING:
    from .fieldsets import _FieldSets
    from .series import _Series


def _assemble(acc, line_no_c, t_ns, scode, ser: _Series, fl: _FieldSets):
    """TableRows for the accepted candidate lines ``acc`` (sorted candidate indexes)."""
    groups = _split_groups(ser.mcode[scode[acc]], acc)
    tags = [_assemble_tags(scode[rows], ser) for _t, rows in groups]
    fields = [_assemble_fields(rows, fl) for _t, rows in groups]
    return [
        TableRows(
            measurement=ser.meas_names[t],
            line_numbers=line_no_c[rows].astype(np.int64),
            time=pa.array(t_ns[rows]),
            tags=tg,
            fields=fd,
        )
        for (t, rows), tg, fd in zip(groups, tags, fields)
    ]


def _assemble_tags(sc, ser: _Series) -> dict:
    """Tag columns of one table's rows, whose series codes are ``sc``."""
    nU = len(ser.ok)
    if _every_series_in_code_order(sc, nU):
        # The usual body: this table's rows hold every series of the body, met in code order,
        # so the layout is the one of all the series (kept with them: the next body with the
        # same series needs only the gathers below).
        layout = ser.tag_layout
        if layout is None:
            layout = ser.tag_layout = _tag_layout(ser, np.arange(nU), np.arange(nU))
        row_lid = sc
    else:
        us, first_row = np.unique(sc, return_index=True)
        layout = _tag_layout(ser, us, first_row)
        row_lid = np.searchsorted(us, sc)
    names, codes, dictionaries, complete = layout
    if not names:
        return {}
    rows = np.take(codes, row_lid, axis=1)  # (keys x rows), each row contiguous
    tags = {}
    for j, name in enumerate(names):
        rc = rows[j]
        indices = pa.array(rc) if complete[j] else pa.array(rc, mask=rc < 0)
        # (safe=False: every code was made by encoding this dictionary)
        tags[name] = pa.DictionaryArray.from_arrays(indices, dictionaries[j], safe=False)
    return tags


def _every_series_in_code_order(sc, nU: int) -> bool:
    """Whether the codes ``sc`` hold every code below nU, each first met after all smaller ones
    (series codes number series in order of first appearance among all candidate lines)."""
    if not len(sc) or sc[0] != 0:
        return False
    seen = np.maximum.accumulate(sc)
    return int(seen[-1]) == nU - 1 and bool((sc[1:] <= seen[:-1] + 1).all())


def _tag_layout(ser: _Series, us, first_row):
    """How the series ``us`` (sorted codes; first met at rows ``first_row``) fill tag columns:
    (key names in order of first appearance, int32 codes (keys x series; -1: no such tag),
    one dictionary per key holding each value of those series once, whether every series has
    the key)."""
    counts = ser.poff[us + 1] - ser.poff[us]
    pidx = _ranges(ser.poff[us], counts)
    if not len(pidx):
        return [], np.zeros((0, len(us)), dtype=np.int32), [], []
    plid = np.repeat(np.arange(len(us)), counts)
    pk = ser.kcode[pidx]
    uk, lk = np.unique(pk, return_inverse=True)
    srt = np.lexsort((ser.tpos[pidx], first_row[plid]))
    _u, firstpos = np.unique(lk[srt], return_index=True)
    key_order = np.argsort(firstpos)  # local key indexes by first appearance
    mat = np.full((len(us), len(uk)), -1, dtype=np.int64)
    mat[plid, lk] = pidx
    names, dictionaries, complete = [], [], []
    codes = np.full((len(key_order), len(us)), -1, dtype=np.int32)
    for i, j in enumerate(key_order.tolist()):
        # encoded once per distinct series (a body has few), then spread over the rows as indexes
        sidx = mat[:, j]
        has = sidx >= 0
        enc = ser.vals.take(pa.array(sidx if has.all() else sidx[has])).dictionary_encode()
        codes[i, has] = enc.indices.to_numpy(zero_copy_only=False)
        names.append(ser.key_names[uk[j]])
        dictionaries.append(enc.dictionary if enc.dictionary.type == pa.string() else enc.dictionary.cast(pa.string()))
        complete.append(bool(has.all()))
    return names, codes, dictionaries, complete


def _assemble_fields(rows, fl: _FieldSets) -> dict:
    """Field columns for the candidate lines ``rows`` (one table, sorted)."""
    n = len(rows)
    if len(fl.groups) == 1 and len(fl.groups[0].lines) == n:
        fields = _one_group_fields(fl)
        if fields is not None:
            return fields
    cols: dict = {}  # (key id, type) -> [first (row, pos), pieces]
    for g, sel in _split_groups(fl.gid[rows], np.arange(n)):
        grp = fl.groups[g]
        gp = fl.gpos[rows[sel]]
        whole = len(gp) == len(grp.lines)  # every line of the group is in this table
        for f, kid in enumerate(grp.keys):
            ty = grp.ftype[:, f] if whole else grp.ftype[gp, f]
            t0 = int(ty[0])
            if (ty == t0).all():
                parts = [(t0, None)]
            else:
                parts = [(tt, ty == tt) for tt in np.unique(ty).tolist()]
            for tt, m in parts:
                vals = grp.values[tt][:, f] if whole else grp.values[tt][gp, f]
                rws = sel
                if m is not None:
                    vals = vals[m]
                    rws = sel[m]
                key = (kid, tt)
                first = (int(rws[0]), f)
                c = cols.get(key)
                if c is None:
                    cols[key] = [first, [(rws, vals)]]
                else:
                    c[1].append((rws, vals))
                    if first < c[0]:
                        c[0] = first
    names = list(fl.key_id)
    fields = {}
    for (kid, tt), (_first, pieces) in sorted(cols.items(), key=lambda kv: kv[1][0]):
        col = _full_column(n, pieces, _NP_FIELD_DTYPES[tt])
        if tt == _FT_STRING:  # (indexes -> values; nulls stay null)
            col = fl.strings().take(col)
        fields[(names[kid], FIELD_TYPES[tt])] = col
    return fields


def _one_group_fields(fl: _FieldSets):
    """Field columns when the table's rows are exactly the lines of the one field group (every
    accepted line has a group, so they are) and each field has one type in them -- the usual
    batch: columns in field order, no nulls -- else None."""
    grp = fl.groups[0]
    t0 = grp.ftype[0]
    if not (grp.ftype == t0).all():
        return None
    names = list(fl.key_id)
    fields = {}
    for f, (kid, tt) in enumerate(zip(grp.keys, t0.tolist())):
        col = pa.array(grp.values[tt][:, f])
        if tt == _FT_STRING:  # (indexes -> values)
            col = fl.strings().take(col)
        fields[(names[kid], FIELD_TYPES[tt])] = col
    return fields


def _full_column(n: int, pieces, dtype) -> pa.Array:
    """A length-n array from (row indexes, values) pieces; null elsewhere."""
    if len(pieces) == 1 and len(pieces[0][0]) == n:
        return pa.array(pieces[0][1])
    full = np.zeros(n, dtype=dtype)
    valid = np.zeros(n, dtype=bool)
    for rws, vals in pieces:
        full[rws] = vals
        valid[rws] = True
    return pa.array(full, mask=~valid)


def _merge_tables(groups) -> list:
    """Merge lists of TableRows (disjoint line sets) into one list in input order."""
    by: dict = {}
    for tabs in groups:
        for t in tabs:
            by.setdefault(t.measurement, []).append(t)
    out = []
    for meas, parts in by.items():
        out.append(parts[0] if len(parts) == 1 else _concat_tables(meas, parts))
    out.sort(key=lambda t: int(t.line_numbers[0]))
    return out


def _first_valid(arr) -> int:
    if arr.null_count == 0:
        return 0
    return int(np.argmax(arr.is_valid().to_numpy(zero_copy_only=False)))


def _concat_tables(meas: str, parts) -> TableRows:
    ln = np.concatenate([p.line_numbers for p in parts])
    order_np = np.argsort(ln, kind="stable")
    order = pa.array(order_np)

    def merge(attr, typ_of):
        firsts = {}
        for pi, p in enumerate(parts):
            for ci, (key, arr) in enumerate(getattr(p, attr).items()):
                cand = (int(p.line_numbers[_first_valid(arr)]), pi, ci)
                if key not in firsts or cand < firsts[key]:
                    firsts[key] = cand
        out = {}
        for key in sorted(firsts, key=firsts.get):
            chunks = []
            for p in parts:
                a = getattr(p, attr).get(key)
                chunks.append(a if a is not None else pa.nulls(p.num_rows, type=typ_of(key)))
            out[key] = pa.concat_arrays(chunks).take(order)
        return out

    return TableRows(
        measurement=meas,
        line_numbers=ln[order_np],
        time=pa.concat_arrays([p.time for p in parts]).take(order),
        tags=merge("tags", lambda k: TAG_ARROW_TYPE),
        fields=merge("fields", lambda k: _ARROW_FIELD_TYPES[k[1]]),
    )


def _concat_in_order(a: TableRows, b: TableRows) -> TableRows:
    """Rows of ``a`` then rows of ``b`` (all of b's lines come after a's)."""

    def merge(ca: dict, cb: dict, typ_of) -> dict:
        out = {}
        for key in list(ca) + [k for k in cb if k not in ca]:
            x = ca.get(key)
            y = cb.get(key)
            if x is None:
                x = pa.nulls(a.num_rows, type=typ_of(key))
            if y is None:
                y = pa.nulls(b.num_rows, type=typ_of(key))
            out[key] = pa.concat_arrays([x, y])
        return out

    return TableRows(
        measurement=a.measurement,
        line_numbers=np.concatenate([a.line_numbers, b.line_numbers]),
        time=pa.concat_arrays([a.time, b.time]),
        tags=merge(a.tags, b.tags, lambda k: TAG_ARROW_TYPE),
        fields=merge(a.fields, b.fields, lambda k: _ARROW_FIELD_TYPES[k[1]]),
    )
