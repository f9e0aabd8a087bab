"""Row deletes on real engines: rows disappear from every read path at once (SQL over files and
buffers of every node, InfluxQL and its series cache, last-value caches), leave Parquet at the
next compaction, come back when a pending request is aborted; bad requests are refused."""

from __future__ import annotations

import pyarrow.parquet as pq
import pytest

from jupyter_influx3.engine import Engine
from jupyter_influx3.engine.admin import AdminError
from jupyter_influx3.engine.influxql.api import executor_for_engine

S = 10**9


@pytest.fixture
def nodes(tmp_path):
    a = Engine(tmp_path / "d", node_id="a", background=False, series_cache_bytes=64 * 2**20)
    b = Engine(tmp_path / "d", node_id="b", background=False)
    a.write_lp("db", "\n".join(f"cpu,host={h},region=r{h} v={t} {t * S}" for h in "ab" for t in range(1, 6)), precision="ns")
    a.snapshot()                                            # these are in Parquet
    a.write_lp("db", f"cpu,host=a,region=ra v=6 {6 * S}", precision="ns")   # this one in a's buffer
    b.write_lp("db", f"cpu,host=a,region=ra v=7 {7 * S}", precision="ns")   # this one in b's WAL only
    yield a, b
    b.close()
    a.close()


def sql(engine, where=""):
    return [(r["host"], r["v"]) for r in engine.sql("db", f"SELECT host, v FROM cpu {where} ORDER BY host, time").to_pylist()]


def influxql(engine, q="SELECT v FROM cpu WHERE host = 'a'"):
    ex = executor_for_engine(engine)
    res = ex.execute_statement(ex.parse(q).statements[0], database="db")
    assert not res.error, res.error
    return sorted(row[1] for s in res.series for row in s.values)


def test_rows_disappear_from_every_node_at_once_and_later_writes_stay(nodes):
    a, b = nodes
    assert influxql(a) == [1, 2, 3, 4, 5, 6, 7]             # builds the series cache first
    r = a.admin.create_row_delete("db", "cpu", min_time=2 * S, max_time=7 * S + 1, predicate="host = 'a'")
    assert r["disposition"] == "pending" and r["delete_predicate"] == "host = 'a'"
    assert r["min_time"] == 2 * S and r["sequence"] == 1 and not r["table_name_stale"]
    expected = [("a", 1.0)] + [("b", float(t)) for t in range(1, 6)]
    assert sql(a) == expected and sql(b) == expected
    assert influxql(a) == [1] and influxql(b) == [1]
    b.write_lp("db", f"cpu,host=a,region=ra v=9 {3 * S}", precision="ns")   # written after the request: kept
    assert sql(a, "WHERE host = 'a'") == [("a", 1.0), ("a", 9.0)]
    rows = a.sql("_internal", "SELECT sequence, disposition FROM system.row_deletes").to_pylist()
    assert rows == [{"sequence": 1, "disposition": "pending"}]


def test_last_value_caches_forget_deleted_rows(nodes):
    a, _ = nodes
    a.create_last_cache("db", "cpu", "lc", key_columns=["host"], value_columns=["v"])
    last = lambda: {r["host"]: r["v"] for r in a.sql("db", "SELECT host, v FROM last_cache('cpu', 'lc')").to_pylist()}  # noqa: E731
    assert last() == {"a": 7.0, "b": 5.0}
    a.admin.create_row_delete("db", "cpu", min_time=5 * S, all_time=False, max_time=10 * S, predicate="host='a'")
    assert last() == {"a": 4.0, "b": 5.0}


def test_compaction_removes_the_rows_from_parquet_and_completes_the_request(nodes):
    a, b = nodes
    a.admin.create_row_delete("db", "cpu", all_time=True, predicate='"host" = "a" AND region = \'ra\'')
    b.snapshot()
    a.snapshot()
    a.compact()
    assert [r["disposition"] for r in a.admin.list_row_deletes()] == ["completed"]
    stored = [pq.read_table(a.data_dir / f.path).column("host").to_pylist() for f in a.index.all()]
    assert stored and all(set(hosts) == {"b"} for hosts in stored)
    assert sql(a) == [("b", float(t)) for t in range(1, 6)]
    with pytest.raises(AdminError) as e:
        a.admin.abort_row_delete(1, "too late")
    assert e.value.status == 409


def test_aborting_a_pending_request_brings_the_rows_back(nodes):
    a, b = nodes
    a.admin.create_row_delete("db", "cpu", max_time=100 * S)
    assert sql(a) == []
    r = a.admin.abort_row_delete(1, "predicate too broad")
    assert r["disposition"] == "aborted" and r["abort_reason"] == "predicate too broad" and "aborted_at" in r
    assert len(sql(b)) == 12


@pytest.mark.parametrize("kwargs,status,needle", [
    ({"predicate": "host = 'a'"}, 400, "time scope is required"),
    ({"all_time": True, "predicate": "host = 'a' OR host = 'b'"}, 400, "joined by AND"),
    ({"all_time": True, "predicate": "NOT host = 'a'"}, 400, "only tag = 'value'"),
    ({"all_time": True, "predicate": "host IN ('a')"}, 400, "only tag = 'value'"),
    ({"all_time": True, "predicate": "host != 'a'"}, 400, "only tag = 'value'"),
    ({"all_time": True, "predicate": "v = '1'"}, 400, "is not a tag"),
    ({"all_time": True, "predicate": "nope = '1'"}, 400, "is not a tag"),
    ({"all_time": True, "predicate": "host = 'a' AND"}, 400, "joined by AND"),
    ({"min_time": 5, "max_time": 5}, 400, "lower than max_time"),
    ({"min_time": "yesterday"}, 400, "integer timestamp"),
    ({"all_time": True, "min_time": 1}, 400, "cannot be combined"),
])
def test_bad_requests_are_refused(nodes, kwargs, status, needle):
    a, _ = nodes
    with pytest.raises(AdminError) as e:
        a.admin.create_row_delete("db", "cpu", **kwargs)
    assert e.value.status == status and needle in e.value.message
    assert a.catalog.row_deletes == {}


def test_unknown_database_or_table_is_404(nodes):
    a, _ = nodes
    for db, table in (("nope", "cpu"), ("db", "nope")):
        with pytest.raises(AdminError) as e:
            a.admin.create_row_delete(db, table, all_time=True)
        assert e.value.status == 404
