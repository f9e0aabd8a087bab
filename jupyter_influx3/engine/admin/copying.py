"""Copying files with a checksum: what backups and restores move.

Owns `copy_verified`: the kernel copies the source to a temporary name (copy_file_range, no
bytes through Python) while a second thread hashes the source (SHA-256; hashlib releases the GIL);
the copy is fsynced, its size checked, then renamed into place. A caller that knows the expected
hash (a restore reading a backup) gets ChecksumMismatch before anything is renamed. Knows nothing of what
the files are.
"""

from __future__ import annotations

import hashlib
import os
import shutil
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from ..fsutil import fsync_dir

CHUNK = 4 * 2**20
_HASHER = ThreadPoolExecutor(max_workers=2, thread_name_prefix="influx3-sha256")


class ChecksumMismatch(Exception):
    def __init__(self, path: Path, expected: str, got: str):
        super().__init__(f"checksum mismatch for {path.name}: expected {expected[:12]}…, got {got[:12]}…")


def sha256_of(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(CHUNK):
            h.update(chunk)
    return h.hexdigest()


def copy_verified(src: Path, dst: Path, expected: str | None = None) -> tuple[str, int]:
    """Copy `src` to `dst` (never half-written); returns (sha256, bytes). Raises ChecksumMismatch
    when the source is not what `expected` says, OSError when the copy is short."""
    dst.parent.mkdir(parents=True, exist_ok=True)
    tmp = dst.with_name(f".{dst.name}.tmp")
    hashing = _HASHER.submit(sha256_of, src)   # beside the copy: both read the source
    try:
        shutil.copyfile(src, tmp)                 # copy_file_range/sendfile: no copy through Python
        fd = os.open(tmp, os.O_RDONLY)
        try:
            os.fsync(fd)
            size = os.fstat(fd).st_size
        finally:
            os.close(fd)
        digest = hashing.result()
        if expected is not None and digest != expected:
            raise ChecksumMismatch(src, expected, digest)
        if os.stat(src).st_size != size:
            raise OSError(f"{src.name} changed while it was copied")
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    os.replace(tmp, dst)
    fsync_dir(dst.parent)
    return digest, size
