"""The cache endpoints through a real `influx3 serve` (behaviour reference §3.4, §5, cases C16–C22,
Q36, Q42): every status and body, query-string and JSON DELETE, 415; the SQL answers; two nodes
on one data directory seeing each other's caches and writes; a restart that keeps definitions and
answers at once from stored data."""

from __future__ import annotations

import time

import pytest
import requests

from http_helpers import influx3, written

LVC = "/api/v3/configure/last_cache"
DVC = "/api/v3/configure/distinct_cache"


def post(url, path, body):
    return requests.post(url + path, json=body, timeout=30)


def sql(url, db, q):
    r = requests.post(url + "/api/v3/query_sql", json={"db": db, "q": q, "format": "json"}, timeout=30)
    assert r.status_code == 200, r.text
    return r.json()


def make_table(url, db, table="tbl"):
    r = requests.post(url + "/api/v3/configure/table", json={
        "db": db, "table": table, "tags": ["t1", "t2", "t3"],
        "fields": [{"name": "f1", "type": "bool"}, {"name": "f2", "type": "utf8"}, {"name": "f3", "type": "int64"},
                   {"name": "f4", "type": "uint64"}, {"name": "f5", "type": "float64"}]}, timeout=30)
    assert r.status_code == 200, r.text


def test_last_cache_create_matrix(url, db):
    make_table(url, db)
    cases = [
        ({}, 400), ({"table": "tbl"}, 400), ({"db": db}, 400),
        ({"db": "carrot", "table": "tbl"}, 404), ({"db": db, "table": "celery"}, 404),
        ({"db": db, "table": "tbl"}, 201), ({"db": db, "table": "tbl"}, 409),
        ({"db": db, "table": "tbl", "name": "my_cache"}, 201), ({"db": db, "table": "tbl", "name": "my_cache"}, 409),
        ({"db": db, "table": "tbl", "name": "my_cache", "ttl": 666}, 409),
        ({"db": db, "table": "tbl", "key_columns": ["t1", "t2"]}, 201),
        ({"db": db, "table": "tbl", "key_columns": ["t1", "t2"]}, 409),
        ({"db": db, "table": "tbl", "key_columns": ["not_a_key_column"]}, 400),
        ({"db": db, "table": "tbl", "key_columns": ["f5"]}, 400),
        ({"db": db, "table": "tbl", "value_columns": ["not_a_value_column"]}, 400),
        ({"db": db, "table": "tbl", "count": 0}, 400),
        ({"db": db, "table": "tbl", "count": "many"}, 400),
        ({"db": db, "table": "tbl", "ttl": -5}, 400),
    ]
    got = [(body, post(url, LVC, body).status_code) for body, _ in cases]
    assert got == [(b, s) for b, s in cases]


def test_last_cache_bodies_and_messages(url, db):
    make_table(url, db)
    r = post(url, LVC, {"db": db, "table": "tbl", "key_columns": ["t1"]})
    assert r.status_code == 201 and r.headers["Content-Type"].startswith("application/json")
    op = r.json()["catalog_batch"]["Database"]["ops"][0]["CreateLastCache"]
    assert op["name"] == "tbl_t1_last_cache" and op["count"] == 1 and op["ttl"] == 14400
    r = post(url, LVC, {"db": db, "table": "tbl", "key_columns": ["f5"]})
    assert r.text == "only uint64, int64, bool, tag, and string columns are supported in the last cache"
    r = post(url, LVC, {"db": db, "table": "tbl", "key_columns": ["nope"]})
    assert r.text == "invalid configuration provided: invalid key column provided: nope"
    r = post(url, LVC, {"db": db, "table": "tbl"})
    assert r.json()["catalog_batch"]["Database"]["ops"][0]["CreateLastCache"]["name"] == "tbl_t1_t2_t3_last_cache"
    assert post(url, LVC, {"db": db, "table": "tbl"}).text == "attempted to create a resource that already exists"
    r = post(url, LVC, {"table": "tbl"})
    assert r.status_code == 400 and r.text.startswith("serde json error: missing field `db`")
    r = requests.post(url + LVC, data='{"db":"x","table":"y"}', timeout=30)
    assert (r.status_code, r.text) == (415, "unacceptable content-type, expected: application/json")


