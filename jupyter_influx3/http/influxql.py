"""InfluxQL endpoints: ``GET|POST /query`` (InfluxDB 1.x API) and ``GET|POST /api/v3/query_influxql``.

``/query`` (behaviour reference §2.5):

* parameters from the query string and, for POST, a form body (its values win), or a raw body
  with ``Content-Type: application/vnd.influxql`` holding the query: ``q``, ``db``, ``rp``,
  ``epoch``, ``pretty``, ``chunked``, ``chunk_size``, ``params`` (JSON object of bind values),
  ``u`` (ignored), ``p`` (token, read by auth);
* ``;``-separated statements; a statement that fails is an ``error`` inside a 200; a query that
  does not parse is a 400 ``{"error":"error parsing query: …"}``;
* JSON (``pretty=true`` indents), ``chunked=true`` (one JSON document per chunk, each ended by a
  newline, ``partial`` flags as 1.x sets them), or CSV for ``Accept: application/csv|text/csv``;
* CREATE DATABASE / DROP DATABASE work here too (older tools send them).

``/api/v3/query_influxql`` (§2.4): one statement, the database from ``db`` and/or the statement,
and the flat table (``iox::measurement`` first) in json, jsonl, csv, pretty or parquet.

Authorization: the route needs read on its ``db`` parameter; every other database a statement
names is checked too, and a resource token gets 403 for a statement that names none (or that
creates or drops databases).
"""

from __future__ import annotations

import functools
import json
import logging
import time
from typing import Any, Callable, Iterable, Optional

import pyarrow as pa
from tornado import httputil
from tornado.iostream import StreamClosedError

from ..engine.influxql import ast
from ..engine.influxql.access import statement_needs
from ..engine.influxql.bounded import bounded
from ..engine.influxql.executor import Executor
from ..engine.influxql.into import get_warning, writes
from ..engine.influxql.parser import ParseError
from ..engine.influxql.results import StatementResult, chunk_results, mark_long_series
from . import metrics, querypool, serialize
from .auth import authorize_db, forbidden
from .base import INLINE_PARSE_CHARS, ApiError, ApiHandler, decode_utf8
from .params import JsonBodyError, statement_params

log = logging.getLogger(__name__)

#: rows of an /api/v3/query_influxql answer encoded on the IOLoop (already in memory, quick to encode)
INLINE_ROWS = 10_000
V1_FIELDS = ("q", "db", "rp", "epoch", "pretty", "chunked", "chunk_size", "params", "u", "p")
DEFAULT_CHUNK_SIZE = 10000


def executor_for(context: Any) -> Executor:
    ex = getattr(context, "_influxql_executor", None)
    if ex is None or ex.engine is not context.engine:
        ex = Executor(context.engine)
        try:
            context._influxql_executor = ex
        except AttributeError:
            pass
    return ex


def authorize_statement(handler: ApiHandler, stmt: ast.Statement, default_db: Optional[str],
                        rp: Optional[str] = None) -> None:
    """403 unless the request may do what ``stmt`` needs (`engine/influxql/access.py`: read on
    every database it names, write on a ``SELECT ... INTO`` target, admin for DDL); `rp` is the
    request's default retention policy."""
    if getattr(handler, "auth_unrestricted", True):
        return
    needs = statement_needs(stmt, default_db, rp)
    if not needs:
        raise forbidden()
    for name, action in needs:
        authorize_db(handler, name, action)


def v1_fields(pairs: Iterable[tuple[str, str]]) -> dict[str, str]:
    """The /query parameters among a query string's pairs (the first of each wins)."""
    found: dict[str, str] = {}
    for k, v in pairs:
        if k in V1_FIELDS and k not in found:
            found[k] = v
    return found


def v1_format(accept: Optional[str]) -> str:
    """The answer format an ``Accept`` header asks /query for (400 for one it cannot give)."""
    if accept is None or accept in ("", "*/*", "application/json"):
        return "json"
    if accept in ("application/csv", "text/csv"):
        return "csv"
    if accept == "application/x-msgpack":
        return "msgpack"
    low = accept.lower()
    if "application/csv" in low or "text/csv" in low:
        return "csv"
    if "application/json" in low or "*/*" in low or "text/html" in low:
        return "json"
    if "application/x-msgpack" in low:
        return "msgpack"
    raise ApiError(400, f"invalid mime type ({accept})", "json")


