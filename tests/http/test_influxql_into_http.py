"""SELECT INTO and EXPLAIN over HTTP on a real ``influx3 serve`` with auth on: ``/query`` answers
as InfluxDB 1.6.7 does (its answers recorded below), the rows land through the write path (another
node reads them), SELECT INTO needs write permission on the target, and
``/api/v3/query_influxql`` answers EXPLAIN with InfluxDB 3's plan types."""

from __future__ import annotations

import requests
import pytest

from http_helpers import bearer, create_admin, db_perm, resource_token

from jupyter_influx3.engine import Engine

SRC, DST = "into_src", "into_dst"
DATASET = "\n".join([
    'cpu,host=a,region=us usage=1.5,n=3i,s="x",b=true 1000',
    'cpu,host=b,region=eu usage=2.5,n=4i,s="y",b=false 1010',
    "cpu,host=a,region=us usage=3.5,n=5i 1020",
    "mem,host=a free=10i 1000",
    "mem,host=b free=20i 1030",
])

# InfluxDB 1.6.7's answers (POST /query, db=into_src) on DATASET
INTO_AGG = f"SELECT count(usage), mean(usage), sum(n), max(n) INTO {DST}.autogen.agg FROM cpu GROUP BY host"
INTO_AGG_1_6_7 = {"results": [{"statement_id": 0, "series": [
    {"name": "result", "columns": ["time", "written"], "values": [["1970-01-01T00:00:00Z", 2]]}]}]}
READ_AGG_1_6_7 = {"results": [{"statement_id": 0, "series": [
    {"name": "agg", "columns": ["time", "count", "host", "max", "mean", "sum"],
     "values": [["1970-01-01T00:00:00Z", 2, "a", 5, 2.5, 8], ["1970-01-01T00:00:00Z", 1, "b", 4, 2.5, 4]]}]}]}
INTO_CSV_1_6_7 = "name,tags,time,written\nresult,,0,1\n"
EXPLAIN_1_6_7 = {"results": [{"statement_id": 0, "series": [{"columns": ["QUERY PLAN"], "values": [
    ["EXPRESSION: mean(usage::float)"], ["NUMBER OF SHARDS: 1"], ["NUMBER OF SERIES: 2"], ["CACHED VALUES: 3"],
    ["NUMBER OF FILES: 0"], ["NUMBER OF BLOCKS: 0"], ["SIZE OF BLOCKS: 0"]]}]}]}
NO_DB_1_6_7 = {"results": [{"statement_id": 0, "error": "database not found: nosuchdb"}]}


@pytest.fixture(scope="module")
def srv(start_influx3_session):
    return start_influx3_session(auth=True)


@pytest.fixture(scope="module")
def env(srv):
    u = srv.url
    admin = create_admin(u)
    r = requests.post(f"{u}/write", params={"db": SRC, "precision": "s"}, data=DATASET, headers=bearer(admin),
                      timeout=30)
    assert r.status_code == 204, r.text
    r = requests.post(f"{u}/query", data={"q": f"CREATE DATABASE {DST}"}, headers=bearer(admin), timeout=30)
    assert r.status_code == 200, r.text
    read_only = resource_token(u, admin, [db_perm([SRC, DST], "read")])
    read_write = resource_token(u, admin, [db_perm([SRC, DST], "read"), db_perm([DST], "write")])
    return {"url": u, "admin": admin, "read_only": read_only, "read_write": read_write}


def q(env, token, query, db=SRC, method="POST", headers=None):
    params = {"q": query, "db": db}
    headers = {**bearer(env[token]), **(headers or {})}
    if method == "POST":
        return requests.post(f"{env['url']}/query", data=params, headers=headers, timeout=60)
    return requests.get(f"{env['url']}/query", params=params, headers=headers, timeout=60)


def test_select_into_answers_as_1_6_7_and_writes_through_the_write_path(env, srv):
    r = q(env, "admin", INTO_AGG)
    assert r.status_code == 200 and r.json() == INTO_AGG_1_6_7
    assert q(env, "admin", "SELECT * FROM agg", db=DST).json() == READ_AGG_1_6_7
    # another node of the data directory sees the points (they went through the WAL)
    reader = Engine(srv.data_dir, node_id="into-reader")
    try:
        rows = reader.sql(DST, "SELECT host, count, mean FROM agg ORDER BY host").to_pylist()
        assert rows == [{"host": "a", "count": 2, "mean": 2.5}, {"host": "b", "count": 1, "mean": 2.5}]
    finally:
        reader.close()
    r = q(env, "admin", f"SELECT count(usage) INTO {DST}..agg2 FROM cpu", headers={"Accept": "application/csv"})
    assert r.status_code == 200 and r.text == INTO_CSV_1_6_7
    assert q(env, "admin", "SELECT usage INTO nosuchdb.autogen.x FROM cpu").json() == NO_DB_1_6_7


