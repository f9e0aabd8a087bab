"""Job records of the administrator operations (backups, restores): JSON files under the data
directory, so any node can report them, and a lock file per running job, so a job whose process
died is told apart from one still running.

Owns the record format (atomic JSON), the running/dead test (an flock the running job holds; the
kernel drops it when the holder dies, kill -9 included), cancel markers, names and ids, and the
error a caller is told. Knows nothing of what a backup or restore copies.
"""

from __future__ import annotations

import fcntl
import json
import os
import re
import threading
import time
import uuid
from datetime import datetime, timezone
from pathlib import Path

from .. import errors
from ..fsutil import write_file_atomic

NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$")
#: names no backup may take: "dbs" so that no `backups/dbs/…` folder ever looks like a node's data
RESERVED_NAMES = frozenset({"dbs", "wal", "snapshots", "catalog"})
IN_PROGRESS, COMPLETED, FAILED = "in_progress", "completed", "failed"


class AdminError(errors.EngineError):
    """An administrator operation refused: `status` is the HTTP status the API answers with."""

    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status


def rfc3339(ns: int | None = None) -> str:
    t = datetime.fromtimestamp((ns if ns is not None else time.time_ns()) / 1e9, tz=timezone.utc)
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")


def check_name(name: str, what: str = "backup name") -> str:
    if not isinstance(name, str) or not NAME_RE.match(name) or ".." in name or name in RESERVED_NAMES:
        raise AdminError(400, f"invalid {what} {name!r}: 1 to 128 letters, digits, '_', '-' or '.', "
                              "starting with a letter or digit")
    return name


def new_id() -> str:
    """A time-ordered id (48-bit milliseconds, then random), like the ULIDs the real server hands out."""
    return f"{time.time_ns() // 1_000_000:012x}{uuid.uuid4().hex[:12]}"


def read(path: Path) -> dict | None:
    try:
        return json.loads(path.read_bytes())
    except (FileNotFoundError, NotADirectoryError, json.JSONDecodeError):
        return None


def write(path: Path, record: dict) -> None:
    write_file_atomic(path, json.dumps(record, indent=1).encode())


class JobLock:
    """An exclusive flock held while a job runs; `held_elsewhere(path)` tells whether one is."""

    def __init__(self, path: Path):
        self.path = path
        self.fd: int | None = None

    def acquire(self) -> bool:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return False
        self.fd = fd
        return True

    def release(self) -> None:
        if self.fd is not None:
            os.close(self.fd)
            self.fd = None

    @staticmethod
    def held(path: Path) -> bool:
        """Whether a live process (this one included) holds the lock at `path`."""
        probe = JobLock(path)
        if not path.exists():
            return False
        if probe.acquire():
            probe.release()
            return False
        return True


def settle(record: dict | None, lock_path: Path, record_path: Path) -> dict | None:
    """The record as it stands: an `in_progress` job whose lock nobody holds died with its
    process, and is `failed` from now on (written back, so every node says the same)."""
    if record is None or record.get("status") != IN_PROGRESS or JobLock.held(lock_path):
        return record
    record = {**record, "status": FAILED, "error": record.get("error") or
              "interrupted: the node running it stopped before it completed"}
    write(record_path, record)
    return record


class Runner:
    """The threads of one kind of job on this node: started by key, waited for, and stopped at
    close (`closing` tells a running job to give up)."""

    def __init__(self, kind: str):
        self.kind = kind
        self.closing = threading.Event()
        self._threads: dict[str, threading.Thread] = {}
        self._lock = threading.Lock()

    def start(self, key: str, target, *args) -> threading.Thread:
        def run():
            try:
                target(*args)
            finally:
                with self._lock:
                    self._threads.pop(key, None)

        t = threading.Thread(target=run, name=f"influx3-{self.kind}-{key}", daemon=True)
        with self._lock:
            self._threads[key] = t
        t.start()
        return t

    def join(self, key: str, timeout: float | None = None) -> None:
        with self._lock:
            t = self._threads.get(key)
        if t is not None:
            t.join(timeout)

    def close(self) -> None:
        self.closing.set()
        with self._lock:
            threads = list(self._threads.values())
        for t in threads:
            t.join(timeout=60)
