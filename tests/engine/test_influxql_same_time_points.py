"""derivative()/difference() skip a point at the same time as the one before it, as 1.x does when
several series merge into one stream (answers recorded from InfluxDB 1.6.7)."""

import pytest

from jupyter_influx3.engine import Engine
from jupyter_influx3.engine.influxql.executor import Executor

DATA = "m,host=a v=1 10\nm,host=b v=5 10\nm,host=a v=4 20\nm,host=b v=2 20\nm,host=a v=9 30"

# InfluxDB 1.6.7, /query?db=...&epoch=s on DATA (precision s)
RECORDED = {
    "SELECT derivative(v) FROM m": (["time", "derivative"], [[20, 0.3], [30, 0.5]]),
    "SELECT difference(v) FROM m": (["time", "difference"], [[20, 3], [30, 5]]),
    "SELECT non_negative_difference(v) FROM m": (["time", "non_negative_difference"], [[20, 3], [30, 5]]),
}


@pytest.mark.parametrize("budget", [None, 0], ids=["series-cache", "duckdb-scan"])
def test_points_at_a_time_already_seen_are_skipped_like_1_6_7(tmp_path, budget):
    eng = Engine(tmp_path / "d", node_id="n1", background=False, series_cache_bytes=budget)
    try:
        assert not eng.write_lp("db", DATA, "s").errors
        ex = Executor(eng)
        for q, (columns, values) in RECORDED.items():
            [res] = list(ex.execute(q, database="db"))
            assert res.error is None
            [s] = res.series
            assert s.columns == columns
            assert [[t // 10**9, v] for t, v in s.values] == values, q
    finally:
        eng.close()
