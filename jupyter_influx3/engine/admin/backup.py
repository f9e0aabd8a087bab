"""Backups: `<data-dir>/backups/<name>/` holds `manifest.json` (the job record and the file list
with checksums), `catalog.json` (the catalog as it was) and `data/<node>/dbs/<db>/<table>/<day>/…`
(the Parquet files).

What a backup holds: every acknowledged write of every node of the data directory up to its
watermark — this node's buffer is persisted first, other nodes' buffered rows (read from their
WAL) are written into the backup as Parquet — not only what was already in Parquet, as InfluxDB 3
does. Every file is copied with a checksum and read back before the backup is `completed`; a
backup whose process died is `failed`, never `completed`. An incremental backup copies only files
its parent chain does not hold, and refers to the others.

Owns creating, listing, reading, cancelling and deleting backups. Does not restore (restore.py).
"""

from __future__ import annotations

import contextlib
import json
import logging
import shutil
import threading
import time
import uuid
from dataclasses import asdict
from pathlib import Path

import duckdb
import pyarrow as pa

from .. import persist
from . import jobs
from .copying import copy_verified, sha256_of
from .jobs import COMPLETED, FAILED, IN_PROGRESS, AdminError

log = logging.getLogger(__name__)

MANIFEST, CATALOG, DATA, LOCK, CANCEL = "manifest.json", "catalog.json", "data", ".job.lock", "CANCEL"
LEASE_WAIT_S = 600.0


class Cancelled(Exception):
    pass


