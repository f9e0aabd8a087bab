"""A real `influx3 serve` subprocess on a free port of 127.0.0.1 (`Influx3Server`), and the factory
behind the `start_influx3*` fixtures (tests/conftest.py, and tests/http/workers/conftest.py, which
starts the same servers with `--workers 2`)."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import requests

_LISTENING = re.compile(r"listening on (http://\S+)")


# Settings a developer's shell may carry that would change what a test server does: a test says
# what it wants with flags instead.
_SERVER_SETTINGS = ("INFLUX3_ALLOWED_HOSTS", "INFLUX3_CORS_ORIGINS", "INFLUX3_TOKEN", "INFLUX3_USER_AUTH_TYPE",
                    "INFLUX3_HOST", "INFLUXDB3_PLUGIN_DIR", "INFLUXDB3_PLUGIN_REPO", "PLUGIN_DIR",
                    "PROMETHEUS_MULTIPROC_DIR")


#: `--workers` of a test server whose flags do not say: 1 (one process, node `test-node`, which many
#: tests name), unless INFLUX3_TEST_WORKERS asks for more (a whole-suite run against workers; the
#: suites that matter for sharing run with two workers anyway, see tests/http/workers/)
TEST_WORKERS = os.environ.get("INFLUX3_TEST_WORKERS", "1")


def server_env() -> dict:
    env = {k: v for k, v in os.environ.items() if k not in _SERVER_SETTINGS}
    env["PYTHONUNBUFFERED"] = "1"
    return env


class Influx3Server:
    """One `influx3 serve` process on `data_dir`; `restart()` keeps the directory and flags.

    Started with `--without-auth` unless `auth=True` (the server's default is auth on; the suites
    about other things than auth talk to it without tokens), and with `--workers TEST_WORKERS` unless
    the flags say (the server's default is one worker per core).
    """

    def __init__(self, data_dir: Path, *flags: str, node_id: str = "test-node", auth: bool = False,
                 workers: str = TEST_WORKERS):
        self.data_dir = Path(data_dir)
        self.flags = list(flags)
        if not auth and "--without-auth" not in self.flags:
            self.flags.append("--without-auth")
        if "--workers" not in self.flags:
            self.flags += ["--workers", workers]
        self.node_id = node_id
        self.log_path = self.data_dir.parent / f"{self.data_dir.name}-server.log"
        self.proc: subprocess.Popen | None = None
        self.url = ""

    def start(self, timeout: float = 120.0) -> "Influx3Server":   # a loaded machine, a long recovery
        log = open(self.log_path, "ab")
        offset = log.tell()
        cmd = [sys.executable, "-m", "jupyter_influx3", "serve", "--data-dir", str(self.data_dir),
               "--http-bind", "127.0.0.1:0", "--node-id", self.node_id, *self.flags]
        self.proc = subprocess.Popen(cmd, stdout=log, stderr=log, env=server_env())
        log.close()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"influx3 serve exited with {self.proc.returncode}:\n{self.log()}")
            match = _LISTENING.search(self.log()[offset:])
            if match:
                self.url = match.group(1)
                try:
                    # 401: up, with auth on and no token given.
                    if requests.get(self.url + "/health", timeout=5).status_code in (200, 401):
                        return self
                except requests.ConnectionError:
                    pass
            time.sleep(0.05)
        self.kill()
        raise RuntimeError(f"influx3 serve did not become healthy in {timeout}s:\n{self.log()}")

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 90.0) -> int:
        """Ask the server to stop with `sig`; return its exit code (killed if it hangs)."""
        if self.proc is None:
            return 0
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        code = self.proc.returncode
        self.proc = None
        return code

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        self.proc = None

    def restart(self) -> "Influx3Server":
        code = self.stop()
        assert code == 0, f"server exited with {code} on SIGTERM:\n{self.log()}"
        return self.start()


def server_factory(make_dir, workers: str = TEST_WORKERS):
    servers: list[Influx3Server] = []

    def start(*flags: str, data_dir: Path | None = None, auth: bool = False) -> Influx3Server:
        server = Influx3Server(data_dir or make_dir(), *flags, auth=auth, workers=workers)
        servers.append(server)
        return server.start()

    return start, servers
