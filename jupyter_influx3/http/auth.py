"""Authentication and authorization of every API request (behaviour reference §0.2, §0.3, §4.3).

Order, run from ``ApiHandler.prepare`` (after the ``OPTIONS`` answer, before the route's method):

1. started ``--without-auth``: any path starting with ``/api/v3/configure/token`` (or
   ``/api/v3/enterprise/configure/token``) -> 405 ``endpoint disabled, started without auth``;
   everything else is let through;
2. routes declared ``("public",)`` (only ``/api/v3/configure/token/admin``, any method) and the
   paths named by ``--disable-authz`` skip authentication;
3. the token: ``p=`` in the query string of ``/query`` and ``/write``, else the ``Authorization``
   header (``Bearer <t>``, ``Token <t>``, ``Basic base64(user:<t>)``). A malformed header -> 400,
   a missing, unknown or expired token -> 401. This happens before the method of the route is
   looked at, so an unknown path or method answers 401 to a request without a token;
4. authorization: what the route requires of the token, or 403.

What a route requires is declared on its handler class, so a route added to the route table later
is covered without touching this module::

    class QuerySqlHandler(ApiHandler):
        required = ("db_read", "db")        # read on the database named by `db`

    class DatabaseHandler(ApiHandler):
        required = ("admin",)                # the default when a class declares nothing

Declarations (a tuple, or a dict ``{METHOD: tuple, "*": tuple}`` for per-method needs):

* ``("admin",)`` -- an admin token (the operator ``_admin`` or a named admin). The default.
* ``("db_read", PARAM)`` / ``("db_write", PARAM)`` -- read / write permission on the database
  named by PARAM. Every value PARAM has in the query string, in a JSON-object body and in a form
  body must be permitted (so the handler cannot end up using a database that was not checked);
  no value at all -> 403 for a resource token.
* ``("db_write", PARAM, RP_PARAM)`` -- as above, the database being ``<db>/<rp>`` when the v1
  retention policy parameter names one (``/write?db=foo&rp=bar`` writes database ``foo/bar``).
* ``("system", NAME)`` -- ``system:NAME:read`` (``health``, ``metrics``, ``ping``, ``ready``).
* ``("db_describe",)`` -- ``describe`` on at least one database; the handler shows only the
  databases the token may describe (:func:`describable_check`). An Auditor user's listing.
* ``("any",)`` -- any valid token.
* ``("public",)`` -- no authentication at all (reserved for the operator-token bootstrap and
  the user login endpoints, which check a password or a refresh token themselves).
* ``("first_user",)`` -- no authentication while the data directory has neither a user nor an
  operator token (``POST /api/v3/configure/user``, the bootstrap of user auth); admin afterwards.

With user authentication on (``serve --user-auth-type basic``), a user's JWT access token is
presented like a token (``Bearer``) and is checked by this same code: :func:`principal` turns it
into a token-shaped record carrying the permissions of the user's roles (engine/users/).

An unknown declaration fails closed (admin only). A method the handler does not implement is not
authorized here: the 404 ``Not found`` that follows is the answer for any valid token.

Tokens and ``Authorization`` headers never reach a log or an error body: :func:`redact_uri` hides
``p=`` in logged URLs.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable, Iterable, Optional
from urllib.parse import unquote_plus

from tornado import httputil

from ..engine import tokens as tokenlib
from .base import ApiError, ApiHandler, handler_class

if TYPE_CHECKING:  # pragma: no cover
    from ..engine.catalog import Token

# ---- answers (exact bodies, §0.3) ------------------------------------------------------------

UNAUTHENTICATED_BODY = b'{"error": "the request was not authenticated"}'
MALFORMED_BODY = (
    b"{\"error\": \"Authorization header was malformed, the request was not in the form of "
    b"'Authorization: <auth-scheme> <token>', supported auth-schemes are Bearer, Token and Basic\"}"
)
FORBIDDEN_BODY = b'{"error": "unauthorized to perform requested action with the token"}'
TOKEN_ENDPOINTS_DISABLED = "endpoint disabled, started without auth"
#: Paths disabled by --without-auth. The real server names only the first; resource tokens
#: created while nobody is authenticated would become valid the day auth is turned on, so the
#: Enterprise token path is disabled as well.
TOKEN_PATH_PREFIXES = ("/api/v3/configure/token", "/api/v3/enterprise/configure/token")


def unauthenticated() -> ApiError:
    return ApiError(401, "the request was not authenticated", body=UNAUTHENTICATED_BODY)


def malformed() -> ApiError:
    return ApiError(400, "Authorization header was malformed", body=MALFORMED_BODY)


def forbidden() -> ApiError:
    return ApiError(403, "unauthorized to perform requested action with the token", body=FORBIDDEN_BODY)


# ---- settings --------------------------------------------------------------------------------

#: ``--disable-authz`` names -> the API paths they open.
DISABLE_AUTHZ_PATHS: dict[str, tuple[str, ...]] = {
    "health": ("/health", "/api/v1/health"),
    "ping": ("/ping",),
    "metrics": ("/metrics",),
    "ready": ("/ready",),
    "pprof": ("/debug/pprof/heap",),
    "node_stop": ("/api/v3/enterprise/configure/node/stop",),
}

#: Paths where the v1 ``p=`` query parameter carries the token.
P_PARAM_PATHS = ("/query", "/write")


def parse_disable_authz(text: str) -> frozenset[str]:
    """``health,ping`` -> the paths those names open. Raises ValueError for an unknown name."""
    names = [n.strip() for n in text.split(",") if n.strip()]
    if len(names) > len(DISABLE_AUTHZ_PATHS):
        raise ValueError(f"at most {len(DISABLE_AUTHZ_PATHS)} names")
    paths: set[str] = set()
    for name in names:
        if name not in DISABLE_AUTHZ_PATHS:
            raise ValueError(f"unknown name {name!r}, expected some of {', '.join(DISABLE_AUTHZ_PATHS)}")
        paths.update(DISABLE_AUTHZ_PATHS[name])
    return frozenset(paths)


@dataclass(frozen=True)
class AuthSettings:
    """How one mounted route table authenticates.

    * ``enabled`` False is ``--without-auth``: every request accepted, token endpoints 405.
    * ``open_paths``: API paths that skip authentication (``--disable-authz``).
    * ``external`` True: the host application (Jupyter) has authenticated the request already;
      every request acts as the operator and the token endpoints work (side panel mount).
    """

    enabled: bool = True
    open_paths: frozenset = frozenset()
    external: bool = False


DEFAULT_SETTINGS = AuthSettings()


def settings_of(handler: ApiHandler) -> AuthSettings:
    value = getattr(handler.context, "auth", None)
    return value if isinstance(value, AuthSettings) else DEFAULT_SETTINGS


# ---- route -> API path -----------------------------------------------------------------------

_route_patterns: dict[type, list[re.Pattern]] = {}


def api_path(handler: ApiHandler) -> str:
    """The API path of this request, without any mount prefix (``/influx3/ping`` -> ``/ping``).

    Found from the route-table paths the handler's class serves (longest match at the end of the
    request path); for a path that is not in the table it is the request path itself.
    """
    path = handler.request.path
    cls = handler_class(handler)
    patterns = _route_patterns.get(cls)
    if patterns is None:
        from .routes import ROUTE_TABLE  # late: routes imports the handlers, which import base

        # A subclass of a route's handler (the Jupyter mounts derive their own) serves its paths.
        owner = next((k for k in cls.__mro__ if any(c is k for _, c in ROUTE_TABLE)), cls)
        patterns = [re.compile("(" + p + ")$") for p, c in ROUTE_TABLE if c is owner]
        patterns.sort(key=lambda rx: -len(rx.pattern))
        _route_patterns[cls] = patterns
    best = ""
    for rx in patterns:
        m = rx.search(path)
        if m and len(m.group(1)) > len(best):
            best = m.group(1)
    return best or path


# ---- requirements ----------------------------------------------------------------------------

KNOWN_KINDS = ("admin", "any", "public", "first_user", "system", "db_read", "db_write", "db_describe")
HTTP_METHODS = ("get", "post", "put", "delete", "patch", "head")


def supported_methods(cls: type) -> list[str]:
    """The HTTP methods (upper case) a handler class really serves (not the base 404)."""
    return [m.upper() for m in HTTP_METHODS if getattr(cls, m, None) is not getattr(ApiHandler, m)]


def requirement(cls: type, method: str) -> tuple:
    """What a handler class requires for `method`, normalized to a tuple (fails closed)."""
    declared: Any = getattr(cls, "required", ("admin",))
    if isinstance(declared, dict):
        declared = declared.get(method.upper(), declared.get("*", ("admin",)))
    if isinstance(declared, str):
        declared = (declared,)
    if not isinstance(declared, tuple) or not declared or declared[0] not in KNOWN_KINDS:
        return ("admin",)
    kind = declared[0]
    if kind == "system" and (len(declared) < 2 or not isinstance(declared[1], str)):
        return ("admin",)
    if kind in ("db_read", "db_write") and (len(declared) < 2 or not all(isinstance(x, str) for x in declared[1:])):
        return ("admin",)
    return declared


# ---- token extraction ------------------------------------------------------------------------


def token_from_header(value: str) -> str:
    """The token in an ``Authorization`` header value; :func:`malformed` if it is not
    ``<scheme> <token>`` with scheme ``Bearer``, ``Token`` or ``Basic`` (case-sensitive).
    The parsing is the engine's, shared with the Flight adapter."""
    try:
        return tokenlib.token_from_authorization(value)
    except tokenlib.MalformedAuthorization:
        raise malformed() from None


