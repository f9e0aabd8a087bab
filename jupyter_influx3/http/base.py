"""The base handler every endpoint derives from.

What it owns (behaviour reference §0.2, §0.3, §1.2):

* ``cluster-uuid`` on every response; the cross-origin policy (`http/cors.py`): a request whose
  ``Origin`` is not allowed -> 403 before anything else, ``Access-Control-Allow-Origin`` on
  successes only for allowed origins (none by default);
* ``OPTIONS`` on any path -> 204 before authentication (CORS headers for an allowed origin);
* unknown path or a method the path does not serve -> 404 plain ``Not found``;
* the request body: streamed in, capped at ``max_request_bytes`` (413 with our own body, the rest of
  an oversized body is drained so the client reads the answer), ``Content-Encoding`` gzip
  (multi-member) / identity, the decompressed size cap, and UTF-8;
* the hook where token authentication goes (:meth:`ApiHandler.authenticate`).

Handlers find their :class:`ServerContext` through ``initialize(context=...)`` or, when mounted
without one, in the application setting ``influx3``.
"""

from __future__ import annotations

import functools
import logging
import os
import time
import uuid
import zlib
from dataclasses import dataclass, field
from typing import Any, Callable, Optional

import tornado.web
from tornado import httputil
from tornado.ioloop import IOLoop
from tornado.log import access_log, app_log

from ..engine import cancellation, errors, onetime
from ..engine.concurrency import slots_for
from ..engine.recent import Recent
from . import DEFAULT_MAX_REQUEST_BYTES, cors, querystring, serialize

#: Largest body tornado lets us read (and drain) at all; past it tornado drops the connection.
#: Our own limit (`max_request_bytes`, default 10 MiB) answers long before that.
STREAM_CEILING_BYTES = 1 << 32


def new_request_id() -> uuid.UUID:
    """A time-ordered UUID v7 (Python 3.14 has `uuid.uuid7`; older ones get this one)."""
    native = getattr(uuid, "uuid7", None)
    if native is not None:
        return native()
    ms = time.time_ns() // 1_000_000
    rand = int.from_bytes(os.urandom(10), "big")
    value = (ms & ((1 << 48) - 1)) << 80
    value |= 0x7 << 76  # version
    value |= ((rand >> 62) & 0xFFF) << 64  # rand_a
    value |= 0b10 << 62  # variant
    value |= rand & ((1 << 62) - 1)  # rand_b
    return uuid.UUID(int=value)


@dataclass
class ServerContext:
    """What handlers share: the engine and server-wide settings. One per mounted route table."""

    engine: Any
    max_request_bytes: int = DEFAULT_MAX_REQUEST_BYTES
    process_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    executor: Any = None  # concurrent.futures.Executor for blocking engine calls; None = loop default
    #: The pool queries run in, never the one writes use (`http/querypool.py`); None: made on first use.
    query_executor: Any = None
    #: Handlers of the query requests running now, each with its QueryScope (`http/querypool.py`;
    #: cancelled when the server shuts down).
    scopes: set = field(default_factory=set)
    #: Engine calls running right now (a server waits for them to end before closing the engine).
    busy: int = 0
    #: How requests are authenticated: an `http.auth.AuthSettings`; None = the default (auth on).
    auth: Any = None
    #: Users' logins and JWTs (`engine.users.UserAuth`) with `--user-auth-type basic`; None: off.
    users: Any = None
    #: Origins browsers may call the API from (`http/cors.py`); empty: none, "*": any.
    cors_origins: tuple = ()
    #: Host names answered besides the loopback ones (`http/cors.py`, DNS rebinding); None: any.
    allowed_hosts: Optional[tuple] = None
    #: Requests answered on the lean path (`http/lean.py`), not by a RequestHandler.
    lean_answers: int = 0

    def __post_init__(self) -> None:
        # the thread that rings the alarm of a query run on the IOLoop (ApiHandler.run_short):
        # started here, not by the first such query, which would wait for a thread to start
        cancellation.start_timer()

    @property
    def cluster_uuid(self) -> str:
        return str(self.engine.cluster_uuid)


