"""Database and table endpoints against a real server (behaviour reference §3, C1-C15)."""

from __future__ import annotations

import re
import time

import pytest
import requests

from http_helpers import write_v3

DELETED = re.compile(r"^(?P<name>.+)-(?P<stamp>\d{8}T\d{6})$")
HOUR_NS = 3600 * 10**9


def create_db(url, name, **extra):
    return requests.post(f"{url}/api/v3/configure/database", json={"db": name, **extra}, timeout=30)


def delete_db(url, name=None, **params):
    if name is not None:
        params["db"] = name
    return requests.delete(f"{url}/api/v3/configure/database", params=params, timeout=30)


def list_dbs(url, show_deleted=False, fmt="json"):
    params = {"format": fmt}
    if show_deleted:
        params["show_deleted"] = "true"
    r = requests.get(f"{url}/api/v3/configure/database", params=params, timeout=30)
    assert r.status_code == 200, r.text
    return r


def create_table(url, db, table, tags=(), fields=(), **extra):
    body = {"db": db, "table": table, "tags": list(tags), "fields": [{"name": n, "type": t} for n, t in fields], **extra}
    return requests.post(f"{url}/api/v3/configure/table", json=body, timeout=30)


def delete_table(url, **params):
    return requests.delete(f"{url}/api/v3/configure/table", params=params, timeout=30)


def catalog_db(reader, name):
    reader.refresh()
    return reader.catalog.db(name)


def deleted_names(url, prefix):
    rows = list_dbs(url, show_deleted=True).json()
    return [r["iox::database"] for r in rows if r["deleted"] and r["iox::database"].startswith(prefix + "-")]


# ---- databases ------------------------------------------------------------------------------------


def test_c1_create_database_then_again_is_409(url, db):
    r = create_db(url, db)
    assert (r.status_code, r.text) == (200, "")
    r = create_db(url, db)
    assert (r.status_code, r.text) == (409, "attempted to create a resource that already exists")
    assert db in [row["iox::database"] for row in list_dbs(url).json()]


def test_c2_database_limit_is_422_json(start_influx3):
    server = start_influx3("--max-databases", "5")
    for i in range(5):
        assert create_db(server.url, f"foo{i}").status_code == 200
    r = create_db(server.url, "foo5")
    assert r.status_code == 422
    assert r.json() == {"error": "Adding a new database would exceed limit of 5 databases"}


def test_c3_a_deleted_name_can_be_created_again(url, db):
    assert create_db(url, db).status_code == 200
    assert delete_db(url, db).status_code == 200
    assert create_db(url, db).status_code == 200


def test_c4_soft_delete_renames_and_a_write_recreates(url, db):
    assert write_v3(url, db, "cpu,host=a usage=1 1").status_code == 204
    before = time.gmtime()
    r = delete_db(url, db)
    assert (r.status_code, r.text) == (200, "")
    names = deleted_names(url, db)
    assert len(names) == 1
    stamp = DELETED.match(names[0]).group("stamp")
    assert abs(time.mktime(time.strptime(stamp, "%Y%m%dT%H%M%S")) - time.mktime(before)) < 120
    assert db not in [row["iox::database"] for row in list_dbs(url).json()]
    assert write_v3(url, db, "cpu,host=a usage=2 2").status_code == 204
    rows = [r for r in list_dbs(url, show_deleted=True).json() if r["iox::database"].startswith(db)]
    assert rows == [{"iox::database": db, "deleted": False}, {"iox::database": names[0], "deleted": True}]


def test_list_is_sorted_deleted_last_in_every_format(url, db):
    assert create_db(url, db).status_code == 200
    rows = list_dbs(url, show_deleted=True).json()
    assert rows[0] == {"iox::database": "_internal", "deleted": False}
    keys = [(r["deleted"], r["iox::database"]) for r in rows]
    assert keys == sorted(keys)
    assert list(list_dbs(url).json()[0]) == ["iox::database"]
    csv = list_dbs(url, fmt="csv")
    assert csv.headers["Content-Type"] == "text/csv"
    assert csv.text.startswith("iox::database\n_internal\n")
    pretty = list_dbs(url, fmt="pretty").text.splitlines()
    assert pretty[1].startswith("| iox::database ") and pretty[3].startswith("| _internal ")
    assert list_dbs(url, fmt="jsonl").text.startswith('{"iox::database":"_internal"}\n')


