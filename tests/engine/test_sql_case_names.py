"""SQL over tables whose column names differ only in case (``host`` and ``Host``, a field ``Time``
beside ``time``): answers are InfluxDB 3's (a quoted name is exact, an unquoted one is lower-cased),
over buffered rows and Parquet alike, and a reference that could name two columns is an error
(engine/sql/casenames.py). Real engines, real DuckDB."""

from __future__ import annotations

import datetime as dt

import pytest
import requests

from jupyter_influx3.engine import errors
from jupyter_influx3.engine.sql.runner import service_for

S = 10**9
LP = "\n".join([
    f"cpu,host=a,Host=b v=1,V=2,Time=3 {1 * S}",
    f"cpu,host=a v=5 {2 * S}",
    f"cpu,host=c,Host=b v=7,V=8 {3 * S}",
])
MEM = f"mem,host=a used=10 {1 * S}\nmem,host=c used=20 {3 * S}"


def t(seconds: int) -> dt.datetime:
    return dt.datetime(1970, 1, 1) + dt.timedelta(seconds=seconds)


def sql(engine, query: str, params=None) -> list[dict]:
    return engine.sql("db", query, params).to_pylist()


def fails(engine, query: str) -> errors.QueryError:
    with pytest.raises(errors.QueryError) as e:
        engine.sql("db", query).to_pylist()
    return e.value


@pytest.fixture(params=["buffered", "parquet"])
def cpu(request, engine):
    """The engine with LP and MEM written, still buffered or snapshotted to Parquet."""
    engine.write_lp("db", LP, "ns")
    engine.write_lp("db", MEM, "ns")
    if request.param == "parquet":
        engine.snapshot()
    return engine


def test_select_star_shows_every_column_under_its_exact_name_in_the_table_order(cpu):
    for query in ("SELECT * FROM cpu ORDER BY time", "SELECT c.* FROM cpu AS c ORDER BY time"):
        got = cpu.sql("db", query)
        assert got.schema.names == ["Host", "Time", "V", "host", "time", "v"]
        assert [tuple(r.values()) for r in got.to_pylist()] == [
            ("b", 3.0, 2.0, "a", t(1), 1.0), (None, None, None, "a", t(2), 5.0), ("b", None, 8.0, "c", t(3), 7.0)]


def test_a_quoted_name_is_exact_and_an_unquoted_one_reads_the_lower_case_column(cpu):
    got = sql(cpu, 'SELECT "Host", HOST AS h, "V", V AS lower_v, "Time", TIME AS tm FROM cpu ORDER BY time')
    assert got[0] == {"Host": "b", "h": "a", "V": 2.0, "lower_v": 1.0, "Time": 3.0, "tm": t(1)}
    assert list(got[1].values()) == [None, "a", None, 5.0, None, t(2)]


def test_where_group_by_order_by_and_aggregates_tell_the_columns_apart(cpu):
    got = sql(cpu, """SELECT "Host", count(*) AS n, sum(v) AS sv, sum("V") AS "sV" FROM cpu
                      WHERE host = 'a' OR "V" > 7 GROUP BY "Host" ORDER BY "Host" NULLS LAST""")
    assert got == [{"Host": "b", "n": 2, "sv": 8.0, "sV": 10.0}, {"Host": None, "n": 1, "sv": 5.0, "sV": None}]
    assert sql(cpu, "SELECT host FROM cpu GROUP BY host ORDER BY host DESC") == [{"host": "c"}, {"host": "a"}]
    assert sql(cpu, 'SELECT max("V"), max(v) FROM cpu') == [{"max(cpu.V)": 8.0, "max(cpu.v)": 7.0}]
    assert sql(cpu, 'SELECT v FROM cpu ORDER BY "V" DESC NULLS LAST, v') == [{"v": 7.0}, {"v": 1.0}, {"v": 5.0}]


def test_output_names_differing_only_in_case_order_by_the_one_named(cpu):
    got = sql(cpu, 'SELECT host AS "Host", "Host" AS host FROM cpu ORDER BY "Host" DESC, host')
    assert got == [{"Host": "c", "host": "b"}, {"Host": "a", "host": "b"}, {"Host": "a", "host": None}]


