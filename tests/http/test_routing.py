"""The route table as `influx3 serve` mounts it (http/routes.py): a fixed path is found by one
lookup, and the handler found is always the one tornado's own rule order picks; the query string is
parsed into tornado's ``arguments`` only when something reads them."""

from __future__ import annotations

import pytest
import requests
import tornado.web
from http_helpers import serving
from tornado import httputil

from jupyter_influx3.engine import Engine
from jupyter_influx3.http.auth import AuthSettings
from jupyter_influx3.http.base import ServerContext
from jupyter_influx3.http.routes import MAX_QUERY_FIELDS, QueryArgsOnDemand, _Application, make_app, routes


def request(target: str) -> QueryArgsOnDemand:
    return QueryArgsOnDemand(start_line=httputil.RequestStartLine("GET", target, "HTTP/1.1"),
                             headers=httputil.HTTPHeaders({"Host": "127.0.0.1"}))


def handler_of(app: tornado.web.Application, target: str) -> type:
    return app.find_handler(request(target)).handler_class


@pytest.fixture
def apps(tmp_path):
    engine = Engine(str(tmp_path / "data"), node_id="n", background=False)
    table = routes("", ServerContext(engine=engine))
    yield _Application(table), tornado.web.Application(table)
    engine.close()


PATHS = ["/query", "/ping", "/api/v3/query_sql", "/api/v3/write_lp", "/api/v3/configure/token/admin",
         "/api/v3/users/alice", "/api/v3/users/alice/roles", "/api/v3/engine/my/plugin",
         "/api/v3/authorize/reset-password", "/query/", "/QUERY", "/no/such/path", "/api/v3/users/",
         "/api/v3/enterprise/backup/b1"]


@pytest.mark.parametrize("path", PATHS)
def test_every_path_reaches_the_handler_tornados_rule_order_picks(apps, path):
    ours, tornados = apps
    assert handler_of(ours, path) is handler_of(tornados, path)


def test_every_fixed_route_is_found_by_lookup_and_by_tornado_alike(apps):
    ours, tornados = apps
    assert len(ours._fixed) > 40
    for path in ours._fixed:
        assert handler_of(ours, path + "?x=1") is handler_of(tornados, path + "?x=1")


def test_a_fixed_path_behind_a_pattern_that_matches_it_goes_to_the_pattern():
    class First(tornado.web.RequestHandler):
        pass

    class Second(tornado.web.RequestHandler):
        pass

    app = _Application([("/a/(.+)$", First), ("/a/b$", Second), ("/c$", Second)])
    assert "/a/b" not in app._fixed and "/c" in app._fixed
    assert handler_of(app, "/a/b") is First and handler_of(app, "/c") is Second
    plain = _Application([("/d", First), ("/d/e$", Second)])   # tornado ends "/d" with "$" itself
    assert plain._fixed.keys() == {"/d", "/d/e"} and handler_of(plain, "/d") is First
    assert handler_of(plain, "/d/e") is handler_of(tornado.web.Application([("/d", First), ("/d/e$", Second)]), "/d/e")


def test_query_arguments_are_parsed_when_first_read():
    req = request("/query?db=a&q=SELECT+1&db=b&blank=")
    assert req._arguments is None and req.path == "/query" and req.query == "db=a&q=SELECT+1&db=b&blank="
    assert req.uri == "/query?db=a&q=SELECT+1&db=b&blank="
    assert req.arguments == {"db": [b"a", b"b"], "q": [b"SELECT 1"], "blank": [b""]}
    assert req.query_arguments == req.arguments and req.query_arguments is not req.arguments


def test_too_many_query_fields_are_a_400_when_read():
    req = request("/query?" + "&".join(f"f{i}=1" for i in range(MAX_QUERY_FIELDS + 1)))
    with pytest.raises(tornado.web.HTTPError) as info:
        req.arguments
    assert info.value.status_code == 400


def test_a_handler_reading_tornados_query_arguments_still_gets_them(tmp_path):
    class Echo(tornado.web.RequestHandler):
        def get(self):
            self.finish({"db": self.get_query_argument("db"), "all": self.get_arguments("x")})

    engine = Engine(str(tmp_path / "data"), node_id="n", background=False)
    try:
        app = make_app(engine, auth=AuthSettings(enabled=False))
        app.wildcard_router.add_rules([("/echo$", Echo)])
        with serving(app) as base:
            r = requests.get(f"{base}/echo?db=one&x=1&x=2", timeout=10)
            assert r.json() == {"db": "one", "all": ["1", "2"]}
            assert requests.get(f"{base}/ping", timeout=10).status_code == 200
    finally:
        engine.close()
