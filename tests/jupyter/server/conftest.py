"""pytest-jupyter fixtures for the server extension: a real Jupyter server (in the test's event
loop, on a loopback port) with `jupyter_influx3` enabled, under a base URL with characters that
must be escaped in URL patterns (`.`, `+`) and in URLs (`%40`)."""

from __future__ import annotations

import pytest
from pytest_jupyter.jupyter_server import *  # noqa: F401,F403 - the jp_* fixtures and their hooks

BASE_URL = "/a.b+c%40d/"


@pytest.fixture
def jp_base_url():
    return BASE_URL


@pytest.fixture
def influx_data_dir(tmp_path):
    return tmp_path / "influx3-data"


@pytest.fixture
def ext_config(request):
    """Extra Influx3App settings of a test (parametrize it indirectly)."""
    return getattr(request, "param", {})


@pytest.fixture
def jp_server_config(influx_data_dir, ext_config):
    return {
        "ServerApp": {
            "jpserver_extensions": {"jupyter_influx3": True, "jupyter_server_terminals": False},
            "allow_unauthenticated_access": False,
        },
        "Influx3App": {"data_dir": str(influx_data_dir), "node_id": "test-server", **ext_config},
    }


@pytest.fixture
def influx_app(jp_serverapp):
    """The running Influx3App."""
    for ext in jp_serverapp.extension_manager.extension_apps.get("jupyter_influx3", []):
        return ext
    raise AssertionError("jupyter_influx3 is not loaded")


@pytest.fixture
def admin_token(influx_app) -> str:
    from jupyter_influx3.engine import tokens as tokenlib

    return tokenlib.create_admin_token(influx_app.engine.catalog).token
