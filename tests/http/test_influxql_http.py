"""InfluxQL over HTTP on a real ``influx3 serve``: ``/query`` (1.x API: JSON, pretty, chunked,
CSV, epoch, bind parameters, form and raw bodies, statement errors, CREATE/DROP DATABASE, SHOW),
``/api/v3/query_influxql`` in its five formats, authorization, Grafana's query shapes and the
``influxdb`` Python client's ``InfluxDBClient.query()``."""

from __future__ import annotations

import io
import time
import json
from urllib.parse import urlparse

import pyarrow.parquet as pq
import pytest
import requests

from http_helpers import bearer, create_admin, db_perm, resource_token, write_v3, written

T0 = 1672531200  # 2023-01-01T00:00:00Z
LP = "\n".join(
    [f"cpu,host=a,region=east usage={10 + i},n={i}i {T0 + i * 10}" for i in range(6)]
    + [f"cpu,host=b,region=west usage={20.5 + i} {T0 + i * 10}" for i in range(6)]
    + [f"mem,host=a used={100 * (i + 1)}i {T0 + i * 30}" for i in range(3)]
)


@pytest.fixture
def data(url, db):
    return written(url, db, LP, precision="second")


def query(url, params=None, method="GET", **kw):
    return requests.request(method, f"{url}/query", params=params, timeout=60, **kw)


# ---- /query: JSON ----------------------------------------------------------------------------


def test_select_rfc3339_and_epoch(url, data):
    r = query(url, {"db": data, "q": "SELECT usage FROM cpu WHERE host = 'a' LIMIT 2"})
    assert r.status_code == 200 and r.headers["Content-Type"].startswith("application/json")
    assert r.json() == {"results": [{"statement_id": 0, "series": [
        {"name": "cpu", "columns": ["time", "usage"],
         "values": [["2023-01-01T00:00:00Z", 10], ["2023-01-01T00:00:10Z", 11]]}]}]}
    r = query(url, {"db": data, "q": "SELECT usage FROM cpu WHERE host = 'a' LIMIT 2", "epoch": "ms"})
    assert r.json()["results"][0]["series"][0]["values"] == [[T0 * 1000, 10], [T0 * 1000 + 10_000, 11]]


def test_aggregate_group_by_time_and_tag(url, data):
    q = f"SELECT mean(usage) FROM cpu WHERE time >= {T0}s AND time < {T0 + 60}s GROUP BY time(30s), host"
    body = query(url, {"db": data, "q": q, "epoch": "s"}).json()
    series = body["results"][0]["series"]
    assert [s["tags"] for s in series] == [{"host": "a"}, {"host": "b"}]
    assert series[0]["values"] == [[T0, 11], [T0 + 30, 14]]
    assert series[1]["values"] == [[T0, 21.5], [T0 + 30, 24.5]]


def test_multiple_statements_and_statement_errors_in_a_200(url, data):
    q = "SELECT count(usage) FROM cpu; SELECT nope(usage) FROM cpu; SELECT count(used) FROM mem"
    r = query(url, {"db": data, "q": q})
    assert r.status_code == 200
    res = r.json()["results"]
    assert [x["statement_id"] for x in res] == [0, 1, 2]
    assert res[0]["series"][0]["values"] == [["1970-01-01T00:00:00Z", 12]]
    assert res[1] == {"statement_id": 1, "error": "undefined function nope()"}
    assert res[2]["series"][0]["values"] == [["1970-01-01T00:00:00Z", 3]]


def test_parse_error_and_missing_query(url, data):
    r = query(url, {"db": data, "q": "SELEC usage FROM cpu"})
    assert r.status_code == 400
    assert r.json()["error"].startswith("error parsing query: found SELEC, expected SELECT")
    r = query(url, {"db": data})
    assert r.status_code == 400
    assert r.json() == {"error": "expected a query to be provided in the query string or body"}


def test_unknown_database_is_a_statement_error(url):
    r = query(url, {"db": "no_such_db_here", "q": "SELECT * FROM cpu"})
    assert r.status_code == 200
    assert r.json() == {"results": [{"statement_id": 0,
                                     "error": "Cannot retrieve database: External error: database not found: "
                                              "no_such_db_here"}]}


