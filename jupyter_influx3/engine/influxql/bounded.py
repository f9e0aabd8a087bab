"""Whether a query's work is bounded before it runs: the check that lets a server answer an InfluxQL
text it has never seen on its event loop (``http/base.try_inline``), where otherwise only a text
whose last run was quick runs. A dashboard with a moving time range, and TSBS's own runner, send a
new text every time, and the query pool's two thread hand-offs cost such a small query more than
its run (benchmarks/README.md, `queries_influxql.py --fresh`).

Bounded: every statement is a SELECT without INTO or ``tz()``, of fields, math and the calls in
``CALLS`` only, over one measurement whose series-cache copy (cachescan.py) holds at most
``MAX_SERIES`` series; and together the statements read at most ``MAX_ROWS`` rows of their copies,
or ``MAX_MERGED_ROWS`` when a group holds several series (1.x's order of merging them is kept
point by point, in Python), and answer at most ``MAX_CELLS`` cells (rows times columns). At those
limits a run takes under 3 ms (benchmarks/README.md), like a text that last ran under
``INLINE_MS``. A query the check cannot bound (DuckDB reads, no copy yet, other statements or
functions, a subquery) runs where its cost is known, as before.

Owns: those limits and the check. Must not: read a row, build a copy, or raise for a statement
that does not plan (it is not bounded: its error is the run's to answer).
"""

from __future__ import annotations

from typing import Optional

from . import dashboard
from .ast import Call, SelectStatement, shape_memo, walk
from .functions import MATH_FUNCTIONS

#: a copy of more series is not looked at: the probe evaluates a new condition over every series
#: of the copy (a regex one value at a time)
MAX_SERIES = 2_000
#: rows read by all the statements together: a series per group; several in a group (merged
#: point by point: ~7 µs a point)
MAX_ROWS = 50_000
MAX_MERGED_ROWS = 200
#: the answer's cells (rows times columns) together (a filled window costs ~0.5 µs)
MAX_CELLS = 5_000
#: the calls whose work grows only with the rows and windows (vectorised reductions)
CALLS = frozenset({"count", "sum", "mean", "min", "max", "first", "last"})


def bounded(ex, query, database: Optional[str], rp: Optional[str], now: int) -> bool:
    """Whether every statement of ``query``, run by executor ``ex`` at ``now``, stays within the
    limits above (counted from the plans and the series cache's copies, nothing read)."""
    ok = _bounded(ex, query, database, rp, now)
    if not ok:
        dashboard.forget()   # (no run follows here: the copy it found is not held for one)
    return ok


def _bounded(ex, query, database: Optional[str], rp: Optional[str], now: int) -> bool:
    rows = cells = 0
    merged = False
    for stmt in query.statements:
        if not isinstance(stmt, SelectStatement) or stmt.target is not None or stmt.location is not None \
                or not _plain_calls(stmt):
            return False   # (a time zone's windows are worked out one by one)
        got = ex.extent(stmt, database, rp, now, MAX_SERIES)
        if got is None:
            return False
        rows, cells, merged = rows + got.rows, cells + got.cells, merged or got.merged
    return rows <= (MAX_MERGED_ROWS if merged else MAX_ROWS) and cells <= MAX_CELLS


def _plain_calls(stmt: SelectStatement) -> bool:
    """Whether the fields and the WHERE call only ``CALLS``, math functions and ``now()``."""
    exprs = [f.expr for f in stmt.fields] + ([stmt.condition] if stmt.condition is not None else [])
    return shape_memo(stmt, "_plain_calls", lambda: all(
        n.name.lower() in _ALLOWED for e in exprs for n in walk(e) if isinstance(n, Call)))


_ALLOWED = CALLS | frozenset(MATH_FUNCTIONS) | {"now"}
