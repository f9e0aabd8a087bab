"""`influx3 serve --workers 2` shares keep-alive connections out among its workers (http/balance.py).

A loader with two keep-alive connections must keep both workers busy, not land both connections on
the worker that woke first. Which worker served a connection shows in whose WAL its write landed."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
import requests

from jupyter_influx3.http.balance import NOT_SERVING, ConnectionBoard

ROUNDS = 3


def wal_bytes(data_dir: Path, node: str) -> int:
    return sum(p.stat().st_size for p in (data_dir / node / "wal").glob("*.wal"))


def sizes(srv) -> list[int]:
    return [wal_bytes(srv.data_dir, f"test-node-w{w}") for w in (0, 1)]


def write(session: requests.Session, url: str, db: str, line: str) -> None:
    r = session.post(f"{url}/api/v3/write_lp", params={"db": db}, data=line, timeout=30)
    assert r.status_code == 204, r.text


def worker_of(srv, session: requests.Session, db: str, line: str) -> int:
    """Writes `line` on `session`'s connection; the index of the worker whose WAL took it."""
    before = sizes(srv)
    write(session, srv.url, db, line)
    grown = [w for w, (a, b) in enumerate(zip(before, sizes(srv))) if b > a]
    assert len(grown) == 1, grown
    return grown[0]


@pytest.fixture(scope="module")
def srv(start_influx3_session):
    return start_influx3_session("--workers", "2")


def test_a_second_connection_goes_to_the_worker_without_one(srv):
    for i in range(ROUNDS):
        with requests.Session() as first, requests.Session() as second:
            a = worker_of(srv, first, "seq", f"m,c=a v={i} {i + 1}")
            b = worker_of(srv, second, "seq", f"m,c=b v={i} {i + 1}")
            assert a != b
            # and each connection stays with its worker
            assert worker_of(srv, first, "seq", f"m,c=a v={i} {i + 100}") == a


def test_connections_opened_at_the_same_moment_land_on_different_workers(srv):
    for i in range(ROUNDS):
        sessions = [requests.Session(), requests.Session()]
        go = threading.Barrier(2)
        errors: list = []

        def connect(s: requests.Session, n: int) -> None:
            try:
                go.wait()
                write(s, srv.url, "together", f"m,c=c{n} v={i} {i + 1}")
            except Exception as exc:  # noqa: BLE001 - reported below
                errors.append(exc)

        threads = [threading.Thread(target=connect, args=(s, n)) for n, s in enumerate(sessions)]
        [t.start() for t in threads]
        [t.join() for t in threads]
        assert not errors, errors
        # both connections are open now; a write on each shows which worker holds it
        held = {worker_of(srv, s, "together", f"m,c=x{n} v={i} {i + 50}") for n, s in enumerate(sessions)}
        for s in sessions:
            s.close()
        assert held == {0, 1}


def test_the_board_starts_with_every_worker_not_serving_and_keeps_each_workers_count(tmp_path):
    a = ConnectionBoard(tmp_path / "connections", 0, 3)
    assert a.counts() == [NOT_SERVING] * 3
    assert a.least_other() is None    # nobody else serves: take every connection
    b = ConnectionBoard(tmp_path / "connections", 2, 3)
    a.publish(4)
    b.publish(1)
    assert a.counts() == [4, NOT_SERVING, 1]
    assert a.least_other() == 1 and b.least_other() == 4
    b.close()
    assert a.counts() == [4, NOT_SERVING, NOT_SERVING]
    with pytest.raises(ValueError):
        ConnectionBoard(tmp_path / "connections", 3, 3)
