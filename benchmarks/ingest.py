#!/usr/bin/env python3
"""Ingest benchmark: influx3 vs InfluxDB 1.6.7 over HTTP, in-process Engine.write_lp, peak RSS.

Parts (each can be switched off; see --help):

  http     Generate TSBS cpu-only line protocol (gen_cpu.py 100 5000 = 500K lines) into a temp
           dir, start `influx3 serve` (temp data dir, free port on 127.0.0.1, fsync on = default)
           and load the file with shared/bench/load.py (2 threads, 5,000-line batches) into
           /api/v3/write_lp?db=bench&precision=nanosecond. In the same run, start InfluxDB 1.6.7
           (shared/bench/influx1.sh start), recreate database `bench` and load the same file into
           /write?db=bench. Prints both rates and the ratio (target: influx3 >= 4x InfluxDB 1.6.7, issue 18),
           then checks the row counts on both.
  inproc   Engine.write_lp on 50K-line bodies of the same data, in this process (target: >= 500K
           lines/s). Also reports parse-only throughput so the cost of parsing can be told apart.
  rss      (--rss, slow) 5M lines (gen_cpu.py 1000 5000) written to a temp file, then streamed in
           50K-line bodies into an Engine in a fresh child process; its peak RSS (VmHWM) is the
           number (target < 1.5 GB). Unless --no-rss-http, also streams the same file over HTTP into
           a fresh `influx3 serve` and reports the server's peak RSS over the load and its SIGTERM stop
           (VmHWM up to the end of the load, psutil polling during the stop).

Speed is always reported next to a reference measured in the same run (InfluxDB 1.6.7), or as a
plain rate; nothing here asserts on time. Only 127.0.0.1 is contacted. Generated data and data dirs
live under a temp dir (removed at the end unless --keep-tmp); nothing is written into the repo.

The last line on stdout is the JSON of all results (also written to --json FILE if given).
"""

from __future__ import annotations

import argparse
import cProfile
import gc
import http.client
import io
import json
import os
import pstats
import queue
import re
import resource
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import traceback
import urllib.parse
from pathlib import Path

import psutil
import requests

REPO = Path(__file__).resolve().parent.parent
GB = 10**9
MiB = 2**20
TARGET_RATIO = 4.0   # issue 18: with workers, >= 4x InfluxDB 1.6.7 in the same run
TARGET_INPROC = 500_000
TARGET_RSS = 1.5 * GB


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def shared_dir() -> Path:
    d = Path(os.environ.get("INFLUX3_SHARED") or REPO.parent / "shared")
    if not (d / "bench" / "gen_cpu.py").exists():
        sys.exit(f"cannot find shared/bench/gen_cpu.py under {d} (set INFLUX3_SHARED)")
    return d


def generate(shared: Path, hosts: int, points: int, out: Path) -> int:
    """Run gen_cpu.py HOSTS POINTS > out (streamed to disk); returns the number of lines."""
    t0 = time.perf_counter()
    with open(out, "wb") as f:
        subprocess.run([sys.executable, str(shared / "bench" / "gen_cpu.py"), str(hosts), str(points)],
                       stdout=f, check=True)
    n = hosts * points
    log(f"generated {n:,} lines ({out.stat().st_size / MiB:.0f} MiB) in {time.perf_counter() - t0:.1f}s -> {out}")
    return n


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# ---- peak memory -----------------------------------------------------------------------------
def vm_hwm(pid: int) -> int | None:
    """The kernel's peak RSS of a live process (VmHWM), in bytes."""
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return None


def tree_hwm(pid: int) -> int | None:
    """Peak RSS of a server, all its processes: the sum of each one's VmHWM (`serve --workers N`:
    the supervisor and every worker). An upper bound of their peak together, as their peaks
    need not coincide; the polled sum (RssPoller) is the lower bound."""
    try:
        pids = [pid] + [c.pid for c in psutil.Process(pid).children(recursive=True)]
    except psutil.Error:
        return vm_hwm(pid)
    peaks = [vm_hwm(p) for p in pids]
    return sum(x for x in peaks if x) or None


class RssPoller:
    """Polls the RSS of a process (plus its children) from a thread; keeps the peak."""

    def __init__(self, pid: int, interval: float = 0.05):
        self.proc = psutil.Process(pid)
        self.interval = interval
        self.peak = 0
        self.samples = 0
        self._stop = threading.Event()
        self._t = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                rss = self.proc.memory_info().rss
                for c in self.proc.children(recursive=True):
                    try:
                        rss += c.memory_info().rss
                    except psutil.Error:
                        pass
            except psutil.Error:
                return
            self.peak = max(self.peak, rss)
            self.samples += 1
            self._stop.wait(self.interval)

    def __enter__(self) -> "RssPoller":
        self._t.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._t.join()


# ---- influx3 server --------------------------------------------------------------------------
_AUTH_FLAGS: list[str] | None = None


def _auth_flags(cmd: list[str]) -> list[str]:
    """`--without-auth` when the server has auth (like InfluxDB 1.6.7 here, which runs without)."""
    global _AUTH_FLAGS
    if _AUTH_FLAGS is None:
        out = subprocess.run(cmd + ["serve", "--help"], capture_output=True, text=True)
        _AUTH_FLAGS = ["--without-auth"] if "--without-auth" in out.stdout else []
    return _AUTH_FLAGS


