"""`influx3 create|show|update|delete user`, `influx3 auth login|logout` and
`connect(url=, username=, password=)` against a real server with `--user-auth-type basic`."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys

import pytest

import jupyter_influx3
from jupyter_influx3.jupyter.client import Influx3Error

PW = "cli-user-password"


@pytest.fixture(scope="module")
def srv(start_influx3_session):
    return start_influx3_session("--user-auth-type", "basic", auth=True)


@pytest.fixture
def config_dir(tmp_path):
    return tmp_path / "config"


def run(config_dir, *args, input: str | None = None):
    env = {k: v for k, v in os.environ.items() if k not in ("INFLUX3_TOKEN", "INFLUX3_HOST")}
    env["INFLUX3_CONFIG_DIR"] = str(config_dir)
    done = subprocess.run([sys.executable, "-m", "jupyter_influx3", *args], input=input, capture_output=True,
                          text=True, timeout=60, env=env)
    return done


@pytest.fixture(scope="module")
def operator(srv, tmp_path_factory):
    done = run(tmp_path_factory.mktemp("cfg"), "create", "user", "root", "--initial", "--password", PW,
               "--host", srv.url)
    assert done.returncode == 0, done.stderr
    assert 'User "root" created (id 1)' in done.stdout
    return next(line.split(": ", 1)[1] for line in done.stdout.splitlines() if line.startswith("Operator token: "))


def test_create_show_update_and_delete_users(srv, operator, config_dir):
    common = ("--host", srv.url, "--token", operator)
    done = run(config_dir, "create", "user", "carol", "--password", PW, "--role", "Member", "--display-name", "Carol", *common)
    assert done.returncode == 0, done.stderr
    listed = json.loads(run(config_dir, "show", "users", "--format", "json", *common).stdout)
    carol = next(u for u in listed if u["username"] == "carol")
    assert carol["roleIds"] == [3] and carol["displayName"] == "Carol"
    pretty = run(config_dir, "show", "users", *common).stdout
    assert "| carol " in pretty and "Member" in pretty
    done = run(config_dir, "update", "user-roles", "carol", "--role", "Auditor", "--role", "member", *common)
    assert done.returncode == 0 and "Auditor, Member" in done.stdout, done.stderr
    done = run(config_dir, "update", "user-roles", "carol", "--role", "Owner", *common)
    assert done.returncode == 1 and "unknown role 'Owner'" in done.stderr
    done = run(config_dir, "create", "user", "carol", "--password", PW, *common)
    assert done.returncode == 1 and "error (409)" in done.stderr
    done = run(config_dir, "delete", "user", "carol", *common)
    assert done.returncode == 0, done.stderr
    done = run(config_dir, "delete", "user", "carol", *common)
    assert done.returncode == 1 and "no user named 'carol'" in done.stderr


def test_password_is_read_from_standard_input(srv, operator, config_dir):
    done = run(config_dir, "create", "user", "dave", "--host", srv.url, "--token", operator, input=PW + "\n")
    assert done.returncode == 0, done.stderr
    done = run(config_dir, "auth", "login", "--username", "dave", "--host", srv.url, input=PW + "\n")
    assert done.returncode == 0, done.stderr


def test_login_keeps_refreshed_credentials_and_logout_forgets_them(srv, operator, config_dir):
    done = run(config_dir, "auth", "login", "--username", "root", "--password", PW, "--host", srv.url)
    assert done.returncode == 0, done.stderr
    path = config_dir / "credentials.json"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    text = path.read_text()
    assert PW not in text
    # no --token: the stored access token is used
    done = run(config_dir, "show", "users", "--format", "json", "--host", srv.url)
    assert done.returncode == 0 and "root" in done.stdout, done.stderr
    # an access token about to expire is refreshed (and saved) before use
    doc = json.loads(text)
    before = doc[srv.url]["accessToken"]
    doc[srv.url]["expiresAt"] = 0
    path.write_text(json.dumps(doc))
    done = run(config_dir, "show", "users", "--format", "json", "--host", srv.url)
    assert done.returncode == 0, done.stderr
    assert json.loads(path.read_text())[srv.url]["accessToken"] != before
    done = run(config_dir, "write", "--database", "clidb", "--host", srv.url, input="m v=1 1\n")
    assert done.returncode == 0, done.stderr
    done = run(config_dir, "auth", "logout", "--host", srv.url)
    assert done.returncode == 0 and "Logged out" in done.stdout
    done = run(config_dir, "show", "users", "--host", srv.url)
    assert done.returncode == 1 and "error (401)" in done.stderr


def test_login_with_a_wrong_password_stores_nothing(srv, operator, config_dir):
    done = run(config_dir, "auth", "login", "--username", "root", "--password", "not the password", "--host", srv.url)
    assert done.returncode == 1 and "error (401)" in done.stderr
    assert not (config_dir / "credentials.json").exists()


def test_login_sets_a_required_new_password(srv, operator, config_dir):
    common = ("--host", srv.url, "--token", operator)
    assert run(config_dir, "create", "user", "erin", "--password", PW, "--require-password-reset", *common).returncode == 0
    done = run(config_dir, "auth", "login", "-u", "erin", "--password", PW, "--host", srv.url)
    assert done.returncode == 1 and "--new-password" in done.stderr
    done = run(config_dir, "auth", "login", "-u", "erin", "--password", PW, "--new-password", "erins-new-password",
               "--host", srv.url)
    assert done.returncode == 0, done.stderr


def test_python_client_logs_in_as_a_user(srv, operator, config_dir):
    assert run(config_dir, "create", "user", "frank", "--password", PW, "--role", "Member",
               "--host", srv.url, "--token", operator).returncode == 0
    db = jupyter_influx3.connect(url=srv.url, username="frank", password=PW, database="clientdb")
    assert "frank" in repr(db.session) and PW not in repr(db.session)
    db.write("m,host=a v=1 1")
    assert db.sql("SELECT v FROM m")["v"].tolist() == [1.0]
    db.session._entry["expiresAt"] = 0  # about to expire: refreshed before the next call
    old = db.session._entry["accessToken"]
    assert db.sql("SELECT count(*) AS n FROM m")["n"].tolist() == [1]
    assert db.session._entry["accessToken"] != old
    with pytest.raises(Influx3Error) as exc:
        jupyter_influx3.connect(url=srv.url, username="frank", password="wrong password")
    assert exc.value.status == 401
    with pytest.raises(Influx3Error):
        jupyter_influx3.connect(url=srv.url, username="frank")


def _key_pem(fmt) -> tuple:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key, key.private_bytes(serialization.Encoding.PEM, fmt, serialization.NoEncryption())


def test_serve_signs_with_the_given_pkcs1_key_and_refuses_a_pkcs8_one(start_influx3, tmp_path):
    import jwt as pyjwt
    import requests
    from cryptography.hazmat.primitives.serialization import PrivateFormat

    _, pkcs8 = _key_pem(PrivateFormat.PKCS8)
    (tmp_path / "k8.pem").write_bytes(pkcs8)
    with pytest.raises(RuntimeError, match="PKCS#8; an RSA key in PKCS#1 form is required"):
        start_influx3("--user-auth-type", "basic", "--jwt-private-key", str(tmp_path / "k8.pem"), auth=True)
    key, pkcs1 = _key_pem(PrivateFormat.TraditionalOpenSSL)
    (tmp_path / "k1.pem").write_bytes(pkcs1)
    server = start_influx3("--user-auth-type", "basic", "--jwt-private-key", str(tmp_path / "k1.pem"),
                           "--jwt-issuer", "my-issuer", "--jwt-key-id", "key-7", "--jwt-default-ttl-seconds", "120",
                           auth=True)
    assert "create user NAME --initial" in server.log()
    assert requests.post(f"{server.url}/api/v3/configure/user", json={"username": "k", "password": PW},
                         timeout=30).status_code == 201
    answer = requests.post(f"{server.url}/api/v3/authorize", json={"username": "k", "password": PW}, timeout=30).json()
    assert answer["expiresIn"] == 120
    claims = pyjwt.decode(answer["accessToken"], key.public_key(), algorithms=["RS256"], issuer="my-issuer")
    assert claims["sub"] == "1" and claims["exp"] - claims["iat"] == 120
    assert pyjwt.get_unverified_header(answer["accessToken"])["kid"] == "key-7"
    assert not (server.data_dir / "users" / "jwt_private_key.pem").exists()  # the given key, not a generated one
