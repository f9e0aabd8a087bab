"""Browser tests of the JupyterLab side panel: a real `jupyter lab` (subprocess on a free loopback
port, its own data, config, settings, workspace and plugin directories) with the built extension,
driven by Python Playwright in Debian's Chromium (`/usr/bin/chromium`, never a downloaded
browser). A missing Chromium, Playwright or built extension fails these tests: it never skips
them, since then the side panel would ship untested.
"""

from __future__ import annotations

import os
import secrets
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

REPO = Path(__file__).resolve().parents[2]
BUILT = REPO / "jupyter_influx3" / "labextension"
CHROMIUM = os.environ.get("INFLUX3_CHROMIUM", "/usr/bin/chromium")

PLUGIN = '''\
def process_writes(influxdb3_local, table_batches, args=None):
    for batch in table_batches:
        influxdb3_local.info(f"saw {len(batch['rows'])} rows of {batch['table_name']}")
'''

THRESHOLD_PLUGIN = '''"""
{"plugin_type": ["onwrite"],
 "onwrite_args_config": [
   {"name": "field", "example": "usage", "description": "the field to watch", "required": true},
   {"name": "limit", "example": "90", "description": "alert above this", "required": false}]}
"""
def process_writes(influxdb3_local, table_batches, args=None):
    for batch in table_batches:
        for row in batch["rows"]:
            if row.get(args["field"], 0) > float(args.get("limit", "90")):
                influxdb3_local.warn(f"{args['field']} over the limit in {batch['table_name']}")
'''


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def installed_extension() -> bool:
    for prefix in {sys.prefix, sys.base_prefix}:
        if (Path(prefix) / "share/jupyter/labextensions/jupyter-influx3/package.json").exists():
            return True
    return False


class Lab:
    """A running `jupyter lab` and the means to call its Jupyter-authenticated influx3 surface."""

    def __init__(self, url: str, token: str, root: Path, proc: subprocess.Popen):
        self.url, self.token, self.root, self.proc = url, token, root, proc
        self.headers = {"Authorization": f"token {token}"}

    def api(self, method: str, path: str, **kw) -> requests.Response:
        return requests.request(method, f"{self.url}/influx3/jupyter{path}", headers=self.headers, timeout=60, **kw)

    def write(self, db: str, lp: str, precision: str = "s") -> None:
        r = self.api("POST", f"/api/v3/write_lp?db={db}&precision={precision}", data=lp.encode())
        assert r.status_code == 204, r.text

    def notebook(self, name: str, cells: list[str]) -> None:
        nb = {"nbformat": 4, "nbformat_minor": 5, "metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3",
                                                                             "language": "python"}},
              "cells": [{"cell_type": "code", "source": c, "metadata": {}, "outputs": [], "execution_count": None,
                         "id": f"c{i}"} for i, c in enumerate(cells)]}
        r = requests.put(f"{self.url}/api/contents/{name}", headers=self.headers, timeout=30,
                         json={"type": "notebook", "format": "json", "content": nb})
        assert r.status_code in (200, 201), r.text


