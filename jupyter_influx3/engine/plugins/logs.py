"""Plugin log lines: the process-wide ring buffer behind `system.processing_engine_logs`
(behaviour reference §6.8), also echoed to the server log.

Owns the buffer and its size; a traceback is kept inside the ERROR line's text, which is what
plugin authors ask for (influxdb #26652).
"""

from __future__ import annotations

import collections
import logging
import threading
import time
from dataclasses import dataclass

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

    def add(self, trigger_name: str, level: str, text: str, database: str | None = None) -> None:
        if len(text) > MAX_TEXT:
            text = text[:MAX_TEXT] + f"… ({len(text) - MAX_TEXT} more characters)"
        line = LogLine(time.time_ns(), trigger_name, level, text, database)
        with self._lock:
            self._lines.append(line)
            self._chars += len(text)
            while len(self._lines) > self._max_lines or self._chars > self._max_chars:
                self._chars -= len(self._lines.popleft().log_text)
        log.log(_PY_LEVEL.get(level, logging.INFO), "[%s] %s", trigger_name, text)

    def lines(self, trigger_name: str | None = None, database: str | None = None) -> list[LogLine]:
        with self._lock:
            out = list(self._lines)
        if database is not None:
            out = [x for x in out if x.database == database]
        return out if trigger_name is None else [x for x in out if x.trigger_name == trigger_name]


#: the one store of this process (system tables of every database read it)
LOGS = LogStore()