def test_a_field_named_Time_is_a_field_and_time_bounds_and_date_bin_read_time(cpu):
    assert sql(cpu, "SELECT count(*) AS n FROM cpu WHERE time >= '1970-01-01T00:00:02Z'") == [{"n": 2}]
    # were "Time" taken for time, 3 would be a bound of 3 ns and rule out every row (and file)
    assert sql(cpu, 'SELECT v FROM cpu WHERE "Time" = 3') == [{"v": 1.0}]
    assert sql(cpu, "SELECT date_bin(INTERVAL '2 seconds', time) AS b, count(*) AS n FROM cpu "
                    "GROUP BY 1 ORDER BY 1") == [{"b": t(0), "n": 1}, {"b": t(2), "n": 2}]
    sql(cpu, "SELECT v FROM cpu WHERE time > '1970-01-01T00:00:05Z'")
    assert cpu.last_query_telemetry["files_scanned"] == 0


def test_rows_of_parquet_and_of_the_buffer_deduplicate_column_by_column(engine):
    engine.write_lp("db", LP, "ns")
    engine.snapshot()
    engine.write_lp("db", f"cpu,host=a,Host=b V=20,Time=30 {1 * S}", "ns")   # the same row, two fields newer
    got = sql(engine, "SELECT * FROM cpu WHERE time = '1970-01-01T00:00:01Z'")
    assert engine.last_query_telemetry["deduplicated_tables"] == ["cpu"]
    assert got == [{"Host": "b", "Time": 30.0, "V": 20.0, "host": "a", "time": t(1), "v": 1.0}]


def test_files_of_different_column_orders_read_each_column_by_its_own_name(engine):
    engine.write_lp("db", LP, "ns")
    engine.snapshot()
    engine.write_lp("db", f"cpu,HOST=z v=9 {4 * S}", "ns")   # a third spelling, in a file of its own
    engine.snapshot()
    got = sql(engine, 'SELECT "HOST", "Host", host, v FROM cpu ORDER BY time')
    assert [tuple(r.values()) for r in got] == [
        (None, "b", "a", 1.0), (None, None, "a", 5.0), (None, "b", "c", 7.0), ("z", None, None, 9.0)]


def test_subqueries_ctes_unions_and_joins_resolve_every_reference(cpu):
    assert sql(cpu, 'SELECT s."Host", s.host FROM (SELECT * FROM cpu) AS s WHERE s."V" = 8') == \
        [{"Host": "b", "host": "c"}]
    assert sql(cpu, 'WITH w AS (SELECT "Host", host FROM cpu) SELECT * FROM w ORDER BY host, "Host"') == \
        [{"Host": "b", "host": "a"}, {"Host": None, "host": "a"}, {"Host": "b", "host": "c"}]
    assert sql(cpu, 'SELECT c."Host", m.used FROM cpu AS c JOIN mem AS m ON c.host = m.host AND c.time = m.time '
                    "ORDER BY m.used") == [{"Host": "b", "used": 10.0}, {"Host": "b", "used": 20.0}]
    assert sql(cpu, 'SELECT v FROM cpu WHERE "V" = (SELECT max("V") FROM cpu)') == [{"v": 7.0}]
    assert sql(cpu, "SELECT v FROM cpu AS c WHERE EXISTS (SELECT 1 FROM mem AS m WHERE m.host = c.host "
                    "AND m.used > 15)") == [{"v": 7.0}]
    assert sql(cpu, 'SELECT "Host" FROM cpu UNION ALL SELECT host FROM cpu ORDER BY "Host" NULLS FIRST') == \
        [{"Host": v} for v in (None, "a", "a", "b", "b", "c")]


def test_a_reference_that_may_name_two_columns_is_an_error_never_a_pick(cpu):
    e = fails(cpu, 'SELECT "HOST" FROM cpu')    # quoted: no column has exactly that name
    assert 'No field named "HOST"' in str(e) and '"Host"' in str(e)
    e = fails(cpu, "SELECT host FROM cpu JOIN mem ON cpu.time = mem.time")
    assert e.status == 400 and "Ambiguous reference to column host" in str(e)
    e = fails(cpu, "SELECT used FROM cpu JOIN mem USING (host)")
    assert e.status == 400 and "join with ON" in str(e)
    e = fails(cpu, 'SELECT x."Time" FROM (SELECT * FROM cpu, generate_series(1, 2)) AS x')
    assert e.status == 400 and '"Time"' in str(e)


