#!/usr/bin/env python3
"""Run N rounds (default 100) of the SIGKILL crash test of tests/e2e/crash_round.py on one server.

Each round: four clients write 200-line batches to a real `influx3 serve` (127.0.0.1, free port,
temp data dir), the server is killed with SIGKILL after 0.3-1.5 s, restarted, and every
acknowledged batch must be present exactly once (no batch missing, none partial).

By default every round gets a fresh server and data dir. `--same-dir` runs all rounds on one data
dir (restarts over a growing WAL + Parquet history); each round writes keys of its own
(crash_round.py), so its batches are checked as on a fresh dir, plus a check that the rows of the
earlier rounds are all still there.

    python3 tests/stress/crash_rounds.py [--rounds 100] [--seed 0] [--same-dir] [--keep]

Prints one line per round and a summary; exits 1 on any loss (missing or partial batch, row count
going down, rows != whole batches), 2 if the server could not be (re)started.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from pathlib import Path

import requests

REPO = Path(__file__).resolve().parents[2]
sys.path[:0] = [str(REPO / "tests"), str(REPO / "tests" / "e2e")]

from conftest import Influx3Server  # noqa: E402
from crash_round import LINES_PER_BATCH, run_round  # noqa: E402


def _probe(server) -> str:
    """One write of a line outside the test's keys: the status and time, to tell why no batch was acked."""
    t0 = time.monotonic()
    try:
        r = requests.post(f"{server.url}/api/v3/write_lp?db=crash_probe&precision=nanosecond",
                          data="probe v=1i 1", timeout=10)
        return f"HTTP {r.status_code} in {time.monotonic() - t0:.2f}s {r.text[:200]!r}"
    except requests.RequestException as exc:
        return f"{type(exc).__name__} after {time.monotonic() - t0:.2f}s"


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--rounds", type=int, default=100)
    p.add_argument("--seed", type=int, default=0, help="seed of the first round (round i uses seed+i)")
    p.add_argument("--same-dir", action="store_true",
                   help="run every round on one server/data dir (weaker check, see above)")
    p.add_argument("--keep", action="store_true", help="keep the temp data dir(s) and server log(s)")
    p.add_argument("--stop-on-loss", action="store_true", help="stop at the first round with a loss")
    args = p.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="influx3-crash-"))
    server = Influx3Server(tmp / "data", node_id="crash-node")
    logs = []
    totals = {"rounds": 0, "acked_batches": 0, "missing": 0, "partial": 0, "bad_rounds": [],
              "zero_ack_rounds": 0}
    rows_before = 0
    code = 0
    t0 = time.monotonic()
    try:
        for i in range(args.rounds):
            seed = args.seed + i
            t1 = time.monotonic()
            if not args.same_dir and i:
                server = Influx3Server(tmp / f"data{i}", node_id="crash-node")
            if server.proc is None:
                server.start()
            res = run_round(server, seed)
            problems = []
            if res["missing"]:
                problems.append(f"missing {len(res['missing'])} acked batches, e.g. {res['missing'][:5]}")
            if res["partial"]:
                problems.append(f"partial batches {dict(list(res['partial'].items())[:5])}")
            if res["rows"] != res["present_batches"] * LINES_PER_BATCH:
                problems.append(f"rows {res['rows']} != {res['present_batches']} batches x {LINES_PER_BATCH}")
            # run_round does not query when nothing was acknowledged (it reports rows=0 then).
            if args.same_dir and res["acked"] and res["total_rows"] != rows_before + res["rows"]:
                problems.append(f"earlier rounds' rows changed: {rows_before} + {res['rows']} != {res['total_rows']}")
            if res["acked"]:
                rows_before = res["total_rows"] if args.same_dir else res["rows"]
            note = ""
            if not res["acked"]:
                note = "  WARNING: nothing acknowledged, nothing checked; probe write after restart: " + _probe(server)
            totals["rounds"] += 1
            totals["acked_batches"] += res["acked"]
            totals["missing"] += len(res["missing"])
            totals["partial"] += len(res["partial"])
            totals["zero_ack_rounds"] += res["acked"] == 0
            print(f"round {i + 1:3d}/{args.rounds} seed {seed:3d}: acked {res['acked']:4d} batches, "
                  f"present {res['present_batches']:6d}, rows {res['rows']:9d}  {time.monotonic() - t1:5.1f}s"
                  + ("  LOSS: " + "; ".join(problems) if problems else "") + note, flush=True)
            if problems:
                totals["bad_rounds"].append(seed)
                logs.append(server.log_path)
                code = 1
                if args.stop_on_loss:
                    break
            if not args.same_dir:
                server.kill()
                if not (args.keep or problems):
                    shutil.rmtree(server.data_dir, ignore_errors=True)
                    server.log_path.unlink(missing_ok=True)
    except RuntimeError as exc:  # the server did not come back
        print(f"server failure in round {totals['rounds'] + 1}: {exc}", flush=True)
        code = 2
    finally:
        server.kill()
    print(f"\n{totals['rounds']} rounds in {time.monotonic() - t0:.0f}s: {totals['acked_batches']} acknowledged "
          f"batches ({totals['acked_batches'] * LINES_PER_BATCH} lines), {totals['missing']} missing, "
          f"{totals['partial']} partial, rounds with a loss: {totals['bad_rounds'] or 'none'}, "
          f"rounds with nothing acked: {totals['zero_ack_rounds']}"
          + (f", final rows {rows_before}" if args.same_dir else "")
          + ("  [one data dir for all rounds]" if args.same_dir else "  [fresh data dir per round]"))
    if code:
        print("server logs: " + " ".join(str(p) for p in (logs or [server.log_path])))
    if args.keep or code:
        print(f"data dir kept: {tmp}")
    else:
        shutil.rmtree(tmp, ignore_errors=True)
    print("RESULT:", "OK" if code == 0 else "LOSS" if code == 1 else "SERVER FAILURE")
    return code


if __name__ == "__main__":
    sys.exit(main())
