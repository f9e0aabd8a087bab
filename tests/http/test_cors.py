"""Browsers and the standalone server (issue 10): `influx3 serve --cors-origins`.

By default no web page may use the API from a browser: a request carrying an ``Origin`` header
is refused with a 403 before it acts (a ``text/plain`` POST needs no preflight, so merely hiding
the answer would not stop a write or the operator-token bootstrap), and no answer says
``Access-Control-Allow-Origin: *``.  Origins on the allow-list get their own origin back, on
successes and on preflights; ``*`` restores the real server's headers for everyone.
"""

from __future__ import annotations

import pytest
import requests

from http_helpers import bearer

EVIL = "http://evil.example"
APP = "http://localhost:3000"


@pytest.fixture(scope="module")
def closed(start_influx3_session):
    """Auth on, no --cors-origins (the default)."""
    return start_influx3_session(auth=True)


@pytest.fixture(scope="module")
def open_without_auth(start_influx3_session):
    """The most exposed standalone setup: --without-auth, and still no origin allowed."""
    return start_influx3_session()


@pytest.fixture(scope="module")
def allowing(start_influx3_session):
    return start_influx3_session("--cors-origins", f"{APP}, https://Grafana.Example", auth=True)


@pytest.fixture(scope="module")
def anyone(start_influx3_session):
    return start_influx3_session("--cors-origins", "*")


def simple_post(url: str, path: str, body: str = "", origin: str = EVIL) -> requests.Response:
    """A request a web page sends without a preflight (a form or fetch with text/plain)."""
    return requests.post(url + path, data=body, headers={"Origin": origin, "Content-Type": "text/plain"}, timeout=30)


def test_a_web_page_cannot_mint_the_operator_token(closed):
    r = simple_post(closed.url, "/api/v3/configure/token/admin", "{}")
    assert r.status_code == 403
    assert r.json()["error"].startswith("cross-origin request from http://evil.example refused")
    assert "Access-Control-Allow-Origin" not in r.headers
    # ... so the token is still there for its owner, who talks to the server without a browser
    r = requests.post(f"{closed.url}/api/v3/configure/token/admin", timeout=30)
    assert r.status_code == 201
    token = r.json()["token"]
    r = requests.get(f"{closed.url}/ping", headers={**bearer(token), "Origin": EVIL}, timeout=30)
    assert r.status_code == 403  # a page that somehow has the token is still not an allowed origin
    r = requests.get(f"{closed.url}/ping", headers=bearer(token), timeout=30)
    assert r.status_code == 200 and "Access-Control-Allow-Origin" not in r.headers


def test_a_web_page_cannot_write_to_a_server_without_auth(open_without_auth):
    url = open_without_auth.url
    r = simple_post(url, "/api/v3/write_lp?db=pwned", "m v=1 1")
    assert r.status_code == 403
    r = simple_post(url, "/write?db=pwned", "m v=1 1", origin="null")  # sandboxed iframes send "null"
    assert r.status_code == 403
    r = requests.get(f"{url}/api/v3/configure/database", params={"format": "json"}, timeout=30)
    assert "pwned" not in r.text
    r = requests.get(f"{url}/api/v3/query_sql", params={"db": "x", "q": "select 1"}, headers={"Origin": EVIL},
                     timeout=30)
    assert r.status_code == 403 and "Access-Control-Allow-Origin" not in r.headers


def test_preflights_from_other_origins_get_no_cors_headers(closed):
    r = requests.options(f"{closed.url}/api/v3/query_sql", timeout=30,
                         headers={"Origin": EVIL, "Access-Control-Request-Method": "POST",
                                  "Access-Control-Request-Headers": "authorization, content-type"})
    assert r.status_code == 403
    assert not [h for h in r.headers if h.lower().startswith("access-control-")]
    r = requests.options(f"{closed.url}/api/v3/query_sql", timeout=30)  # not a browser: still 204
    assert r.status_code == 204 and "Access-Control-Allow-Origin" not in r.headers


