"""ReDoS (issue 10): a user's regular expression never runs in a backtracking engine.

Each case is the attack as sent: ``^(a+)+$`` against ``"a" * 40 + "!"`` (hours in Python's ``re``,
microseconds in RE2) in every place InfluxQL and SQL take a pattern -- a tag value in WHERE, a
field value, measurement names in FROM, tag keys in SHOW TAG VALUES, field names in SELECT -- on
``/query``, ``/api/v3/query_influxql`` and ``/api/v3/query_sql`` of a real server.  While each
query runs, another thread polls ``/health``, which must answer within 100 ms; and the answers
are the regex semantics of InfluxDB (Go's RE2): ``^(a+)+$`` matches ``aaa``, not ``aaa…a!``.
"""

from __future__ import annotations

import threading
import time

import pytest
import requests

from http_helpers import written

EVIL = "^(a+)+$"
LONG = "a" * 40 + "!"  # no match, and the worst case for a backtracking engine
T0 = 1672531200

LP = "\n".join([
    f"cpu,host={LONG} value=1,note=\"{LONG}\" {T0}",
    f"cpu,host=aaa value=2,note=\"aaa\" {T0 + 1}",
    f"cpu,host=b value=3,note=\"b\" {T0 + 2}",
    f"{LONG} value=4 {T0}",
    f"aaaa value=5 {T0}",
    f"tk,aaaa=x,{LONG}=y value=6 {T0}",
    f"fv aaaa=7,{LONG}=8 {T0}",
])

#: Requests get this long (a backtracking engine would need hours: the test fails, never hangs).
TIMEOUT = 30


@pytest.fixture(scope="module")
def srv(start_influx3_session):
    # A server of this module's own: if a regression lets a pattern backtrack, only it is stuck.
    return start_influx3_session()


@pytest.fixture(scope="module")
def data(srv):
    return written(srv.url, "redos", LP, precision="second")


def while_health_polled(url: str, send):
    """Run ``send()`` while another thread polls ``/health``; return (its result, the sorted
    ``/health`` answer times in seconds, how many were answered)."""
    done = threading.Event()
    waits: list[float] = []

    def poll() -> None:
        with requests.Session() as s:
            while True:
                t0 = time.perf_counter()
                r = s.get(f"{url}/health", timeout=TIMEOUT)
                waits.append(time.perf_counter() - t0)
                assert r.status_code == 200
                if done.is_set():
                    return
                time.sleep(0.005)

    t = threading.Thread(target=poll, daemon=True)
    t.start()
    try:
        result = send()
    finally:
        done.set()
        t.join(TIMEOUT)
    return result, sorted(waits), len(waits)


