"""SQL query endpoints: ``GET|POST /api/v3/query_sql`` and ``/api/v3/query_sql_telemetry``.

Request parsing follows the real server exactly (behaviour reference §2.1):

* the ``Accept`` header is validated first, even when ``format`` is given (``invalid mime type``);
* GET reads ``db``, ``q``, ``format``, ``params`` (a JSON-encoded string) from the query string;
  no query string at all -> ``missing query parameters 'db' and 'q'``;
* POST reads a JSON body ``{"db","q","format","params"}`` whatever its Content-Type.

The answer is streamed by :func:`send_result`: batches are read from the engine and encoded off
the IOLoop, and written as they come (the first 64 KiB are held back, so a small answer goes out
with a Content-Length and an error in it still gets a proper status). ``pretty`` needs every row
before it can print (column widths) and is the one format built whole.
"""

from __future__ import annotations

import functools
import json
import logging
import time
from dataclasses import dataclass
from typing import Any, Callable, Iterable, Optional

import pyarrow as pa
from tornado.iostream import StreamClosedError

from ..engine import errors
from ..engine.sql.system import run_readable_only
from . import metrics, querypool, serialize
from .auth import readable_check
from .base import INTERNAL_ERROR, ApiError, ApiHandler
from .params import Field, JsonBodyError, json_struct, query_struct, statement_params

log = logging.getLogger(__name__)

#: Bytes of an answer held back before the first write to the socket.
FLUSH_BYTES = 64 * 1024

QUERY_FIELDS = [Field("db", required=True), Field("q", required=True), Field("format"), Field("params", "params")]


@dataclass
class QueryRequest:
    db: str
    q: str
    format: str  # canonical format name
    params: Optional[dict]


def api_error(exc: BaseException) -> ApiError:
    """The answer to an error raised while running a query or a configure call."""
    if isinstance(exc, ApiError):
        return exc
    if isinstance(exc, errors.EngineError):
        status, message, kind = serialize.engine_error(exc)
        return ApiError(status, message, kind)
    if isinstance(exc, serialize.ResultTooLarge):
        return ApiError(exc.status, str(exc))
    # Not an error the engine words for users (a bug, or a library's raw text): logged, not sent.
    log.error("query failed unexpectedly", exc_info=exc)
    return ApiError(500, INTERNAL_ERROR)


def header_format(handler: ApiHandler) -> str:
    try:
        return serialize.format_from_accept(handler.request.headers.get("Accept"))
    except serialize.FormatError as exc:
        raise ApiError(400, str(exc)) from None


def parse_params_text(text: str) -> dict:
    """The GET ``params`` value: a JSON object of name -> scalar."""
    try:
        return statement_params(text)
    except JsonBodyError as exc:
        raise ApiError(400, f"serde json error: {exc}") from None


def parse_query_request(handler: ApiHandler, db_required: bool = True) -> QueryRequest:
    """A query request from GET parameters or a POST body (§2.1); ApiError 400 when malformed."""
    default_format = header_format(handler)
    fields = QUERY_FIELDS if db_required else [Field("db"), *QUERY_FIELDS[1:]]
    if handler.request.method == "GET":
        if "?" not in (handler.request.uri or ""):
            raise ApiError(400, "missing query parameters 'db' and 'q'")
        p = query_struct(handler.request.query, fields, parse={"format": serialize.parse_query_format})
        params = parse_params_text(p["params"]) if p["params"] is not None else None
        fmt = p["format"]
    else:
        body = handler.read_body()
        try:
            p = json_struct(body, fields, "struct QueryRequest")
            fmt = serialize.parse_query_format(p["format"]) if p["format"] is not None else None
        except serialize.FormatError as exc:
            raise ApiError(400, f"serde json error: {exc}") from None
        except JsonBodyError as exc:
            raise ApiError(400, f"serde json error: {exc}") from None
        params = p["params"]
    return QueryRequest(db=p["db"], q=p["q"], format=fmt or default_format, params=params)


def _close(result: Any) -> None:
    """Release a query result (its own `close`, else its reader's)."""
    close = getattr(result, "close", None) or getattr(getattr(result, "reader", None), "close", None)
    if close is not None:
        try:
            close()
        except Exception:  # noqa: BLE001 - releasing resources must not mask the answer
            log.debug("closing a query result failed", exc_info=True)


@dataclass
class Started:
    """An answer begun in the pool thread that ran the query (`query_and_start`): its writer, the
    rest of its batches, the encoded chunks so far, and whether the writer already finished."""

    writer: Any
    batches: Any
    chunks: list
    done: bool


def query_and_start(check: Any, engine: Any, req: "QueryRequest", fmt: str, max_bytes: Any) -> tuple[Any, Started]:
    """Blocking: run the query and encode its first FLUSH_BYTES (all of a small answer), so a small
    query costs one hand-off to the query pool instead of one per batch plus one for the end."""
    result = run_readable_only(check, engine.query_sql, req.db, req.q, req.params)
    try:
        writer = serialize.result_writer(fmt, result.schema, max_bytes)
        batches = iter(result.reader)
        chunks: list = []
        size = 0
        while size < FLUSH_BYTES:
            try:
                batch = next(batches)
            except StopIteration:
                chunks.append(writer.finish())
                return result, Started(writer, batches, chunks, True)
            chunk = writer.write(batch)
            if chunk:
                chunks.append(chunk)
                size += len(chunk)
        return result, Started(writer, batches, chunks, False)
    except BaseException:
        _close(result)
        raise


