"""A plan run again over the same series-cache copy reuses what its last run derived from that copy
(output series ids, orders, windows, fill grids; the reader's rows and frames) and nothing else:

* every rerun answers exactly what a run that kept nothing answers;
* a write between two runs shows (a new copy, a new state);
* a retention cut-off that moves into the rows, or a lower max-select-point limit, is applied on
  the rerun as on a first run;
* what a WHERE's field terms select is worked out again on every run (it depends on the values).
"""

from __future__ import annotations

import time

import pytest

from jupyter_influx3.engine import afterwards
from jupyter_influx3.engine.influxql import select
from jupyter_influx3.engine.sql import seriescache
from jupyter_influx3.engine.influxql.executor import Executor
from jupyter_influx3.engine.querylimits import QueryLimits
from jupyter_influx3.engine.sql.seriescache import cache_for

import test_influxql_fast_paths
from test_influxql_fast_paths import NOW, QUERIES, S, W

engine = test_influxql_fast_paths.engine   # the same data, written and snapshotted the same way

# the general run's kept state is the subject here: the dashboard run, which keeps none and would
# take the single-host queries, is off in every test (conftest.general_run)
pytestmark = pytest.mark.usefixtures("general_run")


def _answer(ex: Executor, q: str, now: int = NOW):
    return [(r.error, repr([(s.name, s.tags, s.columns, s.values) for s in r.series]))
            for r in ex.execute(q, database="db", now_ns=now)]


def _fresh(engine, q: str, dialect: str, monkeypatch, now: int = NOW):
    """The answer of a run that keeps and finds nothing."""
    with monkeypatch.context() as mp:
        mp.setattr(select._Run, "_take_state", lambda self: None)
        return _answer(Executor(engine, dialect=dialect), q, now)


@pytest.mark.parametrize("dialect", ["v1", "v3"])
def test_reruns_answer_what_a_first_run_answers(engine, monkeypatch, adopted, dialect):
    ex = Executor(engine, dialect=dialect)
    runs = [[_answer(ex, q) for q in QUERIES] for _ in range(3)]
    assert sum(adopted) >= len(QUERIES) // 2      # most plans ran again from their kept state
    assert cache_for(engine).builds == 1
    for q, a, b, c in zip(QUERIES, *runs):
        assert a == b == c == _fresh(engine, q, dialect, monkeypatch), q


def _rebuilt(engine, ex, q, builds: int) -> None:
    """Runs ``q`` until the series cache has made ``builds`` copies (a changed table is copied
    again in the background; meanwhile it is read through DuckDB)."""
    deadline = time.monotonic() + 10
    while cache_for(engine).builds < builds:
        assert time.monotonic() < deadline
        _answer(ex, q)
        time.sleep(0.01)


def test_a_write_between_two_runs_shows(engine, monkeypatch, adopted):
    monkeypatch.setattr(seriescache, "REBUILD_SPACING", 0.0)
    ex = Executor(engine)
    q = QUERIES[0]
    first = _answer(ex, q)
    assert _answer(ex, q) == first and _answer(ex, q) == first
    assert any(adopted) and cache_for(engine).builds == 1
    assert not engine.write_lp("db", f"cpu,host=a,dc=x u=1000,n=1i {S + 601}", "s").errors
    after = _answer(ex, q)
    assert after != first and "1000" in after[0][1]
    _rebuilt(engine, ex, q, 2)
    n = sum(adopted)
    assert _answer(ex, q) == after and _answer(ex, q) == after   # from the new copy, with a state of its own
    assert sum(adopted) == n + 1


def test_a_series_written_between_two_runs_gets_its_group(engine, monkeypatch, adopted):
    monkeypatch.setattr(seriescache, "REBUILD_SPACING", 0.0)
    ex = Executor(engine)
    q = f"SELECT max(u) FROM cpu WHERE dc = 'x' AND {W} GROUP BY time(10m), host"
    before = _answer(ex, q)
    assert _answer(ex, q) == before and _answer(ex, q) == before and any(adopted)
    assert not engine.write_lp("db", f"cpu,host=aa,dc=x u=7,n=1i {S + 5}", "s").errors
    after = _answer(ex, q)
    assert "'aa'" in after[0][1] and "'aa'" not in before[0][1]
    _rebuilt(engine, ex, q, 2)
    assert _answer(ex, q) == after and _answer(ex, q) == after and _answer(ex, q) == after
    assert after == _fresh(engine, q, "v1", monkeypatch)


