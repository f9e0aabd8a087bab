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


# found by tests/engine/test_caches.py's property test (the last-value cache kept 26.0): a snapshot
# merged A's rows of the key into one row stamped with A's newest write, so A's older usage then
# outranked B's newer one; a merged row now keeps each column's own write order (`__seqs`)
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


T0 = 1_700_000_000_000_000_000


def _overwritten_from_two_nodes(tmp_path, **options):
    """A writes usage, B overwrites it, A writes another field of the point (usage: B's 26.0)."""
    a = Engine(tmp_path, node_id="A", background=False, **options)
    b = Engine(tmp_path, node_id="B", background=False, **options)
    assert a.write_lp("db", f"cpu,host=c usage=0.0 {T0}\ncpu,host=d usage=1.0 {T0}", "ns").ok
    assert b.write_lp("db", f"cpu,host=c usage=26.0 {T0}", "ns").ok
    assert a.write_lp("db", f'cpu,host=c s="p" {T0}', "ns").ok
    return a, b


def _answer(engine):
    engine.refresh()
    return [(r["host"], r["usage"], r["s"]) for r in engine.sql("db", "SELECT * FROM cpu ORDER BY host").to_pylist()]


WANT = [("c", 26.0, "p"), ("d", 1.0, None)]


def test_a_merged_row_keeps_each_columns_write_order_through_another_nodes_view_compaction_and_a_restart(tmp_path):
    import pyarrow.parquet as pq

    a, b = _overwritten_from_two_nodes(tmp_path, compaction_min_files=2)
    try:
        a.snapshot()
        assert _answer(a) == _answer(b) == WANT
        [mixed] = a.index.all()
        row = {r["host"]: r for r in pq.read_table(tmp_path / mixed.path).to_pylist()}
        [(name, seq)] = row["c"]["__seqs"]        # usage: from A's first write, older than the row's s
        assert name == "usage" and seq < row["d"]["__seq"] < row["c"]["__seq"] and row["d"]["__seqs"] is None
        b.snapshot()
        b_file = next(f for f in b.index.all() if f.path.startswith("B/"))
        assert "__seqs" not in b_file.columns       # no mixed merge: the file is as it always was
        assert _answer(a) == _answer(b) == WANT
        assert a.compact() == 1 and len(a.index.all()) == 1
        assert _answer(a) == _answer(b) == WANT
        a.close()
        a = Engine(tmp_path, node_id="A", background=False)
        assert _answer(a) == WANT
        assert a.write_lp("db", f"cpu,host=c usage=5.0 {T0}", "ns").ok   # newer than every write
        assert _answer(b)[0] == ("c", 5.0, "p")
    finally:
        a.close()
        b.close()


def test_the_write_order_column_shows_in_no_answer(tmp_path):
    a, b = _overwritten_from_two_nodes(tmp_path)
    try:
        a.snapshot()
        assert "__seqs" in next(iter(a.index.all())).columns
        for e in (a, b):
            e.refresh()
            assert e.sql("db", "SELECT * FROM cpu").column_names == ["host", "s", "time", "usage"]
            cols = e.sql("db", "SELECT column_name FROM information_schema.columns WHERE table_name = 'cpu'")
            assert "__seqs" not in cols.column("column_name").to_pylist()
            fields = e.query_influxql("db", "SHOW FIELD KEYS FROM cpu").to_table().to_pylist()
            assert {r["fieldKey"] for r in fields} == {"s", "usage"}
            got = e.query_influxql("db", "SELECT * FROM cpu").to_table()
            assert "__seqs" not in got.column_names and "__seq" not in got.column_names
    finally:
        a.close()
        b.close()


def test_the_last_value_cache_agrees_with_sql_after_another_nodes_snapshot(tmp_path):
    # B's cache meets A's merged row in A's new file (A wrote and persisted before B tailed it), and
    # the file row's usage is older than B's cached one though the row's newest write is not
    a = Engine(tmp_path, node_id="A", background=False)
    b = Engine(tmp_path, node_id="B", background=False)
    try:
        assert a.write_lp("db", f"cpu,host=c usage=0.0 {T0}\ncpu,host=d usage=1.0 {T0}", "ns").ok
        b.create_last_cache("db", "cpu", key_columns=["host"])
        assert b.write_lp("db", f"cpu,host=c usage=26.0 {T0}", "ns").ok
        assert len(b.sql("db", "SELECT * FROM last_cache('cpu')")) == 2   # B's row is cached: merged next
        assert a.write_lp("db", f'cpu,host=c s="p" {T0}', "ns").ok
        a.snapshot()
        for e in (b, a):
            e.refresh()
            got = e.sql("db", "SELECT host, usage, s FROM last_cache('cpu') ORDER BY host").to_pylist()
            assert [(r["host"], r["usage"], r["s"]) for r in got] == WANT == _answer(e), e.node_id
    finally:
        a.close()
        b.close()


def test_a_row_delete_rewriting_a_merged_file_keeps_its_columns_write_order(tmp_path):
    import pyarrow.parquet as pq

    a, b = _overwritten_from_two_nodes(tmp_path)
    try:
        a.snapshot()
        a.admin.create_row_delete("db", "cpu", all_time=True, predicate="host = 'd'")
        a.compact()      # rewrites A's file without host d (the maintenance pass applies row deletes)
        [rewritten] = [f for f in a.index.all() if f.path.startswith("A/")]
        assert [r["host"] for r in pq.read_table(tmp_path / rewritten.path).to_pylist()] == ["c"]
        assert "__seqs" in rewritten.columns
        assert _answer(a) == _answer(b) == WANT[:1]
    finally:
        a.close()
        b.close()
