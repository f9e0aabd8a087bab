"""The lean path: a small ``GET /query`` answered by `influx3 serve`'s connection itself, without
tornado's per-request objects.

Why: TSBS single-groupby-1-1-1 (one series, one hour, 61 rows) costs the engine ~0.1 ms. Around it,
the full path makes tornado's request and ``RequestHandler``, their coroutines, header maps, the
inline-run task and the answer's framing: 2-3 times the engine's cost in a fresh server process,
where CPython has not specialised that code yet. In `benchmarks/queries_influxql.py` that made the
query 0.75 ms against InfluxDB 1.6.7's 0.6; on this path it takes 0.55-0.65 (benchmarks/README.md).

What it answers: a keep-alive HTTP/1.1 ``GET`` of exactly ``/query`` (the root mount of
`influx3 serve`; the Jupyter extension serves through tornado's connection and never comes here),
without a body or an ``Origin``, with a plain ``Host``, asking for JSON, not chunked and without
bind parameters, whose statements only read, parse, are allowed to the request's credentials, and
ran quickly the last time, or never ran and are bounded before they run (``base.try_inline`` and
engine/influxql/bounded.py: the same text runs on the IOLoop in the full path too). For anything
else :func:`answer` returns None without running a statement, and the connection hands the
request to tornado as always (the full path), which so keeps every refusal, error and other
answer. (One exception: a run its alarm cut short returns None after running, and the full path
runs it again in the query pool, as it does after its own inline run.)

Every decision is the full path's own code, called on a :class:`LeanRequest` (the part of a
handler those functions read): authentication and authorization (``auth.authenticate_request``,
``influxql.authorize_statement``), the Host allow-list (``cors.host_allowed``), the format
(``influxql.v1_format``), the inline run and its alarm (``base.try_inline``), the statements and
their JSON (``influxql.json_answer``), the query and request metrics. tests/http/test_lean.py holds
its answers to the full path's, byte for byte.

Owns: choosing the lean path and framing its 200. Must not: answer anything the full path would
answer differently, or answer an error at all.
"""

from __future__ import annotations

import functools
import logging
import re
import time
from typing import Any, Callable, Optional

from tornado import httputil

from ..engine import afterwards
from ..engine.influxql.into import writes
from ..engine.influxql.parser import ParseError
from . import cors, metrics, serialize
from .auth import authenticate_request
from .base import (INLINE_PARSE_CHARS, MAX_QUERY_FIELDS, ApiError, access_logged, http_date, query_pairs_of,
                   try_inline)
from .influxql import (V1QueryHandler, authorize_statement, executor_for, json_answer, v1_bound_check, v1_fields,
                       v1_format, v1_run_key)

log = logging.getLogger(__name__)

#: (the answer's bytes, the bookkeeping to do once they are written: the query's and request's
#: metrics, the engine's deferred work -- see engine/afterwards.py). Written first, because the
#: client is woken by the write and takes longer to read the answer than that work takes.
Answer = tuple[bytes, Callable[[], None]]

#: the application setting that turns the lean path off (tests compare the two paths with it; read
#: by routes._Application, which asks this module only when the path is on)
SETTING = "influx3_lean_path"


class LeanRequest:
    """What the full path's checks read of a handler and its request, for a request no
    ``RequestHandler`` is made for; ``auth.authenticate_request`` sets ``auth_token`` and
    ``auth_unrestricted`` on it as on a handler."""

    route_class = V1QueryHandler   # whose route-table entry (requirements, metrics path) it is

    def __init__(self, context: Any, target: str, headers: httputil.HTTPHeaders, remote_ip: str):
        self.context = context
        self.method = "GET"
        self.uri = target
        self.path, _, self.query = target.partition("?")
        self.headers = headers
        self.remote_ip = remote_ip
        self.auth_token: Any = None
        self.auth_unrestricted = False   # (fail closed until authentication says otherwise)

    @property
    def request(self) -> "LeanRequest":
        # a property, not an attribute: ``self.request = self`` made every request a reference
        # cycle, left for the cyclic GC (a gen-0 collection every few requests, ~0.5 ms here)
        return self

    def query_pairs(self) -> tuple[tuple[str, str], ...]:
        return query_pairs_of(self.query)


