"""The engine's write path: schema on write, line errors, partial writes, dedup, persistence."""

import os

import pytest

from jupyter_influx3.engine import Engine, Limits, errors



def rows(engine, db, table):
    return engine.table_arrow(db, table).to_pylist()


def test_write_creates_database_table_and_typed_columns(engine):
    res = engine.write_lp("foo", b"cpu,host=a usage=0.5,n=3i,u=4u,s=\"x\",b=true 1000000000", "ns")
    assert res.lines_written == 1 and res.ok
    _, t = engine.catalog.table("foo", "cpu")
    assert {c.name: c.type for c in t.columns.values()} == {
        "time": "time", "host": "tag", "usage": "float", "n": "int", "u": "uint", "s": "string", "b": "bool"}
    [r] = rows(engine, "foo", "cpu")
    assert (r["host"], r["usage"], r["n"], r["u"], r["s"], r["b"]) == ("a", 0.5, 3, 4, "x", True)


def test_type_conflict_is_a_line_error_with_influxdb_message(engine):
    engine.write_lp("db", b"t0,t0_tag0=initTag t0_f0=0i 1", "ns")
    res = engine.write_lp("db", b"t0,t0_tag0=initTag t0_f0=0u 2", "ns")
    assert res.lines_written == 0
    assert res.errors[0].error_message == (
        "invalid column type for column 't0_f0', expected iox::column_type::field::integer, "
        "got iox::column_type::field::uinteger")


@pytest.mark.parametrize("line, name", [
    ("cpu,host=a __seq=1,x=1 {t}", "__seq"), ("cpu,host=a,__seq=z x=1 {t}", "__seq"),
    ("cpu,host=a __chunk_order=1i,x=1 {t}", "__chunk_order"), ("cpu,host=a __seqs=1,x=1 {t}", "__seqs"),
    ("cpu,host=a,__seqs=z x=1 {t}", "__seqs"), ("cpu,host=a __SEQ=1,x=1 {t}", "__SEQ"),
    ("cpu,host=a,__Seqs=z x=1 {t}", "__Seqs")])
def test_a_tag_or_field_with_a_reserved_name_is_a_line_error_and_the_table_still_snapshots(engine, line, name):
    # `__seq` is the engine's own write order: a written one replaced it in deduplication (an older
    # value won) and gave every later snapshot two columns of one name (it failed, forever); so
    # would a `__seqs` (each merged column's write order). Ours in any case: DuckDB binds names
    # without regard to it (a snapshot wrote write orders as the values of a field `__Seq`).
    res = engine.write_lp("db", (line.format(t=1) + "\ncpu,host=a x=2 1").encode(), "ns")
    assert [(e.line_number, e.error_message) for e in res.errors] == [(1, f"'{name}' is a reserved column")]
    assert [(r["host"], r["x"]) for r in rows(engine, "db", "cpu")] == [("a", 2.0)]
    engine.snapshot()
    assert [(r["host"], r["x"]) for r in rows(engine, "db", "cpu")] == [("a", 2.0)]
    with pytest.raises(errors.InvalidConfiguration, match=f"'{name}' is a reserved column"):
        engine.create_table("db", "other", [], [(name, "int64")])


def test_partial_write_keeps_good_lines_and_reports_bad_ones(engine):
    body = b"cpu,host=b val=2 155\ncpu,host=a val= 123\ncpu,host=b val=5 199"
    res = engine.write_lp("db", body, "ns")
    assert res.lines_written == 2
    assert [(e.line_number, e.error_message) for e in res.errors] == [(2, "No fields were provided")]
    assert [(r["host"], r["val"]) for r in rows(engine, "db", "cpu")] == [("b", 2.0), ("b", 5.0)]


def test_non_partial_write_writes_nothing_and_reports_first_error(engine):
    body = b"cpu,host=a val= 123\ncpu,host=b val=5 124\ncpu,host=b val= 124"
    res = engine.write_lp("db", body, "ns", accept_partial=False)
    assert res.lines_written == 0 and len(res.errors) == 1
    assert res.errors[0].line_number == 1 and res.errors[0].original_line == "cpu,host=a val= 123"
    with pytest.raises(errors.DatabaseNotFound):
        engine.table_arrow("db", "cpu")


