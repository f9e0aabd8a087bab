"""Authentication and authorization against a real `influx3 serve` with auth on (§0.2, §0.3, §4.3,
§13.4 A1-A15). Auth is the server's default; these servers are started without `--without-auth`."""

from __future__ import annotations

import base64
import gzip
import itertools
import time

import pytest
import requests

from http_helpers import (FORBIDDEN, MALFORMED, UNAUTHENTICATED, auth_reader_fixture, auth_server_fixtures, bearer,
                          create_admin, db_perm, resource_token)
from jupyter_influx3.engine import Engine


srv, url, admin = auth_server_fixtures()
reader = auth_reader_fixture("auth-reader")


def basic(token: str, user: str = "username") -> dict:
    return {"Authorization": "Basic " + base64.b64encode(f"{user}:{token}".encode()).decode()}


def write(url, db, headers=None, body="cpu,host=a usage=1 1", **params):
    return requests.post(f"{url}/api/v3/write_lp", params={"db": db, **params}, data=body,
                         headers=headers or {}, timeout=30)


def count_rows(reader, db) -> int:
    reader.refresh()
    found = reader.catalog.db(db)
    if found is None or found.deleted:
        return 0
    return reader.sql(db, "SELECT count(*) AS n FROM cpu").to_pylist()[0]["n"]


# ---- A1-A8: schemes and answers ---------------------------------------------------------------


def test_a1_write_and_query_without_token_are_401(url, admin, db):
    r = write(url, db)
    assert r.status_code == 401 and r.text == UNAUTHENTICATED
    assert r.headers["Content-Type"] == "application/json"
    assert r.headers.get("cluster-uuid")
    r = requests.get(f"{url}/api/v3/query_sql", params={"db": db, "q": "SELECT 1"}, timeout=30)
    assert r.status_code == 401 and r.text == UNAUTHENTICATED


@pytest.mark.parametrize("scheme", ["Bearer", "Token"])
def test_a2_bearer_and_token_schemes_are_accepted(url, admin, reader, db, scheme):
    r = write(url, db, {"Authorization": f"{scheme} {admin}"})
    assert r.status_code == 204, r.text
    assert count_rows(reader, db) == 1
    r = requests.get(f"{url}/ping", headers={"Authorization": f"{scheme} {admin}"}, timeout=30)
    assert r.status_code == 200
    r = requests.get(f"{url}/api/v3/query_sql", params={"db": db, "q": "SELECT count(*) AS n FROM cpu"},
                     headers={"Authorization": f"{scheme} {admin}"}, timeout=30)
    assert r.status_code == 200, r.text


@pytest.mark.parametrize("value", [
    "Bearer {t} whee", "bearer {t}", "Bearer", "BEARER {t}", "Bearer  {t}", "Basic {t} whee",
    "Digest {t}", "{t}", "Basic !!!notbase64!!!", "Basic",
])
def test_a3_malformed_authorization_header_is_400(url, admin, db, value):
    r = write(url, db, {"Authorization": value.format(t=admin)})
    assert r.status_code == 400
    assert r.text == MALFORMED
    assert admin not in r.text


def test_a4_misspelled_header_counts_as_no_token(url, admin, db):
    r = write(url, db, {"auth": f"Bearer {admin}"})
    assert r.status_code == 401 and r.text == UNAUTHENTICATED


def test_header_name_is_case_insensitive(url, admin, db):
    assert write(url, db, {"authorization": f"Bearer {admin}"}).status_code == 204


def test_a5_v1_write_with_basic_auth_or_p_param(url, admin, reader, db):
    r = requests.post(f"{url}/write", params={"db": db}, data="cpu,host=a usage=1 1", headers=basic(admin), timeout=30)
    assert r.status_code == 204, r.text
    r = requests.post(f"{url}/write", params={"db": db, "u": "ignored", "p": admin}, data="cpu,host=b usage=1 1",
                      timeout=30)
    assert r.status_code == 204, r.text
    assert count_rows(reader, db) == 2


def test_basic_auth_works_on_every_path_and_ignores_the_user(url, admin, db):
    assert write(url, db, basic(admin, user="anyone")).status_code == 204
    assert write(url, db, basic(admin, user="")).status_code == 204
    assert requests.get(f"{url}/ping", headers=basic(admin), timeout=30).status_code == 200
    assert write(url, db, basic("apiv3_wrong")).status_code == 401


def test_a6_malformed_basic_header_on_v1_write_has_the_exact_body(url, admin):
    r = requests.get(f"{url}/write", params={"db": "foo"}, headers={"Authorization": f"Basic {admin} whee"},
                     timeout=30)
    assert r.status_code == 400
    assert r.text == MALFORMED