def test_distinct_cache_create_matrix(url, db):
    make_table(url, db, "bar")
    cases = [
        ({}, 400), ({"table": "bar", "columns": ["t1"]}, 400),
        ({"db": "carrot", "table": "bar", "columns": ["t1"]}, 404),
        ({"db": db, "table": "celery", "columns": ["t1"]}, 404),
        ({"db": db, "table": "bar", "columns": []}, 400),
        ({"db": db, "table": "bar"}, 400),
        ({"db": db, "table": "bar", "columns": ["leek"]}, 400),
        ({"db": db, "table": "bar", "columns": ["f1"]}, 400),
        ({"db": db, "table": "bar", "columns": ["t1", "t2"]}, 201),
        ({"db": db, "table": "bar", "columns": ["t1", "t2"]}, 409),
        ({"db": db, "table": "bar", "columns": ["t1", "t2"], "max_cardinality": 1}, 409),
        ({"db": db, "table": "bar", "columns": ["t1", "t2"], "max_age": 1}, 409),
        ({"db": db, "table": "bar", "name": "my_cache", "columns": ["t1"]}, 201),
        ({"db": db, "table": "bar", "name": "my_cache", "columns": ["t1", "t2"]}, 409),
        ({"db": db, "table": "bar", "columns": ["f2"], "max_cardinality": 0}, 400),
    ]
    got = [(body, post(url, DVC, body).status_code) for body, _ in cases]
    assert got == [(b, s) for b, s in cases]
    assert post(url, DVC, {"db": db, "table": "bar", "columns": []}).text == \
        "invalid configuration provided: no columns provided when creating distinct cache"
    assert post(url, DVC, {"db": db, "table": "bar", "columns": ["f1"]}).text == \
        "only tag and string columns are supported in the distinct cache"


@pytest.mark.parametrize("path,body", [(LVC, {}), (DVC, {"columns": ["t1"]})], ids=["last", "distinct"])
def test_delete_matrix_json_and_query_string(url, db, path, body):
    make_table(url, db)
    for how in ("json", "query"):
        assert post(url, path, {"db": db, "table": "tbl", "name": "test_cache", **body}).status_code == 201
        full = {"db": db, "table": "tbl", "name": "test_cache"}
        partial = [{}, {"db": db}, {"db": db, "table": "tbl"}, {"db": db, "name": "test_cache"},
                   {"table": "tbl", "name": "test_cache"}, {"name": "test_cache"}, {"table": "tbl"}]
        for p in partial:
            if how == "json":
                r = requests.delete(url + path, json=p, timeout=30)
            elif p:
                r = requests.delete(url + path, params=p, timeout=30)
            else:
                continue
            assert r.status_code == 400, (how, p, r.text)
        send = {"json": full} if how == "json" else {"params": full}
        r = requests.delete(url + path, timeout=30, **send)
        assert (r.status_code, r.text) == (200, "")
        r = requests.delete(url + path, timeout=30, **send)
        assert r.status_code == 404
    r = requests.delete(url + path, timeout=30)
    assert (r.status_code, r.text) == (415, "unacceptable content-type, expected: application/json")


def test_last_cache_queries_with_key_predicates(url, db):
    now = time.time_ns()
    written(url, db, "\n".join([
        f"cpu,region=us,host=a usage=1 {now - 50}", f"cpu,region=us,host=a usage=11 {now - 10}",
        f"cpu,region=eu,host=b usage=2 {now - 20}", f"cpu,region=ca,host=c usage=3 {now - 30}",
        f"cpu,region=us,host=d usage=4 {now - 40}"]))
    assert post(url, LVC, {"db": db, "table": "cpu", "key_columns": ["region", "host"]}).status_code == 201
    rows = sql(url, db, "SELECT region, host, usage FROM last_cache('cpu') ORDER BY host")
    assert rows == [{"region": "us", "host": "a", "usage": 11.0}, {"region": "eu", "host": "b", "usage": 2.0},
                    {"region": "ca", "host": "c", "usage": 3.0}, {"region": "us", "host": "d", "usage": 4.0}]
    hosts = lambda where: [r["host"] for r in sql(url, db, f"SELECT host FROM last_cache('cpu') WHERE {where} ORDER BY host")]
    assert hosts("region = 'us'") == ["a", "d"]
    assert hosts("region != 'us'") == ["b", "c"]
    assert hosts("host IN ('a', 'c')") == ["a", "c"]
    assert hosts("host NOT IN ('a', 'c')") == ["b", "d"]
    assert hosts("usage > 3") == ["a", "d"]
    cols = list(sql(url, db, "SELECT * FROM last_cache('cpu') LIMIT 1")[0])
    assert cols == ["region", "host", "time", "usage"]
    # a join with the table itself: the cache is a relation like any other
    joined = sql(url, db, "SELECT c.host, count(*) AS n FROM last_cache('cpu') c JOIN cpu t ON c.host = t.host "
                          "GROUP BY c.host ORDER BY c.host")
    assert [r["n"] for r in joined] == [2, 1, 1, 1]


