#!/usr/bin/env python3
"""Processing-engine benchmark: what WAL triggers cost the write path, and the round trip of a
trivial request trigger over HTTP (issue 13).

Steps:

  1. gen_cpu.py 100 5000 (500K TSBS cpu-only lines) into a temp dir.
  2. Fresh `influx3 serve --plugin-dir DIR` instances load the file with shared/bench/load.py
     (2 connections, 5,000-line batches), in alternating rounds of three modes:
       none    no trigger
       noop    an `all_tables` trigger whose plugin returns at once (never looks at the rows)
       reads   an `all_tables` trigger that reads every row dict (sums a field over all rows) and
               writes one `seen` line per call with the row count
     The rate is load.py's (lines / wall time of the load). For `reads` the time until the plugin
     has seen every row (sum of `seen.rows` = lines loaded) is also reported: WAL triggers run
     behind the write path, so "caught up" is the fair end of that load.
  3. On the last server: a request trigger returning "ok"; --reps GETs of /api/v3/engine/ping
     over one keep-alive connection after a warm-up; the median round trip.

Targets: noop costs <= 20% of the no-trigger rate; the request round trip <= 3 ms (median).
Nothing asserts on time. Only 127.0.0.1 is contacted. The last stdout line is the JSON of the results.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

import requests

sys.path.insert(0, str(Path(__file__).resolve().parent))
from ingest import (Http, Server, add_tsbs_args, generate_tsbs, log, med, record_failure, run_info,  # noqa: E402
                    run_load_py, shared_dir, text_table)

NOOP = "def process_writes(influxdb3_local, table_batches, args=None):\n    return None\n"
READS = """
def process_writes(influxdb3_local, table_batches, args=None):
    n, total = 0, 0
    for b in table_batches:
        if b["table_name"] != "cpu":
            continue
        for row in b["rows"]:
            n += 1
            total += row.get("usage_user", 0)
    if n:
        influxdb3_local.write(LineBuilder("seen").int64_field("rows", n).int64_field("total", total))
