"""Helpers for the HTTP tests: write requests, reading rows back through an engine node, and
tokens and fixtures for servers with auth on."""

from __future__ import annotations

import contextlib
import itertools
import socket
import textwrap
import subprocess
import sys

import pytest
import requests

from jupyter_influx3.engine import Engine

_names = itertools.count()


def influx3(*args: str, input: bytes | None = None) -> subprocess.CompletedProcess:
    """Runs the `influx3` command (this Python's `-m jupyter_influx3`) with `args`."""
    return subprocess.run([sys.executable, "-m", "jupyter_influx3", *args], input=input, capture_output=True,
                          timeout=60)


def rows(engine: Engine, database: str, query: str) -> list[dict]:
    """Rows of a SQL query on `database`, as dicts."""
    return engine.sql(database, query).to_pylist()


def table_exists(engine: Engine, database: str, table: str) -> bool:
    engine.refresh()
    found = engine.catalog.db(database)
    return found is not None and not found.deleted and found.table(table) is not None


def write_v3(base: str, database: str, body: bytes | str, via=requests, **params) -> requests.Response:
    """`via`: a held `requests.Session` instead of a new connection."""
    params = {"db": database, **params}
    return via.post(f"{base}/api/v3/write_lp", params=params, data=_bytes(body), timeout=30)


def written(base: str, database: str, body: bytes | str, via=requests, **params) -> str:
    """Writes `body` with /api/v3/write_lp, which must accept all of it; returns the database name."""
    r = write_v3(base, database, body, via=via, **params)
    assert r.status_code == 204, r.text
    return database


def write_v2(base: str, bucket: str, body: bytes | str, **params) -> requests.Response:
    params = {"bucket": bucket, **params}
    return requests.post(f"{base}/api/v2/write", params=params, data=_bytes(body), timeout=30)


def write_v1(base: str, database: str, body: bytes | str, **params) -> requests.Response:
    params = {"db": database, **params}
    return requests.post(f"{base}/write", params=params, data=_bytes(body), timeout=30)


def _bytes(body: bytes | str) -> bytes:
    return body.encode("utf-8") if isinstance(body, str) else body


# ---- servers with auth on ----------------------------------------------------------------------

UNAUTHENTICATED = '{"error": "the request was not authenticated"}'
MALFORMED = ("{\"error\": \"Authorization header was malformed, the request was not in the form of "
             "'Authorization: <auth-scheme> <token>', supported auth-schemes are Bearer, Token and Basic\"}")
FORBIDDEN = '{"error": "unauthorized to perform requested action with the token"}'


