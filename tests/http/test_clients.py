"""The official client libraries write to a real server, and the rows arrive."""

from __future__ import annotations

from urllib.parse import urlparse

import pytest

from http_helpers import rows


def stored(reader, database):
    return rows(reader, database, "SELECT host, epoch_ns(time) AS t, usage FROM cpu ORDER BY t")


EXPECTED = [
    {"host": "a", "t": 1_700_000_000 * 10**9, "usage": 0.5},
    {"host": "b", "t": 1_700_000_001 * 10**9, "usage": 0.75},
]


def test_influxdb_v1_client_write_points(url, reader, db):
    from influxdb import InfluxDBClient

    where = urlparse(url)
    client = InfluxDBClient(host=where.hostname, port=where.port, database=db)
    try:
        points = [
            {"measurement": "cpu", "tags": {"host": "a"}, "fields": {"usage": 0.5}, "time": 1_700_000_000},
            {"measurement": "cpu", "tags": {"host": "b"}, "fields": {"usage": 0.75}, "time": 1_700_000_001},
        ]
        assert client.write_points(points, time_precision="s") is True
    finally:
        client.close()
    assert stored(reader, db) == EXPECTED


def test_influxdb_v1_client_line_protocol_with_retention_policy(url, reader, db):
    from influxdb import InfluxDBClient

    where = urlparse(url)
    client = InfluxDBClient(host=where.hostname, port=where.port, database=db)
    try:
        lines = ["cpu,host=a usage=0.5 1700000000000", "cpu,host=b usage=0.75 1700000001000"]
        assert client.write_points(lines, time_precision="ms", protocol="line", retention_policy="autogen") is True
    finally:
        client.close()
    assert stored(reader, db) == EXPECTED


@pytest.mark.parametrize("gzip", [False, True], ids=["plain", "gzip"])
def test_influxdb_v2_client_synchronous_write(url, reader, db, gzip):
    from influxdb_client import InfluxDBClient, Point, WritePrecision
    from influxdb_client.client.write_api import SYNCHRONOUS

    with InfluxDBClient(url=url, token="ignored", org="ignored", enable_gzip=gzip) as client:
        write_api = client.write_api(write_options=SYNCHRONOUS)
        write_api.write(bucket=db, record="cpu,host=a usage=0.5 1700000000", write_precision=WritePrecision.S)
        write_api.write(
            bucket=db,
            record=Point("cpu").tag("host", "b").field("usage", 0.75).time(1_700_000_001 * 10**9, WritePrecision.NS),
        )
    assert stored(reader, db) == EXPECTED


def test_influxdb_v2_client_sees_a_rejected_write_as_400(url, db):
    from influxdb_client import InfluxDBClient
    from influxdb_client.client.write_api import SYNCHRONOUS
    from influxdb_client.rest import ApiException

    with InfluxDBClient(url=url, token="ignored", org="ignored") as client:
        with pytest.raises(ApiException) as caught:
            client.write_api(write_options=SYNCHRONOUS).write(bucket=db, record="cpu,host=a usage=")
    assert caught.value.status == 400


@pytest.mark.parametrize(
    "options",
    [
        pytest.param({}, id="default-v2-endpoint"),
        pytest.param({"write_use_v2_api": False}, id="v3-write_lp"),
        pytest.param({"write_use_v2_api": False, "write_accept_partial": False}, id="v3-not-partial"),
    ],
)
def test_influxdb3_client_write(url, reader, db, options):
    from influxdb_client_3 import InfluxDBClient3, Point, WritePrecision

    with InfluxDBClient3(host=url, database=db, token="x", **options) as client:
        client.write(record="cpu,host=a usage=0.5 1700000000", write_precision=WritePrecision.S)
        client.write(record=Point("cpu").tag("host", "b").field("usage", 0.75).time(1_700_000_001 * 10**9))
    assert stored(reader, db) == EXPECTED


def test_influxdb3_client_no_sync_write_is_acknowledged(url, reader, db):
    from influxdb_client_3 import InfluxDBClient3, WritePrecision

    with InfluxDBClient3(host=url, database=db, token="x", write_use_v2_api=False, write_no_sync=True) as client:
        client.write(record="cpu,host=a usage=0.5 1700000000", write_precision=WritePrecision.S)


def test_influxdb3_client_reports_the_rejected_line(url, db):
    from influxdb_client_3 import InfluxDBClient3, InfluxDBError

    with InfluxDBClient3(host=url, database=db, token="x", write_use_v2_api=False) as client:
        with pytest.raises(InfluxDBError) as caught:
            client.write(record="cpu,host=a usage=0.5 1\ncpu,host=b usage= 2")
    assert "No fields were provided" in str(caught.value)
