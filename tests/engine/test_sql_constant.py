"""Constant queries (no table, only deterministic functions) are answered from their first run
(sql/constant.py); everything else runs every time."""

import pytest

from jupyter_influx3.engine import Engine
from jupyter_influx3.engine.sql.constant import calls_only
from jupyter_influx3.engine.sql.runner import service_for


@pytest.fixture(scope="module")
def e(tmp_path_factory):
    eng = Engine(tmp_path_factory.mktemp("const"), node_id="n", background=False)
    eng.write_lp("db", "m,host=a v=1 1", "ns")
    yield eng
    eng.close()


def test_select_1_is_answered_alike_every_time_and_logged_every_time(e):
    for _ in range(3):
        assert e.sql("db", "SELECT 1").to_pylist() == [{"Int64(1)": 1}]
    assert service_for(e)._constants.get('SELECT 1 AS "Int64(1)"') is not None
    log = [q for q in e.query_log if q.query_text == "SELECT 1"]
    assert len(log) == 3 and all(q.success and q.phase == "success" and not q.running for q in log)


@pytest.mark.parametrize("q", ["SELECT random() AS x", "SELECT \"random\"() AS x", "SELECT uuid() AS x",
                               "SELECT gen_random_uuid() AS x", "SELECT now() AS x", "SELECT 1 AS y, random() AS x"])
def test_a_query_of_a_volatile_function_runs_every_time(e, q):
    assert e.sql("db", q).to_pylist() != e.sql("db", q).to_pylist()


@pytest.mark.parametrize("word", ["current_time", "localtimestamp", "localtime", "current_date", "current_timestamp"])
def test_a_special_value_function_without_parentheses_runs_every_time(e, word):
    q = f"SELECT {word} AS x"
    e.sql("db", q)
    assert service_for(e)._constants.get(f"SELECT {word} AS x") is None
    assert not calls_only(f"SELECT {word.upper()} AS x", frozenset())
    assert calls_only(f'SELECT 1 AS "{word}"', frozenset())      # a quoted name is only a name


def test_a_query_of_a_table_runs_every_time(e):
    q = "SELECT count(*) AS n FROM m"
    before = e.sql("db", q).to_pylist()[0]["n"]
    e.write_lp("db", f"m,host=b v=2 {before + 10}", "ns")
    assert e.sql("db", q).to_pylist() == [{"n": before + 1}]


def test_a_query_with_parameters_runs_every_time(e):
    for v in (1, 2):
        assert e.sql("db", "SELECT $v AS x", {"v": v}).to_pylist() == [{"x": v}]


def test_the_check_reads_only_calls_of_deterministic_functions_as_constant():
    allowed = frozenset({"upper", "abs"})
    assert calls_only('SELECT UPPER(\'x\') AS "random()", abs(-1), 1 IN (1, 2), CAST(1 AS INT)', allowed)
    assert not calls_only('SELECT "random"()', allowed)
    assert not calls_only("SELECT x.random()", allowed)
    assert not calls_only("SELECT upper(random ())", allowed)
    assert not calls_only("SELECT abs/**/(1)", allowed)          # comments: not read, not kept
    assert not calls_only("SELECT 'it''s' || upper($1)", allowed)
    assert not calls_only("SELECT 'unclosed", allowed)
