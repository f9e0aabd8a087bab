"""Every pytest run (tests/ and the notebooks under nbval) works in temporary directories: the
default data directory (`INFLUX3_DATA_DIR`) and Jupyter's data and runtime directories are set
to a folder of this run, removed at its end, so a run never writes into the user's real Jupyter
directories and never depends on what they hold. Kernels and servers the tests start inherit it,
and a `TMPDIR` in that folder too: what they leave in their temporary directory (the folder of a
Jupyter server a killed kernel started) goes with the run. This process keeps its own temporary
directory (pytest's tmp_path folders stay where pytest keeps them).
"""

from __future__ import annotations

import os
import shutil
import tempfile

ISOLATED = ("INFLUX3_DATA_DIR", "JUPYTER_DATA_DIR", "JUPYTER_RUNTIME_DIR", "TMPDIR")
_saved: dict[str, str | None] = {}
_root: list[str] = []


def pytest_configure(config) -> None:
    tempfile.gettempdir()  # fixed for this process before TMPDIR changes for its children
    root = tempfile.mkdtemp(prefix="influx3-pytest-")
    _root.append(root)
    for name in ISOLATED:
        _saved[name] = os.environ.get(name)
        path = os.path.join(root, name.lower())
        os.makedirs(path)
        os.environ[name] = path


def pytest_unconfigure(config) -> None:
    for name, value in _saved.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value
    for root in _root:
        shutil.rmtree(root, ignore_errors=True)
