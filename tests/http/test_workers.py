"""`influx3 serve --workers 2`: two node processes behind one port look like one server.

Requests below open a new connection each (no session), so the kernel hands them to either worker,
except where a test holds one open to steer the rest to the other worker. Each worker writes its own
WAL (`<node-id>-w<i>/wal`), which shows both were used."""

from __future__ import annotations

import time
from pathlib import Path

import psutil
import pytest
import requests

from http_helpers import COUNT, bearer, create_admin, db_perm, influx3, resource_token, written
from jupyter_influx3.engine.wal import read_records

ROUNDS = 16


def sql(url, db, q, headers=None, via=requests):
    """The query's rows; `via`: a held `requests.Session` instead of a new connection."""
    r = via.post(url + "/api/v3/query_sql", json={"db": db, "q": q, "format": "json"},
                 headers=headers or {}, timeout=30)
    assert r.status_code == 200, r.text
    return r.json()


def wal_bytes(data_dir: Path, node: str) -> int:
    return sum(p.stat().st_size for p in (data_dir / node / "wal").glob("*.wal"))


def workers_of(server) -> list[psutil.Process]:
    return psutil.Process(server.proc.pid).children()


@pytest.fixture(scope="module")
def srv(start_influx3_session):
    return start_influx3_session("--workers", "2", "--max-concurrent-queries", "64")


def test_every_write_is_seen_by_the_next_query_whichever_worker_answers(srv):
    """Writes and queries alternate between the two workers. An idle server gives sequential new
    connections to whichever worker wins the accept, often the same one every time; one keep-alive
    connection held open makes its worker the busier one, so the balancer (http/balance.py) hands
    every new connection to the other."""
    before = {w: wal_bytes(srv.data_dir, f"test-node-w{w}") for w in (0, 1)}
    count = "SELECT count(*) AS n FROM cpu"
    with requests.Session() as held:
        for i in range(1, ROUNDS + 1):
            # written through the held connection and read through a new one, then the other way round
            by, then = (held, requests) if i % 2 else (requests, held)
            written(srv.url, "ryw", f"cpu,host=h{i} v={i} {i}", via=by)
            assert sql(srv.url, "ryw", count, via=then) == [{"n": i}]
    grown = [w for w in (0, 1) if wal_bytes(srv.data_dir, f"test-node-w{w}") > before[w]]
    assert grown == [0, 1], "both workers should have taken writes"


def test_metrics_count_the_writes_of_every_worker(srv):
    for i in range(ROUNDS):
        written(srv.url, "metricsdb", f"m v={i} {i + 1}")
    for _ in range(6):   # whichever worker answers the scrape
        body = requests.get(srv.url + "/metrics", timeout=30).text
        assert f'influxdb3_write_lines_total{{db="metricsdb"}} {float(ROUNDS)}' in body, body[:2000]


def test_query_concurrency_limit_set_on_one_worker_is_the_servers(srv):
    url = srv.url + "/api/v3/configure/query_concurrency_limit"
    assert requests.put(url, json={"max_concurrent_queries": 40}, timeout=30).status_code == 204
    for _ in range(6):
        assert requests.get(url, timeout=30).json() == {"max_concurrent_queries": 40}
    assert requests.delete(url, timeout=30).status_code == 204
    for _ in range(6):
        assert requests.get(url, timeout=30).json() == {"max_concurrent_queries": 64}


def test_a_last_value_cache_made_through_one_worker_answers_on_every_worker(srv):
    written(srv.url, "cachedb", "cpu,host=a v=1 1\ncpu,host=b v=2 2")
    r = requests.post(srv.url + "/api/v3/configure/last_cache", timeout=30,
                      json={"db": "cachedb", "table": "cpu", "name": "lc", "key_columns": ["host"]})
    assert r.status_code in (200, 201), r.text
    for i in range(6):
        written(srv.url, "cachedb", f"cpu,host=a v={10 + i} {10 + i}")
        got = sql(srv.url, "cachedb", "SELECT host, v FROM last_cache('cpu', 'lc') ORDER BY host")
        assert got == [{"host": "a", "v": 10.0 + i}, {"host": "b", "v": 2.0}]


