"""engine/afterwards.py: work handed to ``later`` runs at once, except inside ``deferred``, where
it waits in the block's list until its opener runs it (after writing an answer)."""

from __future__ import annotations

import logging
import threading

from jupyter_influx3.engine import afterwards


def test_work_outside_a_deferred_block_runs_at_once():
    done = []
    afterwards.later(lambda: done.append(1))
    assert done == [1]


def test_work_inside_a_deferred_block_waits_for_run_in_order():
    done, pending = [], []
    with afterwards.deferred(pending) as got:
        assert got is pending
        afterwards.later(lambda: done.append("a"))
        afterwards.later(lambda: done.append("b"))
        assert done == []
    assert len(pending) == 2 and done == []
    afterwards.later(lambda: done.append("after the block"))   # the block is over: at once
    assert done == ["after the block"]
    afterwards.run(pending)
    assert done == ["after the block", "a", "b"] and pending == []


def test_a_nested_block_hands_work_to_its_own_list_and_restores_the_outer_one():
    outer, inner, done = [], [], []
    with afterwards.deferred(outer):
        with afterwards.deferred(inner):
            afterwards.later(lambda: done.append("inner"))
        afterwards.later(lambda: done.append("outer"))
    assert len(inner) == 1 and len(outer) == 1 and done == []


def test_a_block_left_by_an_exception_still_stops_deferring():
    pending, done = [], []
    try:
        with afterwards.deferred(pending):
            raise ValueError("boom")
    except ValueError:
        pass
    afterwards.later(lambda: done.append(1))
    assert done == [1] and pending == []


def test_failing_work_is_logged_and_the_rest_still_runs(caplog):
    pending, done = [], []
    with afterwards.deferred(pending):
        afterwards.later(lambda: 1 / 0)
        afterwards.later(lambda: done.append("second"))
    with caplog.at_level(logging.ERROR, logger="jupyter_influx3.engine.afterwards"):
        afterwards.run(pending)
    assert done == ["second"] and pending == []
    assert "deferred work failed" in caplog.text and "ZeroDivisionError" in caplog.text


def test_another_threads_work_is_not_deferred_by_this_threads_block():
    pending, done = [], []
    with afterwards.deferred(pending):
        t = threading.Thread(target=lambda: afterwards.later(lambda: done.append("other thread")))
        t.start()
        t.join()
    assert done == ["other thread"] and pending == []
