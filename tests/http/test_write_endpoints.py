"""The write endpoints against a real server: cases W1–W28 of the behaviour reference §13.1.

Written data is read back through a second engine node on the server's data directory.
"""

from __future__ import annotations

import gzip
import time
from datetime import datetime

import pytest
import requests

from http_helpers import rows, table_exists, write_v1, write_v2, write_v3

# 2998574931 s = 2065-01-07T17:28:51
T_2065 = 2998574931


def times_and_values(reader, database, table="cpu", value="usage"):
    return [
        (r["host"], r["t"], r[value])
        for r in rows(reader, database, f"SELECT host, epoch_ns(time) AS t, {value} FROM {table} ORDER BY t, host")
    ]


# ---- v1 /write ---------------------------------------------------------------------------------


def test_w1_v1_write_without_query_string_is_400(url):
    r = requests.post(f"{url}/write", data=b"cpu,host=a usage=0.5")
    assert r.status_code == 400


def test_w2_v1_write_with_db_is_204_and_stored(url, reader, db):
    r = write_v1(url, db, "cpu,host=a usage=0.5 1")
    assert r.status_code == 204, r.text
    assert r.content == b""
    assert times_and_values(reader, db) == [("a", 1, 0.5)]


@pytest.mark.parametrize("rp", [None, "autogen", "default"])
@pytest.mark.parametrize(
    "precision, nanos_per_unit",
    [("s", 10**9), ("ms", 10**6), ("u", 10**3), ("us", 10**3), ("n", 1), ("ns", 1)],
)
def test_w3_v1_precisions_are_accepted_and_scale_timestamps(url, reader, db, precision, nanos_per_unit, rp):
    params = {"precision": precision} if rp is None else {"precision": precision, "rp": rp}
    r = write_v1(url, db, "cpu,host=a usage=1 7", **params)
    assert r.status_code == 204, r.text
    assert times_and_values(reader, db) == [("a", 7 * nanos_per_unit, 1.0)]


@pytest.mark.parametrize(
    "precision, nanos_per_unit",
    [("m", 60 * 10**9), ("h", 3600 * 10**9), ("\u00b5", 10**3)],
)
def test_v1_accepts_the_spec_precisions_minutes_hours_and_micro_sign(url, reader, db, precision, nanos_per_unit):
    r = write_v1(url, db, "cpu,host=a usage=1 3", precision=precision)
    assert r.status_code == 204, r.text
    assert times_and_values(reader, db) == [("a", 3 * nanos_per_unit, 1.0)]


def test_w4_v1_unknown_precision_is_400(url, db):
    r = write_v1(url, db, "cpu,host=a usage=0.5", precision="invalid")
    assert r.status_code == 400
    assert r.json()["error"].startswith("failed to deserialize db/rp/precision in request: unknown variant `invalid`")


def test_w5_v1_rp_names_a_database_unless_autogen_or_default(url, reader, db):
    assert write_v1(url, db, "cpu,host=a usage=1 1", rp="bar").status_code == 204
    assert write_v1(url, db, "cpu,host=b usage=2 2", rp="default").status_code == 204
    assert write_v1(url, db, "cpu,host=c usage=3 3", rp="autogen").status_code == 204
    # The rp is lower-cased before it is appended.
    assert write_v1(url, db, "cpu,host=d usage=4 4", rp="BAR").status_code == 204
    assert times_and_values(reader, f"{db}/bar") == [("a", 1, 1.0), ("d", 4, 4.0)]
    assert times_and_values(reader, db) == [("b", 2, 2.0), ("c", 3, 3.0)]


def test_w8_v1_seconds_are_stored_as_their_instant(url, reader, db):
    body = "\n".join(f"cpu,host={h} usage={v} {T_2065 + i}" for i, (h, v) in enumerate([("a", 0.5), ("b", 0.6), ("a", 0.7)]))
    assert write_v1(url, db, body, precision="s").status_code == 204
    got = rows(reader, db, "SELECT time, host, usage FROM cpu ORDER BY time")
    assert got == [
        {"time": datetime(2065, 1, 7, 17, 28, 51), "host": "a", "usage": 0.5},
        {"time": datetime(2065, 1, 7, 17, 28, 52), "host": "b", "usage": 0.6},
        {"time": datetime(2065, 1, 7, 17, 28, 53), "host": "a", "usage": 0.7},
    ]


# ---- v2 /api/v2/write --------------------------------------------------------------------------


def test_w6_v2_write_without_params_is_400_invalid(url):
    r = requests.post(f"{url}/api/v2/write", data=b"cpu,host=a usage=0.5")
    assert r.status_code == 400
    assert r.json() == {"code": "invalid", "message": "no org/bucket destination provided"}


