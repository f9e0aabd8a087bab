"""A running SQL query can be interrupted (what Ctrl-C in a kernel does)."""

import threading

import pytest

from jupyter_influx3.engine import Engine, errors


def test_interrupt_queries_stops_a_long_running_query(tmp_path):
    e = Engine(tmp_path, node_id="n", background=False)
    e.write_lp("db", "\n".join(f"m,t={i % 100} v={i} {i}" for i in range(100_000)), "ns")
    interrupted = []
    timer = threading.Timer(0.3, lambda: interrupted.append(e.interrupt_queries()))
    timer.start()
    with pytest.raises(errors.QueryError, match="Interrupted"):
        # a cross join of 10^10 pairs: minutes of work (past the test timeout) unless interrupted
        e.sql("db", "SELECT count(*) FROM m a, m b WHERE a.v + b.v = 7")
    timer.join()
    assert interrupted == [1]
    # the node keeps answering afterwards
    assert e.sql("db", "SELECT count(*) AS c FROM m").column("c")[0].as_py() == 100_000
    e.close()


def test_interrupt_with_nothing_running_is_harmless(tmp_path):
    e = Engine(tmp_path, node_id="n", background=False)
    assert e.interrupt_queries() == 0
    e.close()
