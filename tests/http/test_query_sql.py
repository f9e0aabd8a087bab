"""``/api/v3/query_sql`` against a real server (behaviour reference §2.1-§2.3, Q1-Q6, Q37-Q41, C7, C8)."""

from __future__ import annotations

import json

import pytest
import requests

from http_helpers import write_v3, written

# 2998574936 s = 2065-01-07T17:28:56
CPU = "\n".join([
    "cpu,host=s1,region=us-east usage=0.9 2998574936",
    "cpu,host=b,region=us-east usage=0.5 2998574937",
    "cpu,host=b,region=us-east usage=0.7 2998574938",
    "cpu,host=b,region=us-east usage=0.8 2998574939",
])


@pytest.fixture(scope="module")
def cpu_db(server):
    return written(server.url, "query_cpu", CPU, precision="second")


def get(url, **params):
    return requests.get(f"{url}/api/v3/query_sql", params=params, timeout=30)


def post(url, body, **kw):
    return requests.post(f"{url}/api/v3/query_sql", json=body, timeout=30, **kw)


# ---- results ------------------------------------------------------------------------------------


def test_q1_pretty_table(url, cpu_db):
    r = get(url, db=cpu_db, q="SELECT host, region, time, usage FROM cpu ORDER BY time", format="pretty")
    assert r.status_code == 200, r.text
    assert r.headers["Content-Type"] == "text/plain; charset=utf-8"
    assert r.text == (
        "+------+---------+---------------------+-------+\n"
        "| host | region  | time                | usage |\n"
        "+------+---------+---------------------+-------+\n"
        "| s1   | us-east | 2065-01-07T17:28:56 | 0.9   |\n"
        "| b    | us-east | 2065-01-07T17:28:57 | 0.5   |\n"
        "| b    | us-east | 2065-01-07T17:28:58 | 0.7   |\n"
        "| b    | us-east | 2065-01-07T17:28:59 | 0.8   |\n"
        "+------+---------+---------------------+-------+"
    )


def test_q2_aggregate_column_is_named_like_datafusion(url, cpu_db):
    r = get(url, db=cpu_db, q="SELECT count(usage) FROM cpu", format="pretty")
    assert r.status_code == 200, r.text
    assert r.text == (
        "+------------------+\n"
        "| count(cpu.usage) |\n"
        "+------------------+\n"
        "| 4                |\n"
        "+------------------+"
    )


def test_q3_unknown_database_is_404_json(url):
    for r in (get(url, db="nosuchdb", q="SELECT 1"), post(url, {"db": "nosuchdb", "q": "SELECT 1"})):
        assert r.status_code == 404
        assert r.json() == {"error": "query error: database not found: nosuchdb"}


@pytest.mark.parametrize("q", ["SHOW MEASUREMENTS", "SELEC * FROM cpu", "SELECT * cpu", "SELECT count( FROM cpu"])
def test_q4_bad_sql_is_4xx(url, cpu_db, q):
    r = get(url, db=cpu_db, q=q)
    assert 400 <= r.status_code < 500, (r.status_code, r.text)


def test_unknown_table_is_400_planning_error(url, cpu_db):
    r = get(url, db=cpu_db, q="SELECT * FROM nosuchtable")
    assert r.status_code == 400
    assert "table 'public.iox.nosuchtable' not found" in r.text


def test_q5_params_in_a_post_body_and_in_a_get_query_string(url, cpu_db):
    q = "SELECT * FROM cpu WHERE host = $host AND usage > $usage ORDER BY time"
    expected = (
        "+------+---------+---------------------+-------+\n"
        "| host | region  | time                | usage |\n"
        "+------+---------+---------------------+-------+\n"
        "| b    | us-east | 2065-01-07T17:28:58 | 0.7   |\n"
        "| b    | us-east | 2065-01-07T17:28:59 | 0.8   |\n"
        "+------+---------+---------------------+-------+"
    )
    r = post(url, {"db": cpu_db, "q": q, "params": {"host": "b", "usage": 0.60}, "format": "pretty"})
    assert (r.status_code, r.text) == (200, expected)
    r = get(url, db=cpu_db, q=q, params=json.dumps({"host": "b", "usage": 0.60}), format="pretty")
    assert (r.status_code, r.text) == (200, expected)


def test_q6_missing_placeholder_value(url, cpu_db):
    r = post(url, {"db": cpu_db, "q": "SELECT * FROM cpu WHERE host = $host", "params": {"not_host": "a"}})
    assert 400 <= r.status_code < 500
    assert "No value found for placeholder with name $host" in r.text


