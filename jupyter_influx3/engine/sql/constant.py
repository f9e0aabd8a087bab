"""Answers of constant queries: those that read no table and call only deterministic functions.

`SELECT 1` (Grafana's health check of a data source) and other table-less queries of constants give
the same rows every time, yet DuckDB spends ~0.25 ms planning and running each. A query whose final
DuckDB text names no relation of ours, binds no parameter, has no comment and calls only functions
every overload of which DuckDB calls CONSISTENT (not `random()`, `now()`, `current_setting()`,
table functions, macros…) is answered from the rows its first run returned, by its exact text.
Anything the check cannot read for sure is simply run. Small answers only (MAX_ROWS, MAX_BYTES).

Owns the check and the kept answers; does not run queries or log them (the runner does).
"""

from __future__ import annotations

import re
import threading

import pyarrow as pa

from ..recent import Recent

MAX_ROWS = 1000
MAX_BYTES = 256 * 1024
KEPT = 128

#: words that may stand before "(" in a query without being a function call
_SYNTAX = frozenset({
    "all", "and", "any", "as", "between", "by", "case", "cast", "distinct", "else", "except", "exists",
    "from", "in", "intersect", "is", "join", "like", "not", "on", "or", "over", "partition", "select",
    "some", "then", "try_cast", "union", "using", "values", "when", "where", "with", "filter", "limit",
    "offset", "order", "group", "having", "ilike", "lateral",
})

#: SQL's special value functions, called without parentheses (DuckDB parses them as calls of the
#: clock or the session): `SELECT current_time` changes from run to run
_SPECIAL_VALUES = frozenset({
    "current_date", "current_time", "current_timestamp", "localtime", "localtimestamp", "current_user",
    "session_user", "user", "current_role", "current_catalog", "current_schema",
})

_TOKEN = re.compile(r"""'(?:[^']|'')*'|"((?:[^"]|"")*)"|([A-Za-z_][A-Za-z0-9_$]*)""")


def consistent_functions(con) -> frozenset:
    """Names of the functions whose every overload DuckDB calls CONSISTENT (same arguments, same
    result, whatever the time, session or settings)."""
    return frozenset(r[0].lower() for r in con.execute(
        "SELECT function_name FROM duckdb_functions() GROUP BY function_name "
        "HAVING bool_and(coalesce(stability = 'CONSISTENT', false))").fetchall())


def calls_only(sql: str, allowed: frozenset) -> bool:
    """Whether every name followed by "(" in `sql` is SQL syntax or in `allowed`, and no unquoted
    name is a special value function (`current_time`). False for text the scan cannot read for
    sure: comments, dollar quotes, placeholders, an unclosed quote."""
    if "--" in sql or "/*" in sql or "$" in sql or "?" in sql or sql.count("'") % 2 or sql.count('"') % 2:
        return False
    for m in _TOKEN.finditer(sql):
        if m.group(0)[0] == "'":
            continue
        name = m.group(1) if m.group(1) is not None else m.group(2)
        if m.group(2) is not None and name.lower() in _SPECIAL_VALUES:
            return False
        rest = sql[m.end():].lstrip()
        if rest.startswith("(") and name.lower() not in _SYNTAX and name.lower() not in allowed:
            return False
    return True


class ConstantResults:
    """The kept answers, by DuckDB text (thread-safe; least recently used go first)."""

    def __init__(self, allowed: frozenset):
        self.allowed = allowed
        self._kept: Recent = Recent(KEPT)   # sql -> (schema, batches)
        self._lock = threading.Lock()

    def get(self, sql: str) -> tuple[pa.Schema, list] | None:
        with self._lock:
            return self._kept.recall(sql)

    def cacheable(self, sql: str, values: dict | None) -> bool:
        """Whether the DuckDB text `sql` of a query that reads no table and does not ask for the
        time (the caller knows those) gives the same answer every time it runs."""
        return not values and calls_only(sql, self.allowed)

    def put(self, sql: str, schema: pa.Schema, batches: list) -> None:
        if sum(b.num_rows for b in batches) > MAX_ROWS or sum(b.nbytes for b in batches) > MAX_BYTES:
            return
        with self._lock:
            self._kept.keep(sql, (schema, batches))
