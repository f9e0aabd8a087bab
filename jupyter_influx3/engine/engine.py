"""The engine facade: one node of a data directory, and the one API every adapter calls.

Owns the write path (parse → plan against the catalog → WAL append + fsync → buffer), recovery
(replaying our WAL, adopting the WAL of nodes that died), visibility of other nodes' writes (tailing
their WAL files and reading their manifests before each read), snapshots to Parquet, compaction and
the basic read API. The magics, the HTTP handlers and the CLI are thin adapters over this class.

Does not speak HTTP, format output for clients or parse SQL/InfluxQL beyond handing it to DuckDB.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import re
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.compute as pc

from . import errors, lifecycle, lineprotocol, persist, walcodec
from .buffer import Buffer
from .caches import CacheRegistry
from .admin import fileindex
from .admin.deletes import apply_pending as apply_row_deletes, drop_deleted
from .concurrency import SlotStream, slots_for
from .catalog import Catalog, Limits, validate_db_name
from .lineprotocol import LineError
from .malloc import release_arrow_pool, trim_malloc
from .persist import FileIndex, FileMeta, quote
from .validator import SEQ_COLUMN, Plan, accepted_lines, build_batch, plan_write
from .sql.seriescache import sources_replaced
from . import plugins as _plugins  # noqa: F401 - publishes the processing engine's system tables
from .plugins.waltail import wal_pinned
from .wal import WalWriter, list_wal_files, read_records, recover_file

log = logging.getLogger(__name__)

NODE_ID_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$")
#: the longest `refresh` trusts the data signal without reading the other nodes' files (a writer
#: that does not announce, e.g. on another machine sharing the directory, is seen this late)
REFRESH_MAX_AGE_S = 1.0
#: memory freed by snapshots and compactions goes back to the OS once none ran for this long (s)
RELEASE_QUIET_S = 5.0


@dataclass
class WriteResult:
    lines_written: int
    errors: list[LineError] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors


@dataclass
class _Replica:
    """What we have read of another node's WAL: rows, and how far into each file."""
    buffer: Buffer = field(default_factory=Buffer)
    offsets: dict[int, int] = field(default_factory=dict)
    fed_seq: int = 0    # newest write (__seq) of this node handed to the caches


class _AbortPlan(Exception):
    def __init__(self, plan: Plan):
        self.plan = plan


