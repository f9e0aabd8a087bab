"""Installing the package enables the server extension (the config file in
etc/jupyter/jupyter_server_config.d), and importing the package loads no Jupyter module."""

from __future__ import annotations

import re
import subprocess
import sys


def test_server_extension_is_enabled_by_the_install():
    out = subprocess.run([sys.executable, "-m", "jupyter_server", "extension", "list"], capture_output=True,
                         text=True, timeout=120)
    text = re.sub(r"\x1b\[[0-9;]*m", "", out.stdout + out.stderr)
    assert re.search(r"jupyter_influx3\s+enabled", text), text
    assert re.search(r"jupyter_influx3 [\d.]+ OK", text), text


def test_import_is_cheap():
    code = ("import sys, jupyter_influx3, jupyter_influx3.engine, jupyter_influx3.http.routes; "
            "print(sorted(m for m in ('IPython', 'ipywidgets', 'jupyter_server', 'plotly') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.stdout.strip() == "[]", out.stderr
