"""The query concurrency limit: how many queries (SQL, InfluxQL, a plugin's `query()`) one node
runs at once; the others wait for a slot.

One `QuerySlots` per engine (`slots_for`), set at start (`influx3 serve --max-concurrent-queries`)
and changed at run time (`/api/v3/configure/query_concurrency_limit`); `None` is InfluxDB 3's
"unlimited" (tokio's ``Semaphore::MAX_PERMITS``). A slot is re-entrant per thread (an InfluxQL
statement that runs SQL inside takes one slot, not two), and a waiting query gives up when its
`cancellation` scope does (timeout, client gone, shutdown). A SQL result holds its slot until its
stream is read to the end or closed: DuckDB executes while the stream is read.
`SharedQuerySlots` is the same limit shared by the worker processes of one server (``--workers``).

Knows nothing of HTTP.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import threading
import time
from typing import Callable, Optional

from . import cancellation
from .changesignal import open_signal

#: InfluxDB 3's largest limit (tokio's Semaphore::MAX_PERMITS, usize::MAX >> 3): "unlimited"
MAX_LIMIT = (2**64 - 1) >> 3
#: limits below this need ``force`` (a small limit can starve a busy server)
FORCE_BELOW = 16

_held = threading.local()


class QuerySlots:
    def __init__(self, startup: Optional[int] = None):
        if startup is not None and not 0 < startup <= MAX_LIMIT:
            raise ValueError(f"max concurrent queries must be between 1 and {MAX_LIMIT}")
        self.startup = startup
        self.limit = startup
        self.running = 0
        self._cv = threading.Condition()

    def set(self, limit: Optional[int]) -> None:
        """A new limit (None: back to the startup value); waiting queries are re-examined."""
        with self._cv:
            self.limit = self.startup if limit is None else limit
            self._cv.notify_all()

    def acquire(self) -> bool:
        """Take a slot for this thread (True), or nothing when the thread already holds one (False)."""
        depth = getattr(_held, "depth", 0)
        if depth:
            _held.depth = depth + 1
            return False
        self._take(cancellation.current())
        _held.depth = 1
        return True

    def release(self, owned: bool) -> None:
        _held.depth = max(0, getattr(_held, "depth", 1) - 1)
        if owned:
            self._give(self._slot_of_thread())

    def hold(self) -> "_Hold":
        """``with slots.hold():`` the block runs holding a slot (or the one this thread holds)."""
        return _Hold(self)

    def detach(self) -> Callable[[], None]:
        """Hand the current thread's slot to a stream read later (maybe on another thread):
        returns the function that gives it back (once)."""
        _held.depth = max(0, getattr(_held, "depth", 1) - 1)
        slot, done = self._slot_of_thread(), []

        def give_back() -> None:
            if not done:
                done.append(True)
                self._give(slot)

        return give_back

    # What differs between one process and several: how a slot is taken, named and given back.
    def _take(self, scope) -> None:
        with self._cv:
            while self.limit is not None and self.running >= self.limit:
                if scope is not None:
                    scope.check()
                self._cv.wait(0.05)
            self.running += 1

    def _slot_of_thread(self):
        return None   # slots of one process are interchangeable

    def _give(self, slot) -> None:
        with self._cv:
            self.running -= 1
            self._cv.notify()


class _Hold:
    """The block of :meth:`QuerySlots.hold` (a class, not a generator: every statement enters
    one)."""

    __slots__ = ("slots", "owned")

    def __init__(self, slots: QuerySlots):
        self.slots = slots

    def __enter__(self) -> None:
        self.owned = self.slots.acquire()

    def __exit__(self, *exc) -> None:
        self.slots.release(self.owned)


class SharedQuerySlots(QuerySlots):
    """One limit for several processes (`influx3 serve --workers N`): slot ``i`` is an exclusive
    ``flock`` on ``<dir>/slot-<i>`` (a worker that dies gives its slots back with its descriptors),
    and the limit set at run time is the file ``<dir>/limit``, read by every worker again after
    ``<dir>/limit.changes`` (a `changesignal`) says it changed."""

    def __init__(self, directory, startup: Optional[int] = None):
        super().__init__(startup)
        self.dir = os.fspath(directory)
        self._fds: dict[int, int] = {}      # slot number -> open descriptor (closed when released)
        self._mine = threading.local()
        # Every query asks for the limit (twice on the HTTP path). Reading the file each time cost
        # an open() (failing, with the default limit) per ask; a change signal bumped by `set` says
        # when the last reading is stale (None where it cannot be mapped: the file every time).
        self._signal = open_signal(os.path.join(self.dir, "limit.changes"))
        self._known: tuple[int, Optional[int]] = (-1, None)   # (signal value, the limit read then)

    @property
    def limit(self) -> Optional[int]:
        if self._signal is None:
            return self._read_limit()
        version = self._signal.value()
        known = self._known
        if known[0] == version:
            return known[1]
        value = self._read_limit()   # read after the version: a `set` meanwhile bumps it again
        self._known = (version, value)
        return value

    def _read_limit(self) -> Optional[int]:
        try:
            with open(os.path.join(self.dir, "limit"), encoding="ascii") as f:
                text = f.read().strip()
        except FileNotFoundError:
            return self.startup
        return None if text == "none" else int(text)

    @limit.setter
    def limit(self, value) -> None:   # QuerySlots.__init__ assigns the startup value: nothing to store
        pass

    def set(self, limit: Optional[int]) -> None:
        path = os.path.join(self.dir, "limit")
        if limit is None:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(path)
        else:
            tmp = f"{path}.{os.getpid()}.{threading.get_ident()}"
            with open(tmp, "w", encoding="ascii") as f:
                f.write(str(limit))
            os.replace(tmp, path)
        if self._signal is not None:
            self._signal.bump()

    def _take(self, scope) -> None:
        while True:
            limit = self.limit
            if limit is None:
                slot = None
                break
            slot = self._try_take(min(limit, 4096))
            if slot is not None:
                break
            if scope is not None:
                scope.check()
            time.sleep(0.01)
        with self._cv:
            self.running += 1
        self._mine.slot = slot

    def _slot_of_thread(self) -> Optional[int]:
        return getattr(self._mine, "slot", None)

    def _try_take(self, limit: int) -> Optional[int]:
        for i in range(limit):
            with self._cv:
                if i in self._fds:
                    continue
                fd = os.open(os.path.join(self.dir, f"slot-{i}"), os.O_RDWR | os.O_CREAT, 0o600)
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                except OSError:
                    os.close(fd)
                    continue
                self._fds[i] = fd
                return i
        return None

    def _give(self, slot: Optional[int]) -> None:
        with self._cv:
            self.running -= 1
            fd = self._fds.pop(slot, None) if slot is not None else None
        if fd is not None:
            os.close(fd)   # closing the descriptor drops the flock

class SlotStream:
    """A query's batch stream that gives its slot back when it ends, is closed or is dropped."""

    def __init__(self, stream, give_back):
        self._stream, self._give_back = stream, give_back

    def __iter__(self):
        return self

    def __next__(self):
        try:
            return next(self._stream)
        except BaseException:
            self._give_back()
            raise

    def close(self) -> None:
        try:
            self._stream.close()
        finally:
            self._give_back()

    def __del__(self):
        self._give_back()


def slots_for(engine) -> QuerySlots:
    slots = engine.__dict__.get("query_slots")
    if slots is None:
        slots = engine.__dict__.setdefault("query_slots", QuerySlots())
    return slots
