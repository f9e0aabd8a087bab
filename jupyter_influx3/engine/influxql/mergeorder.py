"""1.x's order of raw points: the heap merge of per-series iterators of sorted reads
(:func:`merge_order`; points at equal times come out as Go's container/heap pops them), the
MergeIterator stack of unordered reads (:func:`go_merge_order`), and where a subquery's rows
stand among them.  Functions of arrays: must not read data or know about the run.
"""

from __future__ import annotations

from typing import Optional

import numpy as np

from .goheap import Heap
from .points import _starts


# ---------------------------------------------------------------------------------------------
# merge order of raw points (1.x's heap merge of series iterators)


def _subquery_seq(parts: list, ascending: bool) -> Optional[np.ndarray]:
    """Order keys inside each iterator when subquery rows are among ``parts``: a subquery's rows
    come as its iterators emit them -- window by window, series by series inside a window (one
    window for a raw or an ungrouped subquery), each series' rows in order."""
    if not any(isinstance(x[7], dict) for x in parts):
        return None
    sub = [x for x in parts if isinstance(x[7], dict)]
    win = np.concatenate([x[7]["win"] for x in sub])
    ser = np.concatenate([x[7]["series"] for x in sub])
    pos = np.arange(len(win), dtype=np.int64)
    rank = np.empty(len(win), np.int64)
    rank[np.lexsort((pos, ser, win if ascending else -win))] = pos
    seqs, off = [], 0
    for x in parts:
        n = len(x[4])
        if isinstance(x[7], dict):
            seqs.append(rank[off:off + n])
            off += n
        else:
            seqs.append(x[4] if ascending else -x[4])
    return np.concatenate(seqs)


def _heap_aux(refs: list, vecs: list, p) -> Optional[list]:
    """Per aux column, the values 1.x's sorted merge compares on equal times: strings (a tag's
    missing value is ""), None for anything else (which stops the comparison)."""
    out = []
    for r, v in zip(refs, vecs):
        if p.ref_type(r) == "tag":
            out.append(np.where(v.valid, v.data, ""))
        elif v.kind == "string":
            out.append(np.where(v.valid, v.data, None))
        else:
            out.append(None)
            break
    while out and out[-1] is None:
        out.pop()
    return out or None


def merge_order(gid, sid, shard, time, rank, ascending: bool, aux: Optional[list] = None,
                seq: Optional[np.ndarray] = None) -> np.ndarray:
    """The order in which 1.x emits raw points: by group (output order), then per shard the
    sorted merge of the group's series iterators (Go's container/heap; equal times compare the
    string aux values, then are left as the heap happens to pop them), shards in time order.
    ``seq`` orders the points inside each iterator when that is not their time (a subquery's
    rows come in the subquery's output order)."""
    n = len(time)
    if n == 0:
        return np.zeros(0, np.int64)
    r = rank[gid]
    key_t = time if ascending else -time
    key_sh = shard if ascending else -shard
    key_sid = sid if ascending else -sid
    base = np.lexsort((key_t if seq is None else seq, key_sid, key_sh, r))
    # within (group, shard): if times are unique, the time order is the answer
    rb, shb, tb, sb = r[base], key_sh[base], key_t[base], sid[base]
    starts = _starts([rb, shb])
    ends = np.append(starts[1:], n)
    out = []
    for s, e in zip(starts.tolist(), ends.tolist()):
        seg = base[s:e]
        sids = sb[s:e]
        if len(seg) == 1 or sids[0] == sids[-1]:
            out.append(seg)
            continue
        tseg = tb[s:e]
        if seq is None:
            o = np.argsort(tseg, kind="stable")
            ts = tseg[o]
            if not (ts[1:] == ts[:-1]).any():
                out.append(seg[o])
                continue
        if aux is not None:
            strict = _strict_order(tseg, [a[seg] for a in aux], ascending)
            if strict is not None:
                # the heap's "less" is a strict order on these points: its pops are the sort
                out.append(seg[strict])
                continue
        seg_aux = None if aux is None else [a[seg].tolist() for a in aux]
        out.append(seg[_go_heap_merge(sids, tseg, seg_aux, ascending)])
    return np.concatenate(out)


def _strict_order(keyt: np.ndarray, aux: list, ascending: bool) -> Optional[np.ndarray]:
    """The order (time, then the string aux values) when no two points tie on all of them and
    every compared value is a string; None otherwise (the heap's pops then depend on its
    layout)."""
    keys = []
    for a in aux:
        if any(v is None for v in a.tolist()):
            return None
        uniq, codes = np.unique(a.astype(str), return_inverse=True)
        codes = codes.reshape(-1).astype(np.int64)
        keys.append(codes if ascending else -codes)
    order = np.lexsort(tuple(reversed(keys)) + (keyt,))
    t = keyt[order]
    same = t[1:] == t[:-1]
    for k in keys:
        ko = k[order]
        same &= ko[1:] == ko[:-1]
    if same.any():
        return None
    return order