class ApiError(Exception):
    """An error response: status, message and the shape its body takes.

    `kind` is "plain" (message as text) or "json" (``{"error": message}``, plus `data` if given);
    a `body` given already serialized (JSON) wins over both.
    """

    def __init__(
        self,
        status: int,
        message: str,
        kind: str = "plain",
        *,
        data: Any = None,
        body: Optional[bytes] = None,
    ):
        super().__init__(message)
        self.status = status
        self.message = message
        self.kind = kind
        self.data = data
        self.body = body

    def render(self) -> tuple[bytes, str]:
        """(body, content type) in this error's own shape."""
        if self.body is not None:
            return self.body, serialize.JSON_CONTENT_TYPE
        if self.kind == "json":
            if self.data is None:
                return serialize.json_error(self.message), serialize.JSON_CONTENT_TYPE
            return serialize.json_error(self.message, self.data), serialize.JSON_CONTENT_TYPE
        return serialize.plain_error(self.message), serialize.TEXT_CONTENT_TYPE


#: The body of a 500 whose cause is not the client's (the detail is in the server log).
INTERNAL_ERROR = "internal error (see the server log)"


def scrub_paths(body: bytes, context: Any) -> bytes:
    """An error body without the data directory's absolute path (``<data-dir>/…`` instead): where
    the server keeps its files is none of a client's business, whichever message carried it."""
    data_dir = getattr(getattr(context, "engine", None), "data_dir", None)
    if not data_dir or not body:
        return body
    for path in {str(data_dir), os.path.realpath(str(data_dir))}:
        if len(path) > 1:
            body = body.replace(path.encode("utf-8"), b"<data-dir>")
    return body


class NotFoundError(ApiError):
    def __init__(self):
        super().__init__(404, "Not found")


class RequestTooLarge(ApiError):
    def __init__(self, limit: int):
        super().__init__(413, f"max request size ({limit} bytes) exceeded")


def gunzip(data: bytes, limit: int) -> bytes:
    """Decompress a gzip stream of one or more members (empty members too), at most `limit` bytes.

    Raises :class:`ApiError` 400 for a broken stream and :class:`RequestTooLarge` past `limit`.
    """
    out = bytearray()
    rest = data
    while rest:
        member = zlib.decompressobj(wbits=31)
        pending = rest
        try:
            while True:
                # Never inflate more than one byte past the limit (decompression bombs).
                out += member.decompress(pending, limit + 1 - len(out))
                if len(out) > limit:
                    raise RequestTooLarge(limit)
                pending = member.unconsumed_tail
                if member.eof or not pending:
                    break
            if not member.eof:
                out += member.flush()
                if len(out) > limit:
                    raise RequestTooLarge(limit)
        except zlib.error as exc:
            raise ApiError(400, f"error decoding gzip stream: {_zlib_message(exc)}") from None
        if not member.eof:
            raise ApiError(400, "error decoding gzip stream: unexpected end of file")
        rest = member.unused_data
    return bytes(out)


def _zlib_message(exc: zlib.error) -> str:
    text = str(exc)
    if "incorrect header check" in text or "unknown compression method" in text:
        return "invalid gzip header"
    # "Error -3 while decompressing data: invalid stored block lengths" -> the part after the colon.
    return text.split(": ", 1)[-1]


def decode_utf8(body: bytes) -> str:
    """`body` as text; 400 worded like Rust's `Utf8Error` (which the real server echoes) if not UTF-8."""
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ApiError(400, errors.InvalidBody.not_utf8(exc).message) from None


#: the reads of a request with a body on a tornado IOStream (Jupyter's port): a 5,000-line write
#: arrives in a few callbacks, not ~25; `influx3 serve` reads with http/connection.py instead
BODY_READ_BYTES = 1 << 20
#: methods whose requests carry a body
BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})

_date_cache: list = [0, ""]


def http_date() -> str:
    """The Date header's text for now, formatted at most once a second."""
    now = int(time.time())
    if _date_cache[0] != now:
        _date_cache[:] = [now, httputil.format_timestamp(now)]
    return _date_cache[1]


def _nodelay_kept(value: bool) -> None:
    """A connection's ``set_nodelay`` once `keep_nodelay` has set TCP_NODELAY for good."""


def keep_nodelay(stream: Any) -> None:
    """TCP_NODELAY on for the whole connection. Tornado turns it on before finishing each response
    and off after (two setsockopt calls per request) so that a response written in pieces is not
    held back by Nagle's algorithm; an answer here is written whole or streamed in large pieces,
    so leaving it on costs nothing and saves the calls."""
    stream.set_nodelay(True)
    stream.set_nodelay = _nodelay_kept


