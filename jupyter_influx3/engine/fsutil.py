"""Durable file primitives: atomic replace, exclusive create, fsync of files and directories.

Owns the one way the engine makes a metadata file durable; knows nothing of what the files mean.
"""

from __future__ import annotations

import os
import uuid
from pathlib import Path


def fsync_dir(path: str | os.PathLike) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _write_tmp(path: Path, data: bytes, mode: int = 0o644) -> Path:
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    try:
        os.write(fd, data)
        os.fsync(fd)
    finally:
        os.close(fd)
    return tmp


def write_file_atomic(path: str | os.PathLike, data: bytes) -> None:
    """tmp → fsync → rename → fsync dir: readers see the old file or the new one, never a part."""
    path = Path(path)
    tmp = _write_tmp(path, data)
    os.replace(tmp, path)
    fsync_dir(path.parent)


def write_file_exclusive(path: str | os.PathLike, data: bytes, mode: int = 0o644) -> None:
    """Create `path` with `data` complete and durable, or raise FileExistsError if it exists.

    A hard link of a fsynced temp file is atomic and fails if the name is taken, so a reader never
    sees a half-written file and two writers can never both win the same name.
    """
    path = Path(path)
    tmp = _write_tmp(path, data, mode)
    try:
        os.link(tmp, path)
    finally:
        os.unlink(tmp)
    fsync_dir(path.parent)