def test_q37_missing_tags_and_fields_are_blank_cells(url, db):
    lines = "cpu,host=a,region=us usage=1,idle=2 1\ncpu,host=b usage=3 2\ncpu,region=eu idle=4 3"
    assert write_v3(url, db, lines, precision="second").status_code == 204
    r = get(url, db=db, q="SELECT * FROM cpu ORDER BY time", format="pretty")
    assert r.text == (
        "+------+------+--------+---------------------+-------+\n"
        "| host | idle | region | time                | usage |\n"
        "+------+------+--------+---------------------+-------+\n"
        "| a    | 2.0  | us     | 1970-01-01T00:00:01 | 1.0   |\n"
        "| b    |      |        | 1970-01-01T00:00:02 | 3.0   |\n"
        "|      | 4.0  | eu     | 1970-01-01T00:00:03 |       |\n"
        "+------+------+--------+---------------------+-------+"
    )
    r = get(url, db=db, q="SELECT * FROM cpu ORDER BY time", format="json")
    assert r.json() == [
        {"host": "a", "idle": 2.0, "region": "us", "time": "1970-01-01T00:00:01", "usage": 1.0},
        {"host": "b", "time": "1970-01-01T00:00:02", "usage": 3.0},
        {"idle": 4.0, "region": "eu", "time": "1970-01-01T00:00:03"},
    ]


BROWSER_ACCEPT = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"


def test_q38_browser_accept_header_with_format(url, cpu_db):
    r = get(url, db=cpu_db, q="SELECT host FROM cpu ORDER BY time LIMIT 1", format="pretty")
    r2 = requests.get(f"{url}/api/v3/query_sql", headers={"Accept": BROWSER_ACCEPT}, timeout=30,
                      params={"db": cpu_db, "q": "SELECT host FROM cpu ORDER BY time LIMIT 1", "format": "pretty"})
    assert (r2.status_code, r2.text) == (200, r.text)
    r3 = requests.get(f"{url}/api/v3/query_sql", headers={"Accept": BROWSER_ACCEPT}, timeout=30,
                      params={"db": cpu_db, "q": "SELECT host FROM cpu ORDER BY time LIMIT 1"})
    assert (r3.status_code, r3.headers["Content-Type"], r3.text) == (200, "application/json", '[{"host":"s1"}]')


@pytest.mark.parametrize("accept, content_type", [
    ("application/vnd.apache.parquet", "application/vnd.apache.parquet"),
    ("text/csv", "text/csv"),
    ("text/plain", "text/plain; charset=utf-8"),
    ("application/json", "application/json"),
    ("*/*", "application/json"),
])
def test_accept_header_picks_the_format_when_none_is_given(url, cpu_db, accept, content_type):
    r = requests.get(f"{url}/api/v3/query_sql", params={"db": cpu_db, "q": "SELECT host FROM cpu"},
                     headers={"Accept": accept}, timeout=30)
    assert (r.status_code, r.headers["Content-Type"]) == (200, content_type)


def test_format_wins_over_a_valid_accept_header(url, cpu_db):
    r = requests.get(f"{url}/api/v3/query_sql", params={"db": cpu_db, "q": "SELECT host FROM cpu", "format": "csv"},
                     headers={"Accept": "application/json"}, timeout=30)
    assert r.headers["Content-Type"] == "text/csv"


def test_q39_show_tables_lists_user_tables_first(url, db):
    for table in ("zeta", "alpha"):
        r = requests.post(f"{url}/api/v3/configure/table", timeout=30,
                          json={"db": db, "table": table, "tags": ["t"], "fields": [{"name": "f", "type": "float64"}]})
        assert r.status_code == 200
    r = get(url, db=db, q="SHOW TABLES", format="json")
    assert r.status_code == 200, r.text
    rows = r.json()
    assert list(rows[0]) == ["table_catalog", "table_schema", "table_name", "table_type"]
    assert rows[:2] == [
        {"table_catalog": "public", "table_schema": "iox", "table_name": "alpha", "table_type": "BASE TABLE"},
        {"table_catalog": "public", "table_schema": "iox", "table_name": "zeta", "table_type": "BASE TABLE"},
    ]
    schemas = [row["table_schema"] for row in rows]
    assert schemas == sorted(schemas, key=["iox", "system", "information_schema"].index)
    assert {row["table_type"] for row in rows if row["table_schema"] == "information_schema"} == {"VIEW"}


