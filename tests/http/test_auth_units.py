"""The auth layer in process: header parsing, redaction, declarations, prefix mounts, databases
named in request bodies (for routes whose handler reads the database from the body), and the
Jupyter-side `external` mode. A real tornado server on a thread, talked to with requests."""

from __future__ import annotations

import asyncio
import base64
import gzip
import json
import threading

import pytest
import requests
import tornado.httpserver
import tornado.netutil
import tornado.web

from http_helpers import FORBIDDEN, bearer
from jupyter_influx3.engine import Engine
from jupyter_influx3.engine import tokens as T
from jupyter_influx3.http import auth
from jupyter_influx3.http.base import ApiError, ApiHandler, DefaultHandler, ServerContext
from jupyter_influx3.http.routes import routes


# ---- pure functions ----------------------------------------------------------------------------


@pytest.mark.parametrize("value,token", [
    ("Bearer abc", "abc"),
    ("Token abc", "abc"),
    ("Basic " + base64.b64encode(b"user:abc").decode(), "abc"),
    ("Basic " + base64.b64encode(b":abc").decode(), "abc"),
])
def test_token_from_header(value, token):
    assert auth.token_from_header(value) == token


@pytest.mark.parametrize("value", ["", "Bearer", "Bearer a b", "bearer a", "Bearer  a", "Basic a b", "Basic ***",
                                   "Basic " + base64.b64encode(b"\xff\xfe:x").decode(), "Bearer \u00e9",
                                   "Basic " + base64.b64encode(b"abc").decode()])  # no colon: not user:token (§4.3)
def test_malformed_headers(value):
    with pytest.raises(ApiError) as caught:
        auth.token_from_header(value)
    assert caught.value.status == 400


@pytest.mark.parametrize("uri,expected", [
    ("/write?db=foo&p=apiv3_secret", "/write?db=foo&p=REDACTED"),
    ("/query?p=apiv3_secret&q=SELECT+1", "/query?p=REDACTED&q=SELECT+1"),
    ("/query?u=x&p=", "/query?u=x&p=REDACTED"),
    ("/x?token=abc&ping=1", "/x?token=REDACTED&ping=1"),
    ("/write?db=p", "/write?db=p"),
    ("/ping", "/ping"),
    # issue 10: the server decodes keys before reading them, so redaction does too
    ("/query?db=x&%70=apiv3_secret&q=1", "/query?db=x&%70=REDACTED&q=1"),
    ("/x?T%6Fken=abc;a=1", "/x?T%6Fken=REDACTED;a=1"),
    ("/x?%2570=abc", "/x?%2570=REDACTED"),
    ("/x?a=1#&p=abc", "/x?a=1#&p=REDACTED"),
    ("/x?P+=abc&password=pw", "/x?P+=REDACTED&password=REDACTED"),
])
def test_redact_uri(uri, expected):
    assert auth.redact_uri(uri) == expected


def test_declarations_fail_closed():
    class NoDecl(ApiHandler):
        def get(self):
            pass

    class Bad(ApiHandler):
        required = ("everyone",)

    class BadDb(ApiHandler):
        required = ("db_read",)

    class PerMethod(ApiHandler):
        required = {"GET": ("db_read", "db"), "*": ("admin",)}

    assert auth.requirement(NoDecl, "GET") == ("admin",)
    assert auth.requirement(Bad, "GET") == ("admin",)
    assert auth.requirement(BadDb, "GET") == ("admin",)
    assert auth.requirement(PerMethod, "GET") == ("db_read", "db")
    assert auth.requirement(PerMethod, "DELETE") == ("admin",)
    assert auth.supported_methods(NoDecl) == ["GET"]
    assert auth.supported_methods(DefaultHandler) == []


def test_parse_disable_authz():
    assert auth.parse_disable_authz("health,ping") == {"/health", "/api/v1/health", "/ping"}
    assert auth.parse_disable_authz("") == frozenset()
    with pytest.raises(ValueError):
        auth.parse_disable_authz("health,nope")


# ---- in-process server -------------------------------------------------------------------------


class EchoDbHandler(ApiHandler):
    """Answers with the database it would use: the body's `db` for POST, else the URL's."""

    required = ("db_read", "db")

    def get(self):
        self.send_body(self.get_query_argument("db", ""), "text/plain")

    def post(self):
        body = self.read_body()
        if self.request.headers.get("Content-Type", "").startswith("application/x-www-form-urlencoded"):
            from urllib.parse import parse_qs

            db = parse_qs(body.decode()).get("db", [self.get_query_argument("db", "")])[0]
        else:
            db = json.loads(body)["db"] if body else self.get_query_argument("db", "")
        if self.get_query_argument("extra", ""):
            auth.authorize_db(self, "extra", "read")  # a further database the handler found
        self.send_body(db, "text/plain")


