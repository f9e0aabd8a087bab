"""Reading every node's WAL for the WAL triggers, from a position kept in the data directory.

Owns `<data_dir>/catalog/plugins/wal_positions.json` (`{node_id: [file_seq, offset]}`, written
tmp → fsync → rename after each batch has run) and the rule that keeps a WAL file on disk while a
WAL trigger still has to read it (`wal_pinned`, asked by the engine before it deletes a WAL file).
Only the node holding the processing-engine lease reads and writes the positions, so each
acknowledged write reaches each trigger once whichever node accepted it; a clean restart resumes
where it stopped; after a crash at most the batch that was running is delivered again.

A trigger starts where every node's WAL ended when it was created or enabled (`wal_ends`, kept in
its catalog record as `wal_from`): a write acknowledged before that, which the reader had not yet
passed, is not the trigger's (`Round.for_trigger`).

Does not run plugins (manager.py does).
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass, field
from pathlib import Path

import pyarrow as pa

from .. import walcodec
from ..fsutil import write_file_atomic
from ..persist import node_names
from ..wal import HEADER, list_wal_files, read_records
from .spec import parse_spec

log = logging.getLogger(__name__)

MAX_ROUND_BYTES = 64 * 2**20
#: A pin lapses when no processing engine has run for this long (its positions file is touched at
#: least every HEARTBEAT_S): a server no longer started with --plugin-dir must not make every node
#: keep its WAL forever. Writes in WAL files deleted meanwhile never reach the triggers.
PIN_MAX_AGE_S = 24 * 3600
HEARTBEAT_S = 60


def positions_path(data_dir: Path) -> Path:
    return Path(data_dir) / "catalog" / "plugins" / "wal_positions.json"


def load_positions(data_dir: Path) -> dict[str, tuple[int, int]] | None:
    try:
        raw = json.loads(positions_path(data_dir).read_text())
    except (FileNotFoundError, ValueError):
        return None
    return {k: (int(v[0]), int(v[1])) for k, v in raw.items()}


def _node_dirs(data_dir: Path) -> list[Path]:
    return [data_dir / n for n in node_names(data_dir)]


def wal_ends(data_dir: Path) -> dict[str, list[int]]:
    """Where every node's WAL ends now: ``{node: [newest file seq, its size]}``. A record that ends
    at or before that was whole when this was taken, so its write was acknowledged before (or
    while) a trigger was created; a record ending later, or in a newer file, comes after."""
    ends = {}
    for node_dir in _node_dirs(Path(data_dir)):
        files = list_wal_files(node_dir / "wal")
        if files:
            seq, path = files[-1]
            try:
                ends[node_dir.name] = [seq, path.stat().st_size]
            except FileNotFoundError:   # deleted after a snapshot: its records are older anyway
                ends[node_dir.name] = [seq + 1, 0]
    return ends


def has_wal_triggers(catalog) -> bool:
    for d in catalog.live_databases():
        for t in d.triggers.values():
            if not t.disabled and t.specification.strip().partition(":")[0] in ("table", "all_tables"):
                return True
    return False


def wal_pinned(data_dir: Path, catalog, node: str, seq: int) -> bool:
    """Whether WAL file `seq` of `node` must stay: an enabled WAL trigger has not read it yet."""
    if not has_wal_triggers(catalog):
        return False
    pos = load_positions(data_dir)
    if pos is None:
        return False  # no processing engine has ever run here
    try:
        if time.time() - positions_path(data_dir).stat().st_mtime > PIN_MAX_AGE_S:
            return False
    except FileNotFoundError:
        return False
    at = pos.get(node)
    return at is None or seq >= at[0]


@dataclass
class Round:
    """What one read of the WAL found: per database id, per table id, the record batches, and
    where each batch's record ends (node, file seq, offset), in the same order."""
    grouped: dict[int, dict[int, list[pa.RecordBatch]]] = field(default_factory=dict)
    origins: dict[int, dict[int, list[tuple[str, int, int]]]] = field(default_factory=dict)
    new_positions: dict[str, tuple[int, int]] = field(default_factory=dict)

    @property
    def empty(self) -> bool:
        return not self.grouped

    def add(self, db_id: int, table_id: int, batch: pa.RecordBatch, origin: tuple[str, int, int]) -> None:
        self.grouped.setdefault(db_id, {}).setdefault(table_id, []).append(batch)
        self.origins.setdefault(db_id, {}).setdefault(table_id, []).append(origin)

    def for_trigger(self, db_id: int, wal_from: dict | None) -> dict[int, list[pa.RecordBatch]]:
        """The batches of database `db_id` a trigger whose WAL starts at `wal_from` (see `wal_ends`;
        None: every batch) gets: those of records that were not yet whole there."""
        grouped = self.grouped.get(db_id, {})
        if not wal_from:
            return grouped
        out = {}
        for table_id, batches in grouped.items():
            kept = [b for b, origin in zip(batches, self.origins[db_id][table_id]) if _after(origin, wal_from)]
            if kept:
                out[table_id] = kept
        return out