class Server:
    #: flags every `influx3 serve` of the run gets (`--server-workers N` -> `--workers N`)
    extra_flags: list[str] = []

    def __init__(self, data_dir: Path, node_id: str = "bench", workers: int | None = None):
        """`workers`: `--workers N` for this server (default: `extra_flags`, i.e. `--server-workers`)."""
        self.data_dir = data_dir
        self.node_id = node_id
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = data_dir.parent / f"{data_dir.name}-server.log"
        exe = shutil.which("influx3")
        cmd = [exe] if exe else [sys.executable, "-m", "jupyter_influx3"]
        self.cmd = cmd + ["serve", "--data-dir", str(data_dir), "--http-bind", f"127.0.0.1:{self.port}",
                          "--node-id", node_id] + _auth_flags(cmd) + list(self.extra_flags)
        if workers is not None:   # (argparse: the last --workers wins)
            self.cmd += ["--workers", str(workers)]
        self.proc: subprocess.Popen | None = None
        #: the environment and directory of the server process (None: this one's); an A/B run
        #: serves another build with PYTHONPATH=<its checkout> from outside this one
        self.env: dict | None = None
        self.cwd: str | None = None

    def start(self, timeout: float = 60.0) -> "Server":
        logf = open(self.log_path, "ab")
        offset = logf.tell()
        self.proc = subprocess.Popen(self.cmd, stdout=logf, stderr=logf, stdin=subprocess.DEVNULL, env=self.env,
                                     cwd=self.cwd)
        logf.close()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"influx3 serve exited with {self.proc.returncode}:\n{self.log()}")
            # With workers, the port answers as soon as the first one serves; a load started then
            # would have all its connections on that worker. The supervisor prints "listening on"
            # once every worker serves (a single process prints it when it listens).
            if "listening on" not in self.log_path.read_bytes()[offset:].decode(errors="replace"):
                time.sleep(0.1)
                continue
            try:
                if requests.get(self.url + "/health", timeout=2).status_code == 200:
                    return self
            except requests.RequestException:
                pass
            time.sleep(0.1)
        self.proc.kill()
        raise RuntimeError(f"influx3 serve not healthy after {timeout}s:\n{self.log()}")

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")[-4000:] if self.log_path.exists() else ""

    def stop(self, timeout: float = 300.0) -> tuple[int, float]:
        """SIGTERM (the server snapshots its buffer to Parquet); returns (exit code, seconds)."""
        t0 = time.perf_counter()
        self.proc.send_signal(signal.SIGTERM)
        try:
            code = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            code = self.proc.wait()
            log(f"influx3 serve did not stop within {timeout}s; killed")
        return code, time.perf_counter() - t0


def influx3_count(data_dir: Path) -> int:
    from jupyter_influx3.engine import Engine
    e = Engine(data_dir, node_id="bench-check", background=False)
    try:
        return int(e.sql("bench", "SELECT count(*) FROM cpu").column(0)[0].as_py())
    finally:
        e.close()


def _stopped_and_counted(r: dict, code: int, secs: float, data_dir: Path, nlines: int) -> None:
    """Records a server's SIGTERM stop (exit code, seconds) and the row count on its data dir after it."""
    r["stop_exit_code"], r["stop_seconds"] = code, round(secs, 2)
    r["count"] = influx3_count(data_dir)
    r["count_ok"] = r["count"] == nlines


# ---- loaders ---------------------------------------------------------------------------------
_RATE = re.compile(r"^(\d+) lines/s\s+(\d+) values/s\s+([\d.]+)s", re.M)
_ERRS = re.compile(r"lines=(\d+) batches=(\d+) errors=(\d+)")


def run_load_py(shared: Path, path: Path, url: str, batch: int, workers: int,
                watch_pid: int | None = None) -> dict:
    """shared/bench/load.py FILE URL BATCH WORKERS; parses its output. Watches RSS of `watch_pid`."""
    cmd = [sys.executable, str(shared / "bench" / "load.py"), str(path), url, str(batch), str(workers)]
    poller = RssPoller(watch_pid) if watch_pid else None
    cpu0 = tree_cpu_s(watch_pid)
    if poller:
        poller.__enter__()
    try:
        out = subprocess.run(cmd, capture_output=True, text=True)
    finally:
        if poller:
            poller.__exit__()
    cpu1 = tree_cpu_s(watch_pid)
    if out.returncode != 0:
        raise RuntimeError(f"load.py failed ({out.returncode}):\n{out.stdout}\n{out.stderr}")
    log("  load.py: " + out.stdout.strip().replace("\n", "\n  load.py: "))
    m, e = _RATE.search(out.stdout), _ERRS.search(out.stdout)
    res = {"lines": int(e.group(1)), "batches": int(e.group(2)), "errors": int(e.group(3)),
           "lines_per_s": int(m.group(1)), "seconds": float(m.group(3))}
    if poller:
        res["server_peak_rss_polled"] = poller.peak
    if cpu0 is not None and cpu1 is not None:
        res["server_cpu_s"] = round(cpu1 - cpu0, 2)
    return res


def tree_cpu_s(pid: int | None) -> float | None:
    """User + system seconds of `pid` and its children so far (None: no such process)."""
    if not pid:
        return None
    try:
        proc = psutil.Process(pid)
        total = 0.0
        for p in [proc, *proc.children(recursive=True)]:   # `serve --workers N`: the workers too
            try:
                t = p.cpu_times()
                total += t.user + t.system
            except psutil.Error:
                pass
        return total
    except psutil.Error:
        return None


def iter_bodies(path: Path, lines_per_body: int):
    """Yields (body bytes, line count) read from `path` without holding more than one body."""
    buf, n = [], 0
    with open(path, "rb", buffering=1 << 20) as f:
        for line in f:
            buf.append(line)
            n += 1
            if n == lines_per_body:
                yield b"".join(buf), n
                buf, n = [], 0
    if buf:
        yield b"".join(buf), n


