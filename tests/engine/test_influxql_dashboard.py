"""The dashboard run (engine/influxql/dashboard.py) answers exactly what the general run answers.

Random queries of the dashboard form and of its near misses (several series, field terms, other
calls, fills, casts, orders, limits) run over data with gaps, missing fields, overwritten points,
negative zeros, integers that overflow a sum and windows across shards, with the dashboard run on
and off; every answer (series, values with their types, errors) must be the same. Which plans it
takes and which it leaves to the general run is pinned below, so that the comparison is never
vacuous.
"""

from __future__ import annotations

import time

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as hs

from jupyter_influx3.engine.influxql import dashboard
from jupyter_influx3.engine.influxql.bounded import bounded
from jupyter_influx3.engine.influxql.executor import Executor
from jupyter_influx3.engine.influxql.scan import Scanner
from jupyter_influx3.engine.querylimits import QueryLimits
from jupyter_influx3.engine.sql import seriescache
from jupyter_influx3.engine.sql.seriescache import cache_for

S = 1_700_000_000  # seconds
NOW = (S + 20 * 86400) * 10**9
BIG = 2**62


def _lines() -> str:
    out = []
    for i in range(360):                       # hosts a and b every 10 s for an hour, with gaps
        if i % 23 in (5, 6, 7, 8, 9):
            continue
        t = S + i * 10
        u = f"u={(i * 7) % 13 - 2.5}" if i % 11 != 4 else ""            # u missing now and then
        n = f"n={(i * 3) % 5 - 1}i" if i % 7 != 2 else ""
        fields = ",".join(x for x in (u, n) if x) or "v=1"
        out.append(f"cpu,host=a,dc=x {fields} {t}")
        if i % 4:
            out.append(f"cpu,host=b,dc=x u={i * 0.1},w={i % 9}.25,n={BIG if i % 50 == 0 else i}i {t}")
    for d in range(0, 16, 2):                  # host c: a point every 2 days (several shards)
        out.append(f"cpu,host=c,dc=y u={d * 1.5 - 3},n={d}i {S + d * 86400 + 3600}")
    for k in range(6):                         # host z: negative zeros
        out.append(f"cpu,host=z,dc=y u=-0,n=0i {S + k * 10}")
    return "\n".join(out)


def _overwrites() -> str:
    """Points written again with other values (the last write wins), and a field only they have."""
    return "\n".join(f"cpu,host=a,dc=x u={i * 1.75},x=3i {S + i * 10}" for i in range(0, 360, 13))


@pytest.fixture(params=["buffer", "parquet"])
def engine(engine, request):
    assert not engine.write_lp("db", _lines(), "s").errors
    if request.param == "parquet":
        engine.snapshot()
    assert not engine.write_lp("db", _overwrites(), "s").errors
    return engine


def _answer(ex: Executor, q: str) -> list:
    # repr: 1 and 1.0, 0.0 and -0.0 differ
    return [(r.error, repr([(s.name, s.tags, s.columns, s.values) for s in r.series]))
            for r in ex.execute(q, database="db", now_ns=NOW)]


def _both(engine, q: str) -> tuple[list, list, int]:
    """(the answer with the dashboard run, without it, how many plans it answered)."""
    answered = []
    run = dashboard.run

    def counted(p, scanner):
        got = run(p, scanner)
        answered.append(got is not None)
        return got

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(dashboard, "run", counted)
        fast = _answer(Executor(engine), q)
        mp.setattr(dashboard, "run", lambda p, scanner: None)
        general = _answer(Executor(engine), q)
    return fast, general, sum(answered)


CALLS = ["count", "sum", "mean", "min", "max", "first", "last", "spread", "median"]
FIELDS = ["u", "n", "w", "x", "u::integer", "nothing", "host"]
WHERES = ["host = 'a'", "host = 'b'", "host = 'c'", "host = 'z'", "host = 'q'", "host = 'a' AND dc = 'x'",
          "dc = 'y'", "host = 'b' AND u > 3", "(host = 'a' OR host = 'b')", "host =~ /^a$/", ""]
