"""``/api/v3/configure/query_concurrency_limit`` and ``serve --max-concurrent-queries`` through real servers."""

from __future__ import annotations

import pytest
import requests

from http_helpers import influx3

PATH = "/api/v3/configure/query_concurrency_limit"


@pytest.fixture(scope="module")
def url(start_influx3_session):
    return start_influx3_session("--max-concurrent-queries", "32").url


def limit(url):
    r = requests.get(url + PATH, timeout=30)
    assert r.status_code == 200 and r.headers["Content-Type"].startswith("application/json")
    return r.json()


def test_get_put_delete_round_trip(url):
    assert limit(url) == {"max_concurrent_queries": 32}            # the startup value
    assert requests.put(url + PATH, json={"max_concurrent_queries": 20}, timeout=30).status_code == 204
    assert limit(url) == {"max_concurrent_queries": 20}
    assert requests.post(url + PATH, json={"max_concurrent_queries": 64}, timeout=30).status_code == 204
    assert limit(url) == {"max_concurrent_queries": 64}
    assert requests.put(url + PATH, json={"max_concurrent_queries": None}, timeout=30).status_code == 204
    assert limit(url) == {"max_concurrent_queries": 32}
    requests.put(url + PATH, json={"max_concurrent_queries": 20}, timeout=30)
    assert requests.delete(url + PATH, timeout=30).status_code == 204
    assert limit(url) == {"max_concurrent_queries": 32}


def test_small_limits_need_force(url):
    r = requests.put(url + PATH, json={"max_concurrent_queries": 4}, timeout=30)
    assert r.status_code == 400 and "force=true" in r.json()["error"]
    r = requests.put(url + PATH, params={"force": "true"}, json={"max_concurrent_queries": 4}, timeout=30)
    assert r.status_code == 204 and limit(url) == {"max_concurrent_queries": 4}
    r = requests.get(f"{url}/api/v3/query_sql", params={"db": "_internal", "q": "SELECT 1 AS one"}, timeout=30)
    assert r.status_code == 200                                     # queries still run under it
    requests.delete(url + PATH, timeout=30)


@pytest.mark.parametrize("body,needle", [
    ({"max_concurrent_queries": 0}, "between 1 and"),
    ({"max_concurrent_queries": 2**62}, "between 1 and"),
    ({"max_concurrent_queries": -3}, "expected u64"),
    ({"max_concurrent_queries": "20"}, "expected u64"),
    ({"max_concurrent_queries": 20.5}, "expected u64"),
    ({"max_concurrent_queries": True}, "expected u64"),
])
def test_bad_values_are_400(url, body, needle):
    r = requests.put(url + PATH, json=body, params={"force": "true"}, timeout=30)
    assert r.status_code == 400 and needle in r.json()["error"], r.text


def test_unlimited_by_default_omits_the_key(start_influx3):
    assert limit(start_influx3().url) == {}


def test_serve_refuses_zero():
    out = influx3("serve", "--max-concurrent-queries", "0")
    assert out.returncode == 2 and b"positive integer" in out.stderr
