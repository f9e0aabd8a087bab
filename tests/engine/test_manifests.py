"""The file index over many manifests: a refresh opens only what is new, whatever the history.

A node writes a manifest per snapshot and every query refreshes the file index, so a year of
snapshots must not make each query list and sort tens of thousands of names (benchmarks/scale.py).
"""

import os

from jupyter_influx3.engine import Engine, persist
from jupyter_influx3.engine.persist import FileIndex, FileMeta, write_manifest


def meta(i: int) -> FileMeta:
    return FileMeta(f"a/dbs/0/0/1970-01-01/00-00/{i}.parquet", 0, 0, 0, i, i, 1, 10, i, i, ["time"])


def listings(monkeypatch) -> list[str]:
    """Paths listed whole by os.listdir from now on (a spy, the call still happens)."""
    calls, real = [], os.listdir
    monkeypatch.setattr(persist.os, "listdir", lambda p=".": calls.append(str(p)) or real(p))
    return calls


def test_refresh_after_a_long_history_opens_new_manifests_without_listing_the_folder(tmp_path, monkeypatch):
    for i in range(1, 101):
        write_manifest(tmp_path, "a", wal_upto=i, added=[meta(i)], removed=[])
    index = FileIndex(tmp_path)
    assert index.refresh() and len(index.files) == 100
    calls = listings(monkeypatch)
    write_manifest(tmp_path, "a", wal_upto=101, added=[meta(101)], removed=[meta(1).path])
    assert index.refresh()
    assert not index.refresh()                      # nothing new: nothing applied
    assert len(index.files) == 100 and meta(1).path not in index.files and meta(101).path in index.files
    assert index.wal_persisted["a"] == 101
    assert not [c for c in calls if c.endswith("snapshots")]


def test_a_manifest_out_of_sequence_is_found_by_the_periodic_whole_listing(tmp_path):
    write_manifest(tmp_path, "a", wal_upto=1, added=[meta(1)], removed=[])
    index = FileIndex(tmp_path)
    index.refresh()
    # a gap in the numbering (never made by write_manifest, e.g. a folder copied by hand)
    gap = persist.snapshot_dir(tmp_path, "a") / f"{5:020d}.json"
    gap.write_text('{"node": "a", "wal_upto": 5, "added": [], "removed": ["%s"]}' % meta(1).path)
    index.refresh()
    assert meta(1).path in index.files              # not listed yet
    index.FULL_SCAN_S = 0.0
    assert index.refresh() and meta(1).path not in index.files and index.wal_persisted["a"] == 5
    persist._last_written.clear()                   # a writer started after the gap numbers after it
    assert write_manifest(tmp_path, "a", wal_upto=6, added=[meta(6)], removed=[]) == 6
    index.FULL_SCAN_S = 3600.0
    assert index.refresh() and meta(6).path in index.files


def test_a_node_whose_manifest_folder_appears_later_is_read(tmp_path):
    index = FileIndex(tmp_path)
    (tmp_path / "b").mkdir()
    assert not index.refresh()
    write_manifest(tmp_path, "b", wal_upto=3, added=[meta(7)], removed=[])
    assert index.refresh() and meta(7).path in index.files and index.wal_persisted["b"] == 3


def test_a_reader_node_sees_every_snapshot_of_a_writer_node_with_many_manifests(tmp_path):
    writer = Engine(tmp_path, node_id="w", background=False)
    reader = Engine(tmp_path, node_id="r", background=False)
    try:
        for i in range(40):
            writer.write_lp("db", f"m,k={i % 3} v={i}i {i}", "ns")
            writer.snapshot()
            if i % 10 == 9:
                assert reader.sql("db", "SELECT count(*) AS c FROM m").column("c")[0].as_py() == i + 1
        writer.compact()
        assert reader.sql("db", "SELECT count(*) AS c, sum(v) AS s FROM m").to_pylist() == [{"c": 40, "s": 780}]
        assert reader.last_query_telemetry["buffer_chunks_scanned"] == 0
    finally:
        reader.close()
        writer.close()


def test_writing_a_manifest_after_a_long_history_does_not_list_the_folder(tmp_path, monkeypatch):
    for i in range(1, 51):
        assert write_manifest(tmp_path, "a", wal_upto=i, added=[], removed=[]) == i
    calls = listings(monkeypatch)
    assert write_manifest(tmp_path, "a", wal_upto=51, added=[], removed=[]) == 51
    assert not calls


