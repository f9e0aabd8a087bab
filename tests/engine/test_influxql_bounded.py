"""engine/influxql/bounded.py: whether a query's work is bounded before it runs, counted from its
plan and the series cache's copy, without reading a row or building a copy. A server runs a text
it has never seen on its event loop only when this holds (http/base.try_inline)."""

from __future__ import annotations

import pytest

from jupyter_influx3.engine import Engine
from jupyter_influx3.engine.influxql import bounded as boundedmod
from jupyter_influx3.engine.influxql.bounded import bounded
from jupyter_influx3.engine.influxql.executor import Executor
from jupyter_influx3.engine.sql.seriescache import cache_for

S = 1_700_000_000          # first point (s)
STEP = 10                  # s between points
POINTS = 720               # two hours a host
NOW = (S + 86_400) * 10**9
HOSTS = 4


def _lines() -> str:
    return "".join(f"cpu,host=h{h},dc=d{h % 2} u={i % 97}.5,s={i}i {(S + STEP * i) * 10**9}\n"
                   for h in range(HOSTS) for i in range(POINTS))


@pytest.fixture
def ex(tmp_path):
    eng = Engine(str(tmp_path / "data"), node_id="n", background=False)
    eng.write_lp("db", _lines(), precision="nanosecond")
    try:
        yield Executor(eng)
    finally:
        eng.close()


def _copy(ex: Executor) -> None:
    """Build the series cache's copy of cpu, as a query's first run in the pool does."""
    list(ex.execute(f"SELECT max(u) FROM cpu WHERE time >= {S}s AND time < {S + 60}s", database="db", now_ns=NOW))
    assert cache_for(ex.engine).builds == 1


def _bounded(ex: Executor, text: str) -> bool:
    return bounded(ex, ex.parse(text), "db", None, NOW)


ONE_HOUR = f"time >= {S}s AND time < {S + 3600}s"


def test_a_small_select_over_one_series_of_a_copy_is_bounded_and_counted_exactly(ex):
    _copy(ex)
    text = f"SELECT max(u) FROM cpu WHERE host = 'h1' AND {ONE_HOUR} GROUP BY time(1m)"
    assert _bounded(ex, text)
    got = ex.extent(ex.parse(text).statements[0], "db", None, NOW, boundedmod.MAX_SERIES)
    # one series: 360 points in the hour; 61 windows (and one more the fill may add) x 2 columns
    assert got.rows == 3600 // STEP and not got.merged
    assert 61 * 2 <= got.cells <= 63 * 2


def test_without_a_copy_nothing_is_bounded_and_the_check_builds_none(ex):
    text = f"SELECT max(u) FROM cpu WHERE host = 'h1' AND {ONE_HOUR} GROUP BY time(1m)"
    assert not _bounded(ex, text)
    cache = cache_for(ex.engine)
    assert cache.builds == 0 and not cache._building   # no copy built, now or in the background


def test_the_check_is_no_read_of_the_copy(ex):
    _copy(ex)
    cache = cache_for(ex.engine)
    hits = cache.hits
    assert _bounded(ex, f"SELECT max(u) FROM cpu WHERE host = 'h2' AND {ONE_HOUR} GROUP BY time(1m)")
    assert cache.hits == hits


