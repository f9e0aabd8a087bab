#!/usr/bin/env python3
"""InfluxQL query benchmark: the ten TSBS queries of shared/bench/queries.py on influx3 serve's
/query and on InfluxDB 1.6.7's, in the same run, with the answers compared.

Steps:

  1. gen_cpu.py 100 5000 (500K TSBS cpu-only lines) into a temp dir; start `influx3 serve` (temp
     data dir, free port on 127.0.0.1) and load the file with shared/bench/load.py (2 threads,
     5,000-line batches) into /api/v3/write_lp?db=bench&precision=nanosecond.
  2. InfluxDB 1.6.7 (shared/bench/influx1.sh start): drop and recreate the database `bench_influxql`
     only, load the same file into /write?db=bench_influxql.
  3. Buffer state (data only in the server's WAL/buffer, right after the load): for every query,
     GET /query?db=...&q=...&epoch=ns on both servers over one keep-alive connection each: a
     warm-up (--warmup runs each, 1 by default), then --reps timed runs alternating between the
     two (so both see the same machine load); median of the whole round trip including reading
     the body.  The JSON answers must be
     equal (parsed; the bodies are compared byte for byte too, for information).
  4. Parquet state: SIGTERM the server (it snapshots its buffer to Parquet), restart it on the
     same data dir, and time the same again (InfluxDB 1.6.7 is timed again next to it).
  5. In process: a second node (``Engine(data_dir, node_id="bench-influxql")``) times the same
     statements through ``Executor.execute``, without HTTP: the engine's share of each time.

With --fresh, every run of a query (warm-up and timed) sends a text neither server has seen: the
host number and the time range move by one (host_5 -> host_6, every epoch-seconds literal + 60 s),
as TSBS's own runner and a dashboard refreshing a moving range send new texts.  (lastpoint and
count-all name no host or time: their text stays, as in TSBS.)

The table shows both medians and the ratio influx3 / InfluxDB 1.6.7 per state; the target is a
ratio <= 1 (none slower than 1.6.7).  Beside it, per state, the *paired* ratios (each timed run of
influx3 over the 1.6.7 run right after it, which saw the same machine) and a distribution-free
confidence interval of their median (order statistics, ~95%; with 5 runs the interval is their
range, 94%): a ratio whose interval holds 1 is within the machine's noise, one whose interval lies
above 1 is slower beyond it.  Nothing asserts on time.  Only 127.0.0.1 is contacted.  The
last line on stdout is the JSON of all results (--json FILE too).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import re
import shutil
import statistics
import sys
import tempfile
import time
import urllib.parse
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import ingest  # noqa: E402
from ingest import (INFLUX1, Http, Server, add_tsbs_args, generate_tsbs, influx1_loaded,  # noqa: E402
                    influx1_stop, log, med, record_failure, restart_after_sigterm, run_info, serve_loaded,
                    shared_dir, text_table)
from queries_sql import influxql_queries  # noqa: E402

DB1 = "bench_influxql"  # the database on InfluxDB 1.6.7 (other benchmarks use `bench` there)


def query_path(db: str, q: str) -> str:
    return "/query?" + urllib.parse.urlencode({"db": db, "q": q, "epoch": "ns"})


_HOST = re.compile(r"'host_(\d+)'")
_EPOCH_S = re.compile(r"\b(\d{10})s\b")   # the queries' time bounds: epoch seconds


def fresh_text(q: str, k: int, hosts: int) -> str:
    """Run ``k`` of ``q`` under --fresh: every host moved by ``k`` (modulo ``hosts``), every time
    bound by ``k`` minutes (the data covers ~14 hours from the start: ranges stay within it)."""
    q = _HOST.sub(lambda m: f"'host_{(int(m.group(1)) + k) % hosts}'", q)
    return _EPOCH_S.sub(lambda m: f"{int(m.group(1)) + 60 * k}s", q)


def shape(body: bytes) -> dict:
    j = json.loads(body)
    res = j["results"][0]
    if "error" in res:
        raise RuntimeError(res["error"])
    series = res.get("series") or []
    return {"series": len(series), "rows": sum(len(s.get("values", [])) for s in series)}


def median_ci(xs: list[float], level: float = 0.95) -> tuple[float, float, float]:
    """(low, high, coverage): the order statistics x_(j) and x_(n+1-j) around the median of ``xs``
    with the largest j whose coverage, 1 - 2 P(Binomial(n, 1/2) <= j - 1), is at least ``level``
    (j = 1, the range, when none is: its coverage is then below ``level``).  Assumes nothing of
    the distribution but independent runs."""
    s, n = sorted(xs), len(xs)
    coverage = lambda j: 1 - 2 * sum(math.comb(n, i) for i in range(j)) / 2 ** n
    j = 1
    while j + 1 <= (n + 1) // 2 and coverage(j + 1) >= level:
        j += 1
    return s[j - 1], s[n - j], coverage(j)


def paired(s: dict) -> dict:
    """The paired ratios of a state's timed runs: their median and its confidence interval."""
    ratios = [a / b for a, b in zip(s["influx3_ms"], s["influx1_ms"]) if b]
    if not ratios:
        return {}
    lo, hi, cov = median_ci(ratios)
    return {"paired_ratio_median": round(statistics.median(ratios), 3), "paired_ratio_ci": [round(lo, 3), round(hi, 3)],
            "paired_ci_coverage": round(cov, 3)}