class Engine:
    """A node of the database over one data directory."""

    def __init__(self, data_dir: str | os.PathLike, node_id: str | None = None, *,
                 limits: Limits | None = None, snapshot_rows: int = 500_000,
                 snapshot_bytes: int = 512 * 2**20, snapshot_age_s: float = 600.0,
                 background: bool = True, compaction_min_files: int = 4,
                 skip_corrupt_wal: bool = False, sync_interval_s: float = 1.0,
                 series_cache_bytes: int | None = None, query_memory_limit: int | None = None,
                 last_cache_eviction_s: float = 10.0, distinct_cache_eviction_s: float = 10.0):
        self.data_dir = Path(data_dir).absolute()
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.node_id = node_id or f"node-{uuid.uuid4().hex[:12]}"
        if not NODE_ID_RE.match(self.node_id) or self.node_id in persist.NOT_NODES:
            raise errors.InvalidConfiguration(f"invalid node id {self.node_id!r}")
        self.node_dir = self.data_dir / self.node_id
        self.node_dir.mkdir(exist_ok=True)
        self._lock_fd = self._take_node_lock(self.node_dir)
        if self._lock_fd is None:
            raise errors.NodeInUse(f"node id {self.node_id!r} is in use by another process on {self.data_dir}")
        self.snapshot_rows, self.snapshot_bytes, self.snapshot_age_s = snapshot_rows, snapshot_bytes, snapshot_age_s
        self.compaction_min_files = compaction_min_files
        # memory for series-ordered copies of tables (sql/seriescache.py); None: the default, 0: off
        self.series_cache_bytes = series_cache_bytes
        # bytes DuckDB may hold for queries (sql/runner.py); None: a quarter of RAM
        self.query_memory_limit = query_memory_limit
        self.catalog = Catalog(self.data_dir, limits)
        self.index = FileIndex(self.data_dir)
        self.buffer = Buffer()
        self.replicas: dict[str, _Replica] = {}
        self._write_lock = threading.Lock()       # orders WAL appends with buffer sequence numbers
        self._snapshot_lock = threading.Lock()
        self._view_lock = threading.RLock()       # makes "files + buffers" a consistent view
        self._refresh_lock = threading.Lock()     # one refresh at a time (WAL tail, then manifests)
        self._seq = 0
        self._refreshed_at, self._refreshed_t = None, 0.0   # the data signal at the last full refresh
        self._pending_deletes: list[tuple[float, str]] = []
        self._inflight: dict[int, int] = {}       # WAL file seq -> writes appended, not yet buffered
        self._inflight_cv = threading.Condition()
        self._snapshot_wanted = threading.Event()
        self._closed = False
        self._last_snapshot = time.monotonic()
        self._last_freed = 0.0                      # see _freed_memory
        self._freed_in: set[int] = set()            # background threads holding freed Arrow memory
        self._db = duckdb.connect()
        self.plugins = None  # a plugins.ProcessingEngine once configure_plugins() ran
        self.index.refresh()
        self._recover_own_wal(skip_corrupt_wal)
        self._restore_seen = 0
        self._follow_restore()   # replayed rows a restore rolled back are gone
        self.adopt_dead_nodes()
        # last-value / distinct-value caches: filled from storage now, fed by every write after
        self.caches = CacheRegistry(self, last_cache_eviction_s, distinct_cache_eviction_s)
        self.caches.sync()
        if (self.data_dir / "admin" / "restores").exists():
            self.admin.restores.recover()   # a restore whose node died: rolled forward or failed
        self._stop = threading.Event()
        self.stop_requested = threading.Event()   # a node stop (engine/admin/nodes.py) asked us to go
        for marker in ("STOP", "STOPPED"):        # a node that starts again is running again
            (self.node_dir / marker).unlink(missing_ok=True)
        self._threads: list[threading.Thread] = []
        if background:
            self._start(self._maintain_caches, 1.0)
            self._start(self._sync_loop, sync_interval_s)
            self._start(self._maintenance_loop, 2.0)
            # it sleeps until a write wants a snapshot (it polled every 50 ms: 20 wake-ups a second
            # per node while idle), and wakes once a second to hand memory back (see _freed_memory)
            self._start(self._snapshot_when_wanted, 1.0, wake=self._snapshot_wanted)

    # ---- node lifecycle ------------------------------------------------------------------
    @staticmethod
    def _take_node_lock(node_dir: Path) -> int | None:
        return _try_lock(node_dir / "LOCK")

    def _recover_own_wal(self, skip_corrupt: bool) -> None:
        files = list_wal_files(self.node_dir / "wal")
        persisted = self.index.wal_persisted.get(self.node_id, 0)
        last = files[-1][0] if files else persisted
        for i, (seq, path) in enumerate(files):
            if seq <= persisted:
                self._retire_wal_file(self.node_id, seq, path)
                continue
            for payload in recover_file(path, is_last=i == len(files) - 1, skip_corrupt=skip_corrupt):
                for db_id, table_id, batch in walcodec.decode(payload):
                    self.buffer.add(seq, db_id, table_id, batch)
                    self._seq = max(self._seq, _max_seq(batch))
        if self.buffer.rows:
            log.info("node %s: replayed %d rows from its WAL", self.node_id, self.buffer.rows)
        self.wal = WalWriter(self.node_dir / "wal", max(last, persisted) + 1)

    def adopt_dead_nodes(self) -> int:
        """Persist the WAL of every node that died with unpersisted writes; returns how many."""
        adopted = 0
        for node_dir in self._other_node_dirs():
            if not list_wal_files(node_dir / "wal"):
                continue
            fd = self._take_node_lock(node_dir)
            if fd is None:
                continue  # alive
            try:
                self._persist_dead_node(node_dir)
                adopted += 1
            finally:
                os.close(fd)
        return adopted

    def _persist_dead_node(self, node_dir: Path) -> None:
        node = node_dir.name
        self.index.refresh()
        persisted = self.index.wal_persisted.get(node, 0)
        files = list_wal_files(node_dir / "wal")
        buf = Buffer()
        for i, (seq, path) in enumerate(files):
            if seq > persisted:
                for payload in recover_file(path, is_last=i == len(files) - 1):
                    for db_id, table_id, batch in walcodec.decode(payload):
                        buf.add(seq, db_id, table_id, batch)
        upto = files[-1][0]
        if buf.rows:
            added = self._persist_buffer(node, buf, upto)
            self.write_manifest(node, wal_upto=upto, added=added, removed=[])
        elif upto > persisted:
            self.write_manifest(node, wal_upto=upto, added=[], removed=[])
        self.index.refresh()
        for seq, path in files:
            self._retire_wal_file(node, seq, path)
        log.info("adopted dead node %s: persisted %d rows", node, buf.rows)

    def _other_node_dirs(self) -> list[Path]:
        return [self.data_dir / n for n in persist.node_names(self.data_dir) if n != self.node_id]

    def _start(self, fn, interval: float, wake: threading.Event | None = None) -> None:
        """Runs `fn` in a daemon thread every `interval` s until close(); with `wake`, also as soon as
        `wake` is set (the thread sleeps on it)."""
        def waited() -> bool:   # whether to go on
            if wake is None:
                return not self._stop.wait(interval)
            wake.wait(interval)
            return not self._stop.is_set()

        def loop():
            while waited():
                try:
                    fn()
                except Exception:  # a background hiccup must not kill the node
                    log.exception("background task %s failed", fn.__name__)
                self._release_when_quiet()
        t = threading.Thread(target=loop, name=f"influx3-{fn.__name__}", daemon=True)
        t.start()
        self._threads.append(t)

    def _maintain_caches(self) -> None:
        self.caches.maintain()   # looked up each time: a restore replaces the registry

    def _sync_loop(self) -> None:
        self.wal.sync_all()  # makes no_sync writes durable within a second

    def _snapshot_when_wanted(self) -> None:
        if self._snapshot_wanted.is_set():
            self._snapshot_wanted.clear()
            self.snapshot()

    def _maintenance_loop(self) -> None:
        from .admin.nodes import check_stop_request
        check_stop_request(self)
        if self.buffer.rows and time.monotonic() - self._last_snapshot > self.snapshot_age_s:
            self.snapshot()
        self.adopt_dead_nodes()
        self.compact()
        self.purge()

    def _freed_memory(self) -> None:
        """A snapshot or a compaction freed its working memory. Arrow's share (most of it) is what
        the next one reuses under a steady load: handed back to the OS at once, it came back as
        fresh pages the kernel zeroes, and that zeroing was most of a snapshot's CPU. So when a
        background thread ran it, that thread hands Arrow's pool back once none ran for
        RELEASE_QUIET_S (mimalloc keeps freed memory per thread: only its own thread can); any
        other thread (a request's, close(), an engine without background threads) at once.
        glibc's heap goes back at once. (One worker, 500K-row loads 4 s apart: a snapshot's CPU
        1.0-1.4 s -> 0.27 s when the previous one's memory is kept, RSS while loading ~330 ->
        ~500 MiB; 10M TSBS lines over 2 workers, benchmarks/ingest.py --rss, 3 A/B pairs: server
        CPU -9%, peak RSS unchanged at ~1.27 GB; deferring glibc's heap too: 1,326-1,360 MiB.)"""
        trim_malloc()
        if threading.current_thread() in self._threads:
            self._last_freed = time.monotonic()
            self._freed_in.add(threading.get_ident())
        else:
            release_arrow_pool()

    def _release_when_quiet(self) -> None:
        """In a background thread, after each round: Arrow's memory this thread freed goes back
        once no snapshot or compaction ran for RELEASE_QUIET_S."""
        me = threading.get_ident()
        if me in self._freed_in and time.monotonic() - self._last_freed >= RELEASE_QUIET_S:
            self._freed_in.discard(me)
            release_arrow_pool()

    def close(self) -> None:
        """Persist the buffer and release the node. Safe to call twice."""
        if self._closed:
            return
        if self.plugins is not None:
            self.plugins.close()  # no plugin writes into a closing node
        if "_admin" in self.__dict__:
            self._admin.close()   # running backups/restores stop (and are marked failed)
        self._stop.set()
        self._snapshot_wanted.set()   # its thread sleeps on this: it sees the stop at once
        for t in self._threads:
            t.join(timeout=30)
        try:
            self.snapshot()
            self._delete_retired(everything=True)
        finally:
            self.wal.close()
            self.catalog.close()
            self._closed = True
            os.close(self._lock_fd)
            if "_sql_service" in self.__dict__:
                self._sql_service.close()   # user SQL's DuckDB instances and their idle cursors
            try:
                self._db.close()
            except duckdb.Error:   # busy with a query being interrupted: the process is ending anyway
                pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    @property
    def cluster_uuid(self) -> str:
        return self.catalog.uuid

    # ---- administration (engine/admin/) ---------------------------------------------------------
    @property
    def admin(self):
        """Backups, restores and the other administrator operations (`admin.Admin`)."""
        if "_admin" not in self.__dict__:
            from .admin import Admin
            self._admin = Admin(self)
        return self._admin

    def _follow_restore(self) -> None:
        """After a restore (engine/admin/restore.py) committed: drop every buffered row written
        before it (ours and other nodes'), and refill the caches from the restored data."""
        epoch = self.catalog.restore_epoch
        if epoch == self._restore_seen:
            return
        with self._view_lock:
            for buf in [self.buffer] + [r.buffer for r in self.replicas.values()]:
                buf.drop_rows_upto(self.catalog.restore_cut)
        self._restore_seen = epoch
        if "caches" in self.__dict__:
            self.caches = CacheRegistry(self, self.caches.last_eviction_s, self.caches.distinct_eviction_s)
            self.caches.sync()

    # ---- processing engine (engine/plugins/) -------------------------------------------------
    def configure_plugins(self, plugin_dir, **options):
        """Enable the plugin operations with `plugin_dir`; `run_triggers=False` (kernels) only
        allows operations and dry runs. Returns the `plugins.ProcessingEngine`."""
        from .plugins import ProcessingEngine
        if self.plugins is not None:
            self.plugins.close()
        self.plugins = ProcessingEngine(self, plugin_dir, **options)
        return self.plugins

    def wait_writes_buffered(self, timeout: float) -> bool:
        """Wait (at most `timeout` s) until every write appended to this node's WAL is in its buffer,
        so a reader of our WAL files (the processing engine) can query the rows it reads about."""
        with self._inflight_cv:
            return self._inflight_cv.wait_for(lambda: not any(self._inflight.values()), timeout)

    def _retire_wal_file(self, node: str, seq: int, path: Path) -> None:
        """Delete a persisted WAL file, unless a WAL trigger has yet to read it (then a later
        snapshot or adoption deletes it)."""
        if not wal_pinned(self.data_dir, self.catalog, node, seq):
            path.unlink(missing_ok=True)

    # ---- databases and tables (rules in lifecycle.py) ----------------------------------------
    def create_database(self, name: str, retention_period: str | None = None) -> None:
        lifecycle.create_database(self.catalog, name, retention_period)

    def list_databases(self, show_deleted: bool = False) -> pa.Table:
        self.catalog.refresh()
        return lifecycle.list_databases(self.catalog, show_deleted)

    def update_database(self, name: str, retention_period: str | None = None) -> None:
        lifecycle.set_database_retention(self.catalog, name, retention_period)

    set_database_retention = update_database

    def delete_database(self, name: str, hard_delete_at: str | None = "default", *, data_only: bool = False,
                        remove_tables: bool = False) -> str:
        out = lifecycle.delete_database(self.catalog, name, hard_delete_at, data_only=data_only,
                                        remove_tables=remove_tables)
        self.purge()
        return out

    def create_table(self, db: str, table: str, tags: list[str], fields: list[tuple[str, str]],
                     retention_period: str | None = None) -> None:
        lifecycle.create_table(self.catalog, db, table, tags, fields, retention_period)

    def update_table(self, db: str, table: str, retention_period: str | None = None) -> None:
        lifecycle.set_table_retention(self.catalog, db, table, retention_period)

    set_table_retention = update_table

    def delete_table(self, db: str, table: str, hard_delete_at: str | None = "default", *,
                     data_only: bool = False) -> str:
        out = lifecycle.delete_table(self.catalog, db, table, hard_delete_at, data_only=data_only)
        self.purge()
        return out

    # ---- last-value and distinct-value caches (rules in caches/) ------------------------------
    def create_last_cache(self, db: str, table: str, name: str | None = None,
                          key_columns: list[str] | None = None, value_columns: list[str] | None = None,
                          count: int | None = None, ttl: int | str | None = None) -> dict:
        """Define a last-value cache (ttl: seconds or a duration like ``4h``); it is filled from
        stored data before this returns. Returns the definition."""
        from . import caches
        definition = caches.create_last_cache(self.catalog, db, table, name, key_columns, value_columns,
                                              count, _seconds(ttl, "ttl"))
        self.caches.sync()
        return definition

    def create_distinct_cache(self, db: str, table: str, columns: list[str], name: str | None = None,
                              max_cardinality: int | None = None, max_age: int | str | None = None) -> dict:
        """Define a distinct-value cache (max_age: seconds or a duration); filled before this returns."""
        from . import caches
        definition = caches.create_distinct_cache(self.catalog, db, table, columns, name, max_cardinality,
                                                  _seconds(max_age, "max_age"))
        self.caches.sync()
        return definition

    def delete_last_cache(self, db: str, table: str, name: str) -> None:
        from . import caches
        caches.delete_cache(self.catalog, "last", db, table, name)
        self.caches.sync()

    def delete_distinct_cache(self, db: str, table: str, name: str) -> None:
        from . import caches
        caches.delete_cache(self.catalog, "distinct", db, table, name)
        self.caches.sync()

    def list_caches(self, db: str | None = None) -> list[dict]:
        """Every cache definition (of one database), with ``db``, ``table`` and ``kind``."""
        self.catalog.refresh()
        out = []
        for d in sorted(self.catalog.live_databases(), key=lambda d: d.name):
            if db is not None and d.name != db:
                continue
            for t in sorted(d.live_tables(), key=lambda t: t.name):
                for kind, defs in (("last", t.last_caches), ("distinct", t.distinct_caches)):
                    for definition in defs.values():
                        out.append({"db": d.name, "table": t.name, "kind": kind,
                                    **{k: v for k, v in definition.items() if k not in ("db", "table")}})
        return out

    # ---- writes --------------------------------------------------------------------------
    def write_lp(self, database: str, body: bytes | str, precision: str = "auto", *,
                 accept_partial: bool = True, no_sync: bool = False,
                 default_time_ns: int | None = None) -> WriteResult:
        """Write line protocol; returns once it is durable (or at once with `no_sync`)."""
        validate_db_name(database)
        try:
            parsed = lineprotocol.parse(body, lineprotocol.normalize_precision(precision), default_time_ns)
        except UnicodeDecodeError as e:
            raise errors.InvalidBody.not_utf8(e) from None
        if parsed.num_lines == 0:
            raise errors.EmptyWrite()
        plan = self._commit_plan(database, parsed, accept_partial)
        if not accept_partial and plan.errors:
            return WriteResult(0, plan.errors[:1])
        self._append(plan, no_sync)
        return WriteResult(accepted_lines(plan), plan.errors)

    def _commit_plan(self, database: str, parsed, accept_partial: bool) -> Plan:
        holder: list[Plan] = []

        def ops(cat: Catalog) -> list[dict]:
            plan = plan_write(cat, database, parsed)
            holder[:] = [plan]
            if plan.errors and not accept_partial:
                raise _AbortPlan(plan)
            if not accepted_lines(plan):
                return []  # nothing will be written: leave the catalog as it is
            return plan.ops

        try:
            self.catalog.transact(ops)
        except _AbortPlan as a:
            return a.plan
        return holder[0]

    def _append(self, plan: Plan, no_sync: bool) -> None:
        with self._write_lock:
            seq0 = max(self._seq + 1, time.time_ns())
            batches, next_seq = [], seq0
            for tp in plan.tables:
                batch = build_batch(tp, next_seq)
                if batch is not None:
                    batches.append((plan.db_id, tp.table_id, batch))
                    next_seq += batch.num_rows
            if not batches:
                return
            self._seq = next_seq - 1
            token = self.wal.append(walcodec.encode_parts(batches))
            with self._inflight_cv:
                self._inflight[token[0]] = self._inflight.get(token[0], 0) + 1
        self._announce()   # before the write is acknowledged: read-your-writes on any node
        try:
            if not no_sync:
                self.wal.sync(token)
        finally:
            # Only a durable record reaches the buffer (no_sync: it will be within a second).
            with self._inflight_cv:
                if not self.wal.failed:
                    self._to_buffer(token[0], batches)
                self._inflight[token[0]] -= 1
                self._inflight_cv.notify_all()
        if self.plugins is not None:
            self.plugins.wake()
        self._maybe_snapshot()

    def _maybe_snapshot(self) -> None:
        rows, nbytes = self.buffer.rows, self.buffer.nbytes
        if rows < self.snapshot_rows and nbytes < self.snapshot_bytes:
            return
        # Persisting runs beside the writers; only a buffer twice over its limit makes them wait.
        if self._threads and rows < 2 * self.snapshot_rows and nbytes < 2 * self.snapshot_bytes:
            self._snapshot_wanted.set()
        else:
            self.snapshot()

    def _to_buffer(self, wal_seq: int, batches) -> None:
        with self._view_lock:
            for db_id, table_id, batch in batches:
                self.buffer.add(wal_seq, db_id, table_id, batch)
        for db_id, table_id, batch in batches:
            self.caches.feed(db_id, table_id, batch)

    # ---- snapshots and compaction ----------------------------------------------------------
    def snapshot(self) -> list[FileMeta]:
        """Persist every buffered row of this node to Parquet, then retire its WAL files."""
        with self._snapshot_lock:
            with self._write_lock:
                if not self.buffer.rows:
                    return []
                closed = self.wal.rotate()
            with self._inflight_cv:
                # Writes already in the closed file must be in the buffer before it is persisted
                # and the file deleted, or an acknowledged write would live only in memory.
                self._inflight_cv.wait_for(lambda: not self._inflight.get(closed))
                self._inflight.pop(closed, None)
            added = self._persist_buffer(self.node_id, self.buffer, closed)
            m = {"added": [f.__dict__ for f in added], "removed": [], "wal_upto": closed}
            self.write_manifest(self.node_id, wal_upto=closed, added=added, removed=[])
            with self._view_lock:
                moved = {key: [b for seq, b in tb.chunks if seq <= closed] for key, tb in self.buffer.tables.items()}
                self.index.apply(self.node_id, m)
                self.buffer.drop_upto(closed)
                for key, chunks in moved.items():
                    sources_replaced(self, key, chunks, [], [f.path for f in added if (f.db, f.table) == key])
            self.index.refresh()
            for seq, path in list_wal_files(self.node_dir / "wal"):
                if seq <= closed:
                    self._retire_wal_file(self.node_id, seq, path)
            self._last_snapshot = time.monotonic()
        self._freed_memory()
        return added

    def _persist_buffer(self, node: str, buf: Buffer, upto: int) -> list[FileMeta]:
        # DuckDB only merges rows that share tags and time; a connection costs 20-50 ms, so dedup_sort
        # opens one only then (a snapshot, or a compaction pass every 2 s, usually needs none)
        added = []
        self.catalog.refresh()
        for db_id, table_id in buf.keys():
            t = buf.upto((db_id, table_id), upto)
            d = self.catalog.db_by_id(db_id)
            schema = d.tables.get(table_id) if d else None
            cut = max(schema.truncated_seq, self.catalog.restore_cut) if schema is not None else 0
            if t is not None and cut:
                t = t.filter(pc.greater(t.column(SEQ_COLUMN), cut))
            if t is not None and schema is not None:   # rows of row-delete requests are not kept
                t = drop_deleted(self.catalog, db_id, table_id, t)
            if t is None or not t.num_rows or schema is None:
                continue  # hard-deleted since it was written: nothing to keep
            t = persist.dedup_sort(None, t)
            name = f"{upto:010d}-{uuid.uuid4().hex[:8]}"
            added += persist.write_parquet(self.data_dir, node, db_id, table_id, t, name)
        return added

    def compact(self) -> int:
        """Merge small files of a table-day into one, under a data-dir-wide lease. Returns merges."""
        with self._lease() as held:
            return self._compact() if held else 0

    def purge(self) -> int:
        """Retire files that hard deletes, retention and data-only deletes expired. Returns files retired."""
        with self._lease() as held:
            return self._purge() if held else 0

    @contextlib.contextmanager
    def _lease(self):
        lease_dir = self.data_dir / "catalog" / "leases"
        lease_dir.mkdir(exist_ok=True)
        fd = _try_lock(lease_dir / "maintenance.lock")
        try:
            yield fd is not None
        finally:
            if fd is not None:
                os.close(fd)

    def _compact(self) -> int:
        apply_row_deletes(self)   # files holding rows of pending row deletes are rewritten first
        merged = 0
        self.index.refresh()
        for group in persist.compact_groups(self.index, self.compaction_min_files):
            with self._snapshot_lock:   # never beside a snapshot: both hold their rows in memory at once
                self._compact_group(group)
            merged += 1
            self._freed_memory()
        self._delete_retired()
        return merged

    def _compact_group(self, group: list[FileMeta]) -> None:
        t = persist.dedup_sort(None, persist.read_files(group, self.data_dir))
        name = f"c{group[-1].max_seq}-{uuid.uuid4().hex[:8]}"
        indexed = fileindex.columns_for(self.catalog, group[0].db, group[0].table)
        if indexed:   # laid out by the file index's columns, in small row groups
            t = fileindex.layout(t, indexed)
        added = persist.write_parquet(self.data_dir, self.node_id, group[0].db, group[0].table, t, name,
                                      fileindex.ROW_GROUP_ROWS if indexed else persist.ROW_GROUP_ROWS,
                                      fileindex.Pieces(indexed) if indexed else None)
        self._publish(added, [f.path for f in group], grace_s=self._RETIRE_GRACE_S)
        sources_replaced(self, (group[0].db, group[0].table), [], [f.path for f in group],
                         [f.path for f in added])

    def _purge(self) -> int:
        now = time.time_ns()
        self.catalog.refresh()
        self.index.refresh()
        dbs, tables = lifecycle.expired(self.catalog, now)
        gone = []
        for f in self.index.all():
            d = self.catalog.db_by_id(f.db)
            t = d.tables.get(f.table) if d else None
            cutoff = lifecycle.retention_cutoff(self.catalog, f.db, f.table, now)
            if (t is None or f.db in dbs or (f.db, f.table) in tables
                    or (cutoff is not None and f.max_time < cutoff) or f.max_seq <= t.truncated_seq):
                gone.append(f.path)
        if gone:
            self._publish([], gone, grace_s=5.0)
        if dbs or tables:
            self.catalog.transact(lambda cat: [{"op": "purge_db", "db": i} for i in dbs if i in cat.databases]
                                  + [{"op": "purge_table", "db": d, "table": t} for d, t in tables])
        self._delete_retired()
        return len(gone)

    def write_manifest(self, node: str, **manifest) -> None:
        """`persist.write_manifest` for `node`, announced to the other nodes."""
        persist.write_manifest(self.data_dir, node, **manifest)
        self._announce()

    def _announce(self) -> None:
        """After a commit other nodes must see (a WAL record, a manifest): their next refresh
        reads the files again (changesignal.py; catalog commits announce themselves)."""
        if self.catalog.data_signal is not None:
            self.catalog.data_signal.bump()

    def _publish(self, added: list[FileMeta], removed: list[str], grace_s: float) -> None:
        """Record a change of the file set in a manifest, then make it ours; delete removed files later."""
        epoch = {"epoch": self.index.epoch}   # merged files of a restore's data stay live after it
        self.write_manifest(self.node_id, wal_upto=None, added=added, removed=removed, extra=epoch)
        with self._view_lock:
            self.index.apply(self.node_id, {"added": [f.__dict__ for f in added], "removed": removed,
                                            "wal_upto": None, **epoch})
        # Another node may have planned a query over these files a moment ago: wait before deleting.
        self._pending_deletes += [(time.monotonic() + grace_s, p) for p in removed]

    _RETIRE_GRACE_S = 120.0

    def _delete_retired(self, everything: bool = False) -> None:
        now, keep = time.monotonic(), []
        for due, p in self._pending_deletes:
            if everything or now >= due:
                (self.data_dir / p).unlink(missing_ok=True)
            else:
                keep.append((due, p))
        self._pending_deletes = keep


    # ---- seeing other nodes ----------------------------------------------------------------
    def refresh(self, force: bool = False) -> None:
        """Pick up what other nodes have committed: catalog, WAL records, then manifests.

        WAL first, manifests second: a node writes its manifest before deleting WAL files, so a
        record we could not read any more is always covered by a manifest we read afterwards.

        Every node announces its commits on the data directory's signal (changesignal.py), so when
        none was announced since the last look, and that look is younger than `REFRESH_MAX_AGE_S`,
        the files are not read again (`force`: read them anyway).
        """
        with self._refresh_lock:
            signal = self.catalog.data_signal
            # read before the files: a commit announced while we read them makes the next look a full one
            seen = signal.value() if signal is not None else None
            if force or seen is None or seen != self._refreshed_at \
                    or time.monotonic() - self._refreshed_t > REFRESH_MAX_AGE_S:
                self._read_other_nodes()
                self._refreshed_at, self._refreshed_t = seen, time.monotonic()
        self.caches.sync()

    def _read_other_nodes(self) -> None:
        # what the caches had of each node before this tail: a node may have persisted (and
        # deleted from its WAL) writes older than the records we are about to read
        fed = {n: r.fed_seq for n, r in self.replicas.items()}
        self.catalog.refresh()
        self._follow_restore()
        for node_dir in self._other_node_dirs():
            self._tail_node(node_dir)
        with self._view_lock:
            self.index.refresh()
            for node, rep in self.replicas.items():
                upto = self.index.wal_persisted.get(node, 0)
                rep.buffer.drop_upto(upto)
                for seq in [s for s in rep.offsets if s <= upto]:
                    del rep.offsets[seq]
        # writes another node persisted before we read them from its WAL reach the caches here
        self.caches.catch_up(fed)

    def _tail_node(self, node_dir: Path) -> None:
        node = node_dir.name
        rep = self.replicas.setdefault(node, _Replica())
        persisted = self.index.wal_persisted.get(node, 0)
        for seq, path in list_wal_files(node_dir / "wal"):
            if seq <= persisted:
                continue
            try:
                res = read_records(path, rep.offsets.get(seq, 0))
            except FileNotFoundError:
                continue
            decoded = [walcodec.decode(p) for p in res.payloads]
            if self.catalog.restore_cut:   # records a restore rolled back are not read
                decoded = [_after_cut(batches, self.catalog.restore_cut) for batches in decoded]
            with self._view_lock:
                for batches in decoded:
                    for db_id, table_id, batch in batches:
                        rep.buffer.add(seq, db_id, table_id, batch)
                rep.offsets[seq] = res.end
            for batches in decoded:
                for db_id, table_id, batch in batches:
                    self.caches.feed(db_id, table_id, batch)
                    rep.fed_seq = max(rep.fed_seq, _max_seq(batch))

    # ---- reads -----------------------------------------------------------------------------
    def table_sources(self, db_id: int, table_id: int) -> tuple[list[FileMeta], list[pa.Table]]:
        """The Parquet files and buffered batches that make up one table right now."""
        from .sql.sources import snapshot_sources
        files, chunks = snapshot_sources(self, db_id, table_id)
        if not chunks:
            return files, []
        tables = [pa.Table.from_batches([b]) for b in chunks]
        return files, [pa.concat_tables(tables, promote_options="permissive")]

    def query_sql(self, database: str, query: str, params: dict | None = None, *,
                  query_type: str = "sql", log_text: str | None = None):
        """Run one read-only InfluxDB 3 SQL query; returns a `sql.QueryResult` (schema, streamed reader).

        Raises `errors.DatabaseNotFound`, or a `sql.SqlError` (an `errors.QueryError`) whose
        `.status` is the HTTP status InfluxDB 3 answers with. `query_type`/`log_text` let other
        front ends (InfluxQL) log their own text in `system.queries`.
        """
        from .caches.fastpath import answer as answer_from_cache
        from .querylimits import check_statement, limits_for, too_complex
        from .sql import service_for
        fast = answer_from_cache(self, database, query, params, query_type)   # SELECT … FROM last_cache(…)
        if fast is not None:
            return fast
        check_statement(query, limits_for(self))   # size and structure, before any parser runs
        slots = slots_for(self)                      # --max-concurrent-queries: wait for a slot
        owned = slots.acquire()
        try:
            result = service_for(self).query(database, query, params, query_type=query_type, log_text=log_text)
        except RecursionError as exc:
            slots.release(owned)
            raise too_complex(exc) from None
        except BaseException:
            slots.release(owned)
            raise
        if owned and hasattr(result, "_stream"):   # the slot stays taken while DuckDB streams
            result._stream = SlotStream(result._stream, slots.detach())
        else:
            slots.release(owned)
        return result

    def query_influxql(self, database: str | None, query: str, params: dict | None = None):
        """Run one InfluxQL statement the way ``/api/v3/query_influxql`` does; returns a result with
        ``schema``, ``reader`` and ``to_table()`` (the flat table, ``iox::measurement`` first).

        Raises `errors.DatabaseNotFound`, or an `influxql.api.InfluxqlQueryError` (an
        `errors.QueryError`) whose `.status` is InfluxDB 3's HTTP status.
        """
        from .influxql.api import query_influxql
        return query_influxql(self, database, query, params)

    def interrupt_queries(self) -> int:
        """Interrupt every SQL query this node is running (a kernel's Ctrl-C); returns how many."""
        from .sql import service_for
        return service_for(self).interrupt_all()

    @property
    def query_log(self) -> list:
        """Recent queries, oldest first (`system.queries`)."""
        from .sql import service_for
        return service_for(self).query_log()

    @property
    def last_query_telemetry(self) -> dict:
        """What the last query read: files scanned/total, rows and bytes read, rows returned, timings."""
        from .sql import service_for
        return service_for(self).last_telemetry

    def sql(self, database: str, query: str, params: dict | None = None) -> pa.Table:
        """Run a read-only SQL query over the database's tables and return the whole result."""
        return self.query_sql(database, query, params).to_table()

    def table_arrow(self, database: str, table: str) -> pa.Table:
        """Every row of one table, deduplicated, ordered by tags then time."""
        self.catalog.refresh()
        _, t = self.catalog.table(database, table)
        order = ", ".join([quote(c) for c in t.series_key] + ['"time"'])
        return self.sql(database, f"SELECT * FROM {quote(t.name)} ORDER BY {order}")


