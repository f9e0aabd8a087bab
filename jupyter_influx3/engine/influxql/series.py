"""The output series of a SELECT: their keys and 1.x's order of them (:class:`Groups`: measurement
name and GROUP BY tag values -> dense ids), and the rows of each (:class:`SeriesData`, cut from
points in output order by ``_split_series``).  Must not compute points.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .functions import Vec
from .points import _starts


@dataclass
class SeriesData:
    name: str
    tags: dict                  # GROUP BY tag -> value ('' when absent); {} without GROUP BY tags
    time: np.ndarray
    cols: list[Vec]


# ---------------------------------------------------------------------------------------------
# groups (output series)


class Groups:
    """Output series keys (measurement name, GROUP BY tag values) -> dense ids; ordered like
    1.x orders series (name, then the tag values in tag-key order)."""

    def __init__(self, dims: list[str]):
        self.dims = list(dims)
        self.sorted_dims = sorted(set(dims))
        self.index: dict[tuple, int] = {}
        self.keys: list[tuple] = []

    def id_for(self, name: str, tags: dict) -> int:
        key = (name,) + tuple(tags.get(d, "") or "" for d in self.sorted_dims)
        i = self.index.get(key)
        if i is None:
            i = len(self.keys)
            self.index[key] = i
            self.keys.append(key)
        return i

    def order(self, ascending: bool = True) -> np.ndarray:
        """rank[gid] = position of the group in output order."""
        n = len(self.keys)
        cache = getattr(self, "_order_cache", None)
        if cache is not None and cache[0] == (n, ascending):
            return cache[1]
        rank = self._order(n, ascending)
        self._order_cache = ((n, ascending), rank)
        return rank

    def _order(self, n: int, ascending: bool) -> np.ndarray:
        idx = sorted(range(n), key=lambda i: self.keys[i], reverse=not ascending)
        rank = np.empty(n, np.int64)
        rank[idx] = np.arange(n)
        return rank

    def tags_of(self, gid: int) -> dict:
        key = self.keys[gid]
        return {d: v for d, v in zip(self.sorted_dims, key[1:])}


def _split_series(groups: Groups, gid, time, cols: list[Vec], ascending: bool) -> list[SeriesData]:
    out = []
    n = len(time)
    if n == 0:
        return out
    if gid[0] == gid[-1] and (gid == gid[0]).all():
        bounds = [(0, n)]   # one series (the runs below would be one)
    else:
        starts = _starts([gid]).tolist()
        bounds = zip(starts, starts[1:] + [n])
    for s, e in bounds:
        g = int(gid[s])
        key = groups.keys[g]
        tags = groups.tags_of(g) if groups.dims else {}
        out.append(SeriesData(key[0], tags, time[s:e], [Vec(c.kind, c.data[s:e], c.valid[s:e]) for c in cols]))
    return out
