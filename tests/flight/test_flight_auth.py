"""Flight calls carry the same tokens as HTTP (gRPC ``authorization`` metadata) and are refused
with InfluxDB 3's gRPC statuses and messages."""

from __future__ import annotations

import base64
import json

import pyarrow.flight as flight
import pytest
import requests
from flight_helpers import CPU, write
from influxdb_client_3 import InfluxDBClient3

from jupyter_influx3.flight import flightsql


@pytest.fixture(scope="module")
def srv(start_influx3_session):
    return start_influx3_session(auth=True)


@pytest.fixture(scope="module")
def admin(srv) -> str:
    r = requests.post(f"{srv.url}/api/v3/configure/token/admin", timeout=30)
    assert r.status_code == 201, r.text
    token = r.json()["token"]
    for db in ("granted", "other"):
        write(srv.url, db, CPU, token)
    return token


def resource_token(srv, admin, *dbs) -> str:
    body = {"token_name": "reader-" + "-".join(dbs), "permissions": [
        {"resource_type": "db", "resource_identifier": list(dbs), "actions": ["read"]}]}
    r = requests.post(f"{srv.url}/api/v3/enterprise/configure/token", json=body,
                      headers={"Authorization": f"Bearer {admin}"}, timeout=30)
    assert r.status_code == 201, r.text
    return r.json()["token"]


@pytest.fixture(scope="module")
def reader(srv, admin) -> str:
    return resource_token(srv, admin, "granted")


def grpc(srv) -> flight.FlightClient:
    return flight.connect("grpc://" + srv.url.split("://", 1)[1])


def ticket(db: str, q: str = "SELECT count(*) AS c FROM cpu", kind: str = "sql") -> flight.Ticket:
    return flight.Ticket(json.dumps({"database": db, "sql_query": q, "query_type": kind}).encode())


def get(srv, tkt, header: bytes | None) -> list:
    opts = flight.FlightCallOptions(headers=[(b"authorization", header)] if header is not None else [])
    return grpc(srv).do_get(tkt, opts).read_all().to_pylist()


def test_admin_token_bearer_and_basic(srv, admin):
    assert get(srv, ticket("granted"), f"Bearer {admin}".encode()) == [{"c": 3}]
    basic = base64.b64encode(f"anyone:{admin}".encode())
    assert get(srv, ticket("other"), b"Basic " + basic) == [{"c": 3}]


def test_influxdb3_python_with_a_token(srv, reader):
    client = InfluxDBClient3(host=srv.url, token=reader, database="granted")
    try:
        assert client.query("SELECT count(*) AS c FROM cpu").to_pylist() == [{"c": 3}]
    finally:
        client.close()


@pytest.mark.parametrize("header", [None, b"", b"bearer x", b"Bearer", b"Bearer a b", b"Basic !!!"])
def test_no_or_malformed_token_is_unauthenticated(srv, admin, header):
    with pytest.raises(flight.FlightUnauthenticatedError, match="no token"):
        get(srv, ticket("granted"), header)


def test_unknown_token_is_permission_denied(srv, admin):
    with pytest.raises(flight.FlightUnauthorizedError, match="invalid token"):
        get(srv, ticket("granted"), b"Bearer apiv3_not-a-token")


def test_resource_token_reads_its_database_only(srv, reader):
    bearer = f"Bearer {reader}".encode()
    assert get(srv, ticket("granted"), bearer) == [{"c": 3}]
    with pytest.raises(flight.FlightUnauthorizedError, match="forbidden"):
        get(srv, ticket("other"), bearer)


def test_influxql_naming_another_database_is_forbidden(srv, reader):
    bearer = f"Bearer {reader}".encode()
    assert get(srv, ticket("granted", "SELECT count(usage) FROM cpu", "influxql"), bearer)[0]["count"] == 3
    with pytest.raises(flight.FlightUnauthorizedError, match="forbidden"):
        get(srv, ticket("", 'SELECT count(usage) FROM "other"."autogen"."cpu"', "influxql"), bearer)
    with pytest.raises(flight.FlightUnauthorizedError, match="forbidden"):
        get(srv, ticket("granted", "SHOW DATABASES", "influxql"), bearer)


def test_flight_sql_is_checked_against_the_database_header(srv, reader):
    c = grpc(srv)
    cmd = flight.FlightDescriptor.for_command(flightsql.encode_command(flightsql.StatementQuery("SELECT 1")))

    def opts(db):
        return flight.FlightCallOptions(headers=[(b"authorization", f"Bearer {reader}".encode()),
                                                 (b"database", db.encode())])

    info = c.get_flight_info(cmd, opts("granted"))
    assert c.do_get(info.endpoints[0].ticket, opts("granted")).read_all().num_rows == 1
    with pytest.raises(flight.FlightUnauthorizedError, match="forbidden"):
        c.get_flight_info(cmd, opts("other"))
    tables = flight.FlightDescriptor.for_command(flightsql.encode_command(flightsql.GetTables()))
    with pytest.raises(flight.FlightUnauthorizedError, match="forbidden"):
        c.get_flight_info(tables, opts("other"))


def test_a_ticket_from_one_token_is_checked_again_for_another(srv, admin, reader):
    """The result GetFlightInfo keeps for its DoGet is the caller's own: another token presenting
    the ticket is checked against the ticket's database and refused."""
    c = grpc(srv)
    admin_opts = flight.FlightCallOptions(headers=[(b"authorization", f"Bearer {admin}".encode()),
                                                   (b"database", b"other")])
    cmd = flight.FlightDescriptor.for_command(flightsql.encode_command(flightsql.StatementQuery("SELECT 7 AS x")))
    info = c.get_flight_info(cmd, admin_opts)
    reader_opts = flight.FlightCallOptions(headers=[(b"authorization", f"Bearer {reader}".encode())])
    with pytest.raises(flight.FlightUnauthorizedError, match="forbidden"):
        c.do_get(info.endpoints[0].ticket, reader_opts).read_all()
    assert c.do_get(info.endpoints[0].ticket, admin_opts).read_all().to_pylist() == [{"x": 7}]


def test_without_auth_flight_needs_no_token(start_influx3):
    open_srv = start_influx3()
    write(open_srv.url, "db", CPU)
    assert get(open_srv, ticket("db"), None) == [{"c": 3}]


def test_adbc_with_a_token_in_the_authorization_header(srv, reader):
    dbapi = pytest.importorskip("adbc_driver_flightsql.dbapi")
    conn = dbapi.connect("grpc://" + srv.url.split("://", 1)[1], autocommit=True, db_kwargs={
        "adbc.flight.sql.rpc.call_header.database": "granted",
        "adbc.flight.sql.authorization_header": f"Bearer {reader}"})
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT count(*) AS c FROM cpu")
            assert cur.fetchall() == [(3,)]
    finally:
        conn.close()


def test_system_queries_over_flight_show_only_readable_databases(srv, admin, reader):
    # issue 10: the history of another database's queries (their text) is not the reader's to see.
    secret = "s3cr3t-flight-other"
    assert get(srv, ticket("other", f"SELECT count(*) AS c FROM cpu WHERE host <> '{secret}'"),
               f"Bearer {admin}".encode())
    q = "SELECT query_text FROM system.queries"
    texts = [r["query_text"] for r in get(srv, ticket("granted", q), f"Bearer {reader}".encode())]
    assert texts and not [t for t in texts if secret in t]
    texts = [r["query_text"] for r in get(srv, ticket("granted", q), f"Bearer {admin}".encode())]
    assert [t for t in texts if secret in t]
