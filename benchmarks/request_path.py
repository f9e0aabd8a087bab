"""The fixed cost of one request: µs per `/ping` and per tiny query on `influx3 serve`, next to a bare
tornado server answering `/ping` in the same run (the floor of a tornado server in Python).

    python3 benchmarks/request_path.py                  # ~30 s
    python3 benchmarks/request_path.py --n 3000 --rounds 5
    python3 benchmarks/request_path.py --baseline /tmp/old   # A/B: also a server of the package in /tmp/old
    python3 benchmarks/request_path.py --profile query  # + cProfile of the server for that request
                                                        # (ping, select1, query, influxql)

One keep-alive client connection sends requests one after another (no overlap), so wall time per
request is the round trip: client + loopback + server. The server's own CPU per request (user +
system from psutil, divided by requests) depends less on what else the machine runs. Medians over
`--rounds`; the requests of different kinds alternate round by round. Contacts 127.0.0.1 only.

The server overhead of a query is what the server spends on it besides the query itself: its CPU
per request, less the floor (the bare tornado `/ping`), less the engine's CPU for the same statement
in process (`engine` column: a second node on the server's data directory runs `Engine.query_sql`
and reads the answer, or `Executor.execute`, `--n` times, timed with `time.process_time`).
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import pstats
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse
from pathlib import Path

import psutil

BARE_TORNADO = r"""
import asyncio, sys, tornado.web
class Ping(tornado.web.RequestHandler):
    def get(self):
        self.set_header("X-Influxdb-Version", "3")
        self.set_status(204)
async def main():
    app = tornado.web.Application([(r"/ping", Ping)])
    app.listen(int(sys.argv[1]), "127.0.0.1")
    print("ready", flush=True)
    await asyncio.Event().wait()
asyncio.run(main())
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_up(port: int, path: str, proc: subprocess.Popen, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode}")
        try:
            c = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            c.request("GET", path)
            c.getresponse().read()
            return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError("server did not come up")


def measure(port: int, path: str, n: int, pid: int) -> tuple[float, float]:
    """(wall µs per request, server CPU µs per request) over `n` keep-alive requests."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    conn.request("GET", path)
    conn.getresponse().read()
    proc = psutil.Process(pid)
    procs = [proc, *proc.children(recursive=True)]
    cpu0 = sum(sum(p.cpu_times()[:2]) for p in procs)
    t0 = time.perf_counter()
    for _ in range(n):
        conn.request("GET", path)
        r = conn.getresponse()
        r.read()
        if r.status >= 300:
            raise RuntimeError(f"{path}: HTTP {r.status}")
    wall = time.perf_counter() - t0
    cpu = sum(sum(p.cpu_times()[:2]) for p in procs) - cpu0
    conn.close()
    return wall / n * 1e6, cpu / n * 1e6


def engine_cpu_us(data_dir: Path, kinds: dict, n: int) -> dict:
    """CPU µs per call of each query kind's engine work, in this process (a second node)."""
    from jupyter_influx3.engine import Engine
    from jupyter_influx3.engine.influxql.executor import Executor

    eng = Engine(data_dir, node_id="bench-inproc", background=False)
    ex = Executor(eng)
    out = {}
    try:
        for name, (_, path, _) in kinds.items():
            query = urllib.parse.parse_qs(urllib.parse.urlsplit(path).query)
            if "q" not in query:
                continue
            db, q = query["db"][0], query["q"][0]
            if path.startswith("/query"):
                def call():
                    return list(ex.execute(q, database=db))
            else:
                def call():
                    return eng.query_sql(db, q).to_table()
            call()
            t0 = time.process_time()
            for _ in range(n):
                call()
            out[name] = (time.process_time() - t0) / n * 1e6
    finally:
        eng.close()
    return out