def test_empty_body_is_an_empty_write(engine):
    with pytest.raises(errors.EmptyWrite):
        engine.write_lp("db", b"\n# only a comment\n\n")


def test_same_series_and_time_is_one_row_with_last_non_null_per_column(engine):
    engine.write_lp("db", b"m,t=a x=1,y=1 10", "ns")
    engine.write_lp("db", b"m,t=a x=2 10", "ns")
    assert [(r["x"], r["y"]) for r in rows(engine, "db", "m")] == [(2.0, 1.0)]
    engine.snapshot()
    engine.write_lp("db", b"m,t=a y=3 10", "ns")
    assert [(r["x"], r["y"]) for r in rows(engine, "db", "m")] == [(2.0, 3.0)]
    engine.snapshot()
    assert [(r["x"], r["y"]) for r in rows(engine, "db", "m")] == [(2.0, 3.0)]


def test_data_survives_restart_from_wal_and_from_parquet(tmp_path):
    e = Engine(tmp_path, node_id="n", background=False)
    e.write_lp("db", b"m,t=a v=1 1\nm,t=b v=2 2", "ns")
    e.snapshot()
    e.write_lp("db", b"m,t=c v=3 3", "ns")
    # A crash in miniature: the node is abandoned without close(); its lock dies with the fd.
    os.close(e._lock_fd)
    e2 = Engine(tmp_path, node_id="n", background=False)
    assert [r["t"] for r in rows(e2, "db", "m")] == ["a", "b", "c"]
    e2.close()


def test_invalid_database_name_is_rejected_before_anything_is_written(engine):
    with pytest.raises(errors.InvalidDatabaseName, match="did not start with a number or letter"):
        engine.write_lp("_internal", b"m v=1")


def test_column_limit_rejects_lines_that_would_exceed_it(tmp_path):
    e = Engine(tmp_path, node_id="n", background=False, limits=Limits(max_columns_per_table=3))
    ok = e.write_lp("db", b"m,a=1 b=1,c=1 1", "ns")
    assert ok.ok
    res = e.write_lp("db", b"m,a=1 d=1 2", "ns")
    assert res.errors[0].error_message == \
        "Update to schema would exceed number of columns per table limit of 3 columns"
    e.close()


def test_database_limit_raises_for_whole_request(tmp_path):
    e = Engine(tmp_path, node_id="n", background=False, limits=Limits(max_databases=1))
    e.write_lp("a", b"m v=1")
    with pytest.raises(errors.LimitExceeded, match="Adding a new database would exceed limit of 1 databases"):
        e.write_lp("b", b"m v=1")
    e.close()


def test_write_to_a_soft_deleted_database_name_is_refused(engine):
    engine.write_lp("foo", b"m v=1")
    new = engine.catalog.delete_database("foo", hard_delete_at=None)
    with pytest.raises(errors.WriteToDeletedDatabase, match="marked for deletion"):
        engine.write_lp(new, b"m v=1")
    assert engine.write_lp("foo", b"m v=2").ok


def test_snapshot_writes_sorted_parquet_and_retires_wal(engine):
    engine.write_lp("db", b"m,h=b v=1 20\nm,h=a v=2 10\nm,h=a v=3 5", "ns")
    files = engine.snapshot()
    assert len(files) == 1 and files[0].rows == 3
    import pyarrow.parquet as pq
    t = pq.read_table(engine.data_dir / files[0].path)
    assert t.column("h").to_pylist() == ["a", "a", "b"]
    assert t.column("time").cast("int64").to_pylist() == [5, 10, 20]
    from jupyter_influx3.engine.wal import list_wal_files
    assert all(seq > 0 and path.stat().st_size == 0 for seq, path in list_wal_files(engine.node_dir / "wal"))


