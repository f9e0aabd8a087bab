"""Two processes, one data directory: a kernel (its own engine node, opened by the magics) and the
Jupyter server extension, both on the default data directory (Jupyter's data dir/influx3). A write
through either is read by the other right after it is acknowledged."""

from __future__ import annotations

import json

import pytest
from jupyter_client.manager import AsyncKernelManager


@pytest.fixture
def jp_server_config():
    # No Influx3App.data_dir: the server and the kernel both find the default one.
    return {"ServerApp": {"jpserver_extensions": {"jupyter_influx3": True, "jupyter_server_terminals": False}}}


@pytest.fixture
def kernel(jp_environ, jp_asyncio_loop, monkeypatch):
    """A real kernel (its own process) with the test's Jupyter environment."""
    monkeypatch.delenv("INFLUX3_DATA_DIR", raising=False)
    km = AsyncKernelManager(kernel_name="python3")

    async def start():
        await km.start_kernel()
        kc = km.client()
        kc.start_channels()
        await kc.wait_for_ready(timeout=120)
        return kc

    kc = jp_asyncio_loop.run_until_complete(start())
    yield kc
    kc.stop_channels()
    jp_asyncio_loop.run_until_complete(km.shutdown_kernel(now=True))


async def _run(kc, code: str) -> tuple[str, list[dict]]:
    """Run `code`; returns (status, outputs as iopub message contents)."""
    outputs: list[dict] = []

    def hook(msg):
        if msg["msg_type"] in ("stream", "execute_result", "display_data", "error"):
            outputs.append({"type": msg["msg_type"], **msg["content"]})

    reply = await kc.execute_interactive(code, output_hook=hook, timeout=120)
    return reply["content"]["status"], outputs


def _plain(outputs: list[dict]) -> str:
    return "\n".join(o.get("text") or o.get("data", {}).get("text/plain", "") for o in outputs)


async def test_kernel_and_server_share_the_data_dir(kernel, jp_fetch, influx_app):
    status, out = await _run(kernel, "%load_ext jupyter_influx3\n%influx3 status")
    assert status == "ok", out
    assert str(influx_app.resolved_data_dir()) in _plain(out)
    assert influx_app.engine.node_id not in _plain(out)  # a node of its own

    # kernel -> server
    status, out = await _run(kernel, "%%lp -d shared\nfrom_kernel,src=k v=1 1700000000000000000")
    assert status == "ok" and "1 line written to shared" in _plain(out), out
    r = await jp_fetch("influx3", "jupyter", "api", "v3", "query_sql",
                       params={"db": "shared", "q": "SELECT src, v FROM from_kernel"})
    assert json.loads(r.body) == [{"src": "k", "v": 1.0}]

    # server -> kernel
    r = await jp_fetch("influx3", "jupyter", "api", "v3", "write_lp", method="POST",
                       params={"db": "shared"}, body="from_server,src=s v=2 1700000000000000000")
    assert r.code == 204
    status, out = await _run(kernel, "%%sql -d shared -o rows\nSELECT src, v FROM from_server")
    assert status == "ok", out
    status, out = await _run(kernel, "print(rows.to_dict('records'))")
    assert _plain(out).strip() == "[{'src': 's', 'v': 2.0}]"
