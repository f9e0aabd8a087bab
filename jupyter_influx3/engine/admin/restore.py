"""Restores: a point-in-time rollback of the live data directory to a backup, picked up by every
node, and the offline restore of a backup into a fresh data directory.

A restore copies the backup's files (checksums verified) into this node's prefix, then publishes
them in one manifest marked ``restore: {epoch, cut}`` and commits a catalog ``restore`` op with the
backup's databases. From then on every node reads the backup's files and nothing written before
the cut: older Parquet files are no longer live (persist.FileIndex), buffered and WAL rows with
``__seq <= cut`` are dropped (Engine._follow_restore, snapshots, WAL replay and adoption). Writes
accepted after the restore are kept. Tokens, users and roles are not rolled back by a live restore
(a revoked token must stay revoked); the offline restore takes them from the backup.

Records live in `<data-dir>/admin/restores/<id>.json`; one restore runs at a time. A restore that
died after publishing its manifest is rolled forward by the next node that looks (`recover`);
one that died before is `failed` and its copied files are removed.

Owns creating, listing, reading, cancelling and recovering restores. Does not make backups.
"""

from __future__ import annotations

import json
import logging
import threading
import time
import uuid
from dataclasses import fields as dc_fields
from pathlib import Path

import numpy as np

from .. import persist
from . import jobs
from .backup import CATALOG, DATA, Backups, Cancelled, lease
from .copying import copy_verified, sha256_of
from .jobs import COMPLETED, FAILED, IN_PROGRESS, AdminError

log = logging.getLogger(__name__)

_META_FIELDS = [f.name for f in dc_fields(persist.FileMeta)]
#: how long replaced files stay on disk after a restore (a query planned just before may read them)
RETIRE_GRACE_S = 120.0