class Backups:
    """The backups of one data directory, run by one node."""

    def __init__(self, engine, root: Path | None = None):
        self.engine = engine
        self.root = root if root is not None else engine.data_dir / "backups"
        self._jobs = jobs.Runner("backup")

    # ---- reading -------------------------------------------------------------------------------
    def _record(self, name: str) -> dict | None:
        d = self.root / name
        return jobs.settle(jobs.read(d / MANIFEST), d / LOCK, d / MANIFEST)

    def get(self, name: str) -> dict:
        """The manifest of one backup (file list included); AdminError 404 when there is none."""
        jobs.check_name(name)
        record = self._record(name)
        if record is None:
            raise AdminError(404, f"backup not found: {name}")
        return record

    def list(self) -> list[dict]:
        """Every backup, oldest first, without their file lists."""
        out = []
        if self.root.exists():
            for d in sorted(p for p in self.root.iterdir() if p.is_dir() and jobs.NAME_RE.match(p.name)):
                record = self._record(d.name)
                if record is not None:
                    out.append(summary(record))
        return sorted(out, key=lambda r: (r["created_at"], r["name"]))

    def chain(self, name: str) -> list[dict]:
        """The backup and its parents, oldest (the full backup) first; each must be completed."""
        out, seen = [], set()
        while name is not None:
            if name in seen:
                raise AdminError(409, f"backup chain of {out[-1]['name']} loops")
            seen.add(name)
            record = self.get(name)
            if record["status"] != COMPLETED:
                raise AdminError(409, f"backup {name} is {record['status']}, not completed")
            out.append(record)
            name = record.get("parent")
        return out[::-1]

    # ---- creating ------------------------------------------------------------------------------
    def create(self, name: str | None = None, *, force: bool = False, kind: str = "full",
               parent: str | None = None, wait: bool = False) -> dict:
        """Start a backup; returns ``{"backup_name", "status": "in_progress"}`` (with `wait`, the
        finished manifest). AdminError 409 on a duplicate name (unless `force`) or a running backup."""
        if kind not in ("full", "incremental"):
            raise AdminError(400, f"invalid backup type {kind!r}: expected full or incremental")
        if kind == "incremental" and not parent:
            raise AdminError(400, "an incremental backup needs a parent backup")
        if kind == "full" and parent:
            raise AdminError(400, "a full backup has no parent (use type incremental)")
        if parent is not None:
            self.chain(jobs.check_name(parent, "parent backup name"))
        self.root.mkdir(exist_ok=True)
        running = jobs.JobLock(self.root / ".running.lock")
        if not running.acquire():
            raise AdminError(409, "a backup is already running")
        try:
            name = jobs.check_name(name) if name else self._generated_name()
            d = self.root / name
            if d.exists():
                existing = self._record(name)
                if existing is not None and not force:
                    raise AdminError(409, f"backup {name} already exists (use force to overwrite it)")
                if existing is not None and existing.get("status") == IN_PROGRESS:
                    raise AdminError(409, f"backup {name} is in progress")
                children = [b["name"] for b in self.list() if b.get("parent") == name]
                if children:
                    raise AdminError(409, f"backup {name} is the parent of {', '.join(children)}")
                shutil.rmtree(d)
            d.mkdir()
            lock = jobs.JobLock(d / LOCK)
            lock.acquire()
            record = {"name": name, "type": kind, "parent": parent, "status": IN_PROGRESS,
                      "created_at": jobs.rfc3339(), "node": self.engine.node_id,
                      "total_files": 0, "total_size_bytes": 0}
            jobs.write(d / MANIFEST, record)
        except BaseException:
            running.release()
            raise
        t = self._jobs.start(name, self._run, d, record, lock, running)
        if wait:
            t.join()
            return self.get(name)
        return {"backup_name": name, "status": IN_PROGRESS}

    def _generated_name(self) -> str:
        base = "backup-" + time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
        name, n = base, 1
        while (self.root / name).exists():
            n += 1
            name = f"{base}-{n}"
        return name

    def _run(self, d: Path, record: dict, lock: jobs.JobLock, running: jobs.JobLock) -> None:
        try:
            done = self._copy(d, record)
            record = {**record, **done, "status": COMPLETED, "completed_at": jobs.rfc3339()}
        except Cancelled:
            record = {**record, "status": FAILED, "error": "cancelled"}
        except Exception as exc:  # the job's answer, kept in its record
            log.exception("backup %s failed", record["name"])
            record = {**record, "status": FAILED, "error": f"backup failed: {exc}"}
        try:
            if record["status"] != COMPLETED:
                shutil.rmtree(d / DATA, ignore_errors=True)   # no half a backup takes space
            jobs.write(d / MANIFEST, record)
        finally:
            lock.release()
            running.release()

    def _check_cancel(self, d: Path) -> None:
        if self._jobs.closing.is_set() or (d / CANCEL).exists():
            raise Cancelled()

    def _copy(self, d: Path, record: dict) -> dict:
        eng = self.engine
        with lease(eng, self._jobs.closing):
            # This node's buffer goes to Parquet; other nodes' acknowledged writes are read from
            # their WAL: a consistent view of every acknowledged write, files and rows.
            eng.snapshot()
            eng.refresh(force=True)
            with eng._view_lock:
                files = eng.index.all()
                pending = {node: {key: [b for _, b in tb.chunks] for key, tb in rep.buffer.tables.items()}
                           for node, rep in eng.replicas.items()}
                state = eng.catalog.state()
                watermark = {"time": jobs.rfc3339(), "time_ns": time.time_ns(),
                             "nodes": {eng.node_id: eng._seq}}
            inherited = self._inherited(record.get("parent"))
            out_files, size = [], 0
            for f in files:
                self._check_cancel(d)
                entry = asdict(f)
                prior = inherited.get(f.path)
                if prior is not None and prior["bytes"] == f.bytes:
                    entry.update(sha256=prior["sha256"], backup=prior["backup"])
                else:
                    digest, nbytes = copy_verified(eng.data_dir / f.path, d / DATA / f.path)
                    entry.update(sha256=digest, bytes=nbytes, backup=record["name"])
                    size += nbytes
                out_files.append(entry)
            for node, tables in pending.items():
                self._check_cancel(d)
                for entry in self._write_pending(d, node, tables, record["name"]):
                    watermark["nodes"][node] = max(watermark["nodes"].get(node, 0), entry["max_seq"])
                    size += entry["bytes"]
                    out_files.append(entry)
        catalog_bytes = json.dumps(state).encode()
        (d / CATALOG).write_bytes(catalog_bytes)
        self._check_cancel(d)
        self._verify(d, out_files)
        return {"files": out_files, "total_files": len(out_files), "total_size_bytes": size,
                "catalog_sequence": state["seq"], "catalog_sha256": sha256_of(d / CATALOG),
                "watermark": watermark}

    def _inherited(self, parent: str | None) -> dict[str, dict]:
        """Files the parent chain holds, by their path in the data directory."""
        if parent is None:
            return {}
        return {f["path"]: f for b in self.chain(parent) for f in b.get("files", [])}

    def _write_pending(self, d: Path, node: str, tables: dict, name: str) -> list[dict]:
        """Another node's buffered (WAL-only) rows, deduplicated, as Parquet files in the backup."""
        out = []
        con = duckdb.connect()
        try:
            for (db_id, table_id), batches in tables.items():
                batches = [b for b in batches if b.num_rows]
                if not batches:
                    continue
                t = pa.concat_tables([pa.Table.from_batches([b]) for b in batches], promote_options="permissive")
                t = persist.dedup_sort(con, t)
                for meta in persist.write_parquet(d / DATA, f"wal-{node}", db_id, table_id, t,
                                                  f"wal-{uuid.uuid4().hex[:8]}"):
                    entry = asdict(meta)
                    entry.update(sha256=sha256_of(d / DATA / meta.path), backup=name)
                    out.append(entry)
        finally:
            con.close()
        return out

    def _verify(self, d: Path, files: list[dict]) -> None:
        """Every file of the backup (its own and its parents') is there, whole: the size the
        checksum was taken over, and a Parquet footer that counts the rows the manifest says."""
        import pyarrow.parquet as pq

        for f in files:
            path = self.root / f["backup"] / DATA / f["path"]
            try:
                ok = path.stat().st_size == f["bytes"] and pq.read_metadata(path).num_rows == f["rows"]
            except (OSError, ValueError) as exc:
                raise RuntimeError(f"verification failed: {f['path']} in backup {f['backup']}: {exc}") from None
            if not ok:
                raise RuntimeError(f"verification failed: {f['path']} in backup {f['backup']} is not whole")

    # ---- cancelling and deleting ---------------------------------------------------------------
    def cancel(self, name: str) -> dict:
        record = self.get(name)
        if record["status"] != IN_PROGRESS:
            raise AdminError(404, f"no backup is running with name {name}")
        (self.root / name / CANCEL).touch()
        return {"backup_name": name}

    def delete(self, name: str, *, incremental: bool = False) -> dict:
        """Delete a backup; one with incremental children only with `incremental` (then the
        children go too). AdminError 409 for a running backup."""
        record = self.get(name)
        if record["status"] == IN_PROGRESS:
            raise AdminError(409, f"backup {name} is in progress")
        children = [b["name"] for b in self.list() if b.get("parent") == name]
        if children and not incremental:
            raise AdminError(409, f"backup {name} has incremental children ({', '.join(children)}); "
                                  "delete with incremental=true to delete them too")
        for child in children:
            self.delete(child, incremental=True)
        shutil.rmtree(self.root / name, ignore_errors=True)
        return {"backup_name": name, "type": record.get("type", "full")}

    def wait(self, name: str, timeout: float | None = None) -> dict:
        self._jobs.join(name, timeout)
        return self.get(name)

    def close(self) -> None:
        self._jobs.close()


def summary(record: dict) -> dict:
    """A backup as the list shows it (the spec's FullBackupListItem, plus parent and error)."""
    keys = ("name", "type", "status", "created_at", "completed_at", "total_files", "total_size_bytes",
            "parent", "error", "watermark")
    return {k: record[k] for k in keys if record.get(k) is not None}


@contextlib.contextmanager
def lease(engine, closing: threading.Event):
    """The data directory's maintenance lease, held while files are copied: no compaction or purge
    may delete a file the job has yet to copy (nor run beside a restore)."""
    deadline = time.monotonic() + LEASE_WAIT_S
    while True:
        cm = engine._lease()
        if cm.__enter__():
            try:
                yield
            finally:
                cm.__exit__(None, None, None)
            return
        cm.__exit__(None, None, None)
        if closing.is_set() or time.monotonic() > deadline:
            raise RuntimeError("the maintenance lease stayed taken (compaction running?)")
        time.sleep(0.2)