def presented_token(handler: ApiHandler, path: str) -> Optional[str]:
    """The token a request presents, or None. Raises the 400 for a malformed header."""
    if path in P_PARAM_PATHS:
        for key, value in handler.query_pairs():
            if key == "p":
                return value
    values = handler.request.headers.get_list("Authorization")
    if not values:
        return None
    return token_from_header(values[0])


# ---- databases a request names ---------------------------------------------------------------


def v1_database(db: str, rp: str) -> str:
    """The database a v1 ``db``/``rp`` pair names (as the v1 write endpoint resolves it)."""
    rp = rp.lower()
    return db if rp in ("", "''", "autogen", "default") else f"{db}/{rp}"


def _query_values(handler: ApiHandler, name: str) -> list[str]:
    return [v for k, v in handler.query_pairs() if k == name]


def url_databases(handler: ApiHandler, req: tuple) -> set[str]:
    param = req[1]
    dbs = _query_values(handler, param)
    if len(req) > 2:
        rps = _query_values(handler, req[2]) or [""]
        return {v1_database(d, r) for d in dbs for r in rps}
    return set(dbs)


_JSON_SPACE = re.compile(rb"[ \t\r\n]*")


def body_databases(handler: ApiHandler, req: tuple) -> set[str]:
    """Databases named in the request body: a JSON object's field, or a form field."""
    param = req[1]
    body = handler.read_body()
    found: set[str] = set()
    if not body:
        return found
    start = 3 if body.startswith(b"\xef\xbb\xbf") else 0  # a UTF-8 BOM
    start = _JSON_SPACE.match(body, start).end()
    if body[start:start + 1] == b"{":  # (no copy of a large body that is not JSON)
        try:
            doc = json.loads(body[start:])
        except ValueError:
            doc = None
        if isinstance(doc, dict) and doc.get(param) is not None:
            value = doc[param]
            found.add(value if isinstance(value, str) else json.dumps(value))
    content_type = handler.request.headers.get("Content-Type", "")
    is_form = content_type.startswith("application/x-www-form-urlencoded")
    if is_form and b"%" not in body and not any(name.encode() in body for name in req[1:]):
        return found  # names no such field (e.g. line protocol sent by `curl -d`): skip parsing it
    if is_form or content_type.startswith("multipart/form-data"):
        args: dict[str, list[bytes]] = {}
        try:
            httputil.parse_body_arguments(content_type, body, args, {})
        except Exception:  # noqa: BLE001 - a body the handler will refuse anyway
            args = {}
        dbs = [v.decode("utf-8", "replace") for v in args.get(param, [])]
        if len(req) > 2:
            # Body values win over URL ones field by field, so pair each with the other's too.
            rps = [v.decode("utf-8", "replace") for v in args.get(req[2], [])]
            if dbs or rps:
                dbs = dbs or _query_values(handler, param)
                rps = rps or _query_values(handler, req[2]) or [""]
                found.update(v1_database(d, r) for d in dbs for r in rps)
        else:
            found.update(dbs)
    return found


