"""Plugin files on disk: uploads, directory replacement and the listing behind `_internal`'s
`system.plugin_files` (behaviour reference §6.2, §6.8).

Owns writes under the plugin directory: every path is checked (no absolute paths, no `..`, no
symlink leading out, nothing under the environment's `.venv`), files are written tmp → fsync →
rename, and a directory plugin is replaced as a whole (new tree built beside it, then swapped).
"""

from __future__ import annotations

import os
import shutil
import uuid
from pathlib import Path

from ..fsutil import write_file_atomic
from .errors import InvalidPluginPath
from .loader import PluginLoader, check_relative, inside

MAX_FILES = 1000


def make_loader(plugin_dir, plugin_repo) -> PluginLoader:
    return PluginLoader(plugin_dir, plugin_repo)


def _target(root: Path, rel: str) -> Path:
    rel = check_relative(rel)
    if rel.split("/")[0] in (".venv", "__pycache__"):
        raise InvalidPluginPath(f"invalid plugin path {rel!r}: reserved for the plugin environment")
    return inside(root, rel)


def _bytes(content) -> bytes:
    if isinstance(content, str):
        return content.encode("utf-8")
    if isinstance(content, (bytes, bytearray)):
        return bytes(content)
    raise InvalidPluginPath("file content must be a string")


def write_plugin_file(root: Path, rel: str, content) -> Path:
    path = _target(root, rel)
    if path.is_dir():
        raise InvalidPluginPath(f"invalid plugin path {rel!r}: is a directory")
    path.parent.mkdir(parents=True, exist_ok=True)
    write_file_atomic(path, _bytes(content))
    return path


def replace_directory(root: Path, rel: str, file_list) -> Path:
    """Replace the directory plugin `rel` by exactly `file_list` (`[{relative_path, content}]`)."""
    if not isinstance(file_list, list) or not file_list or len(file_list) > MAX_FILES:
        raise InvalidPluginPath(f"files must be a list of 1 to {MAX_FILES} entries")
    dest = _target(root, rel)
    staged = dest.parent / f".{dest.name}.{uuid.uuid4().hex[:8]}.new"
    names = set()
    for item in file_list:
        if not isinstance(item, dict) or not isinstance(item.get("relative_path"), str):
            raise InvalidPluginPath("each file needs a relative_path and a content")
        names.add(check_relative(item["relative_path"]))
    if "__init__.py" not in names:
        raise InvalidPluginPath("Multi-file plugin directory must contain __init__.py")
    try:
        staged.mkdir(parents=True)
        for item in file_list:
            p = inside(staged, item["relative_path"])
            p.parent.mkdir(parents=True, exist_ok=True)
            write_file_atomic(p, _bytes(item.get("content", "")))
        old = None
        if dest.exists():
            old = dest.parent / f".{dest.name}.{uuid.uuid4().hex[:8]}.old"
            os.rename(dest, old)
        os.rename(staged, dest)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
    finally:
        if staged.exists():
            shutil.rmtree(staged, ignore_errors=True)
    return dest


def list_plugin_files(root: Path) -> list[dict]:
    """Every `.py` file under the plugin directory (the environment and caches skipped)."""
    out = []
    if root is None or not Path(root).is_dir():
        return out
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith(".") and d != "__pycache__")
        for f in sorted(filenames):
            if not f.endswith(".py"):
                continue
            p = Path(dirpath) / f
            rel = p.relative_to(root).as_posix()
            st = p.stat()
            top = rel.split("/")[0]
            out.append({"plugin_name": top[:-3] if top.endswith(".py") else top, "file_name": f,
                        "file_path": rel, "size_bytes": st.st_size, "last_modified": st.st_mtime_ns // 10**6})
    return out