def test_an_allowed_origin_gets_its_own_origin_back(allowing):
    url = allowing.url
    r = requests.options(f"{url}/api/v3/query_sql", timeout=30,
                         headers={"Origin": APP, "Access-Control-Request-Method": "POST",
                                  "Access-Control-Request-Headers": "authorization, content-type"})
    assert r.status_code == 204
    assert r.headers["Access-Control-Allow-Origin"] == APP and r.headers["Vary"] == "Origin"
    assert "Authorization" in r.headers["Access-Control-Allow-Headers"]  # "*" alone does not cover it
    assert "POST" in r.headers["Access-Control-Allow-Methods"]
    r = simple_post(url, "/api/v3/configure/token/admin", origin="https://grafana.example")  # case-insensitive
    assert r.status_code == 201 and r.headers["Access-Control-Allow-Origin"] == "https://grafana.example"
    token = r.json()["token"]
    r = requests.get(f"{url}/ping", headers={**bearer(token), "Origin": APP}, timeout=30)
    assert r.status_code == 200 and r.headers["Access-Control-Allow-Origin"] == APP
    assert "cluster-uuid" in r.headers["Access-Control-Expose-Headers"]
    r = requests.get(f"{url}/ping", headers={**bearer(token), "Origin": "http://localhost:3001"}, timeout=30)
    assert r.status_code == 403
    r = requests.get(f"{url}/ping", headers={"Origin": APP}, timeout=30)
    assert r.status_code == 401 and "Access-Control-Allow-Origin" not in r.headers  # errors: none (§0.2)


def test_a_wildcard_allow_list_is_the_real_servers_behaviour(anyone):
    r = simple_post(anyone.url, "/api/v3/write_lp?db=web", "m v=1 1")
    assert r.status_code == 204 and r.headers["Access-Control-Allow-Origin"] == "*"
    r = requests.options(f"{anyone.url}/nope", timeout=30)
    assert r.status_code == 204 and r.headers["Access-Control-Allow-Origin"] == "*"
    assert r.headers["Access-Control-Max-Age"] == "86400"


@pytest.mark.parametrize("value", ["evil.example", "http://a.example/path", "http://a.example, ftp//x"])
def test_a_bad_allow_list_stops_the_server_from_starting(value, start_influx3):
    with pytest.raises(RuntimeError, match="not an origin"):
        start_influx3("--cors-origins", value)


# ---- DNS rebinding: a page whose own name now resolves to 127.0.0.1 -----------------------------


def test_a_rebound_page_name_is_refused_on_a_loopback_server(open_without_auth):
    # Same-origin for the browser, so a GET carries no Origin; the Host header still names the page.
    url = open_without_auth.url
    r = requests.get(f"{url}/api/v3/query_sql", params={"db": "x", "q": "select 1"},
                     headers={"Host": "attacker.example:8181"}, timeout=30)
    assert r.status_code == 403
    assert r.json()["error"].startswith("Host 'attacker.example:8181' not allowed")
    for host in ("localhost:8181", "127.0.0.1", "[::1]:8181", "LOCALHOST"):
        r = requests.get(f"{url}/ping", headers={"Host": host}, timeout=30)
        assert r.status_code == 200, host
    # an HTTP/1.0 tool that sends no Host is not a browser
    import socket

    host, port = url.rsplit("/", 1)[1].split(":")
    with socket.create_connection((host, int(port)), timeout=30) as sock:
        sock.sendall(b"GET /ping HTTP/1.0\r\n\r\n")
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    assert answer.startswith(b"HTTP/1.0 200") or answer.startswith(b"HTTP/1.1 200"), answer[:100]


def test_allowed_hosts_names_a_reverse_proxys_host(start_influx3):
    srv = start_influx3("--allowed-hosts", "influx.example")
    assert requests.get(f"{srv.url}/ping", headers={"Host": "influx.example"}, timeout=30).status_code == 200
    assert requests.get(f"{srv.url}/ping", headers={"Host": "other.example"}, timeout=30).status_code == 403
    srv = start_influx3("--allowed-hosts", "*")
    assert requests.get(f"{srv.url}/ping", headers={"Host": "other.example"}, timeout=30).status_code == 200
