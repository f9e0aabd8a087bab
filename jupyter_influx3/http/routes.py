"""The one route table, mounted by the standalone server (`make_app`) and the Jupyter extension.

`routes(prefix)` lists ``(path pattern, handler class)``; with a `context` it lists
``(pattern, class, {"context": context})`` so the handlers need no application setting. Without a
context, handlers read the :class:`ServerContext` from the application setting ``influx3``.
"""

from __future__ import annotations

import copy
import re
from concurrent.futures import Executor
from typing import Any, Optional

import tornado.web
from tornado import httputil
from tornado.escape import parse_qs_bytes

from . import DEFAULT_MAX_REQUEST_BYTES, lean
from .base import MAX_QUERY_FIELDS, DefaultHandler, ServerContext
from .caches import CACHE_ROUTES
from .databases import DatabaseHandler, DatabaseRetentionHandler
from .enterprise import ENTERPRISE_ROUTES
from .influxql import QueryInfluxqlHandler, V1QueryHandler
from .metrics import MetricsHandler
from .plugins import PLUGIN_ROUTES
from .query import QuerySqlHandler, QuerySqlTelemetryHandler
from .server import HealthHandler, PingHandler
from .tables import TableHandler, TableRetentionHandler
from .tokens import TOKEN_ROUTES
from .users import USER_ROUTES
from .write import V1WriteHandler, V2WriteHandler, WriteLPHandler

ROUTE_TABLE: list[tuple[str, type]] = [
    ("/api/v3/write_lp", WriteLPHandler),
    ("/api/v2/write", V2WriteHandler),
    ("/write", V1WriteHandler),
    ("/ping", PingHandler),
    ("/health", HealthHandler),
    ("/api/v1/health", HealthHandler),
    ("/metrics", MetricsHandler),
    ("/api/v3/query_sql", QuerySqlHandler),
    ("/api/v3/query_sql_telemetry", QuerySqlTelemetryHandler),
    ("/api/v3/query_influxql", QueryInfluxqlHandler),
    ("/query", V1QueryHandler),
    ("/api/v3/configure/database", DatabaseHandler),
    ("/api/v3/configure/database/retention_period", DatabaseRetentionHandler),
    ("/api/v3/configure/table", TableHandler),
    ("/api/v3/enterprise/configure/table/retention_period", TableRetentionHandler),
    *TOKEN_ROUTES,
    *PLUGIN_ROUTES,
    *USER_ROUTES,
    *CACHE_ROUTES,
    *ENTERPRISE_ROUTES,
]


def routes(prefix: str = "", context: Optional[ServerContext] = None) -> list:
    """Every endpoint under `prefix` (e.g. ``"/influx3"``; no trailing slash), matched exactly."""
    prefix = prefix.rstrip("/")
    table = []
    for path, handler in ROUTE_TABLE:
        pattern = prefix + path + "$"
        table.append((pattern, handler) if context is None else (pattern, handler, {"context": context}))
    return table


class _Application(tornado.web.Application):
    """Tornado's Application, finding a route of a fixed path with one dict lookup instead of a
    regular expression per route tried in turn (most requests go to the few fixed paths listed
    first, but every 404 and every route listed late paid for the whole table)."""

    def __init__(self, handlers: list, **settings: Any):
        super().__init__(handlers, **settings)
        self._fixed: dict[str, tuple] = {}
        for pattern, handler, *kwargs in handlers:
            path = _anchored(pattern)[:-1]
            if _FIXED.fullmatch(path) and path not in self._fixed and _first_match(handlers, path) == pattern:
                self._fixed[path] = (handler, kwargs[0] if kwargs else None)
        # http/lean.py answers some GET /query requests itself, where /query is that route's (and
        # the application does not turn it off)
        self._lean = (self._fixed.get("/query", (None,))[0] is lean.LeanRequest.route_class
                      and settings.get(lean.SETTING, True))

    def lean_answer(self, head: Any, headers: httputil.HTTPHeaders, remote_ip: str) -> Optional["lean.Answer"]:
        """The whole answer to a request read whole without a body and what to do once it is
        written, when the lean path (http/lean.py) gives one; None: route it as usual.
        `influx3 serve`'s connections ask."""
        return lean.answer(self, head, headers, remote_ip) if self._lean else None

    def start_request(self, server_conn: object, request_conn: httputil.HTTPConnection) -> "_Routing":
        return _Routing(self, request_conn, server_conn)

    def find_handler(self, request: Any, **kwargs: Any) -> Any:
        fixed = self._fixed.get(request.path)
        if fixed is not None:
            return self.get_handler_delegate(request, fixed[0], fixed[1])
        return super().find_handler(request, **kwargs)


