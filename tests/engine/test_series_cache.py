"""The series cache: InfluxQL answers from it equal the DuckDB scan's, and it never serves stale rows."""

import time

import pyarrow as pa
import pytest

from jupyter_influx3.engine import Engine
from jupyter_influx3.engine.influxql.executor import Executor
from jupyter_influx3.engine.sql.seriescache import cache_for

S = 1_700_000_000  # seconds

# hosts a..e, some without `region`, fields of every kind; written in two parts (Parquet, then the
# buffer) with overwrites of persisted points, so the copy has to deduplicate like the view does
FIRST = "\n".join(
    f"cpu,host={h}{',region=' + r if r else ''} usage={(i * 7 + k * 3) % 23 - 5.5},n={(i * 5 + k) % 11}i,"
    f"s=\"{'ab'[i % 2]}\",ok={'true' if (i + k) % 3 else 'false'} {S + i * 10}"
    for k, (h, r) in enumerate([("a", "east"), ("b", "west"), ("c", None), ("d", "east"), ("e", None)])
    for i in range(120))
SECOND = "\n".join(
    [f"cpu,host=a,region=east usage=99.5 {S + 50}",          # overwrite, whole point
     f"cpu,host=c n=-3i {S + 60}",                            # overwrite, one field only
     f"cpu,host=f,region=north usage=1.25,n=2i {S + 70}"]     # a new series
    + [f"cpu,host=b,region=west usage={i % 9 + 0.5} {S + 1200 + i * 10}" for i in range(30)])

QUERIES = [
    "SELECT * FROM cpu WHERE host = 'a'",
    "SELECT usage FROM cpu WHERE host = 'a' OR host = 'c'",
    "SELECT usage, n FROM cpu WHERE host =~ /^[bc]$/ AND time >= {t0}s AND time < {t1}s",
    "SELECT * FROM cpu WHERE host !~ /a|b/ AND usage > 3",
    "SELECT usage FROM cpu WHERE usage > 5.5 AND host = 'a' OR n > 5 AND host = 'b' OR n < 2 AND host = 'c'",
    "SELECT usage FROM cpu WHERE (usage >= 5.5 OR usage <= -4.5) AND host = 'd' AND n != 3",
    "SELECT n FROM cpu WHERE 7 < n AND host = 'e'",
    "SELECT usage FROM cpu WHERE region = '' AND n >= 5",
    "SELECT usage FROM cpu WHERE region != 'east' AND s = 'a'",
    "SELECT n FROM cpu WHERE ok = true AND host = 'd'",
    "SELECT usage FROM cpu WHERE nosuchtag = '' AND host = 'e' LIMIT 5",
    "SELECT usage FROM cpu WHERE host = 'a' AND usage > 5.0 OR host = 'b' AND n < 3",
    "SELECT max(usage), min(n), count(s) FROM cpu WHERE host = 'b' AND time >= {t0}s AND time < {t1}s "
    "GROUP BY time(5m)",
    "SELECT mean(usage), sum(n), spread(usage) FROM cpu WHERE host = 'a' OR host = 'f' AND time < {t1}s "
    "GROUP BY time(2m), host fill(linear)",
    "SELECT first(usage), last(n) FROM cpu WHERE region = 'east' GROUP BY host",
    "SELECT last(*) FROM cpu GROUP BY host",
    "SELECT first(*) FROM cpu WHERE host = 'c'",
    "SELECT max(usage) FROM cpu WHERE host = 'b'",
    "SELECT top(usage, 3), n FROM cpu WHERE host = 'd' OR host = 'e'",
    "SELECT usage FROM cpu WHERE host = 'b' ORDER BY time DESC LIMIT 7 OFFSET 2",
    "SELECT count(usage) FROM cpu WHERE time >= {t0}s AND time < {t1}s GROUP BY time(10m), * SLIMIT 2",
    "SELECT derivative(mean(usage), 1m) FROM cpu WHERE host = 'a' AND time >= {t0}s AND time < {t1}s "
    "GROUP BY time(1m)",
    "SELECT median(usage), percentile(n, 90) FROM cpu WHERE host = 'a' AND time < {t1}s GROUP BY time(3m)",
    "SELECT usage + n FROM cpu WHERE usage * 2 > 10",        # arithmetic: read through DuckDB
]


def _answers(ex: Executor, q: str):
    res = list(ex.execute(q.format(t0=S + 300, t1=S + 1500), database="db", now_ns=(S + 3600) * 10**9))
    return [(r.error, [(s.name, s.tags, s.columns, s.values) for s in r.series]) for r in res]


@pytest.fixture
def engine(tmp_path):
    eng = Engine(tmp_path / "d", node_id="n1", background=False)
    assert not eng.write_lp("db", FIRST, "s").errors
    eng.snapshot()
    assert not eng.write_lp("db", SECOND, "s").errors
    yield eng
    eng.close()


