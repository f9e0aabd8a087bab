"""Answering the plain cache queries without DuckDB: ``SELECT *|cols FROM last_cache('t'[, 'n'])
[WHERE key = 'v' AND key IN (…) AND key != … AND key NOT IN (…)]`` (and the same on
`distinct_cache`), the dashboard's "latest value per series" query, in well under a millisecond.

Owns the recognition of those shapes (a small grammar, memoized per query text) and the
key-column predicates applied inside the cache. Anything else — other predicates, ORDER BY,
joins, functions, parameters, an unknown column — returns None and goes through the SQL layer
as usual, which answers the same (DuckDB filters the function's rows), so this path changes
speed, never answers. Errors are left to the SQL layer too.
"""

from __future__ import annotations

import re
import threading
import time
import uuid
from dataclasses import dataclass

import pyarrow as pa

from ..recent import Recent

_HEAD = re.compile(
    r"""^\s*SELECT\s+(?P<cols>\*|(?:"[^"]+"|[a-z_][a-z0-9_]*)(?:\s*,\s*(?:"[^"]+"|[a-z_][a-z0-9_]*))*)\s+
        FROM\s+(?P<fn>last_cache|distinct_cache)\s*\(\s*'(?P<table>(?:[^']|'')*)'\s*
        (?:,\s*'(?P<name>(?:[^']|'')*)'\s*)?\)\s*(?:WHERE\s+(?P<where>.*))?$""", re.I | re.S | re.X)
_TERM = re.compile(
    r"""\s*(?P<col>"[^"]+"|[a-z_][a-z0-9_]*)\s*
        (?:(?P<op>=|!=|<>)\s*(?P<val>'(?:[^']|'')*'|-?\d+|true|false)
          |(?P<neg>NOT\s+)?IN\s*\((?P<list>[^()]*)\))\s*(?:AND\b|$)""", re.I | re.S | re.X)
_VALUE = re.compile(r"""\s*('(?:[^']|'')*'|-?\d+|true|false)\s*(?:,|$)""", re.I)
_MEMO_SIZE = 512


@dataclass(frozen=True)
class _Shape:
    fn: str
    table: str
    name: str | None
    cols: tuple | None                    # None: *
    preds: tuple                          # (column, "in" | "not in", frozenset of values)


_memo: Recent = Recent(_MEMO_SIZE)   # query -> _Shape, or None (no fast path)
_memo_lock = threading.Lock()
_UNKNOWN = object()


def _ident(text: str) -> str:
    return text[1:-1] if text.startswith('"') else text.lower()


def _literal(text: str):
    if text.startswith("'"):
        return text[1:-1].replace("''", "'")
    if text.lower() in ("true", "false"):
        return text.lower() == "true"
    return int(text)


def _without_terminator(query: str) -> str:
    r"""The query without trailing blanks and one ``;``. Done here, not in _HEAD: a tail such as
    ``(?P<where>.*?)\s*;?\s*$`` backtracks cubically over a run of blanks (a 2,000-space query
    took 24 s of the IOLoop: ReDoS, issue 10)."""
    q = query.rstrip()
    return q[:-1].rstrip() if q.endswith(";") else q


def _parse(query: str) -> _Shape | None:
    m = _HEAD.match(_without_terminator(query))
    if m is None:
        return None
    cols = None if m.group("cols") == "*" else tuple(_ident(c.strip()) for c in _split_cols(m.group("cols")))
    preds = []
    where = m.group("where")
    if where is not None and (not where.strip() or re.search(r"\bAND\s*$", where, re.I)):
        return None   # not SQL: the SQL layer words the syntax error
    if where:
        pos = 0
        while pos < len(where):
            t = _TERM.match(where, pos)
            if t is None or t.end() == pos:
                return None
            pos = t.end()
            col = _ident(t.group("col"))
            if t.group("op"):
                values = frozenset([_literal(t.group("val"))])
                preds.append((col, "in" if t.group("op") == "=" else "not in", values))
            else:
                items, p, text = [], 0, t.group("list")
                while p < len(text):
                    v = _VALUE.match(text, p)
                    if v is None or v.end() == p:
                        return None
                    items.append(_literal(v.group(1)))
                    p = v.end()
                if not items:
                    return None
                preds.append((col, "not in" if t.group("neg") else "in", frozenset(items)))
    return _Shape(m.group("fn").lower(), m.group("table").replace("''", "'"),
                  None if m.group("name") is None else m.group("name").replace("''", "'"), cols, tuple(preds))


def _same_kind(column_type: str, values) -> bool:
    """Whether every literal has the column's own type (no cast whose rules we would have to copy)."""
    want = {"tag": str, "string": str, "int": int, "uint": int, "bool": bool}.get(column_type)
    return want is not None and all(type(v) is want for v in values)


def _split_cols(text: str) -> list[str]:
    return re.findall(r'"[^"]+"|[A-Za-z_][A-Za-z0-9_]*', text)