def start_influx3(data_dir: Path, port: int, profile_out: Path | None, workers: int,
                  source: str | None = None) -> subprocess.Popen:
    """`influx3 serve` of this checkout, or (`source`) of the package under another directory."""
    env, cwd = None, None
    if source is not None:
        # the other package first on the path; run from a directory that holds no package
        env, cwd = dict(os.environ, PYTHONPATH=source), tempfile.gettempdir()
    cmd = [sys.executable]
    if profile_out is not None:
        cmd += ["-m", "cProfile", "-o", str(profile_out)]
    cmd += ["-m", "jupyter_influx3", "serve", "--data-dir", str(data_dir), "--http-bind", f"127.0.0.1:{port}",
            "--node-id", "bench", "--without-auth", "--workers", str(workers)]
    return subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env, cwd=cwd)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--n", type=int, default=2000, help="requests per round and kind")
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--workers", type=int, default=1)
    p.add_argument("--profile", choices=("ping", "query", "select1", "influxql"), default=None)
    p.add_argument("--json", default=None, metavar="FILE")
    p.add_argument("--profile-out", default=None, metavar="FILE", help="keep the server's cProfile data there")
    p.add_argument("--baseline", default=None, metavar="DIR",
                   help="also time a server of the jupyter_influx3 package under DIR (e.g. `git archive <rev> "
                        "jupyter_influx3 | tar -x -C DIR`), alternating with this checkout's: an A/B in one run")
    args = p.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="influx3-reqpath-"))
    port, ref_port = free_port(), free_port()
    profile_out = tmp / "server.prof" if args.profile else None
    ours = start_influx3(tmp / "data", port, profile_out, args.workers)
    ref = subprocess.Popen([sys.executable, "-c", BARE_TORNADO, str(ref_port)], stdout=subprocess.DEVNULL)
    servers = {"influx3": (port, ours)}
    if args.baseline:
        base_port = free_port()
        servers["baseline"] = (base_port, start_influx3(tmp / "baseline-data", base_port, None, args.workers,
                                                        os.path.abspath(args.baseline)))
    try:
        wait_up(ref_port, "/ping", ref)
        kinds = {"bare tornado /ping": (ref_port, "/ping", ref.pid)}
        for label, (prt, proc) in servers.items():
            wait_up(prt, "/ping", proc)
            c = http.client.HTTPConnection("127.0.0.1", prt, timeout=30)
            c.request("POST", "/api/v3/write_lp?db=b", body=b"t,host=a v=1 1\nt,host=b v=2 2\n")
            assert c.getresponse().read() is not None
            kinds.update({
                f"{label} /ping": (prt, "/ping", proc.pid),
                f"{label} SELECT 1": (prt, "/api/v3/query_sql?" + urllib.parse.urlencode(
                    {"db": "b", "q": "SELECT 1", "format": "json"}), proc.pid),
                f"{label} tiny query": (prt, "/api/v3/query_sql?" + urllib.parse.urlencode(
                    {"db": "b", "q": "SELECT v FROM t WHERE host = 'a'", "format": "json"}), proc.pid),
                f"{label} InfluxQL tiny": (prt, "/query?" + urllib.parse.urlencode(
                    {"db": "b", "q": "SELECT v FROM t WHERE host = 'a'", "epoch": "ns"}), proc.pid),
            })
        if args.profile:
            name = {"ping": "influx3 /ping", "query": "influx3 tiny query", "select1": "influx3 SELECT 1",
                    "influxql": "influx3 InfluxQL tiny"}[args.profile]
            kinds = {k: v for k, v in kinds.items() if k in (name, "bare tornado /ping")}
        results: dict[str, list] = {k: [] for k in kinds}
        load = os.getloadavg()[0]
        for r in range(args.rounds):
            # with a baseline, its requests and ours take turns going first
            order = list(kinds.items()) if r % 2 == 0 else list(kinds.items())[::-1]
            for name, (prt, path, pid) in order:
                results[name].append(measure(prt, path, args.n, pid))
        load = (load + os.getloadavg()[0]) / 2
        engine_us = engine_cpu_us(tmp / "data", {k: v for k, v in kinds.items() if k.startswith("influx3 ")}, args.n)
    finally:
        procs = [ref] + [proc for _, proc in servers.values()]
        for proc in procs:
            proc.send_signal(signal.SIGTERM)
        for proc in procs:
            try:
                proc.wait(60)
            except subprocess.TimeoutExpired:
                proc.kill()
    floor_wall = statistics.median(w for w, _ in results["bare tornado /ping"])
    floor_cpu = statistics.median(c for _, c in results["bare tornado /ping"])
    summary = {}
    print(f"\nload average (1 min) ~{load:.1f}; {args.rounds} rounds x {args.n} requests; workers {args.workers}")
    print(f"{'request':<24} {'wall µs':>9} {'server CPU µs':>14} {'CPU - bare µs':>14} {'wall / bare':>12} "
          f"{'CPU / bare':>11} {'engine µs':>10} {'overhead µs':>12}")
    for name, vals in results.items():
        wall = statistics.median(w for w, _ in vals)
        cpu = statistics.median(c for _, c in vals)
        # the server overhead: CPU per request above what the bare tornado server spends on /ping
        # the server overhead: CPU per request above the bare tornado's /ping and the engine's own work
        eng = engine_us.get(name, 0.0)
        summary[name] = {"wall_us": round(wall, 1), "server_cpu_us": round(cpu, 1),
                         "above_bare_cpu_us": round(cpu - floor_cpu, 1), "engine_cpu_us": round(eng, 1),
                         "overhead_cpu_us": round(cpu - floor_cpu - eng, 1),
                         "wall_ratio": round(wall / floor_wall, 2), "cpu_ratio": round(cpu / floor_cpu, 2)}
        print(f"{name:<24} {wall:>9.0f} {cpu:>14.0f} {cpu - floor_cpu:>14.0f} {wall / floor_wall:>12.2f} "
              f"{cpu / floor_cpu:>11.2f} {eng:>10.0f} {cpu - floor_cpu - eng:>12.0f}")
    if profile_out is not None and profile_out.exists():
        st = pstats.Stats(str(profile_out))
        st.sort_stats("tottime").print_stats(30)
        if args.profile_out:
            shutil.copy(profile_out, args.profile_out)
    summary["loadavg"] = round(load, 2)
    print(json.dumps(summary))
    if args.json:
        Path(args.json).write_text(json.dumps(summary, indent=2))
    shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
