"""The magics in a real kernel: a notebook run by nbclient (outputs as a frontend receives them),
and Ctrl-C (a kernel interrupt) during a long query."""

from __future__ import annotations

import time

import nbformat
import pytest
from nbclient import NotebookClient

KERNEL_TIMEOUT = 120


def _notebook(*cells: str):
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(c) for c in cells]
    return nb


def _text(output) -> str:
    if output.output_type == "stream":
        return output.text
    if output.output_type == "error":
        return "\n".join(output.traceback)
    return output.get("data", {}).get("text/plain", "")


def test_notebook_in_a_kernel(data_dir, tmp_path):
    nb = _notebook(
        "%load_ext jupyter_influx3",
        "%%lp -d kdemo --precision s\ncpu,host=a usage=0.5 1700000000\ncpu,host=b usage=0.7 1700000001\n"
        "cpu,host=c usage=bad 1700000002",
        "%config Influx3Magics.displaylimit = 1\nhost = 'b'",
        "%%sql -d kdemo\nSELECT host, usage FROM cpu WHERE host = $host",
        "%%sql -d kdemo -o df\nSELECT * FROM cpu ORDER BY host",
        "print(type(df).__name__, len(df))",
        "%%sql -d kdemo\nSELECT missing_column FROM cpu",
        "import jupyter_influx3\nc = jupyter_influx3.connect(database='kdemo')\nprint(c.sql('SELECT count(*) AS n FROM cpu')['n'][0])",
    )
    NotebookClient(nb, timeout=KERNEL_TIMEOUT, kernel_name="python3", allow_errors=True,
                   resources={"metadata": {"path": str(tmp_path)}}).execute()
    outs = [c.outputs for c in nb.cells]
    assert "2 lines written to kdemo, 1 line rejected" in _text(outs[1][0])
    assert "<table" in outs[1][0]["data"]["text/html"]
    assert "(1 row)" in _text(outs[3][0]) and "0.7" in _text(outs[3][0])
    assert "showing 1 of 2 rows" in _text(outs[4][0])
    assert "showing 1 of 2 rows" in outs[4][0]["data"]["text/html"]
    assert _text(outs[5][0]).strip() == "DataFrame 2"
    err = outs[6][0]
    assert err.output_type == "error" and err.ename == "MagicError"
    assert len(err.traceback) == 1 and "missing_column" in err.traceback[0]
    assert _text(outs[7][0]).strip() == "2"


def test_ctrl_c_interrupts_a_running_query(data_dir):
    from jupyter_client.manager import start_new_kernel

    km, kc = start_new_kernel(kernel_name="python3", startup_timeout=KERNEL_TIMEOUT)
    try:
        setup = ("%load_ext jupyter_influx3\n"
                 "import jupyter_influx3\n"
                 "c = jupyter_influx3.connect(database='slow')\n"
                 "c.write('\\n'.join(f'cpu,host=h{i} v={i} {1700000000 + i}' for i in range(3000)), precision='s')")
        reply = kc.execute_interactive(setup, timeout=KERNEL_TIMEOUT)
        assert reply["content"]["status"] == "ok"
        outputs = []
        kc.execute("%%sql -d slow\nSELECT count(*) AS n FROM cpu a, cpu b, cpu c WHERE a.v + b.v + c.v = 7")
        time.sleep(2.0)  # the query is running
        started = time.monotonic()
        km.interrupt_kernel()
        while True:
            msg = kc.get_iopub_msg(timeout=30)
            if msg["msg_type"] == "error":
                outputs.append(msg["content"])
            if msg["msg_type"] == "status" and msg["content"]["execution_state"] == "idle":
                break
        assert time.monotonic() - started < 10
        assert outputs and outputs[0]["ename"] == "MagicError"
        assert outputs[0]["traceback"] == [outputs[0]["traceback"][0]] and "query interrupted" in outputs[0]["traceback"][0]
        # the kernel still answers
        reply = kc.execute_interactive("%%sql -d slow\nSELECT count(*) AS n FROM cpu", timeout=KERNEL_TIMEOUT)
        assert reply["content"]["status"] == "ok"
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)


def test_completion_in_a_kernel(data_dir):
    from jupyter_client.manager import start_new_kernel

    km, kc = start_new_kernel(kernel_name="python3", startup_timeout=KERNEL_TIMEOUT)
    try:
        reply = kc.execute_interactive("%load_ext jupyter_influx3\n%lp -d comp cpu,host=a usage=1 1\n"
                                       "%lp -d comp mem,host=a free=2 1", timeout=KERNEL_TIMEOUT)
        assert reply["content"]["status"] == "ok"
        code = "%%sql -d comp\nSELECT * FROM c"
        reply = kc.complete(code, len(code), reply=True, timeout=60)
        assert reply["content"]["matches"] == ["cpu"]
        code = "%%sql -d comp\nSELECT fr FROM mem"
        reply = kc.complete(code, len("%%sql -d comp\nSELECT fr"), reply=True, timeout=60)
        assert reply["content"]["matches"] == ["free"]
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)