@pytest.mark.parametrize("dialect", ["v1", "v3"])
@pytest.mark.parametrize("aggregates", ["points", "partials"])
def test_cached_answers_equal_the_duckdb_scan(engine, dialect, aggregates, monkeypatch):
    from jupyter_influx3.engine.influxql import pushdown

    if aggregates == "partials":   # per-series partial aggregates from the copy, as for large reads
        monkeypatch.setattr(pushdown, "CACHED_POINTS_MAX", -1)
    ex = Executor(engine, dialect=dialect)
    cached = [_answers(ex, q) for q in QUERIES]
    assert cache_for(engine).builds == 1
    cache_for(engine).budget = 0
    cache_for(engine).clear()
    scanned = [_answers(ex, q) for q in QUERIES]
    for q, a, b in zip(QUERIES, cached, scanned):
        assert a == b, q
    assert all(err is None for a in cached for err, _ in a)
    assert sum(len(s) for a in cached for _, s in a) > 0


def test_overwritten_points_answer_the_last_write(engine):
    ex = Executor(engine)
    [(err, series)] = _answers(ex, f"SELECT usage, n FROM cpu WHERE time = {S + 50}s AND host = 'a'")
    assert series[0][3][0][1] == 99.5
    [(err, series)] = _answers(ex, f"SELECT usage, n FROM cpu WHERE time = {S + 60}s AND host = 'c'")
    assert series[0][3][0][2] == -3 and series[0][3][0][1] is not None
    assert cache_for(engine).builds == 1


def test_a_write_after_the_copy_was_built_is_answered(engine):
    ex = Executor(engine)
    q = "SELECT count(usage) FROM cpu WHERE host = 'f'"
    assert _answers(ex, q)[0][1][0][3][0][1] == 1
    assert not engine.write_lp("db", f"cpu,host=f,region=north usage=2.5 {S + 80}", "s").errors
    assert _answers(ex, q)[0][1][0][3][0][1] == 2     # a copy for the old sources is never used


def test_a_snapshot_keeps_the_copy_valid(engine):
    ex = Executor(engine)
    q = "SELECT sum(n) FROM cpu WHERE host = 'c' OR host = 'f'"
    before = _answers(ex, q)
    assert cache_for(engine).builds == 1
    engine.snapshot()                  # the buffered rows move to Parquet, unchanged
    assert _answers(ex, q) == before
    assert cache_for(engine).builds == 1


def test_building_the_copy_counts_as_one_time_work_of_the_reading_thread(engine):
    """The first read builds the copy in its own thread and says so (http's run_short leaves that
    time out of the text's cost); a read from the built copy adds nothing."""
    from jupyter_influx3.engine import onetime

    ex = Executor(engine)
    q = "SELECT max(usage) FROM cpu WHERE host = 'b'"
    t0, before = time.perf_counter(), onetime.spent()
    first = _answers(ex, q)
    took, built = time.perf_counter() - t0, onetime.spent() - before
    assert cache_for(engine).builds == 1
    assert 0 < built <= took
    before = onetime.spent()
    assert _answers(ex, q) == first
    assert onetime.spent() == before


def test_a_reader_that_must_not_wait_gets_the_scan_while_the_copy_builds_in_the_background(engine):
    """An event loop reads inside onetime.elsewhere(): the first read is answered by the DuckDB
    scan at once and the copy is built by another thread, for the reads after it."""
    from jupyter_influx3.engine import onetime

    ex = Executor(engine)
    q = "SELECT max(usage), count(n) FROM cpu WHERE host = 'b' GROUP BY time(5m)"
    before = onetime.spent()
    with onetime.elsewhere():
        assert not onetime.here()
        first = _answers(ex, q)
    assert onetime.here() and onetime.spent() == before
    deadline = time.monotonic() + 30
    while cache_for(engine).builds < 1 and time.monotonic() < deadline:
        time.sleep(0.02)
    assert cache_for(engine).builds == 1
    hits = cache_for(engine).hits
    assert _answers(ex, q) == first
    assert cache_for(engine).hits > hits   # answered from the copy built in the background


@pytest.mark.parametrize("budget", [0, 4096], ids=["off", "table-over-budget"])
def test_without_room_for_the_copy_reads_go_through_duckdb(tmp_path, budget):
    eng = Engine(tmp_path / "d", node_id="n1", background=False, series_cache_bytes=budget)
    try:
        assert not eng.write_lp("db", FIRST, "s").errors
        assert _answers(Executor(eng), "SELECT count(usage) FROM cpu WHERE host = 'a'")[0][1][0][3][0][1] == 120
        assert cache_for(eng).builds == 0
    finally:
        eng.close()


def test_retention_applies_to_the_copy(tmp_path):
    eng = Engine(tmp_path / "d", node_id="n1", background=False)
    try:
        now = time.time_ns()
        lines = "\n".join(f"m,host=a v={i}i {now - i * 600 * 10**9}" for i in range(12))  # 0..110 min old
        assert not eng.write_lp("db", lines, "ns").errors
        eng.create_table("db", "r", ["host"], [("v", "int64")], retention_period="1h")
        rlines = lines.replace("m,", "r,")
        assert not eng.write_lp("db", rlines, "ns").errors
        ex = Executor(eng)
        got = list(ex.execute("SELECT count(v) FROM r WHERE host = 'a'", database="db"))
        assert got[0].series[0].values[0][1] == 6          # 0, 10, ..., 50 minutes old
        got = list(ex.execute("SELECT count(v) FROM m WHERE host = 'a'", database="db"))
        assert got[0].series[0].values[0][1] == 12
        assert cache_for(eng).builds == 2
    finally:
        eng.close()