def test_an_unquoted_name_without_a_lower_case_column_reads_only_the_one_spelled_so(engine):
    engine.write_lp("db", f"t,Host=x,HOST=y v=1 {S}", "ns")
    assert sql(engine, "SELECT Host, HOST AS h2 FROM t") == [{"Host": "x", "h2": "y"}]
    e = fails(engine, "SELECT hOsT FROM t")   # lower-cased: host, which neither is; spelled so: none
    assert e.status == 400 and 'Ambiguous reference to column hOsT: it may name "HOST", "Host"' in str(e)


def test_a_table_without_such_names_is_translated_and_read_as_before(engine):
    engine.write_lp("db", MEM, "ns")
    svc = service_for(engine)
    tr = svc._translate(engine.catalog.db("db"), "SELECT * FROM mem WHERE Host = 'a'", None)
    assert tr.output_names == {} and all(u.renames is None for u in tr.uses.values())
    assert "__case_" not in tr.sql and '"Host"' in tr.sql     # DuckDB's own leniency, as before
    assert sql(engine, "SELECT * FROM mem WHERE Host = 'a'") == [{"host": "a", "time": t(1), "used": 10.0}]


def test_a_row_delete_on_a_tag_hides_rows_by_that_exact_tag(engine):
    engine.write_lp("db", f"cpu,host=a,Host=b v=1 {S}\ncpu,host=b,Host=a v=2 {2 * S}", "ns")
    engine.snapshot()
    engine.write_lp("db", f"cpu,host=a,Host=b v=3 {3 * S}\ncpu,host=b,Host=a v=4 {4 * S}", "ns")
    engine.admin.create_row_delete("db", "cpu", min_time=0, max_time=10 * S, predicate="\"Host\" = 'b'")
    assert sql(engine, "SELECT v FROM cpu ORDER BY time") == [{"v": 2.0}, {"v": 4.0}]


def test_last_cache_function_tells_the_columns_apart_in_sql(engine):
    engine.create_table("db", "cpu", ["host", "Host"], [("v", "float64"), ("V", "float64")])
    engine.create_last_cache("db", "cpu", "lc", key_columns=["host", "Host"], value_columns=["v", "V"])
    engine.write_lp("db", f"cpu,host=a,Host=b v=1,V=2 {S}\ncpu,host=b,Host=a v=3,V=4 {S}", "ns")
    # ORDER BY: not the cache's own fast path, the SQL layer over the function's rows
    got = sql(engine, """SELECT "Host", host, "V", v FROM last_cache('cpu', 'lc') ORDER BY "Host" """)
    assert got == [{"Host": "a", "host": "b", "V": 4.0, "v": 3.0}, {"Host": "b", "host": "a", "V": 2.0, "v": 1.0}]
    got = engine.sql("db", """SELECT * FROM last_cache('cpu', 'lc') ORDER BY host""")
    assert got.schema.names == ["host", "Host", "v", "V", "time"]


def test_caches_created_over_stored_rows_fill_each_column_by_its_own_name(cpu):
    # the fill reads what is stored in one query of its own (caches/registry.py), under aliases too
    cpu.create_last_cache("db", "cpu", key_columns=["host"], count=1)
    cpu.create_distinct_cache("db", "cpu", ["host", "Host"])
    got = sql(cpu, """SELECT host, "Host", v, "V" FROM last_cache('cpu') ORDER BY host""")
    assert got == [{"host": "a", "Host": None, "v": 5.0, "V": None}, {"host": "c", "Host": "b", "v": 7.0, "V": 8.0}]
    got = sql(cpu, """SELECT * FROM distinct_cache('cpu') ORDER BY host""")
    assert got == [{"host": "a", "Host": "b"}, {"host": "c", "Host": "b"}]


def test_information_schema_and_show_columns_list_both_names(cpu):
    names = [r["column_name"] for r in sql(cpu, "SHOW COLUMNS FROM cpu")]
    assert names == ["Host", "Time", "V", "host", "time", "v"]


def test_query_sql_over_http_answers_select_star_with_the_exact_names(start_influx3):
    server = start_influx3()
    r = requests.post(f"{server.url}/api/v3/write_lp", params={"db": "case", "precision": "nanosecond"},
                      data=LP, timeout=30)
    assert r.status_code in (200, 204), r.text
    r = requests.get(f"{server.url}/api/v3/query_sql",
                     params={"db": "case", "q": "SELECT * FROM cpu ORDER BY time", "format": "json"}, timeout=30)
    assert r.status_code == 200, r.text
    assert r.json()[0] == {"Host": "b", "Time": 3.0, "V": 2.0, "host": "a", "time": "1970-01-01T00:00:01", "v": 1.0}
