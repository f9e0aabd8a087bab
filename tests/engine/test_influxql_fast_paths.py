"""The InfluxQL engine's short cuts for small reads answer exactly what its general code answers.

Each short cut is switched off in turn (and all together) and every query's answer compared, on
data with gaps, ties across series, points in several shards and both numeric kinds:

* one stored series read in time order (no merge of series iterators, no copies);
* min()/max() under GROUP BY time() reduced to values (the window start replaces the point's time);
* first()/last() of points with distinct times: a segment's first or last point;
* sum()/mean() of windows with one series and shard each: one partial per window, all at once;
* the fill grid of a bounded range built for all groups at once;
* a WHERE's tag terms answered per series of the series-cache copy (no per-row evaluation);
* the dashboard run: one series' calls per GROUP BY time() window straight from that copy (it
  takes the single-host queries below whole, so it is off while the others are compared).

The series-cache copy itself is never written by a query, and what is kept with it (the series a
WHERE selects) is the copy's own: a new copy answers for the series written since.
"""

from __future__ import annotations

import numpy as np
import pytest

from jupyter_influx3.engine.influxql import cachescan, dashboard, raw, reducers, select
from jupyter_influx3.engine.influxql.executor import Executor
from jupyter_influx3.engine.querylimits import QueryLimits
from jupyter_influx3.engine.sql.seriescache import cache_for

S = 1_700_000_000  # seconds
NOW = (S + 20 * 86400) * 10**9


def _lines() -> str:
    out = []
    for i in range(240):                      # hosts a and b every 10 s for 40 min, with gaps
        if i % 17 in (3, 4, 5, 6, 7, 8):
            continue                          # a missing minute now and then
        t = S + i * 10
        out.append(f"cpu,host=a,dc=x u={(i * 7) % 13 - 2.5},n={(i * 3) % 5}i {t}")
        if i % 5:
            out.append(f"cpu,host=b,dc=x u={(i * 7) % 13 - 2.5},n={(i * 11) % 7}i {t}")  # ties with a
    for d in range(0, 16, 3):                 # host c: one point every 3 days (several shards)
        out.append(f"cpu,host=c,dc=y u={d * 1.5},n={d}i {S + d * 86400}")
    for k in range(4):                        # host z: negative zeros (their sum keeps the sign)
        out.append(f"cpu,host=z,dc=y u=-0,n=0i {S + k * 10}")
    return "\n".join(out)