#: fields of a query string at most (tornado's own limit, which its parse enforced before
#: http/routes.py made that parse lazy): more is a 400 before anything reads them
MAX_QUERY_FIELDS = 1000

#: calls that last took less than this (ms) run on the IOLoop (see ApiHandler.run_short)
INLINE_MS = 5.0
#: an inline call still running after this long (s) is interrupted and run again in the pool
INLINE_LIMIT_S = 0.05
_RUN_COSTS: Recent = Recent(1024)   # run key -> ms its last run took
#: statements up to this long are parsed on the IOLoop (see ApiHandler.parse_off_loop)
INLINE_PARSE_CHARS = 2048


#: query strings whose parse is kept (a dashboard or client sends the same URL again and again)
QUERY_PARSES_KEPT = 256
_QUERY_PARSES: Recent = Recent(QUERY_PARSES_KEPT)


def query_pairs_of(query: str) -> tuple[tuple[str, str], ...]:
    """A query string's (key, value) pairs as ``parse_qsl`` reads them (blank values kept). The
    parse of a short one is kept: a percent-encoded InfluxQL text costs ~10 µs to decode, ~40 in a
    server whose caches another process just used, and the same URL comes back. Never one holding
    a credential (v1's ``p=``): a token is not kept in memory past its request."""
    pairs = _QUERY_PARSES.recall(query)
    if pairs is not None:
        return pairs
    pairs = tuple(querystring.pairs(query))
    if len(query) <= 4096 and not any(k == "p" for k, _ in pairs):
        _QUERY_PARSES.keep(query, pairs)
    return pairs


def access_logged(settings: dict, status: int) -> bool:
    """Whether an answer with `status` makes an access-log line (an application ``log_function``,
    or tornado.access enabled at its level: `influx3 serve` keeps it at ERROR)."""
    level = logging.INFO if status < 400 else logging.WARNING if status < 500 else logging.ERROR
    return "log_function" in settings or access_log.isEnabledFor(level)


def handler_class(handler: Any) -> type:
    """The route-table class a request is served by: its handler's, or, for a request answered on
    the lean path (http/lean.py: no RequestHandler is made), the ``route_class`` it names."""
    return getattr(handler, "route_class", None) or type(handler)


def runs_inline(key: Any, bounded: Optional[Callable[[], bool]] = None) -> bool:
    """Whether the next call under ``key`` runs on the IOLoop: its last run was quick, or it never
    ran and ``bounded()`` says its work is bounded before it starts (engine/influxql/bounded.py:
    a new text of a small query, as a dashboard's moving range sends every time)."""
    last = _RUN_COSTS.get(key)
    if last is not None:
        return last < INLINE_MS
    if bounded is None:
        return False
    try:
        return bounded()
    except Exception:  # noqa: BLE001 - a bug in the check must not cost the query its answer
        app_log.exception("the bound check of a query failed; it runs in the query pool")
        return False


def _slot_free(engine: Any) -> bool:
    """Whether a query slot (the concurrency limit, engine/concurrency.py) is free right now. A call
    run on the IOLoop must never wait for one: the slots may be held by answers still streaming,
    and only the IOLoop can finish those (a deadlock). In the pool a query waits, under its timeout."""
    slots = slots_for(engine)
    limit = slots.limit
    return limit is None or slots.running < limit


def own_cost(fn: Callable[[], Any], took: list[float]) -> Any:
    """``fn()``, appending to `took` the ms it took less its one-time work (engine/onetime.py): a
    series copy the first run of a text built is not paid again, so it says nothing of the next
    run's cost."""
    t0, built = time.perf_counter(), onetime.spent()
    try:
        return fn()
    finally:
        took.append((time.perf_counter() - t0 - (onetime.spent() - built)) * 1000)


def _remember_cost(key: Any, ms: float) -> None:
    _RUN_COSTS.keep(key, ms)


