"""What a query reads: the same answers from buffer, Parquet, both, and after a restart; Parquet time
pruning; deduplication; retention; deleted tables; other nodes' writes."""

import time

import pytest

from jupyter_influx3.engine import Engine, errors

DAY = 86400 * 10**9
T0 = 1_700_000_000 * 10**9 - (1_700_000_000 * 10**9) % DAY   # a UTC midnight
HOSTS = ["a", "b", "c"]


def lines(day: int, n: int = 24, overwrite: bool = False) -> str:
    """Hourly points of three hosts on one day; `overwrite` rewrites some with new values."""
    out = []
    for h in range(n):
        t = T0 + day * DAY + h * 3600 * 10**9
        for i, host in enumerate(HOSTS):
            tag = f",region=r{i % 2}" if host != "c" else ""
            if overwrite:
                if h % 5 == 0:
                    out.append(f"cpu,host={host}{tag} usage={h + 0.5},status=\"over\" {t}")
                continue
            fields = f"usage={h + i / 10},n={h * 10 + i}i"
            if h % 7 == 0:
                fields += f",status=\"s{h}\""
            out.append(f"cpu,host={host}{tag} {fields} {t}")
    return "\n".join(out) + "\n"


def load(engine: Engine, layout: str, data_dir) -> Engine:
    bodies = [lines(0), lines(1), lines(2), lines(1, overwrite=True)]
    if layout == "buffer":
        for b in bodies:
            engine.write_lp("db", b, "ns")
    elif layout == "parquet":
        for b in bodies:
            engine.write_lp("db", b, "ns")
        engine.snapshot()
    elif layout == "split":
        engine.write_lp("db", bodies[0], "ns")
        engine.write_lp("db", bodies[1], "ns")
        engine.snapshot()
        engine.write_lp("db", bodies[2], "ns")
        engine.write_lp("db", bodies[3], "ns")     # overwrites rows that are already in Parquet
    elif layout == "each-in-own-file":
        for b in bodies:
            engine.write_lp("db", b, "ns")
            engine.snapshot()
    elif layout == "restart":
        for b in bodies:
            engine.write_lp("db", b, "ns")
        engine.close()
        engine = Engine(data_dir, node_id="n1", background=False)
    return engine


QUERIES = [
    "SELECT count(*) AS n, count(status) AS s, sum(n) AS total, avg(usage) AS mean FROM cpu",
    "SELECT host, region, time, usage, n, status FROM cpu ORDER BY host, time",
    "SELECT host, count(*) AS n, max(usage) AS mx FROM cpu GROUP BY host ORDER BY host",
    "SELECT date_bin(INTERVAL '6 hours', time) AS t, host, avg(usage) AS a FROM cpu GROUP BY 1, 2 ORDER BY 1, 2",
    "SELECT host, selector_last(usage, time)['value'] AS v FROM cpu GROUP BY host ORDER BY host",
    f"SELECT time, usage, status FROM cpu WHERE host = 'a' AND time >= to_timestamp({T0 + DAY}) "
    f"AND time < to_timestamp({T0 + DAY + 6 * 3600 * 10**9}) ORDER BY time",
    "SELECT count(*) AS n FROM cpu WHERE region IS NULL",
    f"SELECT date_bin_gapfill(INTERVAL '12 hours', time) AS t, host, locf(max(usage)) AS m FROM cpu "
    f"WHERE time >= to_timestamp({T0}) AND time < to_timestamp({T0 + 4 * DAY}) GROUP BY 1, 2",
]


def expected():
    """The answers computed in plain Python from the rows the writes describe."""
    table = {}
    for day, over in ((0, False), (1, False), (2, False), (1, True)):
        for line in lines(day, overwrite=over).splitlines():
            series, fields, t = line.split(" ")
            key = (series, int(t))
            row = table.setdefault(key, {})
            for kv in fields.split(","):
                k, v = kv.split("=", 1)
                row[k] = v
    return table


