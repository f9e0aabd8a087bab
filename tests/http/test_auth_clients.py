"""The official client libraries authenticate the way their users configure them (auth on)."""

from __future__ import annotations

from urllib.parse import urlparse

import pytest

from http_helpers import auth_reader_fixture, auth_server_fixtures, db_perm, resource_token
from jupyter_influx3.http.routes import ROUTE_TABLE

srv, url, admin = auth_server_fixtures()
reader = auth_reader_fixture("auth-clients-reader")


def token_for(url, admin, db, *actions):
    return resource_token(url, admin, [db_perm([db], *actions)])


def stored(reader, db):
    reader.refresh()
    found = reader.catalog.db(db)
    if found is None:
        return []
    return reader.sql(db, "SELECT host, usage FROM cpu ORDER BY host").to_pylist()


POINTS = [
    {"measurement": "cpu", "tags": {"host": "a"}, "fields": {"usage": 0.5}, "time": 1_700_000_000},
    {"measurement": "cpu", "tags": {"host": "b"}, "fields": {"usage": 0.75}, "time": 1_700_000_001},
]
EXPECTED = [{"host": "a", "usage": 0.5}, {"host": "b", "usage": 0.75}]


@pytest.mark.parametrize("who", ["admin", "write_token"])
def test_influxdb_v1_client_with_username_and_password(url, admin, reader, db, who):
    from influxdb import InfluxDBClient

    token = admin if who == "admin" else token_for(url, admin, db, "write", "read")
    where = urlparse(url)
    client = InfluxDBClient(host=where.hostname, port=where.port, username="x", password=token, database=db)
    try:
        assert client.write_points(POINTS, time_precision="s") is True
        if any(path == "/query" for path, _ in ROUTE_TABLE):
            result = client.query("SELECT host, usage FROM cpu")
            assert sorted((p["host"], p["usage"]) for p in result.get_points()) == [("a", 0.5), ("b", 0.75)]
    finally:
        client.close()
    assert stored(reader, db) == EXPECTED


def test_influxdb_v1_client_with_a_wrong_password_is_refused(url, admin, reader, db):
    from influxdb import InfluxDBClient
    from influxdb.exceptions import InfluxDBClientError

    where = urlparse(url)

    def refused_with(password) -> int:
        client = InfluxDBClient(host=where.hostname, port=where.port, username="x", password=password, database=db)
        try:
            with pytest.raises(InfluxDBClientError) as caught:
                client.write_points(POINTS, time_precision="s")
            return caught.value.code
        finally:
            client.close()

    assert refused_with("apiv3_wrong") == 401
    assert refused_with(token_for(url, admin, db + "x", "write")) == 403
    assert stored(reader, db) == []


@pytest.mark.parametrize("who", ["admin", "write_token"])
def test_influxdb_v2_client_with_token(url, admin, reader, db, who):
    from influxdb_client import InfluxDBClient, WritePrecision
    from influxdb_client.client.write_api import SYNCHRONOUS

    token = admin if who == "admin" else token_for(url, admin, db, "write")
    with InfluxDBClient(url=url, token=token, org="ignored") as client:
        write_api = client.write_api(write_options=SYNCHRONOUS)
        write_api.write(bucket=db, record=["cpu,host=a usage=0.5 1700000000", "cpu,host=b usage=0.75 1700000001"],
                        write_precision=WritePrecision.S)
    assert stored(reader, db) == EXPECTED


@pytest.mark.parametrize("token,status", [("apiv3_wrong", 401), ("read-token", 403)])
def test_influxdb_v2_client_refused(url, admin, reader, db, token, status):
    from influxdb_client import InfluxDBClient
    from influxdb_client.client.write_api import SYNCHRONOUS
    from influxdb_client.rest import ApiException

    if token == "read-token":
        token = token_for(url, admin, db, "read")
    with InfluxDBClient(url=url, token=token, org="ignored") as client:
        with pytest.raises(ApiException) as caught:
            client.write_api(write_options=SYNCHRONOUS).write(bucket=db, record="cpu,host=a usage=0.5")
    assert caught.value.status == status
    assert stored(reader, db) == []


@pytest.mark.parametrize("options", [{}, {"write_use_v2_api": False}], ids=["v2-endpoint", "v3-write_lp"])
@pytest.mark.parametrize("who", ["admin", "write_token"])
def test_influxdb3_client_with_token(url, admin, reader, db, options, who):
    from influxdb_client_3 import InfluxDBClient3, Point, WritePrecision

    token = admin if who == "admin" else token_for(url, admin, db, "write")
    with InfluxDBClient3(host=url, database=db, token=token, **options) as client:
        client.write(record="cpu,host=a usage=0.5 1700000000", write_precision=WritePrecision.S)
        client.write(record=Point("cpu").tag("host", "b").field("usage", 0.75).time(1_700_000_001 * 10**9))
    assert stored(reader, db) == EXPECTED


@pytest.mark.parametrize("options", [{}, {"write_use_v2_api": False}], ids=["v2-endpoint", "v3-write_lp"])
def test_influxdb3_client_with_a_wrong_token_is_refused(url, reader, db, options):
    from influxdb_client_3 import InfluxDBClient3, InfluxDBError

    with InfluxDBClient3(host=url, database=db, token="apiv3_wrong", **options) as client:
        with pytest.raises(InfluxDBError) as caught:
            client.write(record="cpu,host=a usage=0.5 1700000000")
    assert "401" in str(caught.value) or "unauthorized" in str(caught.value).lower() \
        or "not authenticated" in str(caught.value)
    assert stored(reader, db) == []
