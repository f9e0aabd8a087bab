"""Users, roles and login through a real server with `--user-auth-type basic`: the first user,
login, a JWT used on writes and queries, refresh, role limits, revocation, password reset,
throttling, every user-management operation and status code, and no secret in logs or bodies."""

from __future__ import annotations

import itertools

import pytest
import requests

from http_helpers import UNAUTHENTICATED, bearer

PW = "first-user-password"
_n = itertools.count()


@pytest.fixture(scope="module")
def srv(start_influx3_session):
    return start_influx3_session("--user-auth-type", "basic", "--max-login-failures-per-user", "3", auth=True)


@pytest.fixture(scope="module")
def url(srv):
    return srv.url


def post(url, path, body=None, token=None, **kw):
    headers = bearer(token) if token else {}
    return requests.post(f"{url}{path}", json=body, headers=headers, timeout=30, **kw)


def call(method, url, path, token, body=None):
    return requests.request(method, f"{url}{path}", json=body, headers=bearer(token), timeout=30)


def login(url, username, password=None):
    r = post(url, "/api/v3/authorize", {"username": username, "password": password or PW})
    assert r.status_code == 200, r.text
    return r.json()


@pytest.fixture(scope="module")
def first(url):
    """The first user, created without credentials on the new server; its operator token."""
    r = post(url, "/api/v3/configure/user", {"username": "root", "password": PW, "displayName": "Root"})
    assert r.status_code == 201, r.text
    return r.json()


@pytest.fixture(scope="module")
def operator(first):
    return first["operatorToken"]


@pytest.fixture(scope="module")
def root_jwt(url, first):
    return login(url, "root")["accessToken"]


def make_user(url, token, roles=(), **extra):
    name = f"user{next(_n)}"
    body = {"username": name, "password": PW, "roleIds": list(roles), **extra}
    r = post(url, "/api/v3/users", body, token)
    assert r.status_code == 201, r.text
    return r.json()


def test_first_user_is_created_without_credentials_and_gets_the_operator_token_once(url, first, operator):
    assert first["username"] == "root" and first["displayName"] == "Root" and first["roleIds"] == [1]
    assert first["userId"] == 1 and first["requiresPasswordReset"] is False and "deletedAt" not in first
    assert operator.startswith("apiv3_")
    assert requests.get(f"{url}/health", headers=bearer(operator), timeout=30).status_code == 200
    # afterwards: credentials needed, and there is only one first user
    assert post(url, "/api/v3/configure/user", {"username": "x", "password": PW}).status_code == 401
    r = post(url, "/api/v3/configure/user", {"username": "x", "password": PW}, operator)
    assert r.status_code == 409 and "operatorToken" not in r.text


def test_a_jwt_writes_and_queries_like_a_token(url, root_jwt):
    h = bearer(root_jwt)
    r = requests.post(f"{url}/api/v3/write_lp", params={"db": "userdb"}, data="cpu,host=a v=1 1", headers=h, timeout=30)
    assert r.status_code == 204, r.text
    r = requests.get(f"{url}/api/v3/query_sql", params={"db": "userdb", "q": "SELECT v FROM cpu"}, headers=h, timeout=30)
    assert r.status_code == 200 and r.json() == [{"v": 1.0}]
    r = requests.get(f"{url}/query", params={"db": "userdb", "q": "SELECT v FROM cpu"}, headers={"Authorization": f"Token {root_jwt}"}, timeout=30)
    assert r.status_code == 200 and "results" in r.json()


