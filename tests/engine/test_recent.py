"""engine/recent.py: the least recently used entry is the one let go."""

from __future__ import annotations

import copy
import pickle

from jupyter_influx3.engine.recent import Recent


def test_keeping_past_the_size_lets_go_of_the_least_recently_used():
    r = Recent(3)
    for k in "abc":
        r.keep(k, k.upper())
    assert r.recall("a") == "A"       # a is now the most recent
    r.keep("d", "D")
    assert list(r) == ["c", "a", "d"]
    assert "b" not in r and len(r) == 3


def test_get_and_in_only_look():
    r = Recent(2)
    r.keep("a", 1)
    r.keep("b", 2)
    assert r.get("a") == 1 and "a" in r
    r.keep("c", 3)                    # a was only looked at: it is the oldest
    assert list(r) == ["b", "c"]


def test_keeping_a_known_key_makes_it_the_most_recent():
    r = Recent(2)
    r.keep("a", 1)
    r.keep("b", 2)
    r.keep("a", 10)
    r.keep("c", 3)
    assert dict(r) == {"a": 10, "c": 3}


def test_a_kept_none_is_told_from_a_missing_key():
    r = Recent(2)
    r.keep("none", None)
    missing = object()
    assert r.recall("none", missing) is None
    assert r.recall("other", missing) is missing


def test_a_copy_keeps_the_size():
    r = Recent(2)
    r.keep("a", 1)
    for c in (copy.copy(r), copy.deepcopy(r), pickle.loads(pickle.dumps(r))):
        assert isinstance(c, Recent) and c.size == 2 and dict(c) == {"a": 1}
        c.keep("b", 2)
        c.keep("c", 3)
        assert list(c) == ["b", "c"]