class V1EchoHandler(ApiHandler):
    required = ("db_write", "db", "rp")

    def post(self):
        self.send_body("ok", "text/plain")


class Server:
    def __init__(self, engine, mounts):
        self.engine = engine
        self.loop = asyncio.new_event_loop()
        self.port = 0
        ready = threading.Event()

        def run():
            asyncio.set_event_loop(self.loop)
            rules = []
            for prefix, settings in mounts:
                ctx = ServerContext(engine=engine, auth=settings)
                rules += [(prefix + "/test/echo$", EchoDbHandler, {"context": ctx}),
                          (prefix + "/test/v1$", V1EchoHandler, {"context": ctx})]
                rules += routes(prefix, ctx)
            app = tornado.web.Application(rules, default_handler_class=DefaultHandler,
                                          influx3=ServerContext(engine=engine))
            sockets = tornado.netutil.bind_sockets(0, "127.0.0.1")
            self.port = sockets[0].getsockname()[1]
            self.server = tornado.httpserver.HTTPServer(app)
            self.server.add_sockets(sockets)
            ready.set()
            self.loop.run_forever()

        self.thread = threading.Thread(target=run, daemon=True)
        self.thread.start()
        ready.wait(10)
        self.url = f"http://127.0.0.1:{self.port}"

    def close(self):
        self.loop.call_soon_threadsafe(self.server.stop)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)


@pytest.fixture(scope="module")
def engine(tmp_path_factory):
    eng = Engine(tmp_path_factory.mktemp("authunits") / "data", node_id="units", background=False)
    yield eng
    eng.close()


@pytest.fixture(scope="module")
def tokens(engine):
    admin = T.create_admin_token(engine.catalog).token
    read_a = T.create_resource_token(engine.catalog, "read-a", [
        {"resource_type": "db", "resource_identifier": ["a"], "actions": ["read"]}]).token
    write_a = T.create_resource_token(engine.catalog, "write-a-rp", [
        {"resource_type": "db", "resource_identifier": ["a", "a/weekly"], "actions": ["write"]}]).token
    return {"admin": admin, "read_a": read_a, "write_a": write_a}


@pytest.fixture(scope="module")
def server(engine, tokens):
    srv = Server(engine, [
        ("", auth.AuthSettings()),
        ("/influx3", auth.AuthSettings(open_paths=auth.parse_disable_authz("ping"))),
        ("/influx3/jupyter", auth.AuthSettings(external=True)),
        ("/open", auth.AuthSettings(enabled=False)),
    ])
    yield srv
    srv.close()


def test_db_from_the_url(server, tokens):
    r = requests.get(f"{server.url}/test/echo", params={"db": "a"}, headers=bearer(tokens["read_a"]))
    assert (r.status_code, r.text) == (200, "a")
    r = requests.get(f"{server.url}/test/echo", params={"db": "b"}, headers=bearer(tokens["read_a"]))
    assert (r.status_code, r.text) == (403, FORBIDDEN)
    r = requests.get(f"{server.url}/test/echo", headers=bearer(tokens["read_a"]))
    assert r.status_code == 403  # no database named at all


def test_db_from_a_json_body(server, tokens):
    tok = bearer(tokens["read_a"])
    assert requests.post(f"{server.url}/test/echo", json={"db": "a"}, headers=tok).text == "a"
    r = requests.post(f"{server.url}/test/echo", json={"db": "b"}, headers=tok)
    assert (r.status_code, r.text) == (403, FORBIDDEN)
    # The URL names an allowed database, the body (which the handler uses) another one.
    r = requests.post(f"{server.url}/test/echo", params={"db": "a"}, json={"db": "b"}, headers=tok)
    assert r.status_code == 403
    # Content-Type is not what decides: a JSON body is read whatever it is labelled.
    r = requests.post(f"{server.url}/test/echo", data=json.dumps({"db": "b"}), headers={**tok, "Content-Type": "text/plain"})
    assert r.status_code == 403
    r = requests.post(f"{server.url}/test/echo", data=b"\xef\xbb\xbf" + json.dumps({"db": "b"}).encode(), headers=tok)
    assert r.status_code == 403
    # Compressed bodies are looked into too.
    r = requests.post(f"{server.url}/test/echo", data=gzip.compress(json.dumps({"db": "b"}).encode()),
                      headers={**tok, "Content-Encoding": "gzip", "Content-Type": "application/json"})
    assert r.status_code == 403
    r = requests.post(f"{server.url}/test/echo", data=gzip.compress(json.dumps({"db": "a"}).encode()),
                      headers={**tok, "Content-Encoding": "gzip", "Content-Type": "application/json"})
    assert (r.status_code, r.text) == (200, "a")
    # A non-string db is never a permitted name.
    assert requests.post(f"{server.url}/test/echo", json={"db": ["a"]}, headers=tok).status_code == 403
    # Admins pass whatever the body says.
    assert requests.post(f"{server.url}/test/echo", json={"db": "b"}, headers=bearer(tokens["admin"])).text == "b"


