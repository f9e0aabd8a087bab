import pytest

from jupyter_influx3.engine import Engine


@pytest.fixture
def engine(tmp_path):
    e = Engine(tmp_path / "data", node_id="n1", background=False)
    yield e
    e.close()

