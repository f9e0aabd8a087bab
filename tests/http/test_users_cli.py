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
