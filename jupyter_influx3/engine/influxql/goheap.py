"""Go's ``container/heap``, step for step.

InfluxDB 1.x merges series iterators and keeps top()/bottom() candidates in Go heaps.  Points
that tie come out in the order that heap's exact comparisons and swaps leave them, so 1.x's
answers depend on it; :class:`Heap` does the same operations (``Init``, ``Push``, ``Pop``,
``Fix``) on a Python list.  Knows nothing of points: the caller's ``less`` orders the items.
"""

from __future__ import annotations

from typing import Callable


class Heap:
    """A min-heap of ``items`` under ``less(a, b)``; ``items`` is the heap's own list."""

    __slots__ = ("h", "less")

    def __init__(self, items: list, less: Callable[[object, object], bool]):
        self.h = items
        self.less = less

    def __len__(self) -> int:
        return len(self.h)

    def init(self) -> None:
        n = len(self.h)
        for i in range(n // 2 - 1, -1, -1):
            self.down(i, n)

    def down(self, i0: int, n: int) -> bool:
        h, less = self.h, self.less
        i = i0
        while True:
            j1 = 2 * i + 1
            if j1 >= n:
                break
            j = j1
            j2 = j1 + 1
            if j2 < n and less(h[j2], h[j1]):
                j = j2
            if not less(h[j], h[i]):
                break
            h[i], h[j] = h[j], h[i]
            i = j
        return i > i0

    def up(self, j: int) -> None:
        h, less = self.h, self.less
        while j > 0:
            i = (j - 1) // 2
            if not less(h[j], h[i]):
                break
            h[i], h[j] = h[j], h[i]
            j = i

    def push(self, x) -> None:
        self.h.append(x)
        self.up(len(self.h) - 1)

    def pop(self):
        h = self.h
        n = len(h) - 1
        h[0], h[n] = h[n], h[0]
        self.down(0, n)
        return h.pop()

    def fix(self, i: int) -> None:
        if not self.down(i, len(self.h)):
            self.up(i)
