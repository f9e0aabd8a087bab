"""A request served by `influx3 serve`'s connections (http/connection.py, the lean path of
http/lean.py, tornado's handlers behind them) leaves no reference cycles, and neither does a
closed connection: both are freed at once, not by the cyclic GC. (A ``LeanRequest`` that was its
own ``request`` and a connection held by its parser's callbacks and its close hook were cycles:
with the engine's, a gen-0 collection every few requests; see
tests/engine/test_reference_cycles.py.)"""

from __future__ import annotations

import gc
import http.client
import time
from urllib.parse import urlencode, urlparse

from http_helpers import serving
from reference_cycles import cyclic_garbage_of

from jupyter_influx3.engine import Engine
from jupyter_influx3.http.auth import AuthSettings
from jupyter_influx3.http.routes import make_app

LINES = "\n".join(f"cpu,host=h{i % 3} usage={i * 1.5} {i * 10**9}" for i in range(100)) + "\n"


def _live(type_name: str) -> int:
    return sum(1 for o in gc.get_objects() if type(o).__name__ == type_name)


def _get(url: str, target: str, conn: http.client.HTTPConnection | None = None, **headers) -> bytes:
    u = urlparse(url)
    c = conn or http.client.HTTPConnection(u.hostname, u.port, timeout=30)
    c.request("GET", target, headers=headers)
    r = c.getresponse()
    body = r.read()
    assert r.status == 200, body
    if conn is None:
        c.close()
    return body


def _requests(url: str, kept: http.client.HTTPConnection) -> None:
    lean = "/query?" + urlencode({"db": "db1", "q": "SELECT max(usage) FROM cpu GROUP BY host"})
    for hour in range(3):   # texts of one shape: the template path
        text = f"SELECT max(usage) FROM cpu WHERE host = 'h{hour}' AND time >= {hour}s GROUP BY time(10s)"
        _get(url, "/query?" + urlencode({"db": "db1", "q": text}), kept)
    _get(url, lean, kept)                                  # the lean path (a known, quick text)
    _get(url, lean, kept, Accept="application/csv")       # the full path (tornado's handler)
    _get(url, "/ping", kept)
    _get(url, "/api/v3/query_influxql?" + urlencode({"db": "db1", "q": "SELECT count(usage) FROM cpu"}), kept)
    for _ in range(3):
        _get(url, lean)                                    # a connection per request, then closed
        _get(url, "/health")


def test_requests_and_closed_connections_leave_no_reference_cycles(tmp_path):
    engine = Engine(str(tmp_path / "data"), node_id="n", background=False)
    engine.write_lp("db1", LINES, precision="nanosecond")
    app = make_app(engine, auth=AuthSettings(enabled=False))
    try:
        with serving(app, llhttp=True) as url:
            u = urlparse(url)
            warm = http.client.HTTPConnection(u.hostname, u.port, timeout=30)
            for _ in range(3):   # kept plans, templates, the lean path's knowledge of quick texts
                _requests(url, warm)
            warm.close()
            lean_before = app.settings["influx3"].lean_answers

            def serve_and_close() -> None:
                kept = http.client.HTTPConnection(u.hostname, u.port, timeout=30)
                _requests(url, kept)
                kept.close()
                deadline = time.monotonic() + 10
                while _live("ServerConnection") and time.monotonic() < deadline:
                    time.sleep(0.02)   # the server notices the closes on its own thread

            left = cyclic_garbage_of(serve_and_close)
            assert app.settings["influx3"].lean_answers > lean_before, "the lean path answered none"
            assert left == []
    finally:
        engine.close()
