"""Backup and restore through a real server: the 9 operations, their statuses and errors, live
rollback, the offline restore of a backup taken while 4 writers write, and kill -9 during both."""

from __future__ import annotations

import json
import signal
import threading
import time
from pathlib import Path

import pytest
import requests

from http_helpers import influx3, written
from jupyter_influx3.engine import Engine
from jupyter_influx3.engine.admin.copying import sha256_of
from jupyter_influx3.engine.admin.jobs import JobLock

API = "/api/v3/enterprise"


@pytest.fixture(scope="module")
def srv(start_influx3_session):
    return start_influx3_session()


@pytest.fixture(scope="module")
def url(srv):
    return srv.url


def wait_done(url: str, path: str, timeout: float = 60) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        r = requests.get(url + path, timeout=30)
        assert r.status_code == 200, r.text
        if r.json()["status"] != "in_progress":
            return r.json()
        time.sleep(0.05)
    raise AssertionError(f"{path} still in progress")


def backup(url: str, **body) -> dict:
    r = requests.post(f"{url}{API}/backup", json=body, timeout=30)
    assert r.status_code == 202, r.text
    assert r.json()["status"] == "in_progress"
    return wait_done(url, f"{API}/backup/{r.json()['backup_name']}")


def restore(url: str, name: str) -> dict:
    r = requests.post(f"{url}{API}/restore", json={"backup_name": name}, timeout=30)
    assert r.status_code == 202, r.text
    return wait_done(url, f"{API}/restore/{r.json()['restore_id']}")


def hosts(url: str, db: str, table: str = "cpu") -> list[str]:
    r = requests.get(f"{url}/api/v3/query_sql", params={"db": db, "q": f"SELECT host FROM {table} ORDER BY host",
                                                        "format": "json"}, timeout=30)
    if r.status_code == 404:
        return []
    assert r.status_code == 200, r.text
    return [row["host"] for row in r.json()]


def test_backup_is_created_listed_read_and_deleted(url, db):
    written(url, db, "cpu,host=a v=1 1000")
    r = requests.post(f"{url}{API}/backup", json={"type": "full"}, timeout=30)
    assert r.status_code == 202 and r.headers["Content-Type"].startswith("application/json")
    name = r.json()["backup_name"]
    assert name.startswith("backup-")
    got = wait_done(url, f"{API}/backup/{name}")
    assert got["status"] == "completed" and got["type"] == "full" and got["total_files"] >= 1
    assert got["created_at"].endswith("Z") and got["completed_at"].endswith("Z")
    assert all(len(f["sha256"]) == 64 for f in got["files"])
    listed = requests.get(f"{url}{API}/backup", timeout=30).json()["backups"]
    assert name in [b["name"] for b in listed] and "files" not in listed[0]
    r = requests.delete(f"{url}{API}/backup/{name}", timeout=30)
    assert r.status_code == 200 and r.json() == {"backup_name": name, "type": "full"}
    r = requests.get(f"{url}{API}/backup/{name}", timeout=30)
    assert r.status_code == 404 and r.json() == {"error": f"backup not found: {name}"}


def test_duplicate_name_is_409_unless_forced(url, db):
    written(url, db, "cpu,host=a v=1 1000")
    backup(url, type="full", name="dup")
    r = requests.post(f"{url}{API}/backup", json={"type": "full", "name": "dup"}, timeout=30)
    assert r.status_code == 409 and "already exists" in r.json()["error"]
    assert backup(url, type="full", name="dup", force=True)["status"] == "completed"


def test_a_running_backup_or_restore_makes_another_409(srv, url):
    for folder, path, body in (("backups", "backup", {"type": "full"}),
                               ("admin/restores", "restore", {"backup_name": "dup2"})):
        if path == "restore":
            backup(url, type="full", name="dup2")
        lock = JobLock(Path(srv.data_dir) / folder / ".running.lock")
        assert lock.acquire()
        try:
            r = requests.post(f"{url}{API}/{path}", json=body, timeout=30)
            assert r.status_code == 409 and "already running" in r.json()["error"], r.text
        finally:
            lock.release()


