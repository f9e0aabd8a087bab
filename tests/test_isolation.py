"""A test run works in temporary directories (the root conftest.py): never in the user's Jupyter
data or runtime directories, never on a data directory an earlier run left behind."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from jupyter_influx3.cli import default_data_dir


def test_the_default_data_dir_and_jupyters_dirs_are_temporary():
    tmp = Path(tempfile.gettempdir()).resolve()
    for name in ("INFLUX3_DATA_DIR", "JUPYTER_DATA_DIR", "JUPYTER_RUNTIME_DIR"):
        path = Path(os.environ[name]).resolve()
        assert tmp in path.parents, f"{name}={path}"
        assert Path.home().resolve() not in path.parents or Path.home().resolve() in tmp.parents
    assert default_data_dir() == Path(os.environ["INFLUX3_DATA_DIR"])


def test_jupyter_finds_the_temporary_dirs():
    from jupyter_core.paths import jupyter_data_dir, jupyter_runtime_dir

    assert jupyter_data_dir() == os.environ["JUPYTER_DATA_DIR"]
    assert jupyter_runtime_dir() == os.environ["JUPYTER_RUNTIME_DIR"]


def test_processes_the_tests_start_get_a_temporary_dir_of_the_run():
    import subprocess
    import sys

    out = subprocess.run([sys.executable, "-c", "import tempfile; print(tempfile.gettempdir())"],
                         capture_output=True, text=True, check=True).stdout.strip()
    assert out == os.environ["TMPDIR"]
    assert Path(os.environ["INFLUX3_DATA_DIR"]).parent == Path(out).parent
