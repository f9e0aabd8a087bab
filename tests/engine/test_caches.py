"""Last-value and distinct-value caches in the engine: a cache answers what the equivalent SQL over
the table answers (property test over random writes, overwrites, out-of-order times, count > 1,
key-column predicates; in the buffer, after snapshots, after restarts, with two nodes), and the
definitions, defaults, eviction and cardinality rules of behaviour reference §5."""

from __future__ import annotations

import os
import shutil
import tempfile
import time

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from jupyter_influx3.engine import Engine, errors

HOST_REGION = {"a": "x", "b": "x", "c": "y", "d": "y"}   # a host's region never changes: no ties across series
NOW = time.time_ns()


def lp(points) -> str:
    lines = []
    for host, offset, usage, s in points:
        fields = []
        if usage is not None:
            fields.append(f"usage={usage}")
        if s is not None:
            fields.append(f's="{s}"')
        lines.append(f"cpu,region={HOST_REGION[host]},host={host} {','.join(fields)} {NOW - 10_000 + offset}")
    return "\n".join(lines)


point = st.tuples(st.sampled_from(sorted(HOST_REGION)), st.integers(0, 12),
                  st.one_of(st.none(), st.integers(0, 99).map(float)), st.one_of(st.none(), st.sampled_from("pqr")))
write = st.lists(point.filter(lambda p: p[2] is not None or p[3] is not None), min_size=1, max_size=8)
step = st.one_of(st.tuples(st.just("write"), st.sampled_from("AB"), write),
                 st.tuples(st.just("snapshot"), st.sampled_from("AB"), st.none()),
                 st.tuples(st.just("restart"), st.just("A"), st.none()))


def rows_of(table) -> list[tuple]:
    names = sorted(table.column_names)
    return sorted(tuple((n, str(r[n])) for n in names) for r in table.to_pylist())


def expected_last(eng, keys, count, where=""):
    part = ", ".join(keys)
    return eng.sql("db", f"SELECT * EXCLUDE (rn) FROM (SELECT *, row_number() OVER (PARTITION BY {part} "
                         f"ORDER BY time DESC) AS rn FROM cpu {where}) WHERE rn <= {count}")


def check(engines, keys, count):
    for eng in engines:
        eng.refresh()
        got = eng.sql("db", "SELECT * FROM last_cache('cpu')")
        assert rows_of(got) == rows_of(expected_last(eng, keys, count)), eng.node_id
        pred = "WHERE host IN ('a', 'c')"
        got = eng.sql("db", f"SELECT * FROM last_cache('cpu') {pred}")
        assert rows_of(got) == rows_of(expected_last(eng, keys, count, pred))
        got = eng.sql("db", "SELECT * FROM last_cache('cpu') WHERE region != 'x'")
        assert rows_of(got) == rows_of(expected_last(eng, keys, count, "WHERE region != 'x'"))
        distinct = eng.sql("db", "SELECT * FROM distinct_cache('cpu')").to_pylist()
        want = eng.sql("db", "SELECT DISTINCT region, host FROM cpu ORDER BY region, host").to_pylist()
        assert distinct == want


# found by this test: B persisted rows A had never tailed, then A tailed B's newer WAL records first
@example(steps=[("write", "B", [("a", 9, 0.0, None), ("a", 0, None, "p")]), ("snapshot", "B", None),
                ("write", "B", [("a", 0, 86.0, None)])], create_at=7, keys=["host"], count=2)
