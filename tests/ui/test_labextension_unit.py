"""The side panel's TypeScript logic (labextension/src/logic.ts: SQL text, time-range macro, chart
series, error lines, history, trigger arguments) under the extension template's jest setup, run as
part of the suite. The install (`pip install -e .`) leaves labextension/node_modules behind."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

LABEXT = Path(__file__).resolve().parents[2] / "labextension"


def test_the_typescript_unit_tests_pass():
    if not (LABEXT / "node_modules" / "jest").exists():
        pytest.fail("labextension/node_modules is missing: `pip install -e .` runs `jlpm install` there")
    jlpm = shutil.which("jlpm", path=os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")]))
    assert jlpm, "jlpm (from jupyterlab or jupyter-builder) is not installed"
    out = subprocess.run([jlpm, "jest", "--ci", "--silent"], cwd=LABEXT, capture_output=True, text=True, timeout=240)
    assert out.returncode == 0, out.stdout[-4000:] + out.stderr[-4000:]
    assert "failed" not in out.stderr.split("Tests:")[-1].split("\n")[0]
