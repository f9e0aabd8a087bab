"""Time bounds relative to now() are computed in Python exactly as DuckDB computes them (no DuckDB
statement per query); any other bound text still goes to DuckDB."""

import time

import duckdb
import pytest

from jupyter_influx3.engine import Engine
from jupyter_influx3.engine.sql.runner import now_relative_ns
from jupyter_influx3.engine.sql.timeparse import format_ns
from jupyter_influx3.engine.sql.translate import NOW_MARKER

NOW = f"CAST('{NOW_MARKER}' AS TIMESTAMP_NS)"


@pytest.mark.parametrize("text", [NOW, f"{NOW} - INTERVAL '1' HOUR", f"{NOW} + INTERVAL '5' MINUTE",
                                  f"{NOW} - INTERVAL '15' MINUTES", f"{NOW} - INTERVAL '2' DAYS",
                                  f"{NOW} - INTERVAL '90' SECONDS", f"{NOW} - INTERVAL '1' WEEK",
                                  f"{NOW} - INTERVAL '100' MILLISECONDS", f"{NOW} + INTERVAL '7' MICROSECONDS"])
@pytest.mark.parametrize("now_ns", [1_796_433_000_123_456_789, 1_700_000_000_000_000_001, 86_400 * 10**9 * 3 + 999])
def test_a_bound_of_now_and_a_fixed_interval_is_the_value_duckdb_gives(text, now_ns):
    duck = duckdb.connect().execute(
        f"SELECT epoch_ns(CAST(({text.replace(NOW_MARKER, format_ns(now_ns))}) AS TIMESTAMP_NS))").fetchone()[0]
    assert now_relative_ns(text, now_ns) == duck


@pytest.mark.parametrize("text", [f"{NOW} - INTERVAL '1' MONTH", f"{NOW} - INTERVAL '1 hour 30 minutes'",
                                  f"{NOW} - INTERVAL '1.5 HOURS'", f"{NOW} - CAST('1 hour' AS INTERVAL)",
                                  f"date_trunc('hour', {NOW})", "CAST('2024-01-01' AS TIMESTAMP_NS)"])
def test_any_other_bound_is_left_to_duckdb(text):
    assert now_relative_ns(text, 1_700_000_000_000_000_000) is None


def test_a_query_bounded_by_now_reads_the_rows_inside_the_bound_from_every_source(tmp_path):
    e = Engine(tmp_path, node_id="n", background=False)
    now = time.time_ns()
    minute = 60 * 10**9
    e.write_lp("db", f"m,host=a v=1 {now - 61 * minute}\nm,host=a v=2 {now - 59 * minute}", "ns")
    e.snapshot()
    e.write_lp("db", f"m,host=b v=3 {now - 62 * minute}\nm,host=b v=4 {now - 58 * minute}", "ns")
    for q in ("SELECT v FROM m WHERE time >= now() - interval '1 hour' ORDER BY v",
              "SELECT v FROM m WHERE time > now() - INTERVAL '60 minutes' AND time <= now() ORDER BY v"):
        assert e.sql("db", q).to_pylist() == [{"v": 2.0}, {"v": 4.0}]
    assert e.sql("db", "SELECT v FROM m WHERE time < now() - interval '1 hour' ORDER BY v").to_pylist() == \
        [{"v": 1.0}, {"v": 3.0}]
    e.close()
