"""Backups and restores on real engines (two nodes of one data directory, real Parquet)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import pytest

from jupyter_influx3.engine import Engine, errors
from jupyter_influx3.engine.admin import AdminError, restore_offline


def rows(engine, db="db"):
    return engine.sql(db, "SELECT host, v FROM cpu ORDER BY host").to_pylist()


def hosts(engine, db="db"):
    return [r["host"] for r in rows(engine, db)]


@pytest.fixture
def nodes(tmp_path):
    a = Engine(tmp_path / "data", node_id="a", background=False)
    b = Engine(tmp_path / "data", node_id="b", background=False)
    yield a, b
    b.close()
    a.close()


def test_backup_holds_unpersisted_writes_of_every_node(nodes, tmp_path):
    a, b = nodes
    a.write_lp("db", "cpu,host=a v=1 1000")
    b.write_lp("db", "cpu,host=b v=2 2000")        # only in b's WAL
    record = a.admin.create_backup("one", wait=True)
    assert record["status"] == "completed", record
    assert record["total_files"] == 2 and all(len(f["sha256"]) == 64 for f in record["files"])
    assert set(record["watermark"]["nodes"]) == {"a", "b"}
    restore_offline(tmp_path / "data" / "backups" / "one", tmp_path / "new")
    with Engine(tmp_path / "new", node_id="c", background=False) as c:
        assert rows(c) == [{"host": "a", "v": 1.0}, {"host": "b", "v": 2.0}]
        assert c.cluster_uuid == a.cluster_uuid     # disaster recovery keeps the cluster id


def test_live_restore_rolls_every_node_back_and_keeps_later_writes(nodes):
    a, b = nodes
    a.write_lp("db", "cpu,host=a v=1 1000")
    a.admin.create_backup("one", wait=True)
    a.write_lp("db", "cpu,host=late v=9 9000")
    b.write_lp("db", "cpu,host=lateb v=9 9000")
    a.write_lp("other", "mem v=1 1")
    a.snapshot()
    assert hosts(b) == ["a", "late", "lateb"]
    assert a.admin.create_restore("one", wait=True)["status"] == "completed"
    assert hosts(a) == ["a"] and hosts(b) == ["a"]
    assert [d.name for d in b.catalog.live_databases()] == ["_internal", "db"]
    a.write_lp("db", "cpu,host=after v=2 2000")
    b.write_lp("db", "cpu,host=afterb v=2 2000")
    assert hosts(b) == ["a", "after", "afterb"]
    b.snapshot()                                   # b's WAL still holds rows from before the restore
    a.snapshot()
    assert hosts(a) == ["a", "after", "afterb"]


def test_restored_data_survives_a_restart_and_wal_replay(tmp_path):
    a = Engine(tmp_path / "d", node_id="a", background=False)
    a.write_lp("db", "cpu,host=a v=1 1000")
    a.admin.create_backup("one", wait=True)
    a.write_lp("db", "cpu,host=late v=9 9000")     # in the WAL only, written before the restore
    a.admin.create_restore("one", wait=True)
    a.wal.close()                                  # a crash: the WAL is not persisted by close()
    os.close(a._lock_fd)
    a2 = Engine(tmp_path / "d", node_id="a", background=False)
    assert hosts(a2) == ["a"]
    a2.close()


def test_incremental_backup_copies_only_new_files_and_delete_takes_children(nodes):
    a, _ = nodes
    a.write_lp("db", "cpu,host=a v=1 1000")
    full = a.admin.create_backup("full", wait=True)
    a.write_lp("db", "cpu,host=b v=2 2000")
    inc = a.admin.create_backup("inc", kind="incremental", parent="full", wait=True)
    assert inc["status"] == "completed" and inc["total_files"] == 2
    assert sorted(f["backup"] for f in inc["files"]) == ["full", "inc"]
    assert inc["total_size_bytes"] < full["total_size_bytes"] * 2 and inc["total_size_bytes"] > 0
    a.write_lp("db", "cpu,host=c v=3 3000")
    assert a.admin.create_restore("inc", wait=True)["status"] == "completed"
    assert hosts(a) == ["a", "b"]
    with pytest.raises(AdminError) as e:
        a.admin.delete_backup("full")
    assert e.value.status == 409
    assert a.admin.delete_backup("full", incremental=True) == {"backup_name": "full", "type": "full"}
    assert a.admin.list_backups() == []


def test_duplicate_names_force_and_bad_names(nodes):
    a, _ = nodes
    a.write_lp("db", "cpu,host=a v=1 1000")
    a.admin.create_backup("one", wait=True)
    with pytest.raises(AdminError) as e:
        a.admin.create_backup("one")
    assert e.value.status == 409
    assert a.admin.create_backup("one", force=True, wait=True)["status"] == "completed"
    for bad in ("../x", "dbs", ".hidden", "a/b", "x" * 200, ""):
        with pytest.raises(AdminError) as e:
            a.admin.create_backup(bad or "dbs")
        assert e.value.status == 400
    with pytest.raises(AdminError) as e:
        a.admin.create_restore("nope")
    assert e.value.status == 404


def test_a_corrupt_backup_is_refused_and_the_live_data_is_untouched(nodes):
    a, _ = nodes
    a.write_lp("db", "cpu,host=a v=1 1000")
    record = a.admin.create_backup("one", wait=True)
    a.write_lp("db", "cpu,host=b v=2 2000")
    f = a.data_dir / "backups" / "one" / "data" / record["files"][0]["path"]
    data = bytearray(f.read_bytes())
    data[len(data) // 2] ^= 0xFF
    f.write_bytes(bytes(data))
    restore = a.admin.create_restore("one", wait=True)
    assert restore["status"] == "failed" and "checksum" in restore["error"]
    assert hosts(a) == ["a", "b"]
    assert not list((a.data_dir / "a" / "dbs").rglob("r*-*.parquet"))   # copies removed


def test_a_backup_whose_process_died_is_failed_never_completed(tmp_path):
    data = tmp_path / "d"
    Engine(data, node_id="a", background=False).close()
    # a process that starts a backup and is killed before it can finish
    script = textwrap.dedent(f"""
        import os, signal
        from jupyter_influx3.engine import Engine
        from jupyter_influx3.engine.admin import backup
        e = Engine({str(data)!r}, node_id="a", background=False)
        e.write_lp("db", "cpu,host=a v=1 1000")
        def die(*a, **k):
            os.kill(os.getpid(), signal.SIGKILL)
        backup.copy_verified = die
        e.admin.create_backup("one", wait=True)
    """)
    subprocess.run([sys.executable, "-c", script], timeout=60)
    record = json.loads((data / "backups" / "one" / "manifest.json").read_text())
    assert record["status"] == "in_progress"       # what the dead process left
    with Engine(data, node_id="b", background=False) as b:
        got = b.admin.get_backup("one")
        assert got["status"] == "failed" and "interrupted" in got["error"]
        assert hosts(b) == ["a"]                  # the dead node's WAL was adopted


def test_non_node_folders_are_never_taken_for_nodes(nodes):
    a, b = nodes
    a.write_lp("db", "cpu,host=a v=1 1000")
    a.admin.create_backup("one", wait=True)
    (a.data_dir / "admin").mkdir(exist_ok=True)
    b.refresh()
    assert set(b.replicas) <= {"a"}
    assert all(p.name not in ("backups", "admin", "catalog") for p in a._other_node_dirs())
    for reserved in ("backups", "admin", "catalog"):
        with pytest.raises(errors.InvalidConfiguration):
            Engine(a.data_dir, node_id=reserved, background=False)
    assert not (a.data_dir / "backups" / "dbs").exists()


def test_last_value_caches_follow_a_restore(tmp_path):
    with Engine(tmp_path / "d", node_id="a", background=False) as a:
        a.write_lp("db", "cpu,host=a v=1 1000")
        a.create_last_cache("db", "cpu", "lc", key_columns=["host"], value_columns=["v"])
        a.admin.create_backup("one", wait=True)
        a.write_lp("db", "cpu,host=a v=9 2000")
        last = lambda: a.sql("db", "SELECT v FROM last_cache('cpu', 'lc')").to_pylist()  # noqa: E731
        assert last() == [{"v": 9.0}]
        a.admin.create_restore("one", wait=True)
        assert last() == [{"v": 1.0}]
        a._maintain_caches()        # the maintenance loop works on the registry the restore made

