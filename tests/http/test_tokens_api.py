"""Token endpoints and the token CLI against a real `influx3 serve` with auth on (§4.2, spec
operations PostCreateAdminToken, PostRegenerateAdminToken, PostCreateNamedAdminToken, DeleteToken,
PostCreateResourceToken)."""

from __future__ import annotations

import hashlib
import itertools
import json
import os
import re
import stat
from datetime import datetime, timezone

import pytest
import requests

from http_helpers import auth_server_fixtures, bearer, influx3
from jupyter_influx3.engine import tokens as T
from jupyter_influx3.engine.catalog import Catalog

RFC3339_MS = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{3})?Z$")
_names = itertools.count()

srv, url, admin = auth_server_fixtures()


def parse_time(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def write(url, token, db="foo"):
    return requests.post(f"{url}/api/v3/write_lp", params={"db": db}, data="cpu v=1 1", headers=bearer(token),
                         timeout=30)


@pytest.fixture
def name():
    return f"t{next(_names)}"


# ---- operator token ----------------------------------------------------------------------------


def test_create_admin_token_body(start_influx3):
    s = start_influx3(auth=True)
    before = datetime.now(timezone.utc)
    r = requests.post(f"{s.url}/api/v3/configure/token/admin", timeout=30)
    assert r.status_code == 201
    assert r.headers["Content-Type"] == "application/json"
    assert r.headers["Cache-Control"] == "no-store"
    body = r.json()
    assert list(body) == ["id", "name", "token", "hash", "created_at", "expiry"]
    assert body["id"] == 0 and body["name"] == "_admin" and body["expiry"] is None
    assert body["token"].startswith("apiv3_") and len(body["token"]) == 92
    assert body["hash"] == hashlib.sha512(body["token"].encode()).hexdigest()
    assert RFC3339_MS.match(body["created_at"])
    assert abs((parse_time(body["created_at"]) - before).total_seconds()) < 60
    # The token works, and only its hash is on disk.
    assert write(s.url, body["token"]).status_code == 204
    on_disk = b"".join(p.read_bytes() for p in (s.data_dir / "catalog").rglob("*.json"))
    assert body["token"].encode() not in on_disk


def test_admin_token_survives_a_restart_and_is_not_created_twice(start_influx3):
    s = start_influx3(auth=True)
    token = requests.post(f"{s.url}/api/v3/configure/token/admin", timeout=30).json()["token"]
    s.restart()
    assert write(s.url, token).status_code == 204
    r = requests.post(f"{s.url}/api/v3/configure/token/admin", timeout=30)
    assert r.status_code == 409 and r.text == "token name already exists, _admin"


def test_regenerate_needs_an_admin_token(url, admin, name):
    assert requests.post(f"{url}/api/v3/configure/token/admin/regenerate", timeout=30).status_code == 401
    tok = resource(url, admin, name, [{"resource_type": "db", "resource_identifier": ["*"], "actions": ["*"]}])
    r = requests.post(f"{url}/api/v3/configure/token/admin/regenerate", headers=bearer(tok["token"]), timeout=30)
    assert r.status_code == 403


def test_named_admin_may_regenerate_the_operator_token(start_influx3):
    s = start_influx3(auth=True)
    op = requests.post(f"{s.url}/api/v3/configure/token/admin", timeout=30).json()["token"]
    ops = requests.post(f"{s.url}/api/v3/configure/token/named_admin", json={"token_name": "ops"},
                        headers=bearer(op), timeout=30).json()["token"]
    r = requests.post(f"{s.url}/api/v3/configure/token/admin/regenerate", headers=bearer(ops), timeout=30)
    assert r.status_code == 201
    assert write(s.url, op).status_code == 401
    assert write(s.url, r.json()["token"]).status_code == 204
    assert write(s.url, ops).status_code == 204


# ---- named admin tokens ------------------------------------------------------------------------


def test_named_admin_token(url, admin, name):
    r = requests.post(f"{url}/api/v3/configure/token/named_admin", json={"token_name": name, "expiry_secs": 3600},
                      headers=bearer(admin), timeout=30)
    assert r.status_code == 201, r.text
    body = r.json()
    assert list(body) == ["id", "name", "token", "hash", "created_at", "expiry"]
    assert body["name"] == name and body["id"] > 0
    assert body["hash"] == hashlib.sha512(body["token"].encode()).hexdigest()
    lifetime = parse_time(body["expiry"]) - parse_time(body["created_at"])
    assert lifetime.total_seconds() == 3600
    # It is an admin: it can make tokens of its own.
    r = requests.post(f"{url}/api/v3/configure/token/named_admin", json={"token_name": name + "-child"},
                      headers=bearer(body["token"]), timeout=30)
    assert r.status_code == 201 and r.json()["expiry"] is None


def test_named_admin_duplicate_is_409(url, admin, name):
    h = bearer(admin)
    assert requests.post(f"{url}/api/v3/configure/token/named_admin", json={"token_name": name}, headers=h,
                         timeout=30).status_code == 201
    r = requests.post(f"{url}/api/v3/configure/token/named_admin", json={"token_name": name}, headers=h, timeout=30)
    assert r.status_code == 409 and r.text == f"token name already exists, {name}"
    r = requests.post(f"{url}/api/v3/configure/token/named_admin", json={"token_name": "_admin"}, headers=h,
                      timeout=30)
    assert r.status_code == 409 and r.text == "token name already exists, _admin"


@pytest.mark.parametrize("kwargs,status,text", [
    ({"data": '{"token_name": "x"}'}, 415, "unacceptable content-type, expected: application/json"),
    ({"data": '{"token_name": "x"}', "headers": {"Content-Type": "text/plain"}}, 415, None),
    ({"json": {}}, 400, "serde json error: missing field `token_name`"),
    ({"json": {"token_name": None}}, 400, "serde json error: missing field `token_name`"),
    ({"data": "{not json", "headers": {"Content-Type": "application/json"}}, 400, None),
    ({"json": ["token_name"]}, 400, None),
    ({"json": {"token_name": ""}}, 400, "token name cannot be empty"),
    ({"json": {"token_name": 5}}, 400, None),
    ({"json": {"token_name": "neg", "expiry_secs": -1}}, 400, "expiry_secs cannot be negative"),
    ({"json": {"token_name": "frac", "expiry_secs": 1.5}}, 400, None),
])
def test_named_admin_bad_requests(url, admin, kwargs, status, text):
    kwargs = dict(kwargs)   # the parameters are shared with the re-run against two workers (tests/http/workers)
    headers = {**bearer(admin), **kwargs.pop("headers", {})}
    r = requests.post(f"{url}/api/v3/configure/token/named_admin", headers=headers, timeout=30, **kwargs)
    assert r.status_code == status, r.text
    if text is not None:
        assert r.text == text
    assert "apiv3_" not in r.text


def test_json_content_type_with_parameters_and_suffix(url, admin, name):
    for ct in ("application/json; charset=utf-8", "application/vnd.influx+json"):
        r = requests.post(f"{url}/api/v3/configure/token/named_admin", data=json.dumps({"token_name": name + ct}),
                          headers={**bearer(admin), "Content-Type": ct}, timeout=30)
        assert r.status_code == 201, (ct, r.text)


# ---- delete ------------------------------------------------------------------------------------


def test_delete_token(url, admin, name):
    h = bearer(admin)
    tok = requests.post(f"{url}/api/v3/configure/token/named_admin", json={"token_name": name}, headers=h,
                        timeout=30).json()["token"]
    r = requests.delete(f"{url}/api/v3/configure/token", params={"token_name": name}, headers=h, timeout=30)
    assert r.status_code == 200 and r.text == ""
    assert write(url, tok).status_code == 401
    r = requests.delete(f"{url}/api/v3/configure/token", params={"token_name": name}, headers=h, timeout=30)
    assert r.status_code == 404 and r.text == f"the requested resource was not found: {name}"
    # The name can be used again.
    assert requests.post(f"{url}/api/v3/configure/token/named_admin", json={"token_name": name}, headers=h,
                         timeout=30).status_code == 201


def test_delete_token_errors(url, admin):
    h = bearer(admin)
    r = requests.delete(f"{url}/api/v3/configure/token", params={"token_name": "_admin"}, headers=h, timeout=30)
    assert r.status_code == 405 and r.text == "cannot delete operator token"
    r = requests.delete(f"{url}/api/v3/configure/token", headers=h, timeout=30)
    assert r.status_code == 400 and r.text == "serde error: missing field `token_name`"
    r = requests.delete(f"{url}/api/v3/configure/token", params={"token_name": "never-made"}, headers=h, timeout=30)
    assert r.status_code == 404
    assert requests.delete(f"{url}/api/v3/configure/token", params={"token_name": "x"}, timeout=30).status_code == 401
    # Other methods on that path do not exist.
    assert requests.get(f"{url}/api/v3/configure/token", headers=h, timeout=30).status_code == 404


# ---- resource tokens ---------------------------------------------------------------------------


def resource(url, admin, name, perms, **extra):
    r = requests.post(f"{url}/api/v3/enterprise/configure/token", json={"token_name": name, "permissions": perms,
                                                                         **extra},
                      headers=bearer(admin), timeout=30)
    assert r.status_code == 201, r.text
    return r.json()


@pytest.mark.parametrize("field", ["resource_identifier", "resource_names"])
def test_resource_token(url, admin, name, field):
    body = resource(url, admin, name, [{"resource_type": "db", field: [name], "actions": ["write"]}],
                    expiry_secs=300000)
    assert list(body)[:6] == ["id", "name", "token", "hash", "created_at", "expiry"]
    assert body["name"] == name
    assert body["permissions"] == [{"resource_type": "db", "resource_identifier": [name], "actions": ["write"]}]
    assert (parse_time(body["expiry"]) - parse_time(body["created_at"])).total_seconds() == 300000
    assert write(url, body["token"], db=name).status_code == 204
    assert write(url, body["token"], db=name + "x").status_code == 403


def test_resource_token_spec_example(url, admin, name):
    """The OpenAPI example: all system information, read."""
    body = resource(url, admin, name, [{"resource_type": "system", "actions": ["read"], "resource_names": ["*"]}])
    assert requests.get(f"{url}/health", headers=bearer(body["token"]), timeout=30).status_code == 200
    assert write(url, body["token"]).status_code == 403


@pytest.mark.parametrize("perms,status", [
    ([], 400),
    ([{"resource_type": "table", "resource_identifier": ["x"], "actions": ["read"]}], 400),
    ([{"resource_type": "*", "resource_identifier": ["*"], "actions": ["*"]}], 400),
    ([{"resource_type": "db", "resource_identifier": ["x"], "actions": ["fly"]}], 400),
    ([{"resource_type": "db", "actions": ["read"]}], 400),
    ([{"resource_type": "system", "resource_identifier": ["db"], "actions": ["read"]}], 400),
    ("db:x:read", 400),
])
def test_resource_token_bad_permissions(url, admin, name, perms, status):
    r = requests.post(f"{url}/api/v3/enterprise/configure/token", json={"token_name": name, "permissions": perms},
                      headers=bearer(admin), timeout=30)
    assert r.status_code == status, r.text
    r = requests.post(f"{url}/api/v3/enterprise/configure/token", json={"token_name": name},
                      headers=bearer(admin), timeout=30)
    assert r.status_code == 400 and r.text == "serde json error: missing field `permissions`"


def test_resource_token_name_is_unique_across_kinds(url, admin, name):
    requests.post(f"{url}/api/v3/configure/token/named_admin", json={"token_name": name}, headers=bearer(admin),
                  timeout=30)
    r = requests.post(f"{url}/api/v3/enterprise/configure/token",
                      json={"token_name": name, "permissions": [{"resource_type": "db", "resource_identifier": ["x"],
                                                                 "actions": ["read"]}]},
                      headers=bearer(admin), timeout=30)
    assert r.status_code == 409 and r.text == f"token name already exists, {name}"


def test_system_tokens_table_shows_hash_prefixes_only(srv, url, admin, name):
    body = resource(url, admin, name, [{"resource_type": "db", "resource_identifier": ["a", "b"],
                                        "actions": ["read", "write"]}])
    table = T.tokens_table(Catalog(srv.data_dir)).to_pylist()
    row = next(r for r in table if r["name"] == name)
    assert row["hash"] == body["hash"][:9]
    assert row["permissions"] == "db:a,b:read,write"
    assert next(r for r in table if r["name"] == "_admin")["permissions"] == "*:*:*"
    assert all(len(r["hash"]) == 9 for r in table)


# ---- CLI -----------------------------------------------------------------------------------------


def test_cli_create_admin_token_against_a_server(start_influx3, tmp_path):
    s = start_influx3(auth=True)
    done = influx3("create", "token", "--admin", "--host", s.url)
    assert done.returncode == 0, done.stderr
    out = done.stdout.decode()
    token = re.search(r"Token: (apiv3_\S+)", out).group(1)
    assert f"Authorization: Bearer {token}" in out
    assert write(s.url, token).status_code == 204
    again = influx3("create", "token", "--admin", "--host", s.url)
    assert again.returncode == 1
    assert "token name already exists, _admin" in again.stderr.decode()
    assert "--regenerate" in again.stderr.decode()
    # Regenerate (JSON output, saved to a file).
    out_file = tmp_path / "admin.json"
    done = influx3("create", "token", "--admin", "--regenerate", "--host", s.url, "--token", token,
                   "--format", "json", "--output", str(out_file))
    assert done.returncode == 0, done.stderr
    new = json.loads(done.stdout)
    assert json.loads(out_file.read_text())["token"] == new["token"]
    assert stat.S_IMODE(os.stat(out_file).st_mode) == 0o600
    assert write(s.url, token).status_code == 401
    assert write(s.url, new["token"]).status_code == 204
    # Named admin and resource tokens through the CLI.
    done = influx3("create", "token", "--admin", "--name", "ops", "--expiry", "1d", "--host", s.url,
                   "--token", new["token"], "--format", "json")
    assert done.returncode == 0, done.stderr
    ops = json.loads(done.stdout)
    assert (parse_time(ops["expiry"]) - parse_time(ops["created_at"])).total_seconds() == 86400
    done = influx3("create", "token", "--name", "w", "--permission", "db:foo,bar:write", "--host", s.url,
                   "--token", ops["token"], "--format", "json")
    assert done.returncode == 0, done.stderr
    w = json.loads(done.stdout)["token"]
    assert write(s.url, w, "bar").status_code == 204 and write(s.url, w, "baz").status_code == 403
    bad = influx3("create", "token", "--name", "w2", "--permission", "db:foo", "--host", s.url, "--token", w)
    assert bad.returncode == 2
    denied = influx3("create", "token", "--name", "w3", "--permission", "db:foo:read", "--host", s.url, "--token", w)
    assert denied.returncode == 1 and "error (403)" in denied.stderr.decode()


def test_offline_token_file_and_admin_token_file(start_influx3, tmp_path):
    token_file = tmp_path / "admin.json"
    done = influx3("create", "token", "--admin", "--offline", "--output", str(token_file))
    assert done.returncode == 0, done.stderr
    assert done.stdout == b""  # the token is in the file only
    info = json.loads(token_file.read_text())
    assert info["name"] == "_admin" and info["hash"] == hashlib.sha512(info["token"].encode()).hexdigest()
    assert stat.S_IMODE(os.stat(token_file).st_mode) == 0o600
    # Never overwrites a token file.
    again = influx3("create", "token", "--admin", "--offline", "--output", str(token_file))
    assert again.returncode == 1 and json.loads(token_file.read_text()) == info

    s = start_influx3("--admin-token-file", str(token_file), auth=True)
    assert write(s.url, info["token"]).status_code == 204
    assert requests.post(f"{s.url}/api/v3/configure/token/admin", timeout=30).status_code == 409
    s.restart()  # the same file again: fine
    assert write(s.url, info["token"]).status_code == 204
    assert "apiv3_" not in s.log()


def test_admin_token_file_with_a_bare_token(start_influx3, tmp_path):
    token = T.generate_token()
    f = tmp_path / "token.txt"
    f.write_text(token + "\n")
    s = start_influx3("--admin-token-file", str(f), auth=True)
    assert write(s.url, token).status_code == 204


def test_admin_token_file_does_not_replace_an_existing_operator_token(start_influx3, tmp_path):
    s = start_influx3(auth=True)
    first = requests.post(f"{s.url}/api/v3/configure/token/admin", timeout=30).json()["token"]
    s.stop()
    other = tmp_path / "other.json"
    other.write_text(json.dumps({"token": T.generate_token()}))
    s2 = start_influx3("--admin-token-file", str(other), data_dir=s.data_dir, auth=True)
    assert write(s2.url, first).status_code == 204
    assert write(s2.url, json.loads(other.read_text())["token"]).status_code == 401
    assert "an operator token already exists" in s2.log()


@pytest.mark.parametrize("content", ["", "{}", "{broken", "two words"])
def test_bad_admin_token_file_stops_the_server(tmp_path, content):
    f = tmp_path / "bad.json"
    f.write_text(content)
    done = influx3("serve", "--data-dir", str(tmp_path / "d"), "--http-bind", "127.0.0.1:0",
                   "--admin-token-file", str(f))
    assert done.returncode == 1
    assert "admin token file" in done.stderr.decode()
    done = influx3("serve", "--data-dir", str(tmp_path / "d"), "--http-bind", "127.0.0.1:0",
                   "--admin-token-file", str(tmp_path / "absent.json"))
    assert done.returncode == 1 and "cannot read admin token file" in done.stderr.decode()


def test_offline_token_stored_in_a_data_dir(start_influx3, tmp_path):
    data = tmp_path / "data"
    token_file = tmp_path / "t.json"
    done = influx3("create", "token", "--admin", "--offline", "--data-dir", str(data), "--output", str(token_file))
    assert done.returncode == 0, done.stderr
    token = json.loads(token_file.read_text())["token"]
    s = start_influx3(data_dir=data, auth=True)
    assert write(s.url, token).status_code == 204
    # A second offline token for the same data dir is refused and leaves no file behind.
    second = tmp_path / "t2.json"
    done = influx3("create", "token", "--admin", "--offline", "--data-dir", str(data), "--output", str(second))
    assert done.returncode == 1 and "already exists" in done.stderr.decode()
    assert not second.exists()


def test_cli_argument_errors(tmp_path):
    assert influx3("create", "token").returncode == 2
    assert influx3("create", "token", "--admin", "--offline").returncode == 2  # no --output
    assert influx3("create", "token", "--admin", "--permission", "db:a:read", "--name", "x").returncode == 2
    assert influx3("create", "token", "--permission", "db:a:read").returncode == 2  # no --name
    done = influx3("create", "token", "--admin", "--host", "http://127.0.0.1:9")
    assert done.returncode == 1 and "cannot reach" in done.stderr.decode()