def check_health(waits: list[float], count: int) -> None:
    """/health answers within 100 ms while the query runs (the median: a loaded test machine
    delays a single answer now and then), and no answer waits on the query (a backtracking match
    holds the GIL for seconds)."""
    assert count >= 1
    median = waits[len(waits) // 2]
    assert median < 0.1, f"/health took {median * 1000:.0f} ms (median) while the query ran"
    assert waits[-1] < 1.0, f"/health took {waits[-1] * 1000:.0f} ms while the query ran"


def v1(url, db, q):
    r = requests.get(f"{url}/query", params={"db": db, "q": q}, timeout=TIMEOUT)
    assert r.status_code == 200, r.text
    result = r.json()["results"][0]
    assert "error" not in result, result
    return result.get("series", [])


def v3_influxql(url, db, q):
    r = requests.get(f"{url}/api/v3/query_influxql", params={"db": db, "q": q, "format": "json"}, timeout=TIMEOUT)
    assert r.status_code == 200, r.text
    return r.json()


def sql(url, db, q):
    r = requests.get(f"{url}/api/v3/query_sql", params={"db": db, "q": q, "format": "json"}, timeout=TIMEOUT)
    assert r.status_code == 200, r.text
    return r.json()


@pytest.mark.parametrize("op, hosts", [("=~", ["aaa"]), ("!~", [LONG, "b"])])
def test_tag_regex_on_v1_query_is_linear_and_correct(srv, data, op, hosts):
    q = f"SELECT value FROM cpu WHERE host {op} /{EVIL}/ GROUP BY host"
    for _ in range(2):  # the second run may be answered from the series cache: another code path
        series, waits, n = while_health_polled(srv.url, lambda: v1(srv.url, data, q))
        check_health(waits, n)
        assert sorted(s["tags"]["host"] for s in series) == sorted(hosts)


def test_field_value_regex_on_v1_query(srv, data):
    q = f"SELECT value, note FROM cpu WHERE note =~ /{EVIL}/"
    series, waits, n = while_health_polled(srv.url, lambda: v1(srv.url, data, q))
    check_health(waits, n)
    assert [row[1:] for row in series[0]["values"]] == [[2, "aaa"]]


def test_regex_in_select_expression_over_rows(srv, data):
    # A regex comparison as a field expression is evaluated row by row in Python (influxql/expr.py).
    q = f"SELECT value FROM cpu WHERE host =~ /{EVIL}/ OR note =~ /^b$/"
    series, waits, n = while_health_polled(srv.url, lambda: v1(srv.url, data, q))
    check_health(waits, n)
    assert sorted(row[1] for row in series[0]["values"]) == [2, 3]


def test_measurement_regex_in_from(srv, data):
    q = f"SELECT value FROM /{EVIL}/"
    series, waits, n = while_health_polled(srv.url, lambda: v1(srv.url, data, q))
    check_health(waits, n)
    assert [s["name"] for s in series] == ["aaaa"]


def test_tag_key_regex_in_show_tag_values(srv, data):
    q = f"SHOW TAG VALUES FROM tk WITH KEY =~ /{EVIL}/"
    series, waits, n = while_health_polled(srv.url, lambda: v1(srv.url, data, q))
    check_health(waits, n)
    assert series[0]["values"] == [["aaaa", "x"]]


def test_field_name_regex_in_select(srv, data):
    q = f"SELECT /{EVIL}/ FROM fv"
    series, waits, n = while_health_polled(srv.url, lambda: v1(srv.url, data, q))
    check_health(waits, n)
    assert series[0]["columns"] == ["time", "aaaa"]


def test_tag_regex_on_v3_influxql(srv, data):
    q = f"SELECT value FROM cpu WHERE host =~ /{EVIL}/"
    rows, waits, n = while_health_polled(srv.url, lambda: v3_influxql(srv.url, data, q))
    check_health(waits, n)
    assert [r["value"] for r in rows] == [2]


@pytest.mark.parametrize("where", [
    f"host ~ '{EVIL}'",
    f"regexp_like(host, '{EVIL}')",
    f"regexp_matches(note, '{EVIL}')",
    f"regexp_match(host, '{EVIL}') IS NOT NULL",
])
def test_sql_regex_operators_run_in_re2(srv, data, where):
    q = f"SELECT value FROM cpu WHERE {where}"
    rows, waits, n = while_health_polled(srv.url, lambda: sql(srv.url, data, q))
    check_health(waits, n)
    assert [r["value"] for r in rows] == [2]


def test_sql_negated_regex_operator(srv, data):
    q = f"SELECT value FROM cpu WHERE host !~ '{EVIL}' ORDER BY value"
    rows, waits, n = while_health_polled(srv.url, lambda: sql(srv.url, data, q))
    check_health(waits, n)
    assert [r["value"] for r in rows] == [1, 3]


def test_sql_regexp_match_groups_are_counted_by_re2(srv, data):
    # \pL is RE2 (and Go) syntax Python's re does not know: the groups must still be found.
    rows = sql(srv.url, data, r"SELECT regexp_match(host, '^(\pL)(\pL+)$') AS g FROM cpu WHERE host = 'aaa'")
    assert rows == [{"g": ["a", "aa"]}]


@pytest.mark.parametrize("head", ["SELECT * FROM last_cache('cpu') WHERE host", "SHOW COLUMNS FROM cpu",
                                  "SHOW TABLES"], ids=["cache_fast_path", "show_columns", "show_tables"])
@pytest.mark.parametrize("tail", [" " * 3000 + "x", " " * 3000 + ";" + " " * 3000 + "x"], ids=["blanks", "semicolon"])
def test_a_fixed_pattern_never_backtracks_over_a_users_blanks(srv, data, head, tail):
    # The cache fast path and SQL's SHOW recognize their statements with regexes of their own whose
    # tails backtracked cubically over a run of blanks (2,000 spaces: 24 s; 1,000: 5 s).
    q = head + tail
    r, waits, n = while_health_polled(
        srv.url, lambda: requests.get(f"{srv.url}/api/v3/query_sql", params={"db": data, "q": q}, timeout=TIMEOUT))
    check_health(waits, n)
    assert r.status_code < 500, r.text  # whatever the answer (an error, or SHOW COLUMNS of "cpu x"), at once
