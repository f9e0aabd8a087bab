"""`influx3 serve --snapshot-rows N`: the buffered rows that start a snapshot to Parquet."""

import subprocess
import sys
import time

import requests


def _parquet_files(data_dir) -> list:
    return list(data_dir.rglob("*.parquet"))


def _write(url: str, lines: int) -> None:
    body = "\n".join(f"cpu,host=h{i % 3} v={i} {1_700_000_000 + i}" for i in range(lines))
    r = requests.post(f"{url}/api/v3/write_lp", params={"db": "snap", "precision": "second"}, data=body, timeout=30)
    assert r.status_code == 204, r.text


def test_a_small_snapshot_rows_persists_the_buffer_once_it_holds_that_many_rows(start_influx3, tmp_path):
    srv = start_influx3("--snapshot-rows", "10", "--workers", "1")
    _write(srv.url, 30)
    deadline = time.monotonic() + 20
    while not _parquet_files(srv.data_dir) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert _parquet_files(srv.data_dir)
    r = requests.get(f"{srv.url}/api/v3/query_sql", params={"db": "snap", "q": "SELECT count(*) AS n FROM cpu"},
                     timeout=30)
    assert r.json() == [{"n": 30}]


def test_by_default_a_few_rows_stay_in_the_buffer(start_influx3):
    srv = start_influx3("--workers", "1")
    _write(srv.url, 30)
    time.sleep(1)
    assert _parquet_files(srv.data_dir) == []


def test_snapshot_rows_must_be_a_positive_number():
    for bad in ("0", "-5", "many"):
        p = subprocess.run([sys.executable, "-m", "jupyter_influx3", "serve", "--snapshot-rows", bad],
                           capture_output=True, text=True, timeout=60)
        assert p.returncode == 2 and "--snapshot-rows" in p.stderr