class Restores:
    def __init__(self, engine, backups: Backups):
        self.engine = engine
        self.backups = backups
        self.dir = engine.data_dir / "admin" / "restores"
        self._jobs = jobs.Runner("restore")

    def _paths(self, rid: str) -> tuple[Path, Path]:
        return self.dir / f"{rid}.json", self.dir / f"{rid}.lock"

    def _record(self, rid: str) -> dict | None:
        path, lock = self._paths(rid)
        record = jobs.read(path)
        if record is not None and record.get("status") == IN_PROGRESS and not jobs.JobLock.held(lock):
            return self._recover_one(record)
        return record

    def get(self, rid: str) -> dict:
        if not isinstance(rid, str) or not jobs.NAME_RE.match(rid):
            raise AdminError(404, f"restore not found: {rid}")
        record = self._record(rid)
        if record is None:
            raise AdminError(404, f"restore not found: {rid}")
        return record

    def list(self) -> list[dict]:
        """Every restore, newest first."""
        if not self.dir.exists():
            return []
        out = [self._record(p.stem) for p in self.dir.glob("*.json")]
        return sorted((summary(r) for r in out if r), key=lambda r: (r["created_at"], r["restore_id"]),
                      reverse=True)

    def create(self, backup_name: str, *, wait: bool = False) -> dict:
        """Start restoring `backup_name`; ``{"restore_id", "status": "in_progress"}`` (with `wait`,
        the finished record). AdminError 400/404/409."""
        if not backup_name:
            raise AdminError(400, "backup_name must not be empty")
        chain = self.backups.chain(jobs.check_name(backup_name))
        self.recover()
        self.dir.mkdir(parents=True, exist_ok=True)
        running = jobs.JobLock(self.dir / ".running.lock")
        if not running.acquire():
            raise AdminError(409, "a restore is already running")
        try:
            rid = jobs.new_id()
            path, lock_path = self._paths(rid)
            lock = jobs.JobLock(lock_path)
            lock.acquire()
            last = chain[-1]
            record = {"restore_id": rid, "backup_name": backup_name, "status": IN_PROGRESS,
                      "created_at": jobs.rfc3339(), "node": self.engine.node_id, "phase": "copying",
                      "total_files": len(last.get("files", [])),
                      "total_size_bytes": sum(f["bytes"] for f in last.get("files", []))}
            jobs.write(path, record)
        except BaseException:
            running.release()
            raise
        t = self._jobs.start(rid, self._run, record, chain, lock, running)
        if wait:
            t.join()
            return self.get(rid)
        return {"restore_id": rid, "status": IN_PROGRESS}

    def _run(self, record: dict, chain: list[dict], lock: jobs.JobLock, running: jobs.JobLock) -> None:
        path, _ = self._paths(record["restore_id"])

        def cancelled() -> None:
            if self._jobs.closing.is_set() or (self.dir / f"{record['restore_id']}.cancel").exists():
                raise Cancelled()

        try:
            restore_chain(self.engine, chain, self.backups.root, record, lambda r: jobs.write(path, r),
                          cancelled, self._jobs.closing)
            record.update(status=COMPLETED, completed_at=jobs.rfc3339())
        except Cancelled:
            _remove_copies(self.engine, record)
            record.update(status=FAILED, error="cancelled")
        except Exception as exc:
            log.exception("restore %s failed", record["restore_id"])
            if record.get("phase") == "published":
                record.update(status=FAILED, error=f"restore failed after publishing: {exc}")
            else:
                _remove_copies(self.engine, record)
                record.update(status=FAILED, error=f"restore failed: {exc}")
        try:
            jobs.write(path, record)
        finally:
            lock.release()
            running.release()

    def cancel(self, rid: str) -> None:
        record = self.get(rid)
        if record["status"] != IN_PROGRESS or record.get("phase") != "copying":
            raise AdminError(404, f"restore {rid} is not running (or already publishing)")
        (self.dir / f"{rid}.cancel").touch()

    def wait(self, rid: str, timeout: float | None = None) -> dict:
        self._jobs.join(rid, timeout)
        return self.get(rid)

    def recover(self) -> None:
        """Settle every restore whose node died while it ran (see the module docstring)."""
        if self.dir.exists():
            for p in self.dir.glob("*.json"):
                self._record(p.stem)

    def _recover_one(self, record: dict) -> dict:
        path, lock_path = self._paths(record["restore_id"])
        lock = jobs.JobLock(lock_path)
        if not lock.acquire():
            return record   # someone else is settling it (or it came back to life)
        try:
            record = jobs.read(path) or record
            if record.get("status") != IN_PROGRESS:
                return record
            if record.get("phase") == "published":
                state = json.loads((self.backups.root / record["catalog_backup"] / CATALOG).read_bytes())
                _commit(self.engine, record["epoch"], record["cut"], state, record["backup_name"])
                record.update(status=COMPLETED, completed_at=jobs.rfc3339(),
                              note="completed by node recovery after the restoring node stopped")
            else:
                _remove_copies(self.engine, record)
                record.update(status=FAILED, error="interrupted: the node running it stopped before it completed")
            jobs.write(path, record)
            return record
        finally:
            lock.release()

    def close(self) -> None:
        self._jobs.close()


def summary(record: dict) -> dict:
    keys = ("restore_id", "backup_name", "status", "created_at", "completed_at", "total_files",
            "total_size_bytes", "error")
    return {k: record[k] for k in keys if record.get(k) is not None}


