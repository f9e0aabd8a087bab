"""The query concurrency limit on a real engine: queries beyond it wait for a slot, a SQL result
holds its slot until read, InfluxQL and SQL share the limit, a waiting query gives up with its scope."""

from __future__ import annotations

import threading
import time

import pytest

from jupyter_influx3.engine import Engine
from jupyter_influx3.engine.cancellation import QueryCancelled, QueryScope
from jupyter_influx3.engine.concurrency import QuerySlots, slots_for
from jupyter_influx3.engine.influxql.api import executor_for_engine


@pytest.fixture
def eng(tmp_path):
    e = Engine(tmp_path / "d", node_id="n", background=False)
    e.write_lp("db", "cpu,host=a v=1 1000")
    e.query_slots = QuerySlots(1)
    yield e
    e.close()


def in_thread(fn):
    out = {}
    t = threading.Thread(target=lambda: out.setdefault("v", fn()))
    t.start()
    return t, out


def test_a_second_query_waits_until_the_first_result_is_read(eng):
    first = eng.query_sql("db", "SELECT * FROM cpu")            # not read yet: holds the only slot
    t, out = in_thread(lambda: eng.sql("db", "SELECT count(*) AS n FROM cpu").to_pylist())
    t.join(0.5)
    assert t.is_alive() and slots_for(eng).running == 1
    assert first.to_table().num_rows == 1                          # read to the end: slot free
    t.join(10)
    assert out["v"] == [{"n": 1}]
    assert slots_for(eng).running == 0


def test_influxql_shares_the_limit_and_raising_it_lets_waiters_in(eng):
    first = eng.query_sql("db", "SELECT * FROM cpu")
    ex = executor_for_engine(eng)
    t, out = in_thread(lambda: ex.execute_statement(ex.parse("SELECT v FROM cpu").statements[0], database="db"))
    t.join(0.5)
    assert t.is_alive()
    slots_for(eng).set(2)
    t.join(10)
    assert not out["v"].error and out["v"].series
    first.close()
    assert slots_for(eng).running == 0


def test_a_waiting_query_gives_up_when_its_scope_times_out(eng):
    first = eng.query_sql("db", "SELECT * FROM cpu")
    scope = QueryScope(0.3)
    t0 = time.monotonic()
    with pytest.raises(QueryCancelled):
        with scope.active():
            eng.sql("db", "SELECT 1")
    assert time.monotonic() - t0 < 5
    first.close()
    assert slots_for(eng).running == 0


def test_no_limit_by_default_and_bad_startup_values_refused(tmp_path):
    with Engine(tmp_path / "d", node_id="n", background=False) as e:
        assert slots_for(e).limit is None
    for bad in (0, -1, 2**63):
        with pytest.raises(ValueError):
            QuerySlots(bad)
