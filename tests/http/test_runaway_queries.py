"""Runaway queries cannot freeze the server (issue 10): each case is written as the attack was.

* queries that would run for hours, abandoned by their clients, are interrupted: a write right
  after them is acknowledged within a second, /health answers, the query pool is free again;
* a query past ``--query-timeout`` answers 504 ``query-timeout limit exceeded`` in InfluxDB 3's
  plain-text error shape (and the v1 JSON shape on ``/query``);
* SIGTERM stops a server that has runaway queries in flight within a few seconds;
* /health answers 503 with the reason when the IOLoop was blocked or the write pool takes no work
  (an in-process server, where the test can block them).
"""

from __future__ import annotations

import asyncio
import re
import signal
import socket
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from types import SimpleNamespace

import pytest
import requests

from jupyter_influx3.engine import Engine

RUNAWAY_SQL = "select count(*) from generate_series(1, 1000000000000)"


def _send_query(port: int, db: str, sql: str = RUNAWAY_SQL) -> socket.socket:
    """A raw client that sends a query and does not read the answer (yet)."""
    s = socket.create_connection(("127.0.0.1", port))
    q = requests.models.RequestEncodingMixin._encode_params({"db": db, "q": sql})
    s.sendall(f"GET /api/v3/query_sql?{q} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".encode())
    return s


def _port(url: str) -> int:
    return int(url.rsplit(":", 1)[1])


def _create_db(url: str, db: str) -> None:
    r = requests.post(url + "/api/v3/configure/database", json={"db": db}, timeout=10)
    assert r.status_code in (200, 204), r.text


@pytest.fixture(scope="module")
def srv(start_influx3_session):
    # a long timeout: these tests are about abandoned queries, not the timeout
    return start_influx3_session("--query-timeout", "120")


def _abandon(url: str, db: str, n: int = 8) -> None:
    socks = [_send_query(_port(url), db) for _ in range(n)]
    time.sleep(0.5)  # the queries are running (or queued for a query thread)
    for s in socks:
        s.close()


def test_abandoned_runaway_queries_leave_a_write_acknowledged_within_a_second(srv):
    _create_db(srv.url, "runaway")
    _abandon(srv.url, "runaway")
    t0 = time.monotonic()
    r = requests.post(srv.url + "/api/v3/write_lp", params={"db": "runaway"}, data="m,host=a v=1 1", timeout=30)
    took = time.monotonic() - t0
    assert r.status_code == 204, r.text
    assert took < 1.0, f"write took {took:.2f} s behind abandoned queries"
    t0 = time.monotonic()
    h = requests.get(srv.url + "/health", timeout=30)
    assert h.status_code == 200 and h.text == "OK"
    assert time.monotonic() - t0 < 1.0


def test_abandoned_runaway_queries_are_interrupted_so_later_queries_run(srv):
    _create_db(srv.url, "runaway2")
    _abandon(srv.url, "runaway2", n=12)  # more than the query threads
    time.sleep(0.5)
    t0 = time.monotonic()
    r = requests.get(srv.url + "/api/v3/query_sql", params={"db": "runaway2", "q": "select 42 as x"}, timeout=60)
    assert r.status_code == 200 and r.json() == [{"x": 42}]
    assert time.monotonic() - t0 < 2.0, "a quick query waited for abandoned ones"
    # and system.queries shows them cancelled, none still running (those that never got a query
    # thread before their client left never started)
    log = requests.get(srv.url + "/api/v3/query_sql", params={
        "db": "runaway2", "q": "select phase, cancelled from system.queries where query_text like "
                               "'%generate_series(1, 1000000000000)%' and query_text not like '%system.queries%'"},
        timeout=30).json()
    assert log and all(row == {"phase": "cancel", "cancelled": True} for row in log), log


def test_query_past_the_timeout_answers_504_query_timeout_in_plain_text(start_influx3):
    srv = start_influx3("--query-timeout", "1")
    _create_db(srv.url, "slow")
    t0 = time.monotonic()
    r = requests.get(srv.url + "/api/v3/query_sql", params={"db": "slow", "q": RUNAWAY_SQL}, timeout=30)
    took = time.monotonic() - t0
    assert r.status_code == 504
    assert r.headers["Content-Type"].startswith("text/plain")
    assert r.text == "query-timeout limit exceeded (1 s)"
    assert took < 5.0
    post = requests.post(srv.url + "/api/v3/query_sql", json={"db": "slow", "q": RUNAWAY_SQL}, timeout=30)
    assert post.status_code == 504 and post.text == "query-timeout limit exceeded (1 s)"
    # the server is not left busy: a quick query answers at once
    ok = requests.get(srv.url + "/api/v3/query_sql", params={"db": "slow", "q": "select 1 as one"}, timeout=10)
    assert ok.json() == [{"one": 1}]


