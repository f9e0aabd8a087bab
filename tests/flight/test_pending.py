"""Results kept between GetFlightInfo and DoGet are released even when no DoGet comes."""

from __future__ import annotations

import time

from jupyter_influx3.flight.server import PendingResults


class Result:
    def __init__(self):
        self.closed = False

    def close(self):
        self.closed = True


def test_a_result_nobody_takes_is_closed_in_time():
    pending = PendingResults(seconds=0.2)
    r = Result()
    pending.put(("ticket", None), r)
    deadline = time.monotonic() + 5
    while not r.closed and time.monotonic() < deadline:
        time.sleep(0.02)
    assert r.closed and len(pending) == 0
    pending.close()


def test_taken_once_by_the_same_key_and_bounded():
    pending = PendingResults(seconds=30, limit=2)
    a, b, c = Result(), Result(), Result()
    pending.put(("a", "tok"), a)
    assert pending.take(("a", "other-token")) is None
    pending.put(("b", "tok"), b)
    pending.put(("c", "tok"), c)  # over the limit: the oldest goes
    assert a.closed and not b.closed
    assert pending.take(("c", "tok")) is c and pending.take(("c", "tok")) is None
    pending.close()
    assert b.closed
    d = Result()
    pending.put(("d", "tok"), d)  # after close: released at once
    assert d.closed
