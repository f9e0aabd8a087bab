"""`%influx3 backup | restore | import | export` in IPython's real InteractiveShell, on the kernel's
engine, and the same calls from Python (`client.admin`) over HTTP to a real server."""

from __future__ import annotations

import pyarrow as pa
import pyarrow.parquet as pq

from jupyter_helpers import ok, run

import jupyter_influx3
from jupyter_influx3.jupyter.display import MagicError


def test_backup_import_export_restore_in_a_notebook(ip, tmp_path):
    ok(ip, "%%lp -d demo --precision s\ncpu,host=a usage=1 1700000000")
    ok(ip, "%influx3 use demo")
    assert "completed" in ok(ip, "%influx3 backup nb1").text
    pq.write_table(pa.table({"host": ["b"], "usage": [2.0], "ts": pa.array([1700000000 * 10**9 + 5], pa.int64())}),
                   tmp_path / "more.parquet")
    msg = ok(ip, f"%influx3 import {tmp_path / 'more.parquet'} --table cpu --tags host --time-column ts")
    assert "1 rows imported into cpu" in msg.text
    ok(ip, "%%sql -o rows\nSELECT host FROM cpu ORDER BY host")
    assert list(ip.user_ns["rows"]["host"]) == ["a", "b"]
    out = ok(ip, f"%influx3 export cpu 2023-11-14 --output-dir {tmp_path / 'out'}").text
    assert "cpu-2023-11-14.parquet" in out
    assert "completed" in ok(ip, "%influx3 restore nb1").text
    ok(ip, "%%sql -o rows\nSELECT host FROM cpu ORDER BY host")
    assert list(ip.user_ns["rows"]["host"]) == ["a"]
    res = run(ip, "%influx3 restore nope")
    assert isinstance(res.error_in_exec, MagicError) and "backup not found" in str(res.error_in_exec)


def test_the_python_client_over_http(start_influx3, tmp_path):
    server = start_influx3()
    db = jupyter_influx3.connect(url=server.url, database="demo")
    db.write("cpu,host=a usage=1 1700000000", precision="s")
    record = db.admin.backup("py1")
    assert record["status"] == "completed" and record["total_files"] == 1
    assert [b["name"] for b in db.admin.backups()] == ["py1"]
    db.write("cpu,host=b usage=1 1700000000", precision="s")
    assert db.admin.restore("py1")["status"] == "completed"
    assert list(db.sql("SELECT host FROM cpu")["host"]) == ["a"]
    paths = db.admin.export("cpu", "demo", output_dir=tmp_path)
    assert [p.name for p in paths] == ["cpu-2023-11-14.parquet"]
    infos = db.admin.import_parquet(paths[0], "cpu", "demo")
    assert infos[0]["status"] == "imported"