def test_query_timeout_zero_turns_the_timeout_off(start_influx3):
    srv = start_influx3("--query-timeout", "0")
    _create_db(srv.url, "forever")
    s = _send_query(_port(srv.url), "forever")
    s.settimeout(2.0)
    with pytest.raises(socket.timeout):
        s.recv(100)  # still running after 2 s: no timeout
    s.close()


def test_bad_query_timeout_is_refused_on_the_command_line(tmp_path):
    import subprocess
    import sys

    out = subprocess.run([sys.executable, "-m", "jupyter_influx3", "serve", "--data-dir", str(tmp_path),
                          "--query-timeout", "-3"], capture_output=True, text=True, timeout=60)
    assert out.returncode == 2
    assert "--query-timeout" in out.stderr and "expected a number of seconds" in out.stderr


def test_sigterm_stops_a_server_with_runaway_queries_within_seconds(start_influx3):
    srv = start_influx3("--query-timeout", "600")
    _create_db(srv.url, "term")
    # three runaway queries (the fourth query thread answers the poll of system.queries)
    socks = [_send_query(_port(srv.url), "term") for _ in range(3)]
    _wait_running(srv.url, "term", "generate_series", 3)
    t0 = time.monotonic()
    code = srv.stop(signal.SIGTERM, timeout=20)
    took = time.monotonic() - t0
    assert code == 0
    assert took < 5.0, f"SIGTERM took {took:.1f} s"
    for s in socks:
        s.settimeout(5)
        answer = s.recv(4096)
        assert answer.startswith(b"HTTP/1.1 503"), answer[:200]
        assert b"query interrupted: the server is shutting down" in answer
        s.close()


def _wait_running(url: str, db: str, text: str, n: int) -> None:
    """Wait until `n` queries whose text contains `text` are in system.queries (started)."""
    deadline = time.monotonic() + 30
    q = f"select count(*) as n from system.queries where query_text like '%{text}%' and query_text not like '%system%'"
    while requests.get(url + "/api/v3/query_sql", params={"db": db, "q": q}, timeout=30).json()[0]["n"] < n:
        assert time.monotonic() < deadline, "the queries did not start"
        time.sleep(0.1)


# ---- /health when the server is stuck: an in-process server the test can block ----------------


@pytest.fixture
def inproc(tmp_path):
    """A real tornado server in a thread of this process, with a write pool and a query pool of
    one thread each."""
    import tornado.httpserver
    import tornado.netutil
    from tornado.ioloop import IOLoop

    from jupyter_influx3.http.auth import AuthSettings
    from jupyter_influx3.http.routes import make_app

    engine = Engine(tmp_path / "data", background=False)
    pool = ThreadPoolExecutor(max_workers=1)
    query_pool = ThreadPoolExecutor(max_workers=1)
    ready = threading.Event()
    box: dict = {}

    def serve():
        loop = asyncio.new_event_loop()
        asyncio.set_event_loop(loop)
        app = make_app(engine, executor=pool, auth=AuthSettings(enabled=False))
        app.settings["influx3"].query_executor = query_pool
        server = tornado.httpserver.HTTPServer(app)
        sockets = tornado.netutil.bind_sockets(0, "127.0.0.1")
        server.add_sockets(sockets)
        box.update(loop=loop, ioloop=IOLoop.current(), url=f"http://127.0.0.1:{sockets[0].getsockname()[1]}")
        ready.set()
        loop.run_forever()
        server.stop()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    ready.wait(10)
    yield SimpleNamespace(url=box["url"], ioloop=box["ioloop"], pool=pool, engine=engine)
    box["loop"].call_soon_threadsafe(box["loop"].stop)
    thread.join(10)
    pool.shutdown(wait=False)
    query_pool.shutdown(wait=True)  # the engine outlives the query still finishing
    engine.close()


def test_health_answers_503_after_the_event_loop_was_blocked(inproc):
    url, ioloop = inproc.url, inproc.ioloop
    assert requests.get(url + "/health", timeout=10).text == "OK"  # the watchdog is running
    ioloop.add_callback(time.sleep, 2.6)  # a handler that blocks the loop
    time.sleep(0.2)
    r = requests.get(url + "/health", timeout=30)  # answered once the loop is back
    assert r.status_code == 503
    assert r.headers["Content-Type"].startswith("text/plain")
    assert re.fullmatch(r"unhealthy: the event loop was blocked for (\d+\.\d) s within the last 30 s", r.text), r.text
    assert float(re.search(r"(\d+\.\d) s", r.text).group(1)) >= 2.4  # slept 2.6 s, ticks every 0.1 s


def test_health_answers_503_when_the_write_pool_takes_no_work(inproc):
    url, pool = inproc.url, inproc.pool
    assert requests.get(url + "/health", timeout=10).text == "OK"
    pool.submit(time.sleep, 4)  # every write thread stuck
    r = requests.get(url + "/health", timeout=30)
    assert r.status_code == 503
    assert "the write pool could not start work within 2 s" in r.text
    time.sleep(4)
    assert requests.get(url + "/health", timeout=10).text == "OK"