def test_post_form_raw_body_and_bind_parameters(url, data):
    q = "SELECT usage FROM cpu WHERE host = $h AND usage > $u"
    form = query(url, method="POST", data={"db": data, "q": q, "params": json.dumps({"h": "b", "u": 24}),
                                           "epoch": "s"}).json()
    assert form["results"][0]["series"][0]["values"] == [[T0 + 40, 24.5], [T0 + 50, 25.5]]
    raw = query(url, {"db": data, "epoch": "s"}, method="POST", data="SELECT count(usage) FROM cpu",
                headers={"Content-Type": "application/vnd.influxql"}).json()
    assert raw["results"][0]["series"][0]["values"] == [[0, 12]]
    # the body's db wins over the URL's
    both = query(url, {"db": "not_this_one", "q": "SELECT count(used) FROM mem"}, method="POST",
                 data={"db": data}).json()
    assert both["results"][0]["series"][0]["values"] == [["1970-01-01T00:00:00Z", 3]]


def test_pretty(url, data):
    r = query(url, {"db": data, "q": "SELECT count(used) FROM mem", "pretty": "true"})
    assert r.text.startswith('{\n    "results": [\n')
    assert json.loads(r.text)["results"][0]["series"][0]["values"] == [["1970-01-01T00:00:00Z", 3]]


def test_chunked_documents_each_end_with_a_newline(url, data):
    r = query(url, {"db": data, "q": "SELECT usage FROM cpu GROUP BY host", "chunked": "true", "chunk_size": "4",
                    "epoch": "s"})
    assert r.status_code == 200
    lines = r.text.split("\n")
    assert lines[-1] == ""
    docs = [json.loads(x) for x in lines[:-1]]
    shape = [(d["results"][0]["series"][0]["tags"]["host"], len(d["results"][0]["series"][0]["values"]),
              d["results"][0].get("partial", False), d["results"][0]["series"][0].get("partial", False))
             for d in docs]
    assert shape == [("a", 4, True, True), ("a", 2, True, False), ("b", 4, True, True), ("b", 2, False, False)]


def test_csv(url, data):
    for accept in ("application/csv", "text/csv"):
        r = query(url, {"db": data, "q": "SELECT used FROM mem; SELECT count(usage) FROM cpu GROUP BY host"},
                  headers={"Accept": accept})
        assert r.status_code == 200 and r.headers["Content-Type"] == "application/csv"
        assert r.text == ("name,tags,time,used\n"
                          f"mem,,{T0}000000000,100\nmem,,{T0 + 30}000000000,200\nmem,,{T0 + 60}000000000,300\n"
                          "\nname,tags,time,count\ncpu,host=a,0,6\ncpu,host=b,0,6\n")


def test_create_and_drop_database_on_query(url, db):
    assert query(url, {"q": f"CREATE DATABASE {db}"}, method="POST").json() == {"results": [{"statement_id": 0}]}
    names = [v[0] for v in query(url, {"q": "SHOW DATABASES"}).json()["results"][0]["series"][0]["values"]]
    assert db in names
    assert query(url, {"q": f"DROP DATABASE {db}"}, method="POST").json() == {"results": [{"statement_id": 0}]}
    names = [v[0] for v in query(url, {"q": "SHOW DATABASES"}).json()["results"][0]["series"][0]["values"]]
    assert db not in names


def test_show_statements(url, data):
    def one(q):
        return query(url, {"db": data, "q": q}).json()["results"][0]["series"]

    assert one("SHOW MEASUREMENTS") == [{"name": "measurements", "columns": ["name"], "values": [["cpu"], ["mem"]]}]
    assert one("SHOW TAG KEYS FROM cpu") == [{"name": "cpu", "columns": ["tagKey"], "values": [["host"], ["region"]]}]
    assert one("SHOW TAG VALUES WITH KEY = host") == [
        {"name": "cpu", "columns": ["key", "value"], "values": [["host", "a"], ["host", "b"]]},
        {"name": "mem", "columns": ["key", "value"], "values": [["host", "a"]]}]
    assert one("SHOW FIELD KEYS FROM cpu") == [
        {"name": "cpu", "columns": ["fieldKey", "fieldType"], "values": [["n", "integer"], ["usage", "float"]]}]
    assert one("SHOW SERIES FROM cpu") == [
        {"columns": ["key"], "values": [["cpu,host=a,region=east"], ["cpu,host=b,region=west"]]}]
    assert one("SHOW RETENTION POLICIES") == [
        {"columns": ["name", "duration", "shardGroupDuration", "replicaN", "default"],
         "values": [["autogen", "0s", "168h0m0s", 1, True]]}]


# ---- /api/v3/query_influxql ------------------------------------------------------------------


def v3(url, **params):
    return requests.get(f"{url}/api/v3/query_influxql", params=params, timeout=60)


