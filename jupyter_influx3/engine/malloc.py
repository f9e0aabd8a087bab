"""glibc malloc settings for a process that works on large numpy temporaries.

Owns one process-wide side effect, applied once by whoever first needs it (a large line-protocol
parse, the first series-cache copy), and handing freed memory back after a big job
(:func:`release_arrow_pool`, :func:`trim_malloc`); does nothing else.
"""

from __future__ import annotations

import functools
import os
import sys

_TUNED = False


@functools.cache
def _libc():
    """The C library's functions (ctypes), or None off Linux or where it cannot be loaded: loaded
    once (a CDLL is a reference cycle, and trim_malloc runs after every snapshot)."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        import ctypes

        return ctypes.CDLL(None)
    except Exception:  # pragma: no cover - best effort
        return None


def tune_malloc_once() -> None:
    """Keep freed memory for reuse instead of returning it to the OS (glibc only, once).

    The vectorised parser allocates tens of MB of short-lived numpy temporaries per body, and
    a query over the series cache several MB per column read.
    With glibc's defaults most of them come from fresh mmap()/brk() pages, and the page
    faults cost about as much CPU as the parsing itself.  We raise M_MMAP_THRESHOLD to 32 MiB
    and M_TRIM_THRESHOLD to 128 MiB for the whole process (so up to 128 MiB of free heap may
    stay resident).  Skipped when MALLOC_MMAP_THRESHOLD_ / MALLOC_TRIM_THRESHOLD_ are set
    in the environment or JUPYTER_INFLUX3_MALLOC_TUNING=0."""
    global _TUNED
    if _TUNED:
        return
    _TUNED = True
    env = os.environ
    if env.get("JUPYTER_INFLUX3_MALLOC_TUNING", "1") == "0" or "MALLOC_MMAP_THRESHOLD_" in env or "MALLOC_TRIM_THRESHOLD_" in env:
        return
    libc = _libc()
    if libc is None:
        return
    try:
        libc.gnu_get_libc_version  # glibc only (musl has no mallopt tunables)
        libc.mallopt(-3, 32 << 20)  # M_MMAP_THRESHOLD
        libc.mallopt(-1, 128 << 20)  # M_TRIM_THRESHOLD
    except Exception:  # pragma: no cover - best effort
        pass


def release_arrow_pool() -> None:
    """Arrow's allocator (mimalloc) keeps freed memory in the heap of the thread that freed it,
    where a job on another thread cannot reuse it, so the peaks of jobs on different threads would
    add up; this hands it back to the OS. Pages handed back come back zeroed by the kernel when next
    used, which costs a snapshot most of its CPU when done between snapshots of a steady load (the
    engine waits for a quiet spell)."""
    try:
        import pyarrow as pa

        pa.default_memory_pool().release_unused()
    except Exception:  # pragma: no cover - best effort
        pass


def trim_malloc() -> None:
    """glibc's free heap (the parser's and queries' numpy temporaries) back to the OS."""
    libc = _libc()
    if libc is None:
        return
    try:
        libc.malloc_trim(0)
    except Exception:  # pragma: no cover - best effort
        pass
