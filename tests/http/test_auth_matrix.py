"""Every route of the route table x every kind of credential -> the answer it must get.

The cases are generated from `routes.ROUTE_TABLE` and the methods each handler really serves, so
a route added later is covered without editing this file. What each route should allow is NOT
read from the handler's declaration: it is the table `EXPECTED` below, and every path missing from
it must be admin-only. A new route that lets more than an admin token in fails here until this
table says it should. One server (auth on, user auth on) serves the whole matrix; users' JWTs
are credentials like tokens (an Admin's may do what an admin token may, a Member's read and write
any database, an Auditor's neither; a deleted user's or an expired one nothing).
"""

from __future__ import annotations

import itertools
import re

from pathlib import Path

import jwt as pyjwt
import pytest
import requests

from http_helpers import FORBIDDEN, MALFORMED, UNAUTHENTICATED, bearer, create_admin, db_perm, resource_token
from jupyter_influx3.engine.tokens import generate_token
from jupyter_influx3.engine.users import jwts
from jupyter_influx3.http.auth import supported_methods
from jupyter_influx3.http.routes import ROUTE_TABLE

DB = "matrixdb"
OTHER_DB = "matrixother"

#: What each API path lets in (per method where a dict); any path not listed must be admin-only.
#: db_write: a write token for the database; db_read: a read token for it; any: any valid token;
#: public: no authentication at all.
EXPECTED = {
    "/api/v3/write_lp": "db_write",
    "/api/v2/write": "db_write",
    "/write": "db_write",
    "/api/v3/query_sql": "db_read",
    "/api/v3/query_sql_telemetry": "db_read",
    "/api/v3/query_influxql": "db_read",
    "/query": "db_read",
    "/ping": "any",
    "/health": "any",
    "/api/v1/health": "any",
    "/api/v3/configure/token/admin": "public",
    # listing databases: describe on some database (an Auditor); changing them: admin
    "/api/v3/configure/database": {"GET": "db_describe", "*": "admin"},
    # no token: they check a password or a refresh token (here: bodies without one -> 400)
    "/api/v3/authorize": "login",
    "/api/v3/authorize/refresh": "login",
    "/api/v3/authorize/reset-password": "login",
}
#: Kinds of route that take no credential at all.
NO_AUTH_KINDS = ("public", "login")
WRITE_PATHS = {"/api/v3/write_lp", "/api/v2/write", "/write"}

#: Credentials, in the order they are tried (admins last: their requests may change things).
#: jwt_*: a user's JWT access token (server started --user-auth-type basic): of a user with that
#: role, of a user deleted since, and one expired (signed with the server's own key).
CREDENTIALS = ["none", "malformed", "unknown", "expired", "jwt_expired", "jwt_deleted", "read_other_db",
               "read_this_db", "write_this_db", "jwt_auditor", "jwt_member", "jwt_admin", "named_admin", "admin"]
UNAUTHENTICATED_CREDENTIALS = ("none", "unknown", "expired", "jwt_expired", "jwt_deleted")
USER_PASSWORD = "matrix-user-password"

_counter = itertools.count()

@pytest.fixture(scope="module")
def srv(start_influx3_session):
    """One server with auth and user auth on for the whole matrix."""
    return start_influx3_session("--user-auth-type", "basic", auth=True)


@pytest.fixture(scope="module")
def url(srv) -> str:
    return srv.url


@pytest.fixture(scope="module")
def admin(url) -> str:
    return create_admin(url)


def concrete(pattern: str) -> str:
    """A request path for a route pattern (regex groups such as `(.*)` become `matrix`)."""
    return re.sub(r"\([^)]*\)", "matrix", pattern).replace("\\", "")


def allowed(kind: str, credential: str) -> bool:
    if credential in ("named_admin", "admin", "jwt_admin"):
        return True
    if credential in UNAUTHENTICATED_CREDENTIALS or credential == "malformed":
        return False
    if kind == "any":
        return True
    if credential == "jwt_member":  # read and write on every database
        return kind in ("db_read", "db_write")
    if kind == "db_read":
        return credential == "read_this_db"
    if kind == "db_write":
        return credential == "write_this_db"
    if kind == "db_describe":
        return credential == "jwt_auditor"
    return False  # admin-only (or system:*, which no credential here has)


