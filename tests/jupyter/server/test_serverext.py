"""The server extension in a real Jupyter server (pytest-jupyter): the three mounts, InfluxDB token
auth that Jupyter leaves alone, Jupyter's auth on its own mount, the real client libraries at the
prefixed and the root URLs, tokens kept out of the logs, and a clean auth audit."""

from __future__ import annotations

import asyncio
import json
import logging
import warnings
from urllib.parse import urlencode

import pytest
from conftest import BASE_URL
from tornado.httpclient import HTTPClientError

from jupyter_influx3.jupyter.client import HttpClient


def _path(path: str, **query) -> str:
    """A path (and query) on the test server, for `http_server_client.fetch`."""
    return path + ("?" + urlencode(query) if query else "")


async def _fetch(http_server_client, url: str, **kwargs):
    """A request with exactly the headers given (no Jupyter token added), any status."""
    try:
        return await http_server_client.fetch(url, raise_error=False, follow_redirects=False, **kwargs)
    except HTTPClientError as exc:  # pragma: no cover - raise_error=False
        return exc.response


def test_auth_audit_has_nothing_to_warn_about(jp_configurable_serverapp, jp_server_config):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        app = jp_configurable_serverapp(config=jp_server_config)
    from jupyter_server.utils import JupyterServerAuthWarning

    audit = [str(w.message) for w in caught if issubclass(w.category, JupyterServerAuthWarning)]
    assert audit == []
    assert "jupyter_influx3" in app.extension_manager.extension_apps


async def test_jupyter_authenticated_surface(jp_fetch, http_server_client, jp_http_port):
    r = await jp_fetch("influx3", "jupyter", "ping")
    assert r.code == 200 and json.loads(r.body)["product_name"] == "jupyter-influx3"
    r = await jp_fetch("influx3", "jupyter", "api", "v3", "write_lp", method="POST",
                       params={"db": "jdb", "precision": "s"}, body="m,t=a v=1 1700000000")
    assert r.code == 204
    r = await jp_fetch("influx3", "jupyter", "api", "v3", "query_sql", params={"db": "jdb", "q": "SELECT t, v FROM m"})
    assert json.loads(r.body) == [{"t": "a", "v": 1.0}]
    # without Jupyter's credentials: refused, whatever InfluxDB token is shown
    r = await _fetch(http_server_client, _path(f"{BASE_URL}influx3/jupyter/ping"))
    assert r.code == 403
    r = await _fetch(http_server_client, _path(f"{BASE_URL}influx3/jupyter/api/v3/write_lp", db="x"),
                     method="POST", body="m v=1")
    assert r.code == 403


@pytest.mark.parametrize("prefix", [f"{BASE_URL}influx3", ""], ids=["base_url", "root"])
async def test_influx_surface_needs_an_influx_token(prefix, http_server_client, jp_http_port, admin_token,
                                                   jp_serverapp):
    ping = _path(f"{prefix}/ping")
    assert (await _fetch(http_server_client, ping)).code == 401
    r = await _fetch(http_server_client, _path(f"{prefix}/api/v3/query_sql", db="x", q="SELECT 1"))
    assert r.code == 401 and json.loads(r.body) == {"error": "the request was not authenticated"}
    # Jupyter's own token means nothing here (and Jupyter does not get to parse the header)
    jtok = jp_serverapp.identity_provider.token
    r = await _fetch(http_server_client, ping, headers={"Authorization": f"Bearer {jtok}"})
    assert r.code == 401
    r = await _fetch(http_server_client, ping, headers={"Authorization": f"Bearer {admin_token}"})
    assert r.code == 200 and r.headers["X-Influxdb-Build"] == "Enterprise"
    # a POST with a token needs no XSRF token
    r = await _fetch(http_server_client, _path(f"{prefix}/api/v3/write_lp", db="tokdb"), method="POST",
                     body="m v=1 1", headers={"Authorization": f"Token {admin_token}"})
    assert r.code == 204
    r = await _fetch(http_server_client, _path(f"{prefix}/api/v3/nope"),
                     headers={"Authorization": f"Bearer {admin_token}"})
    assert r.code == 404 and r.body == b"Not found"