W = f"time >= {S}s AND time < {S + 2400}s"
QUERIES = [
    f"SELECT max(u) FROM cpu WHERE host = 'a' AND {W} GROUP BY time(1m)",
    f"SELECT min(n), max(u) FROM cpu WHERE host = 'a' AND {W} GROUP BY time(1m) fill(none)",
    f"SELECT max(u), min(u), max(n), min(n), count(u), mean(n), first(u), last(n), sum(n), spread(u) "
    f"FROM cpu WHERE host = 'a' AND {W} GROUP BY time(2m)",
    f"SELECT max(u) FROM cpu WHERE host = 'a' AND {W} GROUP BY time(1m) fill(0)",
    f"SELECT max(u) FROM cpu WHERE host = 'a' AND {W} GROUP BY time(1m) fill(previous)",
    f"SELECT mean(u), max(n) FROM cpu WHERE host = 'a' AND {W} GROUP BY time(1m) fill(linear)",
    f"SELECT max(u) FROM cpu WHERE host = 'a' AND {W} GROUP BY time(1m) ORDER BY time DESC",
    f"SELECT max(u), count(n) FROM cpu WHERE host = 'a' AND {W} GROUP BY time(1m) fill(0) ORDER BY time DESC "
    "LIMIT 7 OFFSET 2",
    f"SELECT max(u) FROM cpu WHERE host = 'a' AND {W} GROUP BY time(1m, 25s)",
    f"SELECT max(u) FROM cpu WHERE host = 'a' AND time >= {S - 600}s AND time < {S + 3000}s GROUP BY time(7m)",
    f"SELECT max(u) FROM cpu WHERE host = 'a' AND time >= {S}s GROUP BY time(10m)",     # end: now
    f"SELECT max(u) FROM cpu WHERE host = 'a' GROUP BY time(10m)",                      # unbounded
    f"SELECT max(u), min(n) FROM cpu WHERE {W} GROUP BY time(1m), host fill(0)",
    f"SELECT max(u) FROM cpu WHERE (host = 'a' OR host = 'b') AND {W} GROUP BY time(1m)",
    f"SELECT max(u), u FROM cpu WHERE host = 'a' AND {W} GROUP BY time(1m)",           # the point matters
    f"SELECT max(u) FROM cpu WHERE host = 'a' AND {W} GROUP BY time(1m) tz('Asia/Kolkata')",
    f"SELECT max(u), last(n) FROM cpu WHERE host = 'c' AND time >= {S}s AND time < {S + 16 * 86400}s "
    "GROUP BY time(1d) fill(0)",
    "SELECT max(u) FROM cpu WHERE host = 'c' GROUP BY time(2d)",
    "SELECT first(u), last(n), max(u) FROM cpu WHERE host = 'c'",
    f"SELECT difference(u), non_negative_difference(n) FROM cpu WHERE host = 'a' AND {W} ORDER BY time DESC LIMIT 9",
    f"SELECT derivative(mean(u), 1m) FROM cpu WHERE host = 'a' AND {W} GROUP BY time(1m) ORDER BY time DESC",
    f"SELECT cumulative_sum(n), moving_average(u, 3) FROM cpu WHERE host = 'a' AND {W}",
    f"SELECT median(u), percentile(n, 90), stddev(u), mode(n) FROM cpu WHERE host = 'a' AND {W} GROUP BY time(3m)",
    f"SELECT first(u), last(n) FROM cpu WHERE host = 'a' AND {W} GROUP BY time(1m) ORDER BY time DESC",
    f"SELECT first(u), last(u) FROM cpu WHERE {W} GROUP BY time(2m)",                 # ties: a and b
    f"SELECT last(u), n FROM cpu WHERE host = 'a' AND {W} GROUP BY time(5m)",
    "SELECT first(u), last(n) FROM cpu WHERE host = 'a'",
    f"SELECT sum(u), mean(u), mean(n), sum(n) FROM cpu WHERE host = 'a' AND {W} GROUP BY time(1m)",
    f"SELECT sum(u), mean(u) FROM cpu WHERE {W} GROUP BY time(1m)",                   # a and b in one group
    f"SELECT sum(u), mean(u) FROM cpu WHERE {W} GROUP BY time(30s), host fill(none)",  # many short windows
    f"SELECT sum(u), mean(u), mean(n) FROM cpu WHERE host = 'c' GROUP BY time(4d)",    # windows across shards
    f"SELECT sum(u), mean(u) FROM cpu WHERE host = 'z' AND {W} GROUP BY time(20s)",
    f"SELECT u, n FROM cpu WHERE host = 'a' AND {W}",
    f"SELECT u, n, host FROM cpu WHERE host = 'a' AND u > 3 AND {W} ORDER BY time DESC LIMIT 9",
    f"SELECT * FROM cpu WHERE host = 'c'",
    f"SELECT * FROM cpu WHERE host = 'a' AND u > 3 OR host = 'c' AND n > 5",
    f"SELECT u FROM cpu WHERE host = 'b' OR u > 8",
    f"SELECT u FROM cpu WHERE dc = 'x' AND (host = 'b' OR n = 0) AND {W}",
    f"SELECT * FROM cpu WHERE host =~ /^[ab]$/ AND n < 2 AND {W}",
]


def _answers(ex: Executor) -> list:
    out = []
    for q in QUERIES:
        for r in ex.execute(q, database="db", now_ns=NOW):
            # repr: 1 and 1.0, 0.0 and -0.0 differ
            out.append((q, r.error, repr([(s.name, s.tags, s.columns, s.values) for s in r.series])))
    return out