def test_a_manifest_number_taken_by_another_writer_is_not_overwritten_nor_skipped(tmp_path):
    assert write_manifest(tmp_path, "a", wal_upto=1, added=[], removed=[]) == 1
    other = persist.snapshot_dir(tmp_path, "a") / f"{2:020d}.json"   # another process took number 2
    other.write_text('{"node": "a", "wal_upto": 2, "added": [], "removed": []}')
    assert write_manifest(tmp_path, "a", wal_upto=3, added=[], removed=[]) == 3
    assert '"wal_upto": 2' in other.read_text()
    index = FileIndex(tmp_path)
    index.refresh()
    assert index.wal_persisted["a"] == 3


def test_manifests_of_a_folder_emptied_and_used_again_start_at_one(tmp_path):
    assert write_manifest(tmp_path, "a", wal_upto=1, added=[], removed=[]) == 1
    assert write_manifest(tmp_path, "a", wal_upto=2, added=[], removed=[]) == 2
    for p in persist.snapshot_dir(tmp_path, "a").iterdir():
        p.unlink()
    assert write_manifest(tmp_path, "a", wal_upto=3, added=[], removed=[]) == 1


DAY = persist.DAY_NS


def day_file(i: int, day: int, first: int = 0, last: int = DAY - 1, table: int = 0) -> FileMeta:
    return FileMeta(f"a/f{i}.parquet", 0, table, day, day * DAY + first, day * DAY + last, 10, 10, i, i, ["time"],
                    row_groups=2)


def test_files_of_a_time_range_are_found_by_day_including_a_file_spanning_days(tmp_path):
    index = FileIndex(tmp_path)
    files = [day_file(d, d) for d in range(0, 400)] + [day_file(1000, 10, 0, 3 * DAY)]   # the last spans 4 days
    files.append(day_file(2000, 5, table=1))                                            # another table
    index.apply("a", {"added": [f.__dict__ for f in files], "removed": [], "wal_upto": None})

    def paths(lo, hi):
        return sorted(f.path for f in index.for_table(0, 0, lo, hi))

    assert paths(200 * DAY + 5, 200 * DAY + 9) == ["a/f200.parquet"]
    assert paths(201 * DAY, 201 * DAY) == ["a/f201.parquet"]                 # bounds are inclusive
    assert paths(201 * DAY - 1, 201 * DAY) == ["a/f200.parquet", "a/f201.parquet"]
    assert paths(12 * DAY, 12 * DAY + 1) == ["a/f1000.parquet", "a/f12.parquet"]
    assert paths(398 * DAY, None) == ["a/f398.parquet", "a/f399.parquet"]
    assert paths(None, DAY - 1) == ["a/f0.parquet"]
    assert len(paths(None, None)) == 401 and paths(-5 * DAY, -1) == []
    assert index.table_totals(0, 0) == (401, 802) and index.table_totals(0, 1) == (1, 2)
    index.apply("a", {"added": [], "removed": ["a/f200.parquet", "a/f1000.parquet"], "wal_upto": None})
    assert paths(200 * DAY, 200 * DAY + 1) == [] and paths(12 * DAY, 12 * DAY + 1) == ["a/f12.parquet"]
    assert index.table_totals(0, 0) == (399, 798)


def test_a_query_over_an_hour_reads_the_files_of_that_day_and_answers_like_a_full_scan(tmp_path):
    e = Engine(tmp_path, node_id="n", background=False, compaction_min_files=2)
    try:
        hour = 3600 * 10**9
        for day in range(6):
            for half in range(2):   # two snapshots per day, merged by compaction
                rows = [f"m,k={k} v={day * 100 + half * 10 + k}i {day * DAY + half * 12 * hour + k * hour}"
                        for k in range(3)]
                e.write_lp("db", "\n".join(rows), "ns")
                e.snapshot()
        assert e.index.table_totals(*_ids(e)) == (12, 12)
        e.compact()
        assert e.index.table_totals(*_ids(e)) == (6, 6)
        lo, hi = 3 * DAY + hour, 3 * DAY + 2 * hour
        q = f"SELECT k, v FROM m WHERE time >= {lo} AND time < {hi} ORDER BY k"
        got = e.sql("db", q.replace(f"time >= {lo}", f"time >= to_timestamp({lo})")
                    .replace(f"time < {hi}", f"time < to_timestamp({hi})")).to_pylist()
        assert got == [{"k": "1", "v": 301}]
        tel = e.last_query_telemetry
        assert (tel["files_scanned"], tel["files_total"]) == (1, 6)
        everything = e.sql("db", "SELECT k, v FROM m ORDER BY time").to_pylist()
        assert len(everything) == 36 and e.last_query_telemetry["files_scanned"] == 6
    finally:
        e.close()


def _ids(e):
    d = e.catalog.db("db")
    return d.id, d.table("m").id