def test_list_needs_a_format(url):
    for query in ("", "?show_deleted=true"):
        r = requests.get(f"{url}/api/v3/configure/database{query}", timeout=30)
        assert (r.status_code, r.text) == (400, "serde error: missing field `format`")
    r = requests.get(f"{url}/api/v3/configure/database?format=xml", timeout=30)
    assert r.status_code == 400
    assert r.text.startswith("serde error: unknown variant `xml`")


def test_c5_delete_unknown_is_404_and_without_db_is_400(url):
    r = delete_db(url, "nosuchdb")
    assert (r.status_code, r.text) == (404, "the requested resource was not found: nosuchdb")
    r = delete_db(url)
    assert (r.status_code, r.text) == (400, "serde error: missing field `db`")


def test_c6_deleting_the_renamed_database_again_is_409(url, db):
    assert create_db(url, db).status_code == 200
    assert delete_db(url, db, hard_delete_at="never").status_code == 200
    renamed = deleted_names(url, db)[0]
    r = delete_db(url, renamed, hard_delete_at="never")
    assert r.status_code == 409
    assert r.text == f"attempted to modify resource that was already deleted: {renamed}"


def test_internal_database_cannot_be_deleted(url):
    r = delete_db(url, "_internal")
    assert (r.status_code, r.text) == (500, "cannot delete internal db")


@pytest.mark.parametrize("when", ["never", "now", "default", "2125-12-31T23:59:59Z", "2020-01-01T00:00:00Z"])
def test_delete_database_hard_delete_at_values(url, db, when):
    assert create_db(url, db).status_code == 200
    assert delete_db(url, db, hard_delete_at=when).status_code == 200


def test_delete_database_bad_hard_delete_at_is_400(url, db):
    assert create_db(url, db).status_code == 200
    r = delete_db(url, db, hard_delete_at="invalid-timestamp")
    assert r.status_code == 400
    assert r.text.startswith("Cannot parse the timestamp")


def test_data_only_delete_keeps_the_database(url, db, reader):
    assert write_v3(url, db, "cpu,host=a usage=1 1").status_code == 204
    assert delete_db(url, db, data_only="true").status_code == 200
    assert db in [row["iox::database"] for row in list_dbs(url).json()]
    assert catalog_db(reader, db).table("cpu") is not None


def test_delete_boolean_parameters_are_strict(url, db):
    r = delete_db(url, db, data_only="yes")
    assert (r.status_code, r.text) == (400, "serde error: provided string was not `true` or `false`")


def test_c11_invalid_names_are_400_json(url):
    r = create_db(url, "_foo_bar")
    assert r.status_code == 400
    assert r.json() == {"error": "db name did not start with a number or letter"}
    r = create_table(url, "_foo_bar", "t", ["a"])
    assert r.status_code == 400
    assert r.json() == {"error": "db name did not start with a number or letter"}


def test_create_database_with_retention_then_update_and_clear(url, db, reader):
    assert create_db(url, db, retention_period="7d").status_code == 200
    assert catalog_db(reader, db).retention_ns == 7 * 24 * HOUR_NS
    r = requests.put(f"{url}/api/v3/configure/database", json={"db": db, "retention_period": "30d"}, timeout=30)
    assert (r.status_code, r.text) == (200, "")
    assert catalog_db(reader, db).retention_ns == 30 * 24 * HOUR_NS
    r = requests.put(f"{url}/api/v3/configure/database", json={"db": db}, timeout=30)
    assert r.status_code == 200
    assert catalog_db(reader, db).retention_ns is None