def bearer(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


def create_admin(url: str) -> str:
    """The operator token of a server with auth on (created now: the server must not have one yet)."""
    r = requests.post(f"{url}/api/v3/configure/token/admin", timeout=30)
    assert r.status_code == 201, r.text
    return r.json()["token"]


def db_perm(names, *actions) -> dict:
    return {"resource_type": "db", "resource_identifier": list(names), "actions": list(actions)}


def resource_token(url: str, admin: str, perms: list, expiry_secs=None, name=None) -> str:
    """A resource token with `perms` (named `tok<n>` unless `name` is given)."""
    body = {"token_name": name or f"tok{next(_names)}", "permissions": perms}
    if expiry_secs is not None:
        body["expiry_secs"] = expiry_secs
    r = requests.post(f"{url}/api/v3/enterprise/configure/token", json=body, headers=bearer(admin), timeout=30)
    assert r.status_code == 201, r.text
    return r.json()["token"]


def shared_server_fixtures():
    """Session-scoped fixtures `server` (the session's shared server, on whatever
    `start_influx3_session` the conftest defining them sees) and `reader` (a second node on its data
    directory). tests/http/conftest.py and the re-run against two workers (tests/http/workers) each
    need definitions of their own, since pytest keeps one value per definition:

        server, reader = shared_server_fixtures()
    """

    @pytest.fixture(scope="session")
    def server(start_influx3_session):
        # tests use databases of their own, hence the higher database limit (limits themselves are
        # tested on servers of their own)
        return start_influx3_session("--max-databases", "1000")

    @pytest.fixture(scope="session")
    def reader(server) -> Engine:
        eng = Engine(server.data_dir, node_id="test-reader")
        yield eng
        eng.close()

    return server, reader


def auth_server_fixtures():
    """Module-scoped fixtures `srv`, `url` and `admin` (its operator token) for a server with auth
    on that is the calling module's own, so that no other module's tokens or databases meet its
    tests. In the test module:

        srv, url, admin = auth_server_fixtures()
    """

    @pytest.fixture(scope="module")
    def srv(start_influx3_session):
        return start_influx3_session(auth=True)

    @pytest.fixture(scope="module")
    def url(srv) -> str:
        return srv.url

    @pytest.fixture(scope="module")
    def admin(url) -> str:
        return create_admin(url)

    return srv, url, admin


def auth_reader_fixture(node_id: str):
    """Module-scoped fixture `reader`: a node named `node_id` on the data directory of the module's
    `srv` (see `auth_server_fixtures`), to read back what the server stored."""

    @pytest.fixture(scope="module")
    def reader(srv):
        eng = Engine(srv.data_dir, node_id=node_id)
        yield eng
        eng.close()

    return reader


# ---- raw HTTP/1.1 on a socket --------------------------------------------------------------------


def connect(url: str) -> socket.socket:
    host, port = url.rsplit("/", 1)[-1].split(":")
    sock = socket.create_connection((host, int(port)), timeout=10)
    return sock


def read_answer(sock: socket.socket, buf: bytearray) -> tuple[int, dict, bytes]:
    """One answer from `sock` (status, headers lower-cased, body); `buf` keeps what follows it."""
    while b"\r\n\r\n" not in buf:
        data = sock.recv(65536)
        if not data:
            raise ConnectionError(f"closed before a whole answer: {bytes(buf)[:200]!r}")
        buf += data
    head, _, rest = bytes(buf).partition(b"\r\n\r\n")
    lines = head.decode("latin1").split("\r\n")
    status = int(lines[0].split()[1])
    headers = {k.lower(): v for k, v in (line.split(": ", 1) for line in lines[1:])}
    buf[:] = rest
    if status in (100, 204, 304):
        return status, headers, b""
    if headers.get("transfer-encoding") == "chunked":
        body = bytearray()
        while True:
            while b"\r\n" not in buf:
                buf += sock.recv(65536)
            size_line, _, after = bytes(buf).partition(b"\r\n")
            size = int(size_line, 16)
            while len(after) < size + 2:
                after += sock.recv(65536)
            body += after[:size]
            buf[:] = after[size + 2:]
            if size == 0:
                return status, headers, bytes(body)
    if "content-length" in headers:
        n = int(headers["content-length"])
        while len(buf) < n:
            data = sock.recv(65536)
            if not data:
                raise ConnectionError("closed inside a body")
            buf += data
        body = bytes(buf[:n])
        buf[:] = buf[n:]
        return status, headers, body
    body = bytes(buf)   # delimited by the end of the connection
    while data := sock.recv(65536):
        body += data
    buf.clear()
    return status, headers, body


# ---- an app of the test's own, served in this process --------------------------------------------


@contextlib.contextmanager
def serving(app, llhttp: bool = False):
    """Serve a tornado `app` (e.g. `make_app(engine)`) on a loopback port from a thread of this
    process, so the test sees its log records (caplog); yields the base URL. With `llhttp`, over
    `influx3 serve`'s own connections (http/connection.py) instead of tornado's."""
    import asyncio
    import threading

    import tornado.httpserver
    import tornado.netutil

    sockets = tornado.netutil.bind_sockets(0, "127.0.0.1")
    port = sockets[0].getsockname()[1]
    loop = asyncio.new_event_loop()
    started = threading.Event()

    def run() -> None:
        asyncio.set_event_loop(loop)
        if llhttp:
            from jupyter_influx3.flight.portshare import SharedPortHTTPServer

            server = SharedPortHTTPServer(app)
            server.llhttp = True
        else:
            server = tornado.httpserver.HTTPServer(app)
        server.add_sockets(sockets)
        started.set()
        loop.run_forever()
        server.stop()
        loop.close()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    started.wait(30)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        loop.call_soon_threadsafe(loop.stop)
        thread.join(30)


# A WAL plugin that writes one `seen` row per `src` row it sees, tagged with the id, the process
# that ran it and the delivery (so a second delivery of a row is a row of its own, not the same
# series and time again): counting `seen` rows tells whether each write reached the trigger once.
COUNT = textwrap.dedent('''
    import os
    import uuid
    def process_writes(influxdb3_local, table_batches, args=None):
        delivery = uuid.uuid4().hex
        for b in table_batches:
            if b["table_name"] != "src":
                continue
            for row in b["rows"]:
                influxdb3_local.write(LineBuilder("seen").tag("id", str(row["id"])).tag("pid", str(os.getpid()))
                                      .tag("delivery", delivery).int64_field("n", 1).time_ns(row["time"]))
''')