def test_sql_errors_of_the_table_functions(url, db):
    written(url, db, "cpu,host=a usage=1")
    for q, msg in [("SELECT * FROM last_cache('nope')", "provided table name is invalid"),
                   ("SELECT * FROM last_cache(1)", "first argument must be the table name as a string"),
                   ("SELECT * FROM last_cache('cpu')", "could not find cache for the given arguments"),
                   ("SELECT * FROM distinct_cache('cpu', 'x')", "could not find cache for the given arguments")]:
        r = requests.post(url + "/api/v3/query_sql", json={"db": db, "q": q}, timeout=30)
        assert r.status_code == 400 and msg in r.text, (q, r.text)


def test_distinct_cache_query_and_system_tables(url, db):
    now = time.time_ns()
    written(url, db, f"cpu,region=us,host=a usage=1 {now}\ncpu,region=eu,host=b usage=1 {now}\n"
                     f"cpu,region=ca,host=c usage=1 {now}")
    assert post(url, DVC, {"db": db, "table": "cpu", "columns": ["region", "host"]}).status_code == 201
    assert sql(url, db, "SELECT * FROM distinct_cache('cpu')") == [
        {"region": "ca", "host": "c"}, {"region": "eu", "host": "b"}, {"region": "us", "host": "a"}]
    assert post(url, LVC, {"db": db, "table": "cpu", "key_columns": ["host"]}).status_code == 201
    assert post(url, LVC, {"db": db, "table": "cpu", "name": "mem_last_cache", "value_columns": ["usage"],
                           "ttl": 60}).status_code == 201
    assert sql(url, db, "SELECT * FROM system.last_caches ORDER BY name") == [
        {"table": "cpu", "name": "cpu_host_last_cache", "key_column_ids": [1], "key_column_names": ["host"],
         "count": 1, "ttl": 14400},
        {"table": "cpu", "name": "mem_last_cache", "key_column_ids": [0, 1], "key_column_names": ["region", "host"],
         "value_column_ids": [2], "value_column_names": ["usage"], "count": 1, "ttl": 60}]
    assert sql(url, db, "SELECT * FROM system.distinct_caches") == [
        {"table": "cpu", "name": "cpu_region_host_distinct_cache", "column_ids": [0, 1],
         "column_names": ["region", "host"], "max_cardinality": 100000, "max_age_seconds": 86400}]
    counts = sql(url, "_internal", "SELECT table_name, last_cache_count, distinct_cache_count FROM system.tables "
                                   f"WHERE database_name = '{db}'")
    assert counts == [{"table_name": "cpu", "last_cache_count": 2, "distinct_cache_count": 1}]
    # an explicit value list: time comes last
    assert list(sql(url, db, "SELECT * FROM last_cache('cpu', 'mem_last_cache')")[0]) == \
        ["region", "host", "usage", "time"]


def test_deleting_the_table_drops_its_caches(url, db):
    written(url, db, "cpu,host=a usage=1")
    assert post(url, LVC, {"db": db, "table": "cpu"}).status_code == 201
    r = requests.delete(url + "/api/v3/configure/table", params={"db": db, "table": "cpu"}, timeout=30)
    assert r.status_code == 200
    assert sql(url, db, "SELECT * FROM system.last_caches") == []
    written(url, db, "cpu,host=a usage=2")
    assert post(url, LVC, {"db": db, "table": "cpu"}).status_code == 201   # the name is free again


def test_two_nodes_and_a_restart(start_influx3, tmp_path):
    a = start_influx3()
    b = type(a)(a.data_dir, node_id="second-node").start()  # a second `influx3 serve` on the same directory
    try:
        db, now = "twonodes", time.time_ns()
        written(a.url, db, f"cpu,host=a usage=1 {now - 100}\ncpu,host=b usage=2 {now - 100}")
        assert post(a.url, LVC, {"db": db, "table": "cpu"}).status_code == 201
        assert post(a.url, DVC, {"db": db, "table": "cpu", "columns": ["host"]}).status_code == 201
        # node b sees the definitions and answers from the start (filled from what a stored)
        assert [r["usage"] for r in sql(b.url, db, "SELECT usage FROM last_cache('cpu') ORDER BY host")] == [1.0, 2.0]
        # writes on either node reach the caches of both
        written(b.url, db, f"cpu,host=a usage=10 {now}")
        written(a.url, db, f"cpu,host=c usage=30 {now}")
        for srv in (a, b):
            assert [r["usage"] for r in sql(srv.url, db, "SELECT usage FROM last_cache('cpu') ORDER BY host")] \
                == [10.0, 2.0, 30.0]
            assert [r["host"] for r in sql(srv.url, db, "SELECT host FROM distinct_cache('cpu')")] == ["a", "b", "c"]
        # a cache deleted on b is gone on a
        r = requests.delete(b.url + DVC, params={"db": db, "table": "cpu", "name": "cpu_host_distinct_cache"},
                            timeout=30)
        assert r.status_code == 200
        assert sql(a.url, db, "SELECT * FROM system.distinct_caches") == []
        # restart: the definition stays and the first query is already complete
        b.stop()
        a.restart()
        assert [r["usage"] for r in sql(a.url, db, "SELECT usage FROM last_cache('cpu') ORDER BY host")] \
            == [10.0, 2.0, 30.0]
    finally:
        b.kill()