def test_update_unknown_or_deleted_database(url, db):
    r = requests.put(f"{url}/api/v3/configure/database", json={"db": "nosuchdb", "retention_period": "1d"}, timeout=30)
    assert (r.status_code, r.text) == (404, "the requested resource was not found: nosuchdb")
    assert create_db(url, db).status_code == 200
    assert delete_db(url, db, hard_delete_at="never").status_code == 200
    renamed = deleted_names(url, db)[0]
    r = requests.put(f"{url}/api/v3/configure/database", json={"db": renamed, "retention_period": "1d"}, timeout=30)
    assert r.status_code == 409


def test_retention_period_endpoint_sets_and_clears(url, db, reader):
    assert create_db(url, db).status_code == 200
    r = requests.post(f"{url}/api/v3/configure/database/retention_period", params={"db": db, "duration": "30d"}, timeout=30)
    assert (r.status_code, r.text) == (204, "")
    assert catalog_db(reader, db).retention_ns == 30 * 24 * HOUR_NS
    r = requests.delete(f"{url}/api/v3/configure/database/retention_period", params={"db": db}, timeout=30)
    assert (r.status_code, r.text) == (204, "")
    assert catalog_db(reader, db).retention_ns is None


def test_retention_period_endpoint_errors(url, db):
    assert create_db(url, db).status_code == 200
    r = requests.post(f"{url}/api/v3/configure/database/retention_period", params={"db": db, "duration": "soon"}, timeout=30)
    assert r.status_code == 400
    assert r.text.startswith("Cannot parse the given human time")
    r = requests.post(f"{url}/api/v3/configure/database/retention_period", params={"db": db}, timeout=30)
    assert (r.status_code, r.text) == (400, "serde error: missing field `duration`")
    r = requests.post(f"{url}/api/v3/configure/database/retention_period",
                      params={"db": "nosuchdb", "duration": "1d"}, timeout=30)
    assert r.status_code == 404


def test_bad_retention_period_on_create_is_400(url, db):
    r = create_db(url, db, retention_period="forever")
    assert r.status_code == 400
    assert r.text.startswith("Cannot parse the given human time")


# ---- tables ---------------------------------------------------------------------------------------

ALL_TYPES = [("field1", "uint64"), ("field2", "int64"), ("field3", "float64"), ("field4", "utf8"), ("field5", "bool")]


def test_c7_create_table_with_every_field_type_auto_creates_the_db(url, db, reader):
    r = create_table(url, db, "bar", ["tag1", "tag2"], ALL_TYPES)
    assert (r.status_code, r.text) == (200, "")
    table = catalog_db(reader, db).table("bar")
    types = {c.name: c.type for c in table.columns.values()}
    assert types == {"tag1": "tag", "tag2": "tag", "field1": "uint", "field2": "int", "field3": "float",
                     "field4": "string", "field5": "bool", "time": "time"}
    assert table.series_key == ["tag1", "tag2"]


def test_c9_unknown_field_type_is_400(url, db):
    r = create_table(url, db, "bar", ["tag1"], [("f", "foobar")])
    assert r.status_code == 400
    assert r.text.startswith(
        "serde json error: unknown variant `foobar`, expected one of `utf8`, `int64`, `uint64`, `float64`, `bool`")


def test_c10_existing_table_is_409(url, db):
    assert create_table(url, db, "bar", ["t"], []).status_code == 200
    r = create_table(url, db, "bar", ["t"], [])
    assert (r.status_code, r.text) == (409, "attempted to create a resource that already exists")


@pytest.mark.parametrize("body, message", [
    ({"db": "x", "table": "t", "fields": []}, "missing field `tags`"),
    ({"db": "x", "table": "t", "tags": []}, "missing field `fields`"),
    ({"table": "t", "tags": [], "fields": []}, "missing field `db`"),
    ({"db": "x", "tags": [], "fields": []}, "missing field `table`"),
    ({"db": "x", "table": "t", "tags": "a", "fields": []}, 'invalid type: string "a", expected a sequence'),
    ({"db": "x", "table": "t", "tags": [], "fields": [{"name": "f"}]}, "missing field `type`"),
])
def test_create_table_body_errors_are_serde_json_400(url, body, message):
    r = requests.post(f"{url}/api/v3/configure/table", json=body, timeout=30)
    assert r.status_code == 400
    assert r.text.startswith(f"serde json error: {message} at line 1 column ")


