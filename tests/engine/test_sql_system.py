"""SHOW TABLES / SHOW COLUMNS, information_schema and the system tables, through SQL."""

import pyarrow as pa
import pytest

from jupyter_influx3.engine import errors
from jupyter_influx3.engine.influxql.executor import Executor
from jupyter_influx3.engine.sql import register_system_table, register_table_function, unregister

INFO_VIEWS = ["tables", "views", "columns", "df_settings", "schemata", "routines", "parameters"]


@pytest.fixture
def foo(engine):
    engine.write_lp("foo", 'cpu,host=a,region=us u=1.5,i=2i,n=3u,s="x",b=true 10\nmem,host=a free=1i 10', "ns")
    return engine


def test_show_tables_lists_user_then_system_then_information_schema(foo):
    t = foo.sql("foo", "SHOW TABLES")
    assert t.column_names == ["table_catalog", "table_schema", "table_name", "table_type"]
    got = [(r["table_schema"], r["table_name"], r["table_type"]) for r in t.to_pylist()]
    assert got[:2] == [("iox", "cpu", "BASE TABLE"), ("iox", "mem", "BASE TABLE")]
    system = [name for schema, name, _ in got if schema == "system"]
    assert system == sorted(system) and {"queries", "parquet_files", "last_caches", "distinct_caches"} <= set(system)
    assert "databases" not in system                 # only in _internal
    assert got[-len(INFO_VIEWS):] == [("information_schema", n, "VIEW") for n in INFO_VIEWS]
    assert {r["table_catalog"] for r in t.to_pylist()} == {"public"}


def test_show_columns_gives_arrow_types_and_nullability(foo):
    t = foo.sql("foo", "SHOW COLUMNS FROM cpu")
    assert t.column_names == ["table_catalog", "table_schema", "table_name", "column_name", "data_type", "is_nullable"]
    got = {r["column_name"]: (r["data_type"], r["is_nullable"]) for r in t.to_pylist()}
    assert got == {
        "b": ("Boolean", "YES"), "host": ("Dictionary(Int32, Utf8)", "YES"), "i": ("Int64", "YES"),
        "n": ("UInt64", "YES"), "region": ("Dictionary(Int32, Utf8)", "YES"), "s": ("Utf8", "YES"),
        "time": ("Timestamp(Nanosecond, None)", "NO"), "u": ("Float64", "YES")}
    assert [r["column_name"] for r in t.to_pylist()] == sorted(got)


def test_show_columns_of_an_unknown_table_is_a_400(foo):
    with pytest.raises(errors.QueryError) as e:
        foo.sql("foo", "SHOW COLUMNS FROM nope")
    assert e.value.status == 400 and "public.iox.nope" in str(e.value)


def test_information_schema_columns_is_queryable_like_a_table(foo):
    got = foo.sql("foo", "SELECT table_name, column_name, ordinal_position, data_type FROM information_schema.columns "
                         "WHERE table_schema = 'iox' AND table_name = 'mem' ORDER BY ordinal_position").to_pylist()
    assert got == [
        {"table_name": "mem", "column_name": "free", "ordinal_position": 0, "data_type": "Int64"},
        {"table_name": "mem", "column_name": "host", "ordinal_position": 1, "data_type": "Dictionary(Int32, Utf8)"},
        {"table_name": "mem", "column_name": "time", "ordinal_position": 2, "data_type": "Timestamp(Nanosecond, None)"}]
    sys_cols = foo.sql("foo", "SELECT column_name, data_type FROM information_schema.columns "
                              "WHERE table_schema = 'system' AND table_name = 'parquet_files'").to_pylist()
    assert {"column_name": "size_bytes", "data_type": "UInt64"} in sys_cols


def test_information_schema_schemata_and_tables(foo):
    assert [r["schema_name"] for r in foo.sql("foo", "SELECT schema_name FROM information_schema.schemata "
                                                    "ORDER BY 1").to_pylist()] == ["information_schema", "iox", "system"]
    n = foo.sql("foo", "SELECT count(*) AS n FROM information_schema.tables WHERE table_schema = 'iox'").to_pylist()
    assert n == [{"n": 2}]


def test_system_queries_ids_are_distinct_random_uuids(foo):
    import uuid

    for _ in range(20):
        foo.sql("foo", "SELECT count(*) FROM cpu")
    list(Executor(foo).execute("SELECT count(*) FROM cpu", database="foo"))
    ids = [r["id"] for r in foo.sql("foo", "SELECT id FROM system.queries").to_pylist()]
    assert len(ids) >= 21 and len(set(ids)) == len(ids)
    for text in ids:
        u = uuid.UUID(text)
        assert (str(u), u.version, u.variant) == (text, 4, uuid.RFC_4122)


