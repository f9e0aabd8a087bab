"""Remote servers of the side panel (`jupyter/remotes.py`): added through Jupyter's login, kept in a
0600 file, listed without their token, and reached only through the proxy, only for API paths."""

from __future__ import annotations

import json
import stat
from urllib.parse import urlencode

import pytest
import requests


@pytest.fixture
def remotes_file(tmp_path):
    return tmp_path / "remotes.json"


@pytest.fixture
def jp_server_config(influx_data_dir, remotes_file):
    return {
        "ServerApp": {"jpserver_extensions": {"jupyter_influx3": True, "jupyter_server_terminals": False}},
        "Influx3App": {"data_dir": str(influx_data_dir), "node_id": "test-server", "remotes_file": str(remotes_file)},
    }


@pytest.fixture
def remote(start_influx3):
    """A real `influx3 serve` with authentication on, its admin token, and a row only it holds."""
    server = start_influx3(auth=True)
    token = requests.post(server.url + "/api/v3/configure/token/admin", timeout=30).json()["token"]
    r = requests.post(server.url + "/api/v3/write_lp?db=far&precision=s", data="cpu,host=r usage=7 1700000000",
                      headers={"Authorization": f"Bearer {token}"}, timeout=30)
    assert r.status_code == 204
    return server, token


async def call(http_server_client, jp_serverapp, jp_base_url, method, path, body=None):
    token = jp_serverapp.identity_provider.token
    return await http_server_client.fetch(f"{jp_base_url}influx3/jupyter/{path}", method=method, raise_error=False,
                                          body=None if body is None else json.dumps(body),
                                          headers={"Authorization": f"token {token}",
                                                   "Content-Type": "application/json"})


async def test_a_remote_is_kept_0600_listed_without_token_and_queried_through_the_proxy(
        http_server_client, jp_serverapp, jp_base_url, remote, remotes_file):
    server, token = remote
    args = (http_server_client, jp_serverapp, jp_base_url)
    r = await call(*args, "POST", "remotes", {"name": "far", "url": server.url + "/", "token": token})
    assert r.code == 200 and token not in r.body.decode()
    assert stat.S_IMODE(remotes_file.stat().st_mode) == 0o600
    assert json.loads(remotes_file.read_text())["far"]["token"] == token
    listed = await call(*args, "GET", "remotes")
    assert json.loads(listed.body) == {"remotes": [{"name": "far", "url": server.url}]}
    q = urlencode({"db": "far", "q": "SELECT host, usage FROM cpu", "format": "json"})
    r = await call(*args, "GET", f"remote/far/api/v3/query_sql?{q}")
    assert r.code == 200 and json.loads(r.body) == [{"host": "r", "usage": 7.0}]
    r = await call(*args, "POST", "remote/far/api/v3/query_sql", {"db": "far", "q": "SELECT count(*) AS n FROM cpu"})
    assert json.loads(r.body) == [{"n": 1}]
    # the remote's own error comes back as it is
    r = await call(*args, "POST", "remote/far/api/v3/query_sql", {"db": "far", "q": "SELECT * FROM nope"})
    assert r.code == 400 and "nope" in r.body.decode()
    r = await call(*args, "DELETE", "remotes?name=far")
    assert r.code == 204 and json.loads(remotes_file.read_text()) == {}
    assert (await call(*args, "GET", "remote/far/ping")).code == 404


@pytest.mark.parametrize("body", [
    {"name": "x", "url": "ftp://h/", "token": "t"},
    {"name": "x", "url": "http://user:pw@h/", "token": "t"},
    {"name": "x", "url": "http://h/?a=1", "token": "t"},
    {"name": "../x", "url": "http://h/", "token": "t"},
    {"name": "x", "url": "http://h/", "token": ""},
    {"name": "x", "url": "http://h/", "token": "a\nb"},
    {"name": "x", "url": 5, "token": "t"},
])
async def test_bad_remotes_are_refused(http_server_client, jp_serverapp, jp_base_url, body, remotes_file):
    r = await call(http_server_client, jp_serverapp, jp_base_url, "POST", "remotes", body)
    assert r.code == 400 and json.loads(r.body)["error"].startswith("invalid remote")
    assert not remotes_file.exists()


async def test_the_proxy_forwards_only_the_api(http_server_client, jp_serverapp, jp_base_url, remote):
    server, token = remote
    args = (http_server_client, jp_serverapp, jp_base_url)
    assert (await call(*args, "POST", "remotes", {"name": "far", "url": server.url, "token": token})).code == 200
    for path in ("metrics", "api/v3/../../etc/passwd", "lab", "api/v3/./x/../../y", "", "api/v3%2F..%2F..%2Fmetrics"):
        r = await call(*args, "GET", f"remote/far/{path}")
        assert r.code in (403, 404), path
        assert token not in r.body.decode()
    assert (await call(*args, "GET", "remote/far/ping")).code == 200


async def test_remotes_need_jupyters_login(http_server_client, jp_base_url):
    r = await http_server_client.fetch(f"{jp_base_url}influx3/jupyter/remotes", raise_error=False,
                                       headers={"Authorization": "token wrong"})
    assert r.code == 403