def _has_body(handler: ApiHandler) -> bool:
    headers = handler.request.headers
    if "Transfer-Encoding" in headers:
        return True
    try:
        return int(headers.get("Content-Length", "0")) > 0
    except ValueError:
        return True


# ---- the check -------------------------------------------------------------------------------


def token_of(handler: ApiHandler) -> Optional["Token"]:
    """The token record a request authenticated with (None without auth or on an open path)."""
    return getattr(handler, "auth_token", None)


def authorize_db(handler: ApiHandler, database: str, action: str) -> None:
    """Raise 403 unless the request's token may do `action` (``read``/``write``) on `database`.

    For handlers that find further databases while working (e.g. an InfluxQL statement naming
    ``otherdb.autogen.cpu``): call this for each. Without auth (or for admin tokens) it passes.
    """
    if getattr(handler, "auth_unrestricted", False):  # set by authenticate_request; else fail closed
        return
    tok = token_of(handler)
    if tok is None or not tokenlib.allows(tok, "db", database, action):
        raise forbidden()


def readable_check(handler: ApiHandler) -> Optional[Callable[[str], bool]]:
    """Which databases the request's token may read, as a predicate for what the engine builds from
    other databases' activity (``system.queries``, query telemetry); None: all of them."""
    if getattr(handler, "auth_unrestricted", False):
        return None
    tok = token_of(handler)
    if tok is None:
        return lambda name: False
    return lambda name: tokenlib.allows(tok, "db", name, "read")


