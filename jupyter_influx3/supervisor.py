"""``influx3 serve --workers N``: N node processes of one data directory behind one listening socket.

The supervisor (the process the user started) binds the listening socket(s) and starts N workers,
each an ordinary ``influx3 serve`` with its own node id (``<node-id>-w<i>``, so each has its own WAL)
that serves on the inherited socket (the kernel hands each new connection to one of them). What the
workers share lives in a runtime directory the supervisor makes: ``metrics/`` (prometheus_client's
multiprocess mode, so ``/metrics`` is one view of the server) and ``slots/`` (one query concurrency
limit for the server, `engine/concurrency.SharedQuerySlots`). Everything else is already shared
through the data directory: a read first picks up what the other nodes acknowledged, and work that
must happen once (schedules, WAL triggers, compaction, adopting a dead node's WAL) runs under a lease.

The supervisor: starts worker 0 first (it opens the data directory alone: recovery, and a bad
setting is reported once), then the others; prints the listening line once every worker is ready;
restarts a worker that dies (same node id, so it replays its own WAL: nothing acknowledged is lost,
nothing applied twice); leaves a worker stopped by a node stop stopped (and exits once all are);
forwards SIGTERM/SIGINT to every worker and waits for their final snapshots. Workers die with it
(``PR_SET_PDEATHSIG``) if it is killed. A worker that fails before it ever became ready (bad flags,
data directory in use) stops the whole server with its exit code, unless its node was only busy
for a moment (`NODE_BUSY_EXIT`: a sibling adopting its WAL after a crash of the whole group).

Owns: worker processes and the runtime directory. Must not: open the data directory itself.
"""

from __future__ import annotations

import ctypes
import os
import selectors
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from typing import Optional, Sequence

#: environment variable naming the runtime directory workers share
WORKERS_DIR_ENV = "INFLUX3_WORKERS_DIR"
#: how long a worker may take to become ready
READY_TIMEOUT = 120.0
#: restart back-off: first delay, doubled per quick failure, capped
RESTART_DELAY, RESTART_DELAY_MAX = 0.2, 10.0
#: how long SIGTERM may take before the workers are killed
STOP_TIMEOUT = 90.0
#: a worker's exit code when its node id is held by another process (tried again while starting)
NODE_BUSY_EXIT = 75   # EX_TEMPFAIL
#: worker 0, which starts alone, is started again this many times when its node id is busy (another
#: server may run with it); the others, until READY_TIMEOUT: worker 0 may be persisting their WAL
#: after a crash of the whole group, under their node lock, for as long as their WAL takes
START_RETRIES = 4


def worker_node_id(node_id: str, index: int) -> str:
    return f"{node_id}-w{index}"


def _die_with_parent() -> None:  # runs in the child between fork and exec
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGKILL)   # PR_SET_PDEATHSIG: a killed supervisor takes its workers along
    except (OSError, AttributeError):  # pragma: no cover - not Linux
        pass


class Worker:
    def __init__(self, index: int, node_id: str, argv: list[str], fds: list[int], env: dict):
        self.index, self.node_id, self.fds, self.env = index, node_id, fds, env
        self.argv = [*argv, "--node-id", node_id]   # after the user's flags: argparse's last one wins
        self.proc: Optional[subprocess.Popen] = None
        self.ready_r: Optional[int] = None
        self.ready = False          # has it ever become ready (first start)
        self.delay = RESTART_DELAY
        self.started_at = 0.0
        self.start_failures = 0

    def start(self) -> None:
        r, w = os.pipe()
        spec = ",".join(map(str, [self.index, w, *self.fds]))
        cmd = [sys.executable, "-m", "jupyter_influx3", *self.argv, "--worker-spec", spec]
        self.proc = subprocess.Popen(cmd, pass_fds=[w, *self.fds], env=self.env, preexec_fn=_die_with_parent)
        os.close(w)
        self.ready_r = r
        self.started_at = time.monotonic()

    def close_pipe(self) -> None:
        if self.ready_r is not None:
            os.close(self.ready_r)
            self.ready_r = None


