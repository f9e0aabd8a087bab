"""Cancelling one query: its deadline, the reason it was stopped, and the DuckDB cursors it uses.

A caller (an HTTP request, a kernel cell) makes a :class:`QueryScope` and runs the query's work
inside ``with scope.active():`` on whatever thread does it. Every DuckDB cursor the SQL layer or the
InfluxQL scanner opens while a scope is active is attached to it (:func:`attach_cursor`), so
``scope.cancel(reason)`` can interrupt exactly that query's cursors from any thread: a timeout, a
client that went away, a server shutting down. Python work between DuckDB calls stops at the next
:meth:`QueryScope.check`.

Adapters with an event loop arm a deadline with it; for the others one daemon thread here cancels
scopes at their deadline (`watch`) and rings an :class:`Alarm` (`alarm`). Knows nothing of HTTP.
"""

from __future__ import annotations

import collections
import heapq
import itertools
import threading
import time
import weakref
from typing import Optional

from .errors import QueryError
from .threadlocal import binding

TIMEOUT = "timeout"
DISCONNECT = "disconnect"
SHUTDOWN = "shutdown"

_current = threading.local()
#: how many times a cancelled query's cursors are interrupted again (about 10 minutes)
REPEATS = 600
#: how late the deadline thread may act on an entry. Every query run on the IOLoop arms an alarm
#: (http/base.py), so a busy server pushes an entry per request; waking at each one's exact time
#: woke the thread ~2 times per request (its own timer, then the lock the IOLoop held), each wake a
#: switch on the core the clients run on. With the slack it wakes for a batch, at most ~100 times
#: a second, and a deadline or alarm is acted on at most this much late.
WAKE_SLACK_S = 0.01
#: while alarms keep coming, the thread wakes this often to look at them even when none it saw was
#: still armed. Sleeping without a time-out then made the next request's alarm wake it: one wake-up
#: per request, since the IOLoop disarms each alarm before the thread gets the GIL to look.
BUSY_TICK_S = 0.05


class QueryCancelled(QueryError):
    """The query was stopped before it finished; `reason` says why (TIMEOUT, DISCONNECT, SHUTDOWN)."""

    #: HTTP status of each reason (a timed-out query is the server giving up: 504)
    STATUSES = {TIMEOUT: 504, SHUTDOWN: 503, DISCONNECT: 499}

    def __init__(self, reason: str, timeout_s: Optional[float] = None):
        if reason == TIMEOUT:
            # InfluxDB 1.x's wording (query.ErrQueryTimeoutLimitExceeded), with the limit in force
            limit = f" ({timeout_s:g} s)" if timeout_s else ""
            message = f"query-timeout limit exceeded{limit}"
        elif reason == SHUTDOWN:
            message = "query interrupted: the server is shutting down"
        else:
            message = "query interrupted: the client closed the connection"
        super().__init__(message)
        self.reason = reason
        self.status = self.STATUSES.get(reason, 500)


