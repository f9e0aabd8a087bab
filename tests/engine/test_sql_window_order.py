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
