"""Work a call may leave until its answer is out.

Some work a query does only serves later calls: a run of a kept plan leaves what it derived with
the series-cache copy it read, so that the next run of that plan reuses it, and the first text of a
query shape makes the shape's template for the texts after it (influxql/shapes.py). A server that
runs the query on its event loop can write the answer first and do such work afterwards, while its client
is still being woken up to read the answer (`influx3 serve`'s lean path, http/lean.py), instead
of making the client wait for it.

The code with such work hands it to :func:`later`. It runs at once, unless the thread is inside
:func:`deferred`: then it is added to that block's list, and whoever opened the block runs the
list (:func:`run`) once its answer is written, before the thread takes its next request. So the
work is still done before anything else this thread does, and a caller that never defers (the
kernel's magics, tornado's handlers, the query pool) sees no change at all.

Only work whose effect is on later calls may be handed over: nothing the answer itself depends
on, and nothing another caller must see while the query runs (the query log, where a running
query shows in ``system.queries``, is not handed over). The lean path records its metrics after
the write too, but itself, in its own ``finish``: those are the HTTP layer's.

Owns one per-thread list; knows nothing of what the work is.
"""

from __future__ import annotations

import logging
import threading
from typing import Callable

from .threadlocal import binding

log = logging.getLogger(__name__)

_local = threading.local()


def later(work: Callable[[], None]) -> None:
    """Do ``work`` now, or, inside :func:`deferred`, once the block's answer is out."""
    pending = getattr(_local, "pending", None)
    if pending is None:
        work()
    else:
        pending.append(work)


def deferred(pending: list) -> binding:
    """``with deferred(pending):`` work handed to :func:`later` in the block goes to ``pending``;
    the caller must :func:`run` it (also when the block raised)."""
    return binding(_local, "pending", pending)


def run(pending: list) -> None:
    """Do the work of ``pending`` in the order it was handed over, and empty it. Work that fails
    is logged: it only served later calls, which do without it."""
    while pending:
        work = pending.pop(0)
        try:
            work()
        except Exception:  # noqa: BLE001 - the answer is out; a later call just finds less kept
            log.exception("deferred work failed")