def test_db_from_a_form_body(server, tokens):
    tok = bearer(tokens["read_a"])
    r = requests.post(f"{server.url}/test/echo", data={"db": "a"}, headers=tok)
    assert (r.status_code, r.text) == (200, "a")
    r = requests.post(f"{server.url}/test/echo", params={"db": "a"}, data={"db": "b"}, headers=tok)
    assert r.status_code == 403
    r = requests.post(f"{server.url}/test/echo", files={"db": (None, "b")}, headers=tok)
    assert r.status_code == 403
    # A percent-encoded field name is still that field.
    r = requests.post(f"{server.url}/test/echo", params={"db": "a"}, data="d%62=b",
                      headers={**tok, "Content-Type": "application/x-www-form-urlencoded"})
    assert r.status_code == 403
    # Line protocol sent as a form (`curl -d`) names no database: the URL's is checked.
    r = requests.post(f"{server.url}/test/v1", params={"db": "a"}, data="cpu,host=a v=1 1",
                      headers={**bearer(tokens["write_a"]), "Content-Type": "application/x-www-form-urlencoded"})
    assert r.status_code == 200


def test_handler_can_check_further_databases(server, tokens):
    r = requests.post(f"{server.url}/test/echo", params={"extra": "1"}, json={"db": "a"},
                      headers=bearer(tokens["read_a"]))
    assert r.status_code == 403
    r = requests.post(f"{server.url}/test/echo", params={"extra": "1"}, json={"db": "a"},
                      headers=bearer(tokens["admin"]))
    assert r.status_code == 200


def test_v1_db_rp_pairs_from_url_and_form(server, tokens):
    tok = bearer(tokens["write_a"])
    assert requests.post(f"{server.url}/test/v1", params={"db": "a", "rp": "weekly"}, headers=tok).status_code == 200
    assert requests.post(f"{server.url}/test/v1", params={"db": "a", "rp": "daily"}, headers=tok).status_code == 403
    r = requests.post(f"{server.url}/test/v1", params={"db": "a"}, data={"rp": "daily"}, headers=tok)
    assert r.status_code == 403
    r = requests.post(f"{server.url}/test/v1", params={"db": "a"}, data={"rp": "weekly"}, headers=tok)
    assert r.status_code == 200


def test_prefix_mounts(server, tokens):
    # Under a prefix the same rules apply to the API path after the prefix.
    assert requests.get(f"{server.url}/influx3/health").status_code == 401
    assert requests.get(f"{server.url}/influx3/health", headers=bearer(tokens["read_a"])).status_code == 200
    assert requests.get(f"{server.url}/influx3/ping").status_code == 200  # opened on this mount only
    assert requests.get(f"{server.url}/ping").status_code == 401
    assert requests.post(f"{server.url}/influx3/api/v3/configure/token/admin").status_code == 409
    r = requests.post(f"{server.url}/influx3/api/v3/write_lp", params={"db": "b"}, data="cpu v=1",
                      headers=bearer(tokens["read_a"]))
    assert r.status_code == 403
    # A prefixed path is found even when its tail is another route's path (/api/v1/health vs /health).
    r = requests.get(f"{server.url}/influx3/api/v1/health", headers=bearer(tokens["read_a"]))
    assert r.status_code == 200
    # Without auth on that mount: token endpoints are disabled under the prefix too.
    r = requests.post(f"{server.url}/open/api/v3/configure/token/admin")
    assert (r.status_code, r.text) == (405, "endpoint disabled, started without auth")
    assert requests.get(f"{server.url}/open/health").status_code == 200


def test_external_mode_acts_as_operator(server, tokens):
    base = f"{server.url}/influx3/jupyter"
    assert requests.get(f"{base}/health").status_code == 200
    r = requests.post(f"{base}/api/v3/configure/token/named_admin", json={"token_name": "from-jupyter"})
    assert r.status_code == 201
    assert requests.post(f"{base}/api/v3/write_lp", params={"db": "ext"}, data="cpu v=1 1").status_code == 204
