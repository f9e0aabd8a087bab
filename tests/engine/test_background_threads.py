"""A node's background threads (Engine._start): an idle node's threads sleep rather than poll, and
the work a write asks of them still starts at once."""

import time

from engine_helpers import eventually

from jupyter_influx3.engine import Engine


def test_the_snapshot_thread_sleeps_until_a_write_wants_a_snapshot(tmp_path, voluntary_switches):
    """It polled every 50 ms (20 wake-ups a second per node, idle or not); now it sleeps on the
    request and wakes once a second to hand memory back."""
    eng = Engine(tmp_path / "d", node_id="n1", snapshot_rows=4)
    try:
        thread = next(t for t in eng._threads if t.name == "influx3-_snapshot_when_wanted")
        time.sleep(0.1)
        before = voluntary_switches(thread.native_id)
        time.sleep(1.0)
        assert voluntary_switches(thread.native_id) - before <= 4   # the old loop: ~20
        body = "\n".join(f"m,t=t{k} v=1 {k}" for k in range(4))   # 4 buffered rows: a snapshot is wanted
        assert not eng.write_lp("db", body, "s").errors
        assert eventually(lambda: eng.buffer.rows == 0)                   # persisted by that thread
        assert eng.sql("db", "SELECT count(*) AS n FROM m").to_pylist() == [{"n": 4}]
    finally:
        eng.close()
