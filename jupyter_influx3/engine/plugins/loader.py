"""Finding and loading plugin code (behaviour reference §6.1, plugins reference §A.1, §0.5).

Owns the mapping of a `plugin_filename` to code: a path under the plugin directory (traversal
refused, symlinks included), a single `.py` file or a directory with `__init__.py`, or `gh:<path>`
resolved against the configured plugin repository (a URL or a local directory; refused when none is
set). Single files are compiled once per change and executed in a fresh globals dict on every call,
as the real engine does (module state does not survive; plugins use the cache). Directory plugins
are imported as modules named after the directory and re-imported when any `.py` under them changes.

Does not decide when plugins run or what they are given.
"""

from __future__ import annotations

import builtins
import importlib
import linecache
import os
import sys
import threading
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from .errors import InvalidPluginPath, PluginDirNotSet, PluginError, PluginNotFound
from .linebuilder import EXPORTS as LINEBUILDER_EXPORTS

ENTRY_SIGNATURES = {
    "process_writes": "process_writes(influxdb3_local, table_batches, args=None)",
    "process_scheduled_call": "process_scheduled_call(influxdb3_local, call_time, args=None)",
    "process_request": "process_request(influxdb3_local, query_parameters, request_headers, request_body, args=None)",
}
_import_lock = threading.Lock()


def check_relative(name: str) -> str:
    """`name` as a clean relative path (trailing `/` trimmed); InvalidPluginPath if it could leave
    the directory it is joined to."""
    if not isinstance(name, str) or not name.strip() or "\x00" in name:
        raise InvalidPluginPath("invalid plugin path: empty")
    rel = name.strip().rstrip("/")
    parts = rel.replace("\\", "/").split("/")
    if rel.startswith(("/", "\\")) or (len(rel) > 1 and rel[1] == ":") or any(p in ("..", "") for p in parts):
        raise InvalidPluginPath(f"invalid plugin path {name!r}: must be relative to the plugin directory, "
                                "without '..'")
    return "/".join(parts)


def inside(root: Path, rel: str) -> Path:
    """`root/rel`, refused (InvalidPluginPath) when it resolves outside `root` (e.g. a symlink)."""
    path = root / check_relative(rel)
    real_root = os.path.realpath(root)
    if os.path.commonpath([real_root, os.path.realpath(path)]) != real_root:
        raise InvalidPluginPath(f"invalid plugin path {rel!r}: leaves the plugin directory")
    return path


@dataclass
class _Compiled:
    stamp: tuple
    code: Any = None
    error: BaseException | None = None


class Plugin:
    """Loaded plugin code; `entry(name)` gives the function to call (fresh globals for single files)."""

    def __init__(self, label: str, source: Callable[..., tuple[tuple, str | None]] | None = None,
                 package: Path | None = None, code_filename: str | None = None):
        self.label = label
        # what tracebacks name (a real path, so they show the source lines)
        self.code_filename = code_filename or label
        self._source = source
        self._package = package
        self._compiled: _Compiled | None = None
        self._module = None
        self._module_stamp = None
        self._lock = threading.Lock()

    # ---- single file ------------------------------------------------------------------------
    def _code(self):
        stamp, text = self._source(self._compiled.stamp if self._compiled else None)
        with self._lock:
            c = self._compiled
            if c is None or c.stamp != stamp:
                if text is None:  # another thread compiled another version meanwhile: read it all
                    stamp, text = self._source(None)
                c = _Compiled(stamp)
                try:
                    c.code = compile(text, self.code_filename, "exec")
                except SyntaxError as exc:  # IndentationError too; reported on every call
                    exc.filename = "<string>"  # worded as the real engine words it
                    c.error = exc
                if not os.path.isfile(self.code_filename):
                    linecache.cache[self.code_filename] = (len(text), None, text.splitlines(True),
                                                           self.code_filename)
                self._compiled = c
        if c.error is not None:
            raise c.error
        return c.code

    # ---- directory --------------------------------------------------------------------------
    def _package_stamp(self) -> tuple:
        out = []
        for dirpath, dirnames, filenames in os.walk(self._package):
            dirnames[:] = [d for d in dirnames if d != "__pycache__"]
            for f in filenames:
                if f.endswith(".py"):
                    st = os.stat(os.path.join(dirpath, f))
                    out.append((dirpath, f, st.st_mtime_ns, st.st_size))
        return tuple(sorted(out))

    def _import(self):
        stamp = self._package_stamp()
        with _import_lock:
            if self._module is not None and stamp == self._module_stamp:
                return self._module
            name = self._package.name
            for mod in [m for m in sys.modules if m == name or m.startswith(name + ".")]:
                del sys.modules[mod]
            importlib.invalidate_caches()
            sys.path.insert(0, str(self._package.parent))
            try:
                self._module = importlib.import_module(name)
            except Exception as exc:
                raise PluginError(f"Failed to import plugin module '{name}': {type(exc).__name__}: {exc}. "
                                  "Hint: Check for syntax errors or missing dependencies") from exc
            finally:
                sys.path.remove(str(self._package.parent))
            self._module_stamp = stamp
            return self._module

    # ---- either ---------------------------------------------------------------------------
    def entry(self, name: str) -> Callable:
        if self._package is not None:
            fn = getattr(self._import(), name, None)
        else:
            scope = {"__builtins__": builtins, **LINEBUILDER_EXPORTS}
            exec(self._code(), scope)
            fn = scope.get(name)
        if not callable(fn):
            raise PluginError(f"the {name} function is not present in the plugin. Should be defined as: "
                              f"{ENTRY_SIGNATURES.get(name, name)}")
        return fn


