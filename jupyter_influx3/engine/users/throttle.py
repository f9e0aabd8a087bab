"""Login throttling: failed logins slow down further attempts, per user name and per client address.

Owns the counters only (in memory, bounded; or, for the workers of one server, `share`d in a
SQLite file they all open, so N workers give no more attempts than one); it never sees a password. After
`max_failures` failures within `window_s`, a key is locked for `base_delay_s`, doubling with each
further failure up to `max_delay_s`. A locked key is refused *before* the password is checked, so
a locked account gives no oracle. A success clears the user's counter but not the address's (an
attacker cannot reset their address by logging in to an account of their own).
"""

from __future__ import annotations

import sqlite3
import threading
import time
from dataclasses import dataclass
from typing import Callable, Optional

from .. import errors
from ..recent import Recent

#: Keys remembered at most (oldest forgotten first), so random user names cannot grow memory.
MAX_KEYS = 10_000


@dataclass
class _Entry:
    failures: int = 0
    first_at: float = 0.0
    locked_until: float = 0.0


class Throttled(errors.EngineError):
    """Refused before the password was looked at (429 with Retry-After)."""

    def __init__(self, retry_after_s: float):
        super().__init__(f"too many failed login attempts, retry in {max(1, int(retry_after_s + 0.999))} s")
        self.retry_after_s = retry_after_s


class Throttle:
    """Counters for one kind of key (user names, or client addresses)."""

    def __init__(self, max_failures: int, *, window_s: float = 900.0, base_delay_s: float = 1.0,
                 max_delay_s: float = 900.0, clock: Callable[[], float] = time.monotonic):
        if max_failures < 1:
            raise ValueError("max_failures must be at least 1")
        self.max_failures = max_failures
        self.window_s = window_s
        self.base_delay_s = base_delay_s
        self.max_delay_s = max_delay_s
        self.clock = clock
        self._entries: Recent = Recent(MAX_KEYS)   # key -> _Entry, the last to fail last
        self._lock = threading.Lock()

    def retry_after(self, key: str) -> Optional[float]:
        """Seconds until `key` may try again, or None when it may try now."""
        now = self.clock()
        with self._lock:
            entry = self._entries.get(key)
            if entry is None or entry.locked_until <= now:
                return None
            return entry.locked_until - now

    def _after_failure(self, entry: Optional[_Entry], now: float) -> _Entry:
        if entry is None or now - entry.first_at > self.window_s:
            entry = _Entry(first_at=now)
        entry.failures += 1
        if entry.failures >= self.max_failures:
            extra = entry.failures - self.max_failures
            delay = self.max_delay_s if extra > 30 else min(self.base_delay_s * 2 ** extra, self.max_delay_s)
            entry.locked_until = now + delay
        return entry

    def failed(self, key: str) -> None:
        now = self.clock()
        with self._lock:
            self._entries.keep(key, self._after_failure(self._entries.pop(key, None), now))

    def succeeded(self, key: str) -> None:
        with self._lock:
            self._entries.pop(key, None)


class SharedThrottle(Throttle):
    """A `Throttle` whose counters are rows of a SQLite file (table `kind`) that several processes
    open. Its clock must be one they share (time.monotonic is the machine's on Linux)."""

    def __init__(self, path, kind: str, max_failures: int, **kwargs):
        super().__init__(max_failures, **kwargs)
        self._table = f"throttle_{kind}"
        self._db = sqlite3.connect(str(path), timeout=30, isolation_level=None, check_same_thread=False)
        self._db.execute(f"CREATE TABLE IF NOT EXISTS {self._table} (key TEXT PRIMARY KEY, failures INTEGER, "
                         "first_at REAL, locked_until REAL)")

    def retry_after(self, key: str) -> Optional[float]:
        now = self.clock()
        with self._lock:
            row = self._db.execute(f"SELECT locked_until FROM {self._table} WHERE key = ?", (key,)).fetchone()
        return None if row is None or row[0] <= now else row[0] - now

    def failed(self, key: str) -> None:
        now = self.clock()
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")   # one worker at a time counts a failure
            try:
                row = self._db.execute(f"SELECT failures, first_at, locked_until FROM {self._table} WHERE key = ?",
                                       (key,)).fetchone()
                e = self._after_failure(_Entry(*row) if row else None, now)
                self._db.execute(f"INSERT OR REPLACE INTO {self._table} VALUES (?, ?, ?, ?)",
                                 (key, e.failures, e.first_at, e.locked_until))
                self._db.execute(f"DELETE FROM {self._table} WHERE key IN (SELECT key FROM {self._table} "
                                 f"ORDER BY first_at DESC LIMIT -1 OFFSET {MAX_KEYS})")
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise

    def succeeded(self, key: str) -> None:
        with self._lock:
            self._db.execute(f"DELETE FROM {self._table} WHERE key = ?", (key,))


class LoginThrottle:
    """Both throttles of the login path: per user name and per client address."""

    def __init__(self, max_user_failures: int = 5, max_address_failures: int = 50, **kwargs):
        self.users = Throttle(max_user_failures, **kwargs)
        self.addresses = Throttle(max_address_failures, **kwargs)
        self._kwargs = kwargs

    def share(self, path) -> None:
        """Count in the SQLite file `path`, with the other processes of one server."""
        self.users = SharedThrottle(path, "user", self.users.max_failures, **self._kwargs)
        self.addresses = SharedThrottle(path, "address", self.addresses.max_failures, **self._kwargs)

    def check(self, username: str, address: Optional[str]) -> None:
        """Raise :class:`Throttled` when either key is locked."""
        waits = [self.users.retry_after(username.lower())]
        if address:
            waits.append(self.addresses.retry_after(address))
        wait = max((w for w in waits if w is not None), default=None)
        if wait is not None:
            raise Throttled(wait)

    def failed(self, username: str, address: Optional[str]) -> None:
        self.users.failed(username.lower())
        if address:
            self.addresses.failed(address)

    def succeeded(self, username: str) -> None:
        self.users.succeeded(username.lower())
