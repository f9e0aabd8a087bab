"""Helpers of the browser tests: screenshots and JupyterLab commands run in the page."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

SCREENSHOTS = os.environ.get("INFLUX3_SCREENSHOTS", "")  # a folder: the README's images are copied there


def shoot(page, name: str, tmp_dir: Path, **kw) -> Path:
    """A screenshot into the test's folder (and the README's folder when INFLUX3_SCREENSHOTS is set)."""
    path = tmp_dir / f"{name}.png"
    page.screenshot(path=str(path), **kw)
    if SCREENSHOTS:
        Path(SCREENSHOTS).mkdir(parents=True, exist_ok=True)
        shutil.copy(path, Path(SCREENSHOTS) / f"{name}.png")
    return path


def command(page, cmd: str, args: dict | None = None, wait: bool = False):
    """Runs a JupyterLab command in the page (the app is exposed by `expose_app_in_browser`); with
    `wait`, until its promise settles (run-cell commands settle only when the kernel has answered)."""
    if wait:
        return page.evaluate("([c, a]) => window.jupyterapp.commands.execute(c, a)", [cmd, args or {}])
    page.evaluate("([c, a]) => { window.jupyterapp.commands.execute(c, a); }", [cmd, args or {}])
    return None
