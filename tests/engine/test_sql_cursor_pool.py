"""SQL queries reuse the cursors of their database's DuckDB instance and the Arrow tables registered
on them (runner._CursorPool): answers follow every write and snapshot, and an interrupt meant for a
query that has ended never reaches the next query on its cursor."""

import gc
import threading
import time

import duckdb
import pytest

from jupyter_influx3.engine import Engine
from jupyter_influx3.engine.cancellation import TIMEOUT, QueryScope
from jupyter_influx3.engine.sql.runner import service_for


def _idle(e, db, small=True):
    return service_for(e)._instances[(e.catalog.db(db).id, small)][1]._idle


def test_each_query_reads_the_buffer_as_it_is_after_every_write(tmp_path):
    e = Engine(tmp_path, node_id="n", background=False)
    e.write_lp("db", "m,host=a v=1 1", "ns")
    q = "SELECT host, v FROM m ORDER BY host"
    assert e.sql("db", q).to_pylist() == [{"host": "a", "v": 1.0}]
    assert e.sql("db", q).to_pylist() == [{"host": "a", "v": 1.0}]     # the same batches: reused
    e.write_lp("db", "m,host=b v=2 1", "ns")
    assert e.sql("db", q).to_pylist() == [{"host": "a", "v": 1.0}, {"host": "b", "v": 2.0}]
    e.write_lp("db", "m,host=a v=3 1", "ns")                              # the same key: deduplicated
    assert e.sql("db", q).to_pylist() == [{"host": "a", "v": 3.0}, {"host": "b", "v": 2.0}]
    e.snapshot()
    assert e.sql("db", q).to_pylist() == [{"host": "a", "v": 3.0}, {"host": "b", "v": 2.0}]
    assert len(_idle(e, "db")) == 1      # one query at a time: one cursor, given back each time
    e.close()


def test_an_idle_cursor_lets_go_of_the_buffer_a_snapshot_persisted(tmp_path):
    e = Engine(tmp_path, node_id="n", background=False)
    e.write_lp("db", "m,host=a v=1 1", "ns")
    e.sql("db", "SELECT * FROM m")
    [pooled] = _idle(e, "db")
    assert any(n.endswith("_plain") for n in pooled.registered)
    e.snapshot()
    gc.collect()
    e.sql("db", "SELECT 1")          # reads no table, but leases the cursor
    assert not any(n.endswith("_plain") for n in pooled.registered)
    assert len(service_for(e).stats._tables) == 0   # nor is the batches' one table kept elsewhere
    e.close()


def test_an_interrupt_of_an_ended_query_does_not_reach_the_next_query_on_its_cursor(tmp_path):
    e = Engine(tmp_path, node_id="n", background=False)
    e.write_lp("db", "\n".join(f"m,t={i % 100} v={i} {i}" for i in range(10_000)), "ns")
    scope = QueryScope()
    with scope.active():
        assert e.sql("db", "SELECT count(*) AS c FROM m").column("c")[0].as_py() == 10_000
    assert len(_idle(e, "db")) == 1   # its cursor is the one the next query gets
    out: list = []
    # 1e8 pairs (20,000 rows read: the same single-threaded instance): many interrupts, seconds at most
    slow = threading.Thread(target=lambda: out.append(
        e.sql("db", "SELECT count(*) AS c FROM m a, m b WHERE a.v + b.v = 7").column("c")[0].as_py()))
    slow.start()
    scope.cancel(TIMEOUT)      # interrupts the ended query's cursors now and again every 50 ms
    while slow.is_alive():
        scope.interrupt()
        time.sleep(0.005)
    slow.join()
    assert out == [8]
    e.close()


def test_a_query_reading_few_rows_runs_on_one_duckdb_thread_and_one_reading_many_on_all(tmp_path, monkeypatch):
    from jupyter_influx3.engine.sql import runner
    e = Engine(tmp_path, node_id="n", background=False)
    e.write_lp("db", "\n".join(f"m,t={i % 10} v={i} {i}" for i in range(100)), "ns")
    db = e.catalog.db("db")
    service = service_for(e)
    assert e.sql("db", "SELECT count(*) AS c FROM m").to_pylist() == [{"c": 100}]
    assert (db.id, False) not in service._instances
    monkeypatch.setattr(runner, "SMALL_QUERY_ROWS", 99)
    assert e.sql("db", "SELECT count(*) AS c FROM m").to_pylist() == [{"c": 100}]
    small, big = service._db_connection(db, small=True), service._db_connection(db)
    assert small.execute("SELECT current_setting('threads')").fetchone()[0] == 1
    assert big.execute("SELECT current_setting('threads')").fetchone()[0] == \
        duckdb.connect().execute("SELECT current_setting('threads')").fetchone()[0]
    assert len(_idle(e, "db", small=True)) == 1 and len(_idle(e, "db", small=False)) == 1
    e.close()


def test_closing_the_engine_closes_the_duckdb_instances_of_user_sql_and_their_idle_cursors(tmp_path):
    e = Engine(tmp_path, node_id="n", background=False)
    e.write_lp("db", "m,host=a v=1 1", "ns")
    e.sql("db", "SELECT * FROM m")
    con = service_for(e)._db_connection(e.catalog.db("db"), small=True)
    [pooled] = _idle(e, "db")
    e.close()
    for c in (con, pooled.cursor):
        with pytest.raises(duckdb.ConnectionException):
            c.execute("SELECT 1")