@pytest.mark.parametrize("method,path,kwargs,status,needle", [
    ("POST", "/backup", {"data": "{", "headers": {"Content-Type": "application/json"}}, 400, "serde json error"),
    ("POST", "/backup", {"data": "{}", "headers": {"Content-Type": "text/plain"}}, 415, "content-type"),
    ("POST", "/backup", {"json": {"type": "full", "name": "../etc"}}, 400, "invalid backup name"),
    ("POST", "/backup", {"json": {"type": "full", "name": "dbs"}}, 400, "invalid backup name"),
    ("POST", "/backup", {"json": {"type": "weekly"}}, 400, "invalid backup type"),
    ("POST", "/backup", {"json": {"type": "incremental"}}, 400, "needs a parent"),
    ("POST", "/backup", {"json": {"type": "incremental", "parent": "nope"}}, 404, "backup not found"),
    ("POST", "/backup", {"json": {"force": "yes"}}, 400, "serde json error"),
    ("DELETE", "/backup", {"json": {"name": "nope"}}, 404, "backup not found"),
    ("DELETE", "/backup", {"json": {}}, 400, "missing field `name`"),
    ("GET", "/backup/nope", {}, 404, "backup not found"),
    ("DELETE", "/backup/nope", {}, 404, "backup not found"),
    ("POST", "/restore", {"json": {"backup_name": ""}}, 400, "must not be empty"),
    ("POST", "/restore", {"json": {}}, 400, "missing field `backup_name`"),
    ("POST", "/restore", {"json": {"backup_name": "nope"}}, 404, "backup not found"),
    ("GET", "/restore/nope", {}, 404, "restore not found"),
    ("DELETE", "/restore/nope", {}, 404, "restore not found"),
])
def test_bad_requests_get_json_errors(url, method, path, kwargs, status, needle):
    r = requests.request(method, f"{url}{API}{path}", timeout=30, **kwargs)
    assert r.status_code == status, r.text
    assert needle in r.json()["error"]


def test_cancelling_a_finished_backup_is_404(url, db):
    written(url, db, "cpu,host=a v=1 1000")
    backup(url, type="full", name="done")
    r = requests.delete(f"{url}{API}/backup", json={"name": "done"}, timeout=30)
    assert r.status_code == 404 and "no backup is running" in r.json()["error"]


def test_restore_rolls_the_live_server_back(url, db):
    written(url, db, "cpu,host=a v=1 1000")
    backup(url, type="full", name="before")
    written(url, db, "cpu,host=late v=2 2000")
    written(url, db + "x", "cpu,host=other v=2 2000")
    done = restore(url, "before")
    assert done["status"] == "completed" and done["backup_name"] == "before" and done["total_files"] >= 1
    assert hosts(url, db) == ["a"]
    assert hosts(url, db + "x") == []                      # created after the backup: gone
    written(url, db, "cpu,host=after v=3 3000")
    assert hosts(url, db) == ["a", "after"]
    listed = requests.get(f"{url}{API}/restore", timeout=30).json()["restores"]
    assert listed[0]["restore_id"] == done["restore_id"]   # newest first
    r = requests.delete(f"{url}{API}/restore/{done['restore_id']}", timeout=30)
    assert r.status_code == 404                            # finished: nothing to cancel


def test_incremental_backups_chain_and_delete_with_children(url, db):
    written(url, db, "cpu,host=a v=1 1000")
    backup(url, type="full", name="base")
    written(url, db, "cpu,host=b v=1 2000")
    inc = backup(url, name="base-inc", parent="base")
    assert inc["type"] == "incremental" and inc["parent"] == "base"
    assert {f["backup"] for f in inc["files"]} >= {"base", "base-inc"}
    r = requests.delete(f"{url}{API}/backup/base", timeout=30)
    assert r.status_code == 409 and "incremental children" in r.json()["error"]
    r = requests.delete(f"{url}{API}/backup/base", params={"incremental": "true"}, timeout=30)
    assert r.status_code == 200
    assert requests.get(f"{url}{API}/backup/base-inc", timeout=30).status_code == 404


def test_cli_backup_and_restore_commands(url, db, tmp_path):
    written(url, db, "cpu,host=a v=1 1000")
    out = influx3("create", "backup", "--name", "cli1", "--wait", "--host", url)
    assert out.returncode == 0 and b"completed" in out.stdout, out.stderr
    out = influx3("status", "backup", "cli1", "--host", url)
    assert json.loads(out.stdout)["status"] == "completed"
    written(url, db, "cpu,host=b v=1 2000")
    out = influx3("create", "restore", "--backup", "cli1", "--wait", "--host", url)
    assert out.returncode == 0 and b"completed" in out.stdout, out.stderr
    assert hosts(url, db) == ["a"]
    out = influx3("delete", "backup", "cli1", "--host", url)
    assert out.returncode == 0
    out = influx3("restore", "--backup", str(tmp_path / "missing"), "--data-dir", str(tmp_path / "new"))
    assert out.returncode == 1 and b"no backup" in out.stderr


