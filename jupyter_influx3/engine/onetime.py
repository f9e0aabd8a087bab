"""How long the current thread has spent on one-time work: building something the next calls reuse.

A caller that predicts a call's next cost from its last one (the HTTP layer runs a query on its
event loop when the same text last took under a few milliseconds) must not count the first
query's build of a series-ordered copy, which took a second once and will not be paid again while
the data stays as it is. The code doing such work wraps it in :func:`counted`; the caller reads
:func:`spent` before and after the call and takes the difference off the call's time.

A thread that must not be held up by such work at all (an event loop) runs its calls inside
:func:`elsewhere`; code about to do one-time work asks :func:`here` and, if not, leaves the work to
a background thread and answers without it.

Owns one per-thread counter of seconds and one per-thread flag; knows nothing of what is built or
who asks.
"""

from __future__ import annotations

import contextlib
import threading
import time
from typing import Iterator

from .threadlocal import binding

_local = threading.local()


def spent() -> float:
    """Seconds of one-time work this thread has done so far (only differences mean anything)."""
    return getattr(_local, "seconds", 0.0)


@contextlib.contextmanager
def counted() -> Iterator[None]:
    """Count the block's time as one-time work of this thread."""
    t0 = time.perf_counter()
    try:
        yield
    finally:
        _local.seconds = spent() + time.perf_counter() - t0


def here() -> bool:
    """Whether this thread may do one-time work itself (not inside :func:`elsewhere`)."""
    return not getattr(_local, "elsewhere", False)


def elsewhere() -> binding:
    """``with elsewhere():`` one-time work the block asks for goes to a background thread, not
    this one."""
    return binding(_local, "elsewhere", True)