def cases():
    out = []
    for pattern, cls in ROUTE_TABLE:
        for method in supported_methods(cls):
            out.append(pytest.param(pattern, cls, method, id=f"{method} {pattern}"))
    return out


@pytest.fixture(scope="module")
def matrix(srv, url, admin):
    h = bearer(admin)

    def named(name, expiry=None):
        r = requests.post(f"{url}/api/v3/configure/token/named_admin", json={"token_name": name, "expiry_secs": expiry},
                          headers=h, timeout=30)
        assert r.status_code == 201, r.text
        return r.json()["token"]

    def resource(name, dbname, action):
        return resource_token(url, admin, [db_perm([dbname], action)], name=name)

    users = user_tokens(url, h, Path(srv.data_dir))
    tokens = {
        **users,
        "admin": admin,
        "named_admin": named("matrix-ops"),
        "expired": named("matrix-expired", 0),
        "unknown": generate_token(),
        "read_other_db": resource("matrix-read-other", OTHER_DB, "read"),
        "read_this_db": resource("matrix-read", DB, "read"),
        "write_this_db": resource("matrix-write", DB, "write"),
    }
    # Something to read.
    r = requests.post(f"{url}/api/v3/write_lp", params={"db": DB}, data="matrix,host=a v=1 1", headers=h, timeout=30)
    assert r.status_code == 204
    return {"url": url, "tokens": tokens}


def user_tokens(url: str, h: dict, data_dir: Path) -> dict:
    """JWT access tokens of an Admin, an Auditor and a Member, of a deleted user, and an expired one."""
    r = requests.post(f"{url}/api/v3/configure/user", json={"username": "matrix-admin", "password": USER_PASSWORD},
                      headers=h, timeout=30)
    assert r.status_code == 201, r.text
    out = {}
    for name, roles in (("jwt_admin", None), ("jwt_auditor", [2]), ("jwt_member", [3]), ("jwt_deleted", [1])):
        username = name.replace("_", "-")
        if roles is not None:
            r = requests.post(f"{url}/api/v3/users", json={"username": username, "password": USER_PASSWORD,
                                                           "roleIds": roles}, headers=h, timeout=30)
            assert r.status_code == 201, r.text
        else:
            username = "matrix-admin"
        r = requests.post(f"{url}/api/v3/authorize", json={"username": username, "password": USER_PASSWORD}, timeout=30)
        assert r.status_code == 200, r.text
        out[name] = r.json()["accessToken"]
    who = requests.get(f"{url}/api/v3/users", headers=h, timeout=30).json()["items"]
    doomed = next(u["userId"] for u in who if u["username"] == "jwt-deleted")
    assert requests.delete(f"{url}/api/v3/users/{doomed}", headers=h, timeout=30).status_code == 200
    key = (data_dir / jwts.KEY_FILE).read_bytes()
    out["jwt_expired"] = pyjwt.encode({"iss": jwts.DEFAULT_ISSUER, "sub": "1", "iat": 1, "exp": 2, "typ": "access",
                                       "sep": 0}, jwts.load_private_key(key), algorithm="RS256")
    return out


def headers_for(credential: str, tokens: dict) -> dict:
    if credential == "none":
        return {}
    if credential == "malformed":
        return {"Authorization": "Bearer two parts"}
    return {"Authorization": f"Bearer {tokens[credential]}"}


def request(url: str, path: str, method: str, headers: dict) -> requests.Response:
    n = next(_counter)
    params = {"db": DB, "bucket": DB, "q": "SELECT 1", "token_name": f"matrix-absent-{n}", "table": "matrix",
              "name": f"matrix-{n}", "format": "json"}
    kwargs: dict = {"params": params, "headers": dict(headers), "timeout": 30}
    if method in ("POST", "PUT", "PATCH"):
        if path in WRITE_PATHS:
            kwargs["data"] = "matrix,host=b v=2 2"
        else:
            kwargs["json"] = {
                "db": DB, "q": "SELECT 1", "token_name": f"matrix-new-{n}", "table": f"matrix{n}", "tags": [],
                "fields": [], "name": f"matrix-{n}",
                "permissions": [{"resource_type": "db", "resource_identifier": [DB], "actions": ["read"]}],
            }
    return requests.request(method, f"{url}{path}", **kwargs)