def run_state(state: str, names: list[str], influxql: dict, srv: Server, reps: int, results: dict,
              warmup: int = 1, fresh: int = 0) -> None:
    """``fresh``: 0, or the number of hosts (--fresh: a new text for every run, see fresh_text)."""
    h3, h1 = Http(srv.url), Http(INFLUX1)
    log(f"--- state {state}; load average {os.getloadavg()[0]:.2f}")
    try:
        for name in names:
            runs = [fresh_text(influxql[name], k, fresh) if fresh else influxql[name]
                    for k in range(warmup + reps)]
            s: dict = {}
            try:
                for q in runs[:warmup]:
                    st3, b3 = h3.get(query_path("bench", q))
                    st1, b1 = h1.get(query_path(DB1, q))
                if st3 != 200 or st1 != 200:
                    raise RuntimeError(f"HTTP influx3 {st3} {b3[:200]!r} / 1.6.7 {st1} {b1[:200]!r}")
                t3, t1 = [], []
                same = []   # per timed run: the two answers equal (parsed)
                for q in runs[warmup:]:
                    p3, p1 = query_path("bench", q), query_path(DB1, q)
                    t0 = time.perf_counter()
                    st3, b3 = h3.get(p3)
                    t3.append((time.perf_counter() - t0) * 1000)
                    t0 = time.perf_counter()
                    st1, b1 = h1.get(p1)
                    t1.append((time.perf_counter() - t0) * 1000)
                    same.append(st3 == st1 == 200 and json.loads(b3) == json.loads(b1))
                s["influx3_ms"], s["influx1_ms"] = t3, t1
                s["same_answer"] = all(same)
                s["same_bytes"] = b3 == b1
                s["influx3"], s["influx1"] = shape(b3), shape(b1)
                s["bytes"] = len(b3)
                ratio = med(t3) / med(t1) if med(t1) else float("inf")
                log(f"{state:7s} {name:24s} influx3 {med(t3):8.1f} ms  1.6.7 {med(t1):8.1f} ms  x{ratio:5.2f}  "
                    f"{'same answer' if s['same_answer'] else 'DIFFERENT ANSWER'}  rows {s['influx3']['rows']}")
            except Exception as exc:
                s["error"] = f"{type(exc).__name__}: {exc}"
                log(f"{state:7s} {name:24s} FAILED: {s['error']}")
            results["queries"].setdefault(name, {})[state] = s
    finally:
        h3.close()
        h1.close()