def test_compaction_merges_small_files_and_keeps_answers(engine):
    for i in range(5):
        engine.write_lp("db", f"m,h=x v={i} {i}\nm,h=y v={i} {i}".encode(), "ns")
        engine.snapshot()
    before = rows(engine, "db", "m")
    assert len(engine.index.all()) == 5
    assert engine.compact() == 1
    assert len(engine.index.all()) == 1
    assert rows(engine, "db", "m") == before
    fresh = Engine(engine.data_dir, node_id="other", background=False)
    assert rows(fresh, "db", "m") == before
    fresh.close()


def test_one_compaction_merges_no_more_rows_than_its_cap_oldest_files_first(engine, monkeypatch):
    from jupyter_influx3.engine import persist

    monkeypatch.setattr(persist, "COMPACT_MAX_ROWS", 6)   # three of the 2-row files below
    for i in range(5):
        engine.write_lp("db", f"m,h=x v={i} {i}\nm,h=y v={i} {i}".encode(), "ns")
        engine.snapshot()
    before = rows(engine, "db", "m")
    oldest = sorted(engine.index.all(), key=lambda f: f.min_seq)
    assert engine.compact() == 1
    after = engine.index.all()
    assert sorted(f.rows for f in after) == [2, 2, 6]   # the three oldest merged, two left
    assert {f.path for f in oldest[3:]} <= {f.path for f in after}
    assert rows(engine, "db", "m") == before
    assert engine.compact() == 0   # 3 small files left: fewer than compaction_min_files


def test_files_of_half_the_compaction_cap_or_more_are_left_as_they_are(engine, monkeypatch):
    from jupyter_influx3.engine import persist

    monkeypatch.setattr(persist, "COMPACT_MAX_ROWS", 4)   # the 2-row files below are not small then
    for i in range(5):
        engine.write_lp("db", f"m,h=x v={i} {i}\nm,h=y v={i} {i}".encode(), "ns")
        engine.snapshot()
    assert engine.compact() == 0
    assert sorted(f.rows for f in engine.index.all()) == [2, 2, 2, 2, 2]


def test_a_large_snapshot_is_written_in_row_groups_duckdb_can_scan_in_parallel(engine):
    import pyarrow.parquet as pq

    from jupyter_influx3.engine import persist

    n = 300_005   # a snapshot of 300K rows (serve takes them at 500K) is scanned by more than one thread
    body = "".join(f"cpu,host=h{i % 7} v={i}i {i}\n" for i in range(n)).encode()
    assert engine.write_lp("db", body, "ns").lines_written == n
    [meta] = engine.snapshot()
    path = os.path.join(engine.data_dir, meta.path)
    groups = pq.ParquetFile(path).metadata.num_row_groups
    assert groups >= 2 and groups == meta.row_groups == persist.row_groups_of(meta)
    assert engine.sql("db", "SELECT count(*) AS n, sum(v) AS s FROM cpu").to_pylist() == \
        [{"n": n, "s": n * (n - 1) // 2}]


def test_a_type_conflict_rejects_only_the_rows_that_carry_the_column(engine):
    engine.write_lp("db", b"m,h=a f=1i 1", "ns")
    res = engine.write_lp("db", b"m,h=b f=2i 2\nm,h=c g=1 3\nm,h=d f=2.5 4\nm,h=e g=2,f=3i 5", "ns")
    assert [e.line_number for e in res.errors] == [3]
    assert res.lines_written == 3
    rows = engine.sql("db", "SELECT h, f, g FROM m ORDER BY time").to_pylist()
    assert [(r["h"], r["f"], r["g"]) for r in rows] == [("a", 1, None), ("b", 2, None), ("c", None, 1.0), ("e", 3, 2.0)]


def test_a_snapshot_merges_duplicate_rows_of_columns_whose_names_differ_only_in_case(engine):
    # DuckDB, which merges duplicates, binds names without regard to case: `host` and `Host` were
    # one column to it and the snapshot failed ("exists 2 times"), every time
    assert not engine.write_lp("db", "cpu,host=a,Host=b v=1,V=2 1\ncpu,host=a,Host=b v=3 1", "ns").errors
    engine.snapshot()
    got = engine.table_arrow("db", "cpu").to_pylist()
    assert [(r["host"], r["Host"], r["v"], r["V"]) for r in got] == [("a", "b", 3.0, 2.0)]