def v1_bound_check(ex: Executor, query: ast.Query, q: str, db: Optional[str], rp: Optional[str],
                   now: int) -> Optional[Callable[[], bool]]:
    """What lets text ``q``, never run before, run on the IOLoop (http/base.runs_inline): the check
    that its work is bounded (engine/influxql/bounded.py). The check plans the statements there, so
    a text too long to be parsed there gets none."""
    return functools.partial(bounded, ex, query, db, rp, now) if len(q) <= INLINE_PARSE_CHARS else None


def v1_run_key(fmt: str, q: str, db: Optional[str], rp: Optional[str], params: Optional[str]) -> tuple:
    """What a /query request's last run cost is remembered under (http/base.py: run_short)."""
    return (fmt, q, db, rp, params)


def run_statement(ex: Executor, i: int, stmt: ast.Statement, db: Optional[str], rp: Optional[str],
                  now: int, read_only: bool) -> StatementResult:
    """Statement `i` of a /query request, with the warning 1.x adds to a read-only request's answer."""
    res = ex.execute_statement(stmt, i, database=db, retention_policy=rp, now_ns=now)
    warning = get_warning(stmt, db, rp) if read_only else None
    if warning is not None:
        res.messages.append(warning)
    return res


def json_answer(ex: Executor, query: ast.Query, db: Optional[str], rp: Optional[str], now: int,
                read_only: bool, epoch: Optional[str], pretty: bool) -> bytes:
    """A /query request's statements run and their JSON answer (not chunked)."""
    results = [mark_long_series(run_statement(ex, i, stmt, db, rp, now, read_only), DEFAULT_CHUNK_SIZE)
               for i, stmt in enumerate(query.statements)]
    return serialize.v1_json(results, epoch, pretty)


# ---------------------------------------------------------------------------------------------
# /query


