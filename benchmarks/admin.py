#!/usr/bin/env python3
"""Backup and restore speed against `cp -r` of the same data directory, in the same run.

Steps:

  1. A data directory of --rows rows (default 5M: 1,000 hosts x 5,000 points, 2 tags, 3 random fields)
     written in-process (100K-line bodies, no_sync), then persisted (snapshot + close).
  2. `cp -r` of the data directory into the temp dir (timed; warm page cache, like the backup).
  3. Backup: `engine.admin.create_backup(wait=True)` on a node of that directory: persist first,
     every file copied with SHA-256, fsynced, read back and verified. MB/s = backup bytes / time.
  4. Live restore of that backup (copies verified against the manifest, catalog rollback) and an
     offline restore into a new directory (`restore_offline`). MB/s = bytes / time.
  5. Both restores are checked: count(*) equals --rows.

  6. Bulk import: a --import-rows (default 1M) row Parquet file (100 rooms, 2 random fields, 1 s
     apart) imported in-process with `engine.admin.import_parquet` into an empty table, against
     DuckDB reading the same file into Arrow (`read_parquet(...).to_arrow_table()`); best of
     --import-repeat (3) each, wall time and CPU time (all threads).

Targets (issue 14): backup and restore >= 0.5x `cp -r`'s MB/s; import >= 0.3x DuckDB's rows/s. Nothing asserts on time. The last
line on stdout is the JSON of all results (--json FILE too).
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from jupyter_influx3.engine import Engine  # noqa: E402
from jupyter_influx3.engine.admin import restore_offline  # noqa: E402


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def du(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def fill(data: Path, rows: int, hosts: int = 1000) -> float:
    """Random field values (Parquet does not shrink them to nothing, as it would a pattern)."""
    import numpy as np

    rng = np.random.default_rng(42)
    points = rows // hosts
    tags = [f"cpu,host=h{h},region=r{h % 10} " for h in range(hosts)]
    t0 = time.perf_counter()
    with Engine(data, node_id="bench", background=False) as e:
        for start in range(0, points, 100):
            lines = []
            for p in range(start, min(points, start + 100)):
                ts = 1_700_000_000_000_000_000 + p * 10_000_000_000
                u, s_, i = rng.random(hosts) * 100, rng.integers(0, 10**6, hosts), rng.random(hosts) * 100
                lines += [f"{tags[h]}usage_user={u[h]:.6f},usage_system={s_[h]}i,usage_idle={i[h]:.6f} {ts}"
                          for h in range(hosts)]
            e.write_lp("bench", "\n".join(lines), "ns", no_sync=True)
            if start % 1000 == 0:
                log(f"  written {min(points, start + 100) * hosts:,} rows")
        e.snapshot()
    return time.perf_counter() - t0


def bench_import(tmp: Path, rows: int, repeat: int = 3) -> dict:
    import duckdb
    import numpy as np
    import pyarrow as pa
    import pyarrow.parquet as pq

    rng = np.random.default_rng(7)
    src = tmp / "import.parquet"
    pq.write_table(pa.table({"room": pa.array(np.array([f"r{i}" for i in range(100)])[rng.integers(0, 100, rows)]),
                             "temp": rng.random(rows), "hum": rng.integers(0, 100, rows),
                             "time": pa.array(1_700_000_000 * 10**9 + np.arange(rows, dtype=np.int64) * 10**9)}),
                   src)
    data = src.read_bytes()
    ours, duck, ours_cpu, duck_cpu = [], [], [], []
    for i in range(repeat):
        with Engine(tmp / f"imp{i}", node_id="imp", background=False) as e:
            e.create_table("db", "m", ["room"], [("temp", "float64"), ("hum", "int64")])
            t0, c0 = time.perf_counter(), time.process_time()
            info = e.admin.import_parquet("db", "m", data, {"room": "tag"})
            ours.append(time.perf_counter() - t0)
            ours_cpu.append(time.process_time() - c0)
            assert info["row_count"] == rows
            n = e.sql("db", "SELECT count(*) AS n FROM m").column("n")[0].as_py()
            assert n == rows, n
        t0, c0 = time.perf_counter(), time.process_time()
        got = duckdb.sql(f"SELECT * FROM read_parquet('{src}')").to_arrow_table()
        duck.append(time.perf_counter() - t0)
        duck_cpu.append(time.process_time() - c0)
        assert got.num_rows == rows
    return {"import_rows": rows, "import_s": round(min(ours), 3), "import_rows_s": round(rows / min(ours)),
            "duckdb_read_s": round(min(duck), 3), "duckdb_rows_s": round(rows / min(duck)),
            "import_vs_duckdb": round(min(duck) / min(ours), 2),
            # CPU seconds (every thread): steadier than wall time on a machine shared with other jobs
            "import_cpu_s": round(min(ours_cpu), 3), "duckdb_cpu_s": round(min(duck_cpu), 3),
            "import_vs_duckdb_cpu": round(min(duck_cpu) / min(ours_cpu), 2)}


def bench_file_index(tmp: Path, rows: int) -> dict:
    """A lookup `region = 'r07'` (1 of 20 regions, 1,000 hosts, one day, four snapshot files) as the
    files are written, after a plain compaction, and after a compaction by a file index on region."""
    out: dict = {"file_index_rows": rows}
    per = rows // 4
    q = "SELECT count(*) AS n, avg(v) AS v FROM cpu WHERE region = 'r07'"
    for state in ("snapshots", "compacted", "indexed"):
        with Engine(tmp / f"fi-{state}", node_id="fi", background=False, compaction_min_files=2) as e:
            e.create_database("db")
            if state == "indexed":
                e.admin.create_file_index("db", None, ["region"])
            for b in range(4):
                e.write_lp("db", "\n".join(f"cpu,host=h{i % 1000},region=r{i % 1000 % 20:02d} v={i % 97} {i * 1000 + b}"
                                           for i in range(b * per, (b + 1) * per)), "ns", no_sync=True)
                e.snapshot()
            if state != "snapshots":
                e.compact()
            answers, best = set(), 1e9
            for _ in range(5):
                t0 = time.perf_counter()
                answers.add(tuple(e.sql("db", q).to_pylist()[0].values()))
                best = min(best, time.perf_counter() - t0)
            stats = e._sql_service.last_telemetry["tables"]["cpu"][0]
            out[state] = {"ms": round(best * 1e3, 1), "files": f"{stats['files_scanned']}/{stats['files_total']}",
                          "row_groups": f"{stats['row_groups_scanned']}/{stats['row_groups_total']}",
                          "answer": list(answers.pop())}
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rows", type=int, default=5_000_000)
    ap.add_argument("--import-rows", type=int, default=1_000_000)
    ap.add_argument("--only-import", action="store_true", help="skip the backup/restore part")
    ap.add_argument("--import-repeat", type=int, default=3, help="imports (and DuckDB reads) to take the best of")
    ap.add_argument("--file-index-rows", type=int, default=1_000_000)
    ap.add_argument("--only-file-index", action="store_true", help="only the file index lookup")
    ap.add_argument("--json", default=None)
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="influx3-bench-admin-"))
    out: dict = {"rows": args.rows}
    try:
        if args.only_file_index:
            out.update(bench_file_index(tmp, args.file_index_rows))
            for k in ("snapshots", "compacted", "indexed"):
                print(f"file index lookup, {k}: {out[k]}")
            return _finish(out, args.json, tmp)
        out.update(bench_import(tmp, args.import_rows, args.import_repeat))
        print(f"import {args.import_rows:,} rows: {out['import_s']} s ({out['import_rows_s']:,} rows/s); "
              f"DuckDB read_parquet: {out['duckdb_read_s']} s ({out['duckdb_rows_s']:,} rows/s); "
              f"{out['import_vs_duckdb']}x DuckDB (target >= 0.3x); CPU {out['import_cpu_s']} s against "
              f"{out['duckdb_cpu_s']} s: {out['import_vs_duckdb_cpu']}x")
        if args.only_import:
            return _finish(out, args.json, tmp)
        data = tmp / "data"
        log(f"writing {args.rows:,} rows into {data}")
        out["fill_s"] = round(fill(data, args.rows), 2)
        size = du(data)
        out["data_dir_bytes"] = size

        t0 = time.perf_counter()
        subprocess.run(["cp", "-r", str(data), str(tmp / "cp-copy")], check=True)
        subprocess.run(["sync"], check=True)
        cp_s = time.perf_counter() - t0
        out["cp_s"], out["cp_mb_s"] = round(cp_s, 3), round(size / cp_s / 1e6, 1)
        shutil.rmtree(tmp / "cp-copy")

        with Engine(data, node_id="bench2", background=False) as e:
            t0 = time.perf_counter()
            b = e.admin.create_backup("bench", wait=True)
            backup_s = time.perf_counter() - t0
            assert b["status"] == "completed", b
            out["backup_bytes"], out["backup_s"] = b["total_size_bytes"], round(backup_s, 3)
            out["backup_mb_s"] = round(b["total_size_bytes"] / backup_s / 1e6, 1)

            t0 = time.perf_counter()
            r = e.admin.create_restore("bench", wait=True)
            live_s = time.perf_counter() - t0
            assert r["status"] == "completed", r
            out["restore_live_s"] = round(live_s, 3)
            out["restore_live_mb_s"] = round(r["total_size_bytes"] / live_s / 1e6, 1)
            out["restore_live_rows"] = e.sql("bench", "SELECT count(*) AS n FROM cpu").column("n")[0].as_py()

        t0 = time.perf_counter()
        rec = restore_offline(data / "backups" / "bench", tmp / "restored")
        off_s = time.perf_counter() - t0
        out["restore_offline_s"] = round(off_s, 3)
        out["restore_offline_mb_s"] = round(rec["total_size_bytes"] / off_s / 1e6, 1)
        with Engine(tmp / "restored", node_id="check", background=False) as e:
            out["restore_offline_rows"] = e.sql("bench", "SELECT count(*) AS n FROM cpu").column("n")[0].as_py()

        for k in ("backup", "restore_live", "restore_offline"):
            out[f"{k}_vs_cp"] = round(out[f"{k}_mb_s"] / out["cp_mb_s"], 2)
        print(f"data dir {size / 1e6:.1f} MB, {args.rows:,} rows")
        print(f"{'':18}{'s':>8}{'MB/s':>10}{'x cp -r':>10}")
        print(f"{'cp -r':18}{out['cp_s']:>8}{out['cp_mb_s']:>10}{1.0:>10}")
        for k in ("backup", "restore_live", "restore_offline"):
            print(f"{k:18}{out[k + '_s']:>8}{out[k + '_mb_s']:>10}{out[k + '_vs_cp']:>10}")
        print("target: >= 0.5x cp -r; rows after restores:", out["restore_live_rows"], out["restore_offline_rows"])
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return _finish(out, args.json, tmp)


def _finish(out: dict, json_path: str | None, tmp: Path) -> int:
    shutil.rmtree(tmp, ignore_errors=True)
    line = json.dumps(out)
    if json_path:
        Path(json_path).write_text(line)
    print(line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