INTERVALS = ["1s", "10s", "30s", "1m", "7m", "1h", "1d", "4d", "9d"]
FILLS = ["", " fill(none)", " fill(null)", " fill(0)", " fill(-1.5)", " fill(previous)", " fill(linear)"]
TAILS = ["", "", "", " ORDER BY time DESC", " LIMIT 3", " SLIMIT 1", " tz('Asia/Kolkata')"]


@hs.composite
def queries(draw) -> str:
    # half of them within the form as far as the text goes (the data still decides)
    form = draw(hs.booleans())
    calls = draw(hs.lists(hs.tuples(hs.sampled_from(CALLS[:7] if form else CALLS),
                                    hs.sampled_from(FIELDS[:4] if form else FIELDS)), min_size=1, max_size=3))
    fields = ", ".join(f"{c}({f})" for c, f in calls)
    where = draw(hs.sampled_from(WHERES[:6] if form else WHERES))
    lo = S + draw(hs.integers(-900, 4000))
    span = draw(hs.sampled_from([1, 59, 60, 600, 3600, 7200, 86400, 16 * 86400]))
    low, high = draw(hs.sampled_from([">=", ">"])), draw(hs.sampled_from(["<", "<="]))
    times = draw(hs.sampled_from([f"time {low} {lo}s AND time {high} {lo + span}s", f"time {low} {lo}s", ""]))
    cond = " AND ".join(x for x in (where, times) if x)
    interval = draw(hs.sampled_from(INTERVALS))
    offset = draw(hs.sampled_from(["", ", 25s", ", -3m"]))
    group = f"GROUP BY time({interval}{offset})" + ("" if form else draw(hs.sampled_from(["", "", ", host"])))
    return f"SELECT {fields} FROM cpu{' WHERE ' + cond if cond else ''} {group}" \
           f"{draw(hs.sampled_from(FILLS[:6] if form else FILLS))}{'' if form else draw(hs.sampled_from(TAILS))}"


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(q=queries())
def test_random_queries_get_the_general_runs_answers(engine, q):
    fast, general, _answered = _both(engine, q)
    assert fast == general


def _tsbs(where: str = "host = 'a'", fields: str = "max(u)", tail: str = "") -> str:
    return f"SELECT {fields} FROM cpu WHERE {where} AND time >= {S + 600}s AND time < {S + 2400}s " \
           f"GROUP BY time(1m){tail}"


TAKEN = [
    _tsbs(),
    _tsbs(fields="count(u), sum(u), mean(u), min(n), max(n), first(u), last(n), sum(n), mean(n)"),
    _tsbs(fields="max(u) AS top, max(u), mean(u)", tail=" fill(0)"),
    _tsbs(tail=" fill(none)"),
    _tsbs(tail=" fill(previous)"),
    _tsbs(fields="sum(n)", where="host = 'b'"),                 # an integer sum that wraps
    f"SELECT sum(u), mean(u) FROM cpu WHERE host = 'z' AND time >= {S}s AND time < {S + 60}s "
    "GROUP BY time(20s)",                                        # negative zeros
    _tsbs(where="host = 'a' AND dc = 'x'"),
    f"SELECT sum(u), mean(u), mean(n) FROM cpu WHERE host = 'c' AND time >= {S}s AND time < {S + 16 * 86400}s "
    "GROUP BY time(4d, 1h)",                                     # windows across shards
    f"SELECT max(u) FROM cpu WHERE host = 'a' AND time >= {S}s GROUP BY time(10m)",   # end: now
]
LEFT = [
    _tsbs(where="(host = 'a' OR host = 'b')"),                  # two series merged
    _tsbs(where="host = 'b' AND u > 3"),                        # a field term
    _tsbs(tail=" fill(linear)"),
    _tsbs(tail=" ORDER BY time DESC"),
    _tsbs(tail=" LIMIT 3"),
    _tsbs(tail=" tz('Asia/Kolkata')"),
    _tsbs(fields="max(u), u"),
    _tsbs(fields="spread(u)"),
    _tsbs(fields="max(u::integer)"),
    _tsbs(fields="max(x), max(u)", tail=" fill(none)"),         # calls with points in other windows
    _tsbs(fields="max(w), max(u)"),                             # a call without points beside one with
    f"SELECT max(u) FROM cpu WHERE {S}s <= time AND host = 'a' GROUP BY time(1m), host",
    "SELECT max(u) FROM cpu WHERE host = 'a' GROUP BY time(10m)",   # no lower bound
]