@pytest.mark.parametrize("org", [None, "bar"])
@pytest.mark.parametrize(
    "precision, nanos_per_unit",
    [("s", 10**9), ("ms", 10**6), ("us", 10**3), ("u", 10**3), ("n", 1), ("ns", 1), (None, 1)],
)
def test_w7_v2_write_is_204_with_empty_body(url, reader, db, org, precision, nanos_per_unit):
    params = {k: v for k, v in {"org": org, "precision": precision}.items() if v is not None}
    r = write_v2(url, db, "cpu,host=a usage=0.5 9", **params)
    assert r.status_code == 204, r.text
    assert r.content == b""
    assert times_and_values(reader, db) == [("a", 9 * nanos_per_unit, 0.5)]


def test_w13_v2_invalid_line_protocol_is_400_invalid(url, db):
    r = write_v2(url, db, "invalid_line_protocol_syntax")
    assert r.status_code == 400
    body = r.json()
    assert body["code"] == "invalid"
    assert body["message"].startswith("write buffer error: line protocol parse failed: ")
    assert len(body["message"]) > len("write buffer error: line protocol parse failed: ")


def test_w14_v2_field_type_change_is_400_invalid(url, db):
    assert write_v2(url, db, "measurement,tag=value field=42i").status_code == 204
    r = write_v2(url, db, 'measurement,tag=value field="string_value"')
    assert r.status_code == 400
    assert r.json()["code"] == "invalid"
    assert "invalid column type for column 'field'" in r.json()["message"]


def test_w15_v2_empty_body_is_400_incoming_write_was_empty(url, db):
    r = write_v2(url, db, "")
    assert r.status_code == 400
    assert r.json() == {"code": "invalid", "message": "write buffer error: incoming write was empty"}


def test_w16_v2_line_without_measurement_is_400_invalid(url, db):
    r = write_v2(url, db, ",tag=value field=1")
    assert r.status_code == 400
    assert r.json()["code"] == "invalid"


def test_v2_write_is_never_partial(url, reader, db):
    r = write_v2(url, db, "cpu,host=a usage=1 1\ncpu,host=b usage= 2\ncpu,host=c usage=3 3")
    assert r.status_code == 400
    assert r.json() == {"code": "invalid", "message": "write buffer error: line protocol parse failed: No fields were provided"}
    assert not table_exists(reader, db, "cpu") or rows(reader, db, "SELECT * FROM cpu") == []


# ---- errors common to the endpoints ----------------------------------------------------------


def test_w10_field_type_change_is_rejected_with_the_column_types(url, db):
    assert write_v3(url, db, "t0,t0_tag0=initTag t0_f0=0i").status_code == 204
    r = write_v3(url, db, "t0,t0_tag0=initTag t0_f0=0u")
    assert r.status_code == 400
    assert r.json()["data"][0]["error_message"] == (
        "invalid column type for column 't0_f0', expected iox::column_type::field::integer, "
        "got iox::column_type::field::uinteger"
    )


def test_w11_duplicate_field_in_a_line_is_rejected(url, db):
    r = write_v3(url, db, "cpu,host=a usage=0.5,usage=0.6")
    assert r.status_code == 400
    assert "multiple instances of 'usage' field found" in r.json()["data"][0]["error_message"]


@pytest.mark.parametrize("endpoint", ["v1", "v2", "v3"])
def test_w12_no_sync_is_accepted_on_every_write_endpoint(url, reader, db, endpoint):
    write = {"v1": write_v1, "v2": write_v2, "v3": write_v3}[endpoint]
    r = write(url, db, "cpu,host=a usage=0.5 1000000000000000000", no_sync="true")
    assert r.status_code == 204, r.text
    # v1 and v2 ignore no_sync: their write is durable and visible at once. A v3 no_sync write is
    # acknowledged before the WAL flush and becomes visible with it.
    deadline = time.monotonic() + (10 if endpoint == "v3" else 0)
    while time.monotonic() < deadline and not (table_exists(reader, db, "cpu") and times_and_values(reader, db)):
        time.sleep(0.05)
    assert times_and_values(reader, db) == [("a", 10**18, 0.5)]


# ---- v3 /api/v3/write_lp -----------------------------------------------------------------------


def test_w17_v3_non_partial_write_stops_at_the_first_bad_line_and_writes_nothing(url, reader, db):
    body = "cpu,host=a val= 123\ncpu,host=b val=5 124\ncpu,host=b val= 124"
    r = write_v3(url, db, body, accept_partial="false", precision="nanosecond")
    assert r.status_code == 400
    assert r.json() == {
        "error": "line protocol parsing error",
        "data": {"error_message": "No fields were provided", "line_number": 1, "original_line": "cpu,host=a val= 123"},
    }
    assert not table_exists(reader, db, "cpu") or rows(reader, db, "SELECT * FROM cpu") == []