class _Routing(httputil.HTTPMessageDelegate):
    """One request on its way to its handler: what tornado's own routing delegate does, with the
    request made as a :class:`QueryArgsOnDemand` (the handlers here never read tornado's parsed
    query arguments: `ApiHandler.query_pairs` parses the query string once, in order)."""

    __slots__ = ("app", "connection", "server_conn", "delegate")

    def __init__(self, app: _Application, connection: httputil.HTTPConnection, server_conn: object):
        self.app, self.connection, self.server_conn = app, connection, server_conn
        self.delegate: Any = None

    def headers_received(self, start_line: Any, headers: httputil.HTTPHeaders) -> Any:
        request = QueryArgsOnDemand(connection=self.connection, server_connection=self.server_conn,
                                    start_line=start_line, headers=headers)
        self.delegate = self.app.find_handler(request)   # (a default handler answers any path)
        return self.delegate.headers_received(start_line, headers)

    def data_received(self, chunk: bytes) -> Any:
        return self.delegate.data_received(chunk)

    def finish(self) -> None:
        self.delegate.finish()

    def on_connection_close(self) -> None:
        if self.delegate is not None:
            self.delegate.on_connection_close()


def _parsed_on_read(slot: str) -> property:
    """A request attribute kept in `slot`, filled by the request's ``_parsed()`` on first read."""

    def read(request: "QueryArgsOnDemand") -> dict:
        if getattr(request, slot) is None:
            request._parsed()
        return getattr(request, slot)

    def write(request: "QueryArgsOnDemand", value: dict) -> None:
        setattr(request, slot, value)

    return property(read, write)


class QueryArgsOnDemand(httputil.HTTPServerRequest):
    """Tornado's request, whose query string is parsed into ``arguments`` and ``query_arguments``
    when something reads them, not for every request (a parse and a deep copy: ~8 µs, a tenth of
    a small query's cost here)."""

    def __init__(self, *, start_line: httputil.RequestStartLine, **kwargs: Any):
        path, _, query = start_line.path.partition("?")   # (tornado's "path" here is the whole target)
        super().__init__(start_line=start_line._replace(path=path), **kwargs)
        self.uri, self.query = start_line.path, query
        self._arguments: Optional[dict] = None
        self._query_arguments: Optional[dict] = None

    def _parsed(self) -> None:
        try:
            parsed = parse_qs_bytes(self.query, keep_blank_values=True, max_num_fields=MAX_QUERY_FIELDS)
        except ValueError as exc:   # too many fields: what tornado answers 400 for
            raise tornado.web.HTTPError(400, "Invalid query string: %s" % exc) from None
        self._arguments = parsed
        self._query_arguments = copy.deepcopy(parsed)

    arguments = _parsed_on_read("_arguments")
    query_arguments = _parsed_on_read("_query_arguments")


#: a route pattern that is a plain path (no regular expression in it but the final "$")
_FIXED = re.compile(r"[A-Za-z0-9_/-]+")


def _anchored(pattern: str) -> str:
    """A route pattern as tornado matches it: ending in "$" (it adds one where missing)."""
    return pattern if pattern.endswith("$") else pattern + "$"


def _first_match(handlers: list, path: str) -> Optional[str]:
    """The pattern of the route tornado picks for `path` (the first whose expression matches)."""
    for pattern, *_ in handlers:
        if re.match(_anchored(pattern), path):
            return pattern
    return None


def make_app(
    engine: Any,
    *,
    max_request_bytes: int = DEFAULT_MAX_REQUEST_BYTES,
    executor: Optional[Executor] = None,
    auth: Any = None,
    cors_origins: tuple = (),
    allowed_hosts: Optional[tuple] = None,
    **settings: Any,
) -> tornado.web.Application:
    """A tornado Application serving the API at the root, unknown paths answered 404 `Not found`
    (401 first without a token). `auth` is an `http.auth.AuthSettings` (None: auth on);
    `cors_origins` the browser origins allowed and `allowed_hosts` the Host names answered besides
    the loopback ones (`http/cors.py`; None: any)."""
    context = ServerContext(engine=engine, max_request_bytes=max_request_bytes, executor=executor, auth=auth,
                            cors_origins=tuple(cors_origins), allowed_hosts=allowed_hosts)
    settings.setdefault("default_handler_class", DefaultHandler)
    return _Application(routes("", context), influx3=context, **settings)