def describable_check(handler: ApiHandler) -> Optional[Callable[[str], bool]]:
    """Which databases the request's credential may describe (list), as a predicate; None: all."""
    if getattr(handler, "auth_unrestricted", False):
        return None
    tok = token_of(handler)
    if tok is None:
        return lambda name: False
    return lambda name: tokenlib.allows(tok, "db", name, "describe")


def _check_databases(handler: ApiHandler, names: Iterable[str], action: str) -> None:
    names = list(names)
    if not names:
        raise forbidden()
    for name in names:
        authorize_db(handler, name, action)


def principal(handler: ApiHandler, token: str) -> Optional["Token"]:
    """Who a presented credential speaks for: an API token's record, or (with user auth on) the
    token-shaped record of a user's JWT access token; None if it is neither."""
    from ..engine.users import resolve

    return resolve(handler.context.engine.catalog, token, getattr(handler.context, "users", None))


def _unclaimed(catalog) -> bool:
    """No user and no operator token yet: the first user may be created without credentials."""
    catalog.refresh()
    return not catalog.users and not tokenlib.has_operator_token(catalog)


def authenticate_request(handler: ApiHandler) -> None:
    """Authenticate and authorize `handler`'s request, or raise the ApiError that answers it."""
    settings = settings_of(handler)
    handler.auth_token = None
    handler.auth_unrestricted = True
    if settings.external:
        return
    path = api_path(handler)
    if not settings.enabled:
        if path.startswith(TOKEN_PATH_PREFIXES):
            raise ApiError(405, TOKEN_ENDPOINTS_DISABLED)
        return
    cls = handler_class(handler)
    method = handler.request.method or "GET"
    req = requirement(cls, method)
    if req[0] == "public" or path in settings.open_paths:
        return
    if req[0] == "first_user":
        if _unclaimed(handler.context.engine.catalog):
            return
        req = ("admin",)

    token = presented_token(handler, path)
    if not token:
        raise unauthenticated()
    record = principal(handler, token)
    if record is None:
        raise unauthenticated()
    handler.auth_token = record
    if tokenlib.is_admin(record):
        return
    handler.auth_unrestricted = False

    if method.upper() not in supported_methods(cls):
        return  # answered 404 "Not found" by the route
    kind = req[0]
    if kind == "any":
        return
    if kind == "system":
        if not tokenlib.allows(record, "system", req[1], "read"):
            raise forbidden()
        return
    if kind == "db_describe":
        if not tokenlib.allows_some(record, "db", "describe"):
            raise forbidden()
        return
    if kind not in ("db_read", "db_write"):
        raise forbidden()  # admin only
    action = "read" if kind == "db_read" else "write"
    url_dbs = url_databases(handler, req)
    for name in url_dbs:
        authorize_db(handler, name, action)  # refuse early, before any body is read
    if not _has_body(handler):
        _check_databases(handler, url_dbs, action)
        return
    _defer_until_body(handler, req, action, url_dbs)


def _defer_until_body(handler: ApiHandler, req: tuple, action: str, url_dbs: set[str]) -> None:
    """Check the databases a body names once it has arrived, before the route's method runs."""
    name = (handler.request.method or "GET").lower()
    method = getattr(handler, name)

    async def guarded(*args: Any, **kwargs: Any) -> None:
        names = set(url_dbs) | body_databases(handler, req)
        _check_databases(handler, names, action)
        result = method(*args, **kwargs)
        if result is not None:
            await result

    setattr(handler, name, guarded)  # tornado looks the method up on the instance after the body


# ---- logging ---------------------------------------------------------------------------------

#: Query-string keys whose values never reach a log: ``p`` (the v1 token) and anything a client
#: might put a credential in. Compared after percent-decoding and case-folding, since the server
#: decodes keys before reading them (``%70=`` is ``p=``).
_SECRET_PARAMS = frozenset({"p", "token", "password", "access_token", "refresh_token", "authorization",
                            "jwt", "api_key", "apikey", "secret"})


def _secret_key(raw: str) -> bool:
    key = raw
    for _ in range(3):  # %2570 -> %70 -> p: however many times a proxy or client decodes it
        decoded = unquote_plus(key)
        if decoded == key:
            break
        key = decoded
    return key.strip().lower() in _SECRET_PARAMS


def redact_uri(uri: str) -> str:
    """`uri` with the value of every credential-like parameter (``p=``, ``token=``, ``%70=``,
    ``T%6Fken=``...) replaced by ``REDACTED``; the keys are kept as the client spelled them."""
    path, sep, query = uri.partition("?")
    if not sep:
        return uri
    # (no special case for "#": tornado keeps it in the query, and parse_qsl reads on past it)
    parts = re.split(r"([&;])", query)  # keep the separators as they were
    for i in range(0, len(parts), 2):
        key, eq, _value = parts[i].partition("=")
        if _secret_key(key):
            parts[i] = f"{key}=REDACTED"
    return path + "?" + "".join(parts)
