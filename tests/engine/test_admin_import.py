"""Bulk import on a real engine: what the HTTP tests cannot see from outside."""

from __future__ import annotations

import io

import pyarrow as pa
import pyarrow.parquet as pq

from jupyter_influx3.engine import Engine


def test_imported_rows_reach_the_last_value_cache(tmp_path):
    with Engine(tmp_path / "d", node_id="a", background=False) as a:
        a.write_lp("db", "cpu,host=a v=1 1000", precision="ns")
        a.create_last_cache("db", "cpu", "lc", key_columns=["host"], value_columns=["v"])
        buf = io.BytesIO()
        pq.write_table(pa.table({"host": ["a", "b"], "v": [5.0, 6.0], "time": pa.array([2000, 2000], pa.int64())}), buf)
        a.admin.import_parquet("db", "cpu", buf.getvalue(), {"host": "tag"})
        got = a.sql("db", "SELECT host, v FROM last_cache('cpu', 'lc') ORDER BY host").to_pylist()
        assert got == [{"host": "a", "v": 5.0}, {"host": "b", "v": 6.0}]