def _after(origin: tuple[str, int, int], wal_from: dict) -> bool:
    node, seq, end = origin
    start = wal_from.get(node)
    return start is None or seq > start[0] or (seq == start[0] and end > start[1])


class WalTail:
    """The lease holder's reader of all nodes' WAL files."""

    def __init__(self, data_dir: Path):
        self.data_dir = Path(data_dir)
        self.positions: dict[str, tuple[int, int]] = {}
        self._saved_at = 0.0

    def start(self) -> None:
        """Resume from the saved positions, or (first start) from the end of every WAL now."""
        saved = load_positions(self.data_dir)
        if saved is not None:
            self.positions = saved
            return
        for node_dir in _node_dirs(self.data_dir):
            files = list_wal_files(node_dir / "wal")
            if files:
                seq, path = files[-1]
                self.positions[node_dir.name] = (seq, read_records(path, 0).end)
        self.save()

    def save(self) -> None:
        path = positions_path(self.data_dir)
        path.parent.mkdir(parents=True, exist_ok=True)
        write_file_atomic(path, json.dumps({k: list(v) for k, v in self.positions.items()}).encode())
        self._saved_at = time.monotonic()

    def read(self, decode: bool = True) -> Round:
        """Every whole record past the positions (up to ~64 MB); positions move only on `commit`.
        Without `decode` (no WAL trigger anywhere) the positions only move past the records."""
        rnd, budget = Round(), MAX_ROUND_BYTES
        for node_dir in _node_dirs(self.data_dir):
            node = node_dir.name
            at_seq, at_off = self.positions.get(node, (0, 0))
            files = [(seq, path) for seq, path in list_wal_files(node_dir / "wal") if seq >= at_seq]
            for i, (seq, path) in enumerate(files):
                if budget <= 0:
                    break
                try:
                    res = read_records(path, at_off if seq == at_seq else 0)
                except FileNotFoundError:
                    continue
                end = at_off if seq == at_seq else 0
                for payload in res.payloads:
                    budget -= len(payload)
                    end += HEADER.size + len(payload)
                    if not decode:
                        continue
                    for db_id, table_id, batch in walcodec.decode(payload):
                        rnd.add(db_id, table_id, batch, (node, seq, end))
                rnd.new_positions[node] = (seq, res.end)
                if res.bad_at is not None and res.end < res.size:
                    if i == len(files) - 1:
                        break  # a record being written: the rest waits for the next round
                    # a damaged record in a file the node has closed: what follows it is lost to
                    # the triggers (the node's own recovery decides about its data)
                    log.warning("processing engine: skipping the damaged end of %s at offset %d", path, res.end)
        return rnd

    def commit(self, rnd: Round) -> None:
        changed = {k: v for k, v in rnd.new_positions.items() if self.positions.get(k) != v}
        self.positions.update(changed)
        if changed or time.monotonic() - self._saved_at > HEARTBEAT_S:  # the heartbeat keeps pins alive
            self.save()


def wal_trigger_ids(database) -> list:
    """The enabled WAL triggers of a database with their parsed specs."""
    out = []
    for t in database.triggers.values():
        if t.disabled:
            continue
        try:
            spec = parse_spec(t.specification)
        except Exception:  # noqa: BLE001 - a bad record never stops the others
            continue
        if spec.is_wal:
            out.append((t, spec))
    return out
