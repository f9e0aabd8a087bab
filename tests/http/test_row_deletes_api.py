"""Row-delete requests through a real server: create, list, abort, the rows gone from SQL and
InfluxQL at once, system.row_deletes, and the 400/404/409 answers."""

from __future__ import annotations

import pytest
import requests

from http_helpers import written

PATH = "/api/v3/row_delete_requests"
S = 10**9


@pytest.fixture(scope="module")
def url(start_influx3_session):
    return start_influx3_session().url


def sql(url, db, q):
    r = requests.get(f"{url}/api/v3/query_sql", params={"db": db, "q": q, "format": "json"}, timeout=30)
    assert r.status_code == 200, r.text
    return r.json()


def influxql_values(url, db, q):
    r = requests.get(f"{url}/query", params={"db": db, "q": q}, timeout=30)
    assert r.status_code == 200, r.text
    series = r.json()["results"][0].get("series", [])
    return sorted(v[1] for s in series for v in s["values"])


def test_create_hides_rows_at_once_and_abort_brings_them_back(url, db):
    written(url, db, "\n".join(f"cpu,host={h} v={t} {t * S}" for h in "ab" for t in range(1, 5)), precision="ns")
    r = requests.post(url + PATH, json={"db": db, "table": "cpu", "min_time": 2 * S, "max_time": 4 * S,
                                        "predicate": "host = 'a'"}, timeout=30)
    assert r.status_code == 200, r.text
    req = r.json()
    assert {k: req[k] for k in ("db_name", "table_name", "min_time", "max_time", "delete_predicate",
                                "disposition", "db_name_stale", "table_name_stale")} == {
        "db_name": db, "table_name": "cpu", "min_time": 2 * S, "max_time": 4 * S, "delete_predicate": "host = 'a'",
        "disposition": "pending", "db_name_stale": False, "table_name_stale": False}
    assert sql(url, db, "SELECT v FROM cpu WHERE host = 'a' ORDER BY time") == [{"v": 1.0}, {"v": 4.0}]
    assert influxql_values(url, db, "SELECT v FROM cpu WHERE host = 'a'") == [1, 4]
    listed = requests.get(url + PATH, params={"db": db}, timeout=30).json()
    assert [x["sequence"] for x in listed] == [req["sequence"]]
    assert requests.get(url + PATH, params={"db": db, "disposition": "aborted"}, timeout=30).json() == []
    rows = sql(url, "_internal", f"SELECT disposition FROM system.row_deletes WHERE sequence = {req['sequence']}")
    assert rows == [{"disposition": "pending"}]
    r = requests.post(f"{url}{PATH}/{req['sequence']}/abort", json={"reason": "oops"}, timeout=30)
    assert r.status_code == 200 and r.json()["disposition"] == "aborted" and r.json()["abort_reason"] == "oops"
    assert len(sql(url, db, "SELECT v FROM cpu WHERE host = 'a'")) == 4
    r = requests.post(f"{url}{PATH}/{req['sequence']}/abort", json={"reason": "again"}, timeout=30)
    assert r.status_code == 409 and "not pending" in r.json()["error"]


def test_database_alias_and_all_time(url, db):
    written(url, db, "cpu,host=a v=1 1\ncpu,host=b v=1 1")
    r = requests.post(url + PATH, json={"database": db, "table": "cpu", "all_time": True,
                                        "delete_predicate": "host = 'b'"}, timeout=30)
    assert r.status_code == 200, r.text
    assert sql(url, db, "SELECT host FROM cpu") == [{"host": "a"}]


@pytest.mark.parametrize("body,status,needle", [
    ({"table": "cpu", "all_time": True}, 400, "missing field `db`"),
    ({"db": "DB", "table": "cpu"}, 400, "time scope is required"),
    ({"db": "DB", "table": "cpu", "all_time": True, "predicate": "host = 'a' OR host = 'b'"}, 400, "joined by AND"),
    ({"db": "DB", "table": "cpu", "all_time": True, "predicate": "v = '1'"}, 400, "is not a tag"),
    ({"db": "DB", "table": "cpu", "min_time": "2024-01-01"}, 400, "integer timestamp"),
    ({"db": "DB", "table": "nope", "all_time": True}, 404, "table not found"),
    ({"db": "nope-db", "table": "cpu", "all_time": True}, 404, "database not found"),
])
def test_bad_requests(url, db, body, status, needle):
    written(url, db, "cpu,host=a v=1 1")
    if body.get("db") == "DB":
        body = {**body, "db": db}
    r = requests.post(url + PATH, json=body, timeout=30)
    assert r.status_code == status, r.text
    assert needle in r.json()["error"]


@pytest.mark.parametrize("path,body,status", [("/999999/abort", {"reason": "x"}, 404),
                                              ("/abc/abort", {"reason": "x"}, 400),
                                              ("/1/abort", {}, 400)])
def test_abort_errors(url, path, body, status):
    r = requests.post(url + PATH + path, json=body, timeout=30)
    assert r.status_code == status, r.text
