"""`GET {base_url}influx3/jupyter/plugin_files`: the plugins the side panel lists and the source it
builds a trigger form from, never a file outside the plugin directory."""

from __future__ import annotations

import json
from urllib.parse import urlencode

import pytest


PLUGIN = '''"""
{"plugin_type": ["onwrite"], "onwrite_args_config": [{"name": "threshold", "example": "5", "description": "d", "required": true}]}
"""
def process_writes(influxdb3_local, table_batches, args=None):
    pass
'''


@pytest.fixture
def plugin_dir(tmp_path):
    d = tmp_path / "plugins"
    d.mkdir()
    (d / "alert.py").write_text(PLUGIN)
    (d / "pkg").mkdir()
    (d / "pkg" / "__init__.py").write_text("def process_writes(a, b, args=None): pass\n")
    (d / "notes.txt").write_text("not a plugin")
    (tmp_path / "secret.py").write_text("SECRET = 1\n")
    return d


@pytest.fixture
def jp_server_config(influx_data_dir, plugin_dir):
    return {
        "ServerApp": {"jpserver_extensions": {"jupyter_influx3": True, "jupyter_server_terminals": False}},
        "Influx3App": {"data_dir": str(influx_data_dir), "node_id": "test-server", "plugin_dir": str(plugin_dir),
                       "package_manager": "disabled"},
    }


async def test_plugin_files_lists_plugins_and_reads_one(jp_fetch, plugin_dir):
    info = json.loads((await jp_fetch("influx3", "jupyter", "info")).body)
    assert info["processing_engine"] is True and info["plugin_dir"] == str(plugin_dir.absolute())
    listed = json.loads((await jp_fetch("influx3", "jupyter", "plugin_files")).body)
    assert listed == {"plugins": [{"name": "alert.py", "dir": False}, {"name": "pkg", "dir": True}]}
    one = json.loads((await jp_fetch("influx3", "jupyter", "plugin_files", params={"name": "alert.py"})).body)
    assert one["source"] == PLUGIN


@pytest.mark.parametrize("name,status", [("../secret.py", 400), ("/etc/passwd", 400), ("missing.py", 404)])
async def test_plugin_files_refuses_paths_outside_the_plugin_directory(http_server_client, jp_serverapp, jp_base_url,
                                                                       name, status):
    token = jp_serverapp.identity_provider.token
    r = await http_server_client.fetch(f"{jp_base_url}influx3/jupyter/plugin_files?{urlencode({'name': name})}",
                                       raise_error=False, headers={"Authorization": f"token {token}"})
    assert r.code == status
    assert "SECRET" not in r.body.decode() and "root:" not in r.body.decode()
