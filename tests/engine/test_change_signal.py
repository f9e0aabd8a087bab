"""The data directory's change signal (engine/changesignal.py): every node announces its commits,
so a query on another node reads the other nodes' files only when something was committed, and
still sees every announced write at once."""

from __future__ import annotations

import time

import pytest

from jupyter_influx3.engine import Engine
from jupyter_influx3.engine import engine as engine_module
from jupyter_influx3.engine.changesignal import DATA_SIGNAL_FILE, ChangeSignal


def count(engine):
    return engine.sql("db", "SELECT count(*) AS c FROM m").column("c")[0].as_py()


@pytest.fixture
def nodes(tmp_path):
    a = Engine(tmp_path, node_id="a", background=False)
    b = Engine(tmp_path, node_id="b", background=False)
    yield a, b
    b.close()
    a.close()


def test_every_announced_commit_is_seen_by_the_next_query_on_another_node(nodes, monkeypatch):
    monkeypatch.setattr(engine_module, "REFRESH_MAX_AGE_S", 3600.0)   # only the signal makes b look
    a, b = nodes
    a.write_lp("db", b"m,k=1 v=1i 1", "ns")
    assert count(b) == 1
    a.write_lp("db", b"m,k=2 v=2i 2", "ns")          # a WAL record
    assert count(b) == 2
    a.snapshot()                                      # a manifest (and the WAL file retired)
    a.write_lp("db", b"m,k=3 v=3i 3", "ns")
    assert count(b) == 3
    a.create_database("other")                        # a catalog commit
    b.refresh()
    assert "other" in {d.name for d in b.catalog.databases.values()}


def write_unannounced(a, b, monkeypatch) -> None:
    """b has read a's first row; a then writes a second one without announcing it (a node on
    another machine sharing the directory)."""
    monkeypatch.setattr(engine_module, "REFRESH_MAX_AGE_S", 3600.0)
    a.write_lp("db", b"m,k=1 v=1i 1", "ns")
    assert count(b) == 1
    a.catalog.data_signal.close()
    a.catalog.data_signal = None
    a.write_lp("db", b"m,k=2 v=2i 2", "ns")


def test_a_writer_that_does_not_announce_is_seen_within_the_refresh_age(nodes, monkeypatch):
    a, b = nodes
    write_unannounced(a, b, monkeypatch)
    assert count(b) == 1                              # nothing announced: b did not read a's files
    monkeypatch.setattr(engine_module, "REFRESH_MAX_AGE_S", 0.05)
    time.sleep(0.1)
    assert count(b) == 2                              # the look is too old: b reads them anyway


def test_a_forced_refresh_reads_every_node_whatever_the_signal_says(nodes, monkeypatch):
    a, b = nodes
    write_unannounced(a, b, monkeypatch)
    b.refresh(force=True)
    assert count(b) == 2


def test_commits_of_two_processes_at_once_are_each_counted(tmp_path):
    one, two = ChangeSignal(tmp_path / DATA_SIGNAL_FILE), ChangeSignal(tmp_path / DATA_SIGNAL_FILE)
    seen = one.value()
    for _ in range(50):
        one.bump()
        two.bump()
    assert two.value() == seen + 100
    assert one.pending() == seen + 100                # `seen` was taken when `one` was opened
    one.close()
    two.close()