@pytest.fixture(scope="module")
def lab(tmp_path_factory) -> Lab:
    """Module-scoped, like the browser: Playwright's sync API runs an event loop for as long as it
    lives, which later tests' own loops (pytest-jupyter) must not find running."""
    if not (BUILT / "package.json").exists() and not installed_extension():
        pytest.fail("the side panel is not built: `pip install -e .` (hatch-jupyter-builder runs jlpm in labextension/)")
    tmp = tmp_path_factory.mktemp("lab")
    exts = tmp / "labextensions"
    exts.mkdir()
    if (BUILT / "package.json").exists():  # an editable install: serve the freshly built copy
        (exts / "jupyter-influx3").symlink_to(BUILT, target_is_directory=True)
    # the plugin directory inside Jupyter's root, so "Open Plugin File" opens JupyterLab's editor
    root, data, config = tmp / "root", tmp / "data", tmp / "config"
    plugins = root / "plugins"
    for d in (root, data, plugins, config):
        d.mkdir()
    (plugins / "saw_rows.py").write_text(PLUGIN)
    (plugins / "threshold.py").write_text(THRESHOLD_PLUGIN)
    news = tmp / "settings" / "@jupyterlab" / "apputils-extension"
    news.mkdir(parents=True)
    (news / "notification.jupyterlab-settings").write_text('{"fetchNews": "false", "checkForUpdates": false}')
    ours = tmp / "settings" / "jupyter-influx3"  # through the settings registry: the panel polls every 2 s
    ours.mkdir(parents=True)
    (ours / "plugin.jupyterlab-settings").write_text('{"pollSeconds": 2}')
    port, token = free_port(), secrets.token_hex(16)
    env = dict(os.environ, INFLUX3_DATA_DIR=str(data), JUPYTER_CONFIG_DIR=str(config))
    cmd = [sys.executable, "-m", "jupyterlab", "--no-browser", "--allow-root", "--ip=127.0.0.1", f"--port={port}",
           f"--ServerApp.token={token}", f"--ServerApp.root_dir={root}", "--LabApp.expose_app_in_browser=True",
           f"--LabApp.extra_labextensions_path={exts}", f"--LabApp.user_settings_dir={tmp / 'settings'}",
           f"--LabApp.workspaces_dir={tmp / 'workspaces'}", "--LabApp.news_url=",
           f"--Influx3App.data_dir={data}", f"--Influx3App.plugin_dir={plugins}", "--Influx3App.package_manager=disabled"]
    log = open(tmp / "lab.log", "wb")
    proc = subprocess.Popen(cmd, env=env, stdout=log, stderr=subprocess.STDOUT, cwd=root)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 90
    while True:
        try:
            if requests.get(f"{url}/influx3/jupyter/info", headers={"Authorization": f"token {token}"}, timeout=2).ok:
                break
        except requests.ConnectionError:
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            pytest.fail(f"jupyter lab did not start:\n{(tmp / 'lab.log').read_text()[-3000:]}")
        time.sleep(0.3)
    yield Lab(url, token, root, proc)
    proc.terminate()
    try:
        proc.wait(20)
    except subprocess.TimeoutExpired:
        proc.kill()
    log.close()


@pytest.fixture(scope="module")
def browser():
    if not shutil.which(CHROMIUM) and not Path(CHROMIUM).exists():
        pytest.fail(f"no Chromium at {CHROMIUM}: `.ci/run` installs Debian's chromium package")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=[
            "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-background-networking",
            "--disable-component-update", "--disable-sync"])
        yield b
        b.close()


@pytest.fixture(scope="module")
def page(lab, browser):
    context = browser.new_context(viewport={"width": 1400, "height": 850})
    context.grant_permissions(["clipboard-read", "clipboard-write"], origin=lab.url)
    pg = context.new_page()
    pg.set_default_timeout(30_000)
    yield pg
    context.close()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """A failing browser test leaves a screenshot of the page beside its temporary files."""
    outcome = yield
    report = outcome.get_result()
    page = item.funcargs.get("page") if hasattr(item, "funcargs") else None
    if report.when == "call" and report.failed and page is not None:
        # INFLUX3_UI_ARTIFACTS keeps them past pytest's rotation of its temporary folders
        path = Path(os.environ.get("INFLUX3_UI_ARTIFACTS") or item.config._tmp_path_factory.getbasetemp())
        path.mkdir(parents=True, exist_ok=True)
        shot = Path(path) / f"failure-{item.name}.png"
        try:
            page.screenshot(path=str(shot))
            report.sections.append(("screenshot", str(shot)))
            print(f"\nscreenshot of the failure: {shot}")
        except Exception:  # noqa: BLE001 - the failure itself matters more
            pass
