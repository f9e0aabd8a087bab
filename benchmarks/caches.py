#!/usr/bin/env python3
"""Last-value cache benchmark: "latest value per host" through `last_cache()` against the same
answer from plain SQL over the table and from InfluxDB 1.6.7's TSBS `lastpoint`, in the same run;
and what two caches cost the write path.

Steps:

  1. gen_cpu.py 100 5000 (500K TSBS cpu-only lines) into a temp dir.
  2. Write-path cost: fresh `influx3 serve` instances load the file with shared/bench/load.py
     (2 connections, 5,000-line batches), alternately without caches and with two caches defined
     before the load (an LVC on `hostname` over all other columns, a DVC on `region, hostname`);
     the table is created first on both (same schema) so the only difference is the caches.
     --ingest-rounds pairs (default 2); medians of lines/s and of the server's CPU seconds.
  3. Latency on the last server with caches, data as loaded (WAL/buffer and the Parquet snapshots
     the load triggered): GET /api/v3/query_sql?format=json over one keep-alive connection each,
     one warm-up, then --reps rounds alternating the queries (median of the whole round trip):
       lvc-all   SELECT * FROM last_cache('cpu')
       lvc-one   SELECT * FROM last_cache('cpu') WHERE hostname = 'host_42'
       sql-all   SELECT DISTINCT ON (hostname) * FROM cpu ORDER BY hostname, time DESC   (our lastpoint)
       sql-one   SELECT * FROM cpu WHERE hostname = 'host_42' ORDER BY time DESC LIMIT 1
       1.6.7-all SELECT last(*) FROM cpu GROUP BY hostname          (InfluxDB 1.6.7, /query, epoch=ns)
       1.6.7-one SELECT last(*) FROM cpu WHERE hostname = 'host_42'
     The cache's answer must equal our lastpoint SQL's (rows compared as dicts).
  4. Restart (SIGTERM, start on the same data dir): the first `lvc-all` after start is timed on
     its own (the cache was filled from Parquet at start, so it already answers), then the medians again.

Targets (issue 12): lvc-one < 2 ms and lvc-all < 5 ms over HTTP; >= 20x faster than 1.6.7's
lastpoint; ingest with two caches within 10% of ingest without.  Nothing asserts on time.  Only
127.0.0.1 is contacted.  The last line on stdout is the JSON of all results (--json FILE too).
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
import urllib.parse
from pathlib import Path

import requests

sys.path.insert(0, str(Path(__file__).resolve().parent))
from ingest import (INFLUX1, Http, Server, add_tsbs_args, generate_tsbs, influx1_loaded,  # noqa: E402
                    influx1_stop, log, med, record_failure, run_info, run_load_py, shared_dir, text_table)

DB1 = "bench_caches"   # the database on InfluxDB 1.6.7 (other benchmarks use others)
HOST = "host_42"
TAGS = ["hostname", "region", "datacenter", "rack", "os", "arch", "team", "service", "service_version",
        "service_environment"]
FIELDS = ["usage_user", "usage_system", "usage_idle", "usage_nice", "usage_iowait", "usage_irq", "usage_softirq",
          "usage_steal", "usage_guest", "usage_guest_nice"]
Q3 = {
    "lvc-all": "SELECT * FROM last_cache('cpu')",
    "lvc-one": f"SELECT * FROM last_cache('cpu') WHERE hostname = '{HOST}'",
    "sql-all": "SELECT DISTINCT ON (hostname) * FROM cpu ORDER BY hostname, time DESC",
    "sql-one": f"SELECT * FROM cpu WHERE hostname = '{HOST}' ORDER BY time DESC LIMIT 1",
}
Q1 = {
    "1.6.7-all": "SELECT last(*) FROM cpu GROUP BY hostname",
    "1.6.7-one": f"SELECT last(*) FROM cpu WHERE hostname = '{HOST}'",
}


def sql_path(q: str) -> str:
    return "/api/v3/query_sql?" + urllib.parse.urlencode({"db": "bench", "q": q, "format": "json"})


def v1_path(q: str) -> str:
    return "/query?" + urllib.parse.urlencode({"db": DB1, "q": q, "epoch": "ns"})


def prepare(url: str, caches: bool) -> None:
    """The cpu table (same schema either way), and with `caches` the two caches, before the load."""
    r = requests.post(url + "/api/v3/configure/table", json={
        "db": "bench", "table": "cpu", "tags": TAGS, "fields": [{"name": f, "type": "int64"} for f in FIELDS]},
        timeout=60)
    r.raise_for_status()
    if caches:
        r = requests.post(url + "/api/v3/configure/last_cache",
                          json={"db": "bench", "table": "cpu", "key_columns": ["hostname"]}, timeout=60)
        r.raise_for_status()
        r = requests.post(url + "/api/v3/configure/distinct_cache",
                          json={"db": "bench", "table": "cpu", "columns": ["region", "hostname"]}, timeout=60)
        r.raise_for_status()


def ingest_cost(args, shared: Path, tmp: Path, data: Path, results: dict) -> Server:
    """Alternating loads without / with caches; returns the last server with caches, still running."""
    runs: dict = {"none": [], "caches": []}
    keep = None
    for i in range(args.ingest_rounds):
        for mode in ("none", "caches"):
            srv = Server(tmp / f"ingest-{mode}-{i}").start()
            try:
                prepare(srv.url, mode == "caches")
                log(f"round {i + 1}, {mode}: loading into {srv.url} (load average {os.getloadavg()[0]:.2f})")
                load = run_load_py(shared, data, f"{srv.url}/api/v3/write_lp?db=bench&precision=nanosecond",
                                   args.batch, args.workers, watch_pid=srv.proc.pid)
                if load["errors"]:
                    raise RuntimeError(f"load.py reported {load['errors']} failed batches")
                runs[mode].append(load)
            finally:
                if mode == "caches" and i == args.ingest_rounds - 1:
                    keep = srv
                else:
                    srv.stop()
                    shutil.rmtree(srv.data_dir, ignore_errors=True)
    out = {}
    for mode, loads in runs.items():
        out[mode] = {"lines_per_s": [r["lines_per_s"] for r in loads],
                     "server_cpu_s": [r.get("server_cpu_s") for r in loads],
                     "median_lines_per_s": statistics.median(r["lines_per_s"] for r in loads)}
        cpu = [r["server_cpu_s"] for r in loads if r.get("server_cpu_s") is not None]
        out[mode]["median_server_cpu_s"] = statistics.median(cpu) if cpu else None
    out["rate_ratio"] = round(out["caches"]["median_lines_per_s"] / out["none"]["median_lines_per_s"], 3)
    if out["none"]["median_server_cpu_s"] and out["caches"]["median_server_cpu_s"]:
        out["cpu_ratio"] = round(out["caches"]["median_server_cpu_s"] / out["none"]["median_server_cpu_s"], 3)
    results["ingest"] = out
    return keep


def rows_by_host(body: bytes) -> dict:
    return {r["hostname"]: r for r in json.loads(body)}


class _Reconnecting(Http):
    """The shared InfluxDB 1.6.7 may be restarted by another benchmark: reconnect once, then give up."""

    def get(self, path: str) -> tuple[int, bytes]:
        try:
            return super().get(path)
        except (ConnectionError, http.client.HTTPException):
            self.close()
            self.c = Http(INFLUX1).c
            return super().get(path)


def latency(srv: Server, reps: int, results: dict, state: str, with_influx1: bool) -> None:
    h3 = Http(srv.url)
    h1 = _Reconnecting(INFLUX1) if with_influx1 else None
    times: dict = {name: [] for name in list(Q3) + (list(Q1) if with_influx1 else [])}
    bodies = {}
    try:
        for name, q in Q3.items():               # warm-up, answers kept for the check
            status, bodies[name] = h3.get(sql_path(q))
            if status != 200:
                raise RuntimeError(f"{name}: HTTP {status} {bodies[name][:300]!r}")
        if h1 is not None:
            for name, q in Q1.items():
                status, body = h1.get(v1_path(q))
                if status != 200:
                    raise RuntimeError(f"{name}: HTTP {status} {body[:300]!r}")
        for _ in range(reps):
            for name, q in Q3.items():
                t0 = time.perf_counter()
                h3.get(sql_path(q))
                times[name].append((time.perf_counter() - t0) * 1000)
            if h1 is not None:
                for name, q in Q1.items():
                    t0 = time.perf_counter()
                    h1.get(v1_path(q))
                    times[name].append((time.perf_counter() - t0) * 1000)
    finally:
        h3.close()
        if h1 is not None:
            h1.close()
    lvc, sql = rows_by_host(bodies["lvc-all"]), rows_by_host(bodies["sql-all"])
    one = json.loads(bodies["lvc-one"])
    results[state] = {
        "median_ms": {n: med(t) for n, t in times.items()},
        "same_answer": lvc == sql and len(lvc) > 0,
        "hosts": len(lvc),
        "one_host_ok": len(one) == 1 and one[0] == sql.get(HOST),
        "loadavg": os.getloadavg()[0],
    }
    log(f"{state}: {results[state]['median_ms']}; same answer {results[state]['same_answer']}")


def summary(results: dict) -> str:
    rows = []
    for state in ("loaded", "restarted"):
        s = results.get(state)
        if not s:
            continue
        m = s["median_ms"]
        for scope in ("all", "one"):
            lvc, sql, ref = m.get(f"lvc-{scope}"), m.get(f"sql-{scope}"), m.get(f"1.6.7-{scope}")
            rows.append([state, "100 hosts" if scope == "all" else f"1 host ({HOST})", f"{lvc:.2f}", f"{sql:.2f}",
                         f"{sql / lvc:.1f}x", f"{ref:.2f}" if ref else "-", f"{ref / lvc:.1f}x" if ref else "-"])
    out = text_table(["state", "answer", "last_cache ms", "SQL lastpoint ms", "SQL/LVC", "1.6.7 lastpoint ms",
                      "1.6.7/LVC"], rows, left={0, 1})
    ing = results.get("ingest")
    if ing:
        out += (f"\n\ningest, median lines/s: no caches {ing['none']['median_lines_per_s']:,}, two caches "
                f"{ing['caches']['median_lines_per_s']:,} (ratio {ing['rate_ratio']:.3f}); server CPU s: "
                f"{ing['none']['median_server_cpu_s']} vs {ing['caches']['median_server_cpu_s']}"
                + (f" (ratio {ing['cpu_ratio']:.3f})" if "cpu_ratio" in ing else ""))
    if "first_query_after_restart_ms" in results:
        out += f"\nfirst last_cache('cpu') after a restart: {results['first_query_after_restart_ms']:.1f} ms, " \
               f"{results['first_query_after_restart_hosts']} hosts"
    return out


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--reps", type=int, default=200, help="timed rounds of the queries (200)")
    p.add_argument("--ingest-rounds", type=int, default=2, help="load pairs without/with caches (2)")
    p.add_argument("--no-influx1", action="store_true", help="influx3 only (no apt, no 1.6.7 column)")
    p.add_argument("--keep-tmp", action="store_true", help="keep the temp dir")
    add_tsbs_args(p)
    args = p.parse_args()
    shared = shared_dir()
    tmp = Path(tempfile.mkdtemp(prefix="influx3-cachebench-", dir=args.tmp))
    log(f"temp dir {tmp}")
    results = run_info(args)
    errors: dict = {}
    srv = None
    started1 = False
    try:
        data, nlines = generate_tsbs(args, shared, tmp)
        if not args.no_influx1:
            started1 = influx1_loaded(args, shared, data, nlines, DB1, results)
        srv = ingest_cost(args, shared, tmp, data, results)
        latency(srv, args.reps, results, "loaded", not args.no_influx1)
        code, secs = srv.stop()
        results["sigterm_stop"] = {"exit_code": code, "seconds": round(secs, 2)}
        srv = Server(srv.data_dir, srv.node_id).start()
        h = Http(srv.url)
        t0 = time.perf_counter()
        status, body = h.get(sql_path(Q3["lvc-all"]))
        results["first_query_after_restart_ms"] = round((time.perf_counter() - t0) * 1000, 2)
        results["first_query_after_restart_hosts"] = len(json.loads(body)) if status == 200 else None
        h.close()
        latency(srv, args.reps, results, "restarted", not args.no_influx1)
    except Exception as exc:
        record_failure(errors, "run", exc)
    finally:
        if srv is not None and srv.proc is not None and srv.proc.poll() is None:
            srv.stop()
        if started1 and not args.keep_influx1:
            influx1_stop(shared)
        if not args.keep_tmp:
            shutil.rmtree(tmp, ignore_errors=True)
    if errors:
        results["errors"] = errors
    results["machine"]["loadavg_end"] = os.getloadavg()
    print()
    print(summary(results))
    text = json.dumps(results)
    if args.json:
        Path(args.json).write_text(text + "\n")
    print(text)
    same = all(results.get(s, {}).get("same_answer", False) for s in ("loaded", "restarted"))
    return 1 if errors or not same else 0


if __name__ == "__main__":
    sys.exit(main())