class QueryScope:
    """One query's deadline and cancellation (thread-safe; cancelling twice keeps the first reason)."""

    def __init__(self, timeout_s: Optional[float] = None):
        self.timeout_s = timeout_s if timeout_s and timeout_s > 0 else None
        self.started = time.monotonic()
        self.deadline = self.started + self.timeout_s if self.timeout_s else None
        self.reason: Optional[str] = None
        self._cursors: list = []
        self._lock = threading.Lock()

    # -- state ---------------------------------------------------------------------------------

    @property
    def cancelled(self) -> bool:
        return self.reason is not None

    def remaining(self) -> Optional[float]:
        """Seconds left before the deadline (None: no deadline)."""
        return None if self.deadline is None else self.deadline - time.monotonic()

    def error(self) -> QueryCancelled:
        return QueryCancelled(self.reason or TIMEOUT, self.timeout_s)

    def check(self) -> None:
        """Raise :class:`QueryCancelled` if the query was cancelled or is past its deadline."""
        if self.reason is None and self.deadline is not None and time.monotonic() >= self.deadline:
            self.cancel(TIMEOUT)
        if self.reason is not None:
            raise self.error()

    # -- cancelling ----------------------------------------------------------------------------

    def cancel(self, reason: str) -> None:
        """Stop the query: interrupt the DuckDB work it is doing now, and again for as long as the
        scope lives (DuckDB's interrupt reaches only a statement already executing: one that a
        cursor starts a moment later would otherwise run to its end)."""
        with self._lock:
            first = self.reason is None
            if first:
                self.reason = reason
        self.interrupt()
        if first:
            _deadlines.repeat(self)

    def interrupt(self) -> None:
        with self._lock:
            cursors = list(self._cursors)
        for cursor in cursors:
            _interrupt(cursor)

    def attach(self, cursor) -> None:
        """A DuckDB cursor this query uses; raises QueryCancelled if the query is already cancelled
        (the caller has not started the cursor's statement yet, so an interrupt would be lost)."""
        with self._lock:
            self._cursors.append(cursor)
            cancelled = self.reason is not None
        if cancelled:
            raise self.error()

    def holds_cursors(self) -> bool:
        """Whether DuckDB cursors are attached (work that a cancellation could still reach)."""
        with self._lock:
            return bool(self._cursors)

    def adopt(self, other: "QueryScope") -> None:
        """Take over `other`'s cursors (work begun under a scope of its own goes on under this one:
        its timeout and cancellation now reach those cursors)."""
        with other._lock:
            cursors, other._cursors = other._cursors, []
        with self._lock:
            self._cursors.extend(cursors)
            cancelled = self.reason is not None
        if cancelled:
            self.interrupt()

    def active(self) -> binding:
        """``with scope.active():`` this is the current thread's query scope in the block
        (cursors opened inside attach to it)."""
        self.check()
        return binding(_current, "scope", self)


class Alarm:
    """Interrupts a scope's DuckDB work once, at a time set by :func:`alarm`, unless disarmed first:
    a bound on work an adapter runs where it must not block for long (an HTTP server's IOLoop). The
    scope is not cancelled: the caller runs the work again elsewhere, under its own deadline."""

    def __init__(self, scope: QueryScope):
        self._scope = scope
        self._lock = threading.Lock()
        self._state: Optional[str] = None   # None (armed), "fired" or "disarmed"

    def fire(self) -> None:
        with self._lock:
            if self._state is not None:
                return
            self._state = "fired"
        self._scope.interrupt()

    @property
    def armed(self) -> bool:
        return self._state is None

    def disarm(self) -> bool:
        """Stop the alarm; True when it had already fired (the work may have been interrupted)."""
        with self._lock:
            if self._state is None:
                self._state = "disarmed"
            return self._state == "fired"


