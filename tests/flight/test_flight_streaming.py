"""A large Flight result is streamed: the server's memory stays bounded while a slow client reads
5M rows, far below the size of the result."""

from __future__ import annotations

import json
import threading
import time

import psutil
import pyarrow.flight as flight
import requests

ROWS_PER_SIDE = 2240  # a cross join of the table with itself: 5,017,600 rows


def test_five_million_rows_stream_with_bounded_server_memory(start_influx3):
    srv = start_influx3()
    lines = "\n".join(f"t,k=k{i} v={i}i,f={i * 0.5} {i + 1}" for i in range(ROWS_PER_SIDE))
    r = requests.post(f"{srv.url}/api/v3/write_lp", params={"db": "big"}, data=lines.encode(), timeout=60)
    assert r.status_code == 204, r.text
    client = flight.connect("grpc://" + srv.url.split("://", 1)[1])
    query = "SELECT a.v AS x, b.v AS y, a.f * b.f AS z FROM t a CROSS JOIN t b"
    ticket = flight.Ticket(json.dumps({"database": "big", "sql_query": query}).encode())
    client.do_get(flight.Ticket(json.dumps({"database": "big", "sql_query": "SELECT count(*) FROM t"}).encode())
                  ).read_all()  # warm up: the engine's first query sets DuckDB up

    proc = psutil.Process(srv.proc.pid)
    baseline = proc.memory_info().rss
    peak = [baseline]
    done = threading.Event()

    def watch():
        while not done.is_set():
            peak[0] = max(peak[0], proc.memory_info().rss)
            time.sleep(0.01)

    watcher = threading.Thread(target=watch)
    watcher.start()
    rows = batches = 0
    try:
        reader = client.do_get(ticket)
        for chunk in reader:
            rows += chunk.data.num_rows
            batches += 1
            if batches % 4 == 0:
                time.sleep(0.01)  # a slow reader: the server must wait, not buffer the rest
    finally:
        done.set()
        watcher.join()
    result_bytes = rows * 24
    assert rows == ROWS_PER_SIDE ** 2
    assert batches > 10
    grown = peak[0] - baseline
    # the result is ~120 MB; a server that built it whole would grow by at least that much
    assert grown < result_bytes / 3, f"server grew by {grown / 2**20:.0f} MiB for a {result_bytes / 2**20:.0f} MiB result"