def test_reserved_and_duplicate_columns_are_400(url, db):
    r = create_table(url, db, "bar", ["time"], [])
    assert r.status_code == 400
    r = create_table(url, db, "bar", ["a"], [("a", "int64")])
    assert r.status_code == 400


def test_c12_delete_table_renames_it_and_the_old_name_is_free(url, db, reader):
    assert write_v3(url, db, "tbl,t=a v=1 1").status_code == 204
    r = delete_table(url, db=db, table="tbl")
    assert (r.status_code, r.text) == (200, "")
    names = sorted(t.name for t in catalog_db(reader, db).tables.values())
    assert len(names) == 1 and DELETED.match(names[0]).group("name") == "tbl"
    assert write_v3(url, db, "tbl,t=a v=2 2").status_code == 204
    names = sorted(t.name for t in catalog_db(reader, db).tables.values())
    assert names[0] == "tbl" and DELETED.match(names[1]).group("name") == "tbl"
    assert [t.name for t in catalog_db(reader, db).live_tables()] == ["tbl"]


def test_c13_delete_table_parameter_variants(url, db):
    for name in ("t1", "t2", "t3", "t4"):
        assert create_table(url, db, name, ["a"], []).status_code == 200
    r = delete_table(url, db="nosuchdb", table="t1")
    assert (r.status_code, r.text) == (404, "the requested resource was not found: nosuchdb")
    r = delete_table(url)
    assert (r.status_code, r.text) == (400, "serde error: missing field `db`")
    r = delete_table(url, db=db)
    assert (r.status_code, r.text) == (400, "serde error: missing field `table`")
    assert delete_table(url, db=db, table="t1", hard_delete_at="never").status_code == 200
    assert delete_table(url, db=db, table="t2", hard_delete_at="2125-12-31T23:59:59Z").status_code == 200
    r = delete_table(url, db=db, table="t3", hard_delete_at="invalid-timestamp")
    assert r.status_code == 400
    assert r.text.startswith("Cannot parse the timestamp")
    assert delete_table(url, db=db, table="t4", hard_delete_at="2020-01-01T00:00:00Z").status_code == 200
    r = delete_table(url, db=db, table="nosuchtable")
    assert (r.status_code, r.text) == (404, "the requested resource was not found: nosuchtable")


def test_c14_table_of_a_deleted_database_is_404(url, db):
    assert create_table(url, db, "bar", ["a"], []).status_code == 200
    assert delete_db(url, db).status_code == 200
    assert delete_table(url, db=db, table="bar").status_code == 404


def test_c15_default_table_delete_is_hard_deleted_72h_later(url, db, reader):
    assert create_table(url, db, "bar", ["a"], []).status_code == 200
    before = time.time_ns()
    assert delete_table(url, db=db, table="bar").status_code == 200
    after = time.time_ns()
    (table,) = [t for t in catalog_db(reader, db).tables.values() if t.deleted]
    assert before + 72 * HOUR_NS <= table.hard_delete_at <= after + 72 * HOUR_NS


def test_data_only_table_delete_keeps_the_table(url, db, reader):
    assert write_v3(url, db, "bar,a=x v=1 1").status_code == 204
    assert delete_table(url, db=db, table="bar", data_only="true").status_code == 200
    table = catalog_db(reader, db).table("bar")
    assert table is not None and not table.deleted