async def send_result(handler: ApiHandler, fmt: str, schema: pa.Schema, batches: Iterable[pa.RecordBatch],
                      inline: bool = False, started: Optional[Started] = None) -> int:
    """Answer 200 with `batches` encoded as `fmt`; returns the number of rows sent. `inline`: the
    batches are a small answer already in memory, encoded on the IOLoop (no pool hand-offs).
    `started`: the answer `query_and_start` began (`batches` is then ignored).

    Errors before the first bytes reach the client become a normal error answer (ApiError);
    after that the connection is closed mid-body, which clients see as a truncated answer (the
    real server does the same).
    """
    from ..engine.querylimits import limits_for

    if started is None:
        started = Started(serialize.result_writer(fmt, schema, limits_for(handler.context.engine).max_materialized_bytes),
                          iter(batches), [], False)
    writer, batch_iter = started.writer, started.batches

    def step() -> Optional[bytes]:
        """Blocking: read the next batch and encode it; None at the end of the result."""
        try:
            batch = next(batch_iter)
        except StopIteration:
            return None
        return writer.write(batch)

    async def call(fn: Callable[[], Any]) -> Any:
        return fn() if inline else await handler.run_query(fn)

    handler.set_status(200)
    handler.set_header("Content-Type", writer.content_type)
    pending: list[bytes] = started.chunks
    pending_size = sum(map(len, pending))
    streaming = False
    try:
        while not started.done:
            if pending_size >= FLUSH_BYTES:
                handler.write(b"".join(pending))
                pending.clear()
                pending_size = 0
                streaming = True
                if not await querypool.flush_in_time(handler):
                    return writer.rows
            chunk = await call(step)
            if chunk is None:
                break
            if chunk:
                pending.append(chunk)
                pending_size += len(chunk)
        if not started.done:
            pending.append(await call(writer.finish))
    except (StreamClosedError, querypool.ClientGone):
        return writer.rows  # the client went away
    except Exception as exc:  # noqa: BLE001 - mapped to the answer, or logged when too late
        if not streaming:
            raise api_error(exc) from None
        log.error("query failed after its answer started; closing the connection: %s", exc)
        handler.request.connection.close()
        handler.finish()
        return writer.rows
    handler.finish(b"".join(pending))
    return writer.rows


async def run_query(handler: ApiHandler, req: QueryRequest, kind: str = "sql") -> int:
    """Run `req` on the engine and stream its answer; records the query metrics."""
    engine = handler.context.engine
    started = time.perf_counter()
    ok = False
    result = None
    try:
        from ..engine.querylimits import limits_for

        call = functools.partial(query_and_start, readable_check(handler), engine, req, req.format,
                                 limits_for(engine).max_materialized_bytes)
        try:
            # a text whose last run was quick runs on the IOLoop: the hand-off to the pool and back
            # costs more than such a query (base.ApiHandler.run_short)
            key = (kind, req.db, req.q, json.dumps(req.params, sort_keys=True, default=repr), req.format)
            result, begun = await handler.run_short(key, call, discard=lambda started: _close(started[0]))
        except Exception as exc:  # noqa: BLE001
            raise api_error(exc) from None
        rows = await send_result(handler, req.format, result.schema, result.reader,
                                 inline=_small_cache_answer(result), started=begun)
        ok = True
        return rows
    finally:
        if result is not None:
            _close(result)
        metrics.record_query(handler.context, kind, ok, time.perf_counter() - started)


#: rows of a cache answer (engine/caches/fastpath.py) small enough to encode on the IOLoop
INLINE_CACHE_ROWS = 10_000


def _small_cache_answer(result: Any) -> bool:
    """A last_cache()/distinct_cache() answer from memory: four pool hand-offs would cost more
    (~2 ms on a loaded machine) than encoding it here."""
    telemetry = getattr(result, "telemetry", None) or {}
    return bool(telemetry.get("answered_from_cache")) and telemetry.get("rows_returned", INLINE_CACHE_ROWS) < INLINE_CACHE_ROWS


class QuerySqlHandler(ApiHandler):
    """``GET|POST /api/v3/query_sql``."""

    required = ("db_read", "db")

    async def get(self) -> None:
        await run_query(self, parse_query_request(self))

    post = get


def _telemetry(engine: Any, may_read: Optional[Callable[[str], bool]] = None) -> Any:
    """The last query's statistics; {} when it ran on a database the caller may not read."""
    value = getattr(engine, "last_query_telemetry", None)
    if callable(value):
        value = value()
    if not value or (may_read is not None and not may_read(value.get("database", ""))):
        return {}
    return value


class QuerySqlTelemetryHandler(ApiHandler):
    """``GET|POST /api/v3/query_sql_telemetry``: execution statistics of the last SQL query.

    With a query in the request (parsed exactly like ``/api/v3/query_sql``) that query is run
    first and its own statistics are returned; without one (no query string, empty body) the
    statistics of the last query this server ran.
    """

    required = ("db_read", "db")

    async def get(self) -> None:
        has_query = "?" in (self.request.uri or "") if self.request.method == "GET" else bool(self.read_body().strip())
        engine = self.context.engine
        if has_query:
            req = parse_query_request(self)
            started = time.perf_counter()
            ok = False
            try:
                result = await self.run_query(run_readable_only, readable_check(self), engine.query_sql,
                                              req.db, req.q, req.params)
                try:
                    await self.run_query(_drain, result.reader)
                finally:
                    _close(result)
                ok = True
            except Exception as exc:  # noqa: BLE001
                raise api_error(exc) from None
            finally:
                metrics.record_query(self.context, "sql", ok, time.perf_counter() - started)
        body = await self.run_blocking(_telemetry, engine, readable_check(self))
        self.send_body(serialize.to_json(body), serialize.JSON_CONTENT_TYPE)

    post = get


def _drain(reader: Any) -> int:
    return sum(batch.num_rows for batch in reader)