def answer(app: Any, head: Any, headers: httputil.HTTPHeaders, remote_ip: str) -> Optional[Answer]:
    """The whole HTTP answer (a 200) to the request `head` of a connection to `app` and what to
    do once it is written, or None: the full path answers it. Called only for a request read
    whole, with no body."""
    line = head.start_line
    if line.method != "GET" or line.version != "HTTP/1.1" or not head.keep_alive:
        return None
    if not line.path.startswith("/query?") or "Origin" in headers:
        return None
    settings = app.settings
    if access_logged(settings, 200):
        return None
    try:
        return _answer(settings["influx3"], line.path, headers, remote_ip)
    except ApiError:   # a refusal: the full path answers it (in its documented shape)
        return None
    except Exception:   # noqa: BLE001 - a bug here must not cost the client its answer
        log.exception("lean path failed; the request goes the full way")
        return None


def _run(context, req: LeanRequest, ex, p: dict, q: str) -> tuple[bool, bytes, float]:
    """(whether it was answered here, the answer, when its run started) of text ``q``."""
    try:
        query = ex.parse(q, None)
    except ParseError:
        return False, b"", 0.0
    db, rp = p.get("db") or None, p.get("rp") or None
    for stmt in query.statements:
        if writes(stmt):
            return False, b"", 0.0
        authorize_statement(req, stmt, db, rp)
    now = time.time_ns()
    run = functools.partial(json_answer, ex, query, db, rp, now, True, p.get("epoch") or None,
                            p.get("pretty") == "true")
    ran = time.perf_counter()
    # (the answer is whole bytes: no DuckDB cursor of it is still streaming, nothing to adopt)
    done, body = try_inline(v1_run_key("json", q, db, rp, None), run, context.engine,
                            bounded=v1_bound_check(ex, query, q, db, rp, now))
    return done, body, ran


def _answer(context: Any, target: str, headers: httputil.HTTPHeaders, remote_ip: str) -> Optional[Answer]:
    started = time.perf_counter()
    if v1_format(headers.get("Accept")) != "json" or target.count("&") >= MAX_QUERY_FIELDS:
        return None
    host = headers.get("Host", "")
    if not _PLAIN_HOST.fullmatch(host) or not cors.host_allowed(context.allowed_hosts, host):
        return None
    req = LeanRequest(context, target, headers, remote_ip)
    authenticate_request(req)
    p = v1_fields(req.query_pairs())
    q = p.get("q", "")
    if p.get("chunked") == "true" or p.get("params") or not q.strip() or len(q) > INLINE_PARSE_CHARS:
        return None
    ex = executor_for(context)
    pending: list = []
    done = False
    try:
        # work that only serves later queries (a text's parse, a run's derived arrays) is done
        # once the answer is written
        with afterwards.deferred(pending):
            done, body, ran = _run(context, req, ex, p, q)
    finally:
        if not done:   # no answer of ours to write first: the deferred work is done now
            afterwards.run(pending)
    if not done:
        return None
    answered = time.perf_counter()
    context.lean_answers += 1

    def finish() -> None:
        afterwards.run(pending)
        metrics.record_query(context, "influxql", True, answered - ran)
        metrics.count_request(context, "GET", "/query", 200, answered - started)

    return b"".join([b"HTTP/1.1 200 OK\r\nContent-Type: ", _CONTENT_TYPE, b"\r\nDate: ", http_date().encode(),
                     b"\r\nCluster-Uuid: ", context.cluster_uuid.encode(), b"\r\nContent-Length: ",
                     b"%d" % len(body), b"\r\n\r\n", body]), finish


_CONTENT_TYPE = serialize.V1_JSON_CONTENT_TYPE.encode()
#: a ``Host`` the lean path takes: one plain name or IPv4 address and port. Tornado refuses some
#: others with a 400 (none, several, ones its grammar rejects): those, and any other unusual one
#: (an IPv6 literal, say), go the full path, which decides
_PLAIN_HOST = re.compile(r"[A-Za-z0-9.-]+(?::[0-9]{1,5})?")
