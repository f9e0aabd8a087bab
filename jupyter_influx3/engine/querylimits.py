"""The limits a query is held to, so no single statement can freeze or exhaust a node.

Owns the numbers (:class:`QueryLimits`, one per engine: ``limits_for(engine)``), their defaults,
the parsing of a memory size (``4GB``, ``512MiB``, ``25%`` of RAM), and the check of a statement's
text done before any parser sees it (:func:`check_statement`): its size, how deeply it nests
brackets and how many chained operators it has — the things that make a recursive parser or
planner run for tens of seconds or die with ``RecursionError``. :func:`too_complex` is the last
wall: any ``RecursionError`` a parser or planner still hits becomes the same clear 400.

Where the limits are applied: the timeout by the adapters (`http/`, with `cancellation.py`), the
memory limit by the SQL service (DuckDB ``memory_limit``), the InfluxQL bucket and point limits by
the InfluxQL executor, the materialised-result cap by the serializers that hold a whole result.
Does not parse SQL or InfluxQL.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from typing import Optional

from .errors import QueryError

DEFAULT_TIMEOUT_S = 300.0
DEFAULT_MAX_STATEMENT_BYTES = 256 * 1024
#: bracket depth; DataFusion's SQL parser stops at 50 levels of recursion, our SQL translation
#: (several Python frames per level) at about 40 nested function calls
DEFAULT_MAX_NESTING = 30
#: chained AND/OR/arithmetic operators; each one is a level of a left-deep expression tree (the
#: InfluxQL planner's recursion gives out near 1000 ORs)
DEFAULT_MAX_OPERATORS = 500
#: InfluxDB 1.x's `max-select-buckets` (1.x's default is 0, unlimited; an open server needs one)
DEFAULT_MAX_SELECT_BUCKETS = 1_000_000
#: InfluxDB 1.x's `max-select-point`: rows a GROUP BY time() fill may build (buckets x series) and
#: rows an answer may have; an InfluxQL answer peaks at ~650 bytes a row in Python (measured: a
#: 500,000-row /query answer took the server's peak RSS up by 312 MB), so ~650 MB at this default
DEFAULT_MAX_SELECT_POINTS = 1_000_000
#: bytes of a result held whole (format=pretty must see every row before it prints one)
DEFAULT_MAX_MATERIALIZED_BYTES = 256 * 2**20


@dataclass
class QueryLimits:
    """Per-engine query limits; 0 or None turns a limit off."""

    timeout_s: Optional[float] = DEFAULT_TIMEOUT_S
    max_statement_bytes: int = DEFAULT_MAX_STATEMENT_BYTES
    max_nesting: int = DEFAULT_MAX_NESTING
    max_operators: int = DEFAULT_MAX_OPERATORS
    max_select_buckets: int = DEFAULT_MAX_SELECT_BUCKETS
    max_select_points: int = DEFAULT_MAX_SELECT_POINTS
    max_materialized_bytes: int = DEFAULT_MAX_MATERIALIZED_BYTES


def limits_for(engine) -> QueryLimits:
    """The engine's limits (set by whoever opened it: `influx3 serve`, the Jupyter extension),
    else the defaults."""
    limits = getattr(engine, "query_limits", None)
    if limits is None:
        limits = QueryLimits()
        try:
            engine.query_limits = limits
        except AttributeError:
            pass
    return limits


# ---- statement text ----------------------------------------------------------------------------


class StatementTooLarge(QueryError):
    """The statement's text is longer than the limit (400)."""

    status = 400


class StatementTooComplex(QueryError):
    """The statement nests or chains deeper than its parser and planner can take (400)."""

    status = 400


# quoted strings, quoted identifiers, InfluxQL regexes (after =~ or !~) and comments hold no structure
_OPAQUE = re.compile(r"'(?:[^'\\]|\\.|'')*'?|\"(?:[^\"\\]|\\.|\"\")*\"?|~\s*/(?:[^/\\\n]|\\.)*/?"
                     r"|--[^\n]*|/\*.*?(?:\*/|$)", re.S)
# operators that chain into a left-deep tree (`*` and `/` are left out: `SELECT *`, `count(*)`);
# the lookahead first: a character that starts none fails at once (twice as fast)
_OPERATOR = re.compile(r"(?=[AaOo|+%&^-])(?:\b(?:AND|OR)\b|\|\||[-+%&|^])", re.I)


def check_statement(text: str, limits: QueryLimits) -> None:
    """Refuse, before parsing, a statement too large or too deeply structured for the parsers."""
    size = len(text.encode("utf-8")) if not text.isascii() else len(text)
    if limits.max_statement_bytes and size > limits.max_statement_bytes:
        raise StatementTooLarge(f"statement too large: {size} bytes (the limit is {limits.max_statement_bytes} "
                                "bytes)")
    bare = _OPAQUE.sub(" ", text)
    # (the depth is at most the number of openers: only then is it worth counting)
    if limits.max_nesting and bare.count("(") + bare.count("[") + bare.count("{") > limits.max_nesting:
        depth = deepest = 0
        for ch in bare:
            if ch in "([{":
                depth += 1
                deepest = max(deepest, depth)
            elif ch in ")]}":
                depth -= 1
        if deepest > limits.max_nesting:
            raise StatementTooComplex(f"statement is nested too deeply: {deepest} levels of brackets "
                                      f"(the limit is {limits.max_nesting})")
    if limits.max_operators:
        count = len(_OPERATOR.findall(bare))
        if count > limits.max_operators:
            raise StatementTooComplex(f"statement is too complex: {count} AND/OR/arithmetic operators (the "
                                      f"limit is {limits.max_operators}; a regular expression or IN list "
                                      "matches many values in one term)")


def too_complex(exc: RecursionError) -> StatementTooComplex:
    """What a parser or planner's RecursionError answers (never a 500)."""
    return StatementTooComplex("statement is nested too deeply for the query planner (simplify the "
                               "expression: fewer brackets or chained operators)")


# ---- memory sizes ------------------------------------------------------------------------------

_UNITS = {"": 1, "b": 1, "k": 10**3, "kb": 10**3, "m": 10**6, "mb": 10**6, "g": 10**9, "gb": 10**9,
          "t": 10**12, "tb": 10**12, "kib": 2**10, "mib": 2**20, "gib": 2**30, "tib": 2**40}
_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([a-z]*)\s*$", re.I)


def total_memory() -> int:
    """Physical memory of this machine, in bytes."""
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):  # pragma: no cover - not POSIX
        return 8 * 2**30


def parse_memory_size(value: str) -> int:
    """``4GB``, ``512MiB``, ``1073741824`` (bytes) or ``25%`` (of physical memory) as bytes.
    Raises ValueError with a message fit for a command line."""
    text = str(value).strip()
    if text.endswith("%"):
        try:
            pct = float(text[:-1])
        except ValueError:
            raise ValueError(f"expected a size like 4GB or a percentage like 25%, got {value!r}") from None
        if not 0 < pct <= 100:
            raise ValueError(f"a percentage of memory must be above 0 and at most 100, got {value!r}")
        return int(total_memory() * pct / 100)
    m = _SIZE.match(text)
    if not m or m.group(2).lower() not in _UNITS:
        raise ValueError(f"expected a size like 4GB, 512MiB or a percentage like 25%, got {value!r}")
    size = int(float(m.group(1)) * _UNITS[m.group(2).lower()])
    if size < 2**20:
        raise ValueError(f"a query memory limit under 1 MiB cannot run a query, got {value!r}")
    return size
