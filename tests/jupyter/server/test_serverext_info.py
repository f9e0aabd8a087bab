"""`GET {base_url}influx3/jupyter/info`: what the side panel's connection header shows, behind
Jupyter's own authentication only."""

from __future__ import annotations

import json

from jupyter_influx3 import __version__


async def test_info_names_version_node_data_dir_and_health(jp_fetch, influx_data_dir):
    r = await jp_fetch("influx3", "jupyter", "info")
    body = json.loads(r.body)
    assert body["version"] == __version__
    assert body["node_id"] == "test-server"
    assert body["data_dir"] == str(influx_data_dir.absolute())
    assert body["health"] == "pass"
    assert body["processing_engine"] is False
    assert r.headers["Cache-Control"] == "no-store"


async def test_info_needs_jupyters_login(http_server_client, jp_http_port, jp_base_url):
    r = await http_server_client.fetch(f"{jp_base_url}influx3/jupyter/info", raise_error=False,
                                       follow_redirects=False, headers={"Authorization": "token wrong"})
    assert r.code == 403

