"""The write-ahead log of one node: framed, checksummed records in numbered files, with group commit.

Owns `<node_dir>/wal/<seq:011>.wal` files and their record framing
(`magic | length | crc32 | payload`). A write is durable once `sync()` returns for its record;
concurrent writers share one fsync (group commit). An fsync failure poisons the log: every waiting
and later write fails, nothing is retried and then acknowledged.

Does not know what a payload means (see `walcodec`), and never truncates anything but a torn tail.
"""

from __future__ import annotations

import logging
import os
import struct
import threading
from dataclasses import dataclass
from pathlib import Path

try:  # the same CRC-32 as zlib's, computed with SIMD: ~10x faster on a write's MBs of records
    from zlib_ng.zlib_ng import crc32
except ImportError:  # pragma: no cover - a platform without a zlib-ng wheel
    from zlib import crc32

from . import errors
from .fsutil import fsync_dir

log = logging.getLogger(__name__)

MAGIC = b"IXW1"
HEADER = struct.Struct("<4sII")  # magic, payload length, crc32 of payload


def wal_file_name(seq: int) -> str:
    return f"{seq:011d}.wal"


def list_wal_files(wal_dir: Path) -> list[tuple[int, Path]]:
    out = []
    try:
        names = os.listdir(wal_dir)
    except FileNotFoundError:
        return out
    for name in names:
        if name.endswith(".wal") and name[:-4].isdigit():
            out.append((int(name[:-4]), wal_dir / name))
    return sorted(out)


def frame(payload: bytes) -> bytes:
    return HEADER.pack(MAGIC, len(payload), crc32(payload)) + payload


def frame_parts(parts) -> list:
    """``frame(b"".join(parts))`` as a list of buffers (header first), without joining them."""
    crc = length = 0
    for p in parts:
        crc = crc32(p, crc)
        length += memoryview(p).nbytes
    return [HEADER.pack(MAGIC, length, crc), *parts]


@dataclass
class ReadResult:
    payloads: list[bytes]
    end: int           # offset just past the last whole, valid record
    size: int          # bytes in the file when read
    bad_at: int | None  # offset of the first record that is incomplete or fails its checksum


def read_records(path: Path, offset: int = 0) -> ReadResult:
    """Every whole, valid record from `offset` on; stops at the first short or bad one."""
    with open(path, "rb") as f:
        f.seek(offset)
        data = f.read()
    payloads, pos, n = [], 0, len(data)
    while pos < n:
        if n - pos < HEADER.size:
            break
        magic, length, crc = HEADER.unpack_from(data, pos)
        start, stop = pos + HEADER.size, pos + HEADER.size + length
        if magic != MAGIC or stop > n or crc32(data[start:stop]) != crc:
            break
        payloads.append(data[start:stop])
        pos = stop
    return ReadResult(payloads, offset + pos, offset + n, None if pos == n else offset + pos)


def recover_file(path: Path, *, is_last: bool, skip_corrupt: bool = False) -> list[bytes]:
    """Records of a WAL file at startup: truncate a torn tail of the last file, refuse corruption.

    A tail is "torn" when the bad record is the last thing in the newest file (a crash mid-append).
    Damage anywhere else means lost acknowledged data, so it is an error unless `skip_corrupt`.
    """
    res = read_records(path)
    if res.bad_at is None:
        return res.payloads
    tail = res.size - res.bad_at
    if is_last and _is_torn_tail(path, res.bad_at):
        log.warning("WAL %s: truncating torn tail of %d bytes at offset %d", path, tail, res.bad_at)
        with open(path, "r+b") as f:
            f.truncate(res.bad_at)
            os.fsync(f.fileno())
        return res.payloads
    msg = f"WAL file {path} is corrupt at offset {res.bad_at} ({tail} bytes follow)"
    if skip_corrupt:
        log.error("%s; skipping the rest of this file as requested", msg)
        return res.payloads
    raise errors.WalCorrupt(msg)