def test_w18_v3_partial_write_stores_the_good_lines_and_reports_the_bad(url, reader, db):
    body = "cpu,host=b val=2 155\ncpu,host=a val= 123\ncpu,host=b val=5 199"
    r = write_v3(url, db, body, accept_partial="true", precision="nanosecond")
    assert r.status_code == 400
    assert r.json() == {
        "error": "partial write of line protocol occurred",
        "data": [{"error_message": "No fields were provided", "line_number": 2, "original_line": "cpu,host=a val= 123"}],
    }
    assert times_and_values(reader, db, value="val") == [("b", 155, 2.0), ("b", 199, 5.0)]


def test_v3_partial_write_is_the_default(url, reader, db):
    r = write_v3(url, db, "cpu,host=b val=2 155\ncpu,host=a val= 123", precision="nanosecond")
    assert r.status_code == 400
    assert r.json()["error"] == "partial write of line protocol occurred"
    assert times_and_values(reader, db, value="val") == [("b", 155, 2.0)]


@pytest.mark.parametrize(
    "name, message",
    [
        ("this#_is_fine", "invalid character in database or rp name: must be ASCII, containing only letters, numbers, underscores, or hyphens"),
        ("?this_is_fine", "db name did not start with a number or letter"),
        ("", "db name cannot be empty"),
    ],
)
def test_w19_w21_v3_invalid_database_names_are_400_json(url, name, message):
    r = write_v3(url, name, "cpu,host=a usage=0.5")
    assert r.status_code == 400
    assert r.json() == {"error": message}


def test_w22_v3_auto_precision_guesses_the_unit_from_the_magnitude(url, reader, db):
    body = "\n".join(
        f"cpu,host=b val=5 {ts}"
        for ts in ["1708473600", "1708473601000", "1708473602000000", "1708473603000000000"]
    )
    assert write_v3(url, db, body).status_code == 204
    for precision, ts in [
        ("second", "1708473604"),
        ("millisecond", "1708473605000"),
        ("microsecond", "1708473606000000"),
        ("nanosecond", "1708473607000000000"),
    ]:
        assert write_v3(url, db, f"cpu,host=b val=5 {ts}", precision=precision).status_code == 204
    got = rows(reader, db, "SELECT host, time, val FROM cpu ORDER BY time")
    assert got == [{"host": "b", "time": datetime(2024, 2, 21, 0, 0, s), "val": 5.0} for s in range(8)]


@pytest.mark.parametrize(
    "members",
    [
        pytest.param([b"cpu,host=a usage=1 1\ncpu,host=b usage=2 2\n"], id="single-member"),
        pytest.param([b"cpu,host=a usage=1 1\n", b"cpu,host=b usage=2 2\n"], id="multi-member"),
        pytest.param([b"cpu,host=a usage=1 1\n", b"", b"cpu,host=b usage=2 2\n"], id="with-empty-member"),
    ],
)
@pytest.mark.parametrize("endpoint", ["v1", "v2", "v3"])
def test_w23_gzip_bodies_are_decompressed_member_by_member(url, reader, db, members, endpoint):
    body = b"".join(gzip.compress(m) for m in members)
    params = {"v1": ("/write", "db"), "v2": ("/api/v2/write", "bucket"), "v3": ("/api/v3/write_lp", "db")}[endpoint]
    r = requests.post(
        f"{url}{params[0]}", params={params[1]: db, "precision": "ns" if endpoint != "v3" else "nanosecond"},
        data=body, headers={"Content-Encoding": "gzip"},
    )
    assert r.status_code == 204, r.text
    assert times_and_values(reader, db) == [("a", 1, 1.0), ("b", 2, 2.0)]


