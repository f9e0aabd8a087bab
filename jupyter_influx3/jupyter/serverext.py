"""The Jupyter server extension: the whole InfluxDB 3 HTTP API on the notebook server's port.

`Influx3App` opens an engine node on the shared data directory (kernels open their own nodes on
the same directory, so writes through either side are visible to the other) and mounts the one
route table (`http/routes.py`) three times:

1. ``{base_url}influx3/…`` -- every endpoint, InfluxDB token auth;
2. the root paths that do not collide with Jupyter's (``/api/v3/…``, ``/api/v2/write``,
   ``/api/v1/health``, ``/write``, ``/query``, ``/ping``, ``/health``; ``/metrics`` only with
   `serve_root_metrics`) -- InfluxDB token auth, so clients can use ``http://host:8888`` as is;
3. ``{base_url}influx3/jupyter/…`` -- every endpoint, Jupyter's own authentication (token or
   login cookie, XSRF for cookie requests, Jupyter's authorizer); acts as the operator. The side
   panel's own endpoints hang here too: ``info`` and ``plugin_files`` (`panelapi.py`), ``remotes``
   and the ``remote/<name>/…`` proxy (`remotes.py`).

The InfluxDB-token mounts are plain tornado handlers, not `JupyterHandler`s: Jupyter never parses
their ``Authorization`` header, never asks them for an XSRF token, and they check the Host header
the way Jupyter does (DNS rebinding). Every verb of theirs carries Jupyter's
``@allow_unauthenticated`` marker (they authenticate with InfluxDB tokens instead), the Jupyter
mount's verbs ``@web.authenticated``, so Jupyter's auth audit has nothing to warn about.

Tokens in URLs (``/write?p=…``, ``/query?p=…``) are redacted from every request's URL before any
handler runs, so no log line of Jupyter's or tornado's can print one.

Who may do what on this port (issue 10, ``docs/security.md``): the operator token is created only
through Jupyter's login -- mount 3, or ``%influx3 token`` in a kernel -- unless the administrator
sets ``Influx3App.allow_token_bootstrap``; the InfluxDB-token mounts answer the public bootstrap
route with a 403 that says where to get a token.  Browsers may call the InfluxDB-token mounts only
from the origins in ``Influx3App.cors_origins`` (`http/cors.py`); mount 3 keeps Jupyter's policy.

Arrow Flight / Flight SQL (`flight/`) cannot share Jupyter's port, so it listens on a loopback port
of its own (``Influx3App.flight_bind``, default ``127.0.0.1:0``: a free one), with the InfluxDB
tokens of mounts 1 and 2. Its address is in the server log and at ``{base_url}influx3/jupyter/flight``
(which ``%influx3 status`` shows).
"""

from __future__ import annotations

import asyncio
import ipaddress
import os
import re
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, Optional

from jupyter_server.base.handlers import JupyterHandler
from jupyter_server.extension.application import ExtensionApp
from jupyter_server.utils import url_path_join
from tornado import web
from traitlets import Bool, Float, Int, List, TraitError, Unicode, default, validate

from ..engine.querylimits import DEFAULT_TIMEOUT_S, QueryLimits, parse_memory_size
from ..http import DEFAULT_MAX_REQUEST_BYTES
from ..http import cors
from ..http.auth import AuthSettings, api_path, parse_disable_authz, redact_uri, requirement
from ..http import querypool
from ..http.querypool import make_query_executor
from ..http.base import ApiError, ApiHandler, DefaultHandler, ServerContext
from ..http.metrics import metrics_for
from ..http.routes import ROUTE_TABLE
from .panelapi import InfoHandler, PluginSourceHandler
from .remotes import RemoteStore, remote_routes

#: Root paths served on Jupyter's port (those of the route table that Jupyter does not own).
ROOT_PREFIXES = ("/api/v3/",)
ROOT_PATHS = ("/api/v2/write", "/api/v1/health", "/write", "/query", "/ping", "/health")
HTTP_VERBS = ("get", "head", "post", "delete", "patch", "put", "options")
ALLOW_UNAUTHENTICATED = "__allow_unauthenticated"  # jupyter_server.auth.decorator's marker


