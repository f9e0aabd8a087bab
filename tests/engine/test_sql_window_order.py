"""Window queries ordered by time (TSBS lastpoint as `row_number() … WHERE rn = 1`): the right rows from
the buffer and from Parquet, and DataFusion's NULLS FIRST for DESC kept wherever a NULL can occur."""

import pytest

from jupyter_influx3.engine import Engine

LASTPOINT = ("SELECT hostname, v, time FROM (SELECT *, row_number() OVER (PARTITION BY hostname ORDER BY time DESC) "
             "AS rn FROM cpu) WHERE rn = 1 ORDER BY hostname")


@pytest.fixture(params=["buffer", "parquet"])
def engine(request, tmp_path):
    e = Engine(tmp_path / "data", node_id="n1", background=False)
    e.write_lp("db", "\n".join(f"cpu,hostname=h{h} v={h * 100 + t} {t}" for t in range(1, 51) for h in range(3)), "s")
    if request.param == "parquet":
        e.snapshot()
    yield e
    e.close()


def test_lastpoint_as_a_window_query_gives_each_hosts_newest_row(engine):
    got = engine.sql("db", LASTPOINT).to_pylist()
    assert [(r["hostname"], r["v"], r["time"].value) for r in got] == \
        [(f"h{h}", h * 100 + 50.0, 50 * 10**9) for h in range(3)]


def test_window_order_by_time_desc_leaves_out_nulls_first(engine):
    plan = engine.sql("db", "EXPLAIN " + LASTPOINT).to_pylist()[0]["plan"]
    assert 'ORDER BY "time" DESC' in plan and "NULLS FIRST" not in plan


def test_window_order_by_a_field_desc_still_puts_nulls_first(engine):
    engine.write_lp("db", "cpu,hostname=h0 w=1 100\ncpu,hostname=h0 w=2 101", "s")   # v NULL in both
    got = engine.sql("db", "SELECT v, time FROM (SELECT *, row_number() OVER (ORDER BY v DESC) AS rn FROM cpu) "
                           "WHERE rn <= 2 ORDER BY time").to_pylist()
    assert [r["v"] for r in got] == [None, None]


DISTINCT_ON = "SELECT DISTINCT ON (hostname) * FROM cpu ORDER BY hostname, time DESC"


def test_lastpoint_as_distinct_on_gives_each_hosts_newest_row_and_only_the_tables_columns(engine):
    got = engine.sql("db", DISTINCT_ON).to_pylist()
    assert [sorted(r) for r in got] == [["hostname", "time", "v"]] * 3
    assert [(r["hostname"], r["v"], r["time"].value) for r in got] == \
        [(f"h{h}", h * 100 + 50.0, 50 * 10**9) for h in range(3)]


def test_distinct_on_is_run_as_a_row_number_window(engine):
    plan = engine.sql("db", "EXPLAIN " + DISTINCT_ON).to_pylist()[0]["plan"]
    assert "ROW_NUMBER()" in plan.upper() and "DISTINCT ON" not in plan.upper()


def test_distinct_on_with_a_limit_or_other_columns_keeps_its_meaning(engine):
    q = "SELECT DISTINCT ON (hostname) hostname, v FROM cpu ORDER BY hostname, time ASC LIMIT 2"
    assert engine.sql("db", q).to_pylist() == [{"hostname": "h0", "v": 1.0}, {"hostname": "h1", "v": 101.0}]


def _logical_plan(engine, q: str) -> str:
    return engine.sql("db", "EXPLAIN " + q).to_pylist()[0]["plan"]


@pytest.mark.parametrize("q", [LASTPOINT, DISTINCT_ON])
def test_first_row_per_partition_reads_only_rows_at_the_newest_time(engine, q):
    plan = _logical_plan(engine, q)
    assert "EXISTS" in plan and 'MAX("time")' in plan


def test_first_row_per_partition_oldest_first_with_a_where_and_a_null_key(engine):
    engine.write_lp("db", "cpu v=7 60\ncpu v=8 61", "s")   # no hostname: a NULL partition
    engine.write_lp("db", "cpu,hostname=h1 v=-1 0", "s")     # h1's oldest row, left out by the WHERE
    q = ("SELECT hostname, v FROM (SELECT *, row_number() OVER (PARTITION BY hostname ORDER BY time ASC) AS rn "
         "FROM cpu AS c WHERE c.v > 0) AS t WHERE 1 = t.rn ORDER BY hostname NULLS LAST")
    assert "EXISTS" in _logical_plan(engine, q)
    assert engine.sql("db", q).to_pylist() == [{"hostname": "h0", "v": 1.0}, {"hostname": "h1", "v": 101.0},
                                               {"hostname": "h2", "v": 201.0}, {"hostname": None, "v": 7.0}]


def test_first_row_per_partition_gives_one_row_when_series_tie_at_the_newest_time(engine):
    engine.write_lp("db", "cpu,hostname=h0,rack=a v=1 90\ncpu,hostname=h0,rack=b v=2 90", "s")
    got = engine.sql("db", LASTPOINT).to_pylist()
    assert [r["hostname"] for r in got] == ["h0", "h1", "h2"] and got[0]["v"] in (1.0, 2.0)
    assert got[0]["time"].value == 90 * 10**9


def test_first_row_per_partition_over_rows_that_must_be_deduplicated_reads_the_table_once(engine):
    engine.write_lp("db", "cpu,hostname=h1 v=-5 50", "s")   # overwrites h1's newest row
    assert engine.sql("db", LASTPOINT).to_pylist()[1]["v"] == -5.0
    assert engine.last_query_telemetry["deduplicated_tables"] == ["cpu"]
    assert "EXISTS" not in _logical_plan(engine, LASTPOINT)


def test_other_window_filters_are_left_as_written(engine):
    for q in [LASTPOINT.replace("rn = 1", "rn <= 2"), LASTPOINT.replace("ORDER BY time DESC", "ORDER BY time DESC, v")]:
        assert "EXISTS" not in _logical_plan(engine, q)
    got = engine.sql("db", LASTPOINT.replace("rn = 1", "rn <= 2")).to_pylist()
    assert [(r["hostname"], r["time"].value // 10**9) for r in got][:2] == [("h0", 50), ("h0", 49)]
