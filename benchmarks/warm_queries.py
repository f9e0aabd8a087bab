#!/usr/bin/env python3
"""Small InfluxQL queries in the steady state: wall and server CPU per request when one client sends
the same query over and over, on influx3 serve and on InfluxDB 1.6.7 (and, with --baseline, on a
second influx3 build), in the same run.

`queries_influxql.py` times five runs per query right after the warm-up, alternating one request
to each server: it measures a server's first requests of a text, with CPU caches the other server
just used. This one measures the opposite end: --n requests in a row per server and round (after
100 untimed ones), the servers taking turns round by round (--rounds), so each sees the same
machine. What a dashboard refreshing a panel sees lies between the two.

Steps: gen_cpu.py (500K TSBS lines by default) into a temp dir; InfluxDB 1.6.7
(shared/bench/influx1.sh) gets it in database `bench_warm`; each influx3 build is started on its
own temp data dir (no snapshot until SIGTERM) and loaded with shared/bench/load.py. Buffer state,
then every influx3 server is stopped with SIGTERM and restarted (Parquet state), and the same
again. Server CPU is user + system of the server's process tree (psutil) over the timed requests.
Only 127.0.0.1 is contacted; nothing asserts on time.

    python3 benchmarks/warm_queries.py                               # ~3 min
    python3 benchmarks/warm_queries.py --baseline /tmp/basewt        # A/B: also the build in /tmp/basewt
    python3 benchmarks/warm_queries.py --queries single-groupby-1-1-1 --n 3000 --rounds 6
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

sys.path.insert(0, str(Path(__file__).resolve().parent))
import ingest  # noqa: E402
from ingest import (INFLUX1, Http, Server, add_tsbs_args, generate_tsbs, influx1_loaded, influx1_pid,  # noqa: E402
                    influx1_stop, log, record_failure, restart_after_sigterm, run_info, run_load_py, shared_dir,
                    text_table, tree_cpu_s, wait_idle)
from queries_influxql import query_path  # noqa: E402
from queries_sql import influxql_queries  # noqa: E402

DB1 = "bench_warm"   # the database on InfluxDB 1.6.7
#: the small TSBS queries, where a fixed cost per request decides the ratio (InfluxDB 1.6.7 takes
#: ~45 ms for count-all: 1,100 of them per round and state are minutes)
DEFAULT_QUERIES = "single-groupby-1-1-1,cpu-max-all-1,high-cpu-1"
UNTIMED = 100


def block(url: str, path: str, pid: int, n: int) -> tuple[float, float]:
    """(median wall µs, server CPU µs per request) of `n` GETs of `path` in a row on one connection."""
    h = Http(url)
    try:
        for _ in range(UNTIMED):
            status, body = h.get(path)
            if status != 200:
                raise RuntimeError(f"HTTP {status} from {url}: {body[:200]!r}")
        walls = []
        cpu0 = tree_cpu_s(pid)
        for _ in range(n):
            t0 = time.perf_counter()
            h.get(path)
            walls.append(time.perf_counter() - t0)
        cpu = tree_cpu_s(pid) - cpu0
    finally:
        h.close()
    return statistics.median(walls) * 1e6, cpu / n * 1e6


def run_state(state: str, names: list[str], influxql: dict, servers: dict, args, results: dict) -> None:
    log(f"--- state {state}; load average {os.getloadavg()[0]:.2f}")
    for name in names:
        got: dict = {k: [] for k in servers}
        for r in range(args.rounds):
            order = list(servers) if r % 2 == 0 else list(reversed(list(servers)))
            for key in order:
                url, pid, db = servers[key]
                got[key].append(block(url, query_path(db, influxql[name]), pid, args.n))
        s = {k: {"wall_us": round(statistics.median(w for w, _ in v)), "cpu_us": round(statistics.median(c for _, c in v)),
                 "rounds": [[round(w), round(c)] for w, c in v]} for k, v in got.items()}
        s["ratio_wall"] = round(s["influx3"]["wall_us"] / s["influx1"]["wall_us"], 3)
        results["queries"].setdefault(name, {})[state] = s
        log(f"{state:7s} {name:24s} " + "  ".join(f"{k} {v['wall_us']:6d} µs wall {v['cpu_us']:6d} µs CPU"
                                                   for k, v in s.items() if isinstance(v, dict))
            + f"  x{s['ratio_wall']:.2f}")


def summary(results: dict, names: list[str], keys: list[str]) -> str:
    head = ["query", "state"] + [f"{k} {x}" for k in keys for x in ("wall µs", "CPU µs")] + ["influx3 / 1.6.7 wall"]
    rows = []
    for name in names:
        for st in ("buffer", "parquet"):
            s = results["queries"].get(name, {}).get(st)
            if s:
                rows.append([name, st] + [s[k][x] for k in keys for x in ("wall_us", "cpu_us")] + [f"{s['ratio_wall']:.2f}"])
    return text_table(head, rows, left={0, 1})


def start_loaded(args, shared: Path, data: Path, nlines: int, data_dir: Path, src: str | None) -> Server:
    srv = Server(data_dir, node_id="warm")
    if src:   # another build: its checkout first on the path, started from outside this one
        srv.env, srv.cwd = dict(os.environ, PYTHONPATH=src), tempfile.gettempdir()
    srv.start()
    load = run_load_py(shared, data, f"{srv.url}/api/v3/write_lp?db=bench&precision=nanosecond", args.batch,
                       args.workers)
    if load["errors"]:
        srv.stop()
        raise RuntimeError(f"load.py reported {load['errors']} failed batches")
    return srv


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--queries", default=DEFAULT_QUERIES, help=f"comma-separated TSBS queries ({DEFAULT_QUERIES})")
    p.add_argument("--n", type=int, default=1000, help="timed requests per server and round (1000)")
    p.add_argument("--rounds", type=int, default=4, help="rounds; the servers take turns (4)")
    p.add_argument("--baseline", metavar="DIR", default=None,
                   help="also serve the build checked out in DIR (e.g. a git worktree), as `baseline`")
    add_tsbs_args(p)
    args = p.parse_args()
    ingest.apply_server_args(args)
    shared = shared_dir()
    influxql = influxql_queries(shared)
    names = [n.strip() for n in args.queries.split(",") if n.strip()]
    bad = [n for n in names if n not in influxql]
    if bad:
        p.error(f"unknown queries {bad}; known: {', '.join(influxql)}")
    tmp = Path(tempfile.mkdtemp(prefix="influx3-warm-", dir=args.tmp))
    results = run_info(args)
    results.update(queries={}, influxql={n: influxql[n] for n in names})
    errors: dict = {}
    procs: dict[str, Server] = {}
    started1 = False
    try:
        data, nlines = generate_tsbs(args, shared, tmp)
        started1 = influx1_loaded(args, shared, data, nlines, DB1, results)
        Server.extra_flags = [*Server.extra_flags, "--snapshot-rows", str(2 * nlines)]
        builds = {"influx3": None, **({"baseline": args.baseline} if args.baseline else {})}
        for key, src in builds.items():
            procs[key] = start_loaded(args, shared, data, nlines, tmp / key, src)
        for state in ("buffer", "parquet"):
            if state == "parquet":
                for key in builds:
                    procs[key] = restart_after_sigterm(procs[key], results.setdefault("restarts", {}))
            results.setdefault("waited_idle_s", {})[state] = [wait_idle(influx1_pid())] + [
                wait_idle(s.proc.pid) for s in procs.values()]
            servers = {k: (s.url, s.proc.pid, "bench") for k, s in procs.items()}
            servers["influx1"] = (INFLUX1, influx1_pid(), DB1)
            run_state(state, names, influxql, servers, args, results)
    except Exception as exc:
        record_failure(errors, "run", exc)
    finally:
        for s in procs.values():
            if s.proc is not None and s.proc.poll() is None:
                s.stop()
        if started1 and not args.keep_influx1:
            influx1_stop(shared)
        shutil.rmtree(tmp, ignore_errors=True)
    if errors:
        results["errors"] = errors
    results["machine"]["loadavg_end"] = os.getloadavg()
    keys = ["influx3", *(["baseline"] if args.baseline else []), "influx1"]
    print()
    print(summary(results, names, keys))
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=1))
    print(json.dumps(results))
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