def test_a_killed_worker_is_restarted_and_nothing_it_acknowledged_is_lost(start_influx3):
    server = start_influx3("--workers", "2")
    for i in range(ROUNDS):
        written(server.url, "crash", f"t v={i} {i + 1}")
    victim = workers_of(server)[0]
    victim.kill()
    victim.wait(10)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and len([w for w in workers_of(server) if w.is_running()]) < 2:
        time.sleep(0.1)
    assert "restarting it" in server.log()
    for _ in range(6):   # every query (either worker, the new one too) sees every acknowledged row
        assert sql(server.url, "crash", "SELECT count(*) AS n FROM t") == [{"n": ROUNDS}]
    written(server.url, "crash", f"t v=0 {ROUNDS + 1}")
    assert sql(server.url, "crash", "SELECT count(*) AS n FROM t") == [{"n": ROUNDS + 1}]


def test_sigterm_stops_every_worker_after_its_final_snapshot(start_influx3):
    server = start_influx3("--workers", "2")
    for i in range(ROUNDS):
        written(server.url, "term", f"t v={i} {i + 1}")
    workers = workers_of(server)
    assert len(workers) == 2
    assert server.stop() == 0
    for w in workers:
        assert not w.is_running() or w.status() == psutil.STATUS_ZOMBIE
    assert list(server.data_dir.glob("test-node-w*/dbs/**/*.parquet")), "no final snapshot"
    server.start()   # comes back with every row
    assert sql(server.url, "term", "SELECT count(*) AS n FROM t") == [{"n": ROUNDS}]


def test_a_token_made_through_one_worker_is_accepted_by_every_worker(start_influx3):
    server = start_influx3("--workers", "2", auth=True)
    admin = create_admin(server.url)
    token = resource_token(server.url, admin, [db_perm(["tokdb"], "read", "write")])
    for i in range(6):
        r = requests.post(server.url + "/api/v3/write_lp", params={"db": "tokdb"}, data=f"t v={i} {i + 1}",
                          headers=bearer(token), timeout=30)
        assert r.status_code == 204, r.text
        assert sql(server.url, "tokdb", "SELECT count(*) AS n FROM t", bearer(token)) == [{"n": i + 1}]


def seen_rows(url) -> int:
    """Rows the counting plugin wrote so far (none before its first run made the table)."""
    r = requests.post(url + "/api/v3/query_sql", json={"db": "trig", "q": "SELECT count(*) AS n FROM seen"}, timeout=30)
    return r.json()[0]["n"] if r.status_code == 200 else 0


def test_a_wal_trigger_runs_once_per_write_whichever_worker_took_it(tmp_path, start_influx3):
    plugins = tmp_path / "plugins"
    plugins.mkdir()
    (plugins / "count.py").write_text(COUNT)
    server = start_influx3("--workers", "2", "--plugin-dir", str(plugins))
    # writes through both workers right before the trigger exists: the worker running the
    # processing engine has often not read them yet when it appears; they are not the trigger's
    for i in range(-6, 1):
        written(server.url, "trig", f"src id={i}i {100 + i}")
    r = requests.post(server.url + "/api/v3/configure/processing_engine_trigger", timeout=30, json={
        "db": "trig", "plugin_filename": "count.py", "trigger_name": "count", "trigger_specification": "all_tables",
        "trigger_settings": {"run_async": False, "error_behavior": "log"}, "disabled": False})
    assert r.status_code == 200, r.text
    for i in range(1, 13):
        written(server.url, "trig", f"src id={i}i {1000 + i}")
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and seen_rows(server.url) < 12:
        time.sleep(0.2)
    time.sleep(1.0)   # a duplicate, if any, has time to land
    got = sql(server.url, "trig", "SELECT id, pid FROM seen")
    assert sorted(int(r["id"]) for r in got) == list(range(1, 13))   # each write after it, once
    assert len({r["pid"] for r in got}) == 1   # the worker holding the lease ran them all


def test_flight_on_the_shared_port_reads_what_either_worker_acknowledged(srv):
    import json

    import pyarrow.flight as flight

    grpc_url = "grpc://" + srv.url.split("://", 1)[1]
    ticket = flight.Ticket(json.dumps({"database": "flightdb", "sql_query": "SELECT count(*) AS n FROM t"}).encode())
    with requests.Session() as held:   # its worker is the busier one: new connections go to the other
        for i in range(1, 7):   # a new gRPC connection each time, relayed to its worker's Flight server
            written(srv.url, "flightdb", f"t v={i} {i}", via=held if i % 2 else requests)
            client = flight.connect(grpc_url)
            try:
                assert client.do_get(ticket).read_all().to_pylist() == [{"n": i}]
            finally:
                client.close()


