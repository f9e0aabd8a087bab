"""A "something changed" signal shared by processes on one machine: an 8-byte counter in a
memory-mapped file that a committer bumps after each commit, and that a reader compares with the
value it last refreshed at, with no file system call.

Two signals use it:

* the catalog signal of one server (``influx3 serve --workers N``, in the supervisor's runtime
  directory): bumped after each catalog commit, so a token revoked or a role changed through one
  worker holds on every worker at once (tokens.py). Nodes outside the server (a notebook kernel on
  the same data directory) do not bump it: their commits are seen within `tokens.MAX_STALENESS_S`.
* the data signal of a data directory (``<data-dir>/.changes``): every node on the directory bumps
  it after each WAL append, manifest and catalog commit, so `Engine.refresh` can skip reading the
  other nodes' files when nothing was committed since its last look (the fixed cost of a small
  query; `Engine.refresh` still reads everything every `REFRESH_MAX_AGE_S` in case a writer did not
  bump, e.g. a process on another machine sharing the directory).

Owns the file and its one counter. Must not: know what was committed or read it (the caller does).
"""

from __future__ import annotations

import fcntl
import mmap
import os
import struct
import weakref

_COUNTER = struct.Struct("<Q")
#: the data signal's file in a data directory (a file: node listings look at directories only)
DATA_SIGNAL_FILE = ".changes"


class ChangeSignal:
    def __init__(self, path: os.PathLike, mode: int = 0o600):
        self._fd = os.open(path, os.O_RDWR | os.O_CREAT, mode)
        if os.fstat(self._fd).st_size < _COUNTER.size:
            os.ftruncate(self._fd, _COUNTER.size)
        self._map = mmap.mmap(self._fd, _COUNTER.size)
        # a catalog made and dropped without close() (the offline CLI, tests) frees its descriptor
        self._finalizer = weakref.finalize(self, _release, self._map, self._fd)
        self.seen = self.value()

    def value(self) -> int:
        return _COUNTER.unpack_from(self._map)[0]

    def bump(self) -> None:
        """After a commit: every reader's next `pending()` is not None."""
        # two processes committing at once are both counted: a lost increment could leave the
        # value a reader already saw after the first commit, hiding the second
        fcntl.flock(self._fd, fcntl.LOCK_EX)
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
        self._finalizer()


def _release(mapped: mmap.mmap, fd: int) -> None:
    mapped.close()
    os.close(fd)


def open_signal(path: os.PathLike) -> ChangeSignal | None:
    """The data directory's signal at `path` (its mode left to the umask, like the directory's
    other files), or None where it cannot be opened for writing (a read-only directory, another
    user's file, a file system without shared memory maps): that node then reads the files at
    every refresh, and its own commits reach the others within `REFRESH_MAX_AGE_S`."""
    try:
        return ChangeSignal(path, 0o666)
    except (OSError, ValueError):
        return None
