"""What a token that may read one database learns about the others (issue 10): `system.queries`
lists only queries of databases the token may read, and `query_sql_telemetry` describes only such
a query.  The attack: an admin (or a tenant with another token) queries database ``b`` with a
secret in the text; a token that may read only ``a`` looks at the server's query history."""

from __future__ import annotations

import requests

from http_helpers import auth_server_fixtures, bearer, db_perm, resource_token

srv, url, admin = auth_server_fixtures()

SECRET = "s3cr3t-of-b"


def setup(url, admin):
    for db, lp in (("a", "m,host=x v=1 1"), ("b", "m,host=y v=2 1")):
        r = requests.post(f"{url}/api/v3/write_lp", params={"db": db}, data=lp, headers=bearer(admin), timeout=30)
        assert r.status_code == 204, r.text
    reader = resource_token(url, admin, [db_perm(["a"], "read")])
    both = resource_token(url, admin, [db_perm(["a", "b"], "read")])
    return reader, both


def sql(url, token, db, q):
    r = requests.get(f"{url}/api/v3/query_sql", params={"db": db, "q": q, "format": "json"},
                     headers=bearer(token), timeout=30)
    assert r.status_code == 200, r.text
    return r.json()


def secret_query(url, admin):
    rows = sql(url, admin, "b", f"SELECT v FROM m WHERE host <> '{SECRET}'")
    assert rows == [{"v": 2.0}]


def test_system_queries_shows_only_readable_databases(url, admin):
    reader, both = setup(url, admin)
    secret_query(url, admin)
    sql(url, reader, "a", "SELECT v FROM m WHERE host = 'mine-a'")

    texts = [r["query_text"] for r in sql(url, reader, "a", "SELECT query_text FROM system.queries")]
    assert not [t for t in texts if SECRET in t]
    assert any("mine-a" in t for t in texts)  # its own database's queries are still there

    # a token that may read b sees b's queries; so does the admin
    for token in (both, admin):
        texts = [r["query_text"] for r in sql(url, token, "a", "SELECT query_text FROM system.queries")]
        assert any(SECRET in t for t in texts)


def test_telemetry_describes_only_readable_queries(url, admin):
    reader, _ = setup(url, admin)
    secret_query(url, admin)
    # no query in the request: the server's last query -- which was on b
    r = requests.post(f"{url}/api/v3/query_sql_telemetry", params={"db": "a"}, headers=bearer(reader), timeout=30)
    assert r.status_code == 200, r.text
    assert r.json() == {}
    r = requests.post(f"{url}/api/v3/query_sql_telemetry", params={"db": "a"}, headers=bearer(admin), timeout=30)
    assert r.json()["database"] == "b"
    # with its own query: that query's telemetry
    r = requests.get(f"{url}/api/v3/query_sql_telemetry", params={"db": "a", "q": "SELECT v FROM m"},
                     headers=bearer(reader), timeout=30)
    assert r.status_code == 200 and r.json()["database"] == "a"
