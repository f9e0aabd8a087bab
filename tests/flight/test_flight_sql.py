"""Flight SQL against `influx3 serve`: each command through pyarrow's own FlightClient, prepared
statements with parameters, and the ADBC Flight SQL driver through its DB-API."""

from __future__ import annotations

import pyarrow as pa
import pyarrow.flight as flight
import pytest
from flight_helpers import call_options, http_rows

from jupyter_influx3.flight import flightsql
from jupyter_influx3.flight import protowire as pw


def run(client, cmd, opts) -> pa.Table:
    """GetFlightInfo then DoGet of its one endpoint, as Flight SQL clients do."""
    info = client.get_flight_info(flight.FlightDescriptor.for_command(flightsql.encode_command(cmd)), opts)
    assert len(info.endpoints) == 1
    table = client.do_get(info.endpoints[0].ticket, opts).read_all()
    assert table.schema.equals(info.schema)
    return table


@pytest.fixture
def fc(grpc_url):
    c = flight.connect(grpc_url)
    yield c
    c.close()


def test_statement_query_matches_the_http_api(fc, url, cpu_db):
    q = "SELECT host, usage, n FROM cpu ORDER BY time"
    table = run(fc, flightsql.StatementQuery(q), call_options(cpu_db))
    assert table.to_pylist() == http_rows(url, cpu_db, q)


def test_statement_without_a_database_header_is_invalid(fc, cpu_db):
    with pytest.raises(pa.ArrowInvalid, match="no 'database' header in request"):
        run(fc, flightsql.StatementQuery("SELECT 1"), call_options())


def test_statement_query_is_logged_as_flightsql(fc, cpu_db):
    run(fc, flightsql.StatementQuery("SELECT 42 AS answer"), call_options(cpu_db))
    log = run(fc, flightsql.StatementQuery("SELECT query_type, query_text FROM system.queries "
                                           "WHERE query_text LIKE '%42 AS answer%'"), call_options(cpu_db))
    assert {"query_type": "flightsql", "query_text": "CommandStatementQuery SELECT 42 AS answer"} in log.to_pylist()


def test_get_sql_info(fc):
    table = run(fc, flightsql.GetSqlInfo((0, 3, 504)), call_options())
    assert table.to_pylist() == [{"info_name": 0, "value": "InfluxDB IOx"}, {"info_name": 3, "value": True},
                                 {"info_name": 504, "value": '"'}]
    assert run(fc, flightsql.GetSqlInfo(), call_options()).num_rows > 10


def test_get_catalogs_schemas_and_table_types(fc):
    assert run(fc, flightsql.GetCatalogs(), call_options()).to_pylist() == [{"catalog_name": "public"}]
    schemas = run(fc, flightsql.GetDbSchemas(), call_options()).column("db_schema_name").to_pylist()
    assert schemas == ["information_schema", "iox", "system"]
    only = run(fc, flightsql.GetDbSchemas(schema_pattern="i%"), call_options()).column("db_schema_name")
    assert only.to_pylist() == ["information_schema", "iox"]
    assert run(fc, flightsql.GetDbSchemas(catalog="other"), call_options()).num_rows == 0
    types = run(fc, flightsql.GetTableTypes(), call_options()).column("table_type").to_pylist()
    assert types == ["BASE TABLE", "VIEW"]


def test_get_tables_with_filters_and_schemas(fc, cpu_db):
    opts = call_options(cpu_db)
    everything = run(fc, flightsql.GetTables(), opts).to_pylist()
    assert {"catalog_name": "public", "db_schema_name": "iox", "table_name": "cpu",
            "table_type": "BASE TABLE"} in everything
    assert {"catalog_name": "public", "db_schema_name": "system", "table_name": "queries",
            "table_type": "BASE TABLE"} in everything
    assert {"catalog_name": "public", "db_schema_name": "information_schema", "table_name": "tables",
            "table_type": "VIEW"} in everything
    views = run(fc, flightsql.GetTables(table_types=("VIEW",)), opts).column("db_schema_name").to_pylist()
    assert set(views) == {"information_schema"}
    with_schema = run(fc, flightsql.GetTables(schema_pattern="iox", table_pattern="c_u", include_schema=True), opts)
    assert with_schema.column("table_name").to_pylist() == ["cpu"]
    schema = pa.ipc.read_schema(pa.py_buffer(with_schema.column("table_schema")[0].as_py()))
    assert schema.field("time").type == pa.timestamp("ns") and schema.field("n").type == pa.int64()