@pytest.mark.parametrize("q", TAKEN)
def test_the_dashboard_form_is_answered_by_the_dashboard_run(engine, q):
    fast, general, answered = _both(engine, q)
    assert answered == 1
    assert fast == general
    assert fast[0][0] is None and fast[0][1] != "[]"


@pytest.mark.parametrize("q", LEFT)
def test_other_plans_are_left_to_the_general_run(engine, q):
    fast, general, answered = _both(engine, q)
    assert answered == 0
    assert fast == general


def test_it_answers_no_series_when_no_call_has_a_point(engine):
    q = _tsbs(fields="max(w), count(w)")
    fast, general, answered = _both(engine, q)
    assert answered == 1 and fast == general == [(None, "[]")]


def test_the_fill_budget_fails_with_the_general_runs_error(engine):
    engine.query_limits = QueryLimits(max_select_points=40)
    fast, general, answered = _both(engine, _tsbs(fields="max(u), count(n)"))
    assert fast == general
    # max(u)'s windows (the range's 31 minutes) and its points (30: a gap) are over the limit
    assert fast[0][0] == "max-select-point limit exceeed: (61/40)"


def test_its_extent_counts_the_series_rows_and_windows_without_building_a_copy(engine):
    ex = Executor(engine)
    [stmt] = ex.parse(_tsbs(fields="max(u), mean(n)")).statements
    p = ex.prepare(stmt, "db", None, NOW)
    assert dashboard.extent(p, Scanner(engine, NOW), 2000) is None    # no copy yet: none is built
    assert cache_for(engine).builds == 0
    _answer(ex, _tsbs())
    got = dashboard.extent(p, Scanner(engine, NOW), 2000)
    # host a's rows from S+600 s to S+2400 s (every 10 s but the gaps, where some overwrites
    # landed), the windows of the minutes they meet (S is no whole minute) times 3 columns
    rows = sum(1 for i in range(60, 240) if i % 23 not in (5, 6, 7, 8, 9) or i % 13 == 0)
    windows = (S + 2399) // 60 - (S + 600) // 60 + 1
    assert got is not None and (got.rows, got.cells, got.merged) == (rows, windows * 3, False)


def test_influxdb3s_dialect_is_not_answered_here(engine, monkeypatch):
    calls = []
    monkeypatch.setattr(dashboard, "run", lambda p, scanner: calls.append(p))
    list(Executor(engine, dialect="v3").execute(_tsbs(), database="db", now_ns=NOW))
    assert calls == []


def test_a_write_between_two_runs_shows(engine, monkeypatch):
    monkeypatch.setattr(seriescache, "REBUILD_SPACING", 0.0)
    q = _tsbs(fields="max(u), count(u)")
    before, _, answered = _both(engine, q)
    assert answered == 1
    assert not engine.write_lp("db", f"cpu,host=a,dc=x u=1234.5 {S + 1205}", "s").errors
    deadline = time.monotonic() + 10
    answered = 0
    while not answered:   # (the changed table is copied again in the background: DuckDB meanwhile)
        assert time.monotonic() < deadline
        after, general, answered = _both(engine, q)
        assert after == general and "1234.5" in after[0][1]
        time.sleep(0.01)
    assert after != before


def _checked_then_run(engine, q: str, between=lambda: None) -> list:
    """The answer to ``q`` run at NOW right after its bound check at NOW (as a server runs a new
    text on its event loop), ``between()`` done between the two."""
    ex = Executor(engine)
    query = ex.parse(q)
    assert bounded(ex, query, "db", None, NOW)
    between()
    return [(r.error, repr([(s.name, s.tags, s.columns, s.values) for s in r.series]))
            for r in ex.execute(query, database="db", now_ns=NOW)]


