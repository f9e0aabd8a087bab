"""The processing engine on the Jupyter server's port (Influx3App.plugin_dir): a request trigger
that calls the server back over loopback at the root path is answered (no deadlock on the
notebook server's IOLoop), and a WAL trigger runs in the server for writes made through it."""

from __future__ import annotations

import asyncio
import json

import pytest
from conftest import BASE_URL


@pytest.fixture
def plugin_dir(tmp_path):
    d = tmp_path / "plugins"
    d.mkdir()
    (d / "notify.py").write_text(
        "def process_request(influxdb3_local, query_parameters, request_headers, request_body, args=None):\n"
        "    return {'results': {'slack': True}, 'got': request_body.decode()}\n")
    (d / "caller.py").write_text(
        "import requests\n"
        "def process_request(influxdb3_local, query_parameters, request_headers, request_body, args=None):\n"
        "    r = requests.post(args['url'] + '/api/v3/engine/notify', data=b'alert', timeout=10)\n"
        "    return {'inner': r.json()['results'], 'got': r.json()['got']}\n")
    (d / "derive.py").write_text(
        "def process_writes(influxdb3_local, table_batches, args=None):\n"
        "    for b in table_batches:\n"
        "        if b['table_name'] == 'cpu':\n"
        "            influxdb3_local.write(LineBuilder('seen').int64_field('rows', len(b['rows'])))\n")
    return d


@pytest.fixture
def jp_server_config(influx_data_dir, plugin_dir):
    return {
        "ServerApp": {"jpserver_extensions": {"jupyter_influx3": True, "jupyter_server_terminals": False}},
        "Influx3App": {"data_dir": str(influx_data_dir), "without_auth": True, "plugin_dir": str(plugin_dir)},
    }


async def _post(client, path, doc):
    return await client.fetch(f"{BASE_URL}influx3{path}", method="POST", body=json.dumps(doc),
                              headers={"Content-Type": "application/json"}, raise_error=False)


def _trigger(name, filename, spec, args=None):
    return {"db": "pe", "plugin_filename": filename, "trigger_name": name, "trigger_specification": spec,
            "trigger_settings": {"run_async": False, "error_behavior": "log"}, "trigger_arguments": args,
            "disabled": False}


async def test_loopback_call_from_a_plugin_on_the_jupyter_port_is_answered(http_server_client, jp_http_port,
                                                                          influx_app):
    assert influx_app.engine.plugins is not None
    r = await http_server_client.fetch(f"{BASE_URL}influx3/api/v3/write_lp?db=pe", method="POST", body="x v=1",
                                       raise_error=False)
    assert r.code == 204
    for doc in (_trigger("notify", "notify.py", "request:notify"),
                _trigger("caller", "caller.py", "request:caller", {"url": f"http://127.0.0.1:{jp_http_port}"})):
        r = await _post(http_server_client, "/api/v3/configure/processing_engine_trigger", doc)
        assert r.code == 200, r.body
    r = await http_server_client.fetch("/api/v3/engine/caller", raise_error=False, request_timeout=30)
    assert r.code == 200, r.body
    assert json.loads(r.body) == {"inner": {"slack": True}, "got": "alert"}


async def test_a_wal_trigger_runs_in_the_jupyter_server(http_server_client, influx_app):
    await http_server_client.fetch(f"{BASE_URL}influx3/api/v3/write_lp?db=pe", method="POST", body="x v=1")
    r = await _post(http_server_client, "/api/v3/configure/processing_engine_trigger",
                    _trigger("derive", "derive.py", "table:cpu"))
    assert r.code == 200, r.body
    await http_server_client.fetch(f"{BASE_URL}influx3/api/v3/write_lp?db=pe", method="POST",
                                   body="cpu v=1 1\ncpu v=2 2")
    for _ in range(100):
        try:
            rows = influx_app.engine.sql("pe", "SELECT rows FROM seen").to_pylist()
        except Exception:  # noqa: BLE001 - not written yet
            rows = []
        if rows:
            break
        await asyncio.sleep(0.1)
    assert rows == [{"rows": 2}]