def test_system_queries_is_a_log_of_recent_queries(foo):
    foo.sql("foo", "SELECT count(*) FROM cpu")
    with pytest.raises(errors.QueryError):
        foo.sql("foo", "SELECT * FROM nope")
    t = foo.sql("foo", "SELECT * FROM system.queries")
    assert t.column_names == ["id", "phase", "issue_time", "query_type", "query_text", "partitions", "parquet_files",
                              "plan_duration", "permit_duration", "execute_duration", "end2end_duration",
                              "compute_duration", "max_memory", "success", "running", "cancelled", "trace_id"]
    assert t.schema.field("issue_time").type == pa.timestamp("ns")
    assert t.schema.field("execute_duration").type == pa.duration("ns")
    rows = {r["query_text"]: r for r in t.to_pylist()}
    ok = rows["SELECT count(*) FROM cpu"]
    assert (ok["query_type"], ok["success"], ok["running"], ok["phase"], ok["partitions"]) == ("sql", True, False,
                                                                                              "success", 1)
    assert ok["end2end_duration"] is not None
    bad = rows["SELECT * FROM nope"]
    assert not bad["success"] and bad["phase"] == "fail"
    me = rows["SELECT * FROM system.queries"]
    assert me["running"]
    assert [e.query_text for e in foo.query_log][-1] == "SELECT * FROM system.queries"


def test_system_queries_logs_the_text_another_front_end_gives(foo):
    foo.query_sql("foo", "SELECT 1", query_type="influxql", log_text="SELECT * FROM cpu").to_table()
    got = foo.sql("foo", "SELECT query_type, query_text FROM system.queries WHERE query_type = 'influxql'").to_pylist()
    assert got == [{"query_type": "influxql", "query_text": "SELECT * FROM cpu"}]


def test_system_parquet_files_lists_the_database_files(foo):
    assert foo.sql("foo", "SELECT * FROM system.parquet_files").num_rows == 0
    foo.snapshot()
    t = foo.sql("foo", "SELECT table_name, path, size_bytes, row_count, min_time, max_time FROM system.parquet_files "
                       "ORDER BY table_name")
    assert t.schema.field("size_bytes").type == pa.uint64() and t.schema.field("min_time").type == pa.int64()
    got = t.to_pylist()
    assert [(r["table_name"], r["row_count"], r["min_time"], r["max_time"]) for r in got] == [
        ("cpu", 1, 10, 10), ("mem", 1, 10, 10)]
    assert all(r["path"].endswith(".parquet") and r["size_bytes"] > 0 for r in got)


def test_system_influxdb_schema_gives_influx_types(foo):
    got = foo.sql("foo", "SELECT key, data_type FROM system.influxdb_schema WHERE measurement = 'cpu' "
                         "ORDER BY key").to_pylist()
    assert [(r["key"], r["data_type"]) for r in got] == [
        ("b", "boolean"), ("host", "tag"), ("i", "integer"), ("n", "uinteger"), ("region", "tag"), ("s", "string"),
        ("time", "time"), ("u", "float")]


def test_internal_database_has_databases_tables_and_nodes(foo):
    dbs = foo.sql("_internal", "SELECT database_name, retention_period_ns, deleted FROM system.databases "
                               "ORDER BY database_name").to_pylist()
    assert {"database_name": "_internal", "retention_period_ns": 7 * 24 * 3600 * 10**9, "deleted": False} in dbs
    assert {"database_name": "foo", "retention_period_ns": None, "deleted": False} in dbs
    tables = foo.sql("_internal", "SELECT table_name, column_count, series_key_columns FROM system.tables "
                                  "WHERE database_name = 'foo' ORDER BY table_name").to_pylist()
    assert tables[0] == {"table_name": "cpu", "column_count": 8, "series_key_columns": "host,region"}
    nodes = foo.sql("_internal", "SELECT node_id, state, mode FROM system.nodes").to_pylist()
    assert {"node_id": "n1", "state": "running", "mode": ["ingest", "query", "compact", "process"]} in nodes
    with pytest.raises(errors.QueryError):
        foo.sql("foo", "SELECT * FROM system.nodes")


def test_other_parts_can_publish_system_tables_and_table_functions(foo):
    schema = pa.schema([("name", pa.string()), ("n", pa.int64())])
    register_system_table("test_widgets", schema, lambda engine, db: [{"name": db.name, "n": 1}])
    register_table_function("test_echo", lambda engine, db, args: pa.table({"arg": [str(a) for a in args]}))
    try:
        assert foo.sql("foo", "SELECT * FROM system.test_widgets").to_pylist() == [{"name": "foo", "n": 1}]
        assert foo.sql("foo", "SELECT * FROM test_echo('cpu', 3)").to_pylist() == [{"arg": "cpu"}, {"arg": "3"}]
        assert ("system", "test_widgets") in [(r["table_schema"], r["table_name"])
                                              for r in foo.sql("foo", "SHOW TABLES").to_pylist()]
    finally:
        unregister("test_widgets")
        unregister("test_echo")
    with pytest.raises(errors.QueryError):
        foo.sql("foo", "SELECT * FROM system.test_widgets")
