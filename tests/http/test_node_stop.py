"""``POST /api/v3/enterprise/configure/node/stop`` and ``system.nodes`` through real servers."""

from __future__ import annotations

import os
import time

import pytest
import requests

from http_helpers import influx3, written
from jupyter_influx3.engine import Engine
from jupyter_influx3.engine.wal import read_records

PATH = "/api/v3/enterprise/configure/node/stop"


def nodes(url: str) -> dict:
    r = requests.get(f"{url}/api/v3/query_sql", params={"db": "_internal", "format": "json",
                                                        "q": "SELECT node_id, state FROM system.nodes"}, timeout=30)
    assert r.status_code == 200, r.text
    return {row["node_id"]: row["state"] for row in r.json()}


def test_a_live_peer_is_drained_and_stopped(start_influx3):
    server = start_influx3()
    peer = Engine(server.data_dir, node_id="peer")              # a live node with its maintenance loop
    try:
        peer.write_lp("db", "cpu,host=p v=1 1000")
        assert peer.buffer.rows == 1
        r = requests.post(server.url + PATH, json={"node_id": "peer"}, timeout=30)
        assert r.status_code == 200 and r.json() == {"node_id": "peer", "state": "stopping"}
        assert peer.stop_requested.wait(15)
        assert peer.buffer.rows == 0                            # its writes are in Parquet
    finally:
        peer.close()
    assert nodes(server.url) == {"test-node": "running", "peer": "stopped"}
    r = requests.get(f"{server.url}/api/v3/query_sql", params={"db": "db", "q": "SELECT host FROM cpu"}, timeout=30)
    assert r.json() == [{"host": "p"}]


def test_a_dead_node_is_adopted_and_marked_stopped(start_influx3):
    server = start_influx3()
    dead = Engine(server.data_dir, node_id="dead", background=False)
    dead.write_lp("db", "cpu,host=d v=1 1000")
    dead.wal.close()                                            # dies without persisting
    os.close(dead._lock_fd)
    r = requests.post(server.url + PATH, json={"node_id": "dead"}, timeout=30)
    assert r.status_code == 200 and r.json()["state"] == "stopped"
    assert nodes(server.url)["dead"] == "stopped"
    r = requests.get(f"{server.url}/api/v3/query_sql", params={"db": "db", "q": "SELECT host FROM cpu"}, timeout=30)
    assert r.json() == [{"host": "d"}]


@pytest.mark.parametrize("body,status", [({"node_id": "nope"}, 404), ({"node_id": "backups"}, 404),
                                         ({"node_id": "../x"}, 404), ({}, 400)])
def test_unknown_nodes_and_bad_bodies(shared, body, status):
    (shared.data_dir / "backups").mkdir(exist_ok=True)
    r = requests.post(shared.url + PATH, json=body, timeout=30)
    assert r.status_code == status, r.text
    assert "error" in r.json()


@pytest.fixture(scope="module")
def shared(start_influx3_session):
    return start_influx3_session()


def test_stopping_the_server_itself_persists_and_exits_then_it_starts_again(start_influx3):
    server = start_influx3()
    written(server.url, "db", "cpu,host=s v=1 1000")
    out = influx3("stop", "node", "--node-id", "test-node", "--host", server.url)
    assert out.returncode == 0 and b"stopped" in out.stdout, out.stderr
    deadline = time.monotonic() + 90          # a loaded machine closes slowly; no timing is asserted
    while server.proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.1)
    assert server.proc.returncode == 0, server.log()[-2000:]
    for wal in (server.data_dir / "test-node" / "wal").glob("*.wal"):    # nothing left to replay
        assert read_records(wal, 0).payloads == []
    server.proc = None
    server.start()
    assert nodes(server.url)["test-node"] == "running"
    r = requests.get(f"{server.url}/api/v3/query_sql", params={"db": "db", "q": "SELECT host FROM cpu"}, timeout=30)
    assert r.json() == [{"host": "s"}]
