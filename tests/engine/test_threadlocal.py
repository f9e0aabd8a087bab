"""engine/threadlocal.py: a thread-local attribute holds a value for a block, then its value from
before (None when it had none), however the block ends; other threads never see it."""

from __future__ import annotations

import threading

import pytest

from jupyter_influx3.engine.threadlocal import binding


def test_a_binding_holds_its_value_in_the_block_and_the_earlier_one_after_it():
    local = threading.local()
    with binding(local, "x", "outer") as got:
        assert got == "outer" and local.x == "outer"
        with binding(local, "x", "inner"):
            assert local.x == "inner"
        assert local.x == "outer"
    assert local.x is None


def test_a_block_left_by_an_exception_gives_the_earlier_value_back():
    local = threading.local()
    local.x = 1
    with pytest.raises(KeyError):
        with binding(local, "x", 2):
            raise KeyError("boom")
    assert local.x == 1


def test_another_thread_does_not_see_the_binding():
    local, seen = threading.local(), []
    with binding(local, "x", "here"):
        t = threading.Thread(target=lambda: seen.append(getattr(local, "x", "unset")))
        t.start()
        t.join()
    assert seen == ["unset"]