def test_a_retention_cut_off_moving_into_the_rows_applies_on_the_rerun(engine, monkeypatch, adopted):
    engine.create_database("ret", "30d")
    lines = "\n".join(f"m,host=a v={i} {S + i * 3600}" for i in range(48))
    assert not engine.write_lp("ret", lines, "s").errors
    ex = Executor(engine)
    q = f"SELECT count(v) FROM m WHERE host = 'a' AND time >= {S}s AND time < {S + 48 * 3600}s GROUP BY time(6h)"
    ans = {}
    # 30 days after the data: nothing cut; then the cut-off walks through the two days of rows
    for hours in (-1, -1, -1, 0, 0, 7, 7, 30, 30, 47):
        now = (S + 30 * 86400 + hours * 3600 + 1) * 10**9
        got = [r for r in ex.execute(q, database="ret", now_ns=now)]
        ans[hours] = [(r.error, [s.values for s in r.series]) for r in got]
        with monkeypatch.context() as mp:
            mp.setattr(select._Run, "_take_state", lambda self: None)
            fresh = [(r.error, [s.values for s in r.series])
                     for r in Executor(engine).execute(q, database="ret", now_ns=now)]
        assert ans[hours] == fresh, hours
    assert any(adopted)
    counts = lambda h: [row[1] for series in ans[h][0][1] for row in series if row[1]]   # noqa: E731
    assert [sum(counts(h)) for h in (-1, 0, 7, 30, 47)] == [48, 47, 40, 17, 0]


def test_a_lower_point_limit_applies_on_the_rerun(engine, adopted):
    ex = Executor(engine)
    q = f"SELECT max(u) FROM cpu WHERE {W} GROUP BY time(10s), host fill(0)"
    ok = _answer(ex, q)
    assert _answer(ex, q) == ok and _answer(ex, q) == ok and ok[0][0] is None and any(adopted)
    engine.query_limits = QueryLimits(max_select_points=300)
    [(error, _series)] = _answer(ex, q)
    assert error is not None and error.startswith("max-select-point limit exceeed")


def test_field_terms_are_evaluated_on_every_run(engine, monkeypatch, adopted):
    from jupyter_influx3.engine.influxql import cachescan
    evaluated: list = []
    where = cachescan.CachedTable._where

    def counted(self, lo, hi):
        evaluated.append(self._per_row)
        return where(self, lo, hi)

    monkeypatch.setattr(cachescan.CachedTable, "_where", counted)
    ex = Executor(engine)
    q = f"SELECT u, n FROM cpu WHERE host = 'a' AND u > 3 AND {W}"
    answers = [_answer(ex, q) for _ in range(3)]
    assert answers[0] == answers[1] == answers[2]
    assert evaluated == [True, True, True]
    evaluated.clear()
    q = f"SELECT u, n FROM cpu WHERE host = 'a' AND {W}"
    for _ in range(3):
        _answer(ex, q)
    assert evaluated == [False]   # tag terms only: the rows are the copy's, kept from the first run


def test_plans_made_for_every_run_leave_nothing_with_the_copy(engine):
    from jupyter_influx3.engine.influxql import cachescan
    ex = Executor(engine)
    # a range relative to now(): the plan is made again for every run (and now moves)
    q = "SELECT max(u) FROM cpu WHERE host = 'a' AND time > now() - 30d GROUP BY time(10m)"
    answers = {_answer(ex, q, NOW + k)[0] for k in range(20)}
    assert len(answers) == 1 and "99.5" in next(iter(answers))[1]
    db = engine.catalog.db("db")
    st = cache_for(engine).get(db, next(t for t in db.live_tables() if t.name == "cpu"), NOW)
    kept = [k for k, v in st.derived.items()
            if isinstance(v, (cachescan._ReaderMemo, select._RunState)) or k == select._STATE_BYTES]
    assert kept == []
    for _ in range(3):
        _answer(ex, QUERIES[0])       # a plan run again: its reader and state are kept
    kinds = sorted(type(v).__name__ for v in st.derived.values() if isinstance(v, (cachescan._ReaderMemo,
                                                                                   select._RunState)))
    assert kinds == ["_ReaderMemo", "_RunState"]