def _try_lock(path: Path) -> int | None:
    """An exclusive flock on `path`, or None if a live process holds it (it dies with the holder)."""
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        return None
    return fd


def _seconds(value: int | str | None, what: str) -> int | None:
    """Whole seconds from an int or a humantime duration (``4h``); InvalidConfiguration otherwise."""
    if value is None or (isinstance(value, int) and not isinstance(value, bool)):
        return value
    if isinstance(value, str):
        from .catalog import parse_duration
        try:
            return parse_duration(value) // 10**9
        except ValueError as e:
            raise errors.InvalidConfiguration(f"invalid configuration provided: {what}: {e}") from None
    raise errors.InvalidConfiguration(f"invalid configuration provided: {what} must be a number of seconds")


def _after_cut(batches: list, cut: int) -> list:
    """WAL batches without the rows written up to `cut` (a restore's)."""
    out = []
    for db_id, table_id, batch in batches:
        if _max_seq(batch) > cut:
            out.append((db_id, table_id, batch.filter(pc.greater(batch.column(SEQ_COLUMN), cut))))
    return out


def _max_seq(batch: pa.RecordBatch) -> int:
    return pc.max(batch.column(SEQ_COLUMN)).as_py() or 0


_DUCK = {"tag": "VARCHAR", "time": "TIMESTAMP_NS", "float": "DOUBLE", "int": "BIGINT", "uint": "UBIGINT",
         "string": "VARCHAR", "bool": "BOOLEAN"}