@pytest.mark.parametrize("path", ["/query", "/write"])
def test_a7_v1_paths_without_token_or_wrong_p_are_401(url, admin, path):
    method = requests.post if path == "/write" else requests.get
    params = {"db": "foo", "q": "SELECT * FROM cpu"}
    for extra in ({}, {"p": "apiv3_wrong"}, {"p": ""}, {"u": "x", "p": admin + "x"}):
        r = method(f"{url}{path}", params={**params, **extra}, data="cpu v=1 1", timeout=30)
        assert r.status_code == 401, (extra, r.text)
        assert r.text == UNAUTHENTICATED


def test_a8_v1_query_with_p_param_or_bearer(url, admin, db):
    assert write(url, db, bearer(admin)).status_code == 204
    params = {"q": "SELECT * FROM cpu", "db": db}
    by_p = requests.get(f"{url}/query", params={**params, "p": admin}, timeout=30)
    by_bearer = requests.get(f"{url}/query", params=params, headers=bearer(admin), timeout=30)
    assert by_p.status_code == 200 and by_bearer.status_code == 200
    assert by_p.json() == by_bearer.json() and by_p.json()["results"][0]["series"][0]["name"] == "cpu"


def test_p_param_is_only_read_on_query_and_write(url, admin, db):
    r = write(url, db, p=admin)
    assert r.status_code == 401
    assert requests.get(f"{url}/ping", params={"p": admin}, timeout=30).status_code == 401


def test_p_param_wins_over_the_header_on_v1_paths(url, admin, db):
    r = requests.post(f"{url}/write", params={"db": db, "p": "apiv3_wrong"}, data="cpu v=1 1",
                      headers=bearer(admin), timeout=30)
    assert r.status_code == 401


def test_unknown_path_and_wrong_method_are_401_before_404(url, admin):
    for method, path in [("GET", "/nope"), ("GET", "/api/v3/write_lp"), ("HEAD", "/ping"), ("PUT", "/health"),
                         ("GET", "/api/v3/configure/token/admin/regenerate"), ("DELETE", "/")]:
        r = requests.request(method, f"{url}{path}", timeout=30)
        assert r.status_code == 401, (method, path)
        r = requests.request(method, f"{url}{path}", headers=bearer(admin), timeout=30)
        assert r.status_code == 404, (method, path)


def test_options_is_answered_before_authentication(url, admin):
    for path in ("/api/v3/write_lp", "/nope", "/api/v3/configure/token"):
        r = requests.options(f"{url}{path}", timeout=30)
        assert r.status_code == 204


def test_unknown_and_expired_tokens_are_401(url, admin, db):
    r = write(url, db, bearer("apiv3_nonexistent_token"))
    assert r.status_code == 401 and r.text == UNAUTHENTICATED
    expired = resource_token(url, admin, [db_perm([db], "write")], expiry_secs=0)
    r = write(url, db, bearer(expired))
    assert r.status_code == 401 and r.text == UNAUTHENTICATED


def test_a_token_expires_on_time(url, admin, db):
    short = resource_token(url, admin, [db_perm([db], "write")], expiry_secs=1)
    assert write(url, db, bearer(short)).status_code == 204
    time.sleep(1.2)
    assert write(url, db, bearer(short)).status_code == 401


def test_a_large_body_without_token_is_answered_401(url, admin, db):
    body = b"cpu,host=a usage=1 1\n" * 300_000  # ~6 MB
    r = requests.post(f"{url}/api/v3/write_lp", params={"db": db}, data=body, timeout=60)
    assert r.status_code == 401
    # The connection stays usable for the next request.
    assert write(url, db, bearer(admin)).status_code == 204


# ---- A9/A10: --disable-authz ------------------------------------------------------------------


def test_a9_disable_authz_health_ping(start_influx3):
    s = start_influx3("--disable-authz", "health,ping", auth=True)
    for path in ("/health", "/api/v1/health", "/ping"):
        assert requests.get(f"{s.url}{path}", timeout=30).status_code == 200, path
    assert requests.post(f"{s.url}/ping", timeout=30).status_code == 200
    assert requests.get(f"{s.url}/metrics", timeout=30).status_code == 401
    token = create_admin(s.url)
    assert requests.get(f"{s.url}/metrics", headers=bearer(token), timeout=30).status_code == 200
    # Only those paths: writes still need a token.
    assert write(s.url, "foo").status_code == 401