async def test_host_header_is_checked(http_server_client, jp_http_port, admin_token):
    r = await _fetch(http_server_client, _path(f"{BASE_URL}influx3/ping"),
                     headers={"Authorization": f"Bearer {admin_token}", "Host": "attacker.example.com"})
    assert r.code == 403


async def test_p_tokens_never_reach_the_log(http_server_client, jp_http_port, admin_token, caplog):
    caplog.set_level(logging.DEBUG)
    for path in ("/write", f"{BASE_URL}influx3/write", "/write/", f"{BASE_URL}influx3/write/x"):
        await _fetch(http_server_client, _path(path, db="logdb", p=admin_token), method="POST",
                     body="m v=1 1")
    await _fetch(http_server_client, _path("/write", db="logdb", p="apiv3_not_a_real_token"),
                 method="POST", body="m v=1 1")
    assert admin_token not in caplog.text and "apiv3_not_a_real_token" not in caplog.text
    assert "p=REDACTED" in caplog.text


async def _in_thread(fn):
    return await asyncio.get_running_loop().run_in_executor(None, fn)


@pytest.mark.parametrize("prefix", [f"{BASE_URL}influx3", ""], ids=["base_url", "root"])
async def test_real_clients(prefix, http_server_client, jp_http_port, admin_token):
    from influxdb import InfluxDBClient
    from influxdb_client import InfluxDBClient as V2Client
    from influxdb_client.client.write_api import SYNCHRONOUS

    base = f"http://127.0.0.1:{jp_http_port}{prefix}"
    db = "clients_" + ("base" if prefix else "root")

    def v1_write():
        client = InfluxDBClient(host="127.0.0.1", port=jp_http_port, username="me", password=admin_token,
                                database=db, path=prefix or "")
        try:  # (no client.ping(): it wants InfluxDB 1.x's 204, InfluxDB 3 answers 200 with JSON)
            client.write_points([{"measurement": "v1", "tags": {"host": "a"}, "fields": {"x": 1.5},
                                  "time": 1700000000}], time_precision="s")
        finally:
            client.close()

    def v2_write():
        with V2Client(url=base, token=admin_token, org="ignored") as client:
            client.write_api(write_options=SYNCHRONOUS).write(bucket=db, record="v2,host=b y=2i 1700000000",
                                                              write_precision="s")

    def read():
        c = HttpClient(base, admin_token, db)
        return (c.sql("SELECT host, x FROM v1").to_dict("records"), c.sql("SELECT host, y FROM v2").to_dict("records"))

    await _in_thread(v1_write)
    await _in_thread(v2_write)
    v1_rows, v2_rows = await _in_thread(read)
    assert v1_rows == [{"host": "a", "x": 1.5}]
    assert v2_rows == [{"host": "b", "y": 2}]


async def test_the_python_client_over_the_notebook_port(http_server_client, jp_http_port, admin_token):
    def work():
        c = HttpClient(f"http://127.0.0.1:{jp_http_port}{BASE_URL}influx3", admin_token, "pyc")
        c.create_database("pyc")
        c.write("m,t=a v=1 1\nm,t=b v=oops 2")
        return c.databases(), c.tables(), c.columns("m")["column"].tolist(), c.sql("SELECT count(*) AS n FROM m")

    dbs, tables, cols, count = await _in_thread(work)
    assert "pyc" in dbs and tables == ["m"] and cols == ["t", "v", "time"] and count["n"][0] == 1


async def test_metrics_stay_with_jupyter_at_the_root(http_server_client, jp_http_port, admin_token, jp_fetch):
    r = await _fetch(http_server_client, _path("/metrics"),
                     headers={"Authorization": f"Bearer {admin_token}"})
    assert b"influxdb3_" not in (r.body or b"")
    r = await _fetch(http_server_client, _path(f"{BASE_URL}influx3/metrics"),
                     headers={"Authorization": f"Bearer {admin_token}"})
    assert r.code == 200 and b"http_requests_total" in r.body
