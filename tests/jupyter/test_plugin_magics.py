"""Plugins from a notebook, in IPython's real InteractiveShell: `%%influx3_plugin` dry runs (WAL,
schedule, request; a traceback when the plugin fails) and `%influx3` trigger commands on the
kernel's engine, which records triggers for the server node to run (the kernel never runs them)."""

from __future__ import annotations

import time

import pytest
from jupyter_helpers import ok, run

from jupyter_influx3.jupyter.display import MagicError

PLUGIN = '''
def process_writes(influxdb3_local, table_batches, args=None):
    for b in table_batches:
        influxdb3_local.info("rows", len(b["rows"]), "factor", args["factor"])
        for row in b["rows"]:
            influxdb3_local.write(LineBuilder("scaled").float64_field("v", row["v"] * float(args["factor"])))
'''


@pytest.fixture
def plugins(ip, tmp_path):
    ok(ip, f"%config Influx3Magics.plugin_dir = '{tmp_path / 'plugins'}'")
    ok(ip, "%%lp -d demo\nm v=1 1")
    ok(ip, "%influx3 use demo")
    return tmp_path / "plugins"


def test_wal_plugin_cell_shows_logs_and_writes_without_applying_them(ip, plugins):
    run_ = ok(ip, '%%influx3_plugin scale --wal --lp "m v=2 5\\nm v=3 6" --args factor=10\n' + PLUGIN)
    assert run_.ok
    assert "INFO: rows 2 factor 10" in run_.result["log_lines"]
    assert run_.result["database_writes"] == {"demo": ["scaled v=20.0", "scaled v=30.0"]}
    assert (plugins / "scale.py").read_text() == PLUGIN
    assert "scaled" not in ok(ip, "%influx3 tables").items
    assert "scaled v=20.0" in run_._repr_html_()


def test_a_failing_plugin_cell_shows_its_traceback(ip, plugins):
    run_ = ok(ip, '%%influx3_plugin bad --wal --lp "m v=1 1"\n'
                  "def process_writes(influxdb3_local, table_batches, args=None):\n"
                  "    return table_batches[0]['rows'][0]['missing']\n")
    assert not run_.ok
    assert run_.result["errors"] == ["error executing plugin: KeyError: 'missing'"]
    assert "Traceback (most recent call last)" in run_.result["traceback"]
    assert "['missing']" in repr(run_)


def test_schedule_and_request_plugin_cells(ip, plugins):
    run_ = ok(ip, "%%influx3_plugin tick --schedule '*/2 * * * * *'\n"
                  "def process_scheduled_call(influxdb3_local, call_time, args=None):\n"
                  "    influxdb3_local.info('at', call_time.second % 2)\n")
    assert "INFO: at 0" in run_.result["log_lines"] and run_.result["trigger_time"].endswith("Z")
    run_ = ok(ip, "%%influx3_plugin hello --request --query name=ann\n"
                  "def process_request(influxdb3_local, query_parameters, request_headers, request_body, args=None):\n"
                  "    return {'hello': query_parameters['name']}\n")
    assert run_.result["response"]["status"] == 200
    assert run_.result["response"]["body"] == b'{"hello": "ann"}'


def test_trigger_commands_record_triggers_the_kernel_does_not_run(ip, plugins):
    ok(ip, '%%influx3_plugin scale --wal --lp "m v=2 5"\n' + PLUGIN)
    ok(ip, "%influx3 create trigger t1 --plugin scale.py --spec table:m --args factor=3")
    listed = ok(ip, "%influx3 triggers")
    assert listed["trigger_name"].tolist() == ["t1"]
    assert listed["trigger_specification"].tolist() == ['{"single_table_wal_write":{"table_name":"m"}}']
    ok(ip, "%%lp -d demo\nm v=5 9")
    assert "scaled" not in ok(ip, "%influx3 tables").items  # a kernel does not run triggers
    ok(ip, "%influx3 disable trigger t1")
    assert ok(ip, "%influx3 triggers")["disabled"].tolist() == [True]
    ok(ip, "%influx3 delete trigger t1")
    assert ok(ip, "%influx3 triggers").empty
    failed = run(ip, "%influx3 create trigger t2 --spec all_tables").error_in_exec
    assert isinstance(failed, MagicError) and "--plugin" in failed.message
    failed = run(ip, "%%influx3_plugin x --wal\n" + PLUGIN).error_in_exec
    assert isinstance(failed, MagicError) and "needs --lp" in failed.message


def test_the_python_client_has_the_same_trigger_calls(data_dir, tmp_path, monkeypatch):
    import jupyter_influx3

    monkeypatch.setenv("INFLUXDB3_PLUGIN_DIR", str(tmp_path / "plugins"))
    with jupyter_influx3.connect(data_dir=str(data_dir), database="pyc") as db:
        db.write("m v=1 1")
        run_ = db.test_plugin("scale", PLUGIN, lp="m v=4 4", arguments={"factor": "2"})
        assert run_.ok and run_.result["database_writes"] == {"pyc": ["scaled v=8.0"]}
        db.create_trigger("t", "scale.py", "all_tables", arguments={"factor": "2"}, error_behavior="Retry")
        assert db.triggers()["error_behavior"].tolist() == ["retry"]
        db.disable_trigger("t")
        db.delete_trigger("t")
        assert db.triggers().empty


def test_plugin_cells_and_trigger_commands_against_a_server_url(ip, start_influx3, tmp_path):
    pdir = tmp_path / "server-plugins"
    srv = start_influx3("--plugin-dir", str(pdir))
    ok(ip, f"%influx3 connect {srv.url} -d remote")
    ok(ip, "%%lp\nm v=1 1")
    run_ = ok(ip, '%%influx3_plugin scale --wal --lp "m v=2 5" --args factor=5\n' + PLUGIN)
    assert run_.ok and run_.result["database_writes"] == {"remote": ["scaled v=10.0"]}
    assert (pdir / "scale.py").read_text() == PLUGIN  # uploaded: that is how a notebook deploys
    ok(ip, "%influx3 create trigger t --plugin scale.py --spec table:m --args factor=5")
    ok(ip, "%%lp\nm v=3 9")
    for _ in range(100):  # the server runs it
        if "scaled" in ok(ip, "%influx3 tables").items:
            break
        time.sleep(0.1)
    assert "scaled" in ok(ip, "%influx3 tables").items
    assert ok(ip, "%influx3 triggers")["trigger_name"].tolist() == ["t"]
    assert len(ok(ip, "%influx3 logs t")) >= 2
