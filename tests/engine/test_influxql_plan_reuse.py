"""What the InfluxQL executor keeps from one run of a statement text to the next (parsed trees,
their texts, what a FROM names) never changes an answer: limits tightened later still refuse a
kept text, the query log shows each statement's own text, and a FROM without a database still
needs one on every run."""

from __future__ import annotations

import pytest

from jupyter_influx3.engine.influxql import ast
from jupyter_influx3.engine.influxql.executor import Executor
from jupyter_influx3.engine.influxql.parser import ParseError
from jupyter_influx3.engine.querylimits import QueryLimits

SELECT = "SELECT max(v) FROM cpu WHERE host = 'a' AND time >= 0 AND time < 100s GROUP BY time(10s)"


def _load(engine) -> Executor:
    engine.create_database("db")
    engine.write_lp("db", "cpu,host=a v=1 1000000000\ncpu,host=a v=5 15000000000\ncpu,host=b v=9 1000000000\n",
                    precision="nanosecond")
    return Executor(engine)


def test_a_kept_text_is_refused_once_the_limits_are_tightened(engine):
    ex = _load(engine)
    text = SELECT + " -- " + "x" * 200
    assert ex.parse(text).statements  # parsed and kept under the default limits
    engine.query_limits = QueryLimits(max_statement_bytes=100)
    with pytest.raises(ParseError, match="statement too large"):
        ex.parse(text)
    engine.query_limits.max_statement_bytes = 0   # changed in place: the text passes again
    assert ex.parse(text).statements


def test_limits_changed_in_place_are_seen_by_a_kept_text(engine):
    ex = _load(engine)
    engine.query_limits = QueryLimits()
    ex.parse(SELECT)
    engine.query_limits.max_operators = 1
    with pytest.raises(ParseError, match="too complex"):
        ex.parse(SELECT)


def test_repeated_runs_answer_the_same(engine):
    ex = _load(engine)
    first = [r.to_dict() for r in ex.execute(SELECT, database="db")]
    engine.write_lp("db", "cpu,host=a v=7 25000000000\n", precision="nanosecond")
    again = [r.to_dict() for r in ex.execute(SELECT, database="db")]
    assert first != again
    values = again[0]["series"][0]["values"]
    assert [v[1] for v in values[:3]] == [1.0, 5.0, 7.0]


def test_node_text_is_its_str_and_leaves_equality_alone(engine):
    ex = _load(engine)
    stmt = ex.parse(SELECT).statements[0]
    twin = ex.parse(SELECT + " ").statements[0]   # another text, an equal tree
    assert ast.text(stmt) == str(stmt)
    assert ast.text(stmt) == str(stmt)   # from the memo
    assert stmt == twin and hash(stmt) == hash(twin) and repr(stmt) == repr(twin)
    assert "_text" not in repr(stmt)


def test_each_statement_logs_its_own_text(engine):
    ex = _load(engine)
    texts = ["SELECT max(v) FROM cpu", "SELECT min(v) FROM cpu"]
    for t in texts:
        list(ex.execute(t, database="db"))
    logged = [row for row in engine.sql("db", "SELECT query_text FROM system.queries WHERE query_type = 'influxql'")
              .column("query_text").to_pylist()]
    assert all(t in logged for t in texts)


def test_a_from_without_database_needs_one_on_every_run(engine):
    ex = _load(engine)
    for _ in range(2):
        res = list(ex.execute("SELECT v FROM cpu"))
        assert res[0].error == "database name required"
    assert not list(ex.execute("SELECT v FROM cpu", database="db"))[0].error
    # a FROM naming its database needs no default, run after run
    for _ in range(2):
        assert not list(ex.execute('SELECT v FROM "db"."autogen"."cpu"'))[0].error


def test_a_field_added_between_runs_is_in_the_next_answer(engine):
    ex = _load(engine)
    q = "SELECT * FROM cpu WHERE time >= 0 AND time < 100s"
    assert list(ex.execute(q, database="db"))[0].series[0].columns == ["time", "host", "v"]
    engine.write_lp("db", "cpu,host=a v=2,w=3i 2000000000\n", precision="nanosecond")
    assert list(ex.execute(q, database="db"))[0].series[0].columns == ["time", "host", "v", "w"]


def test_a_lowered_bucket_limit_refuses_the_next_run_of_a_kept_plan(engine):
    ex = _load(engine)
    assert not list(ex.execute(SELECT, database="db"))[0].error
    engine.query_limits = QueryLimits(max_select_buckets=5)
    assert "max-select-buckets limit exceeded: (10/5)" in list(ex.execute(SELECT, database="db"))[0].error


def test_only_plans_that_do_not_depend_on_the_time_are_kept(engine):
    ex = _load(engine)
    for text in ("SELECT max(v) FROM cpu WHERE time > now() - 1h GROUP BY time(10s)",
                 "SELECT max(v) FROM cpu WHERE time >= now() - 1d GROUP BY time(1h)",
                 "SELECT max(v) FROM cpu GROUP BY time(1h)",   # from the data, to now
                 "SELECT max(v) FROM (SELECT v FROM cpu) WHERE time >= 0 AND time < 10s GROUP BY time(10s)"):
        for _ in range(2):
            assert not list(ex.execute(text, database="db"))[0].error
    assert not ex._plans
    list(ex.execute(SELECT, database="db"))
    stmt = ex.parse(SELECT).statements[0]
    (tree, _version, kept), = ex._plans.values()
    assert tree is stmt
    first, second = ex._plan(stmt, "db", None, 1), ex._plan(stmt, "db", None, 2)
    # each run gets a plan of its own (runs change fields of theirs), equal to the kept one
    assert first is not kept and second is not first and first.columns is not kept.columns
    assert (first.start, first.end, first.columns) == (kept.start, kept.end, kept.columns)


def test_a_database_recreated_with_other_columns_is_planned_again(engine):
    ex = _load(engine)
    q = "SELECT * FROM cpu WHERE time >= 0 AND time < 100s"
    assert list(ex.execute(q, database="db"))[0].series[0].columns == ["time", "host", "v"]
    engine.delete_database("db")
    engine.create_database("db")
    engine.write_lp("db", "cpu,region=x u=1 1000000000\n", precision="nanosecond")
    assert list(ex.execute(q, database="db"))[0].series[0].columns == ["time", "region", "u"]


def test_long_texts_and_large_statements_are_not_kept(engine):
    """A kept tree or plan keeps memory a reader chose: a text past shapes.MAX_TEXT keeps no tree,
    a statement past PLAN_KEPT_NODES no plan (they are parsed and planned again each time)."""
    from jupyter_influx3.engine.influxql import executor, shapes

    ex = _load(engine)
    long_text = SELECT + " -- " + "x" * shapes.MAX_TEXT
    assert ex.parse(long_text) is not ex.parse(long_text)
    assert ex.parse(SELECT) is ex.parse(SELECT)
    # (no operators: the default limits refuse over 500; fields alone are only bounded by the bytes)
    wide = "SELECT " + ", ".join(["v"] * (executor.PLAN_KEPT_NODES // 2)) + " FROM cpu WHERE time >= 0 AND time < 100s"
    assert list(ex.execute(wide, database="db"))[0].error is None
    assert list(ex.execute(SELECT, database="db"))[0].error is None
    kept = [entry[0] for entry in ex._plans.values()]
    assert [ast.text(stmt) for stmt in kept] == [ast.text(ex.parse(SELECT).statements[0])]
