"""Finding the Jupyter server a kernel runs under, to talk to its InfluxDB API from a notebook.

    from jupyter_influx3.jupyter.server_info import notebook_server
    server = notebook_server()
    server.influx_url        # http://127.0.0.1:8888/<base_url>influx3   (InfluxDB tokens)
    server.root_url          # http://127.0.0.1:8888/                    (/api/v3/…, /write … at the root)
    server.jupyter_api       # …/<base_url>influx3/jupyter               (Jupyter's token: server.headers)

When the kernel was not started by a Jupyter server (nbval, nbclient, a terminal IPython),
`notebook_server()` starts one on a free loopback port, over the same data directory as the engine
in this kernel, and stops it when the process that started it exits. Such a server lives in a
folder of its own (`<tmp>/influx3-jupyter-*`: its root, log, runtime files and `owner.json`), so it
leaves nothing in the user's Jupyter runtime directory; the folder is removed when the server
stops, and folders of servers that died without cleaning up are removed by the next start. A
kernel that needs a server for a data directory that already has a live one reuses it.
"""

from __future__ import annotations

import atexit
import json
import os
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional
from urllib.parse import urlsplit


@dataclass
class NotebookServer:
    root_url: str  # scheme://host:port/
    base_url: str  # "/" or "/user/name/"
    token: str  # Jupyter's token ("" when the server has none)
    started_here: bool = False
    process: Optional[subprocess.Popen] = field(default=None, repr=False)
    folder: Optional[Path] = field(default=None, repr=False)  # <tmp>/influx3-jupyter-*, removed by stop()
    pid: Optional[int] = field(default=None, repr=False)  # of a started server (here or by another process)

    def running(self) -> bool:
        """For a started server: is its process alive? (A server we did not start: assumed so.)"""
        if self.process is not None:
            return self.process.poll() is None
        return _alive(self.pid) if self.pid is not None else True

    @property
    def url(self) -> str:
        return self.root_url.rstrip("/") + self.base_url

    @property
    def influx_url(self) -> str:
        return self.url + "influx3"

    @property
    def jupyter_api(self) -> str:
        return self.url + "influx3/jupyter"

    @property
    def headers(self) -> dict:
        return {"Authorization": f"token {self.token}"} if self.token else {}

    def __str__(self) -> str:
        how = "started for this notebook" if self.started_here else "the server running this kernel"
        return f"Jupyter server at {self.url} ({how})"

    def stop(self) -> None:
        """Stop a server this process started and remove its folder (no-op for other servers)."""
        proc, self.process = self.process, None
        if proc is None:
            return
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        if self.folder is not None:
            shutil.rmtree(self.folder, ignore_errors=True)


def _get_json(url: str, token: str, timeout: float = 3.0):
    req = urllib.request.Request(url, headers={"Authorization": f"token {token}"} if token else {})
    with urllib.request.urlopen(req, timeout=timeout) as resp:
        return json.loads(resp.read())


def flight_location(server: Optional[NotebookServer] = None) -> Optional[str]:
    """Where the Jupyter server's Arrow Flight listens (``grpc://host:port``), or None (no server
    runs this kernel, or it serves no Flight). Never starts a server."""
    server = server or find_running_server()
    if server is None:
        return None
    try:
        return _get_json(server.jupyter_api + "/flight", server.token).get("location")
    except (OSError, ValueError, AttributeError):
        return None


def _kernel_id() -> Optional[str]:
    try:
        from ipykernel.connect import get_connection_file
    except ImportError:
        return None
    try:
        name = Path(get_connection_file()).name
    except Exception:  # noqa: BLE001 - not in a kernel
        return None
    if name.startswith("kernel-") and name.endswith(".json"):
        return name[len("kernel-"):-len(".json")]
    return None


def find_running_server() -> Optional[NotebookServer]:
    """The running Jupyter server that owns this kernel, if any."""
    kernel = _kernel_id()
    if kernel is None:
        return None
    try:
        from jupyter_server.serverapp import list_running_servers
    except ImportError:
        return None
    for info in list_running_servers():
        url, token = info.get("url", ""), info.get("token", "")
        try:
            sessions = _get_json(url.rstrip("/") + "/api/sessions", token)
        except (OSError, ValueError):
            continue
        if any((s.get("kernel") or {}).get("id") == kernel for s in sessions):
            parts = urlsplit(url)
            host = parts.hostname or "127.0.0.1"
            if host in ("0.0.0.0", "::", ""):
                host = "127.0.0.1"
            root = f"{parts.scheme}://{host}:{parts.port or info.get('port')}/"
            return NotebookServer(root, info.get("base_url", "/"), token)
    return None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _die_with_parent() -> None:
    """(Linux, in the child) SIGTERM when the process that started us dies, however it dies."""
    import ctypes
    import signal

    try:
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except OSError:
        pass


FOLDER_PREFIX = "influx3-jupyter-"
OWNER_FILE = "owner.json"