NOT_BOUNDED = [
    ("a call outside CALLS", f"SELECT percentile(u, 90) FROM cpu WHERE host = 'h1' AND {ONE_HOUR}"),
    ("a nested call outside CALLS", f"SELECT max(u) + derivative(mean(u), 1s) FROM cpu WHERE {ONE_HOUR}"),
    ("a time zone", f"SELECT max(u) FROM cpu WHERE host = 'h1' AND {ONE_HOUR} GROUP BY time(1m) tz('Europe/Paris')"),
    ("INTO", f"SELECT max(u) INTO other FROM cpu WHERE host = 'h1' AND {ONE_HOUR} GROUP BY time(1m)"),
    ("a subquery", f"SELECT max(m) FROM (SELECT mean(u) AS m FROM cpu WHERE {ONE_HOUR} GROUP BY time(1m))"),
    ("two measurements", f"SELECT max(u) FROM cpu, mem WHERE {ONE_HOUR}"),
    ("a SHOW", "SHOW MEASUREMENTS"),
    ("one statement of two", f"SELECT max(u) FROM cpu WHERE host = 'h1' AND {ONE_HOUR}; SHOW DATABASES"),
    ("an unknown measurement", f"SELECT max(u) FROM nothere WHERE {ONE_HOUR}"),
    ("a statement that does not plan", f"SELECT max(u) FROM cpu WHERE {ONE_HOUR} GROUP BY time(1000000000)"),
    ("over the bucket limit", f"SELECT max(u) FROM cpu WHERE time >= 0s AND time < {S}s GROUP BY time(1s)"),
    ("several series merged, too many rows", f"SELECT mean(u) FROM cpu WHERE {ONE_HOUR} GROUP BY time(1m)"),
    ("too many cells", f"SELECT u, s FROM cpu WHERE host = 'h1' AND time >= {S}s AND time < {S + 7200}s "
                       f"GROUP BY dc"),
]


@pytest.mark.parametrize("why,text", NOT_BOUNDED, ids=[c[0] for c in NOT_BOUNDED])
def test_what_the_check_cannot_bound_is_not_bounded(ex, monkeypatch, why, text):
    _copy(ex)
    monkeypatch.setattr(boundedmod, "MAX_CELLS", 1_000)
    assert not _bounded(ex, text), why


@pytest.mark.parametrize("limit,value,text", [
    ("MAX_ROWS", 359, f"SELECT max(u) FROM cpu WHERE host = 'h1' AND {ONE_HOUR} GROUP BY time(1m)"),
    ("MAX_CELLS", 121, f"SELECT max(u) FROM cpu WHERE host = 'h1' AND {ONE_HOUR} GROUP BY time(1m)"),
    ("MAX_SERIES", HOSTS - 1, f"SELECT max(u) FROM cpu WHERE host = 'h1' AND {ONE_HOUR} GROUP BY time(1m)"),
    ("MAX_MERGED_ROWS", 2 * 900 // STEP - 1,
     f"SELECT mean(u) FROM cpu WHERE host =~ /h[01]/ AND time >= {S}s AND time < {S + 900}s GROUP BY time(1m)"),
])
def test_each_limit_is_where_bounded_ends(ex, monkeypatch, limit, value, text):
    _copy(ex)
    assert _bounded(ex, text)
    monkeypatch.setattr(boundedmod, limit, value)
    assert not _bounded(ex, text)


def test_the_statements_of_a_query_count_together(ex, monkeypatch):
    _copy(ex)
    one = f"SELECT max(u) FROM cpu WHERE host = 'h1' AND {ONE_HOUR} GROUP BY time(1m)"
    monkeypatch.setattr(boundedmod, "MAX_ROWS", 3600 // STEP)
    assert _bounded(ex, one)
    assert not _bounded(ex, f"{one}; {one.replace('h1', 'h2')}")


def test_a_group_of_one_series_each_is_not_merged(ex):
    _copy(ex)
    by_series = ex.parse(f"SELECT max(u) FROM cpu WHERE {ONE_HOUR} GROUP BY time(1m), host, dc").statements[0]
    by_dc = ex.parse(f"SELECT max(u) FROM cpu WHERE {ONE_HOUR} GROUP BY time(1m), dc").statements[0]
    assert not ex.extent(by_series, "db", None, NOW, 100).merged
    assert ex.extent(by_dc, "db", None, NOW, 100).merged


def test_a_bounded_query_answers_what_it_answers_after_the_check(ex):
    """The check plans the statement (the plan is kept for the run): the answer is the same as
    without the check."""
    _copy(ex)
    text = f"SELECT max(u), min(s) FROM cpu WHERE host = 'h3' AND {ONE_HOUR} GROUP BY time(5m) fill(0)"
    fresh = Executor(ex.engine)
    def answer(executor: Executor) -> list:
        return [(r.error, [(s.columns, s.values) for s in r.series])
                for r in executor.execute(text, database="db", now_ns=NOW)]

    before = answer(fresh)
    assert _bounded(ex, text)
    after = answer(ex)
    assert after == before and before[0][1][0][1]
