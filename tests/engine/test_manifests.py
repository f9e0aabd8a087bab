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