def test_backup_while_4_writers_write_then_offline_restore(start_influx3, tmp_path):
    server = start_influx3()
    url = server.url
    stop = threading.Event()
    acked: dict[int, list[tuple[int, float, float]]] = {w: [] for w in range(4)}   # (i, sent, acked)

    def writer(w: int) -> None:
        i = 0
        s = requests.Session()
        while not stop.is_set():
            sent = time.time()
            r = s.post(f"{url}/api/v3/write_lp", params={"db": "load"}, data=f"pts,writer=w{w} i={i}i {i}",
                       timeout=30)
            assert r.status_code == 204
            acked[w].append((i, sent, time.time()))
            i += 1

    def each_writer_acked(after: float) -> None:
        # (waited for, not slept: on a loaded machine one write can take longer than a fixed pause)
        deadline = time.monotonic() + 60
        while not all(any(sent > after for _, sent, _ in acked[w]) for w in range(4)):
            assert time.monotonic() < deadline and all(t.is_alive() for t in threads), "a writer stopped"
            time.sleep(0.02)

    threads = [threading.Thread(target=writer, args=(w,)) for w in range(4)]
    for t in threads:
        t.start()
    each_writer_acked(0)
    started = time.time()
    done = backup(url, type="full", name="busy")
    finished = time.time()
    each_writer_acked(finished)
    stop.set()
    for t in threads:
        t.join()
    assert done["status"] == "completed", done
    out = influx3("restore", "--backup", str(Path(server.data_dir) / "backups" / "busy"),
                  "--data-dir", str(tmp_path / "restored"))
    assert out.returncode == 0, out.stderr
    with Engine(tmp_path / "restored", node_id="check", background=False) as e:
        got = e.sql("load", "SELECT writer, i, count(*) AS n FROM pts GROUP BY writer, i").to_pylist()
    assert all(r["n"] == 1 for r in got)                   # exactly once
    for w in range(4):
        present = sorted(r["i"] for r in got if r["writer"] == f"w{w}")
        assert present == list(range(len(present)))      # a prefix of what the writer wrote
        before = [i for i, _, ack in acked[w] if ack < started]
        after = [i for i, sent, _ in acked[w] if sent > finished]
        assert before and after
        assert len(present) > max(before)                  # acknowledged before the backup: in it
        assert len(present) <= min(after)                  # sent after it completed: not in it


def _many_files(url: str, db: str, days: int) -> None:
    day = 86400 * 10**9
    for d in range(days):
        written(url, db, "\n".join(f"cpu,host=h{h} v={d}i {d * day + h}" for h in range(200)))


def test_kill_9_during_a_backup_never_leaves_it_completed_unless_complete(start_influx3):
    server = start_influx3()
    url = server.url
    _many_files(url, "big", 30)
    r = requests.post(f"{url}{API}/backup", json={"type": "full", "name": "k"}, timeout=30)
    assert r.status_code == 202
    data = Path(server.data_dir) / "backups" / "k" / "data"
    deadline = time.monotonic() + 10
    while not data.exists() and time.monotonic() < deadline:
        time.sleep(0.001)
    server.stop(signal.SIGKILL)
    server.start()
    got = requests.get(f"{server.url}{API}/backup/k", timeout=30).json()
    assert got["status"] in ("failed", "completed")
    if got["status"] == "completed":                       # then every file is there, intact
        for f in got["files"]:
            assert sha256_of(Path(server.data_dir) / "backups" / f["backup"] / "data" / f["path"]) == f["sha256"]
    r = requests.get(f"{server.url}/api/v3/query_sql", params={"db": "big", "q": "SELECT count(*) AS n FROM cpu",
                                                               "format": "json"}, timeout=30)
    assert r.json() == [{"n": 30 * 200}]


def test_kill_9_during_a_restore_leaves_the_backup_or_the_old_data_never_a_mix(start_influx3):
    server = start_influx3()
    _many_files(server.url, "big", 40)
    assert backup(server.url, type="full", name="r")["status"] == "completed"
    written(server.url, "big", "cpu,host=late v=1i 1")
    r = requests.post(f"{server.url}{API}/restore", json={"backup_name": "r"}, timeout=30)
    assert r.status_code == 202
    rid = r.json()["restore_id"]
    copies = Path(server.data_dir) / server.node_id / "dbs"
    deadline = time.monotonic() + 10
    while not list(copies.rglob("r1-*.parquet")) and time.monotonic() < deadline:
        time.sleep(0.001)
    server.stop(signal.SIGKILL)
    server.start()
    got = requests.get(f"{server.url}{API}/restore/{rid}", timeout=30).json()
    assert got["status"] in ("failed", "completed")
    r = requests.get(f"{server.url}/api/v3/query_sql", params={"db": "big", "q": "SELECT count(*) AS n FROM cpu",
                                                               "format": "json"}, timeout=30)
    n = r.json()[0]["n"]
    assert n == (40 * 200 if got["status"] == "completed" else 40 * 200 + 1)
