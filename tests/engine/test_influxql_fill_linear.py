"""fill(linear) (influxql/fill.py ``_fill_linear``): 1.x's interpolation by window number between
the two nearest points of a series with values, found for all rows at once (integers as 1.x's
linearInteger: float steps, truncated toward zero; tests/engine/test_influxql_diff.py holds
1.6.7's answers).

Row by row, the search for the next point made a sparse series over many windows quadratic: one
query of a million empty windows held a server's event loop for hours. The rows it fills and the
values it gives are held to that row-by-row definition here.
"""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as hs

from jupyter_influx3.engine.influxql.executor import Executor
from jupyter_influx3.engine.influxql.fill import _fill_linear


def _row_by_row(gids, times, interval, kind, have, data, valid):
    """1.x's linear fill as its iterators step through the rows (the definition)."""
    res, valid = data.copy(), valid.copy()
    prev_i = prev_g = None
    for i in range(len(gids)):
        if gids[i] != prev_g:
            prev_g, prev_i = gids[i], None
        if have[i]:
            prev_i = i if valid[i] else None
            continue
        if prev_i is None:
            continue
        j = i + 1
        while j < len(gids) and gids[j] == gids[i] and not have[j]:
            j += 1
        if j < len(gids) and gids[j] == gids[i] and valid[j]:
            t0, t1, ti = int(times[prev_i] // interval), int(times[j] // interval), int(times[i] // interval)
            if kind == "float":
                res[i] = (data[j] - data[prev_i]) / float(t1 - t0) * float(ti - t0) + data[prev_i]
            else:
                # linearInteger: float64 steps, the value truncated toward zero (int() does)
                step = float(int(data[j]) - int(data[prev_i])) / float(t1 - t0)
                res[i] = int(step * float(ti - t0) + float(data[prev_i]))
            valid[i] = True
    return res, valid


@settings(max_examples=300, deadline=None)
@given(rows=hs.lists(hs.tuples(hs.integers(0, 2), hs.booleans(), hs.booleans(), hs.integers(-10**6, 10**6)),
                     max_size=60),
       kind=hs.sampled_from(["float", "integer"]), interval=hs.sampled_from([1, 7, 60]))
def test_it_fills_the_rows_the_row_by_row_definition_fills_with_the_same_values(rows, kind, interval):
    rows = sorted(rows, key=lambda r: r[0])          # rows come grouped
    gids = np.array([r[0] for r in rows], np.int64)
    times = np.arange(len(rows), dtype=np.int64) * interval + 3 * interval
    have = np.array([r[1] for r in rows], bool)
    valid = have & np.array([r[2] for r in rows], bool)
    data = np.array([r[3] / (3.0 if kind == "float" else 1) for r in rows],
                    np.float64 if kind == "float" else np.int64)
    want, want_valid = _row_by_row(gids, times, interval, kind, have, data, valid)
    got_valid = valid.copy()
    got = _fill_linear(gids, times, interval, kind, have, data, got_valid)
    assert np.array_equal(got_valid, want_valid)
    assert got[got_valid].tobytes() == want[want_valid].tobytes()   # the same bits


def test_a_sparse_series_over_half_a_million_windows_is_filled(engine):
    assert not engine.write_lp("db", "m v=0 0\nm v=1000 500000", "s").errors
    [r] = Executor(engine).execute("SELECT mean(v) FROM m WHERE time >= 0s AND time <= 500000s "
                                   "GROUP BY time(1s) fill(linear)", database="db", now_ns=10**18)
    assert r.error is None
    values = r.series[0].values
    assert len(values) == 500_001
    assert values[0][1] == 0 and values[250_000][1] == 500.0 and values[-1][1] == 1000
    assert values[123_457][1] == (1000 - 0) / 500000.0 * 123_457