def test_select_into_needs_write_on_the_target(env):
    r = q(env, "read_only", f"SELECT usage INTO {DST}..copy FROM cpu")
    assert r.status_code == 403, r.text
    r = q(env, "read_only", f"EXPLAIN SELECT usage INTO {DST}..copy FROM cpu")
    assert r.status_code == 403, r.text
    assert q(env, "read_only", "SELECT usage FROM cpu").status_code == 200
    r = q(env, "read_write", f"SELECT usage INTO {DST}..copy FROM cpu")
    assert r.status_code == 200 and r.json()["results"][0]["series"][0]["values"] == [["1970-01-01T00:00:00Z", 3]]
    # writing into the source database itself needs write there
    r = q(env, "read_write", "SELECT usage INTO copy FROM cpu")
    assert r.status_code == 403, r.text


def test_explain_on_query_and_on_query_influxql(env):
    r = q(env, "read_only", "EXPLAIN SELECT mean(usage) FROM cpu")
    assert r.status_code == 200 and r.json() == EXPLAIN_1_6_7
    r = q(env, "read_only", "EXPLAIN ANALYZE SELECT mean(usage) FROM cpu", method="GET")
    s = r.json()["results"][0]["series"][0]
    assert s["columns"] == ["EXPLAIN ANALYZE"] and [v[0] for v in s["values"][:2]] == [".", "└── select"]
    assert s["values"][-1] == [""]
    r = requests.get(f"{env['url']}/api/v3/query_influxql",
                     params={"db": SRC, "q": "EXPLAIN SELECT mean(usage) FROM cpu", "format": "json"},
                     headers=bearer(env["read_only"]), timeout=60)
    assert r.status_code == 200, r.text
    rows = r.json()
    assert [row["plan_type"] for row in rows] == ["logical_plan", "physical_plan"]
    assert rows[0]["plan"].startswith("EXPRESSION: mean(usage::float)\n")
    r = requests.get(f"{env['url']}/api/v3/query_influxql",
                     params={"db": SRC, "q": "SELECT usage INTO x FROM cpu"},
                     headers=bearer(env["admin"]), timeout=60)
    assert r.status_code == 400 and "SELECT INTO is not supported" in r.text


# InfluxDB 1.6.7's answers to statements that write, sent with GET: they run, with a warning
GET_CREATE_1_6_7 = {"results": [{"statement_id": 0, "messages": [{"level": "warning", "text": (
    "deprecated use of 'CREATE DATABASE into_probe' in a read only context, please use a POST request instead")}]}]}
GET_INTO_1_6_7 = {"results": [{"statement_id": 0, "series": [
    {"name": "result", "columns": ["time", "written"], "values": [["1970-01-01T00:00:00Z", 1]]}],
    "messages": [{"level": "warning", "text": "deprecated use of 'SELECT v INTO into_probe.autogen.m2 FROM "
                  "into_probe.autogen.m' in a read only context, please use a POST request instead"}]}]}
GET_DROP_1_6_7 = {"results": [{"statement_id": 0, "messages": [{"level": "warning", "text": (
    "deprecated use of 'DROP DATABASE into_probe' in a read only context, please use a POST request instead")}]}]}


def test_statements_that_write_sent_with_get_run_with_1_x_warning(env):
    u, h = env["url"], bearer(env["admin"])
    get = lambda query, **p: requests.get(f"{u}/query", params={"q": query, **p}, headers=h, timeout=30).json()
    assert get("CREATE DATABASE into_probe") == GET_CREATE_1_6_7
    r = requests.post(f"{u}/write", params={"db": "into_probe"}, data="m v=1 1", headers=h, timeout=30)
    assert r.status_code == 204
    assert get("SELECT v INTO m2 FROM m", db="into_probe") == GET_INTO_1_6_7
    assert get("SELECT * FROM m2", db="into_probe")["results"][0]["series"][0]["values"] == [
        ["1970-01-01T00:00:00.000000001Z", 1]]
    assert "messages" not in get("SHOW DATABASES")["results"][0]        # read-only: no warning
    assert get("DROP DATABASE into_probe") == GET_DROP_1_6_7
