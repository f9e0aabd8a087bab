"""The lean path (http/lean.py): `influx3 serve`'s connections answer small ``GET /query`` reads
without tornado's RequestHandler. Every answer must be the full path's, byte for byte (the Date
header aside), and every request it does not take, or refuses, must reach the full path.

Two apps over one engine, each on `influx3 serve`'s own connections: one with the lean path, one
without (``influx3_lean_path=False``). Each request goes to both, three times over a keep-alive
connection (the first run of a text goes to the query pool; the next ones, known to be quick,
run on the IOLoop, where the lean path can take them), and the answers are compared.
"""

from __future__ import annotations

import contextlib
import http.client
from urllib.parse import urlencode, urlparse

import pytest

from http_helpers import connect, read_answer, serving

from jupyter_influx3.engine import Engine
from jupyter_influx3.engine import tokens as tokenlib
from jupyter_influx3.http.auth import AuthSettings
from jupyter_influx3.http.routes import make_app

LINES = "\n".join(f"cpu,host=h{i % 3},region=r{i % 2} usage={i * 1.5},n={i}i {i * 10**9}" for i in range(200)) + \
    "\nmem,host=h0 used=12i 5000000000\n"


class Pair:
    """The same engine behind the lean path and behind the full path only."""

    def __init__(self, lean_url: str, full_url: str, lean_context, full_context):
        self.urls = {"lean": lean_url, "full": full_url}
        self.context = lean_context
        self.full_context = full_context
        self.conns: dict = {}

    def get(self, which: str, target: str, headers: dict | None = None, version: str = "HTTP/1.1"):
        """(status, headers without Date, body) of one GET on a kept connection."""
        conn = self.conns.get(which)
        if conn is None:
            u = urlparse(self.urls[which])
            conn = self.conns[which] = http.client.HTTPConnection(u.hostname, u.port, timeout=30)
        if version == "HTTP/1.0":
            conn._http_vsn, conn._http_vsn_str = 10, "HTTP/1.0"
        conn.putrequest("GET", target, skip_host="Host" in (headers or {}), skip_accept_encoding=True)
        for k, v in (headers or {}).items():
            conn.putheader(k, v)
        conn.endheaders()
        r = conn.getresponse()
        body = r.read()
        kept = [(k, v) for k, v in r.getheaders() if k.lower() != "date"]
        if r.will_close or version == "HTTP/1.0":
            conn.close()
            del self.conns[which]
        return r.status, kept, body

    def both(self, target: str, times: int = 3, **kw) -> list:
        """Each answer of the lean server, after checking it is the full server's."""
        out = []
        for _ in range(times):
            lean, full = self.get("lean", target, **kw), self.get("full", target, **kw)
            assert lean == full, target
            out.append(lean)
        return out

    def close(self):
        for c in self.conns.values():
            c.close()


@contextlib.contextmanager
def pair(tmp_path, auth: AuthSettings, **app_kw):
    engine = Engine(str(tmp_path / "data"), node_id="n", background=False)
    engine.write_lp("db1", LINES, precision="nanosecond")
    engine.write_lp("db2", "secret,host=x v=42 1000\n", precision="nanosecond")
    lean_app = make_app(engine, auth=auth, **app_kw)
    full_app = make_app(engine, auth=auth, influx3_lean_path=False, **app_kw)
    try:
        with serving(lean_app, llhttp=True) as lean_url, serving(full_app, llhttp=True) as full_url:
            p = Pair(lean_url, full_url, lean_app.settings["influx3"], full_app.settings["influx3"])
            try:
                yield engine, p
            finally:
                p.close()
    finally:
        engine.close()


def q(**params) -> str:
    return "/query?" + urlencode(params)