def try_inline(key: Any, fn: Callable[[], Any], engine: Any, discard: Optional[Callable[[Any], None]] = None,
               adopt: Optional[Callable[[cancellation.QueryScope], None]] = None,
               bounded: Optional[Callable[[], bool]] = None) -> tuple[bool, Any]:
    """``(True, fn())`` run on the IOLoop, when the last run under `key` took under ``INLINE_MS``
    (or, never run, ``bounded()`` holds: see runs_inline) and a query slot is free; else
    ``(False, None)``: the call belongs in the query pool. Handing a call to a worker thread and
    back costs ~0.4 ms, more than a query answered from memory.

    A quick text can turn slow (the data grew: think of a cross join over a table that was
    empty), and on the IOLoop nothing else is answered meanwhile, so an inline run has an alarm:
    after ``INLINE_LIMIT_S`` its DuckDB work is interrupted, its answer (if it got one anyway)
    goes to `discard`, ``(False, None)`` is returned and the text is remembered as slow, so the
    caller runs it again in the pool under the request's deadline. Only reads run here, so running
    again is safe. DuckDB cursors the call leaves open (an answer still streaming) go to `adopt`,
    the request's own scope, so its deadline reaches them."""
    if not (_slot_free(engine) and runs_inline(key, bounded)):
        return False, None
    took: list[float] = []
    rang = False
    try:
        done, result = _run_inline(functools.partial(own_cost, fn, took), discard, adopt)
        rang = not done
        return done, result
    finally:
        if took:   # (a call the alarm cut short counts as slow, whatever its own time)
            _remember_cost(key, max(took[0], INLINE_LIMIT_S * 1000) if rang else took[0])


def _run_inline(fn: Callable[[], Any], discard: Optional[Callable[[Any], None]],
                adopt: Optional[Callable[[cancellation.QueryScope], None]]) -> tuple[bool, Any]:
    """(True, fn()) run on the IOLoop, or (False, None) when the alarm cut it short."""
    probe = cancellation.QueryScope()   # its own cursors: the alarm must not reach a rerun's
    ring = cancellation.alarm(probe, INLINE_LIMIT_S)
    try:
        # a series copy to build is built in the background: the IOLoop must not wait for it
        with probe.active(), onetime.elsewhere():
            result = fn()
    except Exception:
        if ring.disarm():
            return False, None
        raise
    if ring.disarm():
        if discard is not None:
            discard(result)
        return False, None
    if adopt is not None and probe.holds_cursors():
        adopt(probe)
    return True, result


