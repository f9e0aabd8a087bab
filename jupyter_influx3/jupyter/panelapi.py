"""The side panel's own endpoints under ``{base_url}influx3/jupyter/``, for what no InfluxDB 3 API
call answers: ``info`` (version, node, data directory, health, plugin directory: the panel's
connection header) and ``plugin_files`` (the plugin directory's plugins and one plugin's source,
for the trigger form built from its docstring metadata). Both behind Jupyter's authentication;
read only. The panel's other calls are InfluxDB 3 API calls on the same mount (`serverext.py`).

Must not: write anything, or read a file outside the plugin directory.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any, Optional

from jupyter_server.base.handlers import JupyterHandler
from tornado import web

if TYPE_CHECKING:
    from .serverext import Influx3App


class InfoHandler(JupyterHandler):
    """``GET {base_url}influx3/jupyter/info``: what the side panel's connection header shows (version,
    node, data directory, health, whether the processing engine runs). Jupyter's auth; no token."""

    def initialize(self, app: "Influx3App") -> None:
        self.app = app

    def get_login_url(self) -> str:
        raise web.HTTPError(403)  # an API: no redirect to the login page

    @web.authenticated
    def get(self) -> None:
        from .. import __version__

        engine = self.app.engine
        health = "pass" if engine is not None and not getattr(engine, "_closed", False) else "fail"
        self.set_header("Cache-Control", "no-store")
        plugin_dir = _plugin_dir(engine)
        self.finish({"version": __version__, "node_id": getattr(engine, "node_id", None),
                     "data_dir": str(getattr(engine, "data_dir", "")), "health": health,
                     "processing_engine": getattr(engine, "plugins", None) is not None,
                     "plugin_dir": str(plugin_dir) if plugin_dir else None,
                     "plugin_dir_in_root": _relative_to_root(plugin_dir, self.app.serverapp.root_dir),
                     "flight": getattr(self.app, "flight_location", "") or None})


def _plugin_dir(engine: Any) -> Optional[Path]:
    plugins = getattr(engine, "plugins", None)
    return getattr(getattr(plugins, "loader", None), "plugin_dir", None)


def _relative_to_root(path: Optional[Path], root: str) -> Optional[str]:
    """`path` relative to Jupyter's root directory (what the file browser can open), else None."""
    if path is None:
        return None
    try:
        return Path(os.path.realpath(path)).relative_to(os.path.realpath(root)).as_posix()
    except ValueError:
        return None


#: Largest plugin source the side panel reads (a plugin file, not a data file).
MAX_PLUGIN_SOURCE = 1 << 20


class PluginSourceHandler(JupyterHandler):
    """``GET {base_url}influx3/jupyter/plugin_files``: the plugins in the plugin directory (top-level
    ``.py`` files and directories with ``__init__.py``); ``?name=<file>``: one file's source, for the
    trigger form the panel builds from its docstring metadata. Names are checked against traversal
    by the engine's own plugin loader. Jupyter's auth; read only."""

    def initialize(self, app: "Influx3App") -> None:
        self.app = app

    def get_login_url(self) -> str:
        raise web.HTTPError(403)

    def fail(self, status: int, message: str) -> None:
        self.set_status(status)
        self.finish({"error": message})

    @web.authenticated
    def get(self) -> None:
        from ..engine.plugins.errors import PluginError, PluginNotFound

        engine = self.app.engine
        plugins = getattr(engine, "plugins", None)
        root = _plugin_dir(engine)
        self.set_header("Cache-Control", "no-store")
        if plugins is None or root is None:
            return self.fail(404, "the processing engine is not enabled (set Influx3App.plugin_dir)")
        name = self.get_argument("name", None)
        if name is None:
            found = []
            for p in sorted(root.iterdir()) if root.is_dir() else []:
                if p.name.startswith((".", "_")):
                    continue
                if p.is_file() and p.suffix == ".py":
                    found.append({"name": p.name, "dir": False})
                elif p.is_dir() and (p / "__init__.py").is_file():
                    found.append({"name": p.name, "dir": True})
            return self.finish({"plugins": found})
        try:
            path = plugins.loader.path_of(name)
        except PluginError as exc:
            return self.fail(404 if isinstance(exc, PluginNotFound) else 400, str(exc))
        if path.is_dir():
            path = path / "__init__.py"
        if not path.is_file() or path.stat().st_size > MAX_PLUGIN_SOURCE:
            return self.fail(400, f"{name}: not a plugin file of at most {MAX_PLUGIN_SOURCE} bytes")
        self.finish({"name": name, "source": path.read_text(encoding="utf-8", errors="replace")})