class V1QueryHandler(ApiHandler):
    """``GET|POST /query``."""

    required = ("db_read", "db")

    def _params(self) -> dict[str, str]:
        found = v1_fields(self.query_pairs())
        if self.request.method == "POST":
            body = self.read_body()
            ctype = self.request.headers.get("Content-Type", "")
            if ctype.startswith("application/x-www-form-urlencoded") or ctype.startswith("multipart/form-data"):
                args: dict[str, list[bytes]] = {}
                try:
                    httputil.parse_body_arguments(ctype, body, args, {})
                except Exception:  # noqa: BLE001 - a malformed form has no fields
                    args = {}
                for k, vals in args.items():
                    if k in V1_FIELDS and vals:
                        found[k] = vals[0].decode("utf-8", "replace")
            elif body and not found.get("q"):
                if ctype.startswith("application/vnd.influxql") or not ctype or ctype.startswith("text/plain"):
                    found["q"] = decode_utf8(body)
        return found

    def _format(self) -> str:
        return v1_format(self.request.headers.get("Accept"))

    def render_api_error(self, err: ApiError):
        if err.body is not None or err.status in (401, 403):
            return err.render()
        return serialize.v1_error(err.message), serialize.V1_JSON_CONTENT_TYPE

    async def get(self) -> None:
        started = time.perf_counter()
        ok = False
        try:
            await self._query()
            ok = True
        finally:
            metrics.record_query(self.context, "influxql", ok, time.perf_counter() - started)

    post = get

    async def _query(self) -> None:
        if self.request.method == "GET" and "?" not in (self.request.uri or ""):
            raise ApiError(400, "missing query parameters 'db' and 'q'", "json")
        fmt = self._format()
        p = self._params()
        q = p.get("q", "")
        if not q.strip():
            raise ApiError(400, "expected a query to be provided in the query string or body", "json")
        params = None
        if p.get("params"):
            try:
                params = statement_params(p["params"])
            except JsonBodyError as exc:
                raise ApiError(400, f"error parsing query parameters: {exc}", "json") from None
        db = p.get("db") or None
        rp = p.get("rp") or None
        epoch = p.get("epoch") or None
        pretty = p.get("pretty") == "true"
        chunked = p.get("chunked") == "true"
        chunk_size = DEFAULT_CHUNK_SIZE
        if chunked:
            try:
                n = int(p.get("chunk_size", ""))
                if n > 0:
                    chunk_size = n
            except ValueError:
                pass
        ex = executor_for(self.context)
        try:
            query = await self.parse_off_loop(q, ex.parse, q, params)
        except ParseError as e:
            raise ApiError(400, f"error parsing query: {e}", "json") from None
        for stmt in query.statements:
            authorize_statement(self, stmt, db, rp)
        now = time.time_ns()

        read_only = self.request.method == "GET"

        run_one = functools.partial(run_statement, ex, db=db, rp=rp, now=now, read_only=read_only)

        if fmt == "csv":
            writer = serialize.V1CsvWriter(epoch)

            def run_csv() -> bytes:
                return b"".join(writer.write([run_one(i, stmt)]) for i, stmt in enumerate(query.statements))

            body = await self._run(query, run_csv, v1_run_key("csv", q, db, rp, p.get("params")))
            self.set_status(200)
            self.set_header("Content-Type", serialize.V1_CSV_CONTENT_TYPE)
            self.finish(body)
            return
        self.set_status(200)
        self.set_header("Content-Type", serialize.V1_JSON_CONTENT_TYPE)
        if chunked:
            try:
                for i, stmt in enumerate(query.statements):
                    res = await self.run_query(run_one, i, stmt)
                    for part in chunk_results(res, chunk_size):
                        self.write(await self.run_query(serialize.v1_json, [part], epoch, pretty))
                        if not await querypool.flush_in_time(self):
                            return
            except (StreamClosedError, querypool.ClientGone):
                return
            self.finish()
            return

        # one trip to the worker thread for every statement and the JSON: a short query costs
        # less than two thread hand-offs
        run_all = functools.partial(json_answer, ex, query, db, rp, now, read_only, epoch, pretty)
        self.finish(await self._run(query, run_all, v1_run_key("json", q, db, rp, p.get("params")),
                                    v1_bound_check(ex, query, q, db, rp, now)))

    async def _run(self, query, fn, key, bound_check: Optional[Callable[[], bool]] = None):
        # statements that only read may run on the IOLoop when they are known to be quick
        if not any(writes(stmt) for stmt in query.statements):
            return await self.run_short(key, fn, bounded=bound_check)
        return await self.run_query(fn)


# ---------------------------------------------------------------------------------------------
# /api/v3/query_influxql


class QueryInfluxqlHandler(ApiHandler):
    """``GET|POST /api/v3/query_influxql``."""

    required = ("db_read", "db")

    async def get(self) -> None:
        from .query import parse_query_request, send_result

        req = parse_query_request(self, db_required=False)
        started = time.perf_counter()
        ok = False
        try:
            table = await self._run(req)
            # the answer is in memory: a small one is encoded here, without pool hand-offs
            await send_result(self, req.format, table.schema, table.to_batches(),
                              inline=table.num_rows < INLINE_ROWS)
            ok = True
        finally:
            metrics.record_query(self.context, "influxql", ok, time.perf_counter() - started)

    post = get

    async def _run(self, req) -> pa.Table:
        from ..engine.influxql import api

        ex = api.executor_for_engine(self.context.engine)
        try:
            stmt, db = await self.parse_off_loop(req.q, api.prepare, ex, req.q, req.params, req.db)
            authorize_statement(self, stmt, db)
            if writes(stmt):
                return await self.run_query(api.run, ex, stmt, db)
            key = ("v3", req.q, db, json.dumps(req.params, sort_keys=True, default=repr))
            return await self.run_short(key, functools.partial(api.run, ex, stmt, db))
        except api.InfluxqlQueryError as e:
            raise ApiError(e.status, e.message, "json" if e.status == 404 else "plain") from None