@tornado.web.stream_request_body
class ApiHandler(tornado.web.RequestHandler):
    """Base of every InfluxDB API handler (and, as is, the 404 handler for unknown paths)."""

    context: ServerContext

    #: What a request must present to reach this route (see `http/auth.py`): ("admin",) unless
    #: the handler class declares otherwise, e.g. ("db_read", "db") or ("db_write", "bucket").
    required: Any = ("admin",)

    def initialize(self, context: Optional[ServerContext] = None) -> None:
        self.context = context if context is not None else self.settings["influx3"]
        # RequestHandler.__init__ ran set_default_headers() before we knew the context.
        self.set_header("cluster-uuid", self.context.cluster_uuid)
        self._chunks: list[bytes] = []
        self._received = 0
        self._too_large = False

    # ---- headers -------------------------------------------------------------------------------

    def set_default_headers(self) -> None:
        # Also called by clear() before an error body is written, so errors keep the header.
        ctx = getattr(self, "context", None) or self.settings.get("influx3")
        if ctx is not None:
            self.set_header("cluster-uuid", ctx.cluster_uuid)

    def clear(self) -> None:
        # Tornado's clear() formats a Date header for every request (~10 µs) and announces
        # "Server: TornadoServer/<version>", a fingerprint for an attacker and nobody else (the real
        # server sends none): the date here is formatted once a second, and there is no Server.
        self._headers = httputil.HTTPHeaders({"Content-Type": "text/html; charset=UTF-8", "Date": http_date()})
        self.set_default_headers()
        self._write_buffer = []
        self._status_code = 200
        self._reason = "OK"

    def compute_etag(self) -> None:
        return None  # API answers are never conditional (no 304 for a repeated ping or query)

    def check_etag_header(self) -> bool:
        return False  # (so If-None-Match is not even parsed)

    def flush(self, include_footers: bool = False):
        if not self._headers_written and self.get_status() < 400:
            origin = self.request.headers.get("Origin")
            for name, value in cors.allow_origin_headers(self.context.cors_origins, origin).items():
                self.set_header(name, value)
        return super().flush(include_footers)

    # ---- request life cycle --------------------------------------------------------------------

    async def prepare(self) -> None:
        # Our size limit answers with our own 413; tornado's own limit only stops absurd bodies.
        connection = self.request.connection
        if hasattr(connection, "set_max_body_size"):
            connection.set_max_body_size(STREAM_CEILING_BYTES)
        stream = getattr(connection, "stream", None)
        if stream is not None and stream.set_nodelay is not _nodelay_kept:
            keep_nodelay(stream)
        if self.request.method in BODY_METHODS and stream is not None and stream.read_chunk_size < BODY_READ_BYTES:
            self._header_reads = stream.read_chunk_size   # back to it when the request is done
            stream.read_chunk_size = BODY_READ_BYTES
        if self.request.query.count("&") >= MAX_QUERY_FIELDS:   # (counted, not parsed)
            raise ApiError(400, f"invalid query string: more than {MAX_QUERY_FIELDS} fields", "json")
        self.check_cross_origin()
        if self.request.method == "OPTIONS":
            return  # CORS preflight is answered before authentication
        await self.authenticate()

    def check_cross_origin(self) -> None:
        """403 for a browser request from an origin not on the allow-list, or to a Host name this
        server does not answer (DNS rebinding), before any work (a ``text/plain`` POST reaches
        the server without a preflight; `http/cors.py`)."""
        host = self.request.headers.get("Host", "")
        if not cors.host_allowed(self.context.allowed_hosts, host):
            raise ApiError(403, cors.host_refusal_message(host), "json")
        origin = self.request.headers.get("Origin")
        if not cors.allows(self.context.cors_origins, origin):
            raise ApiError(403, cors.refusal_message(origin or ""), "json")

    async def authenticate(self) -> None:
        """Token authentication and authorization (`http/auth.py`); raises the ApiError that
        answers a refused request (400 malformed header, 401, 403, 405 without auth).

        Runs before the method of the route is looked at, like the real server (so with auth on,
        an unknown path answers 401, not 404).
        """
        from .auth import authenticate_request  # late: auth imports this module

        authenticate_request(self)

    def _log(self) -> None:
        # Tornado builds the access line (the redacted URL, the duration) before the logger says
        # whether it wants it; `influx3 serve` keeps tornado.access at ERROR, so most never print.
        if access_logged(self.settings, self.get_status()):
            super()._log()

    def _request_summary(self) -> str:
        # Tornado's access log and error lines print the URL: never with a token in it (p=).
        from .auth import redact_uri

        return f"{self.request.method} {redact_uri(self.request.uri or '')} ({self.request.remote_ip})"

    def data_received(self, chunk: bytes) -> None:
        self._received += len(chunk)
        if self._received > self.context.max_request_bytes:
            # Keep reading (and dropping) the body so the client gets our 413 instead of a reset.
            self._too_large = True
            self._chunks.clear()
        elif not self._too_large:
            self._chunks.append(chunk)

    def on_finish(self) -> None:
        # Request metrics (http/metrics.py): recorded here, in one place for every endpoint.
        from . import querypool
        from .metrics import observe_request

        querypool.release(self)
        observe_request(self)
        reads = getattr(self, "_header_reads", None)
        stream = getattr(self.request.connection, "stream", None)
        if reads is not None and stream is not None:
            stream.read_chunk_size = reads

    def options(self, *args: Any, **kwargs: Any) -> None:
        self.set_status(204)
        origin = self.request.headers.get("Origin")
        for name, value in cors.preflight_headers(self.context.cors_origins, origin).items():
            self.set_header(name, value)
        self.finish()

    def query_pairs(self) -> tuple[tuple[str, str], ...]:
        """The query string's (key, value) pairs (:func:`query_pairs_of`): authentication,
        authorization and the handler all read them."""
        return query_pairs_of(self.request.query)

    # ---- body ----------------------------------------------------------------------------------

    def read_body(self, *, require_utf8: bool = False) -> bytes:
        """The request body, decoded per Content-Encoding and checked against the size limit.

        With `require_utf8`, a body that is not UTF-8 is refused (400) but still returned as bytes.
        """
        limit = self.context.max_request_bytes
        encoding = self.request.headers.get("Content-Encoding")
        gzipped = False
        if encoding is not None:
            value = encoding.strip().lower()
            if value == "gzip":
                gzipped = True
            elif value not in ("identity", ""):
                raise ApiError(400, f"unacceptable content-encoding: {encoding}")
        if self._too_large:
            raise RequestTooLarge(limit)
        body = b"".join(self._chunks)
        if gzipped:
            body = gunzip(body, limit)
        if require_utf8:
            decode_utf8(body)
        return body

    # ---- running blocking engine calls ---------------------------------------------------------

    async def run_blocking(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """Run a blocking engine call off the IOLoop."""
        call = functools.partial(fn, *args, **kwargs)
        self.context.busy += 1
        try:
            return await IOLoop.current().run_in_executor(self.context.executor, call)
        finally:
            self.context.busy -= 1

    async def run_query(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """Run a query's blocking engine call (parsing included) in the query pool, under the
        request's deadline and cancellation (`http/querypool.py`)."""
        from . import querypool

        return await querypool.run(self, fn, *args, **kwargs)

    async def parse_off_loop(self, text: str, fn: Callable[..., Any], *args: Any) -> Any:
        """Parse a statement: a short text on the IOLoop (cheaper than the hand-off), a long one in
        the query pool, so a 50,000-term WHERE never freezes the server."""
        if len(text) <= INLINE_PARSE_CHARS:
            return fn(*args)
        return await self.run_query(fn, *args)

    def on_connection_close(self) -> None:
        # The client went away: stop the query it asked for (DuckDB work is interrupted).
        from . import querypool

        querypool.stop(self, cancellation.DISCONNECT)
        super().on_connection_close()

    async def run_short(self, key: Any, fn: Callable[[], Any],
                        discard: Optional[Callable[[Any], None]] = None,
                        bounded: Optional[Callable[[], bool]] = None) -> Any:
        """Run ``fn`` like :meth:`run_query`, but on the IOLoop itself when the last run under
        ``key`` (the same query text, say) was quick, or it never ran and ``bounded()`` holds
        (:func:`try_inline`). The cost is the call's own time, wherever it ran (a wait for a pool
        thread is not the query's)."""
        from . import querypool

        done, result = try_inline(key, fn, self.context.engine, discard,
                                  lambda probe: querypool.scope_for(self).adopt(probe), bounded)
        if done:
            return result
        took: list[float] = []
        try:
            return await self.run_query(functools.partial(own_cost, fn, took))
        finally:
            if took:
                _remember_cost(key, took[0])

    # ---- responses -----------------------------------------------------------------------------

    def send_body(self, body: bytes | str, content_type: str, status: int = 200) -> None:
        self.set_status(status)
        self.set_header("Content-Type", content_type)
        self.finish(body)

    def send_no_content(self) -> None:
        self.set_status(204)
        self.finish()

    def render_api_error(self, err: ApiError) -> tuple[bytes, str]:
        """Body and content type for an ApiError; endpoints with their own shape override this."""
        return err.render()

    def log_exception(self, typ, value, tb) -> None:  # type: ignore[override]
        if isinstance(value, ApiError):
            return  # an answer, not a failure
        if isinstance(value, tornado.web.HTTPError):
            super().log_exception(typ, value, tb)
            return
        # Tornado's own line adds repr(request), which holds the raw URL (and so a p= token).
        app_log.error("Uncaught exception %s", self._request_summary(), exc_info=(typ, value, tb))

    def write_error(self, status_code: int, **kwargs: Any) -> None:
        # Reached through send_error(), after clear() (which re-applies set_default_headers()).
        exc = kwargs.get("exc_info", (None, None, None))[1]
        if isinstance(exc, ApiError):
            err = exc
        elif status_code == 405:
            # Tornado's answer for a method name it does not know: the real server says 404.
            err = NotFoundError()
        elif status_code >= 500:
            # An exception no handler mapped is a bug: its text (paths, internals) goes to the
            # server log (log_exception), never to the client.
            err = ApiError(status_code, INTERNAL_ERROR)
        else:
            err = ApiError(status_code, self._reason)
        body, content_type = self.render_api_error(err)
        body = scrub_paths(body, self.context)
        self.set_status(err.status)
        self.set_header("Content-Type", content_type)
        self.finish(body)

    # Every method a route does not define -> 404 "Not found" (the real server matches exactly).
    def _not_found(self, *args: Any, **kwargs: Any) -> None:
        raise NotFoundError()

    get = post = put = delete = patch = head = _not_found  # type: ignore[assignment]


class DefaultHandler(ApiHandler):
    """Any path that is not in the route table: 404 ``Not found`` (OPTIONS still answers 204)."""
