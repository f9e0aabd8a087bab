#!/usr/bin/env python3
"""What the processing engine adds to many small writes: the CPU and wall time of --writes writes of
--lines TSBS lines each through `Engine.write_lp`, in process, in three set-ups measured in the same
run, each in a child process of its own:

  none     no processing engine (the reference)
  engine   the processing engine on (a plugin directory), no trigger
  trigger  the processing engine with a no-op `all_tables` WAL trigger, which gets every row

The processing engine's WAL reader runs in its own thread, so its work shows in the process's CPU
(user + system) more than in the writes' wall time. With --baseline DIR, the same children also run
the build checked out in DIR (PYTHONPATH=DIR), for an A/B. Every write is fsynced, as over HTTP.
Medians over --repeat runs. Nothing asserts on time; no network.

    python3 benchmarks/plugin_writes.py                         # ~1 min
    python3 benchmarks/plugin_writes.py --baseline /tmp/basewt  # A/B
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from ingest import generate, log, run_info, shared_dir, text_table  # noqa: E402

SETUPS = ("none", "engine", "trigger")
NOOP = "def process_writes(influxdb3_local, table_batches, args=None):\n    pass\n"


def child(setup: str, data: str, writes: int, lines: int) -> None:
    """Runs in a child process: one set-up, prints its JSON figures."""
    from jupyter_influx3.engine import Engine

    body_lines = [ln for ln in Path(data).read_bytes().split(b"\n") if ln][: writes * lines]
    with tempfile.TemporaryDirectory() as tmp:
        eng = Engine(Path(tmp) / "data", node_id="pw")
        try:
            if setup != "none":
                pe = eng.configure_plugins(Path(tmp) / "plugins")
                if setup == "trigger":
                    (pe.loader.plugin_dir / "noop.py").write_text(NOOP)
                    eng.write_lp("bench", "seed v=1", "ns")
                    pe.create_trigger("bench", "noop", "noop.py", "all_tables")
                deadline = time.monotonic() + 10
                while not pe.leader and time.monotonic() < deadline:   # the WAL reader runs
                    time.sleep(0.05)
            wall0, cpu0 = time.perf_counter(), time.process_time()
            for i in range(0, len(body_lines), lines):
                eng.write_lp("bench", b"\n".join(body_lines[i:i + lines]), precision="nanosecond")
            wall, cpu = time.perf_counter() - wall0, time.process_time() - cpu0
        finally:
            eng.close()
    print(json.dumps({"wall_s": round(wall, 3), "cpu_s": round(cpu, 3)}))


def run_child(setup: str, data: Path, args, src: str | None) -> dict:
    env = dict(os.environ, PYTHONPATH=src) if src else None
    out = subprocess.run([sys.executable, __file__, "--_child", setup, str(data), str(args.writes), str(args.lines)],
                         capture_output=True, text=True, env=env, cwd=tempfile.gettempdir() if src else None)
    if out.returncode != 0:
        raise RuntimeError(f"{setup} child failed:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> int:
    if len(sys.argv) > 1 and sys.argv[1] == "--_child":
        child(sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5]))
        return 0
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--writes", type=int, default=2000, help="writes per run (2000)")
    p.add_argument("--lines", type=int, default=100, help="TSBS lines per write (100)")
    p.add_argument("--repeat", type=int, default=3, help="runs per set-up and build; medians (3)")
    p.add_argument("--baseline", metavar="DIR", default=None, help="also run the build checked out in DIR")
    p.add_argument("--json", default=None, metavar="FILE", help="also write the JSON results to FILE")
    args = p.parse_args()
    builds = {"new": None, **({"baseline": args.baseline} if args.baseline else {})}
    results = run_info(args)
    results["runs"] = {b: {s: [] for s in SETUPS} for b in builds}
    with tempfile.TemporaryDirectory(prefix="influx3-plugin-writes-") as tmp:
        data = Path(tmp) / "cpu.lp"
        hosts = max(1, (args.writes * args.lines + 999) // 1000)
        generate(shared_dir(), hosts, 1000, data)
        for r in range(args.repeat):   # set-ups and builds interleaved: each sees the same machine
            for build, src in builds.items():
                for setup in SETUPS:
                    got = run_child(setup, data, args, src)
                    results["runs"][build][setup].append(got)
                    log(f"run {r + 1} {build:8s} {setup:8s} wall {got['wall_s']:6.2f} s  CPU {got['cpu_s']:6.2f} s")
    rows = []
    for build in builds:
        ref = statistics.median(x["cpu_s"] for x in results["runs"][build]["none"])
        for setup in SETUPS:
            runs = results["runs"][build][setup]
            wall, cpu = statistics.median(x["wall_s"] for x in runs), statistics.median(x["cpu_s"] for x in runs)
            rows.append([build, setup, f"{wall:.2f}", f"{cpu:.2f}", f"{cpu / ref:.2f}"])
    print()
    print(f"{args.writes} writes of {args.lines} lines, in process, medians of {args.repeat}")
    print(text_table(["build", "set-up", "wall s", "CPU s", "CPU / none"], rows, left={0, 1}))
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=1))
    print(json.dumps(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
