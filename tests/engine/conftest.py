import pytest

from jupyter_influx3.engine import Engine


@pytest.fixture
def engine(tmp_path):
    e = Engine(tmp_path / "data", node_id="n1", background=False)
    yield e
    e.close()



@pytest.fixture
def adopted(monkeypatch) -> list:
    """Whether each InfluxQL run started from a kept run state (influxql/select.py), in order."""
    from jupyter_influx3.engine.influxql import select

    runs: list = []
    take = select._Run._take_state

    def counted(self):
        home = take(self)
        runs.append(bool(self._derived))
        return home

    monkeypatch.setattr(select._Run, "_take_state", counted)
    return runs
