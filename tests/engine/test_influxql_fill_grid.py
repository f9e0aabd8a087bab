"""The fill iterator's grid: windows of a regular grid joined with the points' own times gives what
``np.union1d`` gives (ascending), whether the times are windows of the grid (aggregates) or not (raw times,
times outside the range), for ascending and descending grids."""

from __future__ import annotations

import numpy as np
import pytest

from jupyter_influx3.engine.influxql.fill import _grid_union


@pytest.mark.parametrize("asc", [True, False])
def test_grid_union_is_union1d(asc):
    rng = np.random.default_rng(7)
    for _ in range(300):
        interval = int(rng.choice([1, 7, 60, 10**9]))
        first = int(rng.integers(-50, 50)) * interval + int(rng.integers(0, interval))
        n = int(rng.integers(1, 40))
        grid = first + interval * np.arange(n, dtype=np.int64)
        if not asc:
            grid = grid[::-1].copy()
        on = rng.choice(grid, size=int(rng.integers(0, n + 1)), replace=False)
        off = first + rng.integers(-3 * interval, (n + 3) * interval, size=int(rng.integers(0, 3)))
        times = np.sort(np.concatenate([on, off]).astype(np.int64))
        if not len(times):
            continue
        assert _grid_union(grid, times, interval, asc).tolist() == np.union1d(grid, times).tolist()
