"""Bulk Parquet import (multipart) and export windows through a real server: statuses and errors,
rows queryable as soon as the import answers, and import -> export -> import giving the same rows."""

from __future__ import annotations

import io
import json
import tarfile
import time

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import requests

from http_helpers import written

IMPORT = "/api/v3/enterprise/import"
DAY = 86400 * 10**9


@pytest.fixture(scope="module")
def url(start_influx3_session):
    return start_influx3_session("--max-http-request-size", str(200 * 2**20)).url


def parquet(table: pa.Table) -> bytes:
    buf = io.BytesIO()
    pq.write_table(table, buf)
    return buf.getvalue()


def upload(url, db, table, data, meta=None, extra=None):
    files = {"file_bytes": ("f.parquet", data, "application/octet-stream")}
    form = {"database": db, "table": table, **(extra or {})}
    if meta is not None:
        form["column_metadata"] = json.dumps(meta)
    return requests.post(url + IMPORT, data=form, files=files, timeout=120)


def make_table(url, db):
    r = requests.post(f"{url}/api/v3/configure/table", json={"db": db, "table": "m", "tags": ["room"],
                                                              "fields": [{"name": "temp", "type": "float64"}]},
                      timeout=30)
    assert r.status_code == 200, r.text


def sql(url, db, q):
    r = requests.get(f"{url}/api/v3/query_sql", params={"db": db, "q": q, "format": "json"}, timeout=60)
    assert r.status_code == 200, r.text
    return r.json()


def test_import_is_queryable_when_it_answers(url, db):
    make_table(url, db)
    t = pa.table({"room": ["k", "b", "k"], "temp": [20.5, 19.0, 21.0], "hum": [40, 41, 42],
                  "ts": pa.array([1, 2, 3], pa.int64())})
    r = upload(url, db, "m", parquet(t), {"column_mapping": {"room": "tag", "ts": "time", "hum": "u64"}})
    assert r.status_code == 200, r.text
    info = r.json()
    assert info["status"] == "imported" and info["row_count"] == 3 and info["min_timestamp_ns"] == 1
    assert info["max_timestamp_ns"] == 3 and info["size_bytes"] > 0 and info["filename"] == "f.parquet"
    rows = sql(url, db, "SELECT room, temp, hum FROM m ORDER BY time")
    assert rows == [{"room": "k", "temp": 20.5, "hum": 40}, {"room": "b", "temp": 19.0, "hum": 41},
                    {"room": "k", "temp": 21.0, "hum": 42}]
    cols = sql(url, db, "SELECT column_name, data_type FROM information_schema.columns WHERE table_name = 'm' "
                        "ORDER BY column_name")
    assert {c["column_name"] for c in cols} == {"room", "temp", "hum", "time"}
    jobs = requests.get(url + IMPORT, params={"database": db}, timeout=30).json()
    assert [j["upload_uuid"] for j in jobs] == [info["upload_uuid"]]


