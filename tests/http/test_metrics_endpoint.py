"""``GET /metrics`` against a real server: exposition format and counters that move (§9)."""

from __future__ import annotations

import time

import requests
from prometheus_client.parser import text_string_to_metric_families

from http_helpers import write_v3
from jupyter_influx3.engine import Engine
from jupyter_influx3.http.metrics import metrics_for
from jupyter_influx3.http.routes import make_app


def scrape(url) -> dict:
    """{(sample name, sorted label items): value} of one scrape."""
    r = requests.get(f"{url}/metrics", timeout=30)
    assert r.status_code == 200
    out = {}
    for family in text_string_to_metric_families(r.text):
        for sample in family.samples:
            out[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return out


def value(samples: dict, name: str, **labels) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


def scrape_counting(url, before: dict, name: str, **labels) -> dict:
    """A scrape that counts one more ``name{labels}`` than ``before`` (else the last one, after
    10 s): a request is counted once its answer is written, and with ``--workers`` the scrape may
    reach the other worker before the first has counted it."""
    deadline = time.monotonic() + 10
    while True:
        after = scrape(url)
        if value(after, name, **labels) > value(before, name, **labels) or time.monotonic() > deadline:
            return after
        time.sleep(0.05)


def test_metrics_is_prometheus_text_ending_with_eof(url):
    r = requests.get(f"{url}/metrics", timeout=30)
    assert r.status_code == 200
    assert r.headers["Content-Type"] == "text/plain; version=0.0.4; charset=utf-8"
    assert r.text.endswith("\n# EOF\n")
    assert "# TYPE influxdb3_write_lines_total counter" in r.text
    assert "# TYPE influxdb3_query_duration_seconds histogram" in r.text
    assert "_created" not in r.text


def test_write_counters_move_per_database(url, db):
    body = "cpu,host=a usage=1 1\ncpu,host=b usage= 2\ncpu,host=c usage=3 3\n"
    before = scrape(url)
    assert write_v3(url, db, body).status_code == 400  # one line rejected, two written
    assert write_v3(url, db, "cpu,host=d usage=4 4").status_code == 204
    after = scrape(url)
    assert value(before, "influxdb3_write_lines_total", db=db) == 0
    assert value(after, "influxdb3_write_lines_total", db=db) == 3
    assert value(after, "influxdb3_write_lines_rejected_total", db=db) == 1
    assert value(after, "influxdb3_write_bytes_total", db=db) == len(body) + len("cpu,host=d usage=4 4")


def test_query_count_and_latency_move(url, db):
    assert write_v3(url, db, "cpu,host=a usage=1 1").status_code == 204
    before = scrape(url)
    r = requests.get(f"{url}/api/v3/query_sql", params={"db": db, "q": "SELECT * FROM cpu"}, timeout=30)
    assert r.status_code == 200, r.text
    r = requests.get(f"{url}/api/v3/query_sql", params={"db": db, "q": "SELECT * FROM nope"}, timeout=30)
    assert r.status_code == 400
    after = scrape_counting(url, before, "http_requests_total", method="GET", path="/api/v3/query_sql", status="400")

    def delta(name, **labels):
        return value(after, name, **labels) - value(before, name, **labels)

    assert delta("influxdb3_queries_total", type="sql", result="success") == 1
    assert delta("influxdb3_queries_total", type="sql", result="error") == 1
    assert delta("influxdb3_query_duration_seconds_count", type="sql") == 2
    assert delta("http_requests_total", method="GET", path="/api/v3/query_sql", status="200") == 1
    assert delta("http_requests_total", method="GET", path="/api/v3/query_sql", status="400") == 1


def test_requests_are_counted_by_route_and_status(url, db):
    before = scrape(url)
    requests.get(f"{url}/health", timeout=30)
    requests.get(f"{url}/no/such/path/{db}", timeout=30)
    requests.post(f"{url}/api/v3/configure/database", data=b"{}", timeout=30)  # 415
    after = scrape_counting(url, before, "http_requests_total", method="POST", path="/api/v3/configure/database",
                            status="415")

    def delta(**labels):
        return value(after, "http_requests_total", **labels) - value(before, "http_requests_total", **labels)

    assert delta(method="GET", path="/health", status="200") == 1
    assert delta(method="GET", path="other", status="404") == 1
    assert delta(method="POST", path="/api/v3/configure/database", status="415") == 1
    assert not any(db in labels_value for (_, labels) in after for _, labels_value in labels)


def test_two_apps_in_one_process_have_their_own_registries(tmp_path):
    engine = Engine(tmp_path / "data", node_id="metrics-test", background=False)
    try:
        first = metrics_for(make_app(engine).settings["influx3"])
        second = metrics_for(make_app(engine).settings["influx3"])
        assert first is not second
        first.write_lines.labels(db="x").inc(5)
        assert b'influxdb3_write_lines_total{db="x"} 5.0' in first.render()
        assert b'db="x"' not in second.render()
    finally:
        engine.close()


def test_invented_method_names_share_one_label_so_metrics_stay_bounded(url):
    before = scrape(url)
    for i in range(5):   # invented names: `influx3 serve`'s parser (llhttp) refuses them outright
        assert requests.request(f"FOO{i}", f"{url}/ping", timeout=30).status_code in (400, 401, 404)
    for method in ("PROPFIND", "MKCOL", "LOCK", "UNLOCK", "PURGE"):   # names HTTP knows, not served
        assert requests.request(method, f"{url}/ping", timeout=30).status_code in (401, 404)
    requests.request("DELETE", f"{url}/ping", timeout=30)
    after = scrape(url)
    methods = {dict(labels).get("method") for (name, labels) in after if name == "http_requests_total"}
    assert not any(m.startswith("FOO") or m == "PROPFIND" for m in methods if m)
    counted = sum(v for (name, labels), v in after.items()
                  if name == "http_requests_total" and dict(labels).get("method") == "other")
    counted_before = sum(v for (name, labels), v in before.items()
                         if name == "http_requests_total" and dict(labels).get("method") == "other")
    assert counted - counted_before == 5
    assert "DELETE" in methods   # a real method keeps its name