class PluginLoader:
    """Resolves plugin file names against a plugin directory and a plugin repository."""

    def __init__(self, plugin_dir: str | os.PathLike | None, plugin_repo: str | None = None):
        self.plugin_dir = Path(plugin_dir).absolute() if plugin_dir else None
        self.plugin_repo = plugin_repo
        self._plugins: dict[str, Plugin] = {}
        self._fetched: dict[str, str] = {}
        self._lock = threading.Lock()

    def require_dir(self) -> Path:
        if self.plugin_dir is None:
            raise PluginDirNotSet()
        return self.plugin_dir

    def path_of(self, filename: str) -> Path:
        """The file or directory `filename` names under the plugin directory (must exist)."""
        path = inside(self.require_dir(), filename)
        if not path.exists():
            raise PluginNotFound(f"Plugin error: plugin file not found: {filename}")
        return path

    def load(self, filename: str) -> Plugin:
        """The plugin `filename` names (checked now: PluginNotFound, InvalidPluginPath…)."""
        self.require_dir()
        if isinstance(filename, str) and filename.startswith("gh:"):
            return self._github(filename[3:])
        path = self.path_of(filename)
        if path.is_dir():
            if not (path / "__init__.py").is_file():
                raise PluginError("Multi-file plugin directory must contain __init__.py")
            key = "dir:" + str(path)
            with self._lock:
                return self._plugins.setdefault(key, Plugin(filename, package=path))
        key = "file:" + str(path)

        def source(known=None, p=path):
            """(stamp, text); the text is read only when the stamp differs from `known`."""
            try:
                st = p.stat()
                stamp = (st.st_mtime_ns, st.st_size)
                return stamp, (None if stamp == known else p.read_text(encoding="utf-8"))
            except FileNotFoundError:
                raise PluginNotFound(f"Plugin error: plugin file not found: {filename}") from None

        with self._lock:
            return self._plugins.setdefault(key, Plugin(filename, source=source, code_filename=str(path)))

    def _github(self, rel: str) -> Plugin:
        base = self.plugin_repo
        if not base:
            raise PluginError("Plugin error: gh: plugins need a plugin repository (--plugin-repo: a URL or a "
                              "local directory); none is configured")
        rel = check_relative(rel)
        if "://" not in base:
            path = inside(Path(base), rel)
            if not path.is_file():
                raise PluginNotFound(f"Plugin error: plugin file not found: gh:{rel}")
            text = path.read_text(encoding="utf-8")
        else:
            url = base.rstrip("/") + "/" + rel
            text = self._fetched.get(url)
            if text is None:
                try:
                    with urllib.request.urlopen(url, timeout=30) as r:
                        text = r.read().decode("utf-8")
                except Exception as exc:  # noqa: BLE001 - any failure is the plugin's
                    raise PluginNotFound(f"Plugin error: cannot fetch {url}: {exc}") from None
                self._fetched[url] = text
        stamp = (hash(text), len(text))
        return Plugin("gh:" + rel, source=lambda known=None: (stamp, text))
