#!/usr/bin/env python3
"""Flight benchmark: a large ``SELECT *`` over Arrow Flight against ``/api/v3/query_sql``
(``format=parquet`` and ``format=json``) in the same run, from the same server.

1. A table ``t`` (tag ``host`` of 1,000 values; fields ``f`` float, ``i`` integer, ``g`` float;
   ``time``) of the largest row count asked for is written with ``Engine.write_lp`` in 100K-line
   bodies into a temp data dir, and closed (persisted to Parquet).
2. ``influx3 serve`` is started on that data dir (free port on 127.0.0.1, ``--without-auth``).
3. For each row count N (default 1M and 10M), ``SELECT * FROM t LIMIT N`` is run, ``--reps``
   times each, round robin, through:

   * **flight**: pyarrow's FlightClient with the JSON ticket ``influxdb3-python`` sends, on the
     HTTP port (one port, the gRPC connection relayed to the Flight server); the result read into
     an Arrow table (decoded);
   * **parquet**: ``GET /api/v3/query_sql?format=parquet``, the body read and decoded into an Arrow
     table with ``pyarrow.parquet``;
   * **json**: ``GET /api/v3/query_sql?format=json``, the body only received (not parsed: parsing
     10M rows of JSON into Python objects would cost more than the transfer; this favours JSON).

   Each run records the time to the first batch (Flight) or first body byte (HTTP), the total
   time, rows/s, and the server's peak RSS during the run (psutil polling every 10 ms).

Targets (issue 16): Flight >= 3x the JSON path and no slower than the Parquet path; server peak
RSS for the 10M-row query < 1 GB. Nothing is asserted; the table says PASS/MISS.

Only 127.0.0.1 is contacted; data lives in a temp dir removed at the end (``--keep-tmp`` keeps it).
The last line on stdout is the JSON of all results.
"""

from __future__ import annotations

import argparse
import io
import json
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

import psutil
import pyarrow.flight as flight
import pyarrow.parquet as pq
import requests

sys.path.insert(0, str(Path(__file__).resolve().parent))
from ingest import Server  # noqa: E402

from jupyter_influx3.engine import Engine  # noqa: E402


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def load(data_dir: Path, rows: int, body_lines: int = 100_000) -> float:
    """Write `rows` rows of table t in-process; returns seconds."""
    t0 = time.perf_counter()
    eng = Engine(str(data_dir), node_id="bench-load")
    try:
        for start in range(0, rows, body_lines):
            end = min(rows, start + body_lines)
            body = "\n".join(f"t,host=h{i % 1000} f={i * 0.25},i={i}i,g={i % 97 * 1.5} {1_000_000_000 + i}"
                             for i in range(start, end))
            eng.write_lp("bench", body, "nanosecond")
            if start // body_lines % 10 == 0:
                log(f"  loaded {end:,} rows")
    finally:
        eng.close()
    return time.perf_counter() - t0


class PeakRss:
    """Peak RSS of a process and its children (the workers of `influx3 serve`, one per core by
    default) while the `with` block runs (psutil polling, summed)."""

    def __init__(self, pid: int):
        self.proc = psutil.Process(pid)
        self.peak = 0
        self._done = threading.Event()

    def _rss(self) -> int:
        total = 0
        for p in [self.proc, *self.proc.children(recursive=True)]:
            try:
                total += p.memory_info().rss
            except psutil.Error:   # a worker that just exited
                pass
        return total

    def __enter__(self):
        self.peak = self._rss()
        self._thread = threading.Thread(target=self._watch, daemon=True)
        self._thread.start()
        return self

    def _watch(self):
        while not self._done.is_set():
            self.peak = max(self.peak, self._rss())
            time.sleep(0.01)

    def __exit__(self, *exc):
        self._done.set()
        self._thread.join()


def via_flight(client: flight.FlightClient, query: str) -> tuple[int, float]:
    """(rows, seconds to first batch) for one Flight DoGet read whole into a table."""
    t0 = time.perf_counter()
    reader = client.do_get(flight.Ticket(json.dumps({"database": "bench", "sql_query": query,
                                                     "query_type": "sql"}).encode()))
    first = None
    batches = []
    for chunk in reader:
        if first is None:
            first = time.perf_counter() - t0
        batches.append(chunk.data)
    return sum(b.num_rows for b in batches), first or 0.0