def test_v3_formats(url, data):
    q = "SELECT usage, host FROM cpu WHERE time < '2023-01-01T00:00:10Z'"
    body = v3(url, db=data, q=q, format="json").json()
    assert body == [{"iox::measurement": "cpu", "time": "2023-01-01T00:00:00", "usage": 10.0, "host": "a"},
                    {"iox::measurement": "cpu", "time": "2023-01-01T00:00:00", "usage": 20.5, "host": "b"}]
    lines = v3(url, db=data, q=q, format="jsonl").text.strip().split("\n")
    assert [json.loads(x)["host"] for x in lines] == ["a", "b"]
    assert v3(url, db=data, q=q, format="csv").text == (
        "iox::measurement,time,usage,host\ncpu,2023-01-01T00:00:00,10.0,a\ncpu,2023-01-01T00:00:00,20.5,b\n")
    pretty = v3(url, db=data, q=q, format="pretty").text
    assert pretty.splitlines()[1] == "| iox::measurement | time                | usage | host |"
    table = pq.read_table(io.BytesIO(v3(url, db=data, q=q, format="parquet").content))
    assert table.column_names == ["iox::measurement", "time", "usage", "host"] and table.num_rows == 2


def test_v3_group_by_and_show(url, data):
    body = v3(url, db=data, q="SELECT max(usage) FROM cpu GROUP BY host", format="json").json()
    # a selector reports its point's time
    assert body == [{"iox::measurement": "cpu", "time": "2023-01-01T00:00:50", "host": "a", "max": 15.0},
                    {"iox::measurement": "cpu", "time": "2023-01-01T00:00:50", "host": "b", "max": 25.5}]
    body = v3(url, db=data, q="SHOW MEASUREMENTS", format="json").json()
    assert body == [{"iox::measurement": "measurements", "name": "cpu"},
                    {"iox::measurement": "measurements", "name": "mem"}]


def test_v3_errors(url, data):
    r = v3(url, db=data, q="SHOW MEASUREMENTS; SHOW MEASUREMENTS")
    assert r.status_code == 400 and r.text == "must provide only one InfluxQl statement per query"
    r = v3(url, q="SELECT usage FROM cpu")
    assert r.status_code == 400
    assert r.text == "must specify a 'db' parameter, or provide the database in the InfluxQL query"
    r = v3(url, db="nope_nope", q="SELECT usage FROM cpu")
    assert r.status_code == 404 and r.json() == {"error": "query error: database not found: nope_nope"}
    r = v3(url, db=data, q="SELEC x")
    assert r.status_code == 400 and r.text.startswith("error in InfluxQL statement: parsing error:")
    r = v3(url, db=data, q="SELECT usage FROM other.autogen.cpu")
    assert r.status_code == 400 and "do not match" in r.text
    ok = v3(url, q=f"SELECT count(usage) FROM {data}.autogen.cpu", format="json")
    assert ok.status_code == 200 and ok.json()[0]["count"] == 12


# ---- the influxdb client -----------------------------------------------------------------------


def test_influxdb_client_query(url, data):
    from influxdb import InfluxDBClient

    where = urlparse(url)
    client = InfluxDBClient(host=where.hostname, port=where.port, database=data)
    try:
        rs = client.query("SELECT usage FROM cpu WHERE host = 'b' LIMIT 2")
        assert list(rs.get_points()) == [{"time": "2023-01-01T00:00:00Z", "usage": 20.5},
                                         {"time": "2023-01-01T00:00:10Z", "usage": 21.5}]
        rs = client.query("SELECT count(usage) FROM cpu GROUP BY host", epoch="s")
        assert list(rs.get_points(tags={"host": "a"})) == [{"time": 0, "count": 6}]
        rs = client.query("SELECT usage FROM cpu WHERE host = $h AND usage >= $u", bind_params={"h": "a", "u": 14},
                          epoch="s")
        assert [p["usage"] for p in rs.get_points()] == [14, 15]
        chunks = list(client.query("SELECT usage FROM cpu", chunked=True, chunk_size=5))
        # the client merges each statement's chunks into one ResultSet per document
        points = [p for rs in chunks for p in rs.get_points()]
        assert len(points) == 12
        rs = client.query("SHOW MEASUREMENTS")
        assert [p["name"] for p in rs.get_points()] == ["cpu", "mem"]
        assert {d["name"] for d in client.get_list_database()} >= {data}
    finally:
        client.close()


# ---- Grafana's InfluxQL data source ----------------------------------------------------------