def restore_chain(engine, chain: list[dict], backups_root: Path, record: dict, save, cancelled,
                  closing: threading.Event, *, security: bool = False) -> dict:
    """Roll `engine`'s data directory back to the last backup of `chain` (see the module docstring).
    `save(record)` persists the job record; `cancelled()` raises Cancelled to stop before publishing."""
    last = chain[-1]
    catalog_path = backups_root / last["name"] / CATALOG
    if sha256_of(catalog_path) != last["catalog_sha256"]:
        raise RuntimeError(f"the catalog of backup {last['name']} does not match its checksum")
    state = json.loads(catalog_path.read_bytes())
    with lease(engine, closing):
        engine.refresh(force=True)
        epoch = max(engine.catalog.restore_epoch, engine.index.epoch) + 1
        record.update(epoch=epoch, copied=[], catalog_backup=last["name"])
        save(record)
        added = []
        for i, f in enumerate(last.get("files", [])):
            cancelled()
            day = np.datetime64(int(f["day"]), "D").astype(str)
            rel = (Path(engine.node_id) / "dbs" / str(f["db"]) / str(f["table"]) / day / "00-00"
                   / f"r{epoch}-{i:06d}-{uuid.uuid4().hex[:8]}.parquet")
            record["copied"].append(str(rel))
            copy_verified(backups_root / f["backup"] / DATA / f["path"], engine.data_dir / rel,
                          expected=f["sha256"])
            added.append(persist.FileMeta(**{**{k: f[k] for k in _META_FIELDS if k in f}, "path": str(rel)}))
            if i % 100 == 99:
                save(record)
        cancelled()
        old = [f.path for f in engine.index.all()]
        # the cut: every row any node wrote before this moment (__seq is a node's clock, or just past it)
        cut = max(time.time_ns(), engine._seq)
        record.update(cut=cut, phase="published")
        save(record)
        engine.write_manifest(engine.node_id, wal_upto=None, added=added, removed=old,
                              extra={"epoch": epoch, "restore": {"epoch": epoch, "cut": cut}})
        _commit(engine, epoch, cut, state, last["name"], security=security)
        engine.refresh(force=True)
        engine._pending_deletes += [(time.monotonic() + RETIRE_GRACE_S, p) for p in old]
    return record


def _commit(engine, epoch: int, cut: int, state: dict, backup: str, *, security: bool = False) -> None:
    """The catalog half of a restore (after its manifest): the backup's databases replace ours."""
    op = {"op": "restore", "epoch": epoch, "cut": cut, "backup": backup, "security": security, "state": state}
    if security:
        op["uuid"] = state["uuid"]
    engine.catalog.transact(lambda cat: [] if cat.restore_epoch >= epoch else [op])


def _remove_copies(engine, record: dict) -> None:
    for rel in record.get("copied", []):
        (engine.data_dir / rel).unlink(missing_ok=True)


def restore_offline(backup_dir: str | Path, data_dir: str | Path, node_id: str = "restored") -> dict:
    """Restore the backup in `backup_dir` (its parents are its siblings) into `data_dir`, which must
    be empty or absent; tokens, users and the cluster id come from the backup too. Returns the record."""
    from ..engine import Engine

    backup_dir, data_dir = Path(backup_dir).absolute(), Path(data_dir).absolute()
    if not (backup_dir / "manifest.json").exists():
        raise AdminError(404, f"no backup in {backup_dir} (manifest.json missing)")
    if data_dir.exists() and any(data_dir.iterdir()):
        raise AdminError(400, f"{data_dir} is not empty: an offline restore needs a new data directory")
    engine = Engine(data_dir, node_id=node_id, background=False)
    try:
        backups = Backups(engine, root=backup_dir.parent)
        chain = backups.chain(backup_dir.name)
        record = {"restore_id": jobs.new_id(), "backup_name": backup_dir.name, "status": IN_PROGRESS,
                  "created_at": jobs.rfc3339(), "total_files": len(chain[-1].get("files", [])),
                  "total_size_bytes": sum(f["bytes"] for f in chain[-1].get("files", []))}

        def never() -> None:
            return None

        restore_chain(engine, chain, backups.root, record, lambda r: None, never, threading.Event(),
                      security=True)
        record.update(status=COMPLETED, completed_at=jobs.rfc3339())
        for k in ("copied", "phase"):
            record.pop(k, None)
        return record
    finally:
        engine.close()
