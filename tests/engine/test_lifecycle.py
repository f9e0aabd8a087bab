"""Databases and tables over their life: create, retention, soft delete, hard delete, purge."""

import time

import pytest

from jupyter_influx3.engine import errors
from jupyter_influx3.engine.lifecycle import DEFAULT_HARD_DELETE_NS, parse_hard_delete_at


def test_hard_delete_at_keywords_and_times():
    now = 1_000 * 10**9
    assert parse_hard_delete_at("now", now) == now
    assert parse_hard_delete_at("never", now) is None
    assert parse_hard_delete_at("default", now) == now + DEFAULT_HARD_DELETE_NS
    assert parse_hard_delete_at(None, now) == now + DEFAULT_HARD_DELETE_NS
    assert parse_hard_delete_at("2125-12-31T23:59:59Z", now) == 4922899199 * 10**9
    assert parse_hard_delete_at("2020-01-01T00:00:00Z", 1_700_000_000 * 10**9) == 1_700_000_000 * 10**9
    with pytest.raises(errors.InvalidTimestamp, match="Cannot parse the timestamp"):
        parse_hard_delete_at("invalid-timestamp", now)


def test_list_databases_sorted_with_deleted_last(engine):
    engine.create_database("foo")
    engine.create_database("bar")
    engine.delete_database("foo", hard_delete_at="never")
    assert engine.list_databases().column("iox::database").to_pylist() == ["_internal", "bar"]
    t = engine.list_databases(show_deleted=True).to_pylist()
    assert [r["deleted"] for r in t] == [False, False, True]
    assert t[2]["iox::database"].startswith("foo-")


def test_create_existing_database_conflicts_and_deleted_name_is_reusable(engine):
    engine.create_database("foo")
    with pytest.raises(errors.AlreadyExists):
        engine.create_database("foo")
    engine.delete_database("foo")
    engine.create_database("foo")


def test_internal_database_cannot_be_deleted(engine):
    with pytest.raises(errors.CannotModifyInternalDatabase, match="cannot delete internal db"):
        engine.delete_database("_internal")


def test_unknown_database_delete_is_not_found(engine):
    with pytest.raises(errors.NotFound, match="the requested resource was not found: nope"):
        engine.delete_database("nope")


def test_hard_delete_now_removes_schema_and_files(engine):
    engine.write_lp("gone", b"m,t=a v=1 1\nm,t=b v=2 2", "ns")
    files = engine.snapshot()
    assert all((engine.data_dir / f.path).exists() for f in files)
    engine.delete_database("gone", hard_delete_at="now")
    assert all(d.name != "gone" and not d.name.startswith("gone-") for d in engine.catalog.databases.values())
    assert engine.index.all() == []
    engine._delete_retired(everything=True)
    assert not any((engine.data_dir / f.path).exists() for f in files)


def test_table_delete_renames_and_old_name_can_be_written_again(engine):
    engine.write_lp("db", b"tbl v=1 1", "ns")
    new = engine.delete_table("db", "tbl", hard_delete_at="never")
    assert new.startswith("tbl-")
    engine.write_lp("db", b"tbl v=2 2", "ns")
    names = sorted(t.name for t in engine.catalog.db("db").tables.values())
    assert names[0] == "tbl" and names[1] == new


def test_create_table_with_typed_fields_and_reserved_name(engine):
    engine.create_table("foo", "bar", ["tag1", "tag2"], [("field1", "uint64"), ("field4", "utf8")])
    _, t = engine.catalog.table("foo", "bar")
    assert {c.name: c.type for c in t.columns.values()} == {
        "time": "time", "tag1": "tag", "tag2": "tag", "field1": "uint", "field4": "string"}
    with pytest.raises(errors.AlreadyExists):
        engine.create_table("foo", "bar", [], [])
    with pytest.raises(errors.InvalidConfiguration, match="'time' is a reserved column"):
        engine.create_table("foo", "baz", ["time"], [])
    with pytest.raises(errors.InvalidConfiguration):
        engine.create_table("foo", "baz", [], [("f", "foobar")])


def test_retention_expires_old_files(engine):
    old = (time.time_ns() - 10 * 86400 * 10**9)
    engine.write_lp("ret", f"m v=1 {old}\nm v=2 {time.time_ns()}".encode(), "ns")
    engine.snapshot()
    assert len(engine.index.all()) == 2   # one file per UTC day
    engine.update_database("ret", "7d")
    assert engine.purge() == 1
    assert len(engine.index.all()) == 1


def test_bad_retention_period_is_rejected(engine):
    with pytest.raises(errors.InvalidDuration, match="Cannot parse the given human time"):
        engine.create_database("x", "forever")
