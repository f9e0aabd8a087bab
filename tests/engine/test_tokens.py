"""Tokens in the engine: format, SHA-512 storage, kinds, permissions, expiry, system.tokens."""

import base64
import hashlib
import json
import multiprocessing as mp

import pyarrow as pa
import pytest

from jupyter_influx3.engine import tokens as T
from jupyter_influx3.engine.catalog import Catalog


@pytest.fixture
def catalog(tmp_path):
    return Catalog(tmp_path / "data")


def test_token_format_is_apiv3_and_86_base64url_chars():
    seen = set()
    for _ in range(50):
        tok = T.generate_token()
        assert tok.startswith("apiv3_") and len(tok) == 92
        body = tok[len("apiv3_"):]
        assert "=" not in body and "+" not in body and "/" not in body
        assert len(base64.urlsafe_b64decode(body + "==")) == 64
        assert T.looks_like_token(tok)
        seen.add(tok)
    assert len(seen) == 50


def test_only_the_sha512_is_stored(catalog, tmp_path):
    issued = T.create_admin_token(catalog)
    assert issued.record.hash == hashlib.sha512(issued.token.encode()).hexdigest()
    assert len(issued.record.hash) == 128 and issued.record.hash == issued.record.hash.lower()
    on_disk = b"".join(p.read_bytes() for p in (tmp_path / "data" / "catalog").rglob("*.json"))
    assert issued.token.encode() not in on_disk
    assert issued.record.hash.encode() in on_disk


def test_admin_token_info_has_the_api_shape(catalog):
    issued = T.create_admin_token(catalog)
    info = issued.info()
    assert list(info) == ["id", "name", "token", "hash", "created_at", "expiry"]
    assert info["name"] == "_admin" and info["expiry"] is None and info["id"] == 0
    assert info["created_at"].endswith("Z") and info["created_at"][:2] == "20"


def test_second_admin_token_is_refused(catalog):
    T.create_admin_token(catalog)
    with pytest.raises(T.TokenNameExists, match="^token name already exists, _admin$"):
        T.create_admin_token(catalog)


def test_lookup_finds_live_tokens_only(catalog):
    issued = T.create_admin_token(catalog)
    assert T.lookup(catalog, issued.token).name == "_admin"
    assert T.lookup(catalog, issued.token + "x") is None
    assert T.lookup(catalog, "apiv3_nonexistent_token") is None


def test_regenerate_keeps_id_and_name_and_revokes_old_string(catalog):
    first = T.create_admin_token(catalog)
    second = T.regenerate_admin_token(catalog)
    assert second.token != first.token
    assert (second.record.id, second.record.name) == (first.record.id, "_admin")
    assert T.lookup(catalog, first.token) is None
    assert T.lookup(catalog, second.token).name == "_admin"


def test_regenerate_without_admin_is_an_error(catalog):
    with pytest.raises(T.MissingAdminToken, match="missing admin token, cannot update"):
        T.regenerate_admin_token(catalog)


def test_named_admin_tokens_are_unique_and_admin(catalog):
    T.create_admin_token(catalog)
    ops = T.create_named_admin_token(catalog, "ops")
    assert T.is_admin(ops.record) and ops.record.kind == "named_admin"
    assert T.allows(ops.record, "db", "anything", "write")
    with pytest.raises(T.TokenNameExists, match="token name already exists, ops"):
        T.create_named_admin_token(catalog, "ops")
    with pytest.raises(T.TokenNameExists, match="_admin"):
        T.create_named_admin_token(catalog, "_admin")
    with pytest.raises(T.InvalidTokenRequest):
        T.create_named_admin_token(catalog, "")


def test_expiry(catalog):
    tok = T.create_named_admin_token(catalog, "short", expiry_secs=60)
    assert tok.record.expiry == tok.record.created_at + 60_000
    assert T.lookup(catalog, tok.token) is not None
    assert T.lookup(catalog, tok.token, at_ms=tok.record.expiry) is None
    gone = T.create_named_admin_token(catalog, "gone", expiry_secs=0)
    assert T.lookup(catalog, gone.token) is None
    for bad in (-1, 1.5, "10", True):
        with pytest.raises(T.InvalidTokenRequest):
            T.create_named_admin_token(catalog, f"bad{bad!r}", expiry_secs=bad)


def test_delete_rules(catalog):
    T.create_admin_token(catalog)
    with pytest.raises(T.CannotDeleteOperatorToken, match="cannot delete operator token"):
        T.delete_token(catalog, "_admin")
    with pytest.raises(T.TokenNotFound):
        T.delete_token(catalog, "nope")
    tok = T.create_named_admin_token(catalog, "ops")
    T.delete_token(catalog, "ops")
    assert T.lookup(catalog, tok.token) is None


@pytest.mark.parametrize("field", ["resource_identifier", "resource_names"])
def test_resource_token_permissions(catalog, field):
    tok = T.create_resource_token(catalog, "reader", [
        {"resource_type": "db", field: ["foo", "bar"], "actions": ["read"]},
        {"resource_type": "db", field: ["w"], "actions": ["write"]},
        {"resource_type": "system", field: ["health"], "actions": ["read"]},
    ]).record
    assert not T.is_admin(tok)
    assert T.allows(tok, "db", "foo", "read") and T.allows(tok, "db", "bar", "read")
    assert not T.allows(tok, "db", "foo", "write")
    assert not T.allows(tok, "db", "baz", "read")
    assert T.allows(tok, "db", "w", "write") and not T.allows(tok, "db", "w", "read")
    assert T.allows(tok, "system", "health", "read") and not T.allows(tok, "system", "metrics", "read")
    assert tok.permissions[0] == {"resource_type": "db", "resource_identifier": ["foo", "bar"], "actions": ["read"]}


