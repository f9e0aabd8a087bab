#!/usr/bin/env python3
"""Growth benchmark: a year of TSBS cpu data written in time order through the engine, queried by
the hour and by the day, against a data directory holding only that day.

Steps:

  1. Writer (a child process, so its peak RSS is its own): --hosts (100) hosts x --days (365) days
     at --step-s (60) s = 52.6M rows of TSBS's cpu shape (gen_cpu.py's 10 tags per host, 10 integer
     fields 0..100), generated body by body (never held whole) and written in time order with
     `Engine.write_lp(db, body, "nanosecond")` (fsync per body, background snapshots and compaction
     as in a server), then `snapshot()`, `compact()` and `close()`. Reports rows/s, peak RSS (VmHWM),
     seconds spent in the final compaction and the files per table-day.
  2. Day-only reference: a second data directory with only the queried day (same rows: a body's
     values depend on its day and its place in the day only), written the same way.
  3. Queries (SQL; InfluxQL too unless --no-influxql): 1 hour and 1 day, one host and all hosts,
     each a warm-up and --reps timed runs on a fresh node of each directory, the two interleaved;
     `Engine.last_query_telemetry` gives the Parquet files scanned (target < 50) and the median
     time is compared with the day-only directory's (target <= 2x). Answers must be equal.
  4. Disk: Parquet bytes (and the whole data directory) per row, against the raw line protocol's
     bytes; with --influx1 (default) the same bodies are loaded into InfluxDB 1.6.7
     (shared/bench/influx1.sh start, database `scale`, dropped at the end) and its data + WAL
     directories are measured.

Field values: every line draws its 10 values from a pool of 65,536 random value sets (uniform
0..100 per field, like gen_cpu.py), so generating 52M lines costs seconds, not minutes; per column
the values are as random as gen_cpu.py's.

Quick check: `python3 benchmarks/scale.py --days 7 --hosts 10 --no-influx1`. The last stdout line is
the JSON of all results (--json FILE too). Only 127.0.0.1 is contacted; data lives in a temp dir under
/tmp, removed at the end unless --keep-tmp. Nothing asserts on time.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import queue
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from ingest import influx1_count, influx1_query, influx1_recreate, influx1_start, influx1_stop, log, shared_dir, vm_hwm  # noqa: E402

DB = "scale"
START_NS = 1_735_689_600 * 10**9   # 2025-01-01T00:00:00Z
DAY_S = 86400
POOL = 65_536
FIELDS = ["usage_user", "usage_system", "usage_idle", "usage_nice", "usage_iowait", "usage_irq",
          "usage_softirq", "usage_steal", "usage_guest", "usage_guest_nice"]
REGIONS = ["us-east-1", "us-west-1", "us-west-2", "eu-west-1", "eu-central-1", "ap-southeast-1",
           "ap-southeast-2", "ap-northeast-1", "sa-east-1"]
TARGET_FILES, TARGET_FACTOR = 50, 2.0


# ---- data ------------------------------------------------------------------------------------
def tagsets(hosts: int) -> list[bytes]:
    """gen_cpu.py's tag sets (same random sequence), each followed by the space before the fields."""
    rnd = random.Random(42)
    out = []
    for h in range(hosts):
        r = rnd.choice(REGIONS)
        out.append((f"cpu,hostname=host_{h},region={r},datacenter={r}{rnd.choice('abc')},rack={rnd.randint(0, 99)},"
                    f"os=Ubuntu16.04LTS,arch=x64,team=SF,service={rnd.randint(0, 19)},"
                    f"service_version={rnd.randint(0, 1)},service_environment=production ").encode())
    return out


def value_pool() -> list[bytes]:
    vals = np.random.default_rng(7).integers(0, 101, size=(POOL, len(FIELDS)))
    return [",".join(f"{f}={v}i" for f, v in zip(FIELDS, row)).encode() for row in vals.tolist()]


