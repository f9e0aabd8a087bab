"""Remote InfluxDB 3 servers the side panel connects to (issue 17): the list of (name, URL, token)
the user added, kept by the server extension in a file only its user can read (mode 0600), and a
proxy that forwards the panel's API calls to those URLs and to no others.

The browser never sees a remote token: `GET remotes` lists names and URLs only, and the proxy adds
the token itself. The proxy forwards only InfluxDB 3 API paths (``/api/v3/…``, ``/query``,
``/write``, ``/health``, ``/ping``) to the stored base URL, never follows a redirect (it would carry
the token elsewhere) and sends none of Jupyter's own headers or cookies. Both handlers sit behind
Jupyter's authentication and authorizer, like the rest of ``influx3/jupyter/``.

Must not: import the engine (a remote is another server), or log a token.
"""

from __future__ import annotations

import json
import os
import re
import threading
from pathlib import Path
from typing import Any, Optional
from urllib.parse import urlsplit

from jupyter_server.base.handlers import JupyterHandler
from tornado import httpclient, web

NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$")
#: What the proxy forwards: the InfluxDB 3 API, nothing else of the remote host.
PROXY_PATH_RE = re.compile(r"^/(api/v3/[A-Za-z0-9_./-]*|api/v2/write|query|write|health|ping)$")
FORWARDED_HEADERS = ("Content-Type", "Accept", "Content-Encoding")
MAX_TOKEN = 4096


class RemoteError(ValueError):
    """A remote definition that is refused (the message says why)."""


def check_url(url: str) -> str:
    """An http(s) base URL without credentials, query or fragment; returned without a trailing /."""
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise RemoteError("url must be http:// or https:// with a host")
    if parts.username or parts.password or parts.query or parts.fragment:
        raise RemoteError("url must not carry credentials, a query or a fragment (the token goes in 'token')")
    return url.strip().rstrip("/")


class RemoteStore:
    """The remotes file: ``{name: {"url": ..., "token": ...}}``, written whole (tmp, fsync, rename),
    created 0600 and put back to 0600 on every write."""

    def __init__(self, path: Path):
        self.path = Path(path)
        self._lock = threading.Lock()

    def _read(self) -> dict[str, dict[str, str]]:
        try:
            data = json.loads(self.path.read_text())
        except FileNotFoundError:
            return {}
        return data if isinstance(data, dict) else {}

    def _write(self, data: dict) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_name(self.path.name + ".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as f:
            json.dump(data, f)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o600)
        os.replace(tmp, self.path)

    def list(self) -> list[dict[str, str]]:
        return [{"name": n, "url": r["url"]} for n, r in sorted(self._read().items())]

    def get(self, name: str) -> Optional[dict[str, str]]:
        return self._read().get(name)

    def add(self, name: str, url: str, token: str) -> dict[str, str]:
        if not isinstance(name, str) or not NAME_RE.match(name):
            raise RemoteError("name: letters, digits, - and _, at most 64")
        if not isinstance(url, str):
            raise RemoteError("url must be a string")
        if not isinstance(token, str) or not token.strip() or len(token) > MAX_TOKEN or any(c in token for c in "\r\n"):
            raise RemoteError("token must be a non-empty string on one line")
        entry = {"url": check_url(url), "token": token.strip()}
        with self._lock:
            data = self._read()
            data[name] = entry
            self._write(data)
        return {"name": name, "url": entry["url"]}

    def remove(self, name: str) -> bool:
        with self._lock:
            data = self._read()
            if data.pop(name, None) is None:
                return False
            self._write(data)
        return True


class _RemoteHandler(JupyterHandler):
    def initialize(self, store: RemoteStore) -> None:
        self.store = store

    def get_login_url(self) -> str:
        raise web.HTTPError(403)  # an API: no redirect to the login page

    async def prepare(self) -> None:
        await super().prepare(_redirect_to_login=False)
        action = "read" if self.request.method in ("GET", "HEAD") else "write"
        user = self.current_user
        if user is not None and not self.authorizer.is_authorized(self, user, action, "influx3"):
            raise web.HTTPError(403)

    def fail(self, status: int, message: str) -> None:
        self.set_status(status)
        self.set_header("Content-Type", "application/json")
        self.finish({"error": message})