def via_http(url: str, query: str, fmt: str) -> tuple[int, float]:
    t0 = time.perf_counter()
    with requests.get(f"{url}/api/v3/query_sql", params={"db": "bench", "q": query, "format": fmt},
                      stream=True, timeout=3600) as r:
        r.raise_for_status()
        first = None
        parts = []
        for chunk in r.iter_content(1 << 20):
            if first is None:
                first = time.perf_counter() - t0
            parts.append(chunk)
    body = b"".join(parts)
    if fmt == "parquet":
        rows = pq.read_table(io.BytesIO(body)).num_rows
    else:
        rows = -1  # not parsed (see the module docstring)
    return rows, first or 0.0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rows", default="1000000,10000000", help="comma-separated row counts (default 1M,10M)")
    ap.add_argument("--reps", type=int, default=3, help="timed runs per path and size (median shown)")
    ap.add_argument("--keep-tmp", action="store_true")
    ap.add_argument("--json", default=None, metavar="FILE")
    args = ap.parse_args()
    sizes = [int(x) for x in args.rows.split(",")]
    tmp = Path(tempfile.mkdtemp(prefix="influx3-flight-bench-"))
    data_dir = tmp / "data"
    results: dict = {"sizes": sizes, "reps": args.reps, "runs": []}
    log(f"loading {max(sizes):,} rows into {data_dir}")
    results["load_s"] = load(data_dir, max(sizes))
    server = Server(data_dir, node_id="bench-flight").start()
    try:
        client = flight.connect(server.url.replace("http://", "grpc://"))
        for size in sizes:
            query = f"SELECT * FROM t LIMIT {size}"
            via_flight(client, "SELECT count(*) FROM t")  # warm up (DuckDB setup, file metadata)
            for rep in range(args.reps):
                for path in ("flight", "parquet", "json"):
                    with PeakRss(server.proc.pid) as rss:
                        t0 = time.perf_counter()
                        if path == "flight":
                            rows, first = via_flight(client, query)
                        else:
                            rows, first = via_http(server.url, query, path)
                        took = time.perf_counter() - t0
                    if rows not in (-1, size):
                        raise SystemExit(f"{path}: {rows} rows, expected {size}")
                    run = {"size": size, "path": path, "rep": rep, "seconds": took, "first_s": first,
                           "rows_per_s": size / took, "server_peak_rss": rss.peak}
                    results["runs"].append(run)
                    log(f"  {size:>10,} {path:8} {took:7.2f} s  first {first * 1000:7.1f} ms  "
                        f"{size / took:>12,.0f} rows/s  peak RSS {rss.peak / 2**20:,.0f} MiB")
        client.close()
    finally:
        server.stop()
    summary = []
    print(f"{'rows':>11} {'path':8} {'median s':>9} {'rows/s':>13} {'first batch ms':>15} {'peak RSS MiB':>13}")
    for size in sizes:
        med = {}
        for path in ("flight", "parquet", "json"):
            runs = [r for r in results["runs"] if r["size"] == size and r["path"] == path]
            m = statistics.median(r["seconds"] for r in runs)
            first = statistics.median(r["first_s"] for r in runs)
            peak = max(r["server_peak_rss"] for r in runs)
            med[path] = m
            summary.append({"size": size, "path": path, "median_s": m, "rows_per_s": size / m,
                            "first_ms": first * 1000, "peak_rss": peak})
            print(f"{size:>11,} {path:8} {m:9.2f} {size / m:13,.0f} {first * 1000:15.1f} {peak / 2**20:13,.0f}")
        vs_json = med["json"] / med["flight"]
        vs_parquet = med["parquet"] / med["flight"]
        print(f"{'':11} flight vs json {vs_json:.1f}x ({'PASS' if vs_json >= 3 else 'MISS'} >= 3x), "
              f"vs parquet {vs_parquet:.2f}x ({'PASS' if vs_parquet >= 1 else 'MISS'} >= 1x)")
    big = max(sizes)
    flight_peak = max(r["server_peak_rss"] for r in results["runs"] if r["size"] == big and r["path"] == "flight")
    print(f"server peak RSS during the {big:,}-row Flight query: {flight_peak / 2**20:,.0f} MiB "
          f"({'PASS' if flight_peak < 1e9 else 'MISS'} < 1 GB)")
    results["summary"] = summary
    results["loadavg"] = list(psutil.getloadavg())
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2))
    if not args.keep_tmp:
        import shutil

        shutil.rmtree(tmp, ignore_errors=True)
    print(json.dumps(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
