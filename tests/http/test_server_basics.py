"""Ping, health, CORS preflight, common headers, restart and shutdown of a real `influx3 serve`."""

from __future__ import annotations

import email.utils
import signal
import time
import uuid

import pytest
import requests

import jupyter_influx3
from http_helpers import rows, write_v3


@pytest.mark.parametrize("method", ["GET", "POST"])
def test_ping_reports_version_build_and_request_id(url, method):
    r = requests.request(method, f"{url}/ping")
    assert r.status_code == 200
    assert r.headers["Content-Type"] == "application/json"
    assert r.headers["X-Influxdb-Build"] == "Enterprise"
    assert r.headers["X-Influxdb-Version"] == jupyter_influx3.__version__
    request_id = uuid.UUID(r.headers["Request-Id"])
    assert request_id.version == 7
    assert r.headers["X-Request-Id"] == r.headers["Request-Id"]
    body = r.json()
    assert set(body) == {"version", "revision", "process_id", "product_name"}
    assert body["version"] == jupyter_influx3.__version__
    assert uuid.UUID(body["process_id"])


def test_answers_carry_the_current_date_and_no_server_fingerprint(url):
    for path in ("/ping", "/no/such/path", "/api/v3/query_sql?db=x&q=SELECT%201"):
        before = time.time()
        r = requests.get(f"{url}{path}")
        after = time.time()
        assert "Server" not in r.headers, path   # no "TornadoServer/<version>" for attackers
        sent = email.utils.parsedate_to_datetime(r.headers["Date"]).timestamp()
        assert int(before) - 1 <= sent <= after, (path, r.headers["Date"])


def test_if_none_match_never_turns_an_answer_into_a_304(url, db):
    assert requests.post(f"{url}/api/v3/write_lp", params={"db": db}, data="m v=1 1").status_code == 204
    for headers in ({"If-None-Match": "*"}, {"If-None-Match": '"x", W/"y"'}):
        r = requests.get(f"{url}/api/v3/query_sql", params={"db": db, "q": "SELECT v FROM m"}, headers=headers)
        assert r.status_code == 200 and r.json() == [{"v": 1.0}]
        assert "Etag" not in r.headers


def test_ping_process_id_is_constant_and_request_id_is_not(url):
    first, second = requests.get(f"{url}/ping"), requests.get(f"{url}/ping")
    assert first.json()["process_id"] == second.json()["process_id"]
    assert first.headers["Request-Id"] != second.headers["Request-Id"]


def test_head_ping_is_404(url):
    assert requests.head(f"{url}/ping").status_code == 404


@pytest.mark.parametrize("path", ["/health", "/api/v1/health"])
def test_health_is_ok_text(url, path):
    r = requests.get(url + path)
    assert r.status_code == 200
    assert r.text == "OK"
    assert r.headers["Content-Type"] == "text/plain; charset=utf-8"


@pytest.mark.parametrize("path", ["/api/v3/write_lp", "/ping", "/no/such/path", "/api/v3/configure/token"])
def test_options_on_any_path_is_204(url, path):
    r = requests.options(url + path)
    assert r.status_code == 204
    assert r.content == b""
    # No origin is allowed by default (issue 10): the CORS headers are test_cors.py's.
    assert "Access-Control-Allow-Origin" not in r.headers
    assert r.headers["cluster-uuid"]


def test_every_response_carries_the_same_cluster_uuid_and_no_wildcard_origin(url, db):
    answers = {
        "health": requests.get(f"{url}/health"),
        "ping": requests.get(f"{url}/ping"),
        "write": write_v3(url, db, "cpu v=1"),
        "bad write": write_v3(url, db, ""),
        "not found": requests.get(f"{url}/nope"),
        "options": requests.options(f"{url}/nope"),
    }
    uuids = {name: r.headers.get("cluster-uuid") for name, r in answers.items()}
    assert len(set(uuids.values())) == 1, uuids
    assert uuid.UUID(uuids["health"])
    for name in answers:  # no origin is allowed by default (issue 10; see test_cors.py)
        assert "Access-Control-Allow-Origin" not in answers[name].headers, name


def test_cluster_uuid_and_data_survive_a_restart(start_influx3):
    from jupyter_influx3.engine import Engine

    srv = start_influx3()
    before = requests.get(f"{srv.url}/health").headers["cluster-uuid"]
    assert write_v3(srv.url, "keep", "cpu,host=a usage=1 1", precision="nanosecond").status_code == 204
    srv.restart()
    assert requests.get(f"{srv.url}/health").headers["cluster-uuid"] == before
    assert write_v3(srv.url, "keep", "cpu,host=b usage=2 2", precision="nanosecond").status_code == 204
    srv.stop()
    eng = Engine(srv.data_dir, node_id="after")
    try:
        got = rows(eng, "keep", "SELECT host, usage FROM cpu ORDER BY time")
    finally:
        eng.close()
    assert got == [{"host": "a", "usage": 1.0}, {"host": "b", "usage": 2.0}]


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_signal_stops_the_server_cleanly(start_influx3, sig):
    srv = start_influx3()
    assert write_v3(srv.url, "sig", "cpu v=1").status_code == 204
    assert srv.stop(sig) == 0
    log = srv.log()
    assert "listening on http://127.0.0.1:" in log
    assert "Traceback" not in log
    with pytest.raises(requests.ConnectionError):
        requests.get(f"{srv.url}/health", timeout=2)


def test_big_writes_and_small_queries_share_one_keep_alive_connection(url, db):
    # a request with a body is read in 1 MiB pieces, the others 64 KiB: the size switches back and
    # forth on one connection without losing or mixing bytes
    lines = 40_000   # ~2.3 MB
    body = "\n".join(f"m,host=h{i % 50} v={i}i {1_700_000_000_000_000_000 + i}" for i in range(lines))
    with requests.Session() as s:
        for round_ in range(2):
            r = s.post(f"{url}/api/v3/write_lp", params={"db": db}, data=body.encode())
            assert r.status_code == 204, r.text
            r = s.get(f"{url}/ping")
            assert r.status_code == 200 and r.json()["version"]
            r = s.get(f"{url}/api/v3/query_sql", params={"db": db, "q": "SELECT count(*) AS n, sum(v) AS s FROM m"})
            assert r.json() == [{"n": lines, "s": sum(range(lines))}]   # the same rows again: no duplicates