def go_merge_order(gid, sid, shard, time, rank, win, ascending: bool) -> np.ndarray:
    """The order of 1.x's MergeIterator stack for unordered reads: per shard and tag set the
    series iterators are merged by window (a popped iterator is read while its points stay in
    the window; equal windows are left to Go's heap), tag sets follow in output order, then the
    shards' streams are merged the same way per group."""
    n = len(time)
    if n == 0:
        return np.zeros(0, np.int64)
    r = rank[gid]
    key_w = win if ascending else -win
    key_t = time if ascending else -time
    key_sid = sid if ascending else -sid  # 1.x reverses a tag set's series under DESC
    base = np.lexsort((key_t, key_sid, r, shard if ascending else -shard))
    sh_b, r_b, sid_b = shard[base], r[base], sid[base]
    kw = key_w.tolist()
    # per (shard, group): merge the series runs
    per_group: dict[int, list[list[int]]] = {}
    starts = _starts([sh_b, r_b])
    ends = np.append(starts[1:], n)
    for s0, e0 in zip(starts.tolist(), ends.tolist()):
        seg = base[s0:e0]
        sids = sid_b[s0:e0]
        sub = _starts([sids])
        sub_e = np.append(sub[1:], len(seg))
        runs = [seg[a:b].tolist() for a, b in zip(sub.tolist(), sub_e.tolist())]
        merged = _go_merge_runs(runs, kw) if len(runs) > 1 else runs[0]
        per_group.setdefault(int(r_b[s0]), []).append(merged)
    out: list[int] = []
    for g in sorted(per_group):
        shard_runs = per_group[g]
        out.extend(_go_merge_runs(shard_runs, kw) if len(shard_runs) > 1 else shard_runs[0])
    return np.array(out, np.int64)


def _go_merge_runs(runs: list[list[int]], key: list) -> list[int]:
    """Go's MergeIterator over iterators ``runs`` (positions; ``key[pos]`` is the point's window
    key): the heap orders iterators by the key of their next point; the popped iterator is read
    until its key changes, then pushed back."""
    heads = [0] * len(runs)
    heap = Heap(list(range(len(runs))), lambda a, b: key[runs[a][heads[a]]] < key[runs[b][heads[b]]])
    heap.init()
    out: list[int] = []
    while heap.h:
        it = heap.pop()
        run = runs[it]
        k = key[run[heads[it]]]
        while heads[it] < len(run) and key[run[heads[it]]] == k:
            out.append(run[heads[it]])
            heads[it] += 1
        if heads[it] < len(run):
            heap.push(it)
    return out


def _go_heap_merge(sids: np.ndarray, times: np.ndarray, aux: Optional[list] = None,
                   ascending: bool = True) -> np.ndarray:
    """Positions in emission order of a Go container/heap merge of per-series sorted runs (the
    runs appear consecutively in ``sids``/``times``, series in iterator order).  Ordered by time
    only; equal times come out as Go's heap happens to pop them."""
    starts = _starts([sids])
    ends = np.append(starts[1:], len(sids))
    tl = times.tolist()
    heads = starts.tolist()
    lim = ends.tolist()
    items = list(range(len(heads)))  # item i = series i; key = tl[heads[i]]

    if aux:
        def less(a, b):
            ia, ib = heads[a], heads[b]
            ta, tb = tl[ia], tl[ib]
            if ta != tb:
                return ta < tb
            for col in aux:
                v1, v2 = col[ia], col[ib]
                if v1 is None or v2 is None:
                    return False
                if v1 == v2:
                    continue
                return v1 < v2 if ascending else v1 > v2
            return False
    else:
        def less(a, b):
            return tl[heads[a]] < tl[heads[b]]

    heap = Heap(items, less)
    h = heap.h
    heap.init()
    out = []

    def pop_one():
        item = heap.pop()
        out.append(heads[item])
        heads[item] += 1
        if heads[item] < lim[item]:
            heap.push(item)
        return item

    # A "round": every series in the heap is at the same time and each one's next point is at
    # the same later time.  Then the heap's pops depend only on its layout, which repeats from
    # round to round in regular data -- replay a recorded round instead of sifting again.
    memo: dict = {}
    rounds = not aux and len(h) > 2
    while h:
        if rounds:
            t0 = tl[heads[h[0]]]
            nxt = None
            ok = True
            for it in h:
                pos = heads[it]
                if tl[pos] != t0 or pos + 1 >= lim[it]:
                    ok = False
                    break
                tn = tl[pos + 1]
                if nxt is None:
                    nxt = tn
                elif tn != nxt:
                    ok = False
                    break
            if ok:
                key = tuple(h)
                rec = memo.get(key)
                if rec is None:
                    popped = [pop_one() for _ in range(len(key))]
                    memo[key] = (popped, tuple(h))
                else:
                    popped, final = rec
                    for it in popped:
                        out.append(heads[it])
                        heads[it] += 1
                    h[:] = final
                continue
        pop_one()
    return np.array(out, np.int64)
