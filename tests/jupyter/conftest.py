"""Fixtures for the notebook side: a real IPython shell with the extension loaded, on a data
directory of the test's own (also what kernels started by a test use, through the environment)."""

from __future__ import annotations

import pytest


@pytest.fixture
def data_dir(tmp_path, monkeypatch):
    """`$INFLUX3_DATA_DIR` for this test (the default data directory of connect(), the magics and
    of kernels started by the test)."""
    path = tmp_path / "influx3-data"
    monkeypatch.setenv("INFLUX3_DATA_DIR", str(path))
    monkeypatch.delenv("INFLUX3_TOKEN", raising=False)
    return path


@pytest.fixture
def ip(data_dir):
    """IPython's real InteractiveShell with `%load_ext jupyter_influx3` run; unloaded afterwards
    (which closes the engine it opened)."""
    from IPython.testing.globalipapp import get_ipython, start_ipython

    shell = start_ipython() or get_ipython()  # one shell per process, started by the first test
    for name in list(shell.user_ns):
        if not name.startswith("_") and name not in ("In", "Out", "exit", "quit", "get_ipython"):
            shell.user_ns.pop(name, None)
    shell.config.pop("Influx3Magics", None)  # %config from an earlier test
    shell.run_line_magic("load_ext", "jupyter_influx3")
    yield shell
    shell.run_line_magic("unload_ext", "jupyter_influx3")