READS = [
    q(db="db1", q="SELECT max(usage) FROM cpu WHERE time >= 0s AND time < 100s GROUP BY time(10s)", epoch="ns"),
    q(db="db1", q="SELECT usage, n FROM cpu WHERE host = 'h1' LIMIT 5"),
    q(db="db1", q="SELECT mean(usage) FROM cpu GROUP BY host, region", epoch="ms"),
    q(db="db1", q="SELECT * FROM cpu, mem WHERE time < 20s"),
    q(db="db1", q="SELECT count(usage) FROM cpu; SELECT last(used) FROM mem"),
    q(db="db1", q="SHOW MEASUREMENTS"),
    q(db="db1", q="SHOW TAG VALUES FROM cpu WITH KEY = host"),
    q(db="db1", q="SHOW FIELD KEYS"),
    q(q="SHOW DATABASES"),
    q(db="db1", q="SELECT usage FROM cpu WHERE host = 'h2' LIMIT 2", pretty="true"),
    q(db="db1", rp="autogen", q="SELECT usage FROM cpu LIMIT 1"),
    q(db="nope", q="SELECT * FROM cpu"),                  # an error inside a 200
    q(db="db1", q="SELECT nosuchfield FROM cpu"),          # no series
    q(db="db1", q="SELECT usage FROM db2..secret"),        # another database, named in FROM
    q(db="db1", q="SELECT usage FROM cpu LIMIT 1", u="someone", p="ignored"),
]


@pytest.mark.parametrize("target", READS)
def test_a_read_answered_on_the_lean_path_is_the_full_paths_answer(tmp_path, target):
    with pair(tmp_path, AuthSettings(enabled=False)) as (_, p):
        answers = p.both(target)
        assert answers[-1][0] == 200
        assert p.context.lean_answers >= 1, "the lean path answered none"
        assert p.full_context.lean_answers == 0


LEFT_TO_THE_FULL_PATH = [
    ("chunked", q(db="db1", q="SELECT usage FROM cpu", chunked="true", chunk_size="50"), {}),
    ("bind parameters", q(db="db1", q="SELECT usage FROM cpu WHERE host = $h", params='{"h":"h1"}'), {}),
    ("csv", q(db="db1", q="SELECT usage FROM cpu LIMIT 3"), {"Accept": "application/csv"}),
    ("a browser", q(db="db1", q="SELECT usage FROM cpu LIMIT 3"), {"Origin": "http://evil.example"}),
    ("a parse error", q(db="db1", q="SELECT FROM WHERE"), {}),
    ("an empty query", q(db="db1", q=" "), {}),
    ("a write", q(db="db1", q="CREATE DATABASE made_by_get"), {}),
    ("an unknown Accept", q(db="db1", q="SELECT usage FROM cpu LIMIT 3"), {"Accept": "image/png"}),
    ("no query string", "/query", {}),
    ("another path", "/query/", {}),
]


@pytest.mark.parametrize("why,target,headers", LEFT_TO_THE_FULL_PATH, ids=[c[0] for c in LEFT_TO_THE_FULL_PATH])
def test_requests_the_lean_path_does_not_take_get_the_full_paths_answer(tmp_path, why, target, headers):
    with pair(tmp_path, AuthSettings(enabled=False), cors_origins=("http://app.example",)) as (_, p):
        p.both(target, headers=headers)
        assert p.context.lean_answers == 0, why


def test_http_1_0_and_a_host_not_allowed_go_the_full_path(tmp_path):
    target = q(db="db1", q="SELECT usage FROM cpu LIMIT 3")
    with pair(tmp_path, AuthSettings(enabled=False), allowed_hosts=("db.example",)) as (_, p):
        answers = p.both(target, version="HTTP/1.0")
        assert answers[-1][0] == 200
        refused = p.both(target, headers={"Host": "attacker.example"})
        assert refused[-1][0] == 403
        assert p.context.lean_answers == 0
        p.both(target, headers={"Host": "db.example"})
        assert p.context.lean_answers >= 1


