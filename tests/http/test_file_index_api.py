"""``/api/v3/enterprise/configure/file_index`` through a real server."""

from __future__ import annotations

import pytest
import requests

from http_helpers import written

PATH = "/api/v3/enterprise/configure/file_index"


@pytest.fixture(scope="module")
def url(start_influx3_session):
    return start_influx3_session().url


def test_create_and_delete(url, db):
    written(url, db, 'cpu,host=a v=1,s="x" 1')
    r = requests.post(url + PATH, json={"db": db, "table": "cpu", "columns": ["host"]}, timeout=30)
    assert r.status_code == 200 and r.json() == {"db": db, "table": "cpu", "columns": ["host"]}
    r = requests.post(url + PATH, json={"db": db, "columns": ["host", "s"]}, timeout=30)
    assert r.status_code == 200
    assert requests.delete(url + PATH, json={"db": db, "table": "cpu"}, timeout=30).status_code == 200
    assert requests.delete(url + PATH, json={"db": db}, timeout=30).status_code == 200
    r = requests.delete(url + PATH, json={"db": db}, timeout=30)
    assert r.status_code == 404 and "no file index" in r.json()["error"]


@pytest.mark.parametrize("body,status,needle", [
    ({"db": "nope", "columns": ["host"]}, 404, "database not found"),
    ({"db": "DB", "table": "nope", "columns": ["host"]}, 404, "table not found"),
    ({"db": "DB", "table": "cpu", "columns": ["v"]}, 400, "not a tag or string field"),
    ({"db": "DB", "table": "cpu", "columns": []}, 400, "non-empty"),
    ({"db": "DB", "table": "cpu"}, 400, "missing field `columns`"),
    ({"db": "DB", "columns": "host"}, 400, "expected a sequence"),
])
def test_refusals(url, db, body, status, needle):
    written(url, db, "cpu,host=a v=1 1")
    body = {**body, "db": db} if body["db"] == "DB" else body
    r = requests.post(url + PATH, json=body, timeout=30)
    assert r.status_code == status, r.text
    assert needle in r.json()["error"]