def test_the_matrix_covers_every_route():
    paths = {p for p, _ in ROUTE_TABLE}
    assert len(cases()) >= len(paths)
    for pattern, cls in ROUTE_TABLE:
        assert supported_methods(cls), f"{pattern} serves no method"


@pytest.mark.parametrize("pattern,cls,method", cases())
def test_route_x_credential(matrix, pattern, cls, method):
    url, tokens = matrix["url"], matrix["tokens"]
    path = concrete(pattern)
    kind = EXPECTED.get(pattern, "admin")
    if isinstance(kind, dict):  # per method
        kind = kind.get(method, kind["*"])
    problems = []
    for credential in CREDENTIALS:
        r = request(url, path, method, headers_for(credential, tokens))
        got = (r.status_code, r.text)
        if r.status_code == 201 and r.headers.get("Content-Type", "").startswith("application/json"):
            doc = r.json()
            if isinstance(doc, dict) and doc.get("name") == "_admin" and "token" in doc:
                tokens["admin"] = doc["token"]  # regenerated: keep using the live operator token
        if kind == "public":
            ok = r.status_code not in (400, 401, 403)  # no authentication (409: _admin exists)
            want = "not 400/401/403"
        elif kind == "login":
            # headers are not looked at; the body has no user name / refresh token: 400, no token given
            ok = r.status_code == 400 and "accessToken" not in r.text and "apiv3_" not in r.text
            want = "400 without a token"
        elif credential == "malformed":
            ok = got == (400, MALFORMED)
            want = "400 malformed"
        elif credential in UNAUTHENTICATED_CREDENTIALS:
            ok = got == (401, UNAUTHENTICATED)
            want = "401"
        elif allowed(kind, credential):
            ok = r.status_code not in (401, 403) and r.text != MALFORMED
            want = "not 401/403"
        else:
            ok = got == (403, FORBIDDEN)
            want = "403"
        if not ok:
            problems.append(f"{credential}: want {want}, got {r.status_code} {r.text[:120]!r}")
    assert not problems, f"{method} {path} ({kind}):\n" + "\n".join(problems)


@pytest.mark.parametrize("pattern,cls", [pytest.param(p, c, id=p) for p, c in ROUTE_TABLE])
def test_methods_a_route_does_not_serve(matrix, pattern, cls):
    """Authentication comes before routing: 401 without a token, then 404 for any valid token."""
    url, tokens = matrix["url"], matrix["tokens"]
    path = concrete(pattern)
    public = EXPECTED.get(pattern) in NO_AUTH_KINDS
    for method in ("GET", "POST", "PUT", "DELETE", "PATCH", "HEAD"):
        if method in supported_methods(cls):
            continue
        r = requests.request(method, f"{url}{path}", timeout=30)
        assert r.status_code == (404 if public else 401), (method, path)
        for credential in ("read_other_db", "write_this_db", "admin"):
            r = requests.request(method, f"{url}{path}", headers=headers_for(credential, tokens), timeout=30)
            assert r.status_code == 404, (method, path, credential)


@pytest.mark.parametrize("path", ["/", "/nope", "/api/v3/nope", "/api/v3/configure/token/nope", "/write/x"])
def test_unknown_paths(matrix, path):
    url, tokens = matrix["url"], matrix["tokens"]
    for method in ("GET", "POST", "DELETE"):
        r = requests.request(method, f"{url}{path}", timeout=30)
        assert (r.status_code, r.text) == (401, UNAUTHENTICATED)
        r = requests.request(method, f"{url}{path}", headers=headers_for("malformed", tokens), timeout=30)
        assert r.status_code == 400
        for credential in ("read_this_db", "admin"):
            r = requests.request(method, f"{url}{path}", headers=headers_for(credential, tokens), timeout=30)
            assert r.status_code == 404