def test_cli_create_and_delete_caches(url, db):
    written(url, db, "cpu,region=us,host=a usage=1")
    r = influx3("create", "last_cache", "--host", url, "-d", db, "-t", "cpu", "--key-columns", "host",
                "--value-columns", "usage", "--count", "3", "--ttl", "2h")
    assert r.returncode == 0, r.stderr
    assert b"cpu_host_last_cache" in r.stdout
    r = influx3("create", "distinct_cache", "--host", url, "-d", db, "-t", "cpu", "--columns", "region,host",
                "--max-age", "1d", "regions")
    assert r.returncode == 0, r.stderr
    rows = sql(url, db, "SELECT name, count, ttl FROM system.last_caches")
    assert rows == [{"name": "cpu_host_last_cache", "count": 3, "ttl": 7200}]
    assert sql(url, db, "SELECT name, max_age_seconds FROM system.distinct_caches") == \
        [{"name": "regions", "max_age_seconds": 86400}]
    r = influx3("create", "distinct_cache", "--host", url, "-d", db, "-t", "cpu", "--columns", "usage")
    assert r.returncode == 1 and b"only tag and string columns" in r.stderr
    r = influx3("delete", "distinct_cache", "--host", url, "-d", db, "-t", "cpu", "regions")
    assert r.returncode == 0, r.stderr
    r = influx3("delete", "distinct_cache", "--host", url, "-d", db, "-t", "cpu", "regions")
    assert r.returncode == 1
    assert sql(url, db, "SELECT * FROM system.distinct_caches") == []


def test_python_client_over_http(url, db):
    from jupyter_influx3.jupyter.client import connect

    written(url, db, "cpu,region=us,host=a usage=1\ncpu,region=eu,host=b usage=2")
    c = connect(url=url, database=db, output="arrow")
    made = c.create_last_cache("cpu", key_columns=["host"], ttl="30m")
    assert made["name"] == "cpu_host_last_cache" and made["ttl"] == 1800
    c.create_distinct_cache("cpu", ["region"], max_cardinality=10)
    listed = c.caches().to_pylist()
    assert [(r["kind"], r["name"]) for r in listed] == [("last", "cpu_host_last_cache"),
                                                        ("distinct", "cpu_region_distinct_cache")]
    assert c.sql("SELECT host, usage FROM last_cache('cpu') ORDER BY host").to_pylist() == \
        [{"host": "a", "usage": 1.0}, {"host": "b", "usage": 2.0}]
    c.delete_last_cache("cpu", "cpu_host_last_cache")
    c.delete_distinct_cache("cpu", "cpu_region_distinct_cache")
    assert c.caches().num_rows == 0


def test_metrics_report_cache_entries_and_memory(url, db):
    written(url, db, "cpu,host=a usage=1\ncpu,host=b usage=2")
    assert post(url, LVC, {"db": db, "table": "cpu"}).status_code == 201
    text = requests.get(url + "/metrics", timeout=30).text
    values = {line.split()[0]: float(line.split()[1]) for line in text.splitlines()
              if line.startswith("influxdb3_cache")}
    assert values['influxdb3_caches{kind="last"}'] >= 1
    assert values['influxdb3_cache_entries{kind="last"}'] >= 2
    assert values['influxdb3_cache_memory_bytes{kind="last"}'] > 0


@pytest.mark.parametrize("fmt", ["json", "jsonl", "csv", "pretty", "parquet"])
def test_cache_answers_encode_like_any_query(url, db, fmt):
    import io

    import pyarrow.parquet as pq

    written(url, db, "cpu,region=us,host=a usage=1,ok=true,n=3i\ncpu,region=eu,host=b usage=2,s=\"x y\"")
    assert post(url, LVC, {"db": db, "table": "cpu"}).status_code == 201

    def body(q):
        r = requests.get(url + "/api/v3/query_sql", params={"db": db, "q": q, "format": fmt}, timeout=30)
        assert r.status_code == 200, r.text
        return r.content

    fast = body("SELECT * FROM last_cache('cpu')")                        # from the cache, encoded inline
    slow = body("SELECT * FROM (SELECT * FROM last_cache('cpu')) AS c")   # through DuckDB and the pool
    if fmt == "parquet":
        fast_t, slow_t = pq.read_table(io.BytesIO(fast)), pq.read_table(io.BytesIO(slow))
        assert fast_t.schema.equals(slow_t.schema)
        assert sorted(map(str, fast_t.to_pylist())) == sorted(map(str, slow_t.to_pylist()))
    else:
        assert sorted(fast.splitlines()) == sorted(slow.splitlines())