@settings(max_examples=int(os.environ.get("CACHE_PROPERTY_EXAMPLES", "6")), deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(steps=st.lists(step, min_size=1, max_size=7), create_at=st.integers(0, 7),
       keys=st.sampled_from([["host"], ["region", "host"], ["host", "region"]]), count=st.integers(1, 3))
def test_cache_answers_equal_sql_over_the_table(steps, create_at, keys, count):
    root = tempfile.mkdtemp()
    nodes = {"A": Engine(root, node_id="A", background=False), "B": Engine(root, node_id="B", background=False)}
    created = False
    try:
        nodes["A"].write_lp("db", lp([("a", 0, 1.0, None)]), "ns")
        for i, (kind, node, arg) in enumerate(steps + [("end", "A", None)]):
            if i == create_at or (kind == "end" and not created):
                nodes["A"].create_last_cache("db", "cpu", key_columns=keys, count=count)
                nodes["A"].create_distinct_cache("db", "cpu", ["region", "host"])
                created = True
            if kind == "write":
                nodes[node].write_lp("db", lp(arg), "ns")
            elif kind == "snapshot":
                nodes[node].snapshot()
            elif kind == "restart":
                nodes["A"].close()
                nodes["A"] = Engine(root, node_id="A", background=False)
            if created:
                check(nodes.values(), keys, count)
    finally:
        for e in nodes.values():
            e.close()
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
def cpu(engine):
    engine.write_lp("db", f"cpu,region=us,host=a usage=1,n=1i {NOW}\ncpu,region=eu,host=b usage=2,n=2i {NOW}", "ns")
    return engine


@pytest.mark.parametrize("name", ["__rn", "__r", "__rn1"])
def test_a_last_cache_over_stored_rows_fills_when_a_field_has_the_name_of_its_fill_querys_rank(engine, name):
    for i in range(3):
        engine.write_lp("db", f"cpu,host=a usage={i}.5,{name}={i}i {NOW - (3 - i) * 10**9}", "ns")
    engine.snapshot()   # the new cache is filled from what is stored (caches/registry.py's query)
    engine.create_last_cache("db", "cpu", key_columns=["host"], count=2)
    got = engine.sql("db", "SELECT * FROM last_cache('cpu') ORDER BY time").to_pylist()
    assert [(r["usage"], r[name]) for r in got] == [(1.5, 1), (2.5, 2)]


def test_defaults_and_generated_names(cpu):
    lvc = cpu.create_last_cache("db", "cpu")
    assert (lvc["name"], lvc["key_columns"], lvc["value_columns"], lvc["count"], lvc["ttl"]) == \
        ("cpu_region_host_last_cache", ["region", "host"], None, 1, 14400)
    dvc = cpu.create_distinct_cache("db", "cpu", ["host"])
    assert (dvc["name"], dvc["max_cardinality"], dvc["max_age"]) == ("cpu_host_distinct_cache", 100000, 86400)
    assert cpu.create_last_cache("db", "cpu", key_columns=[], ttl="1h")["name"] == "cpu__last_cache"
    listed = {c["name"]: c for c in cpu.list_caches("db")}
    assert listed["cpu__last_cache"]["ttl"] == 3600 and listed["cpu_host_distinct_cache"]["kind"] == "distinct"


@pytest.mark.parametrize("kwargs,message", [
    ({"key_columns": ["usage"]}, "only uint64, int64, bool, tag, and string columns are supported in the last cache"),
    ({"key_columns": ["time"]}, "invalid configuration provided: invalid key column provided: time"),
    ({"value_columns": ["nope"]}, "invalid configuration provided: invalid value column provided: nope"),
    ({"count": 0}, "invalid configuration provided: count must be a positive integer"),
    ({"ttl": "soon"}, "invalid configuration provided: ttl: "),
])
def test_last_cache_validation(cpu, kwargs, message):
    with pytest.raises(errors.InvalidConfiguration) as e:
        cpu.create_last_cache("db", "cpu", **kwargs)
    assert str(e.value).startswith(message)


def test_unknown_database_table_and_cache(cpu):
    with pytest.raises(errors.NotFound):
        cpu.create_last_cache("nodb", "cpu")
    with pytest.raises(errors.NotFound):
        cpu.create_distinct_cache("db", "nope", ["host"])
    with pytest.raises(errors.NotFound):
        cpu.delete_last_cache("db", "cpu", "nope")


def test_int_key_columns_and_explicit_value_columns(cpu):
    cpu.create_last_cache("db", "cpu", name="by_n", key_columns=["n"], value_columns=["usage"])
    t = cpu.sql("db", "SELECT * FROM last_cache('cpu', 'by_n') ORDER BY n")
    assert t.column_names == ["n", "usage", "time"]
    assert t.to_pylist()[0]["n"] == 1 and t.to_pylist()[1]["usage"] == 2.0


def test_ttl_expiry_and_eviction(cpu):
    cpu.create_last_cache("db", "cpu", ttl=60)
    cache = cpu.caches.find("last", 1, 0, None)
    table = cpu.catalog.table("db", "cpu")[1]
    assert cache.to_arrow(table).num_rows == 2
    later = time.time_ns() + 61 * 10**9
    assert cache.to_arrow(table, now_ns=later).num_rows == 0   # hidden once expired …
    assert cache.evict(now_ns=later) == 2                      # … and dropped by the sweep
    assert cache.entry_count == 0


def test_distinct_cache_max_age_and_cardinality(engine):
    engine.write_lp("db", "cpu,host=a v=1", "ns")
    engine.create_distinct_cache("db", "cpu", ["host"], max_cardinality=2, max_age=60)
    engine.write_lp("db", "cpu,host=b v=1", "ns")
    engine.write_lp("db", "cpu,host=c v=1", "ns")
    assert [r["host"] for r in engine.sql("db", "SELECT * FROM distinct_cache('cpu')").to_pylist()] == ["b", "c"]
    cache = engine.caches.find("distinct", 1, 0, None)
    assert cache.evict(now_ns=time.time_ns() + 61 * 10**9) == 2


def test_rows_without_every_distinct_column_do_not_count(engine):
    engine.write_lp("db", "cpu,region=us,host=a v=1\ncpu,host=b v=1\ncpu,region=eu v=1", "ns")
    engine.create_distinct_cache("db", "cpu", ["region", "host"])
    engine.write_lp("db", "cpu,host=c v=1\ncpu,region=ca,host=d v=1", "ns")
    assert engine.sql("db", "SELECT * FROM distinct_cache('cpu')").to_pylist() == [
        {"region": "ca", "host": "d"}, {"region": "us", "host": "a"}]


def test_deleting_a_database_drops_its_caches(cpu):
    cpu.create_last_cache("db", "cpu")
    cpu.delete_database("db")
    assert cpu.list_caches() == []
    assert cpu.caches.stats()["last"][0] == 0


def test_definitions_survive_a_checkpoint(tmp_path):
    from jupyter_influx3.engine import catalog as catalog_mod
    e = Engine(tmp_path / "d", node_id="n", background=False)
    e.write_lp("db", "cpu,host=a v=1", "ns")
    e.create_last_cache("db", "cpu", count=3)
    e.catalog._write_checkpoint()
    e.close()
    cat = catalog_mod.Catalog(tmp_path / "d")
    cat._load_checkpoint()
    assert cat.table("db", "cpu")[1].last_caches["cpu_host_last_cache"]["count"] == 3


FAST = [
    "SELECT * FROM last_cache('cpu')",
    "select host, usage from LAST_CACHE('cpu', 'cpu_region_host_last_cache') where host = 'a'",
    "SELECT * FROM last_cache('cpu') WHERE region != 'us' AND host NOT IN ('c')",
    "SELECT \"time\", host FROM last_cache('cpu') WHERE host IN ('a', 'b', 'zz');",
    "SELECT * FROM distinct_cache('cpu') WHERE region <> 'eu'",
]
SLOW = [   # other shapes: the SQL layer answers (DuckDB filters, orders, computes)
    "SELECT * FROM last_cache('cpu') WHERE usage > 1",
    "SELECT * FROM last_cache('cpu') ORDER BY host DESC",
    "SELECT host AS h FROM last_cache('cpu')",
    "SELECT * FROM last_cache('cpu') WHERE n = '1'",
    "SELECT * FROM last_cache('cpu') WHERE host = 'a' OR host = 'b'",
]


@pytest.mark.parametrize("query", FAST + SLOW)
def test_plain_cache_queries_skip_duckdb_with_the_same_answer(cpu, query):
    cpu.write_lp("db", f"cpu,region=ca,host=c usage=3,n=3i {NOW}\ncpu,host=z usage=9 {NOW}", "ns")  # z: no region
    cpu.create_last_cache("db", "cpu")
    cpu.create_distinct_cache("db", "cpu", ["region", "host"])
    got = cpu.sql("db", query)
    fast = bool(cpu.last_query_telemetry.get("answered_from_cache"))
    assert fast == (query in FAST)
    via_sql = cpu.sql("db", f"SELECT * FROM ({query.rstrip(';')}) AS q")
    assert not cpu.last_query_telemetry.get("answered_from_cache")
    assert got.schema == via_sql.schema
    assert sorted(map(str, got.to_pylist())) == sorted(map(str, via_sql.to_pylist()))
    assert any(e.query_text == query and e.success for e in cpu.query_log)


@pytest.mark.parametrize("query", ["SELECT * FROM last_cache('cpu') WHERE host = 'a' AND",
                                   "SELECT * FROM last_cache('cpu') WHERE "])
def test_broken_cache_queries_still_get_the_sql_error(cpu, query):
    from jupyter_influx3.engine.sql import SqlError
    cpu.create_last_cache("db", "cpu")
    with pytest.raises(SqlError):
        cpu.sql("db", query)


@pytest.mark.parametrize("count", [1, 2])
def test_many_queued_writes_fold_in_at_once(engine, count):
    engine.write_lp("db", f"cpu,host=a,dc=x v=0 {NOW - 1000}", "ns")
    engine.create_last_cache("db", "cpu", key_columns=["host"], count=count)
    for i in range(12):   # batches with other dictionaries, overwrites, out-of-order times
        lines = [f"cpu,host={h},dc={'xy'[i % 2]} v={i},w{i % 3}={i} {NOW - 100 + (i * 7) % 13}" for h in "abc"]
        lines.append(f"cpu,host=a,dc=x u={i} {NOW - 100 + 20}")   # one row, rewritten by every write
        engine.write_lp("db", "\n".join(lines), "ns")
    got = engine.sql("db", "SELECT * FROM last_cache('cpu')")
    want = expected_last_in(engine, count)
    assert rows_of(got) == rows_of(want)


def expected_last_in(eng, count):
    return eng.sql("db", "SELECT * EXCLUDE (rn) FROM (SELECT *, row_number() OVER (PARTITION BY host "
                         f"ORDER BY time DESC) AS rn FROM cpu) WHERE rn <= {count}")


def test_fill_keeps_rows_whose_key_column_is_null(engine):
    engine.write_lp("db", f"cpu,host=a,region=us v=1 {NOW - 5}\ncpu,host=b v=2 {NOW - 4}\ncpu,host=b v=3 {NOW - 3}\n"
                          f"cpu,host=c v=4 {NOW - 2}", "ns")
    engine.create_last_cache("db", "cpu", key_columns=["region"], count=2)   # filled: b and c have no region
    got = engine.sql("db", "SELECT * FROM last_cache('cpu')")
    want = engine.sql("db", "SELECT * EXCLUDE (rn) FROM (SELECT *, row_number() OVER (PARTITION BY region "
                            "ORDER BY time DESC) AS rn FROM cpu) WHERE rn <= 2")
    assert rows_of(got) == rows_of(want) and got.num_rows == 3


def test_a_query_on_another_node_waits_for_the_new_caches_fill(tmp_path):
    """A node that learns of a new cache (created on another node, another worker of one server)
    fills it from storage; a query there meanwhile waits for the fill instead of finding the cache
    registered and empty (a worker answered no rows right after another created the cache)."""
    import threading

    a = Engine(tmp_path, node_id="A", background=False)
    b = Engine(tmp_path, node_id="B", background=False)
    try:
        assert b.write_lp("db", lp([("a", 0, 1.0, None), ("c", 1, 2.0, "p")]), "ns").ok
        b.refresh()
        a.refresh()
        a.create_last_cache("db", "cpu", key_columns=["host"], count=1)
        filling, fill = threading.Event(), b.caches._fill

        def slow_fill(cache, db_id, table_id):
            filling.set()
            time.sleep(0.3)   # (a big table's fill takes a while)
            return fill(cache, db_id, table_id)

        b.caches._fill = slow_fill
        refresher = threading.Thread(target=b.refresh)
        refresher.start()
        assert filling.wait(10)
        got = b.sql("db", "SELECT * FROM last_cache('cpu')")    # while the other thread fills
        refresher.join()
        assert rows_of(got) == rows_of(expected_last(b, ["host"], 1)) and got.num_rows == 2
    finally:
        a.close()
        b.close()
