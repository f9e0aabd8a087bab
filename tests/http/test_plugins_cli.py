"""`influx3 create trigger | enable|disable|delete trigger | test wal_plugin | test schedule_plugin |
install package` against a real server, with the official `influxdb3` CLI's flags."""

from __future__ import annotations

import json

import pytest
import requests

from http_helpers import influx3, written

PLUGIN = ("def process_writes(influxdb3_local, table_batches, args=None):\n"
          "    influxdb3_local.info('tables', [b['table_name'] for b in table_batches], args)\n"
          "    influxdb3_local.write(LineBuilder('out').int64_field('n', len(table_batches)))\n")


@pytest.fixture(scope="module")
def csrv(start_influx3_session, tmp_path_factory):
    return start_influx3_session("--plugin-dir", str(tmp_path_factory.mktemp("cli-plugins")),
                                 "--package-manager", "disabled")


def test_trigger_lifecycle_and_dry_runs_from_the_command_line(csrv, tmp_path):
    url = csrv.url
    written(url, "clidb", "x v=1")
    local = tmp_path / "mine.py"
    local.write_text(PLUGIN)
    r = influx3("create", "trigger", "t1", "--database", "clidb", "--path", str(local), "--upload",
                "--trigger-spec", "table:cpu", "--trigger-arguments", "a=1,b=2", "--error-behavior", "retry",
                "--host", url)
    assert r.returncode == 0, r.stderr
    rows = requests.post(url + "/api/v3/query_sql", json={
        "db": "clidb", "q": "SELECT trigger_name, plugin_filename, error_behavior FROM system.processing_engine_triggers",
        "format": "json"}, timeout=30).json()
    assert rows == [{"trigger_name": "t1", "plugin_filename": "mine.py", "error_behavior": "retry"}]

    r = influx3("test", "wal_plugin", "mine.py", "--database", "clidb", "--lp", "cpu v=1 1\nmem v=2 2",
                "--input-arguments", "k=v", "--host", url)
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    assert "INFO: tables ['cpu', 'mem'] {'k': 'v'}" in out["log_lines"]
    assert out["database_writes"] == {"clidb": ["out n=2i"]}

    r = influx3("test", "schedule_plugin", "mine.py", "--database", "clidb", "--host", url)
    assert r.returncode == 0 and b"process_scheduled_call function is not present" in r.stdout

    r = influx3("delete", "trigger", "t1", "--database", "clidb", "--host", url)
    assert r.returncode != 0 and b"Disable it first" in (r.stdout + r.stderr)
    for cmd in (["disable", "trigger", "t1"], ["enable", "trigger", "t1"], ["disable", "trigger", "t1"],
                ["delete", "trigger", "t1"]):
        r = influx3(*cmd, "--database", "clidb", "--host", url)
        assert r.returncode == 0, (cmd, r.stderr)

    r = influx3("install", "package", "requests", "--host", url)
    assert r.returncode != 0 and b"disabled" in (r.stdout + r.stderr).lower()