def route_regex(path: str) -> str:
    """A route-table path as a regex: literal, except a path that captures (`/api/v3/engine/(.+)`)."""
    return path if "(" in path else re.escape(path)


def root_routes(with_metrics: bool = False) -> list[tuple[str, type]]:
    out = []
    for path, cls in ROUTE_TABLE:
        if path.startswith(ROOT_PREFIXES) or path in ROOT_PATHS or (with_metrics and path == "/metrics"):
            out.append((path, cls))
    return out


# ---- InfluxDB-token handlers ---------------------------------------------------------------------


def host_allowed(handler: web.RequestHandler) -> bool:
    """Jupyter's DNS-rebinding check: unless ``allow_remote_access``, the Host must be a loopback
    address or one of ``local_hostnames``."""
    settings = handler.settings
    if settings.get("allow_remote_access", False):
        return True
    m = re.match(r"^(.*?)(:\d+)?$", handler.request.host or "")
    host = m.group(1) if m else ""
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host in settings.get("local_hostnames", ["localhost"])


class InfluxTokenMixin:
    """An API handler inside Jupyter that authenticates with InfluxDB tokens."""

    def initialize(self, context: Optional[ServerContext] = None) -> None:
        super().initialize(context)  # type: ignore[misc]
        # Before anything can log it: a `p=` token in the URL never reaches a log line.
        self.request.uri = redact_uri(self.request.uri or "")  # type: ignore[attr-defined]

    def check_xsrf_cookie(self) -> None:
        return None  # token-authenticated API: no cookies, so no XSRF to check

    async def prepare(self) -> None:
        if not host_allowed(self):  # type: ignore[arg-type]
            raise ApiError(403, "Host not allowed (set ServerApp.allow_remote_access to serve other names)")
        await super().prepare()  # type: ignore[misc]
        self.refuse_bootstrap()

    def refuse_bootstrap(self) -> None:
        """Anyone who reaches the notebook port (a web page in the user's browser, another user of
        the machine) must not mint the first credentials: the operator-token bootstrap and the
        unauthenticated creation of the first user answer 403 here unless
        ``Influx3App.allow_token_bootstrap`` (logins, also ``public``, check a password)."""
        method = self.request.method or "GET"  # type: ignore[attr-defined]
        kind = requirement(type(self), method)[0]
        if method == "OPTIONS" or kind not in ("public", "first_user"):
            return
        if kind == "public" and api_path(self) not in BOOTSTRAP_PATHS:  # type: ignore[arg-type]
            return
        if kind == "first_user" and getattr(self, "auth_token", None) is not None:
            return  # an admin's request, not a bootstrap
        if self.settings.get("influx3_allow_token_bootstrap", False):  # type: ignore[attr-defined]
            return
        if not getattr(self.context, "auth", None) or not self.context.auth.enabled:  # type: ignore[attr-defined]
            return  # --without-auth: the token routes answer their own 405
        jupyter_path = url_path_join(self.settings.get("base_url", "/"), "influx3", "jupyter")  # type: ignore[attr-defined]
        raise ApiError(403, BOOTSTRAP_REFUSED.format(path=jupyter_path + api_path(self)), "json")  # type: ignore[arg-type]


#: Public routes that create credentials from nothing (the rest, logins, check a password).
BOOTSTRAP_PATHS = ("/api/v3/configure/token/admin",)
#: The 403 of a bootstrap on the InfluxDB-token mounts.
BOOTSTRAP_REFUSED = (
    "the first credentials of a Jupyter server are created through Jupyter: run `%influx3 token` in a notebook, "
    "or POST {path} with Jupyter's credentials (or set Influx3App.allow_token_bootstrap = True)")


def _mark_allow_unauthenticated(cls: type) -> None:
    """Put Jupyter's ``@allow_unauthenticated`` marker on every verb `cls` answers. The functions are
    the route handlers' own (a subclass must not wrap them: the auth layer tells implemented verbs
    from the 404 ones by identity); the marker is read by jupyter_server only."""
    for verb in HTTP_VERBS:
        fn = getattr(cls, verb, None)
        if fn is not None and not getattr(fn, ALLOW_UNAUTHENTICATED, False):
            setattr(fn, ALLOW_UNAUTHENTICATED, True)


