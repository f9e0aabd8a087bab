"""The Jupyter server `notebook_server()` starts for a kernel that no server runs (nbval, nbclient,
a terminal IPython): it leaves nothing behind, and one server per data directory is reused."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile

import pytest

from jupyter_influx3.jupyter import server_info


@pytest.fixture
def tmp_root(tmp_path, monkeypatch):
    """The temporary directory the servers' folders go to, and a runtime directory of our own."""
    root = tmp_path / "tmp"
    root.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(root))
    monkeypatch.setenv("TMPDIR", str(root))
    runtime = tmp_path / "runtime"
    runtime.mkdir()
    monkeypatch.setenv("JUPYTER_RUNTIME_DIR", str(runtime))
    monkeypatch.setattr(server_info, "_started", None)
    return root


def _dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def test_folders_of_dead_servers_are_removed(tmp_root):
    dead = tmp_root / "influx3-jupyter-dead"
    live = tmp_root / "influx3-jupyter-live"
    fresh = tmp_root / "influx3-jupyter-being-set-up"
    for folder, pid in ((dead, _dead_pid()), (live, os.getpid()), (fresh, None)):
        folder.mkdir()
        (folder / "server.log").write_text("")
        if pid is not None:
            (folder / "owner.json").write_text(json.dumps({"pid": pid, "url": "http://127.0.0.1:9/"}))
    assert server_info.remove_stale_folders() == [dead]
    assert live.exists() and fresh.exists() and not dead.exists()
    assert server_info.remove_stale_folders(max_age_without_owner=0) == [fresh]


def test_one_server_per_data_directory_is_reused_and_leaves_nothing_behind(tmp_root, tmp_path):
    data = tmp_path / "data"
    first = server_info.notebook_server(data)
    try:
        assert first.started_here
        [folder] = list(tmp_root.glob("influx3-jupyter-*"))
        owner = json.loads((folder / "owner.json").read_text())
        assert owner["pid"] == first.process.pid and owner["url"] == first.root_url
        assert list((folder / "runtime").glob("jpserver-*.json"))  # its runtime files are here ...
        assert not list((tmp_path / "runtime").iterdir())  # ... and not in the user's runtime dir
        assert server_info.notebook_server(data) is first
        code = ("import sys; from jupyter_influx3.jupyter.server_info import notebook_server; "
                "print(notebook_server(sys.argv[1]).root_url)")
        other = subprocess.run([sys.executable, "-c", code, str(data)], capture_output=True, text=True,
                               timeout=120, env={**os.environ, "TMPDIR": str(tmp_root)})
        assert other.returncode == 0, other.stderr
        assert other.stdout.strip() == first.root_url  # another kernel's process reuses it
        assert list(tmp_root.glob("influx3-jupyter-*")) == [folder]
    finally:
        first.stop()
    assert not folder.exists()
