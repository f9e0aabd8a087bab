#!/usr/bin/env python3
"""SQL query benchmark: influx3 (HTTP and in-process) vs raw DuckDB over one Parquet file, and
InfluxDB 1.6.7's InfluxQL for the same TSBS queries.

Steps:

  1. gen_cpu.py 100 5000 (500K TSBS cpu-only lines) into a temp dir; start `influx3 serve` (temp
     data dir, free port on 127.0.0.1) and load the file with shared/bench/load.py (2 threads,
     5,000-line batches) into /api/v3/write_lp?db=bench&precision=nanosecond.
  2. Export `SELECT * FROM cpu` from the server with format=parquet into ONE Parquet file: the
     same rows for raw DuckDB (python duckdb, in process, read_parquet on that file).
  3. Buffer state (data only in the server's WAL/buffer, right after the load): for every query,
     raw DuckDB, influx3 in-process and influx3 over HTTP, each a warm-up then --reps timed runs.
       in-process: Engine(data_dir, node_id="bench-sql", background=False).sql("bench", q) on the
                   server's data dir (a second node, reading the server's WAL and Parquet files)
       HTTP:       GET /api/v3/query_sql?db=bench&q=...&format=json, whole round trip incl. reading
                   the body (so JSON serialization and HTTP are in it)
  4. Parquet state: SIGTERM the server (it snapshots its buffer to Parquet), restart it on the same
     data dir, and time the same again.
  5. InfluxDB 1.6.7 (unless --no-influx1): shared/bench/influx1.sh start, drop and recreate
     database `bench` only, load the same file into /write?db=bench, then time the InfluxQL text of
     shared/bench/queries.py for the same queries (GET /query, epoch=ns). Stopped at the end only if
     this run started it.

Each query has an explicit raw-DuckDB text: the influx3 SQL with the table reference replaced by
read_parquet('<file>') and date_bin (which DuckDB does not have) replaced by time_bucket (same bins
for minutes/hours). Target per query: influx3 in-process median <= 2 x raw DuckDB median + 5 ms, in
both states (the HTTP numbers are shown for information). Answers are checked: influx3's row count
(in-process and HTTP, both states) must equal raw DuckDB's.

Speed is always next to a reference measured in the same run; nothing asserts on time. Only
127.0.0.1 is contacted. The last line on stdout is the JSON of all results (--json FILE too).
"""

from __future__ import annotations

import argparse
import ast
import json
import os
import shutil
import sys
import tempfile
import time
import urllib.parse
from datetime import datetime, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import ingest  # noqa: E402
from ingest import (INFLUX1, Http, Server, add_tsbs_args, generate_tsbs, influx1_count,  # noqa: E402
                    influx1_recreate, influx1_start, influx1_stop, log, med, record_failure, restart_after_sigterm,
                    run_info, run_load_py, serve_loaded, shared_dir, text_table)

START_S = 1_700_000_000  # gen_cpu.py's first timestamp (10 s step)
TARGET_FACTOR, TARGET_SLACK_MS = 2.0, 5.0


