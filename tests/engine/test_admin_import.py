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


def _rows_and_lines(times: list[int]):
    """Rows with duplicate (tags, time) keys, a missing tag, null values and out-of-order days, and
    the same rows as line protocol in the same order."""
    import itertools
    rows, lines = [], []
    for i, (t, host, region) in enumerate(itertools.product(times, ["b", "a", None], ["y", "x"])):
        for rep in range(2 if i % 3 == 0 and i < 12 else 1):   # repeated keys in the first two times
            v = None if (i + rep) % 4 == 0 else float(i * 10 + rep)
            rows.append({"host": host, "region": region, "v": v, "s": f"s{i}-{rep}", "time": t})
            tags = "".join(f",{k}={x}" for k, x in (("host", host), ("region", region)) if x is not None)
            fields = ",".join(([f"v={v}"] if v is not None else []) + [f's="s{i}-{rep}"'])
            lines.append(f"cpu{tags} {fields} {t}")
    return rows, lines


def _import_matches_writes(tmp_path, times: list[int]):
    rows, lines = _rows_and_lines(times)
    q = "SELECT host, region, v, s, time FROM cpu ORDER BY time, host, region"
    with Engine(tmp_path / "w", node_id="w", background=False) as w:
        for line in lines:
            w.write_lp("db", line, precision="ns")
        expected = w.sql("db", q).to_pylist()
    with Engine(tmp_path / "i", node_id="i", background=False) as e:
        e.write_lp("db", 'cpu,host=z,region=z v=0,s="" 1', precision="ns")
        e.sql("db", "SELECT 1")
        buf = io.BytesIO()
        pq.write_table(pa.Table.from_pylist(rows, pa.schema([("host", pa.string()), ("region", pa.string()),
                                                             ("v", pa.float64()), ("s", pa.string()),
                                                             ("time", pa.int64())])), buf)
        info = e.admin.import_parquet("db", "cpu", buf.getvalue(), {"host": "tag", "region": "tag"})
        got = e.sql("db", q + " OFFSET 0").to_pylist()
        got = [r for r in got if r["host"] != "z"]
    assert got == expected and info["rows_imported"] == len(expected) < len(rows)


def test_an_import_deduplicates_like_writes_across_days_in_any_order(tmp_path):
    day = 86_400 * 10**9
    _import_matches_writes(tmp_path, [3 * day + 5, day + 7, 2 * day, day + 7 + day // 2, 5])


def test_an_import_whose_keys_do_not_pack_into_one_integer_deduplicates_the_same(tmp_path):
    _import_matches_writes(tmp_path, [2**62 + 9, 3, 2**62 + 9, 2**61])   # the time span alone is ~2^62
