"""The official InfluxDB 3 Python client and pyarrow's FlightClient query `influx3 serve` over
Arrow Flight on its HTTP port, and get what `/api/v3/query_sql` answers."""

from __future__ import annotations

import json

import pandas as pd
import pyarrow as pa
import pyarrow.flight as flight
import pytest
from flight_helpers import http_rows
from influxdb_client_3 import InfluxDBClient3

from jupyter_influx3.flight import protowire as pw
from jupyter_influx3.flight.tickets import encode_read_info


@pytest.fixture
def client(url, cpu_db):
    c = InfluxDBClient3(host=url, token="unused", database=cpu_db)
    yield c
    c.close()


def test_influxdb3_python_query_sql_matches_the_http_api(client, url, cpu_db):
    q = "SELECT host, region, time, usage, n FROM cpu ORDER BY time"
    table = client.query(q)
    assert isinstance(table, pa.Table)
    assert table.schema.field("time").type == pa.timestamp("ns")
    over_http = http_rows(url, cpu_db, q)
    assert [r["usage"] for r in table.to_pylist()] == [r["usage"] for r in over_http] == [0.5, 0.25, 0.75]
    assert table.column("n").to_pylist() == [r["n"] for r in over_http] == [1, 2, 3]


def test_influxdb3_python_modes_pandas_and_reader(client):
    df = client.query("SELECT host, usage FROM cpu ORDER BY time", mode="pandas")
    assert isinstance(df, pd.DataFrame) and list(df["host"]) == ["a", "b", "a"]
    reader = client.query("SELECT host FROM cpu", mode="reader")
    assert isinstance(reader, pa.RecordBatchReader) and reader.read_all().num_rows == 3


def test_influxdb3_python_query_parameters(client):
    table = client.query("SELECT usage FROM cpu WHERE host = $host AND n > $n ORDER BY time",
                         query_parameters={"host": "a", "n": 1})
    assert table.column("usage").to_pylist() == [0.75]


def test_influxdb3_python_influxql(client):
    table = client.query("SELECT usage FROM cpu WHERE host = 'a'", language="influxql")
    assert table.column_names[:2] == ["iox::measurement", "time"]
    assert table.column("usage").to_pylist() == [0.5, 0.75]
    shown = client.query("SHOW MEASUREMENTS", language="influxql")
    assert shown.to_pylist() == [{"iox::measurement": "measurements", "name": "cpu"}]


def test_a_query_error_reaches_the_client_with_the_engine_message(client):
    with pytest.raises(Exception) as err:  # the client wraps it in InfluxDB3ClientQueryError
        client.query("SELECT * FROM no_such_table")
    assert "INVALID_ARGUMENT" in str(err.value) and "table 'public.iox.no_such_table' not found" in str(err.value)


def test_iox_read_info_ticket_and_bare_read_info(grpc_url, cpu_db):
    c = flight.connect(grpc_url)
    wrapped = encode_read_info(cpu_db, "SELECT count(*) AS c FROM cpu")
    bare = pw.unpack_any(wrapped)[1]
    for ticket in (wrapped, bare):
        assert c.do_get(flight.Ticket(ticket)).read_all().to_pylist() == [{"c": 3}]
    with_params = encode_read_info(cpu_db, "SELECT usage FROM cpu WHERE n = $n", params={"n": 2})
    assert c.do_get(flight.Ticket(with_params)).read_all().to_pylist() == [{"usage": 0.25}]
    influxql = encode_read_info(cpu_db, "SELECT count(usage) FROM cpu", kind="influxql")
    assert c.do_get(flight.Ticket(influxql)).read_all().column("count").to_pylist() == [3]


def test_json_ticket_aliases_for_the_database(grpc_url, cpu_db):
    c = flight.connect(grpc_url)
    for key in ("namespace_name", "bucket", "bucket-name"):
        ticket = json.dumps({key: cpu_db, "sql_query": "SELECT count(*) AS c FROM cpu"}).encode()
        assert c.do_get(flight.Ticket(ticket)).read_all().to_pylist() == [{"c": 3}]