class _Deadlines:
    """One daemon thread that cancels scopes whose deadline passed: the timer of adapters without
    an event loop (Flight's gRPC threads, a kernel). A scope that is gone is simply skipped."""

    def __init__(self):
        self._heap: list = []
        self._seq = itertools.count()
        self._cv = threading.Condition()
        self._thread: Optional[threading.Thread] = None
        # Alarms come without the lock: an inline query arms one per request on the IOLoop, and
        # taking the lock the thread sleeps on made a convoy (the thread, woken by its timer,
        # fought the IOLoop for that lock and the GIL: ~1 switch and +25 µs per request). They
        # wait here until the thread wakes (at most WAKE_SLACK_S after its planned time), and
        # only one due before that time wakes it.
        self._ringing: collections.deque = collections.deque()
        self._wake_at = float("inf")   # when the thread plans to wake (written under the lock)

    def watch(self, scope: QueryScope) -> None:
        """Cancel `scope` at its deadline."""
        if scope.deadline is not None:
            self._push(scope.deadline, scope, -1)

    def ring(self, alarm: Alarm, after_s: float) -> None:
        when = time.monotonic() + after_s
        if self._thread is None:
            self.start()
        self._ringing.append((when, next(self._seq), weakref.ref(alarm), -2))
        # Only an alarm the thread would reach more than WAKE_SLACK_S late wakes it (read after
        # the append: a thread that sets its time after this read looks at the queue again
        # before sleeping)
        if when + WAKE_SLACK_S < self._wake_at:
            with self._cv:
                self._cv.notify()

    def repeat(self, scope: QueryScope) -> None:
        """Interrupt a cancelled scope's cursors again and again (0.05 s, 0.1 s, … then every
        second) while the scope lives, at most REPEATS times."""
        self._push(time.monotonic() + 0.05, scope, 0)

    def start(self) -> None:
        """Start the thread if it is not running yet."""
        with self._cv:
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="influx3-query-deadlines", daemon=True)
                self._thread.start()

    def _push(self, when: float, scope: QueryScope, attempt: int) -> None:
        self.start()
        with self._cv:
            entry = (when, next(self._seq), weakref.ref(scope), attempt)
            heapq.heappush(self._heap, entry)
            # the thread sleeps until the earliest entry: only a new earliest one must wake it (an
            # inline query arms a 50 ms alarm per request; waking the thread for each costs a switch)
            if self._heap[0] is entry:
                self._cv.notify()

    def _take_ringing(self) -> bool:
        """Move the alarms armed since the last look into the heap (those disarmed meanwhile,
        most of them, are dropped); whether there were any."""
        ringing = self._ringing
        came = bool(ringing)
        while ringing:
            entry = ringing.popleft()
            alarm = entry[2]()
            if alarm is not None and alarm.armed:
                heapq.heappush(self._heap, entry)
        return came

    def _run(self) -> None:
        with self._cv:
            while True:
                busy = self._take_ringing()
                now = time.monotonic()
                while self._heap and self._heap[0][0] <= now:
                    _, _, ref, attempt = heapq.heappop(self._heap)
                    scope = ref()
                    if scope is None:
                        continue
                    if attempt == -2:   # an Alarm
                        scope.fire()
                        continue
                    if attempt < 0:  # a deadline (cancel() schedules the repeats; _cv is re-entrant)
                        if not scope.cancelled:
                            scope.cancel(TIMEOUT)
                        continue
                    scope.interrupt()
                    if attempt < REPEATS:
                        heapq.heappush(self._heap, (now + min(1.0, 0.05 * 2 ** attempt), next(self._seq), ref,
                                                    attempt + 1))
                wake_at = self._heap[0][0] + WAKE_SLACK_S if self._heap else float("inf")
                self._wake_at = min(wake_at, now + BUSY_TICK_S) if busy else wake_at
                if self._ringing:   # armed while this round ran: look again before sleeping
                    continue
                self._cv.wait(None if self._wake_at == float("inf") else self._wake_at - now)
                self._wake_at = float("-inf")   # awake: an alarm armed now is seen (or wakes nothing)


_deadlines = _Deadlines()


def start_timer() -> None:
    """Start the thread that watches deadlines and rings alarms now, before it is needed: an
    adapter with an event loop calls this at start-up, so that its first alarm (a query run on
    the loop) does not start a thread there (0.7-3.4 ms on this project's hardware)."""
    _deadlines.start()


def watch(scope: QueryScope) -> None:
    """Cancel `scope` (TIMEOUT) when its deadline passes, from a thread of our own."""
    _deadlines.watch(scope)


def alarm(scope: QueryScope, after_s: float) -> Alarm:
    """An :class:`Alarm` that interrupts `scope`'s DuckDB work `after_s` seconds from now."""
    ring = Alarm(scope)
    _deadlines.ring(ring, after_s)
    return ring


def current() -> Optional[QueryScope]:
    """The query scope active on this thread, if any."""
    return getattr(_current, "scope", None)


def attach_cursor(cursor) -> None:
    """Called by whoever opens a DuckDB cursor for a query: attach it to the current scope."""
    scope = current()
    if scope is not None:
        scope.attach(cursor)


def _interrupt(cursor) -> None:
    try:
        cursor.interrupt()
    except Exception:  # noqa: BLE001 - a cursor already closed has nothing to interrupt
        pass