_token_classes: dict[type, type] = {}


def influx_token_handler(cls: type) -> type:
    sub = _token_classes.get(cls)
    if sub is None:
        sub = type(f"Jupyter{cls.__name__}", (InfluxTokenMixin, cls), {"__module__": __name__})
        _mark_allow_unauthenticated(sub)
        _token_classes[cls] = sub
    return sub


# ---- Jupyter-authenticated handlers -------------------------------------------------------------


class JupyterAuthMixin:
    """An API handler behind Jupyter's own authentication (the side panel's surface)."""

    def initialize(self, context: Optional[ServerContext] = None) -> None:
        ApiHandler.initialize(self, context)  # type: ignore[arg-type]
        self.request.uri = redact_uri(self.request.uri or "")  # type: ignore[attr-defined]

    def set_default_headers(self) -> None:
        JupyterHandler.set_default_headers(self)  # type: ignore[arg-type]
        ApiHandler.set_default_headers(self)  # type: ignore[arg-type]

    def flush(self, include_footers: bool = False):
        # Jupyter's CORS policy applies here, not the API's (`http/cors.py`).
        return web.RequestHandler.flush(self, include_footers)  # type: ignore[arg-type]

    def check_cross_origin(self) -> None:
        return None  # Jupyter's own checks (XSRF for cookies, allow_origin) govern this mount

    def get_login_url(self) -> str:
        raise web.HTTPError(403)  # an API: no redirect to the login page

    async def prepare(self) -> None:
        await JupyterHandler.prepare(self, _redirect_to_login=False)  # type: ignore[arg-type]
        user = self.current_user  # type: ignore[attr-defined]
        if user is None:
            raise ApiError(403, "not authenticated with Jupyter")
        method = (self.request.method or "GET").upper()  # type: ignore[attr-defined]
        action = "read" if method in ("GET", "HEAD", "OPTIONS") else "write"
        authorizer = self.authorizer  # type: ignore[attr-defined]
        if not authorizer.is_authorized(self, user, action, "influx3"):
            raise ApiError(403, f"not authorized to {action} influx3")
        await ApiHandler.prepare(self)  # type: ignore[arg-type]


def _authenticated(fn):
    def call(self, *args: Any, **kwargs: Any):
        return fn(self, *args, **kwargs)

    call.__name__ = getattr(fn, "__name__", "call")
    return web.authenticated(call)


_jupyter_classes: dict[type, type] = {}


def jupyter_auth_handler(cls: type) -> type:
    sub = _jupyter_classes.get(cls)
    if sub is None:
        verbs = {verb: _authenticated(getattr(cls, verb)) for verb in HTTP_VERBS}
        sub = type(f"JupyterAuth{cls.__name__}", (JupyterAuthMixin, cls, JupyterHandler),
                   {"__module__": __name__, **verbs})
        _jupyter_classes[cls] = sub
    return sub


# ---- log redaction ------------------------------------------------------------------------------


def redact_requests(webapp: web.Application) -> None:
    """Redact ``p=`` (and ``token=``) values in every request's URL before any handler sees it, so
    neither Jupyter's request log nor tornado's warnings print a token a client put in the URL
    (also for paths that are not ours, e.g. ``/write/?p=…``). Handlers read the query from the
    already parsed ``request.query`` / ``request.arguments``, which keep the real values."""
    if getattr(webapp.find_handler, "_influx3_redacting", False):
        return
    original = webapp.find_handler

    def find_handler(request, **kwargs: Any):
        uri = request.uri or ""
        if "?" in uri:
            request.uri = redact_uri(uri)
        return original(request, **kwargs)

    find_handler._influx3_redacting = True  # type: ignore[attr-defined]
    webapp.find_handler = find_handler  # type: ignore[method-assign]