@pytest.fixture(scope="module", params=["buffer", "parquet", "split", "each-in-own-file", "restart"])
def layout(request, tmp_path_factory):
    d = tmp_path_factory.mktemp(request.param) / "data"
    e = Engine(d, node_id="n1", background=False)
    e = load(e, request.param, d)
    yield request.param, e
    e.close()


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    d = tmp_path_factory.mktemp("ref") / "data"
    e = Engine(d, node_id="n1", background=False)
    e = load(e, "buffer", d)
    answers = {q: e.sql("db", q).to_pylist() for q in QUERIES}
    e.close()
    return answers


def test_the_buffer_layout_matches_the_rows_written(reference):
    table = expected()
    got = reference[QUERIES[0]][0]
    assert got["n"] == len(table)
    assert got["s"] == sum(1 for r in table.values() if "status" in r)
    row = next(r for r in reference[QUERIES[1]] if r["host"] == "a" and r["time"].value == T0 + DAY)
    assert (row["usage"], row["n"], row["status"]) == (0.5, 0, "over")   # overwritten; n kept (last non-null)


def rounded(rows: list[dict]) -> list[dict]:
    """Float sums may differ in the last bits with the order rows are added in."""
    return [{k: round(v, 9) if isinstance(v, float) else v for k, v in r.items()} for r in rows]


@pytest.mark.parametrize("query", QUERIES, ids=[f"q{i}" for i in range(len(QUERIES))])
def test_same_answer_whatever_holds_the_data(layout, reference, query):
    _, e = layout
    assert rounded(e.sql("db", query).to_pylist()) == rounded(reference[query])


def test_only_overlapping_sources_are_deduplicated(tmp_path):
    e = Engine(tmp_path / "d", node_id="n1", background=False)
    e.write_lp("db", lines(0), "ns")
    e.write_lp("db", lines(1), "ns")
    e.sql("db", "SELECT count(*) FROM cpu")
    assert e.last_query_telemetry["deduplicated_tables"] == []          # disjoint time ranges
    e.write_lp("db", lines(1, overwrite=True), "ns")
    assert e.sql("db", "SELECT count(*) AS n FROM cpu").to_pylist() == [{"n": 2 * 24 * 3}]
    assert e.last_query_telemetry["deduplicated_tables"] == ["cpu"]
    e.close()


def test_writes_of_different_series_at_the_same_times_need_no_dedup(engine):
    for host in ("a", "b", "c"):      # e.g. one agent per host, all writing "now"
        engine.write_lp("db", f"cpu,host={host} v=1 100\ncpu,host={host} v=2 200", "ns")
    assert engine.sql("db", "SELECT count(*) AS n FROM cpu").to_pylist() == [{"n": 6}]
    assert engine.last_query_telemetry["deduplicated_tables"] == []
    engine.write_lp("db", "cpu,host=b v=3 200", "ns")
    assert engine.sql("db", "SELECT host, v FROM cpu WHERE time = to_timestamp(200) ORDER BY host").to_pylist() == [
        {"host": "a", "v": 2.0}, {"host": "b", "v": 3.0}, {"host": "c", "v": 2.0}]
    assert engine.last_query_telemetry["deduplicated_tables"] == ["cpu"]


def test_a_series_written_before_and_after_a_new_tag_appeared_is_still_one_series(engine):
    engine.write_lp("db", "m,host=a v=1 10", "ns")
    engine.sql("db", "SELECT count(*) FROM m")               # stats of the first batch are cached now
    engine.write_lp("db", "m,host=b,region=r v=5 10", "ns")   # the table gains a tag
    engine.write_lp("db", "m,host=a v=2 10", "ns")            # same series as the first write
    assert engine.sql("db", "SELECT host, region, v FROM m ORDER BY host").to_pylist() == [
        {"host": "a", "region": None, "v": 2.0}, {"host": "b", "region": "r", "v": 5.0}]


def test_duplicates_inside_one_write_keep_the_last_non_null_value(engine):
    engine.write_lp("db", "m,k=x a=1,b=1 10\nm,k=x a=2 10\nm,k=y a=5 10", "ns")
    assert engine.sql("db", "SELECT k, a, b FROM m ORDER BY k").to_pylist() == [
        {"k": "x", "a": 2.0, "b": 1.0}, {"k": "y", "a": 5.0, "b": None}]