"""
PING = ("def process_request(influxdb3_local, query_parameters, request_headers, request_body, args=None):\n"
        "    return 'ok'\n")


def plugin_server(data_dir: Path, plugin_dir: Path) -> Server:
    srv = Server(data_dir)
    srv.cmd += ["--plugin-dir", str(plugin_dir)]
    return srv.start()


def trigger(url: str, name: str, filename: str, spec: str) -> None:
    r = requests.post(url + "/api/v3/configure/processing_engine_trigger", json={
        "db": "bench", "plugin_filename": filename, "trigger_name": name, "trigger_specification": spec,
        "trigger_settings": {"run_async": False, "error_behavior": "log"}, "disabled": False}, timeout=60)
    r.raise_for_status()


def seen_rows(url: str) -> int:
    r = requests.post(url + "/api/v3/query_sql", json={"db": "bench", "q": "SELECT sum(rows) AS n FROM seen",
                                                      "format": "json"}, timeout=60)
    if r.status_code != 200:
        return 0
    return int(r.json()[0]["n"] or 0)


def load_round(args, shared: Path, tmp: Path, data: Path, nlines: int, plugin_dir: Path, mode: str,
               i: int) -> tuple[dict, Server]:
    srv = plugin_server(tmp / f"{mode}-{i}", plugin_dir)
    requests.post(srv.url + "/api/v3/configure/database", json={"db": "bench"}, timeout=60).raise_for_status()
    if mode != "none":
        trigger(srv.url, mode, f"{mode}.py", "all_tables")
    log(f"round {i + 1}, {mode}: loading into {srv.url} (load average {os.getloadavg()[0]:.2f})")
    t0 = time.perf_counter()
    load = run_load_py(shared, data, f"{srv.url}/api/v3/write_lp?db=bench&precision=nanosecond",
                       args.batch, args.workers, watch_pid=srv.proc.pid)
    if load["errors"]:
        raise RuntimeError(f"load.py reported {load['errors']} failed batches")
    if mode == "reads":
        deadline = time.monotonic() + 600
        while (got := seen_rows(srv.url)) < nlines and time.monotonic() < deadline:
            time.sleep(0.05)
        load["caught_up_s"] = round(time.perf_counter() - t0, 3)
        load["seen_rows"] = got
        load["caught_up_lines_per_s"] = round(nlines / load["caught_up_s"])
    return load, srv


def request_latency(srv: Server, plugin_dir: Path, reps: int) -> dict:
    trigger(srv.url, "ping", "ping.py", "request:ping")
    h = Http(srv.url)
    try:
        for _ in range(20):
            status, body = h.get("/api/v3/engine/ping")
            if status != 200 or body != b"ok":
                raise RuntimeError(f"request trigger: HTTP {status} {body[:200]!r}")
        times = []
        for _ in range(reps):
            t0 = time.perf_counter()
            h.get("/api/v3/engine/ping")
            times.append((time.perf_counter() - t0) * 1000)
    finally:
        h.close()
    return {"median_ms": med(times), "p90_ms": round(sorted(times)[int(len(times) * 0.9)], 2), "reps": reps}


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--rounds", type=int, default=2, help="rounds of the three loads (2)")
    p.add_argument("--reps", type=int, default=500, help="request-trigger round trips timed (500)")
    p.add_argument("--keep-tmp", action="store_true", help="keep the temp dir")
    add_tsbs_args(p)
    args = p.parse_args()
    shared = shared_dir()
    tmp = Path(tempfile.mkdtemp(prefix="influx3-pluginbench-", dir=args.tmp))
    plugin_dir = tmp / "plugins"
    plugin_dir.mkdir()
    for name, code in (("noop", NOOP), ("reads", READS), ("ping", PING)):
        (plugin_dir / f"{name}.py").write_text(code)
    log(f"temp dir {tmp}")
    results = run_info(args)
    errors: dict = {}
    runs: dict = {"none": [], "noop": [], "reads": []}
    try:
        data, nlines = generate_tsbs(args, shared, tmp)
        last = None
        for i in range(args.rounds):
            for mode in runs:
                load, srv = load_round(args, shared, tmp, data, nlines, plugin_dir, mode, i)
                runs[mode].append(load)
                if i == args.rounds - 1 and mode == "none":
                    last = srv
                else:
                    srv.stop()
                    shutil.rmtree(srv.data_dir, ignore_errors=True)
        results["loads"] = {m: {"lines_per_s": [r["lines_per_s"] for r in rs],
                                "median_lines_per_s": statistics.median(r["lines_per_s"] for r in rs),
                                "server_cpu_s": [r.get("server_cpu_s") for r in rs],
                                **({"caught_up_lines_per_s": [r["caught_up_lines_per_s"] for r in rs],
                                    "seen_rows": [r["seen_rows"] for r in rs]} if m == "reads" else {})}
                            for m, rs in runs.items()}
        base = results["loads"]["none"]["median_lines_per_s"]

        def cpu(m):
            got = [c for c in results["loads"][m]["server_cpu_s"] if c is not None]
            return statistics.median(got) if got else None

        for m in ("noop", "reads"):
            results["loads"][m]["ratio_to_none"] = round(results["loads"][m]["median_lines_per_s"] / base, 3)
            if cpu(m) and cpu("none"):
                # the server's CPU seconds over the load: steadier than wall-clock rates on a busy machine
                results["loads"][m]["cpu_ratio_to_none"] = round(cpu(m) / cpu("none"), 3)
        reads = results["loads"]["reads"]
        reads["caught_up_ratio_to_none"] = round(statistics.median(reads["caught_up_lines_per_s"]) / base, 3)
        results["request_trigger"] = request_latency(last, plugin_dir, args.reps)
        last.stop()
    except Exception as exc:
        record_failure(errors, "run", exc)
    finally:
        if not args.keep_tmp:
            shutil.rmtree(tmp, ignore_errors=True)
    if errors:
        results["errors"] = errors
    results["machine"]["loadavg_end"] = os.getloadavg()
    if "loads" in results:
        L = results["loads"]
        rows = [[m, f"{L[m]['median_lines_per_s']:,.0f}", f"{L[m].get('ratio_to_none', 1.0):.3f}",
                 f"{L[m].get('cpu_ratio_to_none', 1.0):.3f}",
                 f"{statistics.median(L[m]['caught_up_lines_per_s']):,.0f}" if m == "reads" else "-"]
                for m in ("none", "noop", "reads")]
        print()
        print(text_table(["trigger", "lines/s (median)", "rate vs none", "server CPU vs none",
                          "lines/s until the plugin saw all"], rows, left={0}))
    if "request_trigger" in results:
        rt = results["request_trigger"]
        print(f"request trigger round trip: median {rt['median_ms']} ms, p90 {rt['p90_ms']} ms ({rt['reps']} reps)")
    print(json.dumps(results))
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
