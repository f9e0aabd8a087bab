"""Influx3App settings: `without_auth`, `serve_root_paths` off, `max_request_bytes`; gzip bodies."""

from __future__ import annotations

import gzip

import pytest
from conftest import BASE_URL


async def _get(http_server_client, path: str):
    return await http_server_client.fetch(path, raise_error=False, follow_redirects=False)


@pytest.fixture
def jp_server_config(influx_data_dir):
    return {
        "ServerApp": {"jpserver_extensions": {"jupyter_influx3": True, "jupyter_server_terminals": False}},
        "Influx3App": {"data_dir": str(influx_data_dir), "without_auth": True, "serve_root_paths": False,
                       "max_request_bytes": 4096},
    }


async def test_without_auth_and_no_root_paths(http_server_client, jp_serverapp):
    r = await _get(http_server_client, f"{BASE_URL}influx3/ping")
    assert r.code == 200  # no token needed
    r = await http_server_client.fetch(f"{BASE_URL}influx3/api/v3/write_lp?db=open", method="POST", body="m v=1 1",
                                       raise_error=False)
    assert r.code == 204
    r = await _get(http_server_client, f"{BASE_URL}influx3/api/v3/configure/token/admin")
    assert r.code == 405  # token endpoints are disabled without auth
    r = await _get(http_server_client, "/ping")
    assert r.code == 404 and r.body != b"Not found"  # Jupyter's own 404: nothing of ours at the root


async def test_gzip_bodies_and_the_size_limit(http_server_client, jp_serverapp):
    body = gzip.compress(b"m,t=z v=7 1")
    r = await http_server_client.fetch(f"{BASE_URL}influx3/api/v3/write_lp?db=gz", method="POST", body=body,
                                       headers={"Content-Encoding": "gzip"}, raise_error=False)
    assert r.code == 204
    r = await http_server_client.fetch(f"{BASE_URL}influx3/api/v3/query_sql?db=gz&q=SELECT%20v%20FROM%20m",
                                       raise_error=False)
    assert r.body == b'[{"v":7.0}]'
    big = b"\n".join(b"m v=%d %d" % (i, i) for i in range(2000))
    r = await http_server_client.fetch(f"{BASE_URL}influx3/api/v3/write_lp?db=gz", method="POST", body=big,
                                       raise_error=False)
    assert r.code == 413 and b"max request size (4096 bytes) exceeded" in r.body
