"""Tokens in URLs never reach a log line (issue 10).

The v1 endpoints take the token from ``p=`` in the query string, and the server decodes the keys
before reading them: ``%70=<token>`` is accepted as ``p=<token>``.  So redaction must go by the
decoded key too.  Each case sends the token the way an attacker (or a careless client) would, checks
that the server did accept it (the request worked), and reads tornado's access log and the
error log of a real server in this process."""

from __future__ import annotations

import http.client
import json
import logging
import time
from urllib.parse import urlparse

import pytest

from http_helpers import serving

from jupyter_influx3.engine import Engine
from jupyter_influx3.engine import tokens as tokenlib
from jupyter_influx3.http.auth import AuthSettings
from jupyter_influx3.http.routes import make_app


@pytest.fixture
def served(tmp_path):
    engine = Engine(str(tmp_path / "data"), node_id="n")
    token = tokenlib.create_admin_token(engine.catalog).token
    try:
        with serving(make_app(engine, auth=AuthSettings())) as base:
            yield base, token
    finally:
        engine.close()


class ServerLog:
    """What the server's loggers (tornado.access, tornado.application, ours) wrote."""

    def __init__(self, caplog):
        self.caplog = caplog

    @property
    def text(self) -> str:
        # tornado writes a request's access line after its answer is on the way: read once the
        # records have stopped coming for a moment
        n, deadline = -1, time.monotonic() + 2
        while len(self.caplog.records) != n and time.monotonic() < deadline:
            n = len(self.caplog.records)
            time.sleep(0.05)
        return "\n".join(r.getMessage() for r in self.caplog.records
                         if r.name.startswith(("tornado", "jupyter_influx3")))


@pytest.fixture
def access_log(caplog):
    caplog.set_level(logging.DEBUG)  # every access line (tornado logs 2xx at INFO)
    for name in ("tornado.access", "tornado.application", "tornado.general"):
        caplog.set_level(logging.DEBUG, logger=name)  # whatever level an earlier test left on them
    return ServerLog(caplog)


def raw(base: str, method: str, target: str, body: bytes = b""):
    """A request with the target exactly as written (requests would turn %70 back into p)."""
    url = urlparse(base)
    conn = http.client.HTTPConnection(url.hostname, url.port, timeout=30)
    try:
        conn.request(method, target, body=body or None)
        r = conn.getresponse()
        return r.status, r.read()
    finally:
        conn.close()


@pytest.mark.parametrize("key", ["p", "%70"], ids=["p", "percent_encoded"])
def test_accepted_p_tokens_are_redacted_whatever_the_spelling(served, access_log, key):
    base, token = served
    status, body = raw(base, "POST", f"/write?db=logs&{key}={token}", b"m v=1 1")
    assert status == 204, body  # the server took the token from this spelling
    status, body = raw(base, "GET", f"/query?db=logs&q=SELECT+v+FROM+m&{key}={token}")
    assert status == 200 and json.loads(body)["results"][0]["series"][0]["values"][0][1] == 1
    assert "/write?db=logs" in access_log.text  # the lines are there...
    assert token not in access_log.text  # ...without the token
    assert f"{key}=REDACTED" in access_log.text


@pytest.mark.parametrize("query", [
    "token={t}", "T%6Fken={t}", "%2570={t}", "password={t}", "db=x;p={t}", "db=x#&p={t}", "P+={t}",
])
def test_token_like_parameters_are_redacted_on_any_path(served, access_log, query):
    base, token = served
    for path in ("/query", "/api/v3/query_sql", "/nope"):
        raw(base, "GET", f"{path}?{query.format(t=token)}")
    assert "REDACTED" in access_log.text
    assert token not in access_log.text


def test_wrong_tokens_in_the_url_are_redacted_from_warnings(served, access_log):
    base, _ = served
    wrong = "apiv3_" + "w" * 86
    status, _ = raw(base, "POST", f"/write?db=logs&%70={wrong}", b"m v=1 1")
    assert status == 401
    assert "401" in access_log.text and wrong not in access_log.text