@pytest.mark.parametrize("case,status,needle", [
    ("no_database", 400, "missing multipart part `database`"),
    ("no_file", 400, "missing multipart part `file_bytes`"),
    ("not_multipart", 400, "multipart/form-data"),
    ("bad_parquet", 400, "invalid Parquet"),
    ("empty", 400, "no rows"),
    ("bad_meta", 400, "invalid column_metadata"),
    ("bad_type", 400, "expected one of"),
    ("no_time", 400, "no time column"),
    ("mismatch", 400, "is a float in the table"),
    ("tag_not_string", 400, "must hold strings"),
    ("no_table", 404, "table not found"),
    ("no_db", 404, "database not found"),
])
def test_import_refusals(url, db, case, status, needle):
    make_table(url, db)
    good = parquet(pa.table({"room": ["k"], "temp": [1.0], "time": pa.array([5], pa.int64())}))
    if case == "no_database":
        r = requests.post(url + IMPORT, data={"table": "m"}, files={"file_bytes": ("f", good)}, timeout=30)
    elif case == "no_file":
        r = requests.post(url + IMPORT, data={"database": db, "table": "m"}, files={"x": ("f", b"1")}, timeout=30)
    elif case == "not_multipart":
        r = requests.post(url + IMPORT, json={"database": db}, timeout=30)
    elif case == "bad_parquet":
        r = upload(url, db, "m", b"PAR1 not really")
    elif case == "empty":
        r = upload(url, db, "m", parquet(pa.table({"room": pa.array([], pa.string()), "time": pa.array([], pa.int64())})))
    elif case == "bad_meta":
        r = requests.post(url + IMPORT, data={"database": db, "table": "m", "column_metadata": "{"},
                          files={"file_bytes": ("f", good)}, timeout=30)
    elif case == "bad_type":
        r = upload(url, db, "m", good, {"room": "dictionary"})
    elif case == "no_time":
        r = upload(url, db, "m", parquet(pa.table({"room": ["k"], "temp": [1.0]})))
    elif case == "mismatch":
        r = upload(url, db, "m", parquet(pa.table({"temp": ["hot"], "time": pa.array([5], pa.int64())})),
                   {"temp": "string"})
    elif case == "tag_not_string":
        r = upload(url, db, "m", parquet(pa.table({"x": [1], "time": pa.array([5], pa.int64())})), {"x": "tag"})
    elif case == "no_table":
        r = upload(url, db, "nope", good)
    else:
        r = upload(url, "nope-db", "m", good)
    assert r.status_code == status, r.text
    assert needle in r.json()["error"]
    assert sql(url, db, "SELECT count(*) AS n FROM m") == [{"n": 0}]


def test_export_lists_and_window_data(url, db):
    written(url, db, f"cpu,host=a v=1 {DAY + 5}\ncpu,host=b v=2 {3 * DAY + 7}", precision="ns")
    # persist: a backup snapshots the node (windows are days with Parquet data)
    r = requests.post(f"{url}/api/v3/enterprise/backup", json={"type": "full"}, timeout=30)
    assert r.status_code == 202
    for _ in range(200):
        if requests.get(f"{url}/api/v3/enterprise/backup/{r.json()['backup_name']}", timeout=30).json()["status"] != "in_progress":
            break
        time.sleep(0.05)
    assert db in requests.get(f"{url}/api/v3/export/databases", timeout=30).json()["databases"]
    assert requests.get(f"{url}/api/v3/export/tables", params={"db": db}, timeout=30).json() == {"tables": ["cpu"]}
    w = requests.get(f"{url}/api/v3/export/windows", params={"db": db, "table": "cpu"}, timeout=30).json()
    assert w == {"windows": ["1970-01-02", "1970-01-04"]}
    r = requests.get(f"{url}/api/v3/export/window_data", params={"db": db, "table": "cpu", "windows": "1970-01-04"},
                     timeout=30)
    assert r.status_code == 200 and r.headers["Content-Type"] == "application/x-tar"
    with tarfile.open(fileobj=io.BytesIO(r.content)) as tar:
        names = tar.getnames()
        t = pq.read_table(tar.extractfile(names[0]))
    assert names == ["cpu/1970-01-04/cpu-1970-01-04.parquet"] and t.column("host").to_pylist() == ["b"]
    for params, status in (({"db": db, "table": "cpu", "windows": "1970-01-03"}, 404),
                           ({"db": db, "table": "cpu", "windows": "yesterday"}, 400),
                           ({"db": db, "table": "nope"}, 404), ({"db": "nope-db"}, 404), ({}, 400)):
        path = "/api/v3/export/window_data" if "table" in params else "/api/v3/export/tables"
        assert requests.get(url + path, params=params, timeout=30).status_code == status, params


