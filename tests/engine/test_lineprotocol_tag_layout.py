"""The fast path's tag columns from a kept layout (assemble._tag_layout on _Series.tag_layout).

When a table's rows hold every series of a body, first met in series order (the usual batch of
a collector), the tag columns come from a layout kept with the cached series instead of being
encoded again.  These bodies take that path (checked: the layout is filled) and must give what
the exact parser gives, also on the bodies after them with the same series, and on bodies that
must not take it (a series' first line rejected, two tables, a series missing from a table).
"""

from __future__ import annotations

import pytest

from jupyter_influx3.engine import lineprotocol as lp
from jupyter_influx3.engine.lineprotocol import series as series_mod

from test_lineprotocol_conformance import canonical, run_both


def dictionary_holds_each_row_value_once(res):
    for t in res.tables:
        for key, arr in t.tags.items():
            values = arr.dictionary.to_pylist()
            assert len(values) == len(set(values)), key
            assert set(values) == {v for v in arr.to_pylist() if v is not None}, key


def kept_layouts() -> int:
    return sum(s.tag_layout is not None for s in series_mod._SERIES_CACHE.values())


TRICKY_SERIES = [
    "cpu,host=é☃,dc=a",  # unicode
    "cpu,host=h=1,dc=b",  # '=' in a tag value
    "cpu,dc=c,host=h2",  # other key order
    "cpu,host=" + "v" * 300 + ",dc=d",  # a long value
    "cpu,host=h4",  # no dc
    "cpu,zz=1,host=h5,dc=a",  # a key first met late
    "cpu",  # no tags at all
    "cpu," + ",".join(f"k{j:02d}=v{j}" for j in range(40)),  # many tag keys
    'cpu,host="q",dc=a',  # a quote in a tag value (before the first space)
]


def body(series, value="1i", ts0=1):
    return "\n".join(f"{s} f={value},g=2 {ts0 + i}" for i, s in enumerate(series)) + "\n"


@pytest.fixture(autouse=True)
def fresh_series_cache():
    series_mod._SERIES_CACHE.clear()
    yield
    series_mod._SERIES_CACHE.clear()


def test_tricky_series_take_the_kept_layout_and_match_the_exact_parser():
    lines = TRICKY_SERIES * 3  # every series, in the same order, three times
    res = run_both(body(lines))
    assert kept_layouts() == 1
    dictionary_holds_each_row_value_once(res)
    (t,) = res.tables
    assert t.tags["host"].to_pylist()[:6] == ["é☃", "h=1", "h2", "v" * 300, "h4", "h5"]
    assert t.tags["dc"].to_pylist()[4] is None
    assert t.tags["k39"].to_pylist() == [None] * 7 + ["v39", None] + [None] * 7 + ["v39", None] + [None] * 7 + ["v39", None]


def test_a_later_body_with_the_same_series_reuses_the_layout_and_matches_the_exact_parser():
    run_both(body(TRICKY_SERIES * 2))
    assert kept_layouts() == 1
    # same distinct series in the same first-seen order, but repeated in another pattern
    again = TRICKY_SERIES + TRICKY_SERIES[::-1] + TRICKY_SERIES[3:]
    res = run_both(body(again, "7.5", 100))
    assert kept_layouts() == 1
    dictionary_holds_each_row_value_once(res)
    (t,) = res.tables
    assert t.tags["host"].to_pylist()[len(TRICKY_SERIES):][:2] == ['"q"', None]
    exact = lp.parse_exact(body(again, "7.5", 100), "ns")
    assert canonical(lp.parse_fast(body(again, "7.5", 100), "ns")) == canonical(exact)


def test_a_rejected_first_line_of_a_series_changes_the_order_and_still_matches():
    lines = TRICKY_SERIES * 2
    text = body(lines).splitlines()
    # the series bringing tag key zz is first accepted after the one bringing k00..k39
    text[5] = text[5].replace("f=1i", "f=oops")
    res = run_both("\n".join(text))
    dictionary_holds_each_row_value_once(res)
    assert [e.line_number for e in res.errors] == [6]
    (t,) = res.tables
    keys = list(t.tags)
    assert keys.index("k00") < keys.index("zz")
    # and the same series with nothing rejected still takes the layout
    run_both(body(lines))
    assert kept_layouts() == 1


def test_two_tables_in_one_body_take_the_general_path_and_match():
    lines = [s.replace("cpu", "mem", 1) if i % 3 == 0 else s for i, s in enumerate(TRICKY_SERIES * 2)]
    res = run_both(body(lines))
    assert len(res.tables) == 2
    dictionary_holds_each_row_value_once(res)
    assert kept_layouts() == 0


def test_a_line_left_to_the_exact_parser_merges_with_the_layout_rows():
    lines = body(TRICKY_SERIES * 2).splitlines()
    lines.insert(4, r"cpu,host=h\ x,dc=a f=1i,g=2 99")  # an escape: the exact line parser
    res = run_both("\n".join(lines))
    dictionary_holds_each_row_value_once(res)
    (t,) = res.tables
    assert t.tags["host"].to_pylist()[4] == "h x"