def rfc3339(s: int) -> str:
    return datetime.fromtimestamp(s, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def build_queries(s: int = START_S) -> dict[str, dict[str, str]]:
    """name -> {"sql": influx3 SQL, "duckdb": the raw-DuckDB text}; `{cpu}` is the table reference.

    Same time ranges, hosts and aggregates as shared/bench/queries.py. SQL has no fill: GROUP BY
    time bins give one row per non-empty bin (InfluxQL's GROUP BY time() also returns empty bins).
    """
    t = {k: rfc3339(s + v) for k, v in {"t0": 0, "t1h": 3600, "t2h": 7200, "t8h": 8 * 3600, "t12h": 12 * 3600}.items()}
    fields10 = ["usage_user", "usage_system", "usage_idle", "usage_nice", "usage_iowait", "usage_irq",
                "usage_softirq", "usage_steal", "usage_guest", "usage_guest_nice"]
    max5 = ", ".join(f"max({f}) AS max_{f}" for f in fields10[:5])
    max10 = ", ".join(f"max({f}) AS max_{f}" for f in fields10)
    mean10 = ", ".join(f"avg({f}) AS mean_{f}" for f in fields10)
    hosts12 = ", ".join(f"'host_{i}'" for i in range(1, 13))
    q = {
        "single-groupby-1-1-1": (
            "SELECT {bin1m} AS minute, max(usage_user) AS max_usage_user FROM {cpu} "
            "WHERE hostname = 'host_5' AND time >= '{t1h}' AND time < '{t2h}' GROUP BY minute ORDER BY minute"),
        "single-groupby-5-1-12": (
            "SELECT {bin1m} AS minute, " + max5 + " FROM {cpu} "
            "WHERE hostname IN (" + hosts12 + ") AND time >= '{t0}' AND time < '{t12h}' "
            "GROUP BY minute ORDER BY minute"),
        "cpu-max-all-1": (
            "SELECT {bin1h} AS hour, " + max10 + " FROM {cpu} "
            "WHERE hostname = 'host_7' AND time >= '{t0}' AND time < '{t8h}' GROUP BY hour ORDER BY hour"),
        "double-groupby-1": (
            "SELECT {bin1h} AS hour, hostname, avg(usage_user) AS mean_usage_user FROM {cpu} "
            "WHERE time >= '{t0}' AND time < '{t12h}' GROUP BY hour, hostname ORDER BY hostname, hour"),
        "double-groupby-all": (
            "SELECT {bin1h} AS hour, hostname, " + mean10 + " FROM {cpu} "
            "WHERE time >= '{t0}' AND time < '{t12h}' GROUP BY hour, hostname ORDER BY hostname, hour"),
        "high-cpu-1": (
            "SELECT * FROM {cpu} WHERE usage_user > 90 AND hostname = 'host_3' "
            "AND time >= '{t0}' AND time < '{t12h}' ORDER BY time"),
        "high-cpu-all": (
            "SELECT * FROM {cpu} WHERE usage_user > 90 AND time >= '{t0}' AND time < '{t12h}' "
            "ORDER BY hostname, time"),
        # InfluxQL last(*) GROUP BY hostname: every point has all ten fields, so it is the last row.
        "lastpoint": "SELECT DISTINCT ON (hostname) * FROM {cpu} ORDER BY hostname, time DESC",
        # the same question as a window query (the other spelling users write)
        "lastpoint-window": ("SELECT * FROM (SELECT *, row_number() OVER (PARTITION BY hostname ORDER BY time DESC) "
                             "AS rn FROM {cpu}) WHERE rn = 1"),
        # a third spelling: each host's newest time, joined back
        "lastpoint-join": ("SELECT c.* FROM {cpu} AS c JOIN (SELECT hostname, max(time) AS time FROM {cpu} "
                           "GROUP BY hostname) AS m ON c.hostname = m.hostname AND c.time = m.time ORDER BY c.hostname"),
        "groupby-orderby-limit": (
            "SELECT {bin1m} AS minute, max(usage_user) AS max_usage_user FROM {cpu} "
            "WHERE time < '{t12h}' GROUP BY minute ORDER BY minute DESC LIMIT 5"),
        "count-all": "SELECT count(usage_user) AS count FROM {cpu}",
        "count-star": "SELECT count(*) AS count FROM {cpu}",
        # the other spelling of minute and hour bins
        "single-groupby-1-1-1-trunc": (
            "SELECT date_trunc('minute', time) AS minute, max(usage_user) AS max_usage_user FROM {cpu} "
            "WHERE hostname = 'host_5' AND time >= '{t1h}' AND time < '{t2h}' GROUP BY minute ORDER BY minute"),
        "double-groupby-all-trunc": (
            "SELECT date_trunc('hour', time) AS hour, hostname, " + mean10 + " FROM {cpu} "
            "WHERE time >= '{t0}' AND time < '{t12h}' GROUP BY hour, hostname ORDER BY hostname, hour"),
    }
    out = {}
    for name, text in q.items():
        sql = text.format(bin1m="date_bin(INTERVAL '1 minute', time)", bin1h="date_bin(INTERVAL '1 hour', time)",
                          cpu="{cpu}", **t)
        raw = text.format(bin1m="time_bucket(INTERVAL '1 minute', time)", bin1h="time_bucket(INTERVAL '1 hour', time)",
                          cpu="{cpu}", **t)
        out[name] = {"sql": sql, "duckdb": raw}
    return out


#: SQL queries answered by another query's InfluxQL on InfluxDB 1.6.7
INFLUXQL_OF = {"lastpoint-window": "lastpoint", "lastpoint-join": "lastpoint", "count-star": "count-all",
              "single-groupby-1-1-1-trunc": "single-groupby-1-1-1", "double-groupby-all-trunc": "double-groupby-all"}


def influxql_queries(shared: Path) -> dict[str, str]:
    """The `Q` dict of shared/bench/queries.py (that script runs on import, so evaluate just S, ts, Q)."""
    tree = ast.parse((shared / "bench" / "queries.py").read_text())
    keep = [n for n in tree.body
            if (isinstance(n, ast.Assign) and any(isinstance(t, ast.Name) and t.id in ("S", "Q") for t in n.targets))
            or (isinstance(n, ast.FunctionDef) and n.name == "ts")]
    ns: dict = {}
    exec(compile(ast.Module(body=keep, type_ignores=[]), "queries.py", "exec"), ns)
    if ns.get("S") != START_S:
        log(f"warning: queries.py start {ns.get('S')} != {START_S}")
    return ns["Q"]


# ---- timing --------------------------------------------------------------------------------
def timed(fn, reps: int, cpu: list | None = None) -> tuple[list[float], object]:
    """One warm-up call, then `reps` timed calls; returns (ms per call, last result). With `cpu`,
    this process's CPU ms per call (all threads: DuckDB's too) are appended to it."""
    res = fn()
    times = []
    for _ in range(reps):
        t0, c0 = time.perf_counter(), time.process_time()
        res = fn()
        times.append((time.perf_counter() - t0) * 1000)
        if cpu is not None:
            cpu.append((time.process_time() - c0) * 1000)
    return times, res


def sql_path(q: str, fmt: str = "json") -> str:
    return "/api/v3/query_sql?" + urllib.parse.urlencode({"db": "bench", "q": q, "format": fmt})


def export_parquet(url: str, out: Path) -> dict:
    """`SELECT * FROM cpu` with format=parquet into `out`, as the server streams it (rows in its order)."""
    h = Http(url)
    try:
        t0 = time.perf_counter()
        status, body = h.get(sql_path("SELECT * FROM cpu", "parquet"))
    finally:
        h.close()
    if status != 200:
        raise RuntimeError(f"parquet export failed: {status} {body[:300]!r}")
    out.write_bytes(body)
    import pyarrow.parquet as pq
    md = pq.ParquetFile(out).metadata
    secs = time.perf_counter() - t0
    log(f"exported {md.num_rows:,} rows ({len(body) / 2**20:.0f} MiB, {md.num_row_groups} row groups) "
        f"in {secs:.1f}s -> {out}")
    return {"rows": md.num_rows, "bytes": len(body), "row_groups": md.num_row_groups, "seconds": round(secs, 2),
            "compression": md.row_group(0).column(0).compression if md.num_row_groups else None}


def data_files(data_dir: Path, node_id: str = "bench") -> dict:
    """The server's Parquet files and WAL bytes (WAL files stay, empty, after a snapshot): node
    `node_id`, or its workers' nodes `<node_id>-w<i>` under `serve --workers N`."""
    nodes = [d for d in data_dir.iterdir() if d.is_dir() and (d.name == node_id or d.name.startswith(node_id + "-w"))] \
        if data_dir.is_dir() else []
    pq = [f for d in nodes for f in d.rglob("*.parquet")]
    wal = [f for d in nodes for f in (d / "wal").glob("*.wal")]
    return {"parquet_files": len(pq), "parquet_bytes": sum(f.stat().st_size for f in pq),
            "wal_bytes": sum(f.stat().st_size for f in wal)}


def run_state(state: str, queries: dict, names: list[str], srv: Server, data_dir: Path, pq_file: Path,
              reps: int, results: dict) -> None:
    """Times every query on raw DuckDB, influx3 in-process and influx3 HTTP; fills results[name][state]."""
    import duckdb
    from jupyter_influx3.engine import Engine

    con = duckdb.connect()
    raw_table = "read_parquet('" + str(pq_file).replace("'", "''") + "')"
    eng = Engine(data_dir, node_id="bench-sql", background=False)
    h = Http(srv.url)
    files = data_files(data_dir)
    results.setdefault("data_files", {})[state] = files
    log(f"--- state {state}: server node has {files['parquet_files']} Parquet files "
        f"({files['parquet_bytes'] / 2**20:.1f} MiB) and {files['wal_bytes'] / 2**20:.1f} MiB of WAL; "
        f"load average {os.getloadavg()[0]:.2f}")
    try:
        for name in names:
            q = queries[name]
            r = results["queries"].setdefault(name, {})
            s: dict = {}
            try:
                raw_q = q["duckdb"].format(cpu=raw_table)
                s["raw_cpu_ms"], s["inproc_cpu_ms"] = [], []
                ms, tab = timed(lambda: con.sql(raw_q).to_arrow_table(), reps, s["raw_cpu_ms"])
                s["raw_ms"], s["raw_rows"] = ms, tab.num_rows
                iq = q["sql"].format(cpu="cpu")
                ms, tab = timed(lambda: eng.sql("bench", iq), reps, s["inproc_cpu_ms"])
                s["inproc_ms"], s["inproc_rows"] = ms, tab.num_rows
                s["deduplicated"] = bool(eng.last_query_telemetry.get("deduplicated_tables"))
                path = sql_path(iq)
                ms, (status, body) = timed(lambda: h.get(path), reps)
                if status != 200:
                    raise RuntimeError(f"HTTP {status}: {body[:300]!r}")
                s["http_ms"], s["http_rows"], s["http_bytes"] = ms, len(json.loads(body)), len(body)
                log(f"{state:7s} {name:24s} raw {med(s['raw_ms']):8.1f} ms  in-process {med(s['inproc_ms']):8.1f} ms  "
                    f"HTTP {med(s['http_ms']):8.1f} ms  rows {s['raw_rows']}/{s['inproc_rows']}/{s['http_rows']}  "
                    f"CPU raw {med(s['raw_cpu_ms']):.1f} in-process {med(s['inproc_cpu_ms']):.1f} ms"
                    + ("  (deduplicated)" if s["deduplicated"] else ""))
            except Exception as exc:
                s["error"] = f"{type(exc).__name__}: {exc}"
                log(f"{state:7s} {name:24s} FAILED: {s['error']}")
            r[state] = s
    finally:
        h.close()
        eng.close()
        con.close()
        # Did the server snapshot on its own during the buffer state (e.g. snapshot_age_s)?
        results["data_files"][state + "_end"] = data_files(data_dir)


def run_influx1(args, shared: Path, data: Path, nlines: int, names: list[str], influxql: dict, results: dict) -> None:
    r1: dict = {"version": influx1_recreate("bench", nlines)}
    results["influx1"] = r1
    r1["load"] = run_load_py(shared, data, f"{INFLUX1}/write?db=bench", args.batch, args.workers)
    r1["count"] = influx1_count("bench")
    r1["count_ok"] = r1["count"] == nlines
    h = Http(INFLUX1)
    try:
        for name in names:
            iq = influxql[INFLUXQL_OF.get(name, name)]
            s: dict = {"influxql": iq}
            path = "/query?" + urllib.parse.urlencode({"db": "bench", "q": iq, "epoch": "ns"})
            try:
                ms, (status, body) = timed(lambda: h.get(path), args.reps)
                if status != 200:
                    raise RuntimeError(f"HTTP {status}: {body[:300]!r}")
                j = json.loads(body)
                if "error" in j["results"][0]:
                    raise RuntimeError(j["results"][0]["error"])
                series = j["results"][0].get("series") or []
                s.update(ms=ms, series=len(series), rows=sum(len(x.get("values", [])) for x in series),
                         bytes=len(body))
                log(f"influx1 {name:24s} {med(ms):8.1f} ms  series {s['series']} rows {s['rows']}")
            except Exception as exc:
                s["error"] = f"{type(exc).__name__}: {exc}"
                log(f"influx1 {name:24s} FAILED: {s['error']}")
            results["queries"].setdefault(name, {})["influx1"] = s
    finally:
        h.close()


def verdicts(results: dict, names: list[str]) -> None:
    """Medians, target and answer checks per query, folded into results["queries"][name]."""
    for name in names:
        r = results["queries"].get(name, {})
        states = [st for st in ("buffer", "parquet") if st in r]
        ok_states = [st for st in states if "error" not in r[st]]
        if not ok_states:
            continue
        raw_all = [x for st in ok_states for x in r[st]["raw_ms"]]
        r["raw_ms"] = med(raw_all)
        r["raw_rows"] = r[ok_states[0]]["raw_rows"]
        r["target_ms"] = round(TARGET_FACTOR * r["raw_ms"] + TARGET_SLACK_MS, 2)
        for st in ok_states:
            r[f"inproc_{st}_ms"] = med(r[st]["inproc_ms"])
            r[f"http_{st}_ms"] = med(r[st]["http_ms"])
            r[f"cpu_ratio_{st}"] = round(med(r[st]["inproc_cpu_ms"]) / max(med(r[st]["raw_cpu_ms"]), 1e-3), 2)
        r["pass"] = len(ok_states) == 2 and all(r[f"inproc_{st}_ms"] <= r["target_ms"] for st in ok_states)
        rows = {(st, k): r[st][f"{k}_rows"] for st in ok_states for k in ("raw", "inproc", "http")}
        r["rows_ok"] = len(ok_states) == len(states) and len(set(rows.values())) == 1
        if not r["rows_ok"]:
            r["rows_seen"] = {f"{st}/{k}": v for (st, k), v in rows.items()}
        i1 = r.get("influx1")
        if i1 and "ms" in i1:
            r["influx1_ms"] = med(i1["ms"])
            r["influx1_rows"] = i1["rows"]


def summary(results: dict, names: list[str]) -> str:
    head = ["query", "raw DuckDB ms", "influx3 buffer ms", "influx3 parquet ms", "target ms", "result",
            "rows (=raw)", "CPU x raw buf/pq", "HTTP buffer ms", "HTTP parquet ms", "InfluxDB 1.6.7 ms"]
    rows = []

    def f(x):
        return "-" if x is None else f"{x:,.1f}"

    for name in names:
        r = results["queries"].get(name, {})
        if "raw_ms" not in r:
            rows.append([name, "error"] + [""] * (len(head) - 2))
            continue
        rows.append([name, f(r["raw_ms"]), f(r.get("inproc_buffer_ms")), f(r.get("inproc_parquet_ms")),
                     f(r["target_ms"]), "PASS" if r["pass"] else "FAIL",
                     f"{r['raw_rows']:,} ok" if r["rows_ok"] else "MISMATCH",
                     "/".join(f"{r[k]:.2f}" if k in r else "-" for k in ("cpu_ratio_buffer", "cpu_ratio_parquet")),
                     f(r.get("http_buffer_ms")), f(r.get("http_parquet_ms")),
                     f(r.get("influx1_ms")) + ("" if r.get("influx1_rows") is None else f" ({r['influx1_rows']:,} rows)")
                     if "influx1" in r else "-"])
    return text_table(head, rows, left={0, 5})


def main() -> int:
    all_names = list(build_queries())
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--reps", type=int, default=5, help="timed runs per query and engine, after one warm-up; median (5)")
    p.add_argument("--no-influx1", action="store_true", help="skip InfluxDB 1.6.7")
    p.add_argument("--queries", default=",".join(all_names), help="comma-separated subset (default: all)")
    add_tsbs_args(p)
    p.add_argument("--keep-tmp", action="store_true", help="keep the temp dir (data, Parquet file, data dir)")
    args = p.parse_args()
    ingest.apply_server_args(args)
    names = [n.strip() for n in args.queries.split(",") if n.strip()]
    bad = [n for n in names if n not in all_names]
    if bad:
        p.error(f"unknown queries {bad}; known: {', '.join(all_names)}")

    shared = shared_dir()
    queries = build_queries()
    influxql = influxql_queries(shared)
    tmp = Path(tempfile.mkdtemp(prefix="influx3-qbench-", dir=args.tmp))
    log(f"temp dir {tmp}")
    results = run_info(args)
    results.update(queries={}, sql={n: queries[n] for n in names})
    try:
        import duckdb
        results["machine"]["duckdb"] = duckdb.__version__
    except ImportError:
        pass
    errors: dict = {}
    srv = None
    try:
        data, nlines = generate_tsbs(args, shared, tmp)
        data_dir = tmp / "influx3"
        pq_file = tmp / "cpu.parquet"
        try:
            # the buffer state must be one: no snapshot of the loaded rows until SIGTERM
            Server.extra_flags = [*Server.extra_flags, "--snapshot-rows", str(2 * nlines)]
            srv = serve_loaded(args, shared, data, nlines, data_dir, results)
            results["export"] = export_parquet(srv.url, pq_file)
            if results["export"]["rows"] != nlines:
                raise RuntimeError(f"exported {results['export']['rows']:,} rows, expected {nlines:,}")
            run_state("buffer", queries, names, srv, data_dir, pq_file, args.reps, results)
            srv = restart_after_sigterm(srv, results)
            run_state("parquet", queries, names, srv, data_dir, pq_file, args.reps, results)
        except Exception as exc:
            record_failure(errors, "influx3", exc)
        finally:
            if srv is not None:
                srv.stop()
        if not args.no_influx1:
            started = False
            try:
                started = influx1_start(shared)
                run_influx1(args, shared, data, nlines, names, influxql, results)
            except Exception as exc:
                record_failure(errors, "influx1", exc)
            finally:
                if started and not args.keep_influx1:
                    influx1_stop(shared)
    except Exception as exc:
        errors["setup"] = f"{type(exc).__name__}: {exc}"
    finally:
        if not args.keep_tmp:
            shutil.rmtree(tmp, ignore_errors=True)
    verdicts(results, names)
    for name in names:
        for st in ("buffer", "parquet"):
            e = results["queries"].get(name, {}).get(st, {}).get("error")
            if e:
                errors[f"{name}/{st}"] = e
    if errors:
        results["errors"] = errors
    results["machine"]["loadavg_end"] = os.getloadavg()
    print()
    print(summary(results, names))
    done = [results["queries"][n] for n in names if "raw_ms" in results["queries"].get(n, {})]
    print(f"target: influx3 in-process median <= {TARGET_FACTOR:g} x raw DuckDB + {TARGET_SLACK_MS:g} ms in both "
          f"states; {sum(r['pass'] for r in done)}/{len(names)} PASS; row counts equal raw DuckDB's "
          f"(in-process and HTTP, both states): {sum(r['rows_ok'] for r in done)}/{len(names)}")
    print("CPU x raw = in-process CPU time / raw DuckDB CPU time (this process, all threads; medians), "
          "steadier than wall time on a busy machine")
    print(f"medians of {args.reps} runs after a warm-up; raw DuckDB = median of its runs in both states; "
          "HTTP = GET /api/v3/query_sql format=json round trip (for information); InfluxDB 1.6.7 = InfluxQL of "
          "shared/bench/queries.py via /query (its rows count GROUP BY time() empty bins too)")
    df = results.get("data_files", {})
    if "buffer" in df:
        b0, b1 = df["buffer"], df.get("buffer_end", {})
        line = (f"server node data: buffer state {b0['parquet_files']} Parquet files at start, "
                f"{b1.get('parquet_files', '?')} at end, {b0['wal_bytes'] / 2**20:.0f} MiB WAL")
        if "parquet" in df:
            p0 = df["parquet"]
            line += (f"; parquet state (after SIGTERM + restart) {p0['parquet_files']} Parquet files "
                     f"({p0['parquet_bytes'] / 2**20:.1f} MiB), {p0['wal_bytes']} bytes WAL")
        print(line)
    for name, err in errors.items():
        print(f"{name} FAILED: {err}")
    la0, la1 = results["machine"]["loadavg_start"], results["machine"]["loadavg_end"]
    print(f"{os.cpu_count()} CPUs; load average (1 min) {la0[0]:.2f} at start, {la1[0]:.2f} at end")
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2) + "\n")
    print(json.dumps(results))
    return 1 if errors or not all(r["rows_ok"] for r in done) else 0


if __name__ == "__main__":
    sys.exit(main())
