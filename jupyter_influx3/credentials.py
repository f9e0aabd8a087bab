"""Client-side login: a user's access and refresh JWTs for a server, kept and refreshed.

Owns the credentials file of ``influx3 auth login`` (``<user config dir>/influx3/credentials.json``,
or ``$INFLUX3_CONFIG_DIR``; mode 0600, one entry per server URL) and :class:`Session`, which logs
in with a user name and password and refreshes the access token shortly before it expires (the
Python client's ``connect(url=, username=, password=)``). Never stores a password. Knows nothing of
the server side (engine/users/).
"""

from __future__ import annotations

import json
import os
import threading
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path
from typing import Any, Optional

#: Refresh this long before the access token expires (clock skew, slow requests).
REFRESH_MARGIN_S = 60


class LoginError(Exception):
    def __init__(self, message: str, status: int = 0):
        super().__init__(message)
        self.message = message
        self.status = status


def config_dir() -> Path:
    env = os.environ.get("INFLUX3_CONFIG_DIR")
    if env:
        return Path(env)
    import platformdirs

    return Path(platformdirs.user_config_dir("influx3", appauthor=False))


def credentials_path() -> Path:
    return config_dir() / "credentials.json"


def _key(host: str) -> str:
    return host.rstrip("/")


def _post(host: str, path: str, body: dict, timeout: float) -> tuple[int, Any]:
    request = urllib.request.Request(_key(host) + path, data=json.dumps(body).encode(),
                                     headers={"Content-Type": "application/json"}, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            raw = response.read()
            return response.status, json.loads(raw) if raw else None
    except urllib.error.HTTPError as exc:
        raw = exc.read()
        try:
            doc = json.loads(raw)
        except ValueError:
            doc = None
        message = doc.get("error") if isinstance(doc, dict) else raw.decode("utf-8", "replace")
        raise LoginError(str(message or f"HTTP {exc.code}"), exc.code) from None
    except (urllib.error.URLError, OSError) as exc:
        raise LoginError(f"cannot reach {host}: {getattr(exc, 'reason', exc)}") from None


def _entry(answer: Any, username: Optional[str], now: float) -> dict:
    if not isinstance(answer, dict) or not isinstance(answer.get("accessToken"), str):
        raise LoginError("the server's answer holds no access token")
    return {"username": username, "accessToken": answer["accessToken"],
            "refreshToken": answer.get("refreshToken"),
            "expiresAt": now + int(answer.get("expiresIn") or 0),
            "refreshExpiresAt": now + int(answer.get("refreshExpiresIn") or 0)}


def login(host: str, username: str, password: str, timeout: float = 60.0) -> dict:
    """Log in (``POST /api/v3/authorize``); the entry to keep (no password in it)."""
    _, answer = _post(host, "/api/v3/authorize", {"username": username, "password": password}, timeout)
    return _entry(answer, username, time.time())


def refresh(host: str, entry: dict, timeout: float = 60.0) -> dict:
    """A new entry from the entry's refresh token (``POST /api/v3/authorize/refresh``)."""
    _, answer = _post(host, "/api/v3/authorize/refresh", {"refreshToken": entry.get("refreshToken")}, timeout)
    return _entry(answer, entry.get("username"), time.time())


def reset_password(host: str, username: str, password: str, new_password: str, timeout: float = 60.0) -> None:
    _post(host, "/api/v3/authorize/reset-password",
          {"username": username, "password": password, "newPassword": new_password}, timeout)


def needs_refresh(entry: dict, now: Optional[float] = None) -> bool:
    return (time.time() if now is None else now) >= entry.get("expiresAt", 0) - REFRESH_MARGIN_S


# ---- the credentials file ----------------------------------------------------------------------


def _load() -> dict:
    try:
        doc = json.loads(credentials_path().read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return doc if isinstance(doc, dict) else {}


def _store(doc: dict) -> None:
    path = credentials_path()
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        out.write(json.dumps(doc, indent=2) + "\n")
    os.replace(tmp, path)


def save(host: str, entry: dict) -> Path:
    doc = _load()
    doc[_key(host)] = entry
    _store(doc)
    return credentials_path()


def remove(host: Optional[str] = None) -> bool:
    """Forget the credentials for `host` (every host when None). True if there were some.
    The server is not told: an access token stays valid until it expires."""
    path = credentials_path()
    if host is None:
        try:
            path.unlink()
            return True
        except FileNotFoundError:
            return False
    doc = _load()
    if doc.pop(_key(host), None) is None:
        return False
    _store(doc) if doc else path.unlink(missing_ok=True)
    return True


def stored_token(host: str, timeout: float = 60.0) -> Optional[str]:
    """The access token kept for `host`, refreshed (and saved) first when it is about to expire;
    None when there is none or it cannot be refreshed (log in again)."""
    entry = _load().get(_key(host))
    if not isinstance(entry, dict):
        return None
    if needs_refresh(entry):
        try:
            entry = refresh(host, entry, timeout)
        except LoginError:
            return None
        save(host, entry)
    return entry.get("accessToken")


class Session:
    """A user's login held in memory for one client: logs in once, refreshes before expiry, and
    logs in again (with the password it was given) when the refresh token no longer works."""

    def __init__(self, host: str, username: str, password: str, timeout: float = 60.0):
        self.host, self.username, self.timeout = host, username, timeout
        self._password = password
        self._lock = threading.Lock()
        self._entry = login(host, username, password, timeout)

    def token(self) -> str:
        with self._lock:
            if needs_refresh(self._entry):
                try:
                    self._entry = refresh(self.host, self._entry, self.timeout)
                except LoginError:
                    self._entry = login(self.host, self.username, self._password, self.timeout)
            return self._entry["accessToken"]

    def __repr__(self) -> str:  # never the password or a token
        return f"Session(host={self.host!r}, username={self.username!r})"
