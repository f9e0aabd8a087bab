"""Several processes on one data directory: shared visibility, dead-node adoption, node locks."""

import subprocess
import sys
import textwrap

import pytest

from jupyter_influx3.engine import Engine, errors

WORKER = textwrap.dedent("""
    import os, sys
    from jupyter_influx3.engine import Engine
    data_dir, node, start, n, mode = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), sys.argv[5]
    e = Engine(data_dir, node_id=node, background=False)
    for i in range(start, start + n, 50):
        body = "\\n".join(f"m,node={node},k={j % 7} v={j}i {j}" for j in range(i, min(i + 50, start + n)))
        assert e.write_lp("db", body, "ns").ok
    if mode == "crash":
        os._exit(0)          # no close(): WAL left behind, nothing persisted
    total = e.sql("db", "SELECT count(*) AS c FROM m").column("c")[0].as_py()
    print(total)
    e.close()
""")


def run_worker(data_dir, node, start, n, mode="clean"):
    return subprocess.Popen([sys.executable, "-c", WORKER, str(data_dir), node, str(start), str(n), mode],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def count(engine):
    return engine.sql("db", "SELECT count(*) AS c FROM m").column("c")[0].as_py()


def test_writes_of_a_live_node_are_visible_to_another_without_restart(tmp_path):
    a = Engine(tmp_path, node_id="a", background=False)
    b = Engine(tmp_path, node_id="b", background=False)
    a.write_lp("db", b"m,k=1 v=1i 1\nm,k=2 v=2i 2", "ns")
    assert count(b) == 2
    a.snapshot()              # rows move from a's WAL to Parquet: b must not count them twice
    assert count(b) == 2
    b.write_lp("db", b"m,k=3 v=3i 3", "ns")
    assert count(a) == 3 and count(b) == 3
    a.close()
    b.close()


def test_two_processes_writing_concurrently_both_read_exact_counts(tmp_path):
    Engine(tmp_path, node_id="setup", background=False).close()
    procs = [run_worker(tmp_path, "p1", 0, 3000), run_worker(tmp_path, "p2", 10_000, 3000)]
    outs = [p.communicate(timeout=120) for p in procs]
    assert all(p.returncode == 0 for p in procs), [o[1][-2000:] for o in outs]
    reader = Engine(tmp_path, node_id="reader", background=False)
    assert count(reader) == 6000
    reader.close()
    # each process saw at least its own rows, and the last to finish saw everything of the other
    assert all(int(o[0].strip()) >= 3000 for o in outs)


def test_a_dead_nodes_wal_is_persisted_by_the_next_node_exactly_once(tmp_path):
    p = run_worker(tmp_path, "dead", 0, 1000, mode="crash")
    p.communicate(timeout=120)
    assert p.returncode == 0
    assert list((tmp_path / "dead" / "wal").glob("*.wal"))
    e = Engine(tmp_path, node_id="heir", background=False)
    assert not [f for f in (tmp_path / "dead" / "wal").glob("*.wal") if f.stat().st_size]
    assert count(e) == 1000
    e.close()
    e2 = Engine(tmp_path, node_id="heir2", background=False)
    assert count(e2) == 1000
    e2.close()


def test_a_node_id_cannot_be_opened_twice_at_once(tmp_path):
    a = Engine(tmp_path, node_id="same", background=False)
    with pytest.raises(errors.NodeInUse):
        Engine(tmp_path, node_id="same", background=False)
    a.close()


@pytest.mark.xfail(strict=True, reason=(
    "known: a snapshot merges a node's rows of one key into one row stamped with the newest write "
    "(__seq = max), so a column value from an older write of that node then outranks another node's "
    "newer value for it (per column the last non-null value should win). Found by "
    "tests/engine/test_caches.py's property test (the last-value cache keeps 26.0). Not fixed: the "
    "snapshot would need each column's own write order (issue 18's note)"))
def test_a_snapshot_does_not_change_which_nodes_value_a_column_shows(tmp_path):
    a = Engine(tmp_path, node_id="A", background=False)
    b = Engine(tmp_path, node_id="B", background=False)
    try:
        t = 1_700_000_000_000_000_000
        assert a.write_lp("db", f"cpu,host=c usage=0.0 {t}", "ns").ok
        assert b.write_lp("db", f"cpu,host=c usage=26.0 {t}", "ns").ok      # newer: its usage wins
        assert a.write_lp("db", f'cpu,host=c s="p" {t}', "ns").ok           # another column
        a.refresh()
        before = a.sql("db", "SELECT usage, s FROM cpu").to_pylist()
        assert before == [{"usage": 26.0, "s": "p"}]
        a.snapshot()
        a.refresh()
        assert a.sql("db", "SELECT usage, s FROM cpu").to_pylist() == before
    finally:
        a.close()
        b.close()
