"""A server killed with SIGKILL while four clients write loses no acknowledged line."""

import pytest

from crash_round import LINES_PER_BATCH, run_round


@pytest.mark.timeout(600)
def test_sigkill_during_concurrent_writes_loses_no_acknowledged_line(start_influx3):
    server = start_influx3()
    rows_so_far = 0
    for seed in range(3):
        res = run_round(server, seed)  # each round writes keys of its own, checked on their own
        assert res["acked"] > 0, res
        assert not res["missing"], f"acknowledged batches missing or incomplete: {res['missing'][:5]}"
        # A batch is one WAL record: it is there whole or not at all, never half.
        assert not res["partial"], res["partial"]
        assert res["rows"] == res["present_batches"] * LINES_PER_BATCH
        assert res["present_batches"] >= res["acked"]
        # nothing of an earlier round was lost by this round's crash and restart
        rows_so_far += res["rows"]
        assert res["total_rows"] == rows_so_far