def test_system_queries_lists_the_queries_of_every_worker(srv):
    written(srv.url, "sysq", "t v=1 1")
    marks = [f"mark{i}" for i in range(8)]
    with requests.Session() as held:   # its worker is the busier one: new connections go to the other
        for i, m in enumerate(marks):
            sql(srv.url, "sysq", f"SELECT '{m}' AS m, count(*) FROM t", via=held if i % 2 else requests)
    time.sleep(1.0)   # a worker publishes its log every 0.25 s
    for _ in range(4):
        texts = [r["query_text"] for r in sql(srv.url, "sysq", "SELECT query_text FROM system.queries")]
        assert all(any(m in t for t in texts) for m in marks), texts


def _wait_exit(server, timeout=90.0) -> int:
    deadline = time.monotonic() + timeout   # a loaded machine drains slowly; nothing is timed
    while server.proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.1)
    return server.proc.poll()


def test_a_node_stop_of_the_servers_node_id_stops_every_worker_and_the_server(start_influx3):
    server = start_influx3("--workers", "2")
    for i in range(ROUNDS):
        written(server.url, "nstop", f"t v={i} {i + 1}")
    out = influx3("stop", "node", "--node-id", "test-node", "--host", server.url)
    assert out.returncode == 0 and b"stopped" in out.stdout, out.stderr
    assert _wait_exit(server) == 0, server.log()[-3000:]
    assert "every worker has stopped" in server.log()
    for node in ("test-node-w0", "test-node-w1"):   # each drained its buffer: nothing to replay
        for wal in (server.data_dir / node / "wal").glob("*.wal"):
            assert read_records(wal, 0).payloads == []
    server.proc = None
    server.start()
    assert sql(server.url, "nstop", "SELECT count(*) AS n FROM t") == [{"n": ROUNDS}]


def test_a_node_stop_of_one_worker_stops_it_only_and_the_other_serves_everything(start_influx3):
    server = start_influx3("--workers", "2")
    written(server.url, "wstop", "t v=1 1")
    r = requests.post(server.url + "/api/v3/enterprise/configure/node/stop", json={"node_id": "test-node-w1"},
                      timeout=30)
    assert r.status_code == 200 and r.json()["node_id"] == "test-node-w1", r.text
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and "1 of 2 workers serve" not in server.log():
        time.sleep(0.1)
    assert "worker 1 (node test-node-w1) stopped on request; 1 of 2 workers serve" in server.log()
    assert len(workers_of(server)) == 1 and server.proc.poll() is None   # not restarted, server up
    for i in range(2, 8):   # new connections: all to the worker left
        written(server.url, "wstop", f"t v={i} {i}")
        assert sql(server.url, "wstop", "SELECT count(*) AS n FROM t") == [{"n": i}]
    states = {r["node_id"]: r["state"] for r in sql(server.url, "_internal", "SELECT node_id, state FROM system.nodes")}
    assert states == {"test-node-w0": "running", "test-node-w1": "stopped"}


def test_system_queries_of_other_workers_are_filtered_by_the_callers_databases_too(start_influx3):
    server = start_influx3("--workers", "2", auth=True)
    admin = create_admin(server.url)
    reader = resource_token(server.url, admin, [db_perm(["pub"], "read", "write")])
    for db in ("pub", "priv"):
        r = requests.post(server.url + "/api/v3/write_lp", params={"db": db}, data="t v=1 1", headers=bearer(admin),
                          timeout=30)
        assert r.status_code == 204, r.text
    with requests.Session() as held:   # its worker runs the held queries; new connections go to the other
        for i in range(6):
            via = held if i % 2 else requests
            sql(server.url, "priv", f"SELECT v FROM t WHERE v <> {1000 + i} -- secret{i}", bearer(admin), via=via)
            sql(server.url, "pub", f"SELECT v FROM t WHERE v <> {2000 + i} -- mine{i}", bearer(reader), via=via)
        time.sleep(1.0)   # a worker publishes its log every 0.25 s
        for _ in range(4):   # (new connections: the worker that did not run the held queries)
            texts = [r["query_text"] for r in sql(server.url, "pub", "SELECT query_text FROM system.queries",
                                                  bearer(reader))]
            assert not [t for t in texts if "secret" in t]
            assert all(any(f"mine{i}" in t for t in texts) for i in range(6)), texts
            texts = [r["query_text"] for r in sql(server.url, "pub", "SELECT query_text FROM system.queries",
                                                  bearer(admin))]
            assert all(any(f"secret{i}" in t for t in texts) for i in range(6)), texts