def shape_of(query: str) -> _Shape | None:
    with _memo_lock:
        got = _memo.recall(query, _UNKNOWN)   # (None is kept: a query with no fast path)
        if got is not _UNKNOWN:
            return got
    shape = _parse(query) if len(query) < 4096 else None
    with _memo_lock:
        _memo.keep(query, shape)
    return shape


def answer(engine, database: str, query: str, params: dict | None, query_type: str = "sql"):
    """A `sql.QueryResult` straight from the cache, or None when the SQL layer must answer."""
    if query_type != "sql" or params or "$" in query:
        return None
    shape = shape_of(query)
    if shape is None:
        return None
    started, issue = time.perf_counter(), time.time_ns()
    engine.refresh()
    db = engine.catalog.db(database)
    if db is None or db.deleted:
        return None
    table = db.table(shape.table)
    if table is None or table.deleted:
        return None
    from . import registry_for
    cache = registry_for(engine).find("last" if shape.fn == "last_cache" else "distinct", db.id, table.id,
                                      shape.name)
    if cache is None:
        return None
    out_cols = cache.output_columns(table)
    keys = cache.key_columns if cache.kind == "last" else cache.columns
    if any(c not in keys or not _same_kind(table.columns[c].type, values) for c, _, values in shape.preds):
        return None       # a predicate on a value column, or a literal DuckDB would cast: SQL answers
    if shape.cols is not None and (any(c not in out_cols for c in shape.cols) or len(set(shape.cols)) < len(shape.cols)):
        return None       # the SQL layer words the error (or names duplicate columns)
    result, row_keys = cache.keyed_answer(table)   # the whole answer, kept by the cache until it changes
    if shape.preds:
        hits = _matching_rows(row_keys, [(keys.index(c), op == "in", values) for c, op, values in shape.preds],
                              len(keys))
        if hits and hits[-1] - hits[0] == len(hits) - 1:
            result = result.slice(hits[0], len(hits))     # one key's rows are adjacent: no copy
        else:
            result = result.take(pa.array(hits, pa.int64()))
    if shape.cols is not None:
        result = result.select(list(shape.cols))
    return _result(engine, database, query, result, started, issue)


def _matching_rows(row_keys: list[tuple], tests: list, width: int) -> list[int]:
    """Rows whose key passes every test (SQL's three values: a NULL key is neither equal nor
    unequal to anything). When every key column is pinned by `=`/`IN`, the keys are looked up."""
    pinned = {}
    for j, inside, values in tests:
        if inside:
            pinned[j] = values if j not in pinned else pinned[j] & values
    if len(pinned) == width and _product_size(pinned.values()) <= 1024:
        index = _index_of(row_keys)
        wanted = [()]
        for j in range(width):
            wanted = [w + (v,) for w in wanted for v in pinned[j]]
        found = sorted(i for k in wanted for i in index.get(k, ()))
        return [i for i in found if _passes(row_keys[i], tests)]
    return [i for i, k in enumerate(row_keys) if _passes(k, tests)]


def _passes(key: tuple, tests: list) -> bool:
    return all((key[j] in values) if inside else (key[j] is not None and key[j] not in values)
               for j, inside, values in tests)


def _product_size(sets) -> int:
    n = 1
    for s in sets:
        n *= len(s)
    return n


_index_memo: dict = {}


def _index_of(row_keys: list[tuple]) -> dict:
    """Key -> row numbers of a kept answer (made once per answer: the list object is its identity)."""
    memo = _index_memo.get(id(row_keys))
    if memo is not None and memo[0] is row_keys:
        return memo[1]
    index: dict = {}
    for i, k in enumerate(row_keys):
        index.setdefault(k, []).append(i)
    if len(_index_memo) > 64:
        _index_memo.clear()
    _index_memo[id(row_keys)] = (row_keys, index)
    return index


class _Batches:
    def __init__(self, table: pa.Table):
        self._it = iter(table.to_batches())

    def __iter__(self):
        return self

    def __next__(self) -> pa.RecordBatch:
        return next(self._it)

    def close(self) -> None:
        self._it = iter(())


def _result(engine, database: str, query: str, table: pa.Table, started: float, issue: int):
    from ..sql.runner import QueryLogEntry, QueryResult, service_for

    took = int((time.perf_counter() - started) * 1e9)
    entry = QueryLogEntry(str(uuid.uuid4()), issue, "sql", query, database, phase="success", partitions=0,
                          parquet_files=0, plan_duration=0, execute_duration=took, end2end_duration=took,
                          compute_duration=took, success=True, running=False)
    service = service_for(engine)
    service.log.append(entry)
    telemetry = {"query_id": entry.id, "database": database, "files_total": 0, "files_scanned": 0,
                 "buffer_chunks_total": 0, "buffer_chunks_scanned": 0, "rows_read": table.num_rows,
                 "bytes_read": 0, "rows_returned": table.num_rows, "deduplicated_tables": [], "tables": {},
                 "finished": True, "answered_from_cache": True}
    service.last_telemetry = telemetry
    return QueryResult(table.schema, _Batches(table), telemetry)
