"""Catalog: naming rules, limits, durable numbered log shared by several processes."""

import multiprocessing as mp

import pytest

from jupyter_influx3.engine import errors
from jupyter_influx3.engine.catalog import Catalog, Limits, parse_duration, validate_db_name


@pytest.mark.parametrize("name", ["foo/bar", "foo-bar", "foo_bar", "f", "1", "1/2", "1/-", "1/_", "1" * 511])
def test_valid_database_names_are_accepted(name):
    validate_db_name(name)


@pytest.mark.parametrize("name,msg", [
    ("foo/", "db name with invalid retention policy"),
    ("foo///", "db name with invalid retention policy"),
    ("foo?bar", "invalid character in database or rp name"),
    ("foo#bar", "invalid character in database or rp name"),
    ("foo@bar/baz", "invalid character in database or rp name"),
    ("_foo", "db name did not start with a number or letter"),
    ("-foo", "db name did not start with a number or letter"),
    ("/", "db name did not start with a number or letter"),
    ("", "db name cannot be empty"),
    ("1" * 512, "db name too long: max 511"),
    ("café", "invalid character in database or rp name"),
])
def test_invalid_database_names_give_influxdb_messages(name, msg):
    with pytest.raises(errors.InvalidDatabaseName, match=msg.replace("?", r"\?")):
        validate_db_name(name)


def test_internal_database_exists_and_uuid_is_stable_across_reopen(tmp_path):
    a = Catalog(tmp_path)
    assert a.db("_internal") is not None
    b = Catalog(tmp_path)
    assert a.uuid and a.uuid == b.uuid


def test_schema_committed_by_one_instance_is_seen_by_another(tmp_path):
    a, b = Catalog(tmp_path), Catalog(tmp_path)
    a.create_table("db1", "cpu", ["host"], [("usage", "float")])
    b.refresh()
    _, t = b.table("db1", "cpu")
    assert t.columns["host"].type == "tag" and t.columns["usage"].type == "float"


def test_database_limit_message(tmp_path):
    c = Catalog(tmp_path, Limits(max_databases=2))
    c.create_database("a")
    c.create_database("b")
    with pytest.raises(errors.LimitExceeded, match="Adding a new database would exceed limit of 2 databases"):
        c.create_database("c")


def test_soft_delete_renames_and_frees_the_name(tmp_path):
    c = Catalog(tmp_path)
    c.create_database("foo")
    new = c.delete_database("foo", hard_delete_at=None, now_ns=1_750_000_000 * 10**9)
    assert new == "foo-20250615T150640"
    c.create_database("foo")
    assert c.db("foo") is not None and not c.db("foo").deleted


def test_checkpoint_lets_a_new_reader_start_after_many_commits(tmp_path):
    c = Catalog(tmp_path)
    for i in range(130):
        c.create_table("db", f"t{i}", ["a"], [])
    d = Catalog(tmp_path)
    assert len(d.db("db").live_tables()) == 130


def _create_many(path, prefix, n):
    c = Catalog(path)
    for i in range(n):
        c.create_table("shared", f"{prefix}{i}", ["tag"], [("v", "int")])


def test_two_processes_committing_concurrently_lose_nothing(tmp_path):
    Catalog(tmp_path)
    ctx = mp.get_context("spawn")
    procs = [ctx.Process(target=_create_many, args=(tmp_path, p, 40)) for p in ("x", "y")]
    [p.start() for p in procs]
    [p.join(60) for p in procs]
    assert all(p.exitcode == 0 for p in procs)
    c = Catalog(tmp_path)
    names = {t.name for t in c.db("shared").live_tables()}
    assert names == {f"{p}{i}" for p in "xy" for i in range(40)}
    ids = [t.id for t in c.db("shared").tables.values()]
    assert len(ids) == len(set(ids))


def test_humantime_durations():
    assert parse_duration("7d") == 7 * 86400 * 10**9
    assert parse_duration("1h30m") == 5400 * 10**9
    with pytest.raises(ValueError):
        parse_duration("soon")