def _is_torn_tail(path: Path, bad_at: int) -> bool:
    """True if no valid record starts anywhere after `bad_at` (so nothing acknowledged follows)."""
    data = path.read_bytes()[bad_at:]
    pos = data.find(MAGIC, 1)
    while pos != -1:
        if len(data) - pos >= HEADER.size:
            _, length, crc = HEADER.unpack_from(data, pos)
            body = data[pos + HEADER.size: pos + HEADER.size + length]
            if len(body) == length and crc32(body) == crc:
                return False
        pos = data.find(MAGIC, pos + 1)
    return True


def _write_all(fd: int, bufs: list) -> int:
    """Write the buffers one after the other (writev; a short write goes on where it stopped)."""
    views = [memoryview(b).cast("B") for b in bufs]
    total = sum(v.nbytes for v in views)
    while views:
        n = os.writev(fd, views[:1024])  # (IOV_MAX)
        while views and n >= views[0].nbytes:
            n -= views[0].nbytes
            views.pop(0)
        if n:
            views[0] = views[0][n:]
    return total


class WalWriter:
    """Appends framed records to the current WAL file and makes them durable with group commit."""

    def __init__(self, wal_dir: Path, seq: int):
        self.dir = wal_dir
        self.dir.mkdir(parents=True, exist_ok=True)
        self._cond = threading.Condition()
        self._append_lock = threading.Lock()
        self._failed: BaseException | None = None
        self._open(seq)

    def _open(self, seq: int) -> None:
        self.seq = seq
        path = self.dir / wal_file_name(seq)
        self._fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        self._written = os.fstat(self._fd).st_size
        self._synced = self._written
        self._syncing = False
        fsync_dir(self.dir)

    @property
    def failed(self) -> bool:
        return self._failed is not None

    @property
    def bytes_written(self) -> int:
        return self._written

    def append(self, payload) -> tuple[int, int]:
        """Write one record (not yet durable). Returns a token for `sync`: (file seq, end offset).

        ``payload`` is bytes, or a list of buffers whose concatenation is the payload (written
        with one writev, never joined in memory)."""
        bufs = frame_parts(payload if isinstance(payload, list) else [payload])
        with self._append_lock:
            if self._failed is not None:
                raise errors.WalError(f"write-ahead log is unusable after an earlier failure: {self._failed}")
            try:
                size = _write_all(self._fd, bufs)
            except OSError as e:
                self._fail(e)
                raise errors.WalError(f"write-ahead log append failed: {e}") from e
            with self._cond:
                self._written += size
                return self.seq, self._written

    def sync(self, token: tuple[int, int]) -> None:
        """Return once the record behind `token` is on disk; one fsync serves every waiter."""
        seq, end = token
        with self._cond:
            while True:
                if self._failed is not None:
                    raise errors.WalError(f"write-ahead log fsync failed: {self._failed}")
                if seq < self.seq or self._synced >= end:
                    return
                if not self._syncing:
                    break
                self._cond.wait()
            self._syncing = True
            target, fd = self._written, self._fd
        try:
            os.fdatasync(fd)
        except OSError as e:
            with self._cond:
                self._syncing = False
                self._fail(e)
                self._cond.notify_all()
            raise errors.WalError(f"write-ahead log fsync failed: {e}") from e
        with self._cond:
            self._syncing = False
            self._synced = max(self._synced, target)
            self._cond.notify_all()

    def sync_all(self) -> None:
        with self._cond:
            token = (self.seq, self._written)
        self.sync(token)

    def _fail(self, exc: BaseException) -> None:
        self._failed = exc
        log.error("write-ahead log failed, refusing further writes: %s", exc)

    def rotate(self) -> int:
        """Make the current file durable, start the next one; returns the closed file's seq.

        The caller holds the engine's write lock, so no append races the switch.
        """
        with self._append_lock:
            self.sync_all()
            with self._cond:
                closed = self.seq
                os.close(self._fd)
                self._open(closed + 1)
            return closed

    def close(self) -> None:
        with self._append_lock:
            if self._failed is None:
                self.sync_all()
            os.close(self._fd)
