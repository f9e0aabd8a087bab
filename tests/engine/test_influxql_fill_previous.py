"""fill(previous) over the fill grid (fill._fill_previous) carries each group's last value that is
not null into the rows without a point, exactly as 1.x's fill iterator steps row by row."""

from __future__ import annotations

import numpy as np
import pytest

from jupyter_influx3.engine.influxql.fill import _fill_previous


def _stepwise(gids, have, data, valid):
    """1.x's fill iterator, one row at a time (the reference)."""
    data, valid = data.copy(), valid.copy()
    prev_g, prev = None, None
    for i in range(len(gids)):
        if gids[i] != prev_g:
            prev_g, prev = gids[i], None
        if have[i]:
            prev = (data[i], valid[i]) if valid[i] else None
        elif prev is not None:
            data[i], valid[i] = prev
    return data, valid


@pytest.mark.parametrize("seed", range(40))
def test_fill_previous_matches_the_stepwise_fill(seed):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(0, 60))
    gids = np.sort(rng.integers(0, 4, n)).astype(np.int64)
    have = rng.random(n) < 0.5
    valid = have & (rng.random(n) < 0.8)
    kind = seed % 3
    data = rng.integers(-5, 5, n).astype(np.int64) if kind == 0 else rng.random(n) if kind == 1 else \
        np.array([f"s{i}" for i in range(n)], dtype=object)
    want = _stepwise(gids, have, data, valid)
    got_data, got_valid = data.copy(), valid.copy()
    _fill_previous(gids, have, got_data, got_valid)
    assert got_valid.tolist() == want[1].tolist()
    assert [d for d, ok in zip(got_data.tolist(), got_valid.tolist()) if ok] == \
        [d for d, ok in zip(want[0].tolist(), want[1].tolist()) if ok]


def test_a_null_point_stops_the_carry_and_groups_do_not_share():
    gids = np.array([0, 0, 0, 0, 1, 1], np.int64)
    have = np.array([True, False, True, False, False, True])
    valid = np.array([True, False, False, False, False, True])
    data = np.array([7.0, 0, 0, 0, 0, 3.0])
    _fill_previous(gids, have, data, valid)
    assert valid.tolist() == [True, True, False, False, False, True]
    assert data[1] == 7.0