def run_in_process(data_dir: Path, names: list[str], influxql: dict, reps: int, results: dict) -> None:
    """The same statements through ``Executor.execute`` on a second node over the server's data
    directory (no HTTP): how much of each HTTP time is the engine's."""
    from jupyter_influx3.engine import Engine
    from jupyter_influx3.engine.influxql.executor import Executor

    eng = Engine(data_dir, node_id="bench-influxql", background=False)
    try:
        ex = Executor(eng)
        for name in names:
            list(ex.execute(influxql[name], database="bench"))  # warm-up (builds the series cache)
            times = []
            for _ in range(reps):
                t0 = time.perf_counter()
                res = list(ex.execute(influxql[name], database="bench"))
                for r in res:   # the rows' Python values /query's JSON is made of (made on first use)
                    for s in r.series:
                        s.col_data
                times.append((time.perf_counter() - t0) * 1000)
            if res[0].error:
                raise RuntimeError(f"{name}: {res[0].error}")
            results["in_process_ms"][name] = med(times)
            log(f"in-process {name:24s} {med(times):8.2f} ms")
    finally:
        eng.close()


def summary(results: dict, names: list[str]) -> str:
    head = ["query", "rows", "answers", "buffer: influx3 ms", "1.6.7 ms", "ratio", "parquet: influx3 ms", "1.6.7 ms",
            "ratio"]
    rows = []
    for name in names:
        r = results["queries"].get(name, {})
        line = [name]
        first = next((r[st] for st in ("buffer", "parquet") if st in r and "error" not in r[st]), None)
        line.append(f"{first['influx3']['rows']:,}" if first else "-")
        states = [r.get(st, {}) for st in ("buffer", "parquet")]
        ok = all("error" not in s and s.get("same_answer") for s in states if s)
        line.append("identical" if ok and first else "DIFFERENT" if first else "error")
        for s in states:
            if not s or "error" in s:
                line += ["error" if s else "-", "-", "-"]
                continue
            a, b = med(s["influx3_ms"]), med(s["influx1_ms"])
            line += [f"{a:,.1f}", f"{b:,.1f}", f"{a / b:.2f}" if b else "-"]
        rows.append(line)
    gm = geomeans(results, names)
    rows.append(["geometric mean", "", ""] + [x for st in ("buffer", "parquet")
                                              for x in ("", "", f"{gm[st]:.2f}" if gm[st] else "-")])
    return text_table(head, rows, left={0, 2})


