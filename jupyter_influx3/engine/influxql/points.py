"""The points that pass between the stages of a running SELECT, and runs over them.

Owns :class:`Points` (rows of several output series: group, time, value, the auxiliary values a
selector carries and, for raw points, their series and shard), the shard a time falls in as 1.x
numbers shards (:func:`shard_duration`), the runs of equal keys in sorted rows (``_starts``,
``_segments``) and LIMIT/OFFSET per series over them, and making what stages share read-only
(:func:`frozen`). Must not read data or know about calls or the run; it imports no other module
of the SELECT.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional

import numpy as np

from .functions import MAX_TIME, MIN_TIME, Vec


WEEK = 7 * 86400 * 10**9
DAY = 86400 * 10**9
HOUR = 3600 * 10**9
ZERO_TO_EPOCH = 62135596800 * 10**9


def shard_duration(retention_ns: Optional[int]) -> int:
    d = retention_ns or 0
    if d == 0 or d >= 180 * DAY:
        return WEEK
    if d >= 2 * DAY:
        return DAY
    return HOUR


def shard_of(t, sd: int):
    """1.x's shard group number of time ``t`` (a number or an int64 array): groups of ``sd`` ns
    aligned to year 1, as its shard groups are."""
    return (t + np.int64(ZERO_TO_EPOCH % sd)) // np.int64(sd)


def shard_bounds(start: int, end: int, sd: int) -> tuple[Optional[int], Optional[int]]:
    """The first and last ns of the shard groups of ``sd`` ns that [start, end] meets; None for an
    open end (``MIN_TIME`` / ``MAX_TIME``, or a last group reaching past ``MAX_TIME``)."""
    z = ZERO_TO_EPOCH % sd
    lo = max(MIN_TIME, ((start + z) // sd) * sd - z) if start > MIN_TIME else None
    hi = ((end + z) // sd + 1) * sd - z - 1 if end < MAX_TIME else None
    return lo, None if hi is None or hi >= MAX_TIME else hi


# ---------------------------------------------------------------------------------------------
# points: the stream between iterator stages


@dataclass
class Points:
    """Points of several groups: rows sorted by group (in output order) then time (in query
    order).  ``aux`` holds auxiliary values carried by selectors."""

    gid: np.ndarray
    time: np.ndarray
    value: Vec
    aux: list[Vec] = field(default_factory=list)
    sid: Optional[np.ndarray] = None      # underlying series (raw points only)
    shard: Optional[np.ndarray] = None

    def __len__(self) -> int:
        return len(self.time)

    def take(self, idx) -> "Points":
        return Points(self.gid[idx], self.time[idx], self.value.take(idx), [a.take(idx) for a in self.aux],
                      None if self.sid is None else self.sid[idx], None if self.shard is None else self.shard[idx])

    @staticmethod
    def empty(kind: str = "float", naux: int = 0) -> "Points":
        z = np.zeros(0, np.int64)
        return Points(z, z.copy(), Vec.nulls(0, kind), [Vec.nulls(0) for _ in range(naux)])


def frozen(value):
    """``value`` with its arrays made read-only (arrays, Vecs, Points, and tuples or lists of
    them): what the stages of a run share, and the next run over the same copy finds, must never
    be written to -- a write raises instead of changing another answer."""
    t = type(value)
    if t is np.ndarray:
        value.setflags(write=False)   # (a third of the time of flags.writeable = False)
    elif t is tuple or t is list:
        for v in value:
            tv = type(v)
            if tv is np.ndarray:
                v.setflags(write=False)
            elif tv is tuple or tv is list or tv is Vec or tv is Points or isinstance(v, np.ndarray):
                frozen(v)
    elif t is Vec:
        value.data.setflags(write=False)
        value.valid.setflags(write=False)
    elif t is Points:
        frozen((value.gid, value.time, value.value, value.aux, value.sid, value.shard))
    elif isinstance(value, np.ndarray):
        value.setflags(write=False)
    return value


def _starts(keys: list[np.ndarray]) -> np.ndarray:
    """Start indices of runs of equal key tuples (rows already sorted by them)."""
    n = len(keys[0]) if keys else 0
    if n == 0:
        return np.zeros(0, np.int64)
    change = np.empty(n, bool)
    change[0] = True
    change[1:] = keys[0][1:] != keys[0][:-1]
    for k in keys[1:]:
        change[1:] |= k[1:] != k[:-1]
    return np.flatnonzero(change)


def _same_array(a: np.ndarray, b: np.ndarray) -> bool:
    return a is b or (len(a) == len(b) and np.array_equal(a, b))


def _segments(keys: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """Start indices of runs of equal key tuples (rows already sorted by them), and a run id per
    row."""
    n = len(keys[0]) if keys else 0
    if n == 0:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    change = np.zeros(n, bool)
    change[0] = True
    for k in keys:
        change[1:] |= k[1:] != k[:-1]
    starts = np.flatnonzero(change)
    ids = np.cumsum(change) - 1
    return starts, ids


def _limit_mask(gid: np.ndarray, limit: int, offset: int) -> Optional[np.ndarray]:
    if not limit and not offset:
        return None
    n = len(gid)
    if n == 0:
        return np.zeros(0, bool)
    starts, seg = _segments([gid])
    pos = np.arange(n) - starts[seg]
    keep = pos >= offset
    if limit:
        keep &= pos < offset + limit
    return keep


def _apply_limit(pts: Points, limit: int, offset: int) -> Points:
    keep = _limit_mask(pts.gid, limit, offset)
    if keep is None:
        return pts
    return pts.take(np.flatnonzero(keep))