def test_a_1m_row_file_round_trips_import_export_import(url, start_influx3):
    n = 1_000_000
    rng = np.random.default_rng(1)
    src = pa.table({"room": pa.array(np.array(["r%d" % i for i in range(100)])[rng.integers(0, 100, n)]),
                    "temp": rng.random(n), "count": rng.integers(0, 10**9, n),
                    "time": pa.array(np.arange(n, dtype=np.int64) * 1_000_000_007 % (5 * DAY) + DAY, pa.int64())})
    make_table(url, "roundtrip")
    r = upload(url, "roundtrip", "m", parquet(src), {"room": "tag", "time": "time"})
    assert r.status_code == 200, r.text
    tar_bytes = requests.get(f"{url}/api/v3/export/window_data", params={"db": "roundtrip", "table": "m"},
                             timeout=120).content
    other = start_influx3("--max-http-request-size", str(200 * 2**20)).url
    make_table(other, "roundtrip")
    with tarfile.open(fileobj=io.BytesIO(tar_bytes)) as tar:
        members = [m for m in tar.getmembers() if m.isfile()]
        assert len(members) == 5
        for m in members:
            r = upload(other, "roundtrip", "m", tar.extractfile(m).read())
            assert r.status_code == 200, r.text
    q = "SELECT room, temp, count, time FROM m ORDER BY time, room"
    a = requests.get(f"{url}/api/v3/query_sql", params={"db": "roundtrip", "q": q, "format": "parquet"}, timeout=120)
    b = requests.get(f"{other}/api/v3/query_sql", params={"db": "roundtrip", "q": q, "format": "parquet"}, timeout=120)
    ta, tb = pq.read_table(io.BytesIO(a.content)), pq.read_table(io.BytesIO(b.content))
    assert ta.num_rows == n and ta.equals(tb)


def test_cli_import_upload_walks_a_directory_and_export_data_unpacks(url, db, tmp_path):
    from http_helpers import influx3

    make_table(url, db)
    (tmp_path / "in" / "sub").mkdir(parents=True)
    for i, where in enumerate((tmp_path / "in" / "a.parquet", tmp_path / "in" / "sub" / "b.parquet")):
        pq.write_table(pa.table({"room": [f"r{i}"], "temp": [float(i)], "ts": pa.array([DAY * (i + 1)], pa.int64())}),
                       where)
    (tmp_path / "in" / "notes.txt").write_text("not parquet")
    out = influx3("import", "upload", str(tmp_path / "in"), "-d", db, "-t", "m", "--column", "room:tag",
                  "--column", "ts:time", "--host", url)
    assert out.returncode == 0, out.stderr
    assert b"[2/2]" in out.stdout and b"imported" in out.stdout
    assert sql(url, db, "SELECT room FROM m ORDER BY time") == [{"room": "r0"}, {"room": "r1"}]
    out = influx3("export", "data", "-d", db, "-t", "m", "--window", "1970-01-03", "--output-dir",
                  str(tmp_path / "out"), "--host", url)
    assert out.returncode == 0, out.stderr
    got = pq.read_table(tmp_path / "out" / "m" / "1970-01-03" / "m-1970-01-03.parquet")
    assert got.column("room").to_pylist() == ["r1"]


def test_an_imported_file_survives_kill_9(start_influx3, db):
    """Rows of an import that answered `imported` are there after the server is killed (-9) and
    started again on the same data directory."""
    server = start_influx3()
    make_table(server.url, db)
    n = 50_000
    t = pa.table({"room": pa.array([f"r{i % 7}" for i in range(n)]), "temp": np.arange(n, dtype=np.float64),
                  "time": pa.array(np.arange(n, dtype=np.int64) * (DAY // 10_000))})   # five days
    r = upload(server.url, db, "m", parquet(t), {"room": "tag"})
    assert r.status_code == 200 and r.json()["status"] == "imported", r.text
    server.kill()
    server.start()
    got = sql(server.url, db, "SELECT count(*) AS n, sum(temp) AS s, count(DISTINCT room) AS rooms FROM m")
    assert got == [{"n": n, "s": float(n * (n - 1) // 2), "rooms": 7}]
    jobs = requests.get(server.url + IMPORT, params={"database": db}, timeout=30).json()
    assert [(j["upload_uuid"], j["status"]) for j in jobs] == [(r.json()["upload_uuid"], "imported")]