def bodies(hosts: int, days: range, step_s: int, body_lines: int):
    """Line-protocol bodies in time order, about `body_lines` lines each, never crossing a day; a
    body's rows depend only on (day, its place in the day), so any range of days repeats them."""
    pre, pool = tagsets(hosts), value_pool()
    steps_per_day = DAY_S // step_s
    per_body = max(1, body_lines // hosts)
    for day in days:
        for first in range(0, steps_per_day, per_body):
            n = min(per_body, steps_per_day - first)
            picks = np.random.default_rng((day, first)).integers(0, POOL, size=(n, hosts)).tolist()
            t0 = START_NS + (day * DAY_S + first * step_s) * 10**9
            lines = []
            for i in range(n):
                ts = b" %d\n" % (t0 + i * step_s * 10**9)
                row = picks[i]
                lines += [pre[h] + pool[row[h]] + ts for h in range(hosts)]
            yield b"".join(lines), n * hosts


# ---- writer (child process) ------------------------------------------------------------------
def write_child(data_dir: str, hosts: int, first_day: int, days: int, step_s: int, body_lines: int,
                snapshot_rows: int) -> None:
    """Writes the bodies into a fresh Engine; prints its measurements as one JSON line."""
    from jupyter_influx3.engine import Engine

    rows = raw = 0
    slowest = []
    t0 = time.perf_counter()
    cpu0 = time.process_time()
    e = Engine(data_dir, node_id="writer", snapshot_rows=snapshot_rows)
    for body, n in bodies(hosts, range(first_day, first_day + days), step_s, body_lines):
        b0 = time.perf_counter()
        res = e.write_lp(DB, body, "nanosecond")
        slowest.append(time.perf_counter() - b0)
        if res.errors or res.lines_written != n:
            raise SystemExit(f"write failed: {res.lines_written}/{n} {res.errors[:1]}")
        rows += n
        raw += len(body)
        if rows % (body_lines * 100) < n:
            log(f"  {rows:,} rows, {rows / (time.perf_counter() - t0):,.0f} rows/s, "
                f"files {len(e.index.all())}, rss peak {vm_hwm(os.getpid()) / 2**20:,.0f} MiB")
    write_s = time.perf_counter() - t0
    s0 = time.perf_counter()
    e.snapshot()
    snap_s = time.perf_counter() - s0
    c0 = time.perf_counter()
    merges = e.compact()
    compact_s = time.perf_counter() - c0
    files = e.index.all()
    per_day: dict[int, int] = {}
    for f in files:
        per_day[f.day] = per_day.get(f.day, 0) + 1
    e.close()
    slowest.sort()
    print(json.dumps({
        "rows": rows, "raw_lp_bytes": raw, "write_s": round(write_s, 2), "rows_per_s": round(rows / write_s),
        "final_snapshot_s": round(snap_s, 2), "final_compact_s": round(compact_s, 2), "final_merges": merges,
        "cpu_s": round(time.process_time() - cpu0, 1), "peak_rss_bytes": vm_hwm(os.getpid()),
        "files": len(files), "parquet_bytes": sum(f.bytes for f in files),
        "manifests": len(os.listdir(Path(data_dir) / "writer" / "snapshots")),
        "files_per_day_max": max(per_day.values(), default=0),
        "files_per_day_median": statistics.median(per_day.values()) if per_day else 0,
        "slowest_bodies_ms": [round(s * 1000, 1) for s in slowest[-5:]],
    }))


def run_writer(data_dir: Path, args, first_day: int, days: int) -> dict:
    cmd = [sys.executable, __file__, "--child-write", str(data_dir), "--hosts", str(args.hosts),
           "--first-day", str(first_day), "--days", str(days), "--step-s", str(args.step_s),
           "--body-lines", str(args.body_lines), "--snapshot-rows", str(args.snapshot_rows)]
    out = subprocess.run(cmd, stdout=subprocess.PIPE, check=True, text=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def du(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


# ---- queries ---------------------------------------------------------------------------------
def rfc3339(ns: int) -> str:
    return datetime.fromtimestamp(ns / 1e9, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def queries(day: int, host: str, influxql: bool) -> list[tuple[str, str, str]]:
    """(name, language, text) for an hour (12:00-13:00) and the whole of `day`."""
    d0 = START_NS + day * DAY_S * 10**9
    spans = {"1h": (d0 + 12 * 3600 * 10**9, d0 + 13 * 3600 * 10**9, "5 minutes", "5m"),
             "1d": (d0, d0 + DAY_S * 10**9, "1 hour", "1h")}
    out = []
    for span, (lo, hi, sql_bin, iql_bin) in spans.items():
        where = f"time >= '{rfc3339(lo)}' AND time < '{rfc3339(hi)}'"
        out.append((f"one-host-{span}", "sql",
                    f"SELECT date_bin(INTERVAL '{sql_bin}', time) AS t, max(usage_user) AS mx, avg(usage_system) AS av, "
                    f"count(*) AS n FROM cpu WHERE hostname = '{host}' AND {where} GROUP BY 1 ORDER BY 1"))
        out.append((f"all-hosts-{span}", "sql",
                    f"SELECT hostname, max(usage_user) AS mx, avg(usage_idle) AS av, count(*) AS n FROM cpu "
                    f"WHERE {where} GROUP BY hostname ORDER BY hostname"))
        if influxql:
            out.append((f"one-host-{span}", "influxql",
                        f"SELECT max(usage_user), mean(usage_system) FROM cpu WHERE hostname = '{host}' AND {where} "
                        f"GROUP BY time({iql_bin})"))
            out.append((f"all-hosts-{span}", "influxql",
                        f"SELECT max(usage_user), mean(usage_idle) FROM cpu WHERE {where} GROUP BY hostname"))
    return out


def run_query(e, lang: str, text: str):
    if lang == "sql":
        return e.sql(DB, text)
    return e.query_influxql(DB, text).to_table()


def time_queries(year_dir: Path, day_dir: Path, qs, reps: int, series_cache_bytes: int | None) -> list[dict]:
    from jupyter_influx3.engine import Engine

    out, opened = [], {}
    for label, d in (("year", year_dir), ("day", day_dir)):
        t0 = time.perf_counter()
        opened[label] = Engine(d, node_id="reader", background=False, series_cache_bytes=series_cache_bytes)
        t1 = time.perf_counter()
        for _ in range(20):
            opened[label].refresh()
        log(f"  {label}: node opened in {t1 - t0:.2f} s ({len(list((d / 'writer' / 'snapshots').glob('*.json')))} "
            f"manifests), refresh {(time.perf_counter() - t1) / 20 * 1000:.2f} ms")
    with opened["year"] as year, opened["day"] as day:
        for name, lang, text in qs:
            r = {"query": name, "lang": lang, "text": text}
            for label, e in (("year", year), ("day", day)):
                before = e.last_query_telemetry.get("query_id")
                t0 = time.perf_counter()
                first = run_query(e, lang, text)   # cold: page cache warm, nothing else
                r[f"{label}_first_ms"] = round((time.perf_counter() - t0) * 1000, 2)
                tel = e.last_query_telemetry
                if tel.get("query_id") == before:   # InfluxQL keeps no telemetry (it reads through the same
                    tel = {}                          # file pruning, sql/sources.build_view, or the series cache)
                r[f"{label}_files_scanned"] = tel.get("files_scanned")
                r[f"{label}_files_total"] = tel.get("files_total")
                r[f"{label}_rows"] = first.num_rows
                r[f"_{label}_answer"] = first
            r["same_answer"] = r.pop("_year_answer").equals(r.pop("_day_answer"))
            samples = {"year": [], "day": []}
            for _ in range(reps):          # interleaved: both see the same moments of machine load
                for label, e in (("year", year), ("day", day)):
                    t0 = time.perf_counter()
                    run_query(e, lang, text)
                    samples[label].append((time.perf_counter() - t0) * 1000)
            r["year_ms"] = round(statistics.median(samples["year"]), 2)
            r["day_ms"] = round(statistics.median(samples["day"]), 2)
            r["ratio"] = round(r["year_ms"] / r["day_ms"], 2) if r["day_ms"] else None
            r["ok"] = bool(r["same_answer"] and (r["year_files_scanned"] or 0) < TARGET_FILES
                           and r["ratio"] is not None and r["ratio"] <= TARGET_FACTOR)
            log(f"  {lang:8} {name:15} year {r['year_ms']:8.2f} ms ({files(r, 'year')} files)"
                f"  day {r['day_ms']:8.2f} ms ({files(r, 'day')})  x{r['ratio']}"
                f"{'' if r['same_answer'] else '  ANSWERS DIFFER'}")
            out.append(r)
    return out


# ---- InfluxDB 1.6.7 --------------------------------------------------------------------------
def load_influx1(args, days: int) -> dict:
    """The same bodies POSTed to /write?db=scale by 2 connections; then sizes of its data + WAL."""
    q: queue.Queue = queue.Queue(maxsize=4)
    errors: list[str] = []

    def sender():
        conn = http.client.HTTPConnection("127.0.0.1", 18086, timeout=600)
        while (body := q.get()) is not None:
            conn.request("POST", f"/write?db={DB}&precision=ns", body)
            resp = conn.getresponse()
            text = resp.read()
            if resp.status != 204:
                errors.append(f"{resp.status} {text[:200]!r}")
        conn.close()

    threads = [threading.Thread(target=sender) for _ in range(2)]
    for t in threads:
        t.start()
    t0 = time.perf_counter()
    rows = 0
    for body, n in bodies(args.hosts, range(days), args.step_s, args.influx1_body_lines):
        q.put(body)
        rows += n
        if errors:
            break
        if rows % 5_000_000 < n:
            log(f"  InfluxDB 1.6.7: {rows:,} lines, {rows / (time.perf_counter() - t0):,.0f} lines/s")
    for _ in threads:
        q.put(None)
    for t in threads:
        t.join()
    secs = time.perf_counter() - t0
    if errors:
        raise RuntimeError(f"InfluxDB 1.6.7 write failed: {errors[0]}")
    count = influx1_count(DB)
    if count != rows:   # seen once after a 52.6M-line load on a busy machine (10,000 short): count again
        time.sleep(10)
        count = [count, influx1_count(DB)]
    base = Path("/tmp/influx1/var")
    tsm, wal = du(base / "data" / DB), du(base / "wal" / DB)
    return {"rows": rows, "count": count, "load_s": round(secs, 1), "lines_per_s": round(rows / secs),
            "tsm_bytes": tsm, "wal_bytes": wal}


# ---- main ------------------------------------------------------------------------------------
def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--days", type=int, default=365)
    p.add_argument("--hosts", type=int, default=100)
    p.add_argument("--step-s", type=int, default=60, help="seconds between a host's points (divides 86400)")
    p.add_argument("--body-lines", type=int, default=50_000, help="lines per write_lp body")
    p.add_argument("--snapshot-rows", type=int, default=500_000, help="Engine(snapshot_rows=...): the default")
    p.add_argument("--reps", type=int, default=7, help="timed runs per query and directory (median)")
    p.add_argument("--query-day", type=int, default=None, help="day queried (default: the middle one)")
    p.add_argument("--no-influxql", action="store_true")
    p.add_argument("--series-cache-mb", type=int, default=None,
                   help="the readers' series cache (default: the engine's; 0: off, so InfluxQL reads through DuckDB "
                        "in both directories: the day-only one fits the cache, a year does not)")
    p.add_argument("--influx1", dest="influx1", action="store_true", default=True)
    p.add_argument("--no-influx1", dest="influx1", action="store_false", help="skip InfluxDB 1.6.7's TSM size")
    p.add_argument("--influx1-body-lines", type=int, default=10_000)
    p.add_argument("--keep-tmp", action="store_true")
    p.add_argument("--json", help="also write the results here")
    p.add_argument("--child-write", help=argparse.SUPPRESS)
    p.add_argument("--first-day", type=int, default=0, help=argparse.SUPPRESS)
    args = p.parse_args()
    if DAY_S % args.step_s:
        p.error("--step-s must divide 86400")
    if args.child_write:
        write_child(args.child_write, args.hosts, args.first_day, args.days, args.step_s, args.body_lines,
                    args.snapshot_rows)
        return 0

    qday = args.days // 2 if args.query_day is None else args.query_day
    tmp = Path(tempfile.mkdtemp(prefix="influx3-scale-", dir="/tmp"))
    res: dict = {"args": {k: v for k, v in vars(args).items() if not k.startswith("child")},
                 "loadavg_start": os.getloadavg(), "tmp": str(tmp)}
    try:
        log(f"writing {args.days} days x {args.hosts} hosts every {args.step_s}s "
            f"({args.days * args.hosts * DAY_S // args.step_s:,} rows) into {tmp / 'year'}")
        res["year"] = run_writer(tmp / "year", args, 0, args.days)
        res["year"]["data_dir_bytes"] = du(tmp / "year")
        log(f"  {json.dumps(res['year'])}")
        log(f"writing day {qday} alone into {tmp / 'day'}")
        res["day"] = run_writer(tmp / "day", args, qday, 1)
        res["loadavg_queries"] = os.getloadavg()
        log(f"queries over day {qday} ({rfc3339(START_NS + qday * DAY_S * 10**9)[:10]}), {args.reps} runs each")
        res["queries"] = time_queries(tmp / "year", tmp / "day", queries(qday, "host_7" if args.hosts > 7 else "host_0",
                                                                          not args.no_influxql), args.reps,
                                      None if args.series_cache_mb is None else args.series_cache_mb * 2**20)
        y = res["year"]
        res["disk"] = {"raw_lp_bytes_per_row": round(y["raw_lp_bytes"] / y["rows"], 1),
                       "parquet_bytes_per_row": round(y["parquet_bytes"] / y["rows"], 2),
                       "data_dir_bytes_per_row": round(y["data_dir_bytes"] / y["rows"], 2)}
        if args.influx1:
            started = influx1_start(shared_dir())
            try:
                influx1_recreate(DB, y["rows"])
                i1 = load_influx1(args, args.days)
                res["influx1"] = i1
                res["disk"]["influx1_tsm_bytes_per_row"] = round(i1["tsm_bytes"] / y["rows"], 2)
                res["disk"]["influx1_tsm_wal_bytes_per_row"] = round((i1["tsm_bytes"] + i1["wal_bytes"]) / y["rows"], 2)
                log(f"  InfluxDB 1.6.7: {json.dumps(i1)}")
            finally:
                influx1_query(f"DROP DATABASE {DB}", post=True)
                if started:
                    influx1_stop(shared_dir())
        res["loadavg_end"] = os.getloadavg()
    finally:
        if not args.keep_tmp:
            shutil.rmtree(tmp, ignore_errors=True)
    print(summary(res))
    line = json.dumps(res, default=str)
    if args.json:
        Path(args.json).write_text(line + "\n")
    print(line)
    return 0


def files(r: dict, label: str) -> str:
    scanned = r.get(f"{label}_files_scanned")
    return "n/a" if scanned is None else f"{scanned} / {r[f'{label}_files_total']}"


def summary(res: dict) -> str:
    y, out = res["year"], []
    out.append(f"writer: {y['rows']:,} rows in {y['write_s']:.0f} s ({y['rows_per_s']:,} rows/s, {y['cpu_s']} CPU s), "
               f"peak RSS {y['peak_rss_bytes'] / 2**20:,.0f} MiB, final snapshot {y['final_snapshot_s']} s, "
               f"final compaction {y['final_compact_s']} s ({y['final_merges']} merges), "
               f"{y['files']} files (max {y['files_per_day_max']} per day)")
    out.append("| query | lang | files scanned / total | year ms | day-only ms | ratio | same answer |")
    out.append("| --- | --- | --- | --- | --- | --- | --- |")
    for q in res["queries"]:
        out.append(f"| {q['query']} | {q['lang']} | {files(q, 'year')} | "
                   f"{q['year_ms']} | {q['day_ms']} | {q['ratio']} | {q['same_answer']} |")
    d = res["disk"]
    out.append(f"disk bytes/row: raw LP {d['raw_lp_bytes_per_row']}, Parquet {d['parquet_bytes_per_row']}, "
               f"data dir {d['data_dir_bytes_per_row']}"
               + (f", InfluxDB 1.6.7 TSM {d['influx1_tsm_bytes_per_row']} (+WAL {d['influx1_tsm_wal_bytes_per_row']})"
                  if "influx1_tsm_bytes_per_row" in d else ""))
    out.append(f"load average: start {res['loadavg_start']}, queries {res['loadavg_queries']}, end {res.get('loadavg_end')}")
    return "\n".join(out)


if __name__ == "__main__":
    sys.exit(main())