def test_table_retention_put_and_enterprise_endpoint(url, db, reader):
    assert create_table(url, db, "bar", ["a"], [], retention_period="2d").status_code == 200
    assert catalog_db(reader, db).table("bar").retention_ns == 48 * HOUR_NS
    r = requests.put(f"{url}/api/v3/configure/table", json={"db": db, "table": "bar", "retention_period": "3d"}, timeout=30)
    assert (r.status_code, r.text) == (200, "")
    assert catalog_db(reader, db).table("bar").retention_ns == 72 * HOUR_NS
    path = f"{url}/api/v3/enterprise/configure/table/retention_period"
    r = requests.post(path, params={"db": db, "table": "bar", "duration": "1h"}, timeout=30)
    assert (r.status_code, r.text) == (204, "")
    assert catalog_db(reader, db).table("bar").retention_ns == HOUR_NS
    r = requests.delete(path, params={"db": db, "table": "bar"}, timeout=30)
    assert (r.status_code, r.text) == (204, "")
    assert catalog_db(reader, db).table("bar").retention_ns is None
    r = requests.post(path, params={"db": db, "table": "nosuchtable", "duration": "1h"}, timeout=30)
    assert r.status_code == 404
    r = requests.post(path, params={"db": db, "table": "bar", "duration": "1 fortnight"}, timeout=30)
    assert r.status_code == 400
    r = requests.post(path, params={"db": db, "table": "bar"}, timeout=30)
    assert (r.status_code, r.text) == (400, "serde error: missing field `duration`")


# ---- request bodies -------------------------------------------------------------------------------


@pytest.mark.parametrize("method, path", [
    ("POST", "/api/v3/configure/database"),
    ("PUT", "/api/v3/configure/database"),
    ("POST", "/api/v3/configure/table"),
    ("PUT", "/api/v3/configure/table"),
])
@pytest.mark.parametrize("content_type", [None, "text/plain", "application/x-www-form-urlencoded", "json"])
def test_json_endpoints_need_a_json_content_type(url, method, path, content_type):
    headers = {"Content-Type": content_type} if content_type else {}
    r = requests.request(method, url + path, data=b'{"db":"x"}', headers=headers, timeout=30)
    assert (r.status_code, r.text) == (415, "unacceptable content-type, expected: application/json")


@pytest.mark.parametrize("content_type", ["application/json; charset=utf-8", "application/vnd.api+json", "Application/JSON"])
def test_json_content_type_variants_are_accepted(url, db, content_type):
    r = requests.post(f"{url}/api/v3/configure/database", data=f'{{"db":"{db}"}}'.encode(),
                      headers={"Content-Type": content_type}, timeout=30)
    assert r.status_code == 200, r.text


@pytest.mark.parametrize("body, message", [
    (b"", "EOF while parsing a value at line 1 column 0"),
    (b"{", "EOF while parsing an object at line 1 column 1"),
    (b"{}", "missing field `db` at line 1 column 2"),
    (b'{"db":1}', "invalid type: integer `1`, expected a string at line 1 column 7"),
    (b'{"db":"a"} x', "trailing characters at line 1 column 12"),
    (b'{"db":"a","db":"b"}', "duplicate field `db` at line 1 column 18"),
    (b"not json", "expected ident at line 1 column 2"),
    (b"<xml/>", "expected value at line 1 column 1"),
])
def test_bad_json_bodies_are_400_serde_json_errors(url, body, message):
    r = requests.post(f"{url}/api/v3/configure/database", data=body, headers={"Content-Type": "application/json"},
                      timeout=30)
    assert (r.status_code, r.text) == (400, f"serde json error: {message}")


def test_unknown_members_are_ignored(url, db):
    r = create_db(url, db, schema_mode="implicit", whatever=[1, 2])
    assert r.status_code == 200


def test_configure_answers_carry_cluster_uuid_and_no_wildcard_origin(url, db):
    ok = create_db(url, db)
    assert ok.headers["cluster-uuid"] and "Access-Control-Allow-Origin" not in ok.headers  # issue 10
    bad = create_db(url, db)
    assert bad.headers["cluster-uuid"] == ok.headers["cluster-uuid"]
    assert "Access-Control-Allow-Origin" not in bad.headers