def _counted(fn, answered, hits: list):
    """``fn``, counting in ``hits`` the times it answered (so no comparison below is vacuous)."""

    def counted(*a, **k):
        got = fn(*a, **k)
        if answered(got):
            hits.append(1)
        return got

    return counted


SHORT_CUTS = {
    "one series": (raw, "_one_series", lambda parts: False, bool),
    "window extremes": (reducers, "_window_extremes", lambda *a: None, lambda got: got is not None),
    "edge points": (reducers, "_edge_points", lambda *a: None, lambda got: got is not None),
    "one partial per segment": (reducers, "_one_run_segments", lambda *a: False, bool),
    "regular fill grid": (select._Run, "_regular_fill_grid", lambda self, *a: None, lambda got: got is not None),
    "tag terms per series": (cachescan.CachedTable, "_has_field_terms", lambda self, e: True,
                             lambda got: not got),
    "dashboard run": (dashboard, "run", lambda p, scanner: None, lambda got: got is not None),
}


@pytest.fixture
def engine(engine):
    assert not engine.write_lp("db", _lines(), "s").errors
    engine.snapshot()
    assert not engine.write_lp("db", f"cpu,host=a,dc=x u=99.5,n=1i {S + 1210}", "s").errors  # buffer
    return engine


@pytest.mark.parametrize("dialect, off", [(d, o) for d in ("v1", "v3") for o in [*SHORT_CUTS, "all"]
                                          if (d, o) != ("v3", "dashboard run")])   # (1.x's answers only)
def test_short_cuts_answer_what_the_general_code_answers(engine, monkeypatch, dialect, off):
    ex = Executor(engine, dialect=dialect)
    name_off = list(SHORT_CUTS) if off == "all" else [off]
    if "dashboard run" not in name_off:
        monkeypatch.setattr(dashboard, "run", lambda p, scanner: None)   # the others' queries stay theirs
    hits: dict[str, list] = {}
    for name in name_off:
        owner, attr, _disabled, answered = SHORT_CUTS[name]
        monkeypatch.setattr(owner, attr, _counted(getattr(owner, attr), answered, hits.setdefault(name, [])))
    fast = _answers(ex)
    assert cache_for(engine).builds == 1   # answered from the series cache
    assert all(h for n, h in hits.items() if (dialect, n) != ("v3", "dashboard run")), \
        {n: len(h) for n, h in hits.items()}
    for name in name_off:
        owner, attr, disabled, _answered = SHORT_CUTS[name]
        monkeypatch.setattr(owner, attr, disabled)
    cache_for(engine).clear()   # a new copy: nothing kept with the first one is reused
    general = _answers(Executor(engine, dialect=dialect))
    assert cache_for(engine).builds == 2
    assert [e for _q, e, _s in fast] == [None] * len(fast)
    for a, b in zip(fast, general):
        assert a == b, a[0]


def test_the_fill_budget_stops_at_the_same_group_with_the_same_count(engine, monkeypatch):
    engine.query_limits = QueryLimits(max_select_points=300)
    q = f"SELECT max(u) FROM cpu WHERE {W} GROUP BY time(10s), host fill(0)"
    [fast] = Executor(engine).execute(q, database="db", now_ns=NOW)
    monkeypatch.setattr(select._Run, "_regular_fill_grid", lambda self, *a: None)
    [general] = Executor(engine).execute(q, database="db", now_ns=NOW)
    assert fast.error is not None and fast.error.startswith("max-select-point limit exceeed")
    assert fast.error == general.error


def test_queries_leave_the_series_cache_copy_as_it_was(engine):
    ex = Executor(engine)
    list(ex.execute(QUERIES[0], database="db", now_ns=NOW))
    db = engine.catalog.db("db")
    st = cache_for(engine).get(db, next(t for t in db.live_tables() if t.name == "cpu"), NOW)
    assert st is not None
    before = {c: (col.data.copy(), col.valid.copy()) for c, col in st.columns.items()}
    times = st.time.copy()
    _answers(ex)
    assert np.array_equal(st.time, times)
    for c, col in st.columns.items():
        assert np.array_equal(col.data, before[c][0]) and np.array_equal(col.valid, before[c][1]), c