def test_grafana_query_shapes(url, data):
    def grafana(q):
        # Grafana posts a form with epoch=ms
        r = query(url, method="POST", data={"db": data, "q": q, "epoch": "ms"})
        assert r.status_code == 200, r.text
        return r.json()["results"]

    start, end = T0 * 1000, (T0 + 60) * 1000
    res = grafana(f'SELECT mean("usage") FROM "cpu" WHERE ("host" =~ /^a$/) AND time >= {start}ms and '
                  f'time <= {end}ms GROUP BY time(20s), "host" fill(null)')
    s = res[0]["series"][0]
    assert s["tags"] == {"host": "a"} and s["columns"] == ["time", "mean"]
    assert s["values"] == [[start, 10.5], [start + 20_000, 12.5], [start + 40_000, 14.5], [start + 60_000, None]]
    res = grafana(f'SELECT "used" FROM "autogen"."mem" WHERE time >= {start}ms and time <= {end}ms')
    assert res[0]["series"][0]["values"] == [[start, 100], [start + 30_000, 200], [start + 60_000, 300]]
    res = grafana('SHOW TAG VALUES FROM "cpu" WITH KEY = "host"')
    assert res[0]["series"][0]["values"] == [["host", "a"], ["host", "b"]]
    res = grafana("SHOW MEASUREMENTS LIMIT 100")
    assert res[0]["series"][0]["values"] == [["cpu"], ["mem"]]
    res = grafana('SHOW FIELD KEYS FROM "cpu"')
    assert res[0]["series"][0]["values"] == [["n", "integer"], ["usage", "float"]]
    res = grafana("SHOW TAG KEYS")
    assert [s["name"] for s in res[0]["series"]] == ["cpu", "mem"]
    res = grafana(f'SHOW RETENTION POLICIES on "{data}"')
    assert res[0]["series"][0]["values"][0][0] == "autogen"
    res = grafana(f'SELECT non_negative_derivative(mean("n"), 10s) FROM "cpu" WHERE time >= {start}ms and '
                  f'time <= {end}ms GROUP BY time(10s) fill(none)')
    assert res[0]["series"][0]["values"][:2] == [[start + 10_000, 1], [start + 20_000, 1]]


def test_grafana_dashboard_query_relative_to_now(url, db):
    import time

    now_s = int(time.time())
    base = now_s - now_s % 60 - 3600  # a minute boundary an hour ago
    lines = [f"m,host={h} v={i + (10 if h == 'b' else 0)} {base + i * 60}" for h in "ab" for i in range(3)]
    assert write_v3(url, db, "\n".join(lines), precision="second").status_code == 204
    r = query(url, method="POST", data={"db": db, "epoch": "ms",
                                         "q": 'SELECT mean("v") FROM "m" WHERE time >= now() - 6h GROUP BY time(1m), '
                                              '"host" fill(null)'})
    series = r.json()["results"][0]["series"]
    assert [s["tags"] for s in series] == [{"host": "a"}, {"host": "b"}]
    for s, offset in zip(series, (0, 10)):
        assert s["columns"] == ["time", "mean"]
        assert len(s["values"]) in (360, 361)  # every minute of the last 6 hours, filled with null
        points = {t: v for t, v in s["values"] if v is not None}
        assert points == {(base + i * 60) * 1000: i + offset for i in range(3)}
        assert all(t % 60_000 == 0 for t, _ in s["values"])


# ---- authorization -----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def secured(start_influx3_session):
    srv = start_influx3_session(auth=True)
    u = srv.url
    admin = create_admin(u)
    h = bearer(admin)
    for name in ("iq_one", "iq_two"):
        r = requests.post(f"{u}/api/v3/write_lp", params={"db": name}, data="cpu,host=a v=1 1", headers=h, timeout=30)
        assert r.status_code == 204

    read_one = resource_token(u, admin, [db_perm(["iq_one"], "read")], name="iq-iq_one-read")
    return {"url": u, "admin": admin, "read_one": read_one}


