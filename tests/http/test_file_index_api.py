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


def _table_stats(url: str, db: str, q: str) -> tuple[list[dict], dict]:
    r = requests.post(url + "/api/v3/query_sql_telemetry", json={"db": db, "q": q}, timeout=60)
    assert r.status_code == 200, r.text
    answer = requests.post(url + "/api/v3/query_sql", json={"db": db, "q": q}, timeout=60)
    assert answer.status_code == 200, answer.text
    (stats,) = r.json()["tables"]["cpu"]
    return answer.json(), stats


def test_an_indexed_lookup_reads_fewer_files_and_row_groups(server, db, monkeypatch):
    """Three snapshot files, then a compaction by the index: `region = 'r07'` reads one file and one
    row group instead of three of each, the answers stay the same, a scan of every region is not
    deduplicated (pieces with disjoint regions hold different series)."""
    from jupyter_influx3.engine import Engine
    from jupyter_influx3.engine.admin import fileindex
    url = server.url
    monkeypatch.setattr(fileindex, "ROW_GROUP_ROWS", 16_384)   # small pieces for a small test
    monkeypatch.setattr(fileindex, "FILE_ROWS", 65_536)
    written(url, db, "cpu,host=h0000,region=r00 v=0i 0")
    r = requests.post(url + PATH, json={"db": db, "columns": ["region"]}, timeout=30)
    assert r.status_code == 200, r.text
    queries = ["SELECT count(*) AS n, sum(v) AS s FROM cpu WHERE region = 'r07'",
               "SELECT count(*) AS n FROM cpu WHERE region IN ('r01', 'r17') AND host <> 'x'",
               "SELECT region, count(*) AS n, sum(v) AS s FROM cpu GROUP BY region ORDER BY region"]
    # another node of the server's data directory writes three files (the server compacts from four)
    with Engine(server.data_dir, node_id=f"loader-{db}", background=False, compaction_min_files=2) as e:
        for batch in range(3):
            e.write_lp(db, "\n".join(f"cpu,host=h{h:04d},region=r{h % 20:02d} v={batch}i {t * 1000 + batch + 1}"
                                     for h in range(500) for t in range(100)), precision="ns")
            e.snapshot()
        before = [_table_stats(url, db, q) for q in queries]
        assert [s["files_scanned"] for _, s in before] == [3, 3, 3], before   # the first line is buffered
        assert before[0][0] == [{"n": 7500, "s": 7500}]
        assert e.compact() == 1
        after = [_table_stats(url, db, q) for q in queries]
    assert [a for a, _ in after] == [b for b, _ in before]
    lookup, two, scan = (s for _, s in after)
    assert lookup["files_total"] == 3 and lookup["files_scanned"] == 1    # 150,001 rows in pieces of <= 65,536
    assert lookup["row_groups_total"] == 10 and lookup["row_groups_scanned"] == 1
    assert two["files_scanned"] == 2 and two["row_groups_scanned"] == 2
    assert scan["files_scanned"] == 3 and scan["row_groups_scanned"] == 10 and not scan["deduplicated"]