def geomeans(results: dict, names: list[str]) -> dict:
    """Per state and over both: the geometric mean of the ratios influx3 / 1.6.7 (None if none)."""
    out: dict = {}
    every = []
    for st in ("buffer", "parquet"):
        ratios = []
        for name in names:
            s = results["queries"].get(name, {}).get(st, {})
            if s and "error" not in s and med(s["influx1_ms"]):
                ratios.append(med(s["influx3_ms"]) / med(s["influx1_ms"]))
        every += ratios
        out[st] = statistics.geometric_mean(ratios) if ratios else None
    out["both"] = statistics.geometric_mean(every) if every else None
    return out


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--reps", type=int, default=5, help="timed runs per query and server, after the warm-up (5)")
    p.add_argument("--warmup", type=int, default=1,
                   help="untimed runs per query and server first (1); a Python server specialises its code over "
                        "its first few requests, which a long TSBS run amortises and 5 timed runs do not")
    p.add_argument("--queries", default="", help="comma-separated subset (default: all ten)")
    p.add_argument("--fresh", action="store_true",
                   help="a new text for every run (another host, the range a minute later), as TSBS's runner sends")
    add_tsbs_args(p)
    p.add_argument("--keep-tmp", action="store_true", help="keep the temp dir")
    args = p.parse_args()
    ingest.apply_server_args(args)
    if args.warmup < 1:
        p.error("--warmup must be at least 1 (the warm-up also checks both servers answer)")

    shared = shared_dir()
    influxql = influxql_queries(shared)
    names = [n.strip() for n in args.queries.split(",") if n.strip()] or list(influxql)
    bad = [n for n in names if n not in influxql]
    if bad:
        p.error(f"unknown queries {bad}; known: {', '.join(influxql)}")
    fresh = args.hosts if args.fresh else 0
    tmp = Path(tempfile.mkdtemp(prefix="influx3-iqbench-", dir=args.tmp))
    log(f"temp dir {tmp}")
    results = run_info(args)
    results.update(queries={}, influxql={n: influxql[n] for n in names})
    errors: dict = {}
    srv = None
    started1 = False
    try:
        data, nlines = generate_tsbs(args, shared, tmp)
        started1 = influx1_loaded(args, shared, data, nlines, DB1, results)
        # the buffer state must be one: no snapshot of the loaded rows until SIGTERM (a snapshot
        # running in the background during the buffer state slowed its small queries 2-10x)
        Server.extra_flags = [*Server.extra_flags, "--snapshot-rows", str(2 * nlines)]
        srv = serve_loaded(args, shared, data, nlines, tmp / "influx3", results)
        # InfluxDB 1.6.7 compacts for seconds after a load: both servers' queries wait for it (a
        # query against a compacting 1.6.7 took up to 3x its time, and ours up to 2x theirs)
        results["waited_for_influxd_s"] = {"buffer": ingest.wait_idle(ingest.influx1_pid())}
        run_state("buffer", names, influxql, srv, args.reps, results, args.warmup, fresh)
        results["buffer_state_parquet_files"] = len(list((tmp / "influx3").rglob("*.parquet")))
        if results["buffer_state_parquet_files"]:
            log(f"warning: {results['buffer_state_parquet_files']} Parquet files in the buffer state")
        srv = restart_after_sigterm(srv, results)
        results["waited_for_influxd_s"]["parquet"] = ingest.wait_idle(ingest.influx1_pid())
        run_state("parquet", names, influxql, srv, args.reps, results, args.warmup, fresh)
        results["in_process_ms"] = {}
        run_in_process(tmp / "influx3", names, influxql, args.reps, results)
    except Exception as exc:
        record_failure(errors, "setup", exc)
    finally:
        if srv is not None:
            srv.stop()
        if started1 and not args.keep_influx1:
            influx1_stop(shared)
        if not args.keep_tmp:
            shutil.rmtree(tmp, ignore_errors=True)
    for name in names:
        r = results["queries"].get(name, {})
        for st in ("buffer", "parquet"):
            s = r.get(st)
            if s and "error" not in s:
                s["influx3_median_ms"], s["influx1_median_ms"] = med(s["influx3_ms"]), med(s["influx1_ms"])
                s["ratio"] = round(s["influx3_median_ms"] / s["influx1_median_ms"], 3) if s["influx1_median_ms"] else None
                s.update(paired(s))
            elif s:
                errors[f"{name}/{st}"] = s["error"]
    if errors:
        results["errors"] = errors
    results["machine"]["loadavg_end"] = os.getloadavg()
    print()
    print(summary(results, names))
    done = [results["queries"][n][st] for n in names for st in ("buffer", "parquet")
            if "ratio" in results["queries"].get(n, {}).get(st, {})]
    gm = results["geomean_ratio"] = geomeans(results, names)
    print(f"answers identical: {sum(s['same_answer'] for s in done)}/{len(done)}; "
          f"not slower than InfluxDB 1.6.7 (ratio <= 1): {sum(s['ratio'] <= 1 for s in done)}/{len(done)}; "
          f"geometric mean of the ratios: {gm['both']:.3f}" if gm["both"] else "")
    cis = [(n, st, results["queries"][n][st]) for n in names for st in ("buffer", "parquet")
           if "paired_ratio_ci" in results["queries"].get(n, {}).get(st, {})]
    if cis:
        cov = min(s["paired_ci_coverage"] for _, _, s in cis)
        above = [f"{n}/{st}" for n, st, s in cis if s["paired_ratio_ci"][0] > 1]
        print(f"paired ratios: slower than InfluxDB 1.6.7 beyond the noise (the {cov:.0%} interval of the "
              f"median above 1): {len(above)}/{len(cis)}{' (' + ', '.join(above) + ')' if above else ''}; "
              + "; ".join(f"{n}/{st} {s['paired_ratio_median']:.2f} [{s['paired_ratio_ci'][0]:.2f}, "
                          f"{s['paired_ratio_ci'][1]:.2f}]" for n, st, s in cis if s["paired_ratio_ci"][1] > 1))
    if results.get("in_process_ms"):
        print("in process, parquet state (Executor.execute on a second node, no HTTP), ms: " +
              ", ".join(f"{n} {v:.2f}" for n, v in results["in_process_ms"].items()))
    text = json.dumps(results)
    if args.json:
        Path(args.json).write_text(text + "\n")
    print(text)
    return 1 if errors or any(not s["same_answer"] for s in done) else 0


if __name__ == "__main__":
    sys.exit(main())