def test_prepared_statement_with_parameters(fc, cpu_db):
    opts = call_options(cpu_db)
    query = "SELECT usage FROM cpu WHERE host = $host ORDER BY time"
    request = pw.pack_any(flightsql.PREFIX + "ActionCreatePreparedStatementRequest", pw.field_str(1, query))
    [result] = list(fc.do_action(flight.Action(flightsql.CREATE_PREPARED_STATEMENT, request), opts))
    type_url, body = pw.unpack_any(result.body.to_pybytes())
    assert type_url.endswith("ActionCreatePreparedStatementResult")
    handle = pw.get_bytes(pw.decode(body), 1)
    # bind: DoPut of one row of parameters; the answer is the handle to use from now on
    descriptor = flight.FlightDescriptor.for_command(flightsql.encode_command(flightsql.PreparedStatementQuery(handle)))
    writer, meta = fc.do_put(descriptor, pa.schema([("host", pa.string())]), opts)
    writer.write_table(pa.table({"host": ["a"]}))
    writer.done_writing()
    bound = pw.get_bytes(pw.decode(meta.read().to_pybytes()), 1)
    writer.close()
    table = run(fc, flightsql.PreparedStatementQuery(bound), opts)
    assert table.column("usage").to_pylist() == [0.5, 0.75]
    assert list(fc.do_action(flight.Action(flightsql.CLOSE_PREPARED_STATEMENT,
                                           pw.field_bytes(1, bound)), opts)) == []


def test_garbage_commands_and_handles_are_invalid(fc, cpu_db):
    opts = call_options(cpu_db)
    with pytest.raises(pa.ArrowInvalid):
        fc.get_flight_info(flight.FlightDescriptor.for_command(b"\xff\xff"), opts)
    with pytest.raises(pa.ArrowInvalid, match="path descriptors"):
        fc.get_flight_info(flight.FlightDescriptor.for_path("cpu"), opts)
    unsupported = pw.pack_any(flightsql.PREFIX + "CommandGetPrimaryKeys", b"")
    with pytest.raises(pa.ArrowNotImplementedError, match="CommandGetPrimaryKeys"):
        fc.get_flight_info(flight.FlightDescriptor.for_command(unsupported), opts)
    with pytest.raises(pa.ArrowInvalid, match="prepared statement handle"):
        run(fc, flightsql.PreparedStatementQuery(b"\x0a\xff"), opts)


# ---- ADBC ----------------------------------------------------------------------------------------

adbc = pytest.importorskip("adbc_driver_flightsql.dbapi")


@pytest.fixture
def adbc_conn(grpc_url, cpu_db):
    conn = adbc.connect(grpc_url, db_kwargs={"adbc.flight.sql.rpc.call_header.database": cpu_db},
                        autocommit=True)
    yield conn
    conn.close()


def test_adbc_query_and_parameters(adbc_conn):
    with adbc_conn.cursor() as cur:
        cur.execute("SELECT host, usage FROM cpu ORDER BY time")
        assert cur.fetchall() == [("a", 0.5), ("b", 0.25), ("a", 0.75)]
        cur.execute("SELECT usage FROM cpu WHERE host = $1 AND n >= $2 ORDER BY time", parameters=("a", 2))
        assert cur.fetchall() == [(0.75,)]


def test_adbc_get_objects_and_table_schema(adbc_conn):
    objects = adbc_conn.adbc_get_objects(depth="all", db_schema_filter="iox").read_all().to_pylist()
    [catalog] = objects
    assert catalog["catalog_name"] == "public"
    [iox] = catalog["catalog_db_schemas"]
    [cpu] = [t for t in iox["db_schema_tables"] if t["table_name"] == "cpu"]
    assert [c["column_name"] for c in cpu["table_columns"]] == ["host", "n", "region", "time", "usage"]
    schema = adbc_conn.adbc_get_table_schema("cpu", db_schema_filter="iox")
    assert schema.field("usage").type == pa.float64() and schema.field("host").type == pa.string()
    assert adbc_conn.adbc_get_info()["vendor_name"] == "InfluxDB IOx"


@pytest.mark.parametrize("header", [b"database", b"bucket-name", b"bucket_name", b"iox-namespace-name"])
def test_the_database_header_and_its_aliases(fc, cpu_db, header):
    opts = flight.FlightCallOptions(headers=[(header, cpu_db.encode())])
    assert run(fc, flightsql.StatementQuery("SELECT count(*) AS c FROM cpu"), opts).to_pylist() == [{"c": 3}]


def test_binding_more_than_one_row_of_parameters_is_refused(fc, cpu_db):
    opts = call_options(cpu_db)
    handle = flightsql.Handle("SELECT $1 AS x").encode()
    descriptor = flight.FlightDescriptor.for_command(flightsql.encode_command(flightsql.PreparedStatementQuery(handle)))
    writer, meta = fc.do_put(descriptor, pa.schema([("0", pa.int64())]), opts)
    with pytest.raises(pa.ArrowInvalid, match="one row of parameters"):
        for _ in range(100):
            writer.write_table(pa.table({"0": list(range(1000))}))
        writer.done_writing()
        meta.read()
        writer.close()
