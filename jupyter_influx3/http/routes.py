"""The one route table, mounted by the standalone server (`make_app`) and the Jupyter extension.

`routes(prefix)` lists ``(path pattern, handler class)``; with a `context` it lists
``(pattern, class, {"context": context})`` so the handlers need no application setting. Without a
context, handlers read the :class:`ServerContext` from the application setting ``influx3``.
"""

from __future__ import annotations

from concurrent.futures import Executor
from typing import Any, Optional

import tornado.web

from . import DEFAULT_MAX_REQUEST_BYTES
from .base import DefaultHandler, ServerContext
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
    return tornado.web.Application(routes("", context), influx3=context, **settings)