def _alive(pid: object) -> bool:
    if not isinstance(pid, int) or pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _folders() -> list[Path]:
    return sorted(Path(tempfile.gettempdir()).glob(FOLDER_PREFIX + "*"))


def _owner(folder: Path) -> Optional[dict]:
    try:
        doc = json.loads((folder / OWNER_FILE).read_text())
    except (OSError, ValueError):
        return None
    return doc if isinstance(doc, dict) else None


def remove_stale_folders(max_age_without_owner: float = 86400.0) -> list[Path]:
    """Remove the folders of started servers that are gone (their process died without `stop()`:
    killed, or their parent killed). A folder without `owner.json` (being set up, or from an older
    version) is left alone unless it is older than `max_age_without_owner` seconds."""
    removed = []
    for folder in _folders():
        owner = _owner(folder)
        if owner is None:
            try:
                if time.time() - folder.stat().st_mtime < max_age_without_owner:
                    continue
            except OSError:
                continue
        elif _alive(owner.get("pid")):
            continue
        shutil.rmtree(folder, ignore_errors=True)
        removed.append(folder)
    return removed


def _same_dir(a: Optional[str | Path], b: Optional[str | Path]) -> bool:
    if a is None or b is None:
        return a is None and b is None
    return Path(a).expanduser().absolute() == Path(b).expanduser().absolute()


def find_started_server(data_dir: Optional[str | Path]) -> Optional[NotebookServer]:
    """A live server started (by any process of this user) for `data_dir`, answering on its port."""
    for folder in _folders():
        owner = _owner(folder)
        if owner is None or not _alive(owner.get("pid")) or not _same_dir(owner.get("data_dir"), data_dir):
            continue
        server = NotebookServer(owner["url"], "/", owner.get("token", ""), started_here=True, pid=owner["pid"])
        try:
            with urllib.request.urlopen(server.url + "influx3/health", timeout=2) as resp:
                resp.read()
        except urllib.error.HTTPError:
            pass  # 401: up
        except OSError:
            continue
        return server
    return None


def start_server(data_dir: Optional[str | Path] = None, timeout: float = 60.0) -> NotebookServer:
    """A Jupyter server (with this package's extension) on a free loopback port, for this process."""
    remove_stale_folders()
    port, token = _free_port(), secrets.token_hex(16)
    root_dir = tempfile.mkdtemp(prefix=FOLDER_PREFIX)
    env = dict(os.environ)
    if data_dir is not None:
        env["INFLUX3_DATA_DIR"] = str(data_dir)
    # Its jpserver-*.json stay in its own folder (removed with it), never in the user's runtime dir.
    env["JUPYTER_RUNTIME_DIR"] = str(Path(root_dir) / "runtime")
    log = open(Path(root_dir) / "server.log", "wb")
    cmd = [sys.executable, "-m", "jupyter_server", "--no-browser", f"--port={port}", "--ip=127.0.0.1",
           f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={root_dir}", "--ServerApp.allow_root=True",
           "--ServerApp.port_retries=0", "--ServerApp.jpserver_extensions={'jupyter_influx3': True}"]
    proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env,
                            preexec_fn=_die_with_parent if sys.platform.startswith("linux") else None)
    log.close()
    server = NotebookServer(f"http://127.0.0.1:{port}/", "/", token, started_here=True, process=proc,
                            folder=Path(root_dir), pid=proc.pid)
    atexit.register(server.stop)
    owner = {"pid": proc.pid, "parent": os.getpid(), "url": server.root_url, "token": token,
             "data_dir": None if data_dir is None else str(Path(data_dir).expanduser().absolute())}
    tmp = Path(root_dir) / (OWNER_FILE + ".tmp")
    tmp.write_text(json.dumps(owner))
    tmp.replace(Path(root_dir) / OWNER_FILE)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            text = (Path(root_dir) / "server.log").read_text(errors="replace")
            raise RuntimeError(f"jupyter server exited with {proc.returncode}:\n{text[-2000:]}")
        try:
            with urllib.request.urlopen(server.url + "influx3/health", timeout=2) as resp:
                resp.read()
            return server
        except urllib.error.HTTPError:
            return server  # 401: up, and asking for a token as it should
        except OSError:
            time.sleep(0.1)
    server.stop()
    raise RuntimeError(f"jupyter server did not start in {timeout}s")


_started: Optional[NotebookServer] = None


def notebook_server(data_dir: Optional[str | Path] = None) -> NotebookServer:
    """The Jupyter server running this kernel, else one started for this process (once)."""
    global _started
    found = find_running_server()
    if found is not None:
        return found
    if _started is None or not _started.running():
        if data_dir is None:
            from .client import _engines

            data_dir = next(iter(_engines), None)  # the engine this kernel already uses, if any
        _started = find_started_server(data_dir) or start_server(data_dir)
    return _started
