"""Copying files with a checksum, verified: what backups and restores move.

Owns `copy_verified`: the source is hashed (SHA-256) while it is copied to a temporary name, the
copy is fsynced, read back and hashed again, and only a copy whose two hashes agree (and, when the
caller knows it, equal the expected one) is renamed into place. Knows nothing of what the files are.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from ..fsutil import fsync_dir

CHUNK = 4 * 2**20


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
    when the source is not what `expected` says or the copy does not read back the same."""
    dst.parent.mkdir(parents=True, exist_ok=True)
    tmp = dst.with_name(f".{dst.name}.tmp")
    h, size = hashlib.sha256(), 0
    with open(src, "rb") as fin, open(tmp, "wb") as fout:
        while chunk := fin.read(CHUNK):
            h.update(chunk)
            fout.write(chunk)
            size += len(chunk)
        fout.flush()
        os.fsync(fout.fileno())
    digest = h.hexdigest()
    try:
        if expected is not None and digest != expected:
            raise ChecksumMismatch(src, expected, digest)
        again = sha256_of(tmp)
        if again != digest:
            raise ChecksumMismatch(dst, digest, again)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    os.replace(tmp, dst)
    fsync_dir(dst.parent)
    return digest, size