def test_login_answer_shape_and_refresh(url, first):
    pair = login(url, "ROOT")  # user names compare ignoring case
    assert pair["tokenType"] == "Bearer" and pair["expiresIn"] == 3600 and pair["refreshExpiresIn"] > 3600
    r = post(url, "/api/v3/authorize/refresh", {"refreshToken": pair["refreshToken"]})
    assert r.status_code == 200 and r.headers["Cache-Control"] == "no-store"
    fresh = r.json()["accessToken"]
    assert call("GET", url, "/api/v3/users", fresh).status_code == 200
    # snake_case alias accepted; a refresh token is no access token and vice versa
    assert post(url, "/api/v3/authorize/refresh", {"refresh_token": pair["refreshToken"]}).status_code == 200
    assert call("GET", url, "/api/v3/users", pair["refreshToken"]).status_code == 401
    assert post(url, "/api/v3/authorize/refresh", {"refreshToken": pair["accessToken"]}).status_code == 401
    assert post(url, "/api/v3/authorize/refresh", {"refreshToken": "nope"}).status_code == 401


@pytest.mark.parametrize("body,status", [
    ({"username": "root", "password": "wrong password!"}, 401),
    ({"username": "nobody-here", "password": "wrong password!"}, 401),
    ({"username": "root"}, 400),
    ({"password": PW}, 400),
    ({"username": 5, "password": PW}, 400),
])
def test_login_refusals(url, first, body, status):
    r = post(url, "/api/v3/authorize", body)
    assert r.status_code == status
    assert "error" in r.json() and "accessToken" not in r.text