class RemotesHandler(_RemoteHandler):
    """``GET|POST|DELETE {base_url}influx3/jupyter/remotes``: list (names and URLs), add
    ``{"name", "url", "token"}``, remove ``?name=``."""

    @web.authenticated
    def get(self) -> None:
        self.set_header("Cache-Control", "no-store")
        self.finish({"remotes": self.store.list()})

    @web.authenticated
    def post(self) -> None:
        try:
            body = json.loads(self.request.body or b"{}")
            if not isinstance(body, dict):
                raise RemoteError("expected a JSON object")
            self.finish(self.store.add(body.get("name"), body.get("url"), body.get("token")))
        except (ValueError, RemoteError) as exc:  # json.JSONDecodeError is a ValueError
            self.fail(400, f"invalid remote: {exc}")

    @web.authenticated
    def delete(self) -> None:
        name = self.get_argument("name", "")
        if not self.store.remove(name):
            return self.fail(404, f"no remote named {name!r}")
        self.set_status(204)
        self.finish()


class RemoteProxyHandler(_RemoteHandler):
    """``{base_url}influx3/jupyter/remote/<name>/<api path>``: the same call on the remote server,
    with its stored token."""

    async def forward(self, name: str, path: str) -> None:
        remote = self.store.get(name)
        if remote is None:
            return self.fail(404, f"no remote named {name!r}")
        path = "/" + path
        if not PROXY_PATH_RE.match(path) or "/../" in path + "/" or "/./" in path + "/":
            return self.fail(403, "only the InfluxDB 3 API is forwarded to a remote server")
        url = remote["url"] + path + (f"?{self.request.query}" if self.request.query else "")
        headers = {h: self.request.headers[h] for h in FORWARDED_HEADERS if h in self.request.headers}
        headers["Authorization"] = f"Bearer {remote['token']}"
        method = self.request.method or "GET"
        body = self.request.body if method in ("POST", "PUT", "PATCH") else None
        if method in ("POST", "PUT", "PATCH") and body is None:
            body = b""
        request = httpclient.HTTPRequest(url, method=method, headers=headers, body=body, follow_redirects=False,
                                         request_timeout=300, allow_nonstandard_methods=True)
        try:
            response = await httpclient.AsyncHTTPClient().fetch(request, raise_error=False)
        except Exception as exc:  # noqa: BLE001 - unreachable host, TLS, timeout: one clear line
            return self.fail(502, f"remote {name} not reachable: {type(exc).__name__}: {exc}")
        if 300 <= response.code < 400:
            return self.fail(502, f"remote {name} answered a redirect ({response.code}); not followed")
        self.set_status(response.code if response.code >= 200 else 502)
        for h in ("Content-Type",):
            if h in response.headers:
                self.set_header(h, response.headers[h])
        self.set_header("Cache-Control", "no-store")
        self.finish(response.body or b"")

    @web.authenticated
    async def get(self, name: str, path: str) -> None:
        await self.forward(name, path)

    @web.authenticated
    async def post(self, name: str, path: str) -> None:
        await self.forward(name, path)

    @web.authenticated
    async def put(self, name: str, path: str) -> None:
        await self.forward(name, path)

    @web.authenticated
    async def delete(self, name: str, path: str) -> None:
        await self.forward(name, path)


def remote_routes(jupyter_mount: str, store: RemoteStore) -> list[tuple[str, type, dict[str, Any]]]:
    """The two routes under ``{base_url}influx3/jupyter`` (`jupyter_mount`, unescaped)."""
    base = re.escape(jupyter_mount)
    return [(base + r"/remotes$", RemotesHandler, {"store": store}),
            (base + r"/remote/([A-Za-z0-9][A-Za-z0-9_-]{0,63})/(.*)$", RemoteProxyHandler, {"store": store})]