def test_the_lean_path_authenticates_and_authorizes_like_the_full_path(tmp_path):
    with pair(tmp_path, AuthSettings()) as (engine, p):
        admin = tokenlib.create_admin_token(engine.catalog).token
        reader = tokenlib.create_resource_token(engine.catalog, "reader", [
            {"resource_type": "db", "resource_names": ["db1"], "actions": ["read"]}]).token
        writer = tokenlib.create_resource_token(engine.catalog, "writer", [
            {"resource_type": "db", "resource_names": ["db1"], "actions": ["write"]}]).token
        read1 = q(db="db1", q="SELECT usage FROM cpu LIMIT 2")
        cases = [
            (read1, {}, 401),                                                    # no token
            (read1, {"Authorization": "Token not-a-token"}, 401),
            (read1, {"Authorization": "Bearer"}, 400),                           # malformed header
            (read1, {"Authorization": f"Token {writer}"}, 403),                  # no read on db1
            (q(db="db2", q="SELECT * FROM secret"), {"Authorization": f"Token {reader}"}, 403),
            (q(db="db1", q="SELECT v FROM db2..secret"), {"Authorization": f"Token {reader}"}, 403),
            (q(db="db1", q="SHOW DATABASES"), {"Authorization": f"Token {reader}"}, 403),  # admin only
        ]
        for target, headers, status in cases:
            answers = p.both(target, headers=headers)
            assert answers[-1][0] == status, (target, headers)
        assert p.context.lean_answers == 0
        before = p.context.lean_answers
        for token in (reader, admin):
            answers = p.both(read1, headers={"Authorization": f"Token {token}"})
            assert answers[-1][0] == 200 and b'"usage"' in answers[-1][2]
            answers = p.both(q(db="db1", q="SELECT usage FROM cpu LIMIT 2", p=token))   # v1 p= credential
            assert answers[-1][0] == 200
        assert p.context.lean_answers > before


def test_lean_answers_are_counted_in_the_metrics(tmp_path):
    with pair(tmp_path, AuthSettings(enabled=False)) as (_, p):
        p.both(q(db="db1", q="SELECT usage FROM cpu LIMIT 1"), times=4)
        assert p.context.lean_answers >= 2

        def counts(which: str) -> list[str]:
            body = p.get(which, "/metrics")[2].decode()
            return [line for line in body.splitlines()
                    if line.startswith(('http_requests_total{method="GET",path="/query"',
                                        'influxdb3_queries_total{result="success",type="influxql"}'))]

        assert counts("lean") == counts("full") and len(counts("lean")) == 2


def raw(url: str, request: bytes) -> tuple[int, dict, bytes]:
    """A server's answer to one raw request: status, headers (Date left out) and body."""
    with connect(url) as sock:
        sock.sendall(request)
        status, headers, body = read_answer(sock, bytearray())
    headers.pop("date", None)
    return status, headers, body


@pytest.mark.parametrize("hosts", [
    [b"127.0.0.1", b"attacker.example"],   # two Host headers: 400, as tornado answers
    [b"a,b"],                              # a comma (two hosts folded into one)
    [],                                    # none (HTTP/1.1 requires one)
    [b"[::1]:8086"],                       # an IPv6 literal: left to the full path
    [b"bad host"],
])
def test_unusual_host_headers_get_the_full_paths_answer(tmp_path, hosts):
    target = q(db="db1", q="SELECT usage FROM cpu LIMIT 1").encode()
    head = b"GET " + target + b" HTTP/1.1\r\n" + b"".join(b"Host: " + h + b"\r\n" for h in hosts)
    with pair(tmp_path, AuthSettings(enabled=False)) as (_, p):
        p.both(q(db="db1", q="SELECT usage FROM cpu LIMIT 1"))   # known quick now
        seen = p.context.lean_answers
        request = head + b"\r\n"   # keep-alive: what the lean path would take
        assert raw(p.urls["lean"], request) == raw(p.urls["full"], request)
        assert p.context.lean_answers == seen