def stream_http(path: Path, url: str, batch: int, workers: int) -> dict:
    """Streams a file over HTTP (bounded queue of batches, `workers` keep-alive connections)."""
    u = urllib.parse.urlsplit(url)
    target = u.path + ("?" + u.query if u.query else "")
    q: queue.Queue = queue.Queue(maxsize=workers * 2)
    errors: list = []
    sent = [0]
    lock = threading.Lock()

    def work():
        c = http.client.HTTPConnection(u.hostname, u.port, timeout=300)
        while True:
            item = q.get()
            if item is None:
                return
            body, n = item
            c.request("POST", target, body=body, headers={"Content-Type": "text/plain; charset=utf-8"})
            r = c.getresponse()
            data = r.read()
            if r.status >= 300:
                errors.append((r.status, data[:200]))
            else:
                with lock:
                    sent[0] += n

    ts = [threading.Thread(target=work) for _ in range(workers)]
    t0 = time.perf_counter()
    [t.start() for t in ts]
    lines = 0
    for body, n in iter_bodies(path, batch):
        q.put((body, n))
        lines += n
    for _ in ts:
        q.put(None)
    [t.join() for t in ts]
    dt = time.perf_counter() - t0
    return {"lines": lines, "acked_lines": sent[0], "errors": len(errors), "first_errors": [str(e) for e in errors[:2]],
            "seconds": round(dt, 2), "lines_per_s": int(lines / dt)}


# ---- InfluxDB 1.6.7 --------------------------------------------------------------------------
INFLUX1 = "http://127.0.0.1:18086"


def influx1_start(shared: Path) -> bool:
    """Starts the reference server (installing it with apt if needed). True if we started it."""
    out = subprocess.run(["bash", str(shared / "bench" / "influx1.sh"), "start"], capture_output=True, text=True)
    if out.returncode != 0:
        raise RuntimeError(f"influx1.sh start failed:\n{out.stdout}\n{out.stderr}")
    log(f"influx1.sh: {out.stdout.strip()}")
    return "already running" not in out.stdout


def influx1_stop(shared: Path) -> None:
    subprocess.run(["bash", str(shared / "bench" / "influx1.sh"), "stop"], capture_output=True)


def influx1_version() -> str:
    r = requests.get(INFLUX1 + "/ping", timeout=5)
    return r.headers.get("X-Influxdb-Version", "?")


def influx1_query(q: str, db: str | None = None, post: bool = False) -> dict:
    params = {"q": q, **({"db": db} if db else {})}
    r = (requests.post if post else requests.get)(INFLUX1 + "/query", params=params, timeout=600)
    r.raise_for_status()
    return r.json()


def influx1_pid() -> int | None:
    try:
        return int(Path("/tmp/influx1/influxd.pid").read_text().strip())
    except (OSError, ValueError):
        pass
    for p in psutil.process_iter(["name"]):
        if p.info["name"] == "influxd":
            return p.pid
    return None


def influx1_count(db: str) -> int:
    j = influx1_query("SELECT count(usage_user) FROM cpu", db)
    series = j["results"][0].get("series") or []
    return int(series[0]["values"][0][1]) if series else 0


#: more databases than this in the reference's data directory are reported: left behind by
#: other runs (the InfluxQL fuzzer once left 408), they slow InfluxDB 1.6.7 in the background
CLUTTER_DATABASES = 10


def influx1_recreate(db: str, nlines: int) -> str:
    """Drops and recreates database `db` only (before loading `nlines` lines); returns the version."""
    version = influx1_version()
    series = influx1_query("SHOW DATABASES")["results"][0].get("series") or [{}]
    names = [v[0] for v in series[0].get("values", [])]
    if len(names) > CLUTTER_DATABASES:
        log(f"warning: InfluxDB 1.6.7 holds {len(names)} databases ({', '.join(names[:5])}, ...): others' "
            "leftovers slow it in the background and skew the reference; drop them first")
    influx1_query(f"DROP DATABASE {db}", post=True)
    influx1_query(f"CREATE DATABASE {db}", post=True)
    log(f"InfluxDB {version}: loading {nlines:,} lines into db {db}")
    return version


# ---- parts -----------------------------------------------------------------------------------
def influx1_loaded(args, shared: Path, data: Path, nlines: int, db: str, results: dict) -> bool:
    """InfluxDB 1.6.7 started if it is not running, with the TSBS file `data` loaded into a fresh
    database `db` (results["influx1"]: version, load, count_ok); returns whether this call started
    the server (the caller stops it at the end). On a failure a server started here is stopped."""
    started = influx1_start(shared)
    try:
        results["influx1"] = {"version": influx1_recreate(db, nlines)}
        results["influx1"]["load"] = run_load_py(shared, data, f"{INFLUX1}/write?db={db}", args.batch, args.workers)
        results["influx1"]["count_ok"] = influx1_count(db) == nlines
    except BaseException:
        if started:
            influx1_stop(shared)
        raise
    return started


def wait_idle(pid: int | None, busy_pct: float = 10.0, timeout: float = 20.0) -> float:
    """Waits until process `pid` uses under `busy_pct` % of a CPU over half a second (InfluxDB 1.6.7
    compacts for seconds after a load, which would slow the load after it); the seconds waited."""
    t0 = time.monotonic()
    if not pid:
        return 0.0
    try:
        proc = psutil.Process(pid)
        proc.cpu_percent(None)
        while time.monotonic() - t0 < timeout:
            time.sleep(0.5)
            if proc.cpu_percent(None) < busy_pct:
                break
    except psutil.Error:
        pass
    return round(time.monotonic() - t0, 1)