def run(argv: Sequence[str], n: int, node_id: str, sockets: list, url: str, data_dir: str = "") -> int:
    """Run `n` workers of `influx3 serve <argv>` on `sockets` until SIGTERM/SIGINT; the exit code."""
    runtime = tempfile.mkdtemp(prefix="influx3-workers-")
    os.makedirs(os.path.join(runtime, "metrics"))
    os.makedirs(os.path.join(runtime, "slots"))
    env = {**os.environ, WORKERS_DIR_ENV: runtime, "PROMETHEUS_MULTIPROC_DIR": os.path.join(runtime, "metrics")}
    fds = [s.fileno() for s in sockets]
    for s in sockets:
        os.set_inheritable(s.fileno(), True)
    workers = [Worker(i, worker_node_id(node_id, i), [*argv, "--workers", str(n)], fds, env) for i in range(n)]
    stopping = []
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stopping.append(True))
    try:
        for group in (workers[:1], workers[1:]):
            for w in group:
                w.start()
            code = _wait_ready(group, stopping)
            if code is not None:
                return code
        nodes = f"nodes {worker_node_id(node_id, 0)} to {worker_node_id(node_id, n - 1)}"
        print(f"influx3: listening on {url} (data dir {data_dir}; {n} workers, {nodes})", file=sys.stderr, flush=True)
        return _supervise(workers, stopping)
    finally:
        _stop_all(workers)
        for w in workers:
            w.close_pipe()
        shutil.rmtree(runtime, ignore_errors=True)


def _wait_ready(workers: list[Worker], stopping: list) -> Optional[int]:
    """None once every worker said it serves; else the exit code to stop with."""
    deadline = time.monotonic() + READY_TIMEOUT
    while not all(w.ready for w in workers):
        if stopping:
            return 0
        for w in workers:
            if w.ready:
                continue
            if _read_ready(w):
                w.ready = True
            elif w.proc.poll() is not None:
                code = w.proc.returncode
                # its node id busy: see START_RETRIES
                w.start_failures += 1
                if code != NODE_BUSY_EXIT or (w.index == 0 and w.start_failures > START_RETRIES):
                    print(f"influx3: worker {w.index} exited with {code} while starting",
                          file=sys.stderr, flush=True)
                    return code or 1
                w.close_pipe()
                time.sleep(min(0.5 * w.start_failures, 2.0))
                w.start()
        if time.monotonic() > deadline:
            print("influx3: workers did not become ready in time", file=sys.stderr, flush=True)
            return 1
        time.sleep(0.02)
    for w in workers:
        w.close_pipe()
    return None


def _read_ready(w: Worker) -> bool:
    if w.ready_r is None:
        return False
    sel = selectors.DefaultSelector()
    sel.register(w.ready_r, selectors.EVENT_READ)
    try:
        if not sel.select(0):
            return False
    finally:
        sel.close()
    return os.read(w.ready_r, 16).startswith(b"ready")


def _supervise(workers: list[Worker], stopping: list) -> int:
    """Restart workers that die until asked to stop, or until every worker left on purpose
    (exit 0: a node stop); the exit code."""
    finished: set[int] = set()
    while not stopping:
        for w in workers:
            if w.index in finished or w.proc.poll() is None:
                continue
            code = w.proc.returncode
            if code == 0:   # drained on purpose (a node stop, a SIGTERM of its own): it stays stopped
                finished.add(w.index)
                left = len(workers) - len(finished)
                print(f"influx3: worker {w.index} (node {w.node_id}) stopped on request; "
                      + (f"{left} of {len(workers)} workers serve" if left else "every worker has stopped"),
                      file=sys.stderr, flush=True)
                continue
            print(f"influx3: worker {w.index} died ({_describe(code)}); restarting it",
                  file=sys.stderr, flush=True)
            if time.monotonic() - w.started_at < 5.0:   # failing quickly again: back off
                time.sleep(w.delay)
                w.delay = min(w.delay * 2, RESTART_DELAY_MAX)
            else:
                w.delay = RESTART_DELAY
            w.close_pipe()
            w.start()
        if len(finished) == len(workers):
            return 0
        time.sleep(0.05)
    print("influx3: shutting down workers", file=sys.stderr, flush=True)
    return _stop_all(workers)


def _describe(code: int) -> str:
    if code < 0:
        try:
            return f"signal {signal.Signals(-code).name}"
        except ValueError:
            return f"signal {-code}"
    return f"exit code {code}"


def _stop_all(workers: list[Worker]) -> int:
    """SIGTERM every live worker, wait for their final snapshots (kill after STOP_TIMEOUT)."""
    live = [w for w in workers if w.proc is not None and w.proc.poll() is None]
    for w in live:
        try:
            w.proc.send_signal(signal.SIGTERM)
        except ProcessLookupError:
            pass
    deadline = time.monotonic() + STOP_TIMEOUT
    code = 0
    for w in live:
        try:
            w.proc.wait(max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            w.proc.kill()
            w.proc.wait()
        if w.proc.returncode:
            code = 1
    return code


def notify_ready(fd: int) -> None:
    """Called by a worker once it serves: tells the supervisor."""
    try:
        os.write(fd, b"ready\n")
    finally:
        os.close(fd)