def test_reruns_leave_the_series_cache_copy_as_it_was(engine):
    import numpy as np
    ex = Executor(engine)
    db = engine.catalog.db("db")
    _answer(ex, QUERIES[0])
    st = cache_for(engine).get(db, next(t for t in db.live_tables() if t.name == "cpu"), NOW)
    before = {c: (col.data.copy(), col.valid.copy()) for c, col in st.columns.items()}
    times = st.time.copy()
    for _ in range(3):
        for q in QUERIES:
            _answer(ex, q)
    assert np.array_equal(st.time, times)
    for c, col in st.columns.items():
        assert np.array_equal(col.data, before[c][0]) and np.array_equal(col.valid, before[c][1]), c


def test_states_kept_with_a_copy_stay_within_their_byte_budget(engine, monkeypatch, adopted):
    ex = Executor(engine)
    q = QUERIES[0]
    for _ in range(3):
        first = _answer(ex, q)
    assert any(adopted)
    adopted.clear()
    # a budget below one state of this plan: nothing is kept any more, the answers stay
    monkeypatch.setattr(select, "STATE_BYTES_KEPT", 10)
    for _ in range(3):
        assert _answer(ex, q) == first
    assert sum(adopted) == 1      # the state kept before; none after it
    db = engine.catalog.db("db")
    st = cache_for(engine).get(db, next(t for t in db.live_tables() if t.name == "cpu"), NOW)
    # the state given back was counted out; what stays counted is the reader's memo kept with the copy
    from jupyter_influx3.engine.influxql import cachescan
    own = {id(st._all), id(st._row_sid), id(st.time)}
    readers = [v.nbytes(own) for v in st.derived.values() if isinstance(v, cachescan._ReaderMemo)]
    assert len(readers) == 1 and st.derived.get(select._STATE_BYTES) == readers[0] > 0


def test_what_a_kept_state_holds_cannot_be_written(engine):
    import numpy as np
    from jupyter_influx3.engine.influxql.functions import Vec
    from jupyter_influx3.engine.influxql.points import Points
    ex = Executor(engine)
    for q in QUERIES[:3]:
        for _ in range(2):
            _answer(ex, q)
    db = engine.catalog.db("db")
    st = cache_for(engine).get(db, next(t for t in db.live_tables() if t.name == "cpu"), NOW)
    states = [v for v in st.derived.values() if isinstance(v, select._RunState)]
    assert len(states) == 3

    def arrays(x):
        if isinstance(x, np.ndarray):
            yield x
        elif isinstance(x, Vec):
            yield from (x.data, x.valid)
        elif isinstance(x, Points):
            yield from arrays((x.gid, x.time, x.value, x.aux, x.sid, x.shard))
        elif isinstance(x, (tuple, list)):
            for y in x:
                yield from arrays(y)

    found = [a for s in states for v in s.derived.values() for a in arrays(v)]
    found += [a for s in states for fr in s.frames.values() for v in fr.cols.values() for a in arrays(v)]
    assert len(found) > 20 and not any(a.flags.writeable for a in found)