def _load_influx3(args, shared: Path, tmp: Path, data: Path, nlines: int, rep: int,
                  workers: int | None = None) -> dict:
    r3: dict = {"waited_for_influxd_s": wait_idle(influx1_pid()) if not args.no_influx1 else 0.0}
    data_dir = tmp / f"influx3-http-{rep}-w{workers or 'd'}"
    srv = Server(data_dir, workers=workers).start()
    try:
        n = len(psutil.Process(srv.proc.pid).children())
        shape = f"{n} workers" if n else "one process"
        log(f"influx3 serve pid {srv.proc.pid} ({shape}) on {srv.url}; loading {nlines:,} lines")
        url = f"{srv.url}/api/v3/write_lp?db=bench&precision=nanosecond"
        r3.update(run_load_py(shared, data, url, args.batch, args.workers, watch_pid=srv.proc.pid))
        r3["server_peak_rss"] = tree_hwm(srv.proc.pid)   # every process of the server
        r3["server_processes"] = 1 + n
        if "server_cpu_s" in r3:
            r3["server_cpu_s_per_1m_lines"] = round(r3["server_cpu_s"] / nlines * 1e6, 2)
    finally:
        code, secs = srv.stop()
    _stopped_and_counted(r3, code, secs, data_dir, nlines)
    log(f"influx3: {r3['lines_per_s']:,} lines/s, errors={r3['errors']}, count={r3['count']:,}, "
        f"SIGTERM stop {secs:.1f}s (exit {code})")
    shutil.rmtree(data_dir, ignore_errors=True)
    return r3


def _load_influx1(args, shared: Path, data: Path, nlines: int) -> dict:
    r1: dict = {"version": influx1_recreate(args.influx1_db, nlines)}
    pid = influx1_pid()
    r1["waited_for_influxd_s"] = wait_idle(pid)   # (dropping the database has it busy too)
    r1.update(run_load_py(shared, data, f"{INFLUX1}/write?db={args.influx1_db}", args.batch, args.workers,
                          watch_pid=pid))
    r1["server_peak_rss"] = vm_hwm(pid) if pid else None  # since influxd started, not just this load
    r1["count"] = influx1_count(args.influx1_db)
    r1["count_ok"] = r1["count"] == nlines
    log(f"influx1: {r1['lines_per_s']:,} lines/s, errors={r1['errors']}, count={r1['count']:,}")
    return r1


