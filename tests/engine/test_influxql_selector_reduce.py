"""The selectors' fast segment reduction picks the very rows the sort-based pick does."""

import numpy as np
import pytest

from jupyter_influx3.engine.influxql import reducers


def _by_sort(name, kind, vals, times, starts, n):
    # the sort-based pick alone (the reduction disabled for this call)
    orig = reducers._select_by_reduce
    reducers._select_by_reduce = lambda *a: None
    try:
        return reducers._select_vectorized(name, kind, vals, times, starts, n)
    finally:
        reducers._select_by_reduce = orig


@pytest.mark.parametrize("name", ["min", "max", "first", "last"])
@pytest.mark.parametrize("kind", ["float", "integer"])
def test_reduction_picks_the_rows_the_sort_picks(name, kind):
    rng = np.random.default_rng(7)
    for trial in range(300):
        n = int(rng.integers(1, 40))
        # few distinct values and times: many ties on value, on time and on both
        vals = rng.integers(-3, 3, n)
        vals = vals.astype(np.float64) * 0.5 if kind == "float" else vals.astype(np.int64)
        if kind == "integer" and trial % 7 == 0:
            vals[rng.integers(0, n)] = np.iinfo(np.int64).min
        times = rng.integers(0, 5, n).astype(np.int64)
        cuts = np.unique(rng.integers(1, n, int(rng.integers(0, 5)))) if n > 1 else np.zeros(0, np.int64)
        starts = np.concatenate([[0], cuts]).astype(np.int64)
        fast = reducers._select_by_reduce(name, kind, vals, times, starts, n)
        assert fast is not None
        assert fast.tolist() == _by_sort(name, kind, vals, times, starts, n).tolist(), (vals, times, starts)


def test_nan_and_unsigned_take_the_sort():
    v = np.array([1.0, np.nan, 2.0])
    t = np.arange(3, dtype=np.int64)
    assert reducers._select_by_reduce("max", "float", v, t, np.array([0]), 3) is None
    assert reducers._select_by_reduce("max", "unsigned", np.array([1, 3, 2], np.uint64), t, np.array([0]), 3) is None