def test_a_query_string_with_a_credential_is_not_kept_parsed():
    from jupyter_influx3.http import base

    secret = "apiv3_" + "x" * 40
    for query in (urlencode({"db": "a", "q": "SELECT 1", "p": secret}), "db=a&%70=" + secret):
        pairs = base.query_pairs_of(query)
        assert ("p", secret) in pairs
        assert query not in base._QUERY_PARSES
    kept = urlencode({"db": "a", "q": "SELECT 2"})
    assert base.query_pairs_of(kept) is base.query_pairs_of(kept)   # parsed once


def test_a_quick_text_that_turned_slow_leaves_the_lean_path_with_the_same_answer(tmp_path, monkeypatch):
    """The alarm of the inline run holds on the lean path too: the text ran quick, then the data
    grew; its next run starts on the lean path, the alarm rings (shortened here to 1 ms so that a
    run of tens of ms certainly outlasts it), and the request is answered by the full path from the
    query pool. From then on the text stays off the IOLoop."""
    from jupyter_influx3.http import base

    monkeypatch.setattr(base, "INLINE_LIMIT_S", 0.001)
    target = q(db="grow", q="SELECT v FROM t", epoch="ns")
    with pair(tmp_path, AuthSettings(enabled=False)) as (engine, p):
        engine.write_lp("grow", "t,host=a v=1 1\n", precision="nanosecond")
        p.both(target)
        quick = p.context.lean_answers
        assert quick >= 1
        engine.write_lp("grow", "".join(f"t,host=h{i % 50} v={i} {i + 2}\n" for i in range(60_000)),
                        precision="nanosecond")
        answers = p.both(target)
        assert answers[-1][0] == 200 and answers[-1][2].count(b"],[") == 60_000   # 60,001 rows
        assert p.context.lean_answers == quick


def test_a_lean_answer_is_written_before_its_bookkeeping(tmp_path, monkeypatch):
    """The client is woken by the write: the query's and request's metrics and the run's kept
    state (engine/afterwards.py) come after it, still before the connection's next request."""
    from jupyter_influx3.engine.influxql import select
    from jupyter_influx3.http import connection, lean, metrics

    events: list = []
    answer, write, count, keep = (lean.answer, connection.ServerConnection.write, metrics.count_request,
                                  select._Run._keep_state)

    def watched_answer(app, head, *a, **kw):
        events.append("lean path asked" if head.start_line.path.startswith("/query") else "other request")
        return answer(app, head, *a, **kw)

    def watched_write(self, data):
        events.append("write" if data.startswith(b"HTTP/1.1 200") else "other write")
        return write(self, data)

    def watched_count(context, method, path, *a, **kw):
        events.append(f"count {path}")
        return count(context, method, path, *a, **kw)

    def watched_keep(self, home):
        events.append("keep state")
        return keep(self, home)

    monkeypatch.setattr(lean, "answer", watched_answer)
    monkeypatch.setattr(connection.ServerConnection, "write", watched_write)
    monkeypatch.setattr(metrics, "count_request", watched_count)
    monkeypatch.setattr(select._Run, "_keep_state", watched_keep)
    target = q(db="db1", q="SELECT max(usage) FROM cpu WHERE time >= 0s AND time < 100s GROUP BY time(10s)")
    with pair(tmp_path, AuthSettings(enabled=False)) as (_, p):
        for _ in range(20):   # until the lean path answers a run that keeps its state (a copy is built)
            before = p.context.lean_answers
            assert p.get("lean", target)[0] == 200
            # the server reads the next request only after the last answer's bookkeeping (which
            # the client may not wait for): the answer to this one marks the end of it
            p.get("lean", "/health")
            asked = len(events) - 1 - events[::-1].index("lean path asked")
            step = events[asked:asked + 4]
            if p.context.lean_answers == before + 1 and "keep state" in step:
                break
        assert step == ["lean path asked", "write", "keep state", "count /query"], events
        body = p.get("lean", "/metrics")[2].decode()
    assert any(line.startswith('http_requests_total{method="GET",path="/query",status="200"}')
               for line in body.splitlines())