def test_influxql_on_one_node_sees_what_another_node_acknowledged(tmp_path):
    a = Engine(tmp_path / "d", node_id="a", background=False)
    b = Engine(tmp_path / "d", node_id="b", background=False)
    try:
        ex = Executor(b)
        q = "SELECT count(v) FROM m WHERE host = 'x'"
        assert not a.write_lp("db", "m,host=x v=1i 1700000000", "s").errors
        assert _answers(ex, q)[0][1][0][3][0][1] == 1      # builds b's copy of the table
        assert not a.write_lp("db", "m,host=x v=2i 1700000001", "s").errors
        assert _answers(ex, q)[0][1][0][3][0][1] == 2
        a.snapshot()
        assert _answers(ex, q)[0][1][0][3][0][1] == 2
    finally:
        a.close()
        b.close()


@pytest.mark.parametrize("fields", ["n,v", "v"], ids=["some-rows-lack-a-field", "every-row-has-them"])
@pytest.mark.parametrize("interval", [0, 10 * 86400 * 10**9], ids=["no-window", "10d-windows"])
def test_partials_from_the_copy_equal_duckdbs_across_shards(tmp_path, interval, fields):
    """Points weeks apart fall in different 1.x shards (7 days): the copy's per-(series, window,
    shard) counts, sums and extremes are the rows DuckDB's partials query returns (fields with a
    value in every row take a short cut: segments worked out from the rows alone)."""
    from jupyter_influx3.engine.influxql.functions import MAX_TIME, MIN_TIME
    from jupyter_influx3.engine.influxql.planner import MeasurementInfo
    from jupyter_influx3.engine.influxql.scan import Scanner
    from jupyter_influx3.engine.influxql.select import shard_duration

    eng = Engine(tmp_path / "d", node_id="n1", background=False)
    try:
        week = 7 * 86400
        lines = "\n".join(f"m,host=h{h}{',dc=x' if h % 3 else ''} v={(i * 7919 + h) % 1009 / 7}"
                          f"{'' if i % 5 == 0 else f',n={-((i * 31 + h) % 97) - 1}i'} {S + (i % 3) * week + i * 37}"
                          for h in range(6) for i in range(60))
        assert not eng.write_lp("db", lines, "s").errors
        db = eng.catalog.db("db")
        m = MeasurementInfo("m", db, db.table("m"), {"n": "integer", "v": "float"}, ["dc", "host"])
        sc = Scanner(eng, (S + 4 * week) * 10**9)
        cached = sc.cached(m, None, lambda ref: None)
        assert cached is not None
        spec = [("n", "integer", ["count", "maxv", "minv", "sum"]), ("v", "float", ["count", "maxv", "minv"])]
        spec = [f for f in spec if f[0] in fields.split(",")]
        sd = shard_duration(None)
        ours, series = cached.partials(spec, MIN_TIME, MAX_TIME, interval, 0, sd)
        assert cached.partials(spec, MIN_TIME, MAX_TIME, interval, 0, sd)[0].equals(ours)   # segments kept: the same
        theirs = sc.partials(m, spec, MIN_TIME, MAX_TIME, None, interval, 0, sd)
        # the copy names each row's series (an index into its series), DuckDB gives the tags
        names = [c for c in ours.column_names if c != "__sid"]
        theirs = theirs.select(["dc", "host"] + names)
        theirs = theirs.cast(pa.schema([theirs.schema.field("dc"), theirs.schema.field("host")]
                                       + [ours.schema.field(c) for c in names]))
        ours = [{"dc": series[r["__sid"]].get("dc"), "host": series[r["__sid"]].get("host"),
                 **{c: r[c] for c in names}} for r in ours.to_pylist()]
        key = lambda r: (r["host"], r["__win"], r["__shard"])
        assert len({r["__shard"] for r in ours}) == 3 and len({r["host"] for r in ours}) == 6
        assert sorted(ours, key=key) == sorted(theirs.to_pylist(), key=key)
        sc.close()
    finally:
        eng.close()


def test_the_copy_of_a_deleted_table_is_dropped_at_the_next_build(tmp_path):
    eng = Engine(tmp_path / "d", node_id="n1", background=False)
    try:
        assert not eng.write_lp("db", "m,host=a v=1i 1700000000\nn,host=a v=1i 1700000000", "s").errors
        ex = Executor(eng)
        _answers(ex, "SELECT count(v) FROM m WHERE host = 'a'")
        assert len(cache_for(eng)._entries) == 1
        eng.delete_table("db", "m")
        _answers(ex, "SELECT count(v) FROM n WHERE host = 'a'")   # another table's build looks around
        db = eng.catalog.db("db")
        assert list(cache_for(eng)._entries) == [(db.id, db.table("n").id)]
    finally:
        eng.close()
