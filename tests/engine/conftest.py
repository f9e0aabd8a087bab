import os

import pytest

from jupyter_influx3.engine import Engine


@pytest.fixture
def engine(tmp_path):
    e = Engine(tmp_path / "data", node_id="n1", background=False)
    yield e
    e.close()


@pytest.fixture
def voluntary_switches():
    """How many times a thread (by its native id) gave up its CPU so far: each sleep, wait or
    blocking lock is one, so the count of a background thread is how often it woke. From /proc
    (Linux: the test is skipped elsewhere)."""
    if not os.path.isdir("/proc/self/task"):
        pytest.skip("counts a thread's context switches in /proc (Linux)")

    def count(native_id: int) -> int:
        with open(f"/proc/self/task/{native_id}/status") as f:
            return next(int(line.split()[1]) for line in f if line.startswith("voluntary_ctxt_switches"))

    return count



@pytest.fixture
def general_run(monkeypatch) -> None:
    """The dashboard run (influxql/dashboard.py) off: it keeps no run state and takes single-series
    GROUP BY time() queries whole, so tests of the general run's state switch it off."""
    from jupyter_influx3.engine.influxql import dashboard

    monkeypatch.setattr(dashboard, "run", lambda p, scanner: None)


@pytest.fixture
def adopted(monkeypatch, general_run) -> list:
    """Whether each InfluxQL run started from a kept run state (influxql/select.py), in order (the
    general run's: the dashboard run is off)."""
    from jupyter_influx3.engine.influxql import select

    runs: list = []
    take = select._Run._take_state

    def counted(self):
        home = take(self)
        runs.append(bool(self._derived))
        return home

    monkeypatch.setattr(select._Run, "_take_state", counted)
    return runs