def test_login_body_must_be_json(url, first):
    r = requests.post(f"{url}/api/v3/authorize", data="username=root", timeout=30,
                      headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert r.status_code == 415
    r = requests.post(f"{url}/api/v3/authorize", data='{"password": "secret-in-bad-json"', timeout=30,
                      headers={"Content-Type": "application/json"})
    assert r.status_code == 400 and "secret-in-bad-json" not in r.text


def test_role_limits(url, operator):
    member = make_user(url, operator, [3])
    auditor = make_user(url, operator, [2])
    nobody = make_user(url, operator)
    m, a, n = (login(url, u["username"])["accessToken"] for u in (member, auditor, nobody))
    write = lambda tok: requests.post(f"{url}/api/v3/write_lp", params={"db": "roledb"}, data="m v=1 1",  # noqa: E731
                                      headers=bearer(tok), timeout=30).status_code
    query = lambda tok: requests.get(f"{url}/api/v3/query_sql", params={"db": "roledb", "q": "SELECT 1"},  # noqa: E731
                                     headers=bearer(tok), timeout=30).status_code
    assert write(m) == 204 and query(m) == 200
    assert write(a) == 403 and query(a) == 403
    assert write(n) == 403 and query(n) == 403
    for tok in (m, a, n):
        assert call("GET", url, "/api/v3/users", tok).status_code == 403
        assert call("GET", url, "/api/v3/roles", tok).status_code == 403
        assert post(url, "/api/v3/configure/token/named_admin", {"token_name": f"x{next(_n)}"}, tok).status_code == 403
    # role changes apply at once to tokens already issued
    r = call("PUT", url, f"/api/v3/users/{auditor['userId']}/roles", operator, {"roleIds": [1]})
    assert r.status_code == 200 and [x["name"] for x in r.json()["items"]] == ["Admin"]
    assert call("GET", url, "/api/v3/users", a).status_code == 200


def test_user_roles_get_put_and_errors(url, operator):
    user = make_user(url, operator, [3])
    path = f"/api/v3/users/{user['userId']}/roles"
    r = call("GET", url, path, operator)
    assert r.status_code == 200
    assert r.json()["items"][0].keys() >= {"id", "name", "isRequiredRole", "createdAt", "updatedAt"}
    r = call("PUT", url, path, operator, {"role_ids": [2, 3, 2]})
    assert r.status_code == 200 and [x["id"] for x in r.json()["items"]] == [2, 3]
    assert call("PUT", url, path, operator, {"roleIds": []}).json() == {"items": []}
    assert call("PUT", url, path, operator, {"roleIds": [99]}).status_code == 400
    assert call("PUT", url, path, operator, {"roleIds": "Admin"}).status_code == 400
    assert call("PUT", url, path, operator, {}).status_code == 400
    assert call("PUT", url, "/api/v3/users/9999/roles", operator, {"roleIds": [1]}).status_code == 404
    assert call("GET", url, "/api/v3/users/abc/roles", operator).status_code == 404


def test_list_and_patch_users(url, operator):
    user = make_user(url, operator, displayName="Before")
    r = call("GET", url, "/api/v3/users", operator)
    assert r.status_code == 200
    listed = {u["userId"]: u for u in r.json()["items"]}
    assert listed[user["userId"]]["displayName"] == "Before"
    assert all("password" not in key.lower() or key == "requiresPasswordReset" for u in listed.values() for key in u)
    r = call("PATCH", url, f"/api/v3/users/{user['userId']}", operator, {"displayName": "After"})
    assert r.status_code == 200 and r.json()["displayName"] == "After"
    assert call("PATCH", url, f"/api/v3/users/{user['userId']}", operator, {}).status_code == 400
    assert call("PATCH", url, f"/api/v3/users/{user['userId']}", operator, {"displayName": "a\x00b"}).status_code == 400
    assert call("PATCH", url, "/api/v3/users/424242", operator, {"displayName": "x"}).status_code == 404


@pytest.mark.parametrize("body", [
    {"username": "has space", "password": PW},
    {"username": "ok-name", "password": "short"},
    {"username": "ok-name2", "password": PW, "roleIds": [42]},
    {"username": "ok-name3", "password": PW, "requiresPasswordReset": "yes"},
])
def test_invite_refusals(url, operator, body):
    r = post(url, "/api/v3/users", body, operator)
    assert r.status_code == 400 and PW not in r.text


def test_invite_duplicate_name_conflicts(url, operator):
    user = make_user(url, operator)
    r = post(url, "/api/v3/users", {"username": user["username"].upper(), "password": PW}, operator)
    assert r.status_code == 409


def test_delete_revokes_the_users_tokens(url, operator):
    user = make_user(url, operator, [3])
    pair = login(url, user["username"])
    assert call("GET", url, "/ping", pair["accessToken"]).status_code == 200
    r = call("DELETE", url, f"/api/v3/users/{user['userId']}", operator)
    assert r.status_code == 200 and isinstance(r.json()["deletedAt"], int)
    assert (call("GET", url, "/ping", pair["accessToken"]).status_code, call("GET", url, "/ping", pair["accessToken"]).text) \
        == (401, UNAUTHENTICATED)
    assert post(url, "/api/v3/authorize/refresh", {"refreshToken": pair["refreshToken"]}).status_code == 401
    assert post(url, "/api/v3/authorize", {"username": user["username"], "password": PW}).status_code == 401
    assert call("DELETE", url, f"/api/v3/users/{user['userId']}", operator).status_code == 404
    listed = [u["userId"] for u in call("GET", url, "/api/v3/users", operator).json()["items"]]
    assert user["userId"] not in listed


def test_required_password_reset(url, operator):
    user = make_user(url, operator, [3])
    name = user["username"]
    pair = login(url, name)
    r = post(url, f"/api/v3/users/{user['userId']}/require-password-reset", None, operator)
    assert r.status_code == 200 and r.json()["requiresPasswordReset"] is True
    assert call("GET", url, "/ping", pair["accessToken"]).status_code == 401
    r = post(url, "/api/v3/authorize", {"username": name, "password": PW})
    assert r.status_code == 403 and "reset" in r.json()["error"]
    bad = post(url, "/api/v3/authorize/reset-password", {"username": name, "password": "not it at all", "newPassword": "new-password-1"})
    assert bad.status_code == 401
    assert post(url, "/api/v3/authorize/reset-password", {"username": name, "password": PW, "newPassword": "short"}).status_code == 400
    r = post(url, "/api/v3/authorize/reset-password", {"username": name, "password": PW, "new_password": "new-password-1"})
    assert r.status_code == 204
    assert post(url, "/api/v3/authorize", {"username": name, "password": PW}).status_code == 401
    assert login(url, name, "new-password-1")["accessToken"]
    assert post(url, "/api/v3/users/31337/require-password-reset", None, operator).status_code == 404


def test_roles_endpoints(url, operator):
    r = call("GET", url, "/api/v3/roles", operator)
    assert [x["name"] for x in r.json()["items"]] == ["Admin", "Auditor", "Member"]
    r = call("GET", url, "/api/v3/roles/3/permissions", operator)
    assert r.json() == {"permissions": [{"resourceType": "database", "actions": ["read", "write"],
                                         "identifiers": [], "allResources": True}]}
    r = call("GET", url, "/api/v3/roles_by_name/Auditor", operator)
    assert r.status_code == 200 and r.json()["id"] == 2 and r.json()["isRequiredRole"] is False
    assert call("GET", url, "/api/v3/roles/77/permissions", operator).status_code == 404
    assert call("GET", url, "/api/v3/roles/x/permissions", operator).status_code == 404
    assert call("GET", url, "/api/v3/roles_by_name/Owner", operator).status_code == 404
    r = call("GET", url, "/api/v3/users_by_oauth_id/google-123", operator)
    assert r.status_code == 404 and "error" in r.json()


def test_failed_logins_lock_the_user_with_retry_after(url, operator):
    user = make_user(url, operator, [3])
    for _ in range(3):
        assert post(url, "/api/v3/authorize", {"username": user["username"], "password": "wrong password"}).status_code == 401
    r = post(url, "/api/v3/authorize", {"username": user["username"], "password": PW})
    assert r.status_code == 429 and int(r.headers["Retry-After"]) >= 1
    assert "accessToken" not in r.text and "too many failed login attempts" in r.json()["error"]


def test_system_tables_and_logs_hold_no_secret(srv, url, operator, root_jwt):
    pair = login(url, "root")
    post(url, "/api/v3/authorize", {"username": "root", "password": "a-wrong-secret-password"})
    r = requests.get(f"{url}/api/v3/query_sql", params={"db": "_internal", "q": "SELECT * FROM system.tokens"},
                     headers=bearer(operator), timeout=30)
    assert r.status_code == 200
    log = srv.log()
    for secret in (PW, "a-wrong-secret-password", operator, root_jwt, pair["accessToken"], pair["refreshToken"]):
        assert secret not in r.text and secret not in log
    assert "argon2" not in r.text


def test_operator_token_alone_may_delete_the_last_user(start_influx3):
    server = start_influx3("--user-auth-type", "basic", auth=True)
    u = server.url
    op = post(u, "/api/v3/configure/user", {"username": "solo", "password": PW}).json()["operatorToken"]
    jwt = login(u, "solo")["accessToken"]
    named = post(u, "/api/v3/configure/token/named_admin", {"token_name": "ops"}, op).json()["token"]
    assert call("DELETE", u, "/api/v3/users/1", jwt).status_code == 403
    assert call("DELETE", u, "/api/v3/users/1", named).status_code == 403
    r = call("DELETE", u, "/api/v3/users/1", op)
    assert r.status_code == 200 and "deletedAt" in r.json()
    # the first-user bootstrap is spent: a new user comes from an admin
    assert post(u, "/api/v3/configure/user", {"username": "again", "password": PW}, op).status_code == 409
    assert post(u, "/api/v3/users", {"username": "again", "password": PW, "roleIds": [1]}, op).status_code == 201


def test_an_existing_operator_token_closes_the_open_bootstrap(start_influx3):
    server = start_influx3("--user-auth-type", "basic", auth=True)
    op = post(server.url, "/api/v3/configure/token/admin").json()["token"]
    assert post(server.url, "/api/v3/configure/user", {"username": "late", "password": PW}).status_code == 401
    r = post(server.url, "/api/v3/configure/user", {"username": "late", "password": PW}, op)
    assert r.status_code == 201 and "operatorToken" not in r.json()


def test_user_endpoints_answer_405_when_user_auth_is_off(start_influx3, server):
    # the shared session server runs --without-auth
    assert post(server.url, "/api/v3/authorize", {"username": "a", "password": PW}).status_code == 405
    server = start_influx3(auth=True)  # auth on, user auth off (the default)
    op = post(server.url, "/api/v3/configure/token/admin").json()["token"]
    for path in ("/api/v3/users", "/api/v3/roles"):
        r = call("GET", server.url, path, op)
        assert r.status_code == 405 and "--user-auth-type basic" in r.json()["error"]
    assert post(server.url, "/api/v3/authorize", {"username": "a", "password": PW}).status_code == 405


def test_a_jwt_queries_over_flight_with_its_roles_permissions(url, operator):
    import json

    import pyarrow.flight as flight

    member = make_user(url, operator, [3])
    auditor = make_user(url, operator, [2])
    requests.post(f"{url}/api/v3/write_lp", params={"db": "flightdb"}, data="f v=1 1", headers=bearer(operator), timeout=30)
    client = flight.connect("grpc://" + url.split("://", 1)[1])
    ticket = flight.Ticket(json.dumps({"database": "flightdb", "sql_query": "SELECT v FROM f", "query_type": "sql"}).encode())

    def get(user):
        token = login(url, user["username"])["accessToken"]
        opts = flight.FlightCallOptions(headers=[(b"authorization", f"Bearer {token}".encode())])
        return client.do_get(ticket, opts).read_all().to_pylist()

    assert get(member) == [{"v": 1.0}]
    with pytest.raises(flight.FlightUnauthorizedError):
        get(auditor)
    token = login(url, member["username"])["accessToken"]
    assert call("DELETE", url, f"/api/v3/users/{member['userId']}", operator).status_code == 200
    with pytest.raises(flight.FlightUnauthorizedError, match="invalid token"):  # a deleted user's token
        client.do_get(ticket, flight.FlightCallOptions(headers=[(b"authorization", f"Bearer {token}".encode())])).read_all()


def test_an_auditor_lists_databases_and_a_describe_token_only_its_own(url, operator):
    for db in ("listeda", "listedb"):
        requests.post(f"{url}/api/v3/write_lp", params={"db": db}, data="m v=1 1", headers=bearer(operator), timeout=30)
    auditor = login(url, make_user(url, operator, [2])["username"])["accessToken"]
    member = login(url, make_user(url, operator, [3])["username"])["accessToken"]

    def listing(tok):
        r = requests.get(f"{url}/api/v3/configure/database", params={"format": "json"}, headers=bearer(tok), timeout=30)
        return r.status_code, [row["iox::database"] for row in r.json()] if r.status_code == 200 else None

    status, names = listing(auditor)
    assert status == 200 and {"listeda", "listedb"} <= set(names)
    assert listing(member)[0] == 403
    r = post(url, "/api/v3/enterprise/configure/token", {"token_name": "describe-a", "permissions": [
        {"resource_type": "db", "resource_identifier": ["listeda"], "actions": ["describe"]}]}, operator)
    assert listing(r.json()["token"]) == (200, ["listeda"])
    # listing is all an Auditor may do with databases
    r = requests.delete(f"{url}/api/v3/configure/database", params={"db": "listeda"}, headers=bearer(auditor), timeout=30)
    assert r.status_code == 403


def test_every_node_of_the_data_directory_agrees_on_users_and_tokens(srv, url, operator, start_influx3):
    import time

    other = start_influx3("--user-auth-type", "basic", "--node-id", "second-node", data_dir=srv.data_dir, auth=True)
    user = make_user(other.url, operator, [3])  # made on the second node...
    token = login(url, user["username"])["accessToken"]  # ...logs in on the first
    assert call("GET", other.url, "/ping", token).status_code == 200  # one key for the data directory
    assert call("DELETE", url, f"/api/v3/users/{user['userId']}", operator).status_code == 200
    deadline = time.monotonic() + 10
    while call("GET", other.url, "/ping", token).status_code != 401:  # revoked there too (catalog refresh)
        assert time.monotonic() < deadline, "the other node still accepts a deleted user's token"
        time.sleep(0.2)