@pytest.mark.parametrize("names", [c for n in range(4) for c in itertools.combinations(["health", "ping", "metrics"], n)],
                         ids=lambda c: ",".join(c) or "none")
def test_a10_every_subset_of_disable_authz(start_influx3, names):
    flags = ("--disable-authz", ",".join(names)) if names else ()
    s = start_influx3(*flags, auth=True)
    token = create_admin(s.url)
    paths = {"health": ["/health", "/api/v1/health"], "ping": ["/ping"], "metrics": ["/metrics"]}
    for name, name_paths in paths.items():
        for path in name_paths:
            anonymous = requests.get(f"{s.url}{path}", timeout=30).status_code
            with_token = requests.get(f"{s.url}{path}", headers=bearer(token), timeout=30).status_code
            if name in names:
                assert anonymous == 200, path
            else:
                assert anonymous == 401, path
            assert with_token == 200, path


def test_disable_authz_rejects_unknown_names(tmp_path):
    import subprocess
    import sys

    done = subprocess.run([sys.executable, "-m", "jupyter_influx3", "serve", "--data-dir", str(tmp_path),
                           "--disable-authz", "health,writes"], capture_output=True, timeout=60)
    assert done.returncode == 2
    assert b"unknown name 'writes'" in done.stderr


# ---- A11-A15 ------------------------------------------------------------------------------------


def test_a11_operator_token_cannot_be_deleted(url, admin):
    r = requests.delete(f"{url}/api/v3/configure/token", params={"token_name": "_admin"}, headers=bearer(admin),
                        timeout=30)
    assert r.status_code == 405 and r.text == "cannot delete operator token"
    assert requests.get(f"{url}/ping", headers=bearer(admin), timeout=30).status_code == 200


def test_a12_second_admin_token_is_409_without_authentication(url, admin):
    r = requests.post(f"{url}/api/v3/configure/token/admin", timeout=30)
    assert r.status_code == 409 and r.text == "token name already exists, _admin"
    # Exempt from authentication whatever the header says.
    r = requests.post(f"{url}/api/v3/configure/token/admin", headers={"Authorization": "bearer x y"}, timeout=30)
    assert r.status_code == 409
    r = requests.get(f"{url}/api/v3/configure/token/admin", timeout=30)
    assert r.status_code == 404  # any method on that path skips authentication


def test_a13_token_endpoints_are_disabled_without_auth(start_influx3):
    s = start_influx3("--without-auth")
    for method, path in [("POST", "/api/v3/configure/token/admin"), ("DELETE", "/api/v3/configure/token"),
                         ("POST", "/api/v3/configure/token/admin/regenerate"),
                         ("POST", "/api/v3/configure/token/named_admin"), ("GET", "/api/v3/configure/token/x"),
                         ("POST", "/api/v3/enterprise/configure/token")]:
        r = requests.request(method, f"{s.url}{path}", params={"token_name": "x"}, timeout=30)
        assert r.status_code == 405, (method, path)
        assert r.text == "endpoint disabled, started without auth"
    # Everything else is accepted without a token (and a token is ignored).
    assert write(s.url, "foo").status_code == 204
    assert write(s.url, "foo", bearer("apiv3_whatever")).status_code == 204
    assert requests.get(f"{s.url}/health", timeout=30).status_code == 200


def test_a14_regenerate_replaces_the_admin_token(start_influx3):
    s = start_influx3(auth=True)
    old = requests.post(f"{s.url}/api/v3/configure/token/admin", timeout=30).json()
    r = requests.post(f"{s.url}/api/v3/configure/token/admin/regenerate", headers=bearer(old["token"]), timeout=30)
    assert r.status_code == 201
    new = r.json()
    assert new["token"] != old["token"] and new["token"].startswith("apiv3_")
    assert (new["id"], new["name"]) == (old["id"], "_admin")
    assert write(s.url, "foo", bearer(old["token"])).status_code == 401
    assert write(s.url, "foo", bearer(new["token"])).status_code == 204


@pytest.mark.parametrize("method", ["GET", "POST"])
def test_a15_ping(url, admin, method):
    from jupyter_influx3 import __version__

    r = requests.request(method, f"{url}/ping", headers=bearer(admin), timeout=30)
    assert r.status_code == 200
    assert r.headers["Request-Id"] == r.headers["X-Request-Id"]
    assert r.headers["X-Influxdb-Version"] == __version__
    assert r.headers["X-Influxdb-Build"]
    body = r.json()
    assert body["version"] == __version__ and "revision" in body


# ---- resource tokens: what they may and may not do ----------------------------------------------