class FlightInfoHandler(JupyterHandler):
    """``GET {base_url}influx3/jupyter/flight``: where Arrow Flight listens (Jupyter's auth)."""

    def initialize(self, location: str = "") -> None:
        self.location = location

    @web.authenticated
    def get(self) -> None:
        self.finish({"location": self.location or None})


# ---- the extension ------------------------------------------------------------------------------


class Influx3App(ExtensionApp):
    """Serves the InfluxDB 3 HTTP API on the Jupyter server's port (see the module docstring)."""

    name = "jupyter_influx3"
    description = "InfluxDB 3 HTTP API on the Jupyter server, over the notebook's data directory"
    load_other_extensions = True

    data_dir = Unicode("", help="Data directory (default: $INFLUX3_DATA_DIR, else Jupyter's data dir/influx3, "
                                "where kernels look too).").tag(config=True)
    node_id = Unicode("", help="Engine node id of this server (default: server-<random>).").tag(config=True)
    without_auth = Bool(False, help="Serve the InfluxDB-token mounts without authentication "
                                    "(anyone who reaches the port can read and write).").tag(config=True)
    disable_authz = Unicode("", help="Comma-separated endpoints that skip token checks: health, ping, metrics."
                            ).tag(config=True)
    max_request_bytes = Int(DEFAULT_MAX_REQUEST_BYTES, help="Largest request body accepted.").tag(config=True)
    serve_root_paths = Bool(True, help="Also serve /api/v3/…, /api/v2/write, /write, /query, /ping, /health "
                                       "at the server root.").tag(config=True)
    serve_root_metrics = Bool(False, help="Also serve /metrics at the root (Jupyter serves its own there)."
                              ).tag(config=True)
    allow_token_bootstrap = Bool(False, help="Let anyone who reaches the port create the operator token with "
                                             "POST /api/v3/configure/token/admin, as the standalone server does. "
                                 "Off: only through Jupyter's login (`%influx3 token`, or the influx3/jupyter/ "
                                 "mount).").tag(config=True)
    cors_origins = List(Unicode(), default_value=[], help="Browser origins (scheme://host[:port]) allowed to call "
                        "the InfluxDB-token mounts (root paths and influx3/), or ['*'] for any. Default none: "
                        "a request with another Origin header is refused with 403.").tag(config=True)

    flight_bind = Unicode("127.0.0.1:0", help="HOST:PORT where Arrow Flight / Flight SQL (gRPC) listens, with "
                          "InfluxDB tokens (port 0: a free one; empty: no Flight).").tag(config=True)

    @validate("flight_bind")
    def _valid_flight_bind(self, proposal) -> str:
        value = proposal["value"].strip()
        host, sep, port = value.rpartition(":")
        if value and (not sep or not port.isdigit() or not host):
            raise TraitError(f"Influx3App.flight_bind: expected HOST:PORT, got {value!r}")
        return value

    @validate("cors_origins")
    def _valid_cors_origins(self, proposal) -> list:
        try:
            return list(cors.parse_origins(proposal["value"]))
        except ValueError as exc:
            raise TraitError(f"Influx3App.cors_origins: {exc}") from None

    remotes_file = Unicode("", help="Where the side panel's remote servers (URL and token) are kept, mode 0600 "
                           "(default: Jupyter's data dir/influx3-remotes.json).").tag(config=True)

    plugin_dir = Unicode("", help="Directory of Python plugins: enables the processing engine (triggers run in this "
                         "server, never in kernels; default $INFLUXDB3_PLUGIN_DIR, else off).").tag(config=True)
    plugin_repo = Unicode("", help="Where gh:<path> plugins come from: a URL serving raw files or a local "
                          "directory (default $INFLUXDB3_PLUGIN_REPO; gh: refused when unset).").tag(config=True)
    package_manager = Unicode("pip", help="Installer of plugin packages: pip, uv or disabled.").tag(config=True)

    query_timeout = Float(DEFAULT_TIMEOUT_S, help="Seconds a query (SQL or InfluxQL) may run before it is stopped "
                          "and answered 504 'query-timeout limit exceeded' (0: never).").tag(config=True)
    query_memory_limit = Unicode("", help="Memory DuckDB may use for this server's queries, e.g. 4GB, 512MiB or 25% "
                                 "(default: a quarter of RAM).").tag(config=True)

    @validate("query_timeout")
    def _valid_query_timeout(self, proposal) -> float:
        if not proposal["value"] >= 0:
            raise TraitError(f"Influx3App.query_timeout: expected 0 or more seconds, got {proposal['value']!r}")
        return proposal["value"]

    @validate("query_memory_limit")
    def _valid_query_memory_limit(self, proposal) -> str:
        if proposal["value"].strip():
            try:
                parse_memory_size(proposal["value"])
            except ValueError as exc:
                raise TraitError(f"Influx3App.query_memory_limit: {exc}") from None
        return proposal["value"]

    def _query_memory_bytes(self) -> Optional[int]:
        return parse_memory_size(self.query_memory_limit) if self.query_memory_limit.strip() else None

    engine: Any = None
    contexts: list[ServerContext]

    @default("node_id")
    def _default_node_id(self) -> str:
        return f"server-{uuid.uuid4().hex[:10]}"

    def resolved_data_dir(self) -> Path:
        if self.data_dir:
            return Path(self.data_dir).expanduser().absolute()
        from ..cli import default_data_dir

        return default_data_dir().expanduser().absolute()

    def initialize_settings(self) -> None:
        from ..engine import Engine, errors

        self.contexts = []
        data_dir = self.resolved_data_dir()
        try:
            data_dir.mkdir(parents=True, exist_ok=True)
            self.engine = Engine(str(data_dir), node_id=self.node_id, query_memory_limit=self._query_memory_bytes())
            self.engine.query_limits = QueryLimits(timeout_s=self.query_timeout or None)
        except (OSError, errors.EngineError) as exc:
            self.log.error("jupyter_influx3: cannot open data directory %s: %s; the API is not served", data_dir, exc)
            self.engine = None
            return
        try:
            open_paths = parse_disable_authz(self.disable_authz) if self.disable_authz else frozenset()
        except ValueError as exc:
            self.log.error("jupyter_influx3: Influx3App.disable_authz: %s; nothing opened", exc)
            open_paths = frozenset()
        self._token_auth = AuthSettings(enabled=not self.without_auth, open_paths=open_paths)
        self._executor = ThreadPoolExecutor(max_workers=max(4, (os.cpu_count() or 2) * 2),
                                            thread_name_prefix="influx3-api")
        self._query_executor = make_query_executor()  # queries never wait behind writes, nor the reverse
        plugin_dir = self.plugin_dir or os.environ.get("INFLUXDB3_PLUGIN_DIR", "")
        if plugin_dir:  # the processing engine (engine/plugins/); its operations need it
            self.engine.configure_plugins(Path(plugin_dir).expanduser(),
                                          plugin_repo=self.plugin_repo or os.environ.get("INFLUXDB3_PLUGIN_REPO"),
                                          package_manager=self.package_manager)
        self.settings["influx3_engine"] = self.engine
        self.settings["influx3_allow_token_bootstrap"] = self.allow_token_bootstrap
        self.log.info("jupyter_influx3: data dir %s, node %s%s", data_dir, self.engine.node_id,
                      " (authentication OFF)" if self.without_auth else "")
        self._start_flight()

    def _start_flight(self) -> None:
        """Arrow Flight on its own port (`flight_bind`): the address goes to the log and settings."""
        self.flight_server, self.flight_location = None, ""
        if not self.flight_bind:
            return
        host, _, port = self.flight_bind.rpartition(":")
        host = host.strip("[]")
        try:
            from ..flight.server import FlightServer

            shown = f"[{host}]" if ":" in host else host
            self.flight_server = FlightServer(self.engine, f"grpc://{shown}:{port}", auth=self._token_auth.enabled)
        except Exception as exc:  # noqa: BLE001 - no pyarrow.flight, port taken: the HTTP API still works
            self.log.error("jupyter_influx3: Arrow Flight not served on %s: %s", self.flight_bind, exc)
            return
        self.flight_location = f"grpc://{shown}:{self.flight_server.port}"
        self.settings["influx3_flight"] = self.flight_location
        self.log.info("jupyter_influx3: Arrow Flight / Flight SQL on %s", self.flight_location)

    def _context(self, auth: AuthSettings) -> ServerContext:
        ctx = ServerContext(engine=self.engine, max_request_bytes=self.max_request_bytes,
                            executor=self._executor, auth=auth, cors_origins=tuple(self.cors_origins),
                            query_executor=self._query_executor)
        if self.contexts:  # one process, one set of metrics
            ctx.process_id = self.contexts[0].process_id
            ctx.metrics = metrics_for(self.contexts[0])  # type: ignore[attr-defined]
        self.contexts.append(ctx)
        return ctx

    def _remotes_path(self) -> Path:
        if self.remotes_file:
            return Path(self.remotes_file).expanduser()
        from jupyter_core.paths import jupyter_data_dir

        return Path(jupyter_data_dir()) / "influx3-remotes.json"

    def initialize_handlers(self) -> None:
        if self.engine is None:
            return
        webapp = self.serverapp.web_app
        base_url = webapp.settings.get("base_url", "/")
        mount = url_path_join(base_url, "influx3")
        jupyter_mount = url_path_join(mount, "jupyter")
        rules: list[tuple] = []

        # 3. Jupyter-authenticated: first, since the token mount's catch-all would match it too.
        jctx = self._context(AuthSettings(external=True))
        for path, cls in ROUTE_TABLE:
            rules.append((re.escape(jupyter_mount) + route_regex(path) + "$", jupyter_auth_handler(cls), {"context": jctx}))
        rules.append((re.escape(jupyter_mount + "/flight") + "$", FlightInfoHandler,
                      {"location": getattr(self, "flight_location", "")}))
        rules.append((re.escape(jupyter_mount + "/info") + "$", InfoHandler, {"app": self}))
        rules.append((re.escape(jupyter_mount + "/plugin_files") + "$", PluginSourceHandler, {"app": self}))
        rules.extend(remote_routes(jupyter_mount, RemoteStore(self._remotes_path())))
        rules.append((re.escape(jupyter_mount) + "(/.*)?$", jupyter_auth_handler(DefaultHandler), {"context": jctx}))

        # 1. everything under {base_url}influx3/, InfluxDB tokens.
        ctx = self._context(self._token_auth)
        for path, cls in ROUTE_TABLE:
            rules.append((re.escape(mount) + route_regex(path) + "$", influx_token_handler(cls), {"context": ctx}))
        rules.append((re.escape(mount) + "(/.*)?$", influx_token_handler(DefaultHandler), {"context": ctx}))

        # 2. the root paths that do not collide with Jupyter's own.
        if self.serve_root_paths:
            rctx = self._context(self._token_auth)
            for path, cls in root_routes(self.serve_root_metrics):
                rules.append((route_regex(path) + "$", influx_token_handler(cls), {"context": rctx}))
            rules.append((r"/api/v3/.*$", influx_token_handler(DefaultHandler), {"context": rctx}))

        webapp.add_handlers(".*$", rules)
        redact_requests(webapp)

    async def stop_extension(self) -> None:
        engine, self.engine = self.engine, None
        if engine is None:
            return
        loop = asyncio.get_running_loop()
        for ctx in self.contexts:  # a runaway query must not hold Jupyter's shutdown
            querypool.cancel_all(ctx)
        engine.interrupt_queries()
        deadline = loop.time() + 30
        while any(c.busy for c in self.contexts) and loop.time() < deadline:
            await asyncio.sleep(0.02)
        flight_server, self.flight_server = getattr(self, "flight_server", None), None
        if flight_server is not None:
            await loop.run_in_executor(None, flight_server.shutdown)
        await loop.run_in_executor(None, engine.close)
        for executor in (getattr(self, "_executor", None), getattr(self, "_query_executor", None)):
            if executor is not None:
                executor.shutdown(wait=False)