def test_authorization(secured):
    u = secured["url"]
    bearer = {"Authorization": f"Bearer {secured['read_one']}"}
    assert requests.get(f"{u}/query", params={"db": "iq_one", "q": "SELECT v FROM cpu"}, timeout=30).status_code == 401
    ok = requests.get(f"{u}/query", params={"db": "iq_one", "q": "SELECT v FROM cpu"}, headers=bearer, timeout=30)
    assert ok.status_code == 200 and [v[1] for v in ok.json()["results"][0]["series"][0]["values"]] == [1]
    by_p = requests.get(f"{u}/query", params={"db": "iq_one", "q": "SELECT v FROM cpu", "p": secured["read_one"]},
                        timeout=30)
    assert by_p.status_code == 200
    for params in ({"db": "iq_two", "q": "SELECT v FROM cpu"},
                   {"db": "iq_one", "q": "SELECT v FROM iq_two.autogen.cpu"},
                   {"q": "SHOW DATABASES"},
                   {"q": "CREATE DATABASE iq_three"}):
        r = requests.get(f"{u}/query", params=params, headers=bearer, timeout=30)
        assert r.status_code == 403, (params, r.text)
    r = requests.get(f"{u}/api/v3/query_influxql", params={"q": "SELECT v FROM iq_two.autogen.cpu"}, headers=bearer,
                     timeout=30)
    assert r.status_code == 403
    admin = {"Authorization": f"Bearer {secured['admin']}"}
    r = requests.post(f"{u}/query", params={"q": "CREATE DATABASE iq_three"}, headers=admin, timeout=30)
    assert r.status_code == 200 and r.json() == {"results": [{"statement_id": 0}]}


def test_series_cache_off_gives_the_same_answers(url, start_influx3):
    """`serve --series-cache-mb 0` reads every query through DuckDB; the answers do not change."""
    off = start_influx3("--without-auth", "--series-cache-mb", "0")
    body = "\n".join(f"cpu,host=h{i % 4},dc=d{i % 2} v={i * 1.5},n={i % 7}i {1_700_000_000 + i}" for i in range(200))
    queries = ["SELECT max(v), count(n) FROM cpu WHERE host = 'h1' AND time < 1700000300s GROUP BY time(20s)",
               "SELECT * FROM cpu WHERE host =~ /h[23]/ AND n > 3 AND time >= 1700000050s",
               "SELECT last(*) FROM cpu GROUP BY host"]
    answers = []
    for base in (url, off.url):
        written(base, "cachecmp", body, precision="second")
        answers.append([requests.get(f"{base}/query", params={"db": "cachecmp", "q": q, "epoch": "s"}).json()
                        for q in queries])
    assert answers[0] == answers[1]
    assert all(a["results"][0]["series"] for a in answers[0])


def test_a_query_runs_on_the_ioloop_only_after_a_quick_run():
    from jupyter_influx3.http import base

    key = ("json", "SELECT 1 -- test", "db", None, None)
    assert not base.runs_inline(key)                     # never seen: the worker pool
    base._remember_cost(key, base.INLINE_MS / 4)
    assert base.runs_inline(key)
    base._remember_cost(key, base.INLINE_MS * 4)          # turned slow: back to the pool
    assert not base.runs_inline(key)


def test_a_run_that_built_a_cache_is_costed_without_the_build():
    """The first run of a text that built the series copy (a second, once) must not send its next
    runs to the pool: the cost remembered is the run's own."""
    from jupyter_influx3.engine import onetime
    from jupyter_influx3.http import base

    def first_run():
        with onetime.counted():
            time.sleep(0.05)          # the build
        return "answer"

    took: list = []
    assert base.own_cost(first_run, took) == "answer"
    assert len(took) == 1 and 0 <= took[0] < base.INLINE_MS
    took.clear()
    base.own_cost(lambda: time.sleep(0.05), took)   # slow on its own: counted in full
    assert took[0] >= 50


def test_v3_one_point_stddev_is_null_in_every_format(url, db):
    """InfluxDB 3 answers null for the stddev of a one-point group (1.x's NaN, which /query shows as
    null too): JSON and CSV of /api/v3/query_influxql say the same."""
    assert write_v3(url, db, "m,t=a v=1 1\nm,t=a v=3 2\nm,t=b v=5 3").status_code == 204
    q = {"db": db, "q": "SELECT stddev(v) FROM m GROUP BY t"}
    as_json = requests.get(f"{url}/api/v3/query_influxql", params={**q, "format": "json"}, timeout=30).json()
    # JSON leaves a null out of its row, as InfluxDB 3 does
    assert [(r["t"], r.get("stddev")) for r in as_json] == [("a", pytest.approx(2 ** 0.5)), ("b", None)]
    as_csv = requests.get(f"{url}/api/v3/query_influxql", params={**q, "format": "csv"}, timeout=30).text
    assert "NaN" not in as_csv
    assert as_csv.splitlines()[-1].endswith(",b,")
    v1 = requests.get(f"{url}/query", params=q, timeout=30).json()
    assert v1["results"][0]["series"][1]["values"][0][1] is None