def test_influxql_query_past_the_timeout_answers_504_in_each_endpoints_shape(start_influx3):
    srv = start_influx3("--query-timeout", "0.05")
    lines = "\n".join(f"m,host=h{i % 50} v={i} {i + 1}" for i in range(200_000))
    r = requests.post(srv.url + "/api/v3/write_lp", params={"db": "iq"}, data=lines, timeout=120)
    assert r.status_code == 204, r.text
    q = "SELECT * FROM m"  # 200,000 rows through the InfluxQL executor and the v1 JSON: well past 50 ms
    v1 = requests.get(srv.url + "/query", params={"db": "iq", "q": q}, timeout=60)
    assert v1.status_code == 504
    assert v1.json() == {"error": "query-timeout limit exceeded (0.05 s)"}
    v3 = requests.get(srv.url + "/api/v3/query_influxql", params={"db": "iq", "q": q}, timeout=60)
    assert v3.status_code == 504
    assert v3.text == "query-timeout limit exceeded (0.05 s)"


def _server_end_state(sock: socket.socket) -> str:
    """The kernel's TCP state of the server's end of our connection `sock` (/proc/net/tcp): 01
    ESTABLISHED; 04 FIN_WAIT1 once the server closed it (its FIN waits behind the unread bytes);
    "" once the kernel dropped it."""
    ours = "%04X" % sock.getsockname()[1]
    server = "%04X" % sock.getpeername()[1]
    with open("/proc/net/tcp") as f:
        for line in f.readlines()[1:]:
            fields = line.split()
            if fields[1].endswith(":" + server) and fields[2].endswith(":" + ours):
                return fields[3]
    return ""


def test_client_that_stops_reading_a_streamed_answer_is_cut_off_at_the_query_timeout(start_influx3):
    srv = start_influx3("--query-timeout", "2")
    _create_db(srv.url, "reader")
    s = _send_query(_port(srv.url), "reader", "select * from generate_series(1, 100000000)")  # ~2 GB of JSON
    time.sleep(1)
    assert _server_end_state(s) == "01"  # streaming, into full socket buffers
    deadline = time.monotonic() + 10
    while _server_end_state(s) == "01":  # the server closes its end without us reading a byte
        assert time.monotonic() < deadline, "the server still holds a connection nobody reads"
        time.sleep(0.1)
    s.close()
    assert requests.get(srv.url + "/health", timeout=10).text == "OK"


def test_sigterm_does_not_wait_for_python_work_of_an_interrupted_influxql_query(start_influx3):
    srv = start_influx3("--query-timeout", "600")
    lines = "\n".join(f"m,host=h{i % 50} v={i} {i + 1}" for i in range(200_000))
    assert requests.post(srv.url + "/api/v3/write_lp", params={"db": "py"}, data=lines, timeout=120).status_code == 204
    # 20 statements of 200,000 rows each through the InfluxQL executor: Python work DuckDB cannot interrupt
    q = ";".join(["SELECT * FROM m"] * 20)
    s = socket.create_connection(("127.0.0.1", _port(srv.url)))
    body = requests.models.RequestEncodingMixin._encode_params({"db": "py", "q": q})
    s.sendall(f"GET /query?{body} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".encode())
    deadline = time.monotonic() + 30
    while not requests.get(srv.url + "/api/v3/query_sql", timeout=30, params={  # its first statement runs
            "db": "py", "q": "select count(*) as n from system.queries where query_type = 'influxql'"}).json()[0]["n"]:
        assert time.monotonic() < deadline
        time.sleep(0.1)
    time.sleep(0.3)
    t0 = time.monotonic()
    code = srv.stop(signal.SIGTERM, timeout=60)
    took = time.monotonic() - t0
    assert code == 0
    assert took < 5.0, f"SIGTERM took {took:.1f} s"
    s.settimeout(5)
    assert s.recv(4096).startswith(b"HTTP/1.1 503")
    s.close()


def test_health_answers_503_when_every_query_thread_is_held_by_a_stopped_query(inproc):
    from jupyter_influx3.engine.querylimits import QueryLimits

    url, engine = inproc.url, inproc.engine
    engine.write_lp("py", "\n".join(f"m,host=h{i % 50} v={i} {i + 1}" for i in range(100_000)), "ns")
    engine.query_limits = QueryLimits(timeout_s=0.2)
    assert requests.get(url + "/health", timeout=10).text == "OK"
    # 5 statements of 100,000 rows each: seconds of Python work that DuckDB cannot interrupt, in the
    # one query thread of this server
    r = requests.get(url + "/query", params={"db": "py", "q": ";".join(["SELECT * FROM m"] * 5)}, timeout=30)
    assert r.status_code == 504
    h = requests.get(url + "/health", timeout=30)
    assert h.status_code == 503
    assert h.text == "unhealthy: all 1 query threads are held by queries that were already stopped"
