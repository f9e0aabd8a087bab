"""Series-cache copies of one UTC day, for a table too big to copy whole: InfluxQL reads within
the day answer exactly as through DuckDB and as from a whole-table copy; reads reaching past the
day go through DuckDB; the copy follows writes, snapshots and compactions of its day."""

import json

import pytest

from jupyter_influx3.engine import Engine
from jupyter_influx3.engine.influxql.executor import Executor
from jupyter_influx3.engine.sql.seriescache import cache_for

DAY = 86400
D0 = 1_735_689_600            # 2025-01-01T00:00:00Z, seconds
D1, D2 = D0 + DAY, D0 + 2 * DAY
NOW = (D0 + 3 * DAY) * 10**9
#: room for copies of a day or two (~0.1 MB each), not for the table (three days and more)
SMALL = 400_000
HOSTS = [("a", "east"), ("b", "west"), ("c", None), ("d", "east"), ("e", None)]


def _lines(days, hosts, step=300, shift=0):
    out = []
    for d in days:
        for k, (h, r) in enumerate(hosts):
            if h == "e" and d == 1:
                continue                        # host e has no rows on day 1
            for i in range(0, DAY, step):
                j = i // step
                out.append(f"cpu,host={h}{',region=' + r if r else ''} usage={(j * 7 + k * 3 + d) % 23 - 5.5},"
                           f"n={(j * 5 + k) % 11}i,s=\"{'ab'[j % 2]}\",ok={'true' if (j + k) % 3 else 'false'}"
                           f" {D0 + d * DAY + i + shift}")
    return "\n".join(out)


# written after the snapshot (buffered): overwrites of persisted points of day 1, a series that
# exists on day 1 only, rows of day 2, and a point with one field only
LATER = "\n".join(
    [f"cpu,host=a,region=east usage=99.5 {D1 + 12 * 3600 + 600}",
     f"cpu,host=c n=-3i {D1 + 12 * 3600 + 900}",
     f"cpu,host=b,region=west ok=true {D1 + 13 * 3600 + 17}"]
    + [f"cpu,host=g,region=north usage={i % 9 + 0.25},n={i}i {D1 + 11 * 3600 + i * 97}" for i in range(80)]
    + [f"cpu,host=a,region=east usage={i + 0.5} {D2 + i * 450}" for i in range(40)])

H12, H13 = D1 + 12 * 3600, D1 + 13 * 3600
WITHIN = f"time >= {H12}s AND time < {H13}s"
DAY1 = f"time >= {D1}s AND time < {D2}s"
QUERIES = [
    f"SELECT max(usage), mean(n) FROM cpu WHERE host = 'a' AND {WITHIN} GROUP BY time(5m)",
    f"SELECT max(usage), mean(usage), count(n) FROM cpu WHERE {DAY1} GROUP BY host",
    f"SELECT mean(usage) FROM cpu WHERE {WITHIN} GROUP BY time(10m), host fill(null)",
    f"SELECT mean(usage) FROM cpu WHERE host =~ /^[cg]$/ AND {WITHIN} GROUP BY time(1m), host fill(previous)",
    f"SELECT first(usage), last(n), max(usage), mean(usage) FROM cpu WHERE {DAY1} GROUP BY host",
    f"SELECT first(usage), first(n) FROM cpu WHERE host = 'b' AND {DAY1}",
    f"SELECT last(*) FROM cpu WHERE {DAY1} GROUP BY *",
    f"SELECT * FROM cpu WHERE host = 'c' AND {WITHIN}",
    f"SELECT * FROM cpu WHERE {WITHIN}",
    f"SELECT usage, n FROM cpu WHERE host = 'e' AND {DAY1}",                 # no rows that day
    f"SELECT count(usage) FROM cpu WHERE host = 'e' AND {DAY1} GROUP BY time(1h) fill(0)",
    f"SELECT usage, n FROM cpu WHERE host = 'g' AND {DAY1}",                 # only that day
    f"SELECT sum(n), min(usage) FROM cpu WHERE region = 'north' OR host = 'a' AND {DAY1} GROUP BY time(2h), *",
    f"SELECT count(usage) FROM cpu WHERE {DAY1} GROUP BY time(3h), *",
    f"SELECT usage FROM cpu WHERE usage > 5.0 AND host !~ /a|b/ AND {WITHIN}",
    f"SELECT top(usage, 3), n FROM cpu WHERE (host = 'd' OR host = 'g') AND {DAY1}",
    f"SELECT usage FROM cpu WHERE host = 'b' AND {DAY1} ORDER BY time DESC LIMIT 7 OFFSET 2",
    f"SELECT n FROM cpu WHERE ok = true AND host = 'd' AND {WITHIN}",
    f"SELECT count(s) FROM cpu WHERE s = 'a' AND region = '' AND {DAY1} GROUP BY host",
    # reads the hour before the range (the previous day): that read goes through DuckDB
    f"SELECT derivative(mean(usage), 1m) FROM cpu WHERE host = 'a' AND time >= {D1}s AND time < {D1 + 7200}s "
    "GROUP BY time(1h)",
]