def test_wildcards(catalog):
    tok = T.create_resource_token(catalog, "all", [
        {"resource_type": "db", "resource_identifier": "*", "actions": ["read"]},
        {"resource_type": "system", "resource_names": ["*"], "actions": "*"},
    ]).record
    assert T.allows(tok, "db", "any", "read") and not T.allows(tok, "db", "any", "write")
    assert T.allows(tok, "system", "metrics", "read")
    assert T.permissions_text(tok) == "db:*:read system:*:*"


@pytest.mark.parametrize("perms", [
    [],
    "db:foo:read",
    [{"resource_type": "table", "resource_identifier": ["x"], "actions": ["read"]}],
    [{"resource_type": "*", "resource_identifier": ["*"], "actions": ["*"]}],
    [{"resource_type": "db", "actions": ["read"]}],
    [{"resource_type": "db", "resource_identifier": [], "actions": ["read"]}],
    [{"resource_type": "db", "resource_identifier": ["foo"], "actions": ["fly"]}],
    [{"resource_type": "db", "resource_identifier": ["foo"]}],
    [{"resource_type": "system", "resource_identifier": ["foo"], "actions": ["read"]}],
    [{"resource_type": "system", "resource_identifier": ["health"], "actions": ["write"]}],
    [{"resource_type": "db", "resource_identifier": ["a"], "resource_names": ["b"], "actions": ["read"]}],
])
def test_invalid_permissions_are_refused(catalog, perms):
    with pytest.raises(T.InvalidTokenRequest):
        T.create_resource_token(catalog, "bad", perms)
    assert "bad" not in catalog.tokens


def test_permission_strings():
    assert T.parse_permission("db:a,b:read,write") == {
        "resource_type": "db", "resource_identifier": ["a", "b"], "actions": ["read", "write"]}
    assert T.parse_permission("system:*:read")["resource_identifier"] == ["*"]
    for bad in ("db:a", "db::read", "x:a:read"):
        with pytest.raises(T.InvalidTokenRequest):
            T.parse_permission(bad)


def test_tokens_survive_reopen_and_are_seen_by_other_nodes(tmp_path):
    a = Catalog(tmp_path / "data")
    b = Catalog(tmp_path / "data")
    issued = T.create_resource_token(a, "r", [{"resource_type": "db", "resource_identifier": ["x"], "actions": ["read"]}])
    # b has not refreshed; lookup refreshes on an unknown hash.
    assert T.lookup(b, issued.token).name == "r"
    T.delete_token(a, "r")
    b.refresh()
    assert T.lookup(b, issued.token) is None
    c = Catalog(tmp_path / "data")
    assert "r" not in c.tokens


def test_token_files(tmp_path):
    issued = T.offline_admin_token()
    text = T.token_file_contents(issued).decode()
    assert json.loads(text)["token"] == issued.token
    assert T.read_token_file(text) == issued.token
    assert T.read_token_file(issued.token + "\n") == issued.token
    for bad in ("", "{}", "{not json", '{"token": 5}', "two words"):
        with pytest.raises(T.InvalidTokenRequest):
            T.read_token_file(bad)
    cat = Catalog(tmp_path / "data")
    assert T.ensure_admin_token(cat, issued.token) == "created"
    assert T.ensure_admin_token(cat, issued.token) == "exists"
    assert T.ensure_admin_token(cat, T.generate_token()) == "different"
    assert T.lookup(cat, issued.token).name == "_admin"


def test_tokens_table(catalog):
    admin = T.create_admin_token(catalog)
    T.create_resource_token(catalog, "r", [{"resource_type": "db", "resource_identifier": ["x"], "actions": ["read", "write"]}],
                            expiry_secs=3600)
    table = T.tokens_table(catalog)
    assert table.column_names == ["token_id", "name", "hash", "created_at", "description", "created_by_token_id",
                                  "updated_at", "updated_by_token_id", "expiry", "permissions"]
    assert table.schema.field("token_id").type == pa.uint64()
    assert table.schema.field("created_at").type == pa.timestamp("ms")
    rows = table.to_pylist()
    assert [r["name"] for r in rows] == ["_admin", "r"]
    assert rows[0]["hash"] == admin.record.hash[:9]
    assert rows[0]["permissions"] == "*:*:*" and rows[1]["permissions"] == "db:x:read,write"
    assert rows[0]["expiry"] is None and rows[1]["expiry"] is not None
    no_auth = T.tokens_table(catalog, without_auth=True)
    assert "hash" not in no_auth.column_names and no_auth.num_rows == 2


def _create_named(path, name, q):
    cat = Catalog(path)
    try:
        T.create_named_admin_token(cat, name)
        q.put("ok")
    except T.TokenNameExists:
        q.put("exists")


def test_two_processes_racing_for_one_name_one_wins(tmp_path):
    Catalog(tmp_path / "data")
    ctx = mp.get_context("spawn")
    q = ctx.Queue()
    procs = [ctx.Process(target=_create_named, args=(tmp_path / "data", "same", q)) for _ in range(4)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(60)
    results = sorted(q.get(timeout=5) for _ in procs)
    assert results == ["exists", "exists", "exists", "ok"]


def test_a_token_revoked_on_another_node_stops_working_within_the_staleness_bound(tmp_path, monkeypatch):
    import time

    a = Catalog(tmp_path / "data")
    b = Catalog(tmp_path / "data")
    issued = T.create_named_admin_token(a, "ops")
    assert T.lookup(b, issued.token) is not None
    T.delete_token(a, "ops")
    monkeypatch.setattr(T, "MAX_STALENESS_S", 0.05)
    time.sleep(0.1)
    assert T.lookup(b, issued.token) is None