def test_write_token_writes_its_database_only(url, admin, reader, db):
    other = f"{db}x"
    tok = resource_token(url, admin, [db_perm([db], "write")])
    assert write(url, db, bearer(tok)).status_code == 204
    r = write(url, other, bearer(tok))
    assert r.status_code == 403 and r.text == FORBIDDEN
    r = requests.post(f"{url}/api/v2/write", params={"bucket": db}, data="cpu v=2 2", headers=bearer(tok), timeout=30)
    assert r.status_code == 204
    r = requests.post(f"{url}/api/v2/write", params={"bucket": other}, data="cpu v=2 2", headers=bearer(tok), timeout=30)
    assert r.status_code == 403 and r.text == FORBIDDEN
    assert count_rows(reader, other) == 0


def test_every_db_value_in_the_query_string_is_checked(url, admin, db):
    tok = resource_token(url, admin, [db_perm([db], "write")])
    r = requests.post(f"{url}/api/v3/write_lp?db={db}&db=someoneelse", data="cpu v=1 1", headers=bearer(tok),
                      timeout=30)
    assert r.status_code == 403
    r = requests.post(f"{url}/api/v3/write_lp", data="cpu v=1 1", headers=bearer(tok), timeout=30)
    assert r.status_code == 403  # names no database at all


def test_v1_write_checks_the_db_rp_database(url, admin, reader, db):
    plain = resource_token(url, admin, [db_perm([db], "write")])
    with_rp = resource_token(url, admin, [db_perm([f"{db}/weekly"], "write")])
    for rp in ("", "autogen", "default"):
        r = requests.post(f"{url}/write", params={"db": db, "rp": rp, "p": plain}, data="cpu v=1 1", timeout=30)
        assert r.status_code == 204, rp
    r = requests.post(f"{url}/write", params={"db": db, "rp": "weekly", "p": plain}, data="cpu v=1 1", timeout=30)
    assert r.status_code == 403
    r = requests.post(f"{url}/write", params={"db": db, "rp": "Weekly"}, data="cpu v=1 1", headers=basic(with_rp),
                      timeout=30)
    assert r.status_code == 204
    r = requests.post(f"{url}/write", params={"db": db}, data="cpu v=1 1", headers=basic(with_rp), timeout=30)
    assert r.status_code == 403
    assert count_rows(reader, f"{db}/weekly") == 1


def test_read_token_cannot_write(url, admin, db):
    tok = resource_token(url, admin, [db_perm([db], "read")])
    r = write(url, db, bearer(tok))
    assert r.status_code == 403 and r.text == FORBIDDEN


def test_read_token_queries_its_database_only(url, admin, db):
    assert write(url, db, bearer(admin)).status_code == 204
    tok = resource_token(url, admin, [db_perm([db], "read")])
    q = {"q": "SELECT count(*) AS n FROM cpu"}
    r = requests.get(f"{url}/api/v3/query_sql", params={**q, "db": db}, headers=bearer(tok), timeout=30)
    assert r.status_code == 200, r.text
    r = requests.post(f"{url}/api/v3/query_sql", json={**q, "db": db}, headers=bearer(tok), timeout=30)
    assert r.status_code == 200, r.text
    r = requests.get(f"{url}/api/v3/query_sql", params={**q, "db": "_internal"}, headers=bearer(tok), timeout=30)
    assert r.status_code == 403
    r = requests.post(f"{url}/api/v3/query_sql", json={**q, "db": "_internal"}, headers=bearer(tok), timeout=30)
    assert r.status_code == 403
    # A body naming another database than the URL does: both must be allowed.
    r = requests.post(f"{url}/api/v3/query_sql", params={"db": db}, json={**q, "db": "_internal"},
                      headers=bearer(tok), timeout=30)
    assert r.status_code == 403


@pytest.mark.parametrize("actions", [["read"], ["write"], ["read", "write"], ["*"]])
def test_read_or_write_token_can_never_delete_a_database(url, admin, reader, db, actions):
    """InfluxDB 3 once let any valid token delete a database; deleting needs an admin token here."""
    assert write(url, db, bearer(admin)).status_code == 204
    tok = resource_token(url, admin, [db_perm([db], *actions), db_perm(["*"], *actions)])
    for params in ({"db": db}, {"db": db, "hard_delete_at": "now"}):
        r = requests.delete(f"{url}/api/v3/configure/database", params=params, headers=bearer(tok), timeout=30)
        assert r.status_code == 403 and r.text == FORBIDDEN
        r = requests.delete(f"{url}/api/v3/configure/table", params={**params, "table": "cpu"}, headers=bearer(tok),
                            timeout=30)
        assert r.status_code == 403 and r.text == FORBIDDEN
    assert count_rows(reader, db) == 1