def test_w26_a_row_may_have_500_columns_but_not_501(url, db):
    def line(table, n_columns):
        tags = ",".join(f"t{i:03d}=v" for i in range(n_columns // 2))
        fields = ",".join(f"f{i:03d}={i}i" for i in range(n_columns - n_columns // 2))
        return f"{table},{tags} {fields} 1"

    assert write_v3(url, db, line("wide", 500)).status_code == 204
    r = write_v3(url, db, line("wider", 501))
    assert r.status_code == 422
    assert r.json()["data"][0]["error_message"] == (
        "Update to schema would exceed number of columns per table limit of 500 columns"
    )


W27_VALID = ["foo/bar", "foo-bar", "foo_bar", "f", "1", "1/2", "1/-", "1/_", "1" * 511]
W27_INVALID = {
    "foo/": "db name with invalid retention policy, if providing a retention policy name, must be of form '<db_name>/<rp_name>'",
    "foo///": "db name with invalid retention policy, if providing a retention policy name, must be of form '<db_name>/<rp_name>'",
    "foo?bar": "invalid character in database or rp name: must be ASCII, containing only letters, numbers, underscores, or hyphens",
    "foo#bar": "invalid character in database or rp name: must be ASCII, containing only letters, numbers, underscores, or hyphens",
    "foo@bar/baz": "invalid character in database or rp name: must be ASCII, containing only letters, numbers, underscores, or hyphens",
    "_foo": "db name did not start with a number or letter",
    "-foo": "db name did not start with a number or letter",
    "/": "db name did not start with a number or letter",
    "": "db name cannot be empty",
    "1" * 512: "db name too long: max 511",
}


@pytest.mark.parametrize("name", W27_VALID, ids=lambda n: n if len(n) < 20 else f"{len(n)}-chars")
def test_w27_valid_database_names_are_accepted(url, name):
    r = write_v3(url, f"w27{name}" if len(name) < 511 else name, "cpu,host=a usage=0.5")
    assert r.status_code == 204, r.text


@pytest.mark.parametrize("name", list(W27_INVALID), ids=lambda n: repr(n) if len(n) < 20 else f"{len(n)}-chars")
def test_w27_invalid_database_names_are_400_with_the_rule_broken(url, name):
    r = write_v3(url, name, "cpu,host=a usage=0.5")
    assert r.status_code == 400
    assert r.json() == {"error": W27_INVALID[name]}


def test_w28_escaped_names_are_stored_unescaped(url, reader, db):
    body = (
        "escapes,tag\\ with\\ spaces=value2,tag\\,with\\,commas=value3,tag\\=with\\=equals=value4 "
        'field\\ with\\ spaces=42i,field\\,with\\,commas=1.5,field\\=with\\=equals=true,'
        'string\\ field="a \\"quoted\\" \\\\ value",unsigned\\ field=100u 1000000000'
    )
    r = write_v3(url, db, body, precision="nanosecond")
    assert r.status_code == 204, r.text
    assert rows(reader, db, "SELECT * FROM escapes") == [{
        "field with spaces": 42,
        "field,with,commas": 1.5,
        "field=with=equals": True,
        "string field": 'a "quoted" \\ value',
        "tag with spaces": "value2",
        "tag,with,commas": "value3",
        "tag=with=equals": "value4",
        "time": datetime(1970, 1, 1, 0, 0, 1),
        "unsigned field": 100,
    }]


# ---- catalog limits set by flags (their own servers) -------------------------------------------


def test_w24_a_database_over_the_limit_is_422(start_influx3):
    srv = start_influx3("--max-databases", "5")
    for i in range(5):
        assert write_v3(srv.url, f"d{i}", "cpu,host=a usage=1").status_code == 204
    limit = {"error": "Adding a new database would exceed limit of 5 databases"}
    r = write_v3(srv.url, "d5", "cpu,host=a usage=1")
    assert (r.status_code, r.json()) == (422, limit)
    r = write_v1(srv.url, "d5", "cpu,host=a usage=1")
    assert (r.status_code, r.json()) == (422, limit)
    r = write_v2(srv.url, "d5", "cpu,host=a usage=1")
    assert (r.status_code, r.json()) == (400, {
        "code": "invalid",
        "message": "write buffer error: catalog update error: Adding a new database would exceed limit of 5 databases",
    })
    # Existing databases still take writes.
    assert write_v3(srv.url, "d0", "cpu,host=b usage=2").status_code == 204


def test_w25_a_table_over_the_limit_is_422_until_a_database_is_deleted(start_influx3):
    srv = start_influx3("--max-tables", "10")
    assert write_v3(srv.url, "small", "\n".join(f"s{i} v=1" for i in range(2))).status_code == 204
    assert write_v3(srv.url, "big", "\n".join(f"b{i} v=1" for i in range(8))).status_code == 204
    r = write_v3(srv.url, "small", "s_over v=1")
    assert r.status_code == 422
    assert r.json()["data"][0]["error_message"] == (
        "Update to schema would exceed number of tables limit: attempted to create table but "
        "already have 10 table(s) (limit: 10)"
    )
    other = __import__("jupyter_influx3.engine", fromlist=["Engine"]).Engine(srv.data_dir, node_id="deleter")
    try:
        other.catalog.delete_database("big", hard_delete_at=None)
    finally:
        other.close()
    assert write_v3(srv.url, "small", "s_over v=1").status_code == 204


def test_max_columns_per_table_flag_sets_the_column_limit(start_influx3):
    srv = start_influx3("--max-columns-per-table", "4")
    assert write_v3(srv.url, "cols", "t,a=1,b=2 c=1,d=2").status_code == 204
    r = write_v3(srv.url, "cols", "t,a=1,b=2 c=1,d=2,e=3")
    assert r.status_code == 422
    assert r.json()["data"][0]["error_message"] == (
        "Update to schema would exceed number of columns per table limit of 4 columns"
    )