# ---- texts never seen (engine/influxql/bounded.py) ------------------------------------------

_UNSEEN = iter(range(10**6, 2 * 10**6))   # LIMITs no other test sends (costs are kept per text)


def unseen(template: str) -> str:
    """A text no server has seen: the template with a LIMIT {n} beyond any answer's rows."""
    return q(db="db1", q=template.format(n=next(_UNSEEN)), epoch="ns")


BOUNDED = "SELECT max(usage), min(n) FROM cpu WHERE host = 'h1' AND time >= 20s AND time < 180s GROUP BY time(30s) " \
          "LIMIT {n}"


def _with_copy(p: Pair) -> None:
    """The series cache's copy of cpu, built by a first run in the query pool."""
    p.both(unseen("SELECT max(usage) FROM cpu WHERE time >= 0s AND time < 100s LIMIT {n}"), times=1)


def test_a_text_never_seen_is_answered_on_the_lean_path_when_its_work_is_bounded(tmp_path):
    with pair(tmp_path, AuthSettings(enabled=False)) as (_, p):
        _with_copy(p)
        for _ in range(3):
            seen = p.context.lean_answers
            [(status, _, body)] = p.both(unseen(BOUNDED), times=1)   # each time a new text
            assert status == 200 and b'"values":[[' in body
            assert p.context.lean_answers == seen + 1


@pytest.mark.parametrize("template", [
    "SELECT percentile(usage, 50) FROM cpu WHERE host = 'h1' AND time < 180s LIMIT {n}",             # not a plain call
    "SELECT max(usage) FROM cpu WHERE time >= 0s AND time < 60s GROUP BY time(10s) LIMIT {n} tz('UTC')",  # a time zone
    "SELECT max(usage) FROM cpu WHERE time >= 0s AND time < 100s GROUP BY time(10ms) LIMIT {n}",        # too many cells
    "SELECT max(used) FROM mem WHERE time < 180s LIMIT {n}",                                           # no copy of mem
])
def test_a_text_never_seen_whose_work_is_not_bounded_goes_to_the_query_pool_first(tmp_path, template):
    with pair(tmp_path, AuthSettings(enabled=False)) as (_, p):
        _with_copy(p)
        seen = p.context.lean_answers
        [(status, _, _)] = p.both(unseen(template), times=1)
        assert status == 200
        assert p.context.lean_answers == seen


def test_a_bound_check_that_fails_leaves_the_text_to_the_query_pool(tmp_path, monkeypatch, caplog):
    from jupyter_influx3.http import influxql

    def broken(*args):
        raise RuntimeError("a bug in the bound check")

    with pair(tmp_path, AuthSettings(enabled=False)) as (_, p):
        _with_copy(p)
        monkeypatch.setattr(influxql, "bounded", broken)
        seen = p.context.lean_answers
        [(status, _, body)] = p.both(unseen(BOUNDED), times=1)
        assert status == 200 and b'"values":[[' in body
        assert p.context.lean_answers == seen
        assert "a bug in the bound check" in caplog.text


def test_a_text_too_long_to_parse_on_the_event_loop_is_not_checked_there(tmp_path, monkeypatch):
    """The check plans the statements on the IOLoop: a text parsed in the pool (over 2 KiB) is not
    checked, and runs in the pool."""
    from jupyter_influx3.http import influxql

    checked = []
    with pair(tmp_path, AuthSettings(enabled=False)) as (_, p):
        _with_copy(p)
        monkeypatch.setattr(influxql, "bounded", lambda *a: checked.append(a) or True)
        seen = p.context.lean_answers
        [(status, _, body)] = p.both(unseen(BOUNDED + " " * 2100), times=1)
        assert status == 200 and b'"values":[[' in body
        assert checked == [] and p.context.lean_answers == seen
        p.both(unseen(BOUNDED), times=1)   # a short one is checked (once: then its cost is known)
        assert len(checked) == 1 and p.context.lean_answers == seen + 1