def test_c7_created_table_is_empty_then_has_the_written_row(url, db):
    fields = [{"name": n, "type": t} for n, t in
              [("field1", "uint64"), ("field2", "int64"), ("field3", "float64"), ("field4", "utf8"), ("field5", "bool")]]
    r = requests.post(f"{url}/api/v3/configure/table", timeout=30,
                      json={"db": db, "table": "bar", "tags": ["tag1", "tag2"], "fields": fields})
    assert r.status_code == 200
    assert get(url, db=db, q="SELECT * FROM bar").text == "[]"
    line = 'bar,tag1=1,tag2=2 field1=1u,field2=2i,field3=3,field4="4",field5=true 2998574938'
    assert write_v3(url, db, line, precision="second").status_code == 204
    assert get(url, db=db, q="SELECT * FROM bar").text == (
        '[{"field1":1,"field2":2,"field3":3.0,"field4":"4","field5":true,"tag1":"1","tag2":"2",'
        '"time":"2065-01-07T17:28:58"}]'
    )


def test_c8_table_without_fields_takes_new_fields_from_writes(url, db):
    r = requests.post(f"{url}/api/v3/configure/table", timeout=30,
                      json={"db": db, "table": "bar", "tags": ["one", "two"], "fields": []})
    assert r.status_code == 200
    assert write_v3(url, db, "bar,one=1,two=2 new_field=0 1", precision="second").status_code == 204
    assert get(url, db=db, q="SELECT new_field FROM bar").text == '[{"new_field":0.0}]'


def test_params_of_every_scalar_type(url, cpu_db):
    r = post(url, {"db": cpu_db, "q": "SELECT $s AS s, $i AS i, $f AS f, $b AS b",
                   "params": {"s": "x", "i": -3, "f": 0.5, "b": True}})
    assert r.status_code == 200, r.text
    assert r.json() == [{"s": "x", "i": -3, "f": 0.5, "b": True}]


def test_post_ignores_the_content_type(url, cpu_db):
    body = json.dumps({"db": cpu_db, "q": "SELECT count(*) AS n FROM cpu"}).encode()
    for content_type in (None, "text/plain", "application/x-www-form-urlencoded"):
        headers = {"Content-Type": content_type} if content_type else {}
        r = requests.post(f"{url}/api/v3/query_sql", data=body, headers=headers, timeout=30)
        assert (r.status_code, r.text) == (200, '[{"n":4}]')


def test_answers_carry_cluster_uuid_and_no_wildcard_origin(url, cpu_db):
    r = get(url, db=cpu_db, q="SELECT 1 AS one")
    assert r.headers["cluster-uuid"] and "Access-Control-Allow-Origin" not in r.headers  # issue 10


# ---- telemetry -----------------------------------------------------------------------------------


def test_telemetry_of_the_last_query_and_of_a_given_one(url, cpu_db):
    assert get(url, db=cpu_db, q="SELECT * FROM cpu").status_code == 200
    r = requests.get(f"{url}/api/v3/query_sql_telemetry", timeout=30)
    assert r.status_code == 200
    assert r.headers["Content-Type"] == "application/json"
    assert isinstance(r.json(), dict)
    r = requests.post(f"{url}/api/v3/query_sql_telemetry", json={"db": cpu_db, "q": "SELECT * FROM cpu"}, timeout=30)
    assert r.status_code == 200 and isinstance(r.json(), dict)
    r = requests.get(f"{url}/api/v3/query_sql_telemetry", params={"db": "nosuchdb", "q": "SELECT 1"}, timeout=30)
    assert r.status_code == 404


# ---- clients --------------------------------------------------------------------------------------


def test_influxdb3_python_client_query(url, cpu_db):
    """`InfluxDBClient3.query()` speaks Arrow Flight (gRPC), served on the HTTP port; it answers
    what /api/v3/query_sql answers."""
    from influxdb_client_3 import InfluxDBClient3

    q = "SELECT * FROM cpu ORDER BY time"
    with InfluxDBClient3(host=url, token="unused", database=cpu_db) as client:
        table = client.query(q)
    over_http = get(url, db=cpu_db, q=q, format="json").json()
    assert table.num_rows == len(over_http) > 0
    assert [r["usage"] for r in table.to_pylist()] == [r["usage"] for r in over_http]
