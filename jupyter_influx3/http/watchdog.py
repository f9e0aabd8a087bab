"""Noticing a stuck server, for ``/health``: the IOLoop's lag and a write pool that takes no work.

`/health` answering ``OK`` while every write hangs is worse than no health check: a load balancer
keeps sending traffic to a node that acknowledges nothing. What makes a node useless and is cheap
to measure:

* the IOLoop is blocked (a callback that should run every ``TICK_S`` ran late): nothing is read
  from or written to any socket meanwhile. The largest lag of the last ``WINDOW_S`` seconds is
  kept, so a health check that could only run after the loop came back still reports it;
* the write pool cannot start a no-op within ``PROBE_S``: every write would wait as long.

Queries run in a pool of their own (`ServerContext.query_executor`) with a timeout, so a busy
query pool is not a stuck server. A query pool whose every thread is still busy with a query that
was already stopped (timed out, client gone: Python work DuckDB cannot interrupt) is: no query can
run until one of them ends.

One watchdog per IOLoop (shared by the contexts of a process). Does not touch the engine.
"""

from __future__ import annotations

import asyncio
import collections
import time
from typing import Any, Optional

from tornado.ioloop import IOLoop, PeriodicCallback

from . import querypool

TICK_S = 0.1
#: lag above this is a blocked loop (seconds)
LAG_LIMIT_S = 2.0
#: how long a lag is remembered (seconds)
WINDOW_S = 30.0
#: how long the write pool may take to start a no-op (seconds)
PROBE_S = 2.0


class Watchdog:
    """Measures the lag of one IOLoop (start() it on that loop)."""

    def __init__(self, loop: IOLoop):
        self.loop = loop
        self._expected = 0.0
        self._lags: collections.deque[tuple[float, float]] = collections.deque()
        self._callback = PeriodicCallback(self._tick, TICK_S * 1000)

    def start(self) -> None:
        self._expected = time.monotonic() + TICK_S
        self._callback.start()

    def stop(self) -> None:
        self._callback.stop()

    def _tick(self) -> None:
        now = time.monotonic()
        lag = now - self._expected
        self._expected = now + TICK_S
        if lag > LAG_LIMIT_S / 4:
            self._lags.append((now, lag))
        while self._lags and self._lags[0][0] < now - WINDOW_S:
            self._lags.popleft()

    def worst_lag(self) -> float:
        """The largest IOLoop lag of the last WINDOW_S seconds, including the one going on now."""
        now = time.monotonic()
        current = max(0.0, now - self._expected) if self._callback.is_running() else 0.0
        recent = max((lag for t, lag in self._lags if t >= now - WINDOW_S), default=0.0)
        return max(current, recent)


_watchdogs: dict[int, Watchdog] = {}


def watchdog() -> Watchdog:
    """The running IOLoop's watchdog, started on first use."""
    loop = IOLoop.current()
    dog = _watchdogs.get(id(loop))
    if dog is None or dog.loop is not loop:
        dog = _watchdogs[id(loop)] = Watchdog(loop)
        dog.start()
    return dog


async def problems(context: Any) -> list[str]:
    """What makes this node unable to serve right now (empty: healthy)."""
    found = []
    lag = watchdog().worst_lag()
    if lag > LAG_LIMIT_S:
        found.append(f"the event loop was blocked for {lag:.1f} s within the last {WINDOW_S:.0f} s")
    waited = await _probe(context.executor)
    if waited is None:
        found.append(f"the write pool could not start work within {PROBE_S:.0f} s")
    stopped, threads = querypool.held_by_stopped(context)
    if threads and stopped >= threads:
        found.append(f"all {threads} query threads are held by queries that were already stopped")
    return found


async def _probe(executor: Optional[Any]) -> Optional[float]:
    """Seconds the pool took to run a no-op, or None if it did not within PROBE_S."""
    started = time.monotonic()
    fut = IOLoop.current().run_in_executor(executor, time.monotonic)
    try:
        await asyncio.wait_for(asyncio.shield(fut), PROBE_S)
    except asyncio.TimeoutError:
        fut.cancel()  # not started yet: never runs
        return None
    return time.monotonic() - started