def _answers(ex: Executor, q: str) -> str:
    res = list(ex.execute(q, database="db", now_ns=NOW))
    return json.dumps([(r.error, [(s.name, s.tags, s.columns, s.values) for s in r.series]) for r in res])


def _engine(path, budget=SMALL) -> Engine:
    eng = Engine(path, node_id="n1", background=False, series_cache_bytes=budget)
    assert not eng.write_lp("db", _lines(range(3), HOSTS), "s").errors
    eng.snapshot()
    assert not eng.write_lp("db", LATER, "s").errors
    return eng


@pytest.fixture
def engine(tmp_path):
    eng = _engine(tmp_path / "d")
    yield eng
    eng.close()


@pytest.mark.parametrize("dialect", ["v1", "v3"])
@pytest.mark.parametrize("aggregates", ["points", "partials"])
def test_reads_within_one_day_answer_as_through_duckdb_and_as_a_whole_copy(engine, dialect, aggregates,
                                                                           monkeypatch):
    from jupyter_influx3.engine.influxql import pushdown

    if aggregates == "partials":   # per-series partial aggregates from the copy, as for large reads
        monkeypatch.setattr(pushdown, "CACHED_POINTS_MAX", -1)
    ex = Executor(engine, dialect=dialect)
    cache = cache_for(engine)
    by_day = [_answers(ex, q) for q in QUERIES]
    assert cache.builds == cache.day_builds == 1          # day 1 only, never the whole table
    assert cache.hits >= len(QUERIES) - 2               # not the first (it builds) nor the derivative
    assert list(cache._entries) == [(engine.catalog.db("db").id, engine.catalog.db("db").table("cpu").id, D1 // DAY)]
    st = next(iter(cache._entries.values())).table
    assert (int(st.time.min()), int(st.time.max())) == (D1 * 10**9, (D2 - 300) * 10**9)   # day 1's rows only

    cache.budget = 0
    cache.clear()
    scanned = [_answers(ex, q) for q in QUERIES]
    cache.budget = 1 << 30
    whole = [_answers(ex, q) for q in QUERIES]
    assert cache.builds - cache.day_builds == 1           # the whole table, once
    for q, a, b, c in zip(QUERIES, by_day, scanned, whole):
        assert a == b, q
        assert a == c, q
    assert all(json.loads(a)[0][0] is None for a in by_day)
    assert sum(len(json.loads(a)[0][1]) for a in by_day) > 20


def test_a_read_spanning_two_days_goes_through_duckdb(engine):
    ex = Executor(engine)
    q = (f"SELECT count(usage), max(n) FROM cpu WHERE time >= {D1 + 20 * 3600}s AND time < {D2 + 4 * 3600}s "
         "GROUP BY host")
    got = _answers(ex, q)
    assert cache_for(engine).builds == 0 and cache_for(engine).hits == 0
    cache_for(engine).budget = 0
    assert _answers(ex, q) == got
    assert json.loads(got)[0][1]


def test_a_write_into_the_day_is_seen_and_a_write_into_another_day_keeps_the_copy(engine):
    ex = Executor(engine)
    cache = cache_for(engine)
    q = f"SELECT count(usage) FROM cpu WHERE host = 'g' AND {DAY1}"
    assert json.loads(_answers(ex, q))[0][1][0][3][0][1] == 80
    assert not engine.write_lp("db", f"cpu,host=g,region=north usage=3.5 {D2 + 60}", "s").errors
    assert json.loads(_answers(ex, q))[0][1][0][3][0][1] == 80
    assert (cache.day_builds, cache.hits) == (1, 1)              # day 2's rows do not touch day 1's copy
    assert not engine.write_lp("db", f"cpu,host=g,region=north usage=2.5 {D1 + 60}", "s").errors
    assert json.loads(_answers(ex, q))[0][1][0][3][0][1] == 81   # a copy of the old sources is not used
    assert cache.hits == 1


def test_a_snapshot_and_a_compaction_keep_the_day_copy(tmp_path):
    eng = Engine(tmp_path / "d", node_id="n1", background=False, series_cache_bytes=SMALL, compaction_min_files=2)
    try:
        ex = Executor(eng)
        cache = cache_for(eng)
        for part in range(3):                     # three files of each day
            lines = _lines(range(3), HOSTS, step=900, shift=part).replace(" usage=", f" p={part}i,usage=")
            assert not eng.write_lp("db", lines, "s").errors
            eng.snapshot()
        assert not eng.write_lp("db", LATER, "s").errors
        q = f"SELECT count(usage), sum(n), max(p) FROM cpu WHERE {DAY1} GROUP BY host"
        before = _answers(ex, q)
        assert cache.day_builds == 1
        eng.snapshot()                            # buffered rows of days 1 and 2 move to Parquet
        assert _answers(ex, q) == before
        assert eng.compact() > 0                  # each day's files merged into one
        assert _answers(ex, q) == before
        assert cache.day_builds == 1 and cache.hits >= 2
        cache.budget = 0
        assert _answers(ex, q) == before
    finally:
        eng.close()


def test_a_snapshot_of_rows_the_copy_has_not_seen_leaves_it_stale(engine):
    ex = Executor(engine)
    q = f"SELECT count(usage) FROM cpu WHERE host = 'g' AND {DAY1}"
    assert json.loads(_answers(ex, q))[0][1][0][3][0][1] == 80
    assert not engine.write_lp("db", f"cpu,host=g,region=north usage=2.5 {D1 + 60}", "s").errors
    engine.snapshot()               # both the copy's batch and the new one move to day 1's files
    assert json.loads(_answers(ex, q))[0][1][0][3][0][1] == 81


def test_a_copy_of_buffered_rows_holds_its_day_only(tmp_path):
    eng = Engine(tmp_path / "d", node_id="n1", background=False, series_cache_bytes=SMALL)
    try:
        assert not eng.write_lp("db", _lines(range(3), HOSTS), "s").errors     # one batch of three days
        ex = Executor(eng)
        q = f"SELECT count(usage), first(n), last(usage) FROM cpu WHERE {DAY1} GROUP BY host"
        got = _answers(ex, q)
        [e] = cache_for(eng)._entries.values()
        assert (int(e.table.time.min()), int(e.table.time.max())) == (D1 * 10**9, (D2 - 300) * 10**9)
        cache_for(eng).budget = 0
        assert _answers(ex, q) == got
    finally:
        eng.close()


def test_copies_of_days_and_of_the_table_share_the_budget(engine):
    ex = Executor(engine)
    cache = cache_for(engine)
    cache.budget = 300_000     # two copies of a day (~0.13 MB each), not three
    for d in (D0, D1, D2, D1):
        _answers(ex, f"SELECT count(usage) FROM cpu WHERE time >= {d}s AND time < {d + DAY}s GROUP BY host")
    kept = [e.table for e in cache._entries.values() if e.table is not None]
    assert cache.day_builds == 3 and len(cache._entries) == 3
    assert 1 <= len(kept) < 3 and sum(t.nbytes for t in kept) <= cache.budget   # the oldest went
    assert all(t.span is not None and t.span[1] - t.span[0] == DAY * 10**9 - 1 for t in kept)
    # a buffered batch holds rows of days 1 and 2: each copy holds its own day's rows only
    assert all(t.span[0] <= t.time.min() and t.time.max() <= t.span[1] for t in kept)


def test_the_day_copies_of_a_deleted_table_are_dropped(engine):
    ex = Executor(engine)
    _answers(ex, f"SELECT count(usage) FROM cpu WHERE {DAY1}")
    assert len(cache_for(engine)._entries) == 1
    engine.delete_table("db", "cpu")
    assert not engine.write_lp("db", f"other,host=a v=1i {D1}", "s").errors
    _answers(ex, f"SELECT count(v) FROM other WHERE {DAY1}")   # another table's build looks around
    db = engine.catalog.db("db")
    assert list(cache_for(engine)._entries) == [(db.id, db.table("other").id)]


def test_retention_applies_to_a_day_copy(tmp_path):
    eng = Engine(tmp_path / "d", node_id="n1", background=False, series_cache_bytes=200_000)
    try:
        eng.create_table("db", "cpu", ["host", "region"], [("usage", "float64"), ("n", "int64")],
                         retention_period="36h")
        assert not eng.write_lp("db", _lines(range(3), HOSTS).replace(',s="a"', "").replace(',s="b"', "")
                                .replace(",ok=true", "").replace(",ok=false", ""), "s").errors
        now = (D1 + 18 * 3600) * 10**9 + 36 * 3600 * 10**9        # rows before D1 18:00 have expired
        ex = Executor(eng)
        qs = [f"SELECT count(usage), min(n) FROM cpu WHERE {DAY1} GROUP BY host",
              f"SELECT count(usage) FROM cpu WHERE time >= {D1 + 12 * 3600}s AND time < {D1 + 20 * 3600}s "
              "GROUP BY time(1h), host"]
        run = lambda q: json.dumps([(r.error, [(s.tags, s.values) for s in r.series])
                                    for r in ex.execute(q, database="db", now_ns=now)])
        got = [run(q) for q in qs]
        assert cache_for(eng).day_builds == 1 and cache_for(eng).hits == 1
        assert json.loads(got[0])[0][1][0][1][0][1] == 72          # 18:00 .. 23:55 every 5 minutes
        cache_for(eng).budget = 0
        assert [run(q) for q in qs] == got
    finally:
        eng.close()


def _first_run(engine, q: str, monkeypatch) -> str:
    """The answer of a run that keeps and finds nothing."""
    from jupyter_influx3.engine.influxql import select

    with monkeypatch.context() as mp:
        mp.setattr(select._Run, "_take_state", lambda self: None)
        return _answers(Executor(engine), q)


def test_a_plan_run_again_over_a_day_copy_keeps_its_state_and_answers_as_a_first_run(engine, monkeypatch, adopted):
    ex = Executor(engine)
    q = QUERIES[0]   # one host, one hour of day 1, GROUP BY time(5m)
    first = _first_run(engine, q, monkeypatch)
    again = [_answers(ex, q) for _ in range(4)]
    assert cache_for(engine).day_builds == 1 and cache_for(engine).builds == 1
    assert adopted[-1], "a rerun over the day copy did not start from the kept state"
    assert again == [first] * 4
    # a write into that day makes a new day copy: the rerun sees it
    assert not engine.write_lp("db", f"cpu,host=a,region=east usage=1234.5 {H12 + 60}", "s").errors
    changed = _answers(ex, q)
    assert changed != first and "1234.5" in changed
    assert changed == _first_run(engine, q, monkeypatch)


def test_a_plan_whose_reads_leave_the_day_keeps_nothing_with_the_day_copy(engine, monkeypatch, adopted):
    ex = Executor(engine)
    q = QUERIES[-1]   # derivative: it reads the hour before the range, on the previous day
    answers = {_answers(ex, q) for _ in range(4)}
    assert not any(adopted)
    assert answers == {_first_run(engine, q, monkeypatch)}
