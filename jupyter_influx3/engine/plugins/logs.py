"""Plugin log lines: the process-wide ring buffer behind `system.processing_engine_logs`
(behaviour reference §6.8), also echoed to the server log.

Owns the buffer and its size; a traceback is kept inside the ERROR line's text, which is what
plugin authors ask for (influxdb #26652). The workers of one server (`influx3 serve --workers N`)
`share` their lines: each also appends its own to `<dir>/<node>.jsonl` (rewritten to what its buffer
keeps when it grows past twice the limits), and `lines` reads every worker's file, so a plugin that
ran on one worker is in the system table of every worker at once.
"""

from __future__ import annotations

import collections
import json
import logging
import os
import threading
import time
from dataclasses import astuple, dataclass
from pathlib import Path

from ..fsutil import write_file_atomic

log = logging.getLogger("jupyter_influx3.plugins")

MAX_LINES = 10_000
MAX_TEXT = 64 * 1024  # one line (a traceback included); a plugin logging megabytes is cut
MAX_CHARS = 32 * 2**20  # all lines together: the oldest go first
_PY_LEVEL = {"INFO": logging.INFO, "WARN": logging.WARNING, "ERROR": logging.ERROR}


@dataclass(frozen=True)
class LogLine:
    event_time: int   # ns since epoch
    trigger_name: str
    log_level: str    # INFO | WARN | ERROR
    log_text: str
    database: str | None = None  # whose trigger: the system table shows a database its own lines

    def as_row(self) -> dict:
        return {"event_time": self.event_time, "trigger_name": self.trigger_name, "log_level": self.log_level,
                "log_text": self.log_text}


class LogStore:
    def __init__(self, max_lines: int = MAX_LINES, max_chars: int = MAX_CHARS):
        self._lines: collections.deque[LogLine] = collections.deque()
        self._max_lines, self._max_chars, self._chars = max_lines, max_chars, 0
        self._lock = threading.Lock()
        self._shared: Path | None = None   # the workers' directory, once `share`d
        self._file = None
        self._file_lines = self._file_chars = 0

    def share(self, directory: os.PathLike, node: str) -> None:
        """Keep this process's lines in `directory` too, and read every process's from there."""
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        with self._lock:
            self._shared = directory
            self._file = open(directory / f"{node}.jsonl", "a", encoding="utf-8")   # a restarted worker goes on
            self._file_lines = self._file_chars = 0

    def _append(self, line: LogLine) -> None:
        text = json.dumps(astuple(line)) + "\n"
        self._file.write(text)
        self._file.flush()   # readable by the other workers at once
        self._file_lines += 1
        self._file_chars += len(text)
        if self._file_lines > 2 * self._max_lines or self._file_chars > 2 * self._max_chars:
            path = Path(self._file.name)
            write_file_atomic(path, "".join(json.dumps(astuple(x)) + "\n" for x in self._lines).encode())
            self._file.close()
            self._file = open(path, "a", encoding="utf-8")
            self._file_lines, self._file_chars = len(self._lines), self._chars

    def _shared_lines(self) -> list[LogLine]:
        out = []
        for path in self._shared.glob("*.jsonl"):
            try:
                text = path.read_text(encoding="utf-8")
            except OSError:
                continue
            for raw in text.splitlines():
                try:
                    out.append(LogLine(*json.loads(raw)))
                except (ValueError, TypeError):   # a line being written
                    continue
        out.sort(key=lambda x: x.event_time)
        return out

    def add(self, trigger_name: str, level: str, text: str, database: str | None = None) -> None:
        if len(text) > MAX_TEXT:
            text = text[:MAX_TEXT] + f"… ({len(text) - MAX_TEXT} more characters)"
        line = LogLine(time.time_ns(), trigger_name, level, text, database)
        with self._lock:
            self._lines.append(line)
            self._chars += len(text)
            while len(self._lines) > self._max_lines or self._chars > self._max_chars:
                self._chars -= len(self._lines.popleft().log_text)
            if self._file is not None:
                try:
                    self._append(line)
                except OSError:   # a full disk loses the other workers' view, never the plugin's run
                    pass
        log.log(_PY_LEVEL.get(level, logging.INFO), "[%s] %s", trigger_name, text)

    def lines(self, trigger_name: str | None = None, database: str | None = None) -> list[LogLine]:
        if self._shared is not None:
            out = self._shared_lines()
        else:
            with self._lock:
                out = list(self._lines)
        if database is not None:
            out = [x for x in out if x.database == database]
        return out if trigger_name is None else [x for x in out if x.trigger_name == trigger_name]


#: the one store of this process (system tables of every database read it)
LOGS = LogStore()