def _median_run(runs: list[dict]) -> dict:
    """The run with the median rate; all rates and checks of every run folded in."""
    ordered = sorted(runs, key=lambda r: r["lines_per_s"])
    mid = dict(ordered[(len(ordered) - 1) // 2])
    mid["lines_per_s_all"] = [r["lines_per_s"] for r in runs]
    mid["count_ok"] = all(r["count_ok"] for r in runs)
    mid["errors"] = sum(r["errors"] for r in runs)
    cpu = sorted(r["server_cpu_s"] for r in runs if "server_cpu_s" in r)
    if cpu:
        mid["server_cpu_s_all"] = [r.get("server_cpu_s") for r in runs]
        mid["server_cpu_s"] = cpu[(len(cpu) - 1) // 2]
    return mid


def part_http(args, shared: Path, tmp: Path, data: Path, nlines: int, results: dict) -> None:
    """Alternates influx3 / InfluxDB 1.6.7 loads, `--repeat` times each; the median run is reported.
    With `--server-workers N` (N > 1), each repeat also loads an `influx3 serve --workers 1`, for
    the scaling from 1 to N workers (`--no-scaling` leaves it out)."""
    started = False
    if not args.no_influx1:
        started = influx1_start(shared)
    runs3, runs1, runs_one = [], [], []
    scaling = bool(args.server_workers and args.server_workers > 1 and not args.no_scaling)
    try:
        for rep in range(args.repeat):
            results.setdefault("http_loadavg_per_repeat", []).append(round(os.getloadavg()[0], 2))
            runs3.append(_load_influx3(args, shared, tmp, data, nlines, rep, args.server_workers))
            results["http_influx3"] = _median_run(runs3)
            if not args.no_influx1:
                runs1.append(_load_influx1(args, shared, data, nlines))
                results["http_influx1"] = _median_run(runs1)
            if scaling:
                runs_one.append(_load_influx3(args, shared, tmp, data, nlines, rep, 1))
                results["http_influx3_1_worker"] = _median_run(runs_one)
    finally:
        if started and not args.keep_influx1:
            influx1_stop(shared)
    if runs1:
        results["http_ratio"] = round(results["http_influx3"]["lines_per_s"] / results["http_influx1"]["lines_per_s"], 2)
        pairs = sorted(round(a["lines_per_s"] / b["lines_per_s"], 2) for a, b in zip(runs3, runs1))
        results["http_ratio_per_repeat"] = [round(a["lines_per_s"] / b["lines_per_s"], 2) for a, b in zip(runs3, runs1)]
        results["http_ratio_median_of_pairs"] = pairs[(len(pairs) - 1) // 2]
    if runs_one:
        results["scaling"] = round(results["http_influx3"]["lines_per_s"] / results["http_influx3_1_worker"]["lines_per_s"], 2)
        results["scaling_per_repeat"] = [round(a["lines_per_s"] / b["lines_per_s"], 2) for a, b in zip(runs3, runs_one)]


def part_inproc(args, tmp: Path, data: Path, results: dict) -> None:
    from jupyter_influx3.engine import Engine, lineprotocol

    bodies = [b for b, _ in iter_bodies(data, args.body_lines)]
    counts = [b.count(b"\n") for b in bodies]
    total = sum(counts)
    r: dict = {"lines": total, "body_lines": args.body_lines, "bodies": len(bodies)}
    results["inproc"] = r

    # Parse only (the first stage of write_lp), to tell parsing apart from the rest.
    lineprotocol.parse(bodies[0], "ns")  # warm-up
    gc.collect()
    t0 = time.perf_counter()
    for b in bodies:
        lineprotocol.parse(b, "ns")
    r["parse_lines_per_s"] = int(total / (time.perf_counter() - t0))

    rates = []
    for rep in range(args.inproc_repeat):
        data_dir = tmp / f"influx3-inproc-{rep}"
        e = Engine(data_dir, node_id="bench-inproc")
        prof = cProfile.Profile() if args.profile else None
        try:
            gc.collect()
            per_body = []
            if prof:
                prof.enable()
            t0 = time.perf_counter()
            for b in bodies:
                t1 = time.perf_counter()
                res = e.write_lp("bench", b, "nanosecond")
                per_body.append(time.perf_counter() - t1)
                if res.errors:
                    raise RuntimeError(f"write_lp rejected lines: {res.errors[:2]}")
            dt = time.perf_counter() - t0
            if prof:
                prof.disable()
            rates.append(total / dt)
            r["lines_per_s"] = int(max(rates))
            r["lines_per_s_all"] = [int(x) for x in rates]
            log(f"in-process rep {rep}: {total:,} lines in {dt:.2f}s = {total / dt:,.0f} lines/s "
                f"(per 50K body: min {min(per_body) * 1000:.0f} ms, max {max(per_body) * 1000:.0f} ms)")
            count = int(e.sql("bench", "SELECT count(*) FROM cpu").column(0)[0].as_py())
        finally:
            t0 = time.perf_counter()
            e.close()
            r["close_seconds"] = round(time.perf_counter() - t0, 2)
        r["count"] = count
        r["count_ok"] = count == total
        if prof:
            s = io.StringIO()
            pstats.Stats(prof, stream=s).sort_stats("cumulative").print_stats(30)
            log(s.getvalue())
            s = io.StringIO()
            pstats.Stats(prof, stream=s).sort_stats("tottime").print_stats(20)
            log(s.getvalue())
        shutil.rmtree(data_dir, ignore_errors=True)


def rss_child(path: str, data_dir: str, body_lines: int) -> None:
    """Child process of --rss: streams `path` into an Engine, prints JSON with its peak RSS."""
    # Peak RSS is VmHWM of this process: ru_maxrss would not do, since Linux carries the parent's
    # peak RSS over fork/vfork + exec into the child's ru_maxrss (the parent may be big by now).
    from jupyter_influx3.engine import Engine
    base = vm_hwm(os.getpid())
    with RssPoller(os.getpid()) as poller:
        e = Engine(data_dir, node_id="bench-rss")
        t0 = time.perf_counter()
        lines = 0
        per_body = []
        for body, n in iter_bodies(Path(path), body_lines):
            t1 = time.perf_counter()
            res = e.write_lp("bench", body, "nanosecond")
            per_body.append(time.perf_counter() - t1)
            if res.errors:
                raise RuntimeError(f"write_lp rejected lines: {res.errors[:2]}")
            lines += n
            del body
        dt = time.perf_counter() - t0
        rss_after_ingest = vm_hwm(os.getpid())
        t1 = time.perf_counter()
        e.close()
        close_s = time.perf_counter() - t1
    slow = sorted(per_body, reverse=True)[:8]
    print(json.dumps({"lines": lines, "seconds": round(dt, 2), "lines_per_s": int(lines / dt),
                      # write_lp calls only (not reading the file); the slowest ones include the
                      # synchronous snapshots to Parquet every snapshot_rows (1M) rows.
                      "write_lp_seconds": round(sum(per_body), 2),
                      "write_lp_lines_per_s": int(lines / sum(per_body)),
                      "slowest_bodies_ms": [round(x * 1000) for x in slow],
                      "median_body_ms": round(sorted(per_body)[len(per_body) // 2] * 1000),
                      "close_seconds": round(close_s, 2), "rss_after_imports": base,
                      "peak_rss_ingest": rss_after_ingest,
                      "peak_rss": vm_hwm(os.getpid()),
                      "ru_maxrss_inherited": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024,
                      "peak_rss_polled": poller.peak}))


def _rss_inproc(args, data: Path, nlines: int, tmp: Path, results: dict) -> None:
    """--rss in process: streams the file into an Engine in a child process (its peak RSS)."""
    data_dir = tmp / "influx3-rss-inproc"
    log(f"in-process streaming ingest of {nlines:,} lines in a child process")
    out = subprocess.run([sys.executable, __file__, "--_rss-child", str(data), str(data_dir), str(args.body_lines)],
                         capture_output=True, text=True)
    if out.returncode != 0:
        raise RuntimeError(f"rss child failed ({out.returncode}):\n{out.stdout[-2000:]}\n{out.stderr[-4000:]}")
    r = json.loads(out.stdout.strip().splitlines()[-1])
    results["rss_inproc"] = r
    r["count"] = influx3_count(data_dir)
    r["count_ok"] = r["count"] == nlines
    log(f"in-process {nlines / 1e6:g}M: peak RSS {r['peak_rss'] / MiB:,.0f} MiB (ingest {r['peak_rss_ingest'] / MiB:,.0f} MiB), "
        f"{r['lines_per_s']:,} lines/s incl. reading the file ({r['write_lp_lines_per_s']:,} lines/s in write_lp), "
        f"count {r['count']:,}; per {args.body_lines:,}-line body: median {r['median_body_ms']} ms, "
        f"slowest {r['slowest_bodies_ms']} ms")
    shutil.rmtree(data_dir, ignore_errors=True)


def part_rss(args, shared: Path, tmp: Path, results: dict) -> None:
    data = tmp / f"cpu-{args.rss_hosts}x{args.rss_points}.lp"
    nlines = generate(shared, args.rss_hosts, args.rss_points, data)
    if not args.no_rss_inproc:
        _rss_inproc(args, data, nlines, tmp, results)

    if args.no_rss_http:
        data.unlink()
        return
    data_dir = tmp / "influx3-rss-http"
    srv = Server(data_dir).start()
    rh: dict = {}
    results["rss_http"] = rh
    try:
        log(f"HTTP streaming load of {nlines:,} lines into influx3 serve pid {srv.proc.pid}")
        poller = None
        url = f"{srv.url}/api/v3/write_lp?db=bench&precision=nanosecond"
        cpu0 = tree_cpu_s(srv.proc.pid)
        poller = RssPoller(srv.proc.pid, interval=0.02).__enter__()
        rh.update(stream_http(data, url, args.batch, args.workers))
        rh["server_cpu_s"] = round(tree_cpu_s(srv.proc.pid) - cpu0, 2)
        rh["server_peak_rss_load"] = tree_hwm(srv.proc.pid)  # exact per process, up to the end of the load
        rh["server_processes"] = 1 + len(psutil.Process(srv.proc.pid).children())
    finally:
        code, secs = srv.stop()  # its final snapshot to Parquet counts too, like close() in-process
        if poller:
            poller.__exit__()
    # Peak over the load and the shutdown: VmHWM is exact until the load ends (with workers, the sum of
    # each process's peak), polling (the sum of every process's RSS) covers the stop.
    rh["server_peak_rss_polled"] = poller.peak
    rh["server_peak_rss"] = max(rh.get("server_peak_rss_load") or 0, poller.peak)
    _stopped_and_counted(rh, code, secs, data_dir, nlines)
    log(f"HTTP {nlines / 1e6:g}M: server peak RSS {rh['server_peak_rss'] / MiB:,.0f} MiB, {rh['lines_per_s']:,} lines/s, "
        f"errors {rh['errors']}, count {rh['count']:,}")
    shutil.rmtree(data_dir, ignore_errors=True)
    data.unlink()


# ---- report ----------------------------------------------------------------------------------
def _cnt(r: dict) -> str:
    return f"{r['count']:,}" if "count" in r else "not checked"


def _reps(r: dict) -> str:
    n = len(r.get("lines_per_s_all", []))
    return f", median of {n}" if n > 1 else ""


def _procs(r: dict) -> str:
    n = r.get("server_processes", 1)
    return "1 process" if n == 1 else f"{n} processes summed: supervisor + {n - 1} workers"


def summary(results: dict) -> str:
    rows = []

    def add(name, value, target="", ok=None):
        rows.append((name, value, target, "" if ok is None else ("PASS" if ok else "FAIL")))

    h3, h1 = results.get("http_influx3"), results.get("http_influx1")
    if h3 and "lines_per_s" in h3:
        add(f"HTTP influx3 serve ({h3['lines']:,} lines{_reps(h3)})", f"{h3['lines_per_s']:,} lines/s")
        add("  count after load", _cnt(h3), f"{h3['lines']:,}", h3.get("count_ok", False) and not h3["errors"])
        if h3.get("server_cpu_s_per_1m_lines"):
            add("  server CPU seconds per 1M lines (all processes)", f"{h3['server_cpu_s_per_1m_lines']:.2f}s")
        if h3.get("server_peak_rss"):
            add(f"  server peak RSS ({_procs(h3)})", f"{h3['server_peak_rss'] / MiB:,.0f} MiB")
    h1w = results.get("http_influx3_1_worker")
    if h1w and "lines_per_s" in h1w:
        add(f"HTTP influx3 serve --workers 1{_reps(h1w)}", f"{h1w['lines_per_s']:,} lines/s")
        add("  count after load", _cnt(h1w), f"{h1w['lines']:,}", h1w.get("count_ok", False) and not h1w["errors"])
        if h1w.get("server_cpu_s_per_1m_lines"):
            add("  server CPU seconds per 1M lines", f"{h1w['server_cpu_s_per_1m_lines']:.2f}s")
        add(f"scaling 1 -> {results['params'].get('server_workers')} workers (of medians)", f"{results['scaling']:.2f}x")
        if len(results.get("scaling_per_repeat", [])) > 1:
            add("  per repeat", " ".join(f"{x:.2f}x" for x in results["scaling_per_repeat"]))
    if h1 and "lines_per_s" in h1:
        add(f"HTTP InfluxDB {h1.get('version', '?')}{_reps(h1)}", f"{h1['lines_per_s']:,} lines/s")
        add("  count after load", _cnt(h1), f"{h1['lines']:,}", h1.get("count_ok", False) and not h1["errors"])
        if h1.get("server_peak_rss"):
            add("  influxd peak RSS (since start)", f"{h1['server_peak_rss'] / MiB:,.0f} MiB")
    if "http_ratio" in results:
        add("HTTP ratio influx3 / InfluxDB 1.6.7 (of medians)", f"{results['http_ratio']:.2f}x", f">= {TARGET_RATIO:.0f}x",
            results["http_ratio"] >= TARGET_RATIO)
        if h3.get("server_cpu_s") and h1.get("server_cpu_s"):
            add("  server CPU seconds for the load, InfluxDB / influx3",
                f"{h1['server_cpu_s']:.2f}s / {h3['server_cpu_s']:.2f}s = {h1['server_cpu_s'] / h3['server_cpu_s']:.2f}x")
        if len(results.get("http_ratio_per_repeat", [])) > 1:
            add("  per back-to-back pair", " ".join(f"{x:.2f}x" for x in results["http_ratio_per_repeat"]))
    ip = results.get("inproc")
    if ip and "lines_per_s" in ip:
        add("in-process parse only (50K bodies)", f"{ip['parse_lines_per_s']:,} lines/s")
        add("in-process Engine.write_lp (50K bodies)", f"{ip['lines_per_s']:,} lines/s", f">= {TARGET_INPROC:,}",
            ip["lines_per_s"] >= TARGET_INPROC)
        add("  count after write", _cnt(ip), f"{ip['lines']:,}", ip.get("count_ok", False))
    rs = results.get("rss_inproc")
    if rs:
        add(f"peak RSS in-process, {rs['lines']:,} lines", f"{rs['peak_rss'] / MiB:,.0f} MiB",
            f"< {TARGET_RSS / MiB:,.0f} MiB", rs["peak_rss"] < TARGET_RSS)
        add("  rate incl. file read / count", f"{rs['lines_per_s']:,} lines/s / {_cnt(rs)}", "", rs.get("count_ok", False))
        add("  rate in write_lp (incl. snapshots)", f"{rs['write_lp_lines_per_s']:,} lines/s")
    rh = results.get("rss_http")
    if rh and rh.get("server_peak_rss"):
        add(f"peak RSS influx3 serve ({_procs(rh)}), {rh['lines']:,} lines HTTP", f"{rh['server_peak_rss'] / MiB:,.0f} MiB",
            f"< {TARGET_RSS / MiB:,.0f} MiB", rh["server_peak_rss"] < TARGET_RSS)
        add("  rate / count", f"{rh['lines_per_s']:,} lines/s / {_cnt(rh)}", "",
            rh.get("count_ok", False) and not rh["errors"])
    w = [max(len(str(r[i])) for r in rows + [("measure", "value", "target", "")]) for i in range(4)]
    out = [f"{'measure':<{w[0]}}  {'value':>{w[1]}}  {'target':>{w[2]}}  result", "-" * (sum(w) + 12)]
    out += [f"{a:<{w[0]}}  {b:>{w[1]}}  {c:>{w[2]}}  {d}" for a, b, c, d in rows]
    return "\n".join(out)


def run_info(args) -> dict:
    """What a results file says about the run: machine, parameters and the code's git revision."""
    results: dict = {"machine": {"cpus": os.cpu_count(), "mem_total": psutil.virtual_memory().total,
                                 "python": sys.version.split()[0], "loadavg_start": os.getloadavg()},
                     "params": {k: v for k, v in vars(args).items() if k not in ("json", "tmp")}}
    try:
        rev = subprocess.run(["git", "-C", str(REPO), "rev-parse", "--short", "HEAD"], capture_output=True, text=True)
        dirty = subprocess.run(["git", "-C", str(REPO), "status", "--porcelain", "jupyter_influx3"],
                               capture_output=True, text=True)
        results["git"] = rev.stdout.strip() + ("+dirty" if dirty.stdout.strip() else "")
    except OSError:
        pass
    return results


def record_failure(errors: dict, name: str, exc: BaseException) -> None:
    """In an `except` block: prints the traceback and records the failure as errors[name]."""
    traceback.print_exc()
    errors[name] = f"{type(exc).__name__}: {exc}"


def add_tsbs_args(p: argparse.ArgumentParser) -> None:
    """The options every benchmark here shares: the TSBS data, how it is loaded, where temp files go."""
    p.add_argument("--hosts", type=int, default=100, help="gen_cpu.py hosts (100)")
    p.add_argument("--points", type=int, default=5000, help="gen_cpu.py points per host (5000 -> 500K lines)")
    p.add_argument("--batch", type=int, default=5000, help="lines per HTTP write (5000)")
    p.add_argument("--workers", type=int, default=2, help="concurrent HTTP write connections (2)")
    p.add_argument("--server-workers", type=int, default=None, metavar="N",
                   help="run influx3 serve --workers N (default: the server's default)")
    p.add_argument("--keep-influx1", action="store_true", help="leave InfluxDB 1.6.7 running if we started it")
    p.add_argument("--tmp", default=None, help="parent of the temp dir (default: system temp)")
    p.add_argument("--json", default=None, metavar="FILE", help="also write the JSON results to FILE")


def apply_server_args(args) -> None:
    """`--server-workers N`: every influx3 server of the run is `influx3 serve --workers N`."""
    if getattr(args, "server_workers", None):
        Server.extra_flags = ["--workers", str(args.server_workers)]


def generate_tsbs(args, shared: Path, tmp: Path) -> tuple[Path, int]:
    """gen_cpu.py --hosts --points into `tmp`; returns (the file, its number of lines)."""
    data = tmp / f"cpu-{args.hosts}x{args.points}.lp"
    return data, generate(shared, args.hosts, args.points, data)


# ---- shared by the query benchmarks (queries_sql.py, queries_influxql.py) ----------------------
class Http:
    """One keep-alive connection; `get(path)` returns (status, body)."""

    def __init__(self, url: str):
        u = urllib.parse.urlsplit(url)
        self.c = http.client.HTTPConnection(u.hostname, u.port, timeout=600)

    def get(self, path: str) -> tuple[int, bytes]:
        self.c.request("GET", path)
        r = self.c.getresponse()
        return r.status, r.read()

    def close(self) -> None:
        self.c.close()


def med(times: list[float]) -> float:
    return round(statistics.median(times), 2)


def serve_loaded(args, shared: Path, data: Path, nlines: int, data_dir: Path, results: dict) -> Server:
    """Starts `influx3 serve` on `data_dir` and loads the TSBS file into db `bench` with load.py
    (results["influx3_load"]); the server is stopped again if the load fails."""
    srv = Server(data_dir).start()
    try:
        log(f"influx3 serve pid {srv.proc.pid} on {srv.url}; loading {nlines:,} lines")
        load = run_load_py(shared, data, f"{srv.url}/api/v3/write_lp?db=bench&precision=nanosecond",
                           args.batch, args.workers)
        results["influx3_load"] = load
        if load["errors"]:
            raise RuntimeError(f"load.py reported {load['errors']} failed batches")
    except BaseException:
        srv.stop()
        raise
    return srv


def restart_after_sigterm(srv: Server, results: dict) -> Server:
    """Stops the server with SIGTERM (it snapshots its buffer to Parquet), records how
    (results["sigterm_stop"]), and starts a new one on the same data dir."""
    code, secs = srv.stop()
    results["sigterm_stop"] = {"exit_code": code, "seconds": round(secs, 2)}
    log(f"influx3 serve stopped with SIGTERM in {secs:.1f}s (exit {code}); restarting on the same data dir")
    again = Server(srv.data_dir, srv.node_id)
    again.env, again.cwd = srv.env, srv.cwd
    return again.start()


def text_table(head: list[str], rows: list[list], left: set[int]) -> str:
    """Columns padded to their widest cell, left-aligned where `left` says, right-aligned elsewhere."""
    w = [max(len(str(x[i])) for x in rows + [head]) for i in range(len(head))]
    fmt = lambda row: "  ".join(f"{c:<{w[i]}}" if i in left else f"{c:>{w[i]}}" for i, c in enumerate(row)).rstrip()
    return "\n".join([fmt(head), "-" * (sum(w) + 2 * (len(w) - 1))] + [fmt(x) for x in rows])


def main() -> int:
    if len(sys.argv) > 1 and sys.argv[1] == "--_rss-child":
        rss_child(sys.argv[2], sys.argv[3], int(sys.argv[4]))
        return 0
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_tsbs_args(p)
    p.add_argument("--body-lines", type=int, default=50_000, help="lines per Engine.write_lp body (50000)")
    p.add_argument("--inproc-repeat", type=int, default=1, help="in-process passes, best one reported (1)")
    p.add_argument("--repeat", type=int, default=1,
                   help="HTTP loads per server, alternating influx3 / InfluxDB 1.6.7; median reported (1)")
    p.add_argument("--no-http", action="store_true", help="skip the HTTP comparison")
    p.add_argument("--no-influx1", action="store_true", help="skip InfluxDB 1.6.7 (no ratio)")
    p.add_argument("--no-scaling", action="store_true",
                   help="with --server-workers N > 1, skip the --workers 1 loads (no 1 -> N scaling)")
    p.add_argument("--influx1-db", default="bench", help="database on InfluxDB 1.6.7, dropped and recreated (bench)")
    p.add_argument("--no-inproc", action="store_true", help="skip the in-process Engine.write_lp run")
    p.add_argument("--profile", action="store_true", help="cProfile the in-process run (printed to stderr)")
    p.add_argument("--rss", action="store_true", help="also measure peak RSS over 5M lines (slow)")
    p.add_argument("--rss-hosts", type=int, default=1000, help="gen_cpu.py hosts for --rss (1000)")
    p.add_argument("--rss-points", type=int, default=5000, help="gen_cpu.py points per host for --rss (5000)")
    p.add_argument("--no-rss-http", action="store_true", help="with --rss, skip the server RSS over HTTP")
    p.add_argument("--no-rss-inproc", action="store_true", help="with --rss, skip the in-process RSS child")
    p.add_argument("--keep-tmp", action="store_true", help="keep the temp dir (data + data dirs)")
    args = p.parse_args()
    apply_server_args(args)

    shared = shared_dir()
    tmp = Path(tempfile.mkdtemp(prefix="influx3-bench-", dir=args.tmp))
    log(f"temp dir {tmp}")
    results = run_info(args)
    errors: dict = {}

    def run(name, fn, *a) -> None:
        """One part; a failure is recorded (and fails the run) without skipping the other parts."""
        try:
            fn(*a)
        except Exception as exc:
            record_failure(errors, name, exc)

    try:
        if not (args.no_http and args.no_inproc):
            data, nlines = generate_tsbs(args, shared, tmp)
            if not args.no_http:
                run("http", part_http, args, shared, tmp, data, nlines, results)
            if not args.no_inproc:
                run("inproc", part_inproc, args, tmp, data, results)
            data.unlink()
        if args.rss:
            run("rss", part_rss, args, shared, tmp, results)
    except Exception as exc:
        errors["setup"] = f"{type(exc).__name__}: {exc}"
    finally:
        if not args.keep_tmp:
            shutil.rmtree(tmp, ignore_errors=True)
    failed = bool(errors)
    if errors:
        results["errors"] = errors
    results["machine"]["loadavg_end"] = os.getloadavg()
    print()
    print(summary(results))
    for name, err in errors.items():
        print(f"part {name} FAILED: {err}")
    la0, la1 = results["machine"]["loadavg_start"], results["machine"]["loadavg_end"]
    print(f"{os.cpu_count()} CPUs; load average (1 min) {la0[0]:.2f} at start, {la1[0]:.2f} at end"
          " (other processes on the machine skew rates; the HTTP ratio alternates the two servers)")
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2) + "\n")
    print(json.dumps(results))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
