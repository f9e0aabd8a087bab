"""Users, roles and login in the engine: catalog records shared by nodes, argon2 passwords,
RS256 JWTs, revocation, throttling, and the token-shaped permissions of each role."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json

import jwt as pyjwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from jupyter_influx3.engine import tokens as tokenlib
from jupyter_influx3.engine.catalog import Catalog
from jupyter_influx3.engine.users import LoginFailed, PasswordResetRequired, Throttled, UserAuth, accounts, jwts
from jupyter_influx3.engine.users.throttle import LoginThrottle, Throttle

PW = "correct horse battery"


@pytest.fixture
def cat(tmp_path):
    return Catalog(tmp_path / "data")


@pytest.fixture
def auth(cat, tmp_path):
    return UserAuth.open(cat, tmp_path / "data")


def first(cat, name="alice"):
    return accounts.create_initial_user(cat, name, PW, "Alice")


def test_initial_user_is_admin_and_creates_the_operator_token_once(cat, auth):
    made = first(cat)
    assert made.user.role_ids == [accounts.ADMIN_ROLE]
    assert tokenlib.looks_like_token(made.operator_token)
    assert tokenlib.lookup(cat, made.operator_token).name == "_admin"
    with pytest.raises(accounts.InitialUserExists):
        accounts.create_initial_user(cat, "bob", PW)


def test_initial_user_does_not_replace_an_existing_operator_token(cat, auth):
    issued = tokenlib.create_admin_token(cat)
    made = first(cat)
    assert made.operator_token is None
    assert tokenlib.lookup(cat, issued.token).name == "_admin"


def test_users_and_roles_are_catalog_records_every_node_sees(cat, auth, tmp_path):
    first(cat)
    accounts.invite_user(cat, "bob", PW, role_ids=[accounts.MEMBER_ROLE])
    other = Catalog(tmp_path / "data")
    assert [u.username for u in accounts.live_users(other)] == ["alice", "bob"]
    assert sorted(r.name for r in other.roles.values()) == ["Admin", "Auditor", "Member"]
    # and after a checkpoint
    other._write_checkpoint()
    again = Catalog(tmp_path / "data")
    assert accounts.find_user(again, "BOB").role_ids == [accounts.MEMBER_ROLE]


def test_passwords_are_stored_as_argon2id_hashes_only(cat, auth, tmp_path):
    first(cat)
    stored = b"".join(p.read_bytes() for p in (tmp_path / "data" / "catalog" / "logs").glob("*.json"))
    assert PW.encode() not in stored
    assert accounts.find_user(cat, "alice").password_hash.startswith("$argon2id$")


@pytest.mark.parametrize("name", ["", "a b", "a:b", "-x", "x" * 65, "é", "a\nb", 5, None])
def test_bad_usernames_are_refused(cat, auth, name):
    with pytest.raises(accounts.InvalidUserRequest):
        accounts.create_initial_user(cat, name, PW)


@pytest.mark.parametrize("pw", ["short", "x" * 1025, "abcdefgh\x00", 12345678, None])
def test_bad_passwords_are_refused_without_echoing_them(cat, auth, pw):
    with pytest.raises(accounts.InvalidUserRequest) as exc:
        accounts.create_initial_user(cat, "alice", pw)
    assert not isinstance(pw, str) or pw not in str(exc.value)


def test_usernames_are_unique_ignoring_case(cat, auth):
    first(cat)
    with pytest.raises(accounts.UsernameExists):
        accounts.invite_user(cat, "ALICE", PW)


def test_login_gives_an_rs256_access_and_refresh_pair(cat, auth):
    first(cat)
    pair = auth.login("alice", PW)
    header = pyjwt.get_unverified_header(pair.access_token)
    assert header["alg"] == "RS256" and header["kid"] == auth.signer.kid
    who = auth.principal(pair.access_token)
    assert who.user_id == 1 and tokenlib.is_admin(who)
    assert auth.principal(pair.refresh_token) is None  # a refresh token is not an access token
    again = auth.refresh(pair.refresh_token)
    assert auth.principal(again.access_token).user_id == 1


def test_wrong_password_and_unknown_user_fail_alike(cat, auth):
    first(cat)
    with pytest.raises(LoginFailed) as a:
        auth.login("alice", "wrong password")
    with pytest.raises(LoginFailed) as b:
        auth.login("nobody", "wrong password")
    assert str(a.value) == str(b.value)


def test_role_permissions_map_onto_the_token_check(cat, auth):
    first(cat)
    accounts.invite_user(cat, "aud", PW, role_ids=["Auditor"])
    accounts.invite_user(cat, "mem", PW, role_ids=[accounts.MEMBER_ROLE])
    accounts.invite_user(cat, "none", PW)
    aud = auth.principal(auth.login("aud", PW).access_token)
    mem = auth.principal(auth.login("mem", PW).access_token)
    nobody = auth.principal(auth.login("none", PW).access_token)
    assert not tokenlib.is_admin(aud) and not tokenlib.is_admin(mem)
    assert tokenlib.allows(mem, "db", "anydb", "read") and tokenlib.allows(mem, "db", "anydb", "write")
    assert not tokenlib.allows(aud, "db", "anydb", "read") and tokenlib.allows(aud, "db", "anydb", "describe")
    assert not tokenlib.allows(nobody, "db", "anydb", "read")


def test_role_changes_apply_to_tokens_already_issued(cat, auth):
    first(cat)
    bob = accounts.invite_user(cat, "bob", PW, role_ids=[accounts.MEMBER_ROLE])
    token = auth.login("bob", PW).access_token
    assert not tokenlib.is_admin(auth.principal(token))
    accounts.set_roles(cat, bob.id, [accounts.ADMIN_ROLE])
    assert tokenlib.is_admin(auth.principal(token))


def test_delete_revokes_access_and_refresh_tokens(cat, auth):
    first(cat)
    bob = accounts.invite_user(cat, "bob", PW)
    pair = auth.login("bob", PW)
    deleted = accounts.delete_user(cat, bob.id, by_operator=False)
    assert deleted.deleted_at is not None
    assert auth.principal(pair.access_token) is None
    with pytest.raises(LoginFailed):
        auth.refresh(pair.refresh_token)
    with pytest.raises(LoginFailed):
        auth.login("bob", PW)
    with pytest.raises(accounts.UserNotFound):
        accounts.get_user(cat, bob.id)


def test_last_user_can_be_deleted_by_the_operator_token_only(cat, auth):
    alice = first(cat).user
    with pytest.raises(accounts.Forbidden):
        accounts.delete_user(cat, alice.id, by_operator=False)
    assert accounts.delete_user(cat, alice.id, by_operator=True).deleted_at is not None


def test_required_reset_blocks_login_until_a_new_password_is_set(cat, auth):
    first(cat)
    bob = accounts.invite_user(cat, "bob", PW)
    pair = auth.login("bob", PW)
    accounts.require_password_reset(cat, bob.id)
    assert auth.principal(pair.access_token) is None
    with pytest.raises(LoginFailed):
        auth.refresh(pair.refresh_token)
    with pytest.raises(PasswordResetRequired):
        auth.login("bob", PW)
    with pytest.raises(accounts.InvalidUserRequest):
        auth.reset_password("bob", PW, PW)  # must differ
    auth.reset_password("bob", PW, "a brand new password")
    with pytest.raises(LoginFailed):
        auth.login("bob", PW)
    assert auth.principal(auth.login("bob", "a brand new password").access_token).user_id == bob.id


def test_forged_tampered_expired_and_foreign_tokens_are_refused(cat, auth):
    first(cat)
    pair = auth.login("alice", PW)
    head, body, sig = pair.access_token.split(".")
    assert auth.principal(f"{head}.{body}.{sig[:-4]}AAAA") is None
    other_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    claims = pyjwt.decode(pair.access_token, options={"verify_signature": False})
    assert auth.principal(pyjwt.encode(claims, other_key, algorithm="RS256")) is None
    assert auth.principal(pyjwt.encode({**claims, "alg": "none"}, None, algorithm="none")) is None
    public_pem = auth.signer._public.public_bytes(serialization.Encoding.PEM,
                                                  serialization.PublicFormat.SubjectPublicKeyInfo)
    # HS256 "signed" with the public key (algorithm confusion), made by hand: PyJWT refuses to
    assert auth.principal(_hs256(claims, public_pem)) is None
    expired = auth.signer.issue(1, 0, now=1_000_000)
    assert auth.principal(expired.access_token) is None
    with pytest.raises(LoginFailed):
        auth.refresh(expired.refresh_token)
    assert auth.principal("eyJ" + "a" * 9000 + ".b.c") is None


def _hs256(claims: dict, secret: bytes) -> str:
    def b64(data: bytes) -> str:
        return base64.urlsafe_b64encode(data).rstrip(b"=").decode()
    signing_input = b64(b'{"alg":"HS256","typ":"JWT"}') + "." + b64(json.dumps(claims).encode())
    return signing_input + "." + b64(hmac.new(secret, signing_input.encode(), hashlib.sha256).digest())


def test_pkcs8_key_is_refused_loudly_and_pkcs1_key_is_used(cat, tmp_path):
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pkcs8 = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                              serialization.NoEncryption())
    with pytest.raises(jwts.JwtKeyError, match="PKCS#8"):
        UserAuth.open(cat, tmp_path / "data", private_key_pem=pkcs8)
    pkcs1 = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL,
                              serialization.NoEncryption())
    auth = UserAuth.open(cat, tmp_path / "data", private_key_pem=pkcs1, key_id="k1", issuer="me")
    first(cat)
    token = auth.login("alice", PW).access_token
    assert pyjwt.decode(token, key.public_key(), algorithms=["RS256"], issuer="me")["sub"] == "1"
    assert pyjwt.get_unverified_header(token)["kid"] == "k1"


def test_generated_key_is_pkcs1_private_and_shared_by_nodes(cat, tmp_path):
    a = UserAuth.open(cat, tmp_path / "data")
    b = UserAuth.open(Catalog(tmp_path / "data"), tmp_path / "data")
    path = tmp_path / "data" / jwts.KEY_FILE
    assert path.read_bytes().startswith(jwts.PKCS1_HEADER)
    assert path.stat().st_mode & 0o077 == 0
    first(cat)
    assert b.principal(a.login("alice", PW).access_token).user_id == 1


def test_throttle_locks_a_user_after_failures_and_doubles_the_delay():
    now = [0.0]
    t = Throttle(3, base_delay_s=1, clock=lambda: now[0])
    for _ in range(2):
        t.failed("u")
    assert t.retry_after("u") is None
    t.failed("u")
    assert t.retry_after("u") == 1
    t.failed("u")
    assert t.retry_after("u") == 2
    now[0] = 10
    assert t.retry_after("u") is None
    t.succeeded("u")
    t.failed("u")
    assert t.retry_after("u") is None


def test_locked_user_is_refused_even_with_the_right_password(cat, tmp_path):
    auth = UserAuth.open(cat, tmp_path / "data", throttle=LoginThrottle(max_user_failures=2, max_address_failures=100))
    first(cat)
    for _ in range(2):
        with pytest.raises(LoginFailed):
            auth.login("alice", "wrong password", "10.0.0.1")
    with pytest.raises(Throttled):
        auth.login("ALICE", PW, "10.0.0.2")


def test_an_address_is_throttled_across_user_names(cat, tmp_path):
    auth = UserAuth.open(cat, tmp_path / "data", throttle=LoginThrottle(max_user_failures=100, max_address_failures=3))
    first(cat)
    for i in range(3):
        with pytest.raises(LoginFailed):
            auth.login(f"guess{i}", "wrong password", "10.0.0.9")
    with pytest.raises(Throttled):
        auth.login("alice", PW, "10.0.0.9")
    assert auth.login("alice", PW, "10.0.0.10").access_token


def test_a_remembered_signature_check_still_expires(cat, auth, monkeypatch):
    first(cat)
    token = auth.login("alice", PW).access_token
    assert auth.principal(token) is not None  # checked once, then remembered
    assert token in auth.signer._checked
    real = jwts.time.time
    monkeypatch.setattr(jwts.time, "time", lambda: real() + jwts.DEFAULT_ACCESS_TTL_S + 1)
    assert auth.principal(token) is None
    assert auth.signer.check(token, "refresh") is None  # remembered as an access token only