def test_a_run_right_after_its_bound_check_looks_the_copy_up_once_and_answers_the_same(engine, monkeypatch):
    q = _tsbs(fields="max(u), count(u), mean(n)")
    expected = _answer(Executor(engine), q)   # (the copy is made)
    lookups = []
    reader = dashboard._reader
    monkeypatch.setattr(dashboard, "_reader", lambda *a: lookups.append(a[3]) or reader(*a))
    assert _checked_then_run(engine, q) == expected
    assert lookups == [False]   # the check's look-up (no copy built), none for the run
    assert _answer(Executor(engine), q) == expected and lookups == [False, True]   # not taken twice


def test_what_a_bound_check_found_is_not_held_past_the_next_statement_run(engine, monkeypatch):
    q = _tsbs(fields="max(u)")
    expected = _answer(Executor(engine), q)
    lookups = []
    reader = dashboard._reader
    monkeypatch.setattr(dashboard, "_reader", lambda *a: lookups.append(a[3]) or reader(*a))
    ex = Executor(engine)
    query = ex.parse(q)
    assert bounded(ex, query, "db", None, NOW)
    list(ex.execute("SHOW MEASUREMENTS", database="db", now_ns=NOW))   # (another statement runs first)
    assert _answer(ex, q) == expected and lookups == [False, True]


def test_a_write_between_a_bound_check_and_its_run_at_the_same_now_shows(engine, monkeypatch):
    monkeypatch.setattr(seriescache, "REBUILD_SPACING", 0.0)
    q = _tsbs(fields="max(u), count(u)")
    before = _answer(Executor(engine), q)
    after = _checked_then_run(engine, q, lambda: engine.write_lp("db", f"cpu,host=a,dc=x u=1234.5 {S + 1205}", "s"))
    assert "1234.5" in after[0][1] and after != before


def test_a_retention_cut_off_inside_the_range_applies(engine):
    engine.create_database("ret", "30d")
    assert not engine.write_lp("ret", "\n".join(f"m,host=a v={i} {S + i * 3600}" for i in range(48)), "s").errors
    q = f"SELECT count(v), sum(v) FROM m WHERE host = 'a' AND time >= {S}s AND time < {S + 48 * 3600}s " \
        "GROUP BY time(6h)"
    counts = []
    for hours in (-1, 7, 30, 47):   # the cut-off walks through the two days of rows
        now = (S + 30 * 86400 + hours * 3600 + 1) * 10**9
        runs = []
        for off in (False, True):
            with pytest.MonkeyPatch.context() as mp:
                if off:
                    mp.setattr(dashboard, "run", lambda p, scanner: None)
                runs.append([(r.error, [s.values for s in r.series])
                             for r in Executor(engine).execute(q, database="ret", now_ns=now)])
        assert runs[0] == runs[1], hours
        counts.append(sum(row[1] for s in runs[0][0][1] for row in s if row[1]))
    assert counts == [48, 40, 17, 0]


def test_a_table_copied_by_day_is_answered_from_the_days_copy(tmp_path):
    from jupyter_influx3.engine import Engine

    # a copy budget a day of this table fits, three days do not
    eng = Engine(tmp_path / "d", node_id="n1", background=False, series_cache_bytes=400_000)
    try:
        day = 86400
        d0 = (S // day + 1) * day   # a UTC midnight
        lines = [f"cpu,host=h{k} u={(i * 7 + k) % 31 - 4.5} {d0 + d * day + i * 60}"
                 for d in range(3) for k in range(8) for i in range(0, 1440, 2)]
        assert not eng.write_lp("db", "\n".join(lines), "s").errors
        eng.snapshot()
        q = f"SELECT max(u), mean(u) FROM cpu WHERE host = 'h3' AND time >= {d0 + day + 600}s " \
            f"AND time < {d0 + day + 7800}s GROUP BY time(10m)"
        fast, general, answered = _both(eng, q)
        assert cache_for(eng).by_day(eng.catalog.db("db"), next(iter(eng.catalog.db("db").live_tables())))
        assert cache_for(eng).day_builds >= 1
        assert answered == 1 and fast == general and fast[0][0] is None
        # a range across two days is no one day's copy's: the general run answers it
        q2 = q.replace(f"{d0 + day + 7800}s", f"{d0 + 2 * day + 600}s")
        fast, general, answered = _both(eng, q2)
        assert answered == 0 and fast == general
    finally:
        eng.close()
