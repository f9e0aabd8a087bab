"""WAL and schedule triggers across nodes and restarts (ARCHITECTURE "Wave 2"): two `influx3 serve`
nodes on one data directory, and a kernel-like node writing while the server is down. Each plugin
row carries the process id that ran it, so a trigger that ran twice shows up as two rows."""

from __future__ import annotations

import textwrap
import time

import pytest
import requests

from http_helpers import COUNT, written
from jupyter_influx3.engine import Engine

TICK = textwrap.dedent('''
    import os
    def process_scheduled_call(influxdb3_local, call_time, args=None):
        influxdb3_local.write(LineBuilder("ticks").tag("pid", str(os.getpid()))
                              .int64_field("sec", int(call_time.timestamp())))
''')


def trigger(url, db, name, filename, spec):
    r = requests.post(url + "/api/v3/configure/processing_engine_trigger", json={
        "db": db, "plugin_filename": filename, "trigger_name": name, "trigger_specification": spec,
        "trigger_settings": {"run_async": False, "error_behavior": "log"}, "disabled": False}, timeout=30)
    assert r.status_code == 200, r.text


def sql(url, db, q):
    r = requests.post(url + "/api/v3/query_sql", json={"db": db, "q": q, "format": "json"}, timeout=30)
    return r.json() if r.status_code == 200 else []


def wait_rows(url, db, q, n, timeout=20.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        got = sql(url, db, q)
        if len(got) >= n:
            return got
        time.sleep(0.1)
    return sql(url, db, q)


@pytest.fixture
def plugin_dir(tmp_path):
    d = tmp_path / "plugins"
    d.mkdir()
    (d / "count.py").write_text(COUNT)
    (d / "tick.py").write_text(TICK)
    return d


@pytest.fixture
def two_nodes(tmp_path, plugin_dir, start_influx3):
    data = tmp_path / "data"
    a = start_influx3("--plugin-dir", str(plugin_dir), "--node-id", "node-a", data_dir=data)
    b = start_influx3("--plugin-dir", str(plugin_dir), "--node-id", "node-b", data_dir=data)
    return a, b


def test_writes_through_either_node_fire_the_wal_trigger_exactly_once(two_nodes):
    a, b = two_nodes
    written(a.url, "db", "src id=0i 1")
    trigger(a.url, "db", "count", "count.py", "all_tables")
    time.sleep(0.5)
    for i in range(1, 21):
        written((a if i % 2 else b).url, "db", f"src id={i}i {1000 + i}")
    got = wait_rows(a.url, "db", "SELECT id, pid FROM seen", 20)
    time.sleep(1.0)  # a duplicate, if any, has time to land
    got = sql(a.url, "db", "SELECT id, pid FROM seen")
    assert sorted(int(r["id"]) for r in got) == list(range(1, 21))
    assert len({r["pid"] for r in got}) == 1  # one node (the lease holder) ran them all


def test_a_schedule_fires_once_per_tick_across_nodes(two_nodes):
    a, b = two_nodes
    written(b.url, "db", "x v=1")
    trigger(b.url, "db", "tick", "tick.py", "every:1s")
    got = wait_rows(a.url, "db", "SELECT sec, pid FROM ticks", 3, timeout=15)
    requests.post(a.url + "/api/v3/configure/processing_engine_trigger/disable",
                  params={"db": "db", "trigger_name": "tick"}, timeout=30)
    time.sleep(0.5)
    got = sql(a.url, "db", "SELECT sec, pid FROM ticks")
    secs = [r["sec"] for r in got]
    assert len(secs) >= 3 and len(secs) == len(set(secs)), got
    assert len({r["pid"] for r in got}) == 1


def test_trigger_progress_survives_a_restart_and_sees_writes_made_while_it_was_down(plugin_dir, start_influx3):
    srv = start_influx3("--plugin-dir", str(plugin_dir))
    written(srv.url, "db", "src id=0i 1")
    trigger(srv.url, "db", "count", "count.py", "table:src")
    written(srv.url, "db", "src id=1i 1001\nsrc id=2i 1002")
    assert len(wait_rows(srv.url, "db", "SELECT id FROM seen", 2)) == 2
    assert srv.stop() == 0
    kernel = Engine(srv.data_dir, node_id="kernel")  # a notebook writing while the server is down
    kernel.write_lp("db", "src id=3i 1003\nsrc id=4i 1004", "ns")
    kernel.close()
    srv.start()
    written(srv.url, "db", "src id=5i 1005")
    got = wait_rows(srv.url, "db", "SELECT id, pid FROM seen", 5)
    time.sleep(1.0)
    got = sql(srv.url, "db", "SELECT id, pid FROM seen")
    assert sorted(int(r["id"]) for r in got) == [1, 2, 3, 4, 5]  # none skipped, none repeated
    assert len({r["pid"] for r in got if int(r["id"]) <= 2}) == 1
