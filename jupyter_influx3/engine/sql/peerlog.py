"""`system.queries` of a server run as several worker processes (``influx3 serve --workers N``):
each worker publishes its query log to ``<dir>/<node_id>.json`` (tmp -> rename, at most every
`PUBLISH_S` seconds, only when it changed), and every worker's `system.queries` adds the rows the
others published. A peer's rows are at most `PUBLISH_S` old; a worker that died leaves its last
file, which its replacement (same node id) overwrites.

Owns: those files. Must not: filter rows by permission (`system._queries` does that for all rows).
"""

from __future__ import annotations

import json
import os
import threading
from pathlib import Path

PUBLISH_S = 0.25


class PeerQueryLogs:
    def __init__(self, engine, directory: os.PathLike):
        self.engine, self.dir = engine, Path(directory)
        self.dir.mkdir(parents=True, exist_ok=True)
        self.own = self.dir / f"{engine.node_id}.json"
        self._last: list | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="influx3-peer-query-log", daemon=True)
        self._thread.start()

    def _loop(self) -> None:
        while not self._stop.wait(PUBLISH_S):
            try:
                self.publish()
            except Exception:   # a full disk must not stop the worker; the next round tries again
                pass

    def publish(self) -> None:
        rows = [[e.as_row(), getattr(e, "database", None)] for e in self.engine.query_log]
        if rows == self._last:
            return
        tmp = self.own.with_suffix(f".tmp{os.getpid()}")
        tmp.write_text(json.dumps(rows), encoding="utf-8")
        os.replace(tmp, self.own)
        self._last = rows

    def rows(self) -> list[tuple[dict, str]]:
        """(row, database) of every query the other workers published."""
        out = []
        for path in self.dir.glob("*.json"):
            if path == self.own:
                continue
            try:
                out.extend((row, database) for row, database in json.loads(path.read_text(encoding="utf-8")))
            except (OSError, ValueError):   # replaced while read: its next version will do
                continue
        return out

    def close(self) -> None:
        self._stop.set()