def test_a_new_copy_answers_for_series_written_since(engine):
    ex = Executor(engine)
    q = f"SELECT count(u) FROM cpu WHERE host =~ /^[ad]$/ AND {W} GROUP BY host"
    [r] = ex.execute(q, database="db", now_ns=NOW)
    assert [s.tags["host"] for s in r.series] == ["a"]
    assert not engine.write_lp("db", f"cpu,host=d,dc=x u=1,n=1i {S + 5}", "s").errors
    cache_for(engine).clear()          # the next read builds a new copy
    [r] = ex.execute(q, database="db", now_ns=NOW)
    assert [s.tags["host"] for s in r.series] == ["a", "d"]
    assert cache_for(engine).builds == 2


def test_a_name_that_is_a_tag_in_one_measurement_and_a_field_in_another(engine):
    lines = "\n".join([f"m1,k=x v=1 {S}", f"m1,k=y v=2 {S + 1}",
                       f"m2 k=\"x\",v=3 {S + 2}", f"m2 k=\"z\",v=4 {S + 3}"])
    assert not engine.write_lp("db", lines, "s").errors
    ex = Executor(engine)
    qs = ["SELECT v FROM m1, m2 WHERE k = 'x'", "SELECT v FROM m2, m1 WHERE k = 'x' OR v > 3"]
    cached = [[(s.name, s.values) for s in r.series] for q in qs for r in ex.execute(q, database="db", now_ns=NOW)]
    cache_for(engine).budget = 0       # read through DuckDB
    cache_for(engine).clear()
    scanned = [[(s.name, s.values) for s in r.series] for q in qs for r in ex.execute(q, database="db", now_ns=NOW)]
    assert cached == scanned
    assert cached[0] == [("m1", [[S * 10**9, 1.0]]), ("m2", [[(S + 2) * 10**9, 3.0]])]


def test_what_a_reused_plan_kept_is_worked_out_again_for_a_new_catalog(engine):
    """The calls' drivers, the pushdown's eligibility and the columns read are kept with a plan:
    a field written after the plan was made (a new catalog) is read by the next run."""
    ex = Executor(engine)
    q = f"SELECT max(w), max(u) FROM cpu WHERE host = 'a' AND {W} GROUP BY time(10m)"
    [r] = ex.execute(q, database="db", now_ns=NOW)
    [r] = ex.execute(q, database="db", now_ns=NOW)      # the kept plan
    assert r.series[0].columns == ["time", "max", "max_1"]
    assert {row[1] for row in r.series[0].values} == {None}
    assert not engine.write_lp("db", f"cpu,host=a,dc=x w=7i {S + 5}", "s").errors
    [r] = ex.execute(q, database="db", now_ns=NOW)
    assert r.series[0].values[0][1] == 7


@pytest.mark.parametrize("grid", ["regular", "general"])
@pytest.mark.parametrize("order", ["", " ORDER BY time DESC"])
def test_a_fill_over_months_has_every_window_up_to_the_end(engine, monkeypatch, grid, order):
    """1.x fills [window(start), window(end)]; over months in ns, np.arange (which counts in
    floats) dropped the last, empty window (checked against InfluxDB 1.6.7: it answers it)."""
    if grid == "general":
        monkeypatch.setattr(select._Run, "_regular_fill_grid", lambda self, *a: None)
    lo, hi, step = S - 200 * 86400, S + 86400, 600     # 28,945 windows: past 2**53 ns / 10m, floats lose the +1
    q = f"SELECT mean(u) FROM cpu WHERE host = 'a' AND time >= {lo}s AND time <= {hi}s GROUP BY time(10m) fill(null)"
    [r] = Executor(engine).execute(q + order, database="db", now_ns=NOW)
    times = [row[0] for row in r.series[0].values]
    expected = list(range(lo // step * step * 10**9, hi * 10**9 + 1, step * 10**9))
    assert times == (expected[::-1] if order else expected)