@pytest.mark.parametrize("ticket, fragment", [
    (b"not a ticket", "Invalid ticket"),
    (b'{"database": "x"}', "missing field `sql_query`"),
    (b'{"database": "x", "sql_query": "SELECT 1", "query_type": "flux"}', "Expected 'sql' or 'influxql'"),
    (b'{"database": "x", "sql_query": "SELECT 1", "params": {"a": [1]}}', "Invalid params"),
    (b"{\"database\": 1", "JSON parse error"),
])
def test_bad_tickets_are_invalid_argument(grpc_url, ticket, fragment):
    c = flight.connect(grpc_url)
    with pytest.raises(pa.ArrowInvalid) as err:
        c.do_get(flight.Ticket(ticket)).read_all()
    assert fragment in str(err.value)


def test_unknown_database_is_not_found(grpc_url):
    c = flight.connect(grpc_url)
    ticket = json.dumps({"database": "no_such_db", "sql_query": "SELECT 1"}).encode()
    with pytest.raises(pa.ArrowKeyError) as err:
        c.do_get(flight.Ticket(ticket)).read_all()
    assert "no_such_db" in str(err.value)


def test_http_still_answers_on_the_shared_port(client, url, cpu_db):
    client.query("SELECT 1")  # a gRPC connection is open on the port ...
    assert http_rows(url, cpu_db, "SELECT count(*) AS c FROM cpu") == [{"c": 3}]  # ... and HTTP still works


# ---- this package's own Python client ----------------------------------------------------------


def test_connect_url_queries_over_flight_when_offered(url, cpu_db):
    from jupyter_influx3 import connect

    client = connect(url=url, database=cpu_db, output="arrow")
    table = client.sql("SELECT host, usage FROM cpu ORDER BY time")
    assert client.flight.offered is True
    assert table.to_pylist() == http_rows(url, cpu_db, "SELECT host, usage FROM cpu ORDER BY time")
    assert client.influxql("SELECT count(usage) FROM cpu").column("count").to_pylist() == [3]
    with pytest.raises(Exception) as err:
        client.sql("SELECT * FROM no_such_table")
    assert getattr(err.value, "status", None) == 400 and "no_such_table" in str(err.value)
    assert "Traceback" not in str(err.value)


def test_a_server_without_flight_is_asked_over_http_from_then_on():
    import http.server
    import threading

    from jupyter_influx3.jupyter.flightclient import FlightQueries

    httpd = http.server.HTTPServer(("127.0.0.1", 0), http.server.BaseHTTPRequestHandler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    try:
        fq = FlightQueries(f"http://127.0.0.1:{httpd.server_address[1]}", timeout=10)
        assert fq.query("sql", "db", "SELECT 1", None, None, lambda work, cancel: work()) is None
        assert fq.offered is False
    finally:
        httpd.shutdown()
    assert FlightQueries("http://127.0.0.1:8888/influx3", timeout=10).offered is False  # a path prefix


def test_a_query_failing_as_it_executes_ends_with_an_error_not_a_short_result(server, url, grpc_url, db):
    from flight_helpers import write

    write(url, db, "\n".join(f"t i={i}i {i + 1}" for i in range(130_000)))  # more than one batch
    query = "SELECT CASE WHEN i >= 129000 THEN CAST('x' || i AS BIGINT) ELSE i END AS v FROM t"
    reader = flight.connect(grpc_url).do_get(flight.Ticket(json.dumps({"database": db, "sql_query": query}).encode()))
    rows = 0
    with pytest.raises((flight.FlightError, pa.ArrowException)) as err:
        for chunk in reader:
            rows += chunk.data.num_rows
    assert rows < 130_000  # (before or after the first batch, as DuckDB's threads meet the bad row)
    assert str(server.data_dir) not in str(err.value)
