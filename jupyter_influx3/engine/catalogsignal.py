"""A "the catalog changed" signal shared by the nodes of one server (the workers of
``influx3 serve --workers N``): an 8-byte counter in a memory-mapped file that a node bumps after
each catalog commit, and that a token or user lookup compares with the value it refreshed at (no
file system call), so a token revoked or a role changed through one worker holds on every worker at once.

Nodes outside the server (a notebook kernel on the same data directory) do not bump it: their
commits are seen within `tokens.MAX_STALENESS_S`, as before.

Owns the file and its one counter. Must not: read or apply catalog records (Catalog does).
"""

from __future__ import annotations

import fcntl
import mmap
import os
import struct

_COUNTER = struct.Struct("<Q")


class CatalogSignal:
    def __init__(self, path: os.PathLike):
        self._fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
        if os.fstat(self._fd).st_size < _COUNTER.size:
            os.ftruncate(self._fd, _COUNTER.size)
        self._map = mmap.mmap(self._fd, _COUNTER.size)
        self.seen = self.value()

    def value(self) -> int:
        return _COUNTER.unpack_from(self._map)[0]

    def bump(self) -> None:
        """After a commit: every node's next `changed()` is True."""
        fcntl.flock(self._fd, fcntl.LOCK_EX)   # two nodes committing at once: both counted
        try:
            _COUNTER.pack_into(self._map, 0, self.value() + 1)
        finally:
            fcntl.flock(self._fd, fcntl.LOCK_UN)

    def pending(self) -> int | None:
        """The counter, if some node committed since `seen` (the value the caller last refreshed
        at: set it once the refresh is done, so a concurrent reader refreshes too), else None."""
        now = self.value()
        return None if now == self.seen else now

    def close(self) -> None:
        self._map.close()
        os.close(self._fd)