def test_several_series_are_read_as_points_by_a_kept_plan_and_as_partials_otherwise(engine, monkeypatch):
    from jupyter_influx3.engine.influxql import executor, pushdown
    monkeypatch.setattr(pushdown, "MERGED_POINTS_MAX", 0)   # the small data set counts as many rows
    partials, reads = [], []
    cached_partials, read = pushdown._cached_partials, select._Run.read
    monkeypatch.setattr(pushdown, "_cached_partials", lambda *a: partials.append(1) or cached_partials(*a))
    monkeypatch.setattr(select._Run, "read", lambda self, *a: reads.append(1) or read(self, *a))
    q = f"SELECT max(u), min(n), count(u) FROM cpu WHERE (host = 'a' OR host = 'b') AND {W} GROUP BY time(1m)"
    ex = Executor(engine)
    kept = [_answer(ex, q) for _ in range(3)]   # a plan kept for the next runs: the points (merge order kept)
    assert reads and not partials
    reads.clear()
    with monkeypatch.context() as mp:
        mp.setattr(executor, "_time_free_plan", lambda *a: False)   # a plan made for every run
        made = [_answer(Executor(engine), q) for _ in range(2)]
    assert partials and not reads         # the copy's partials
    assert kept[0] == kept[1] == kept[2] == made[0] == made[1]
    assert kept[0][0][0] is None and kept[0][0][1].count("[") > 40


def test_runs_of_one_plan_at_the_same_time_answer_alike(engine):
    import sys
    import threading
    ex = Executor(engine)
    qs = QUERIES[:6]
    want = {q: _answer(ex, q) for q in qs}
    bad: list = []

    def worker(k: int) -> None:
        for i in range(30):
            q = qs[(i + k) % len(qs)]
            if _answer(ex, q) != want[q]:
                bad.append(q)

    before = sys.getswitchinterval()
    sys.setswitchinterval(1e-5)   # threads switch in the middle of runs
    try:
        threads = [threading.Thread(target=worker, args=(k,)) for k in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    finally:
        sys.setswitchinterval(before)
    assert bad == []


def test_nothing_is_kept_with_a_copy_beyond_the_budget(engine, monkeypatch):
    from jupyter_influx3.engine.influxql import cachescan, pushdown
    monkeypatch.setattr(select, "STATE_BYTES_KEPT", 100)
    monkeypatch.setattr(pushdown, "CACHED_POINTS_MAX", -1)   # partials: no frames, the reader's rows and segments
    ex = Executor(engine)
    q = f"SELECT sum(n), max(u) FROM cpu WHERE (host = 'a' OR host = 'b') AND {W} GROUP BY time(1m)"
    answers = [_answer(ex, q) for _ in range(3)]
    assert answers[0] == answers[1] == answers[2]
    db = engine.catalog.db("db")
    st = cache_for(engine).get(db, next(t for t in db.live_tables() if t.name == "cpu"), NOW)
    assert not [v for v in st.derived.values() if isinstance(v, (cachescan._ReaderMemo, select._RunState))]


def test_rows_made_for_one_read_are_not_kept_with_the_copy(engine):
    from jupyter_influx3.engine.influxql import cachescan
    ex = Executor(engine)
    # first()/last() of several fields without GROUP BY time(): each series' edge points, read
    # for every run (rows made for that read)
    q = "SELECT first(u), first(n), last(u), last(n) FROM cpu WHERE host = 'a' OR host = 'c'"
    answers = [_answer(ex, q) for _ in range(8)]
    assert all(a == answers[0] for a in answers) and answers[0][0][0] is None
    db = engine.catalog.db("db")
    st = cache_for(engine).get(db, next(t for t in db.live_tables() if t.name == "cpu"), NOW)
    memos = [v for v in st.derived.values() if isinstance(v, cachescan._ReaderMemo)]
    assert memos and all(len(m.frames) <= 2 for m in memos)


def test_a_run_inside_a_deferred_block_keeps_its_state_only_when_the_deferred_work_runs(engine, adopted):
    """A server writes the answer, then does the run's keeping (engine/afterwards.py): until then
    the next run finds no state (and answers the same), afterwards it does."""
    ex = Executor(engine)
    q = QUERIES[0]
    first = _answer(ex, q)
    assert _answer(ex, q) == first and adopted[-1]   # the plan's state is kept with its copy
    pending: list = []
    with afterwards.deferred(pending):
        assert _answer(ex, q) == first               # takes the state, hands its keeping over
    assert adopted[-1] and len(pending) == 1
    assert _answer(ex, q) == first and not adopted[-1]   # the state is out: nothing to adopt
    afterwards.run(pending)
    assert _answer(ex, q) == first and adopted[-1]
