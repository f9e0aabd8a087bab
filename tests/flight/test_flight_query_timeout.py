"""The query timeout covers Arrow Flight too: a runaway DoGet ends with DEADLINE_EXCEEDED at
``--query-timeout`` and the server goes on answering."""

from __future__ import annotations

import json
import time

import pyarrow.flight as flight
import pytest
import requests


def test_runaway_flight_query_is_stopped_at_the_query_timeout(start_influx3):
    srv = start_influx3("--query-timeout", "1")
    r = requests.post(f"{srv.url}/api/v3/configure/database", json={"db": "slow"}, timeout=30)
    assert r.status_code in (200, 204), r.text
    client = flight.connect("grpc://" + srv.url.split("://", 1)[1])
    ticket = flight.Ticket(json.dumps({"database": "slow", "sql_query":
                                       "SELECT count(*) FROM generate_series(1, 1000000000000)"}).encode())
    t0 = time.monotonic()
    with pytest.raises(flight.FlightTimedOutError, match=r"query-timeout limit exceeded \(1 s\)"):
        client.do_get(ticket).read_all()
    assert time.monotonic() - t0 < 10
    quick = flight.Ticket(json.dumps({"database": "slow", "sql_query": "SELECT 7 AS x"}).encode())
    assert client.do_get(quick).read_all().to_pylist() == [{"x": 7}]
