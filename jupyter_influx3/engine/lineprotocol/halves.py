"""Parsing a big body as two halves at the same time.

Owns where to cut a body (just after a newline; only bodies of 1 MiB and about 16K lines or
more, on a machine with two CPUs or more), the one helper thread that parses the second half
(a busy helper means parsing in one piece, never waiting behind it; recreated after a fork), and
joining the halves' results.  Must not parse: ``fast.py`` hands it the parse function.
"""

from __future__ import annotations

import os
import threading
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from .assemble import _concat_in_order
from .results import LineError, ParseResult, _LineSpans


_PARALLEL_MIN_LINES = 16384  # bodies with at least this many lines are parsed in two halves
_PARALLEL_MIN_BYTES = 1 << 20
_LINES_SAMPLE = 1 << 16  # bytes whose newlines estimate a body's line count (counting 1 MiB took 0.5 ms)
_POOL = None  # (pid, ThreadPoolExecutor)
_POOL_LOCK = threading.Lock()
_HELPER_FREE = threading.Semaphore(1)  # the helper runs one job at a time; never queue behind it
_CPUS = os.cpu_count() or 1  # (asking each time cost ~10 us per body)


def _in_helper(fn, *args):
    """Submit ``fn(*args)`` to the helper thread if it is idle (a Future), else None."""
    global _POOL
    if not _HELPER_FREE.acquire(blocking=False):
        return None

    def job():
        try:
            return fn(*args)
        finally:
            _HELPER_FREE.release()

    try:
        with _POOL_LOCK:
            pid = os.getpid()
            if _POOL is None or _POOL[0] != pid:  # (re)create after a fork
                _POOL = (pid, ThreadPoolExecutor(max_workers=1, thread_name_prefix="lineprotocol"))
            return _POOL[1].submit(job)
    except RuntimeError:  # e.g. the interpreter is shutting down
        _HELPER_FREE.release()
        return None


def _halving_point(data: bytes):
    """Where to cut a big body in two (just after a newline), or None."""
    if len(data) < _PARALLEL_MIN_BYTES or _CPUS < 2:
        return None
    nl = data.find(b"\n", len(data) // 2)
    if nl < 0 or nl + 1 >= len(data):
        return None
    if data.count(b"\n", 0, _LINES_SAMPLE) * len(data) < _PARALLEL_MIN_LINES * _LINES_SAMPLE:
        return None  # (estimated from the first 64 KiB: too few lines to be worth it)
    return nl + 1


def _join_halves(data: bytes, cut: int, a: ParseResult, b: ParseResult) -> ParseResult:
    """The result for data, from the results for data[:cut] and data[cut:]."""
    shift = a.num_lines
    for t in b.tables:
        t.line_numbers = t.line_numbers + shift
    errors = a.errors + [LineError(e.line_number + shift, e.error_message, e.original_line, e.detail)
                           for e in b.errors]
    by_name = {t.measurement: t for t in a.tables}
    tables = list(a.tables)
    for t in b.tables:
        ta = by_name.get(t.measurement)
        if ta is None:
            tables.append(t)
        else:
            tables[tables.index(ta)] = _concat_in_order(ta, t)
    la, lb = a._lines, b._lines
    spans = _LineSpans(data, np.concatenate([la.starts, lb.starts + cut]), np.concatenate([la.ends, lb.ends + cut]))
    return ParseResult(tables, errors, a.num_lines + b.num_lines, spans)