def test_rows_with_and_without_a_tag_are_different_series(engine):
    engine.write_lp("db", "m,k=x a=1 10\nm a=2 10\nm a=3 10", "ns")
    assert engine.sql("db", "SELECT k, a FROM m ORDER BY a").to_pylist() == [{"k": "x", "a": 1.0}, {"k": None, "a": 3.0}]


# ---- pruning --------------------------------------------------------------------------------------
@pytest.fixture
def three_days(engine):
    for day in range(3):
        engine.write_lp("db", lines(day), "ns")
        engine.snapshot()
    assert len(engine.index.all()) == 3
    return engine


def iso(ns: int) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(ns // 10**9))


@pytest.mark.parametrize("where, scanned", [
    (f"time >= '{iso(T0 + 2 * DAY)}'", 1),
    (f"time > '{iso(T0 + DAY + 3600 * 10**9)}' AND time < '{iso(T0 + 2 * DAY)}'", 1),
    (f"time BETWEEN '{iso(T0)}' AND '{iso(T0 + DAY + 3600 * 10**9)}'", 2),
    (f"time >= to_timestamp({T0 + DAY}) AND time <= to_timestamp({T0 + DAY})", 1),
    (f"'{iso(T0 + DAY)}' > time", 1),
    ("time >= $start", 1),
    (f"host = 'a' AND (usage >= 0 AND time < '{iso(T0 + 3600 * 10**9)}')", 1),
    (f"time >= '{iso(T0 + 2 * DAY)}' OR host = 'a'", 3),
    (f"date_bin(INTERVAL '1 day', time) >= '{iso(T0 + 2 * DAY)}'", 3),
    (f"time + INTERVAL '1 day' >= '{iso(T0 + 3 * DAY)}'", 3),
])
def test_time_bounds_prune_parquet_files_without_changing_answers(three_days, where, scanned):
    e = three_days
    params = {"start": iso(T0 + 2 * DAY)} if "$start" in where else None
    q = f"SELECT host, time, usage FROM cpu WHERE {where} ORDER BY host, time"
    got = e.sql("db", q, params).to_pylist()
    assert e.last_query_telemetry["files_total"] == 3
    assert e.last_query_telemetry["files_scanned"] == scanned
    unpruned = e.sql("db", f"SELECT host, time, usage FROM (SELECT * FROM cpu) AS c WHERE {where} "
                           "ORDER BY host, time", params).to_pylist()
    assert e.last_query_telemetry["files_scanned"] == 3
    assert got == unpruned and got


def test_now_relative_bounds_prune_too(engine):
    now = time.time_ns()
    engine.write_lp("db", f"cpu v=1 {now - 3 * DAY}", "ns")
    engine.snapshot()
    engine.write_lp("db", f"cpu v=2 {now - 60 * 10**9}", "ns")
    engine.snapshot()
    assert engine.sql("db", "SELECT v FROM cpu WHERE time > now() - INTERVAL '1 hour'").to_pylist() == [{"v": 2.0}]
    assert engine.last_query_telemetry["files_scanned"] == 1


def test_buffered_batches_outside_the_bounds_are_skipped(engine):
    for day in range(3):
        engine.write_lp("db", lines(day), "ns")
    engine.sql("db", f"SELECT count(*) FROM cpu WHERE time >= '{iso(T0 + 2 * DAY)}'")
    t = engine.last_query_telemetry
    assert (t["buffer_chunks_total"], t["buffer_chunks_scanned"]) == (3, 1)


def test_each_occurrence_of_a_table_is_bounded_separately(three_days):
    q = (f"SELECT (SELECT count(*) FROM cpu WHERE time >= '{iso(T0 + 2 * DAY)}') AS late, "
         f"(SELECT count(*) FROM cpu WHERE time < '{iso(T0 + DAY)}') AS early")
    assert three_days.sql("db", q).to_pylist() == [{"late": 72, "early": 72}]
    t = three_days.last_query_telemetry
    assert (t["files_total"], t["files_scanned"]) == (6, 2)
    assert [r["files_scanned"] for r in t["tables"]["cpu"]] == [1, 1]


def test_telemetry_reports_what_was_read_and_returned(three_days):
    res = three_days.query_sql("db", f"SELECT * FROM cpu WHERE time >= '{iso(T0 + 2 * DAY)}'")
    res.to_table()
    t = three_days.last_query_telemetry
    assert t["rows_read"] == 72 and t["rows_returned"] == 72 and t["bytes_read"] > 0
    assert t["planning_ms"] >= 0 and t["execution_ms"] >= 0 and t["finished"]


# ---- retention, deletion, other nodes -----------------------------------------------------------------
def test_rows_older_than_the_retention_period_are_invisible(engine):
    engine.catalog.create_database("ret", retention_ns=3600 * 10**9)
    now = time.time_ns()
    engine.write_lp("ret", f"cpu v=1 {now - 2 * 3600 * 10**9}\ncpu v=2 {now - 60 * 10**9}", "ns")
    assert engine.sql("ret", "SELECT v FROM cpu").to_pylist() == [{"v": 2.0}]
    engine.snapshot()
    assert engine.sql("ret", "SELECT v FROM cpu").to_pylist() == [{"v": 2.0}]


def test_retention_and_a_row_delete_both_filter_a_table_read_from_one_source(engine):
    engine.catalog.create_database("rd", retention_ns=3600 * 10**9)
    now = time.time_ns()
    engine.write_lp("rd", f"cpu,host=a v=1 {now - 2 * 3600 * 10**9}\ncpu,host=a v=2 {now - 60 * 10**9}\n"
                          f"cpu,host=b v=3 {now - 60 * 10**9}", "ns")
    engine.admin.create_row_delete("rd", "cpu", all_time=True, predicate="host = 'b'")
    q = "SELECT host, v FROM cpu"
    assert engine.sql("rd", q).to_pylist() == [{"host": "a", "v": 2.0}]    # one buffered batch
    engine.snapshot()
    assert engine.sql("rd", q).to_pylist() == [{"host": "a", "v": 2.0}]    # one Parquet file


def test_a_table_retention_period_overrides_the_database_one(engine):
    now = time.time_ns()
    engine.write_lp("db", f"cpu v=1 {now - 2 * 3600 * 10**9}\ncpu v=2 {now - 60 * 10**9}\n"
                          f"mem v=1 {now - 2 * 3600 * 10**9}", "ns")
    d, t = engine.catalog.table("db", "cpu")
    engine.catalog.transact(lambda c: [{"op": "set_table_retention", "db": d.id, "table": t.id,
                                        "retention_ns": 3600 * 10**9}])
    assert engine.sql("db", "SELECT v FROM cpu").to_pylist() == [{"v": 2.0}]
    assert engine.sql("db", "SELECT count(*) AS n FROM mem").to_pylist() == [{"n": 1}]


def test_deleted_tables_are_invisible(engine):
    engine.write_lp("db", "cpu v=1 1\nmem v=2 1", "ns")
    d, t = engine.catalog.table("db", "cpu")
    engine.catalog.transact(lambda c: [{"op": "delete_table", "db": d.id, "table": t.id,
                                        "new_name": "cpu-20250101T000000"}])
    with pytest.raises(errors.QueryError) as e:
        engine.sql("db", "SELECT * FROM cpu")
    assert e.value.status == 400
    names = [r["table_name"] for r in engine.sql("db", "SHOW TABLES").to_pylist()]
    assert "mem" in names and not any(n.startswith("cpu") for n in names)


def test_a_query_sees_what_another_node_acknowledged(tmp_path):
    a = Engine(tmp_path / "d", node_id="a", background=False)
    b = Engine(tmp_path / "d", node_id="b", background=False)
    try:
        a.write_lp("db", "cpu,host=x v=1 10", "ns")
        assert b.sql("db", "SELECT host, v FROM cpu").to_pylist() == [{"host": "x", "v": 1.0}]
        a.snapshot()
        b.write_lp("db", "cpu,host=x v=2 10", "ns")   # same series and time: b's later write wins
        assert b.sql("db", "SELECT v FROM cpu").to_pylist() == [{"v": 2.0}]
        assert a.sql("db", "SELECT v FROM cpu").to_pylist() == [{"v": 2.0}]
    finally:
        a.close()
        b.close()


def _two_workers(tmp_path):
    """Two nodes taking turns at writing the same hosts' hours (as `serve --workers 2` does)."""
    a = Engine(tmp_path / "d", node_id="w0", background=False)
    b = Engine(tmp_path / "d", node_id="w1", background=False)
    for h in range(24):
        t = T0 + h * 3600 * 10**9
        (a if h % 2 else b).write_lp("db", "\n".join(f"cpu,host={host} v={h} {t}" for host in HOSTS), "ns")
    return a, b


@pytest.mark.parametrize("persisted", ["one node", "both nodes"])
def test_nodes_whose_files_and_buffers_cover_the_same_hours_but_not_the_same_rows_need_no_dedup(tmp_path, persisted):
    a, b = _two_workers(tmp_path)
    try:
        a.snapshot()
        if persisted == "both nodes":
            b.snapshot()
        for e in (a, b):
            got = e.sql("db", "SELECT host, count(*) AS n, sum(v) AS s FROM cpu GROUP BY host ORDER BY host").to_pylist()
            assert got == [{"host": h, "n": 24, "s": sum(range(24))} for h in HOSTS]
            assert e.last_query_telemetry["deduplicated_tables"] == []
    finally:
        a.close()
        b.close()


@pytest.mark.parametrize("persisted", ["one node", "both nodes"])
def test_a_row_in_another_nodes_file_written_again_is_deduplicated(tmp_path, persisted):
    a, b = _two_workers(tmp_path)
    try:
        a.snapshot()                                     # holds host b's hour 5
        b.write_lp("db", f"cpu,host=b v=-1 {T0 + 5 * 3600 * 10**9}", "ns")
        if persisted == "both nodes":
            b.snapshot()
        q = "SELECT host, count(*) AS n, sum(v) AS s FROM cpu GROUP BY host ORDER BY host"
        for e in (a, b):
            got = e.sql("db", q).to_pylist()
            assert got[1] == {"host": "b", "n": 24, "s": sum(range(24)) - 5 - 1}
            assert e.last_query_telemetry["deduplicated_tables"] == ["cpu"]
    finally:
        a.close()
        b.close()


# ---- a model check: whatever the writes and snapshots, the answer is the last non-null values -----
from hypothesis import HealthCheck, given, settings, strategies as st  # noqa: E402

_point = st.tuples(st.sampled_from(["a", "b", None]), st.sampled_from(["x", None]), st.integers(0, 5),
                   st.one_of(st.none(), st.integers(0, 9)), st.one_of(st.none(), st.integers(0, 9)))
_step = st.one_of(st.lists(_point, min_size=1, max_size=6), st.just("snapshot"))


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(steps=st.lists(_step, min_size=1, max_size=8))
def test_random_writes_and_snapshots_read_back_as_the_model(tmp_path_factory, steps):
    d = tmp_path_factory.mktemp("model") / "data"
    e = Engine(d, node_id="n1", background=False)
    model: dict = {}
    try:
        for step in steps:
            if step == "snapshot":
                e.snapshot()
                continue
            body = []
            for host, zone, t, f1, f2 in step:
                fields = ",".join(f"{k}={v}i" for k, v in (("f1", f1), ("f2", f2)) if v is not None) or "f0=0i"
                tags = "".join(f",{k}={v}" for k, v in (("host", host), ("zone", zone)) if v is not None)
                body.append(f"m{tags} {fields} {t}")
                row = model.setdefault((host, zone, t), {})
                for k, v in (("f1", f1), ("f2", f2), ("f0", None if (f1 is not None or f2 is not None) else 0)):
                    if v is not None:
                        row[k] = v
            e.write_lp("db", "\n".join(body), "ns")
        if not model:
            return
        got = e.sql("db", "SELECT * FROM m").to_pylist()
        got = {(r.get("host"), r.get("zone"), r["time"].value):
               {k: r[k] for k in ("f0", "f1", "f2") if r.get(k) is not None} for r in got}
        assert got == model
    finally:
        e.close()
