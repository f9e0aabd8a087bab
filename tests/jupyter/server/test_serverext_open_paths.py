"""Influx3App `disable_authz` opens health/ping without a token; `serve_root_metrics` serves our
/metrics at the root (Jupyter's own lives under its base URL)."""

from __future__ import annotations

import pytest
from conftest import BASE_URL


@pytest.fixture
def jp_server_config(influx_data_dir):
    return {
        "ServerApp": {"jpserver_extensions": {"jupyter_influx3": True, "jupyter_server_terminals": False}},
        "Influx3App": {"data_dir": str(influx_data_dir), "disable_authz": "health,ping",
                       "serve_root_metrics": True},
    }


async def test_open_paths_and_root_metrics(http_server_client, jp_serverapp, admin_token):
    for path in (f"{BASE_URL}influx3/health", "/health", "/ping"):
        r = await http_server_client.fetch(path, raise_error=False)
        assert r.code == 200, path
    r = await http_server_client.fetch(f"{BASE_URL}influx3/api/v3/configure/database?format=json", raise_error=False)
    assert r.code == 401
    r = await http_server_client.fetch("/metrics", raise_error=False)
    assert r.code == 401
    r = await http_server_client.fetch("/metrics", headers={"Authorization": f"Bearer {admin_token}"})
    assert r.code == 200 and b"http_requests_total" in r.body