def test_resource_tokens_cannot_manage_tokens(url, admin, db):
    tok = resource_token(url, admin, [db_perm(["*"], "*"), {"resource_type": "system", "resource_identifier": "*",
                                                            "actions": ["*"]}])
    h = bearer(tok)
    for method, path, kw in [
        ("POST", "/api/v3/configure/token/admin/regenerate", {}),
        ("POST", "/api/v3/configure/token/named_admin", {"json": {"token_name": "escalate"}}),
        ("POST", "/api/v3/enterprise/configure/token", {"json": {"token_name": "escalate2",
                                                                 "permissions": [db_perm(["*"], "*")]}}),
        ("DELETE", "/api/v3/configure/token", {"params": {"token_name": "x"}}),
    ]:
        r = requests.request(method, f"{url}{path}", headers=h, timeout=30, **kw)
        assert r.status_code == 403, (method, path)
    assert requests.get(f"{url}/ping", headers=bearer(admin), timeout=30).status_code == 200


def test_any_valid_token_may_ping_and_check_health(url, admin, db):
    tok = resource_token(url, admin, [db_perm([db], "read")])
    for path in ("/ping", "/health", "/api/v1/health"):
        assert requests.get(f"{url}{path}", headers=bearer(tok), timeout=30).status_code == 200


def test_metrics_needs_admin_or_system_metrics(url, admin, db):
    dbtok = resource_token(url, admin, [db_perm([db], "read")])
    assert requests.get(f"{url}/metrics", headers=bearer(dbtok), timeout=30).status_code == 403
    assert requests.get(f"{url}/metrics", headers=bearer(admin), timeout=30).status_code == 200


def test_deleted_token_stops_working_at_once(url, admin, db):
    tok = resource_token(url, admin, [db_perm([db], "write")], name=f"del{db}")
    assert write(url, db, bearer(tok)).status_code == 204
    r = requests.delete(f"{url}/api/v3/configure/token", params={"token_name": f"del{db}"}, headers=bearer(admin),
                        timeout=30)
    assert r.status_code == 200
    assert write(url, db, bearer(tok)).status_code == 401


def test_gzip_write_with_token(url, admin, reader, db):
    tok = resource_token(url, admin, [db_perm([db], "write")])
    r = requests.post(f"{url}/api/v3/write_lp", params={"db": db}, data=gzip.compress(b"cpu v=1 1\n"),
                      headers={**bearer(tok), "Content-Encoding": "gzip"}, timeout=30)
    assert r.status_code == 204
    assert count_rows(reader, db) == 1


def test_tokens_made_by_another_node_work_at_once(srv, url, admin, db):
    from jupyter_influx3.engine import tokens as T

    eng = Engine(srv.data_dir, node_id="auth-other-node")
    try:
        issued = T.create_resource_token(eng.catalog, f"node{db}", [db_perm([db], "write")])
    finally:
        eng.close()
    assert write(url, db, bearer(issued.token)).status_code == 204


def test_tokens_revoked_by_another_node_stop_working(srv, url, admin, db):
    from jupyter_influx3.engine import tokens as T

    tok = resource_token(url, admin, [db_perm([db], "write")], name=f"revoke{db}")
    assert write(url, db, bearer(tok)).status_code == 204
    eng = Engine(srv.data_dir, node_id="auth-revoking-node")
    try:
        T.delete_token(eng.catalog, f"revoke{db}")
    finally:
        eng.close()
    deadline = time.monotonic() + 5
    while write(url, db, bearer(tok)).status_code == 204:
        assert time.monotonic() < deadline, "a token deleted on another node kept working"
        time.sleep(0.1)
    assert write(url, db, bearer(tok)).status_code == 401


# ---- secrets stay out of logs and bodies ------------------------------------------------------


def test_no_token_ever_reaches_the_server_log(srv, url, admin, db):
    tok = resource_token(url, admin, [db_perm([db], "write")])
    for t in (admin, tok):
        write(url, db, bearer(t))
        requests.post(f"{url}/write", params={"db": db, "p": t}, data="bad line", timeout=30)
        requests.get(f"{url}/nope", params={"p": t}, headers=bearer(t), timeout=30)
        requests.get(f"{url}/ping", headers={"Authorization": f"Bearer {t} extra"}, timeout=30)
    log = srv.log()
    assert "apiv3_" not in log
    assert "Authorization" not in log and "authorization" not in log
