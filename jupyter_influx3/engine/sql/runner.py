"""Running a SQL query: translate, prune and register the tables it names, stream the result.

One `SqlService` per engine owns the DuckDB setup (macros, UTC, integer division, no file access
outside the data directory, locked configuration), the query log behind `system.queries`, the
telemetry of the last query and the per-batch statistics cache.

A query leases a cursor of one of its database's two DuckDB instances (one DuckDB thread for queries
reading few rows, every core for the others) from a small pool and gives it back when
its result is exhausted (a query that fails, is cancelled or abandoned closes its cursor instead).
A pooled cursor keeps the Arrow tables registered on it, so a query reading the same buffered
batches as the one before does not pay DuckDB's registration (~0.35 ms) again; an interrupt reaches
the cursor only while the query that attached it holds the lease.
"""

from __future__ import annotations

import collections
import functools
import os
import random
import re
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import duckdb
import pyarrow as pa

from .. import errors as engine_errors
from ..cancellation import QueryCancelled, attach_cursor
from ..persist import quote, renamed
from ..recent import Recent
from . import system
from .constant import MAX_ROWS as CONSTANT_MAX_ROWS, ConstantResults, consistent_functions
from .errors import (SqlError, SqlExecutionError, SqlPlanningError, SqlSchemaError, SqlSyntaxError,
                     StatementRejected)
from .functions import MACROS
from .sources import ChunkStatsCache, build_view, table_equalities
from .translate import NOW_MARKER, Context, Translation, param_signature, substitute_now, translate

BATCH_ROWS = 122_880
QUERY_LOG_SIZE = 1000
TRANSLATION_CACHE_SIZE = 256
MAX_DB_INSTANCES = 32   # DuckDB instances kept for user SQL, two per database recently queried
IDLE_CURSORS = 8        # cursors an instance keeps for the next queries
#: a query whose tables' reads hold at most this many rows runs on its database's single-threaded
#: DuckDB instance: DuckDB's scheduling for more threads costs a small query ~0.05-0.1 ms
SMALL_QUERY_ROWS = 32_768
REGISTERED_PER_CURSOR = 16   # Arrow tables a pooled cursor keeps registered (least recently used go)


def new_query_id() -> str:
    """A random (version 4) UUID for the query log, as ``str(uuid.uuid4())`` shows it. The bits come
    from ``random`` (reseeded in a forked child), not from ``os.urandom``: a query id names a log
    entry and guards nothing, and the system call cost more than the rest of a small query's
    bookkeeping in this VM."""
    bits = (random.getrandbits(128) & _UUID4_CLEAR) | _UUID4_SET
    h = "%032x" % bits
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


#: version 4 (bits 76-79 = 0100) and the RFC 4122 variant (bits 62-63 = 10)
_UUID4_CLEAR = ~((0xF << 76) | (0x3 << 62))
_UUID4_SET = (0x4 << 76) | (0x2 << 62)


@dataclass
class QueryLogEntry:
    id: str
    issue_time: int
    query_type: str
    query_text: str | Callable[[], str]
    database: str
    phase: str = "received"
    partitions: int | None = None
    parquet_files: int | None = None
    plan_duration: int | None = None
    permit_duration: int | None = None
    execute_duration: int | None = None
    end2end_duration: int | None = None
    compute_duration: int | None = None
    max_memory: int | None = None
    success: bool = False
    running: bool = True
    cancelled: bool = False
    trace_id: str | None = None
    error: str | None = None

    def as_row(self) -> dict:
        row = {k: getattr(self, k) for k in system.QUERIES_SCHEMA.names}
        if callable(row["query_text"]):   # worked out when the log is read (see influxql's _log_start)
            row["query_text"] = row["query_text"]()
        return row


def _normalize_type(t: pa.DataType) -> pa.DataType:
    """The Arrow type InfluxDB 3 would give a DuckDB result type."""
    if pa.types.is_decimal(t):
        return pa.int64() if t.scale == 0 else pa.float64()
    if pa.types.is_timestamp(t) and t.unit != "ns":
        return pa.timestamp("ns", tz=t.tz)
    if pa.types.is_string_view(t) or pa.types.is_large_string(t):
        return pa.string()
    if t in (pa.int8(), pa.int16(), pa.int32()):
        return pa.int64()
    if t in (pa.uint8(), pa.uint16(), pa.uint32()):
        return pa.uint64()
    if pa.types.is_struct(t):
        return pa.struct([pa.field(f.name, _normalize_type(f.type), f.nullable) for f in t])
    if pa.types.is_list(t):
        return pa.list_(pa.field(t.value_field.name, _normalize_type(t.value_type)))
    return t


def _target_schema(schema: pa.Schema, overrides: dict[str, pa.DataType],
                   names: dict[str, str] | None = None) -> pa.Schema:
    return _target_schema_of(schema, tuple(overrides.items()), tuple((names or {}).items()))


@functools.lru_cache(maxsize=512)
def _target_schema_of(schema: pa.Schema, overrides: tuple, names: tuple = ()) -> pa.Schema:
    """The result schema of a DuckDB schema (the same few come back query after query); `names`
    renames columns (the aliases of column names that differ only in case: casenames.py)."""
    over, shown = dict(overrides), dict(names)
    return pa.schema([pa.field(shown.get(f.name, f.name), over.get(f.name) or _normalize_type(f.type), f.nullable)
                      for f in schema])


def _interval_to_duration(arr: pa.Array) -> pa.Array:
    """DuckDB hands Arrow durations back as intervals; fixed-length ones are durations again."""
    out = []
    for v in arr.to_pylist():
        out.append(None if v is None else (v.months * 30 + v.days) * 86_400_000_000_000 + v.nanoseconds)
    return pa.array(out, pa.duration("ns"))


def _cast_batch(batch: pa.RecordBatch, schema: pa.Schema) -> pa.RecordBatch:
    cols = []
    for col, field in zip(batch.columns, schema):
        if col.type == field.type:
            cols.append(col)
        elif pa.types.is_interval(col.type) and pa.types.is_duration(field.type):
            cols.append(_interval_to_duration(col))
        else:
            cols.append(col.cast(field.type))
    return pa.RecordBatch.from_arrays(cols, schema=schema)


_NOW_RELATIVE = re.compile(r"CAST\('" + re.escape(NOW_MARKER) + r"' AS TIMESTAMP_NS\)"
                           r"(?: ([+-]) INTERVAL '(\d{1,12})' (MICROSECOND|MILLISECOND|SECOND|MINUTE|HOUR|DAY|WEEK)S?)?")
_UNIT_NS = {"MICROSECOND": 1_000, "MILLISECOND": 1_000_000, "SECOND": 10**9, "MINUTE": 60 * 10**9,
            "HOUR": 3600 * 10**9, "DAY": 86_400 * 10**9, "WEEK": 7 * 86_400 * 10**9}


def now_relative_ns(text: str, now_ns: int) -> int | None:
    """The value of a translated time bound `now()` or `now() ± INTERVAL 'n' unit` (a fixed unit:
    not months or years) in ns, as DuckDB computes it over TIMESTAMP_NS; None for any other text."""
    m = _NOW_RELATIVE.fullmatch(text)
    if m is None:
        return None
    if m.group(1) is None:
        return now_ns
    delta = int(m.group(2)) * _UNIT_NS[m.group(3)]
    v = now_ns + delta if m.group(1) == "+" else now_ns - delta
    return v if -2**63 < v < 2**63 else None


_LINE_CTX = re.compile(r"\n\s*LINE \d+:.*", re.S)
_EXPLAIN = re.compile(r"^\s*EXPLAIN\s+(ANALYZE\s+)?(?:VERBOSE\s+)?", re.I)


def _clean(msg: str, names: dict[str, str]) -> str:
    msg = _LINE_CTX.sub("", msg).strip()
    msg = re.sub(r"^(Binder|Catalog|Parser|Conversion|Invalid Input|Out of Range|Invalid|Not implemented|"
                 r"Permission|Constraint|Dependency|Type Mismatch|Internal) Error: ", "", msg)
    for internal, name in names.items():
        msg = msg.replace(internal, name)
    return msg


def map_duckdb_error(e: Exception, names: dict[str, str], executing: bool) -> SqlError:
    msg = _clean(str(e), names)
    if isinstance(e, duckdb.OutOfMemoryException) or "Out of Memory Error" in msg:
        # DuckDB's text tells the user to SET memory_limit, which a query may not do
        return SqlExecutionError("Resources exhausted: the query needs more memory than the server's "
                                 "query memory limit allows; narrow it (time range, columns, LIMIT) or "
                                 "ask the operator to raise --query-memory-limit")
    if isinstance(e, duckdb.ParserException):
        return SqlSyntaxError(msg)
    if isinstance(e, duckdb.BinderException):
        m = re.search(r'Referenced column "([^"]+)" not found', msg)
        if m:
            return SqlSchemaError(f"No field named {m.group(1)}.")
        return SqlPlanningError(msg)
    if isinstance(e, duckdb.PermissionException):
        # DuckDB names the file it refused; the answer must not (it is a path of the server's)
        return StatementRejected("Error during planning: queries may not read files")
    if not executing and isinstance(e, (duckdb.CatalogException, duckdb.ConversionException,
                                        duckdb.InvalidInputException, duckdb.NotImplementedException)):
        return SqlPlanningError(msg)
    return SqlExecutionError(msg)


class _PooledCursor:
    """A cursor of one DuckDB instance and the Arrow tables registered on it, by name."""

    __slots__ = ("cursor", "registered")

    def __init__(self, cursor):
        self.cursor = cursor
        self.registered: collections.OrderedDict = collections.OrderedDict()   # name -> (table, alive)

    def register(self, name: str, table, alive=None) -> None:
        """Register `table` under `name` unless that very object already is; `alive()` false means
        the table's sources are gone (a snapshot dropped the batches) and it is unregistered on the
        next lease, so an idle cursor does not keep a persisted buffer in memory."""
        held = self.registered.get(name)
        if held is not None and held[0] is table:
            self.registered.move_to_end(name)
            return
        self.cursor.register(name, table)
        self.registered[name] = (table, alive)
        self.registered.move_to_end(name)
        while len(self.registered) > REGISTERED_PER_CURSOR:
            self.unregister(next(iter(self.registered)))

    def unregister(self, name: str) -> None:
        if self.registered.pop(name, None) is not None:
            self.cursor.unregister(name)

    def drop_stale(self) -> None:
        for name in [n for n, (_, alive) in self.registered.items() if alive is not None and not alive()]:
            self.unregister(name)


class _CursorPool:
    """Idle cursors of one DuckDB instance (each query holds one at a time, never two queries)."""

    def __init__(self, con):
        self.con = con
        self._idle: list[_PooledCursor] = []
        self._lock = threading.Lock()
        self.closed = False

    def lease(self) -> "_Lease":
        with self._lock:
            pooled = self._idle.pop() if self._idle else None
        if pooled is None:
            pooled = _PooledCursor(self.con.cursor())
        else:
            pooled.drop_stale()
        return _Lease(self, pooled)

    def give_back(self, pooled: _PooledCursor) -> None:
        with self._lock:
            if len(self._idle) < IDLE_CURSORS and not self.closed:
                self._idle.append(pooled)
                return
        pooled.cursor.close()

    def close(self) -> None:
        """Close the idle cursors and the instance's own connection (a query still running keeps
        its cursor, and with it the instance, until it ends)."""
        with self._lock:
            self.closed = True
            idle, self._idle = self._idle, []
        for pooled in idle:
            pooled.cursor.close()
        self.con.close()


class _Lease:
    """One query's hold on a pooled cursor. It is what a QueryScope and interrupt_all interrupt:
    once the query ended (`end`), an interrupt no longer reaches the cursor the next query uses."""

    __slots__ = ("pool", "pooled", "cursor", "_lock", "_held")

    def __init__(self, pool: _CursorPool, pooled: _PooledCursor):
        self.pool, self.pooled, self.cursor = pool, pooled, pooled.cursor
        self._lock = threading.Lock()
        self._held = True

    def register(self, name: str, table, alive=None) -> None:
        self.pooled.register(name, table, alive)

    def interrupt(self) -> None:
        with self._lock:   # held: `end` cannot hand the cursor on while it is being interrupted
            if self._held:
                self.cursor.interrupt()

    def end(self, reuse: bool) -> None:
        """Give the cursor back (`reuse`: its result was read to the end) or close it."""
        with self._lock:
            if not self._held:
                return
            self._held = False
        if reuse:
            self.pool.give_back(self.pooled)
        else:
            try:
                self.cursor.close()
            except Exception:  # closing is best effort
                pass


def _submit(cursor, sql: str, values: dict | None):
    """A streamed Arrow reader of one statement. DuckDB 2's connection runs a statement in one
    call (parse, bind, execute); its relation API (`cursor.sql`) parses and binds it twice more
    first (~0.1-0.3 ms a query). Older DuckDB: the relation API."""
    submit = getattr(cursor, "_submit", None)
    if submit is not None:
        return submit(sql, values or None, "stream", BATCH_ROWS).arrow_reader()
    return cursor.sql(sql, params=values or None).to_arrow_reader(BATCH_ROWS)


class _Stream:
    """Iterates DuckDB's Arrow batches in InfluxDB's types; finishes the log entry at the end."""

    def __init__(self, service: "SqlService", cursor: _Lease | None, reader, schema: pa.Schema,
                 entry: QueryLogEntry, telemetry: dict, names: dict[str, str], started: float, keep=None):
        self.service, self.cursor, self.src, self.schema = service, cursor, reader, schema
        self.entry, self.telemetry, self.names, self.started = entry, telemetry, names, started
        self.cast = reader.schema != schema
        self.keep, self.kept = keep, []   # keep(batches): the whole answer, once read to the end
        self.rows = 0
        self.exec_started = time.perf_counter()
        self.done = False

    def __iter__(self):
        return self

    def __next__(self) -> pa.RecordBatch:
        if self.done:
            raise StopIteration
        try:
            batch = self.src.read_next_batch()
        except StopIteration:
            self._finish(True)
            raise
        except duckdb.Error as e:
            err = map_duckdb_error(e, self.names, executing=True)
            self._finish(False, err, cancelled=isinstance(e, duckdb.InterruptException))
            raise err from None
        except (pa.ArrowException, OSError) as e:
            # DuckDB's errors raised while it streams reach us through pyarrow's reader as
            # ArrowException/OSError carrying DuckDB's text; they are query errors all the same
            interrupted = "INTERRUPT" in str(e).upper()
            err = map_duckdb_error(e, self.names, executing=True)
            self._finish(False, err, cancelled=interrupted)
            raise err from None
        except BaseException as e:
            self._finish(False, e)
            raise
        if self.cast:
            batch = _cast_batch(batch, self.schema)
        if self.keep is not None:
            self.kept.append(batch)
            if self.rows + batch.num_rows > CONSTANT_MAX_ROWS:
                self.keep, self.kept = None, []
        self.rows += batch.num_rows
        self.telemetry["rows_returned"] = self.rows
        return batch

    def _finish(self, ok: bool, error: BaseException | None = None, cancelled: bool = False) -> None:
        if self.done:
            return
        self.done = True
        if self.cursor is not None:
            self.service._track(self.cursor, False)
            if not ok:   # DuckDB may still hold the rest of the result: the cursor is not reused
                self.src = None
            self.cursor.end(reuse=ok)
        if ok and self.keep is not None:
            self.keep(self.kept)
        self.keep = self.kept = None
        now = time.perf_counter()
        e = self.entry
        e.execute_duration = int((now - self.exec_started) * 1e9)
        e.compute_duration = e.execute_duration
        e.end2end_duration = int((now - self.started) * 1e9)
        e.running, e.success, e.cancelled = False, ok, cancelled
        e.phase = "success" if ok else ("cancel" if cancelled else "fail")
        if error is not None:
            e.error = str(error)
        self.telemetry.update(rows_returned=self.rows, execution_ms=(now - self.exec_started) * 1e3,
                              total_ms=(now - self.started) * 1e3, finished=True, success=ok)

    def close(self) -> None:
        self._finish(False, cancelled=True)

    def __del__(self):
        if not self.done:
            self.close()


class QueryResult:
    """A running query's result: `schema`, a streamed `reader`, or `to_table()`."""

    def __init__(self, schema: pa.Schema, stream: _Stream, telemetry: dict):
        self.schema = schema
        self._stream = stream
        self.telemetry = telemetry
        self._reader: pa.RecordBatchReader | None = None

    @property
    def reader(self) -> pa.RecordBatchReader:
        if self._reader is None:
            self._reader = pa.RecordBatchReader.from_batches(self.schema, self._stream)
        return self._reader

    def to_table(self) -> pa.Table:
        return self.reader.read_all()

    def close(self) -> None:
        self._stream.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


class SqlService:
    """The SQL side of one engine."""

    def __init__(self, engine):
        self.engine = engine
        self.log: collections.deque[QueryLogEntry] = collections.deque(maxlen=QUERY_LOG_SIZE)
        self.last_telemetry: dict = {}
        self.stats = ChunkStatsCache()
        self._translations: Recent = Recent(TRANSLATION_CACHE_SIZE)
        self._cache_lock = threading.Lock()
        self._setup_lock = threading.Lock()
        self._ready = False
        self._blocked: frozenset = frozenset()
        self._constants: ConstantResults | None = None
        self._running: set = set()   # cursors of queries not finished yet (see interrupt_all)
        self._starting: set = set()  # queries still planning, with no cursor yet
        self._stopped_starting: set = set()   # of those, the ones interrupt_all stopped
        self._running_lock = threading.Lock()
        # (db id, small) -> (nodes, pool); one past the size is dropped, not closed: running
        # cursors keep it
        self._instances: Recent = Recent(MAX_DB_INSTANCES)

    def _track(self, cursor, running: bool) -> None:
        with self._running_lock:
            (self._running.add if running else self._running.discard)(cursor)
        if running:
            attach_cursor(cursor)   # the caller's QueryScope can interrupt it (timeout, disconnect)

    def interrupt_all(self) -> int:
        """Interrupt every query of this node still planning, executing or streaming (Ctrl-C in a
        kernel). Returns how many were interrupted; each fails with DuckDB's interrupt error."""
        with self._running_lock:
            cursors = list(self._running)
            # a query still planning has no cursor to interrupt yet: it stops when it gets one
            self._stopped_starting |= self._starting
            starting = len(self._starting)
        for c in cursors:
            try:
                c.interrupt()
            except Exception:  # already finished or closed
                pass
        return len(cursors) + starting

    def _started(self, ticket: object, cursor) -> None:
        """`cursor` is the query's (`ticket`) from now on; raises if interrupt_all stopped it."""
        with self._running_lock:
            self._starting.discard(ticket)
            stopped = ticket in self._stopped_starting
            self._stopped_starting.discard(ticket)
        if stopped:
            raise SqlExecutionError("INTERRUPT Error: Interrupted!")

    # -- DuckDB setup
    def _configure(self, con, allowed: list[str], tmp: Path, threads: int | None = None) -> None:
        """Macros, InfluxDB's semantics, the memory limit, then the file wall: DuckDB may open only
        files under `allowed`, and nothing a query says can change that (configuration locked)."""
        for m in MACROS:
            con.execute(m)
        tmp.mkdir(parents=True, exist_ok=True)
        listed = ", ".join("'" + d.replace("'", "''") + "'" for d in allowed)
        con.execute("SET GLOBAL TimeZone = 'UTC'")
        con.execute("SET GLOBAL integer_division = true")
        con.execute(f"SET GLOBAL memory_limit = '{self.memory_limit()}B'")
        con.execute("SET GLOBAL temp_directory = '" + str(tmp).replace("'", "''") + "'")
        con.execute(f"SET GLOBAL allowed_directories = [{listed}]")
        con.execute("SET GLOBAL enable_external_access = false")
        con.execute("SET GLOBAL autoinstall_known_extensions = false")
        con.execute("SET GLOBAL autoload_known_extensions = false")
        if threads:
            con.execute(f"SET GLOBAL threads = {int(threads)}")
        con.execute("SET GLOBAL lock_configuration = true")

    def memory_limit(self) -> int:
        """Bytes one DuckDB instance may hold: `Engine(query_memory_limit=)`, else a quarter of RAM."""
        limit = getattr(self.engine, "query_memory_limit", None)
        if limit:
            return int(limit)
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") // 4

    def _connection(self):
        """The engine's own connection, for SQL the engine generates (InfluxQL, the series cache):
        it may read every database's Parquet files. User SQL never runs here (see `_db_connection`)."""
        con = self.engine._db
        if not self._ready:
            with self._setup_lock:
                if not self._ready:
                    self._blocked = frozenset(r[0].lower() for r in con.execute(
                        "SELECT DISTINCT function_name FROM duckdb_functions() "
                        "WHERE function_type IN ('table', 'table_macro')").fetchall())
                    self._constants = ConstantResults(consistent_functions(con))
                    root = str(self.engine.data_dir).rstrip("/") + "/"
                    self._configure(con, [root], self.engine.node_dir / "duckdb-tmp" / "engine")
                    self._ready = True
        return con

    def _db_connection(self, db, small: bool = False):
        """A DuckDB instance for the user SQL of one database: it may open that database's Parquet
        directories (under every node) and nothing else, so even a query the translator let through
        by mistake cannot read another database, the catalog or a WAL. Rebuilt when a node appears.
        `small`: the database's single-threaded instance, for queries reading few rows."""
        return self._db_pool(db, small).con

    def _db_pool(self, db, small: bool = False) -> _CursorPool:
        """The cursor pool of one of the database's DuckDB instances (see `_db_connection`)."""
        if not self._ready:
            self._connection()
        eng = self.engine
        nodes = frozenset([eng.node_id, *eng.replicas])
        key = (db.id, small)
        with self._setup_lock:
            inst = self._instances.recall(key)
            if inst is not None and inst[0] == nodes:
                return inst[1]
        root = str(eng.data_dir).rstrip("/")
        allowed = sorted(f"{root}/{n}/dbs/{db.id}/" for n in nodes)
        con = duckdb.connect()
        self._configure(con, allowed, eng.node_dir / "duckdb-tmp" / (f"{db.id}-small" if small else str(db.id)),
                        threads=1 if small else None)
        pool = _CursorPool(con)
        with self._setup_lock:
            self._instances.keep(key, (nodes, pool))
        return pool

    def query(self, database: str, query: str, params: dict | None = None, *, query_type: str = "sql",
              log_text: str | None = None) -> QueryResult:
        started = time.perf_counter()
        issue = time.time_ns()
        eng = self.engine
        eng.refresh()
        db = eng.catalog.db(database)
        if db is None or db.deleted:
            raise engine_errors.DatabaseNotFound(database)
        entry = QueryLogEntry(new_query_id(), issue, query_type, log_text if log_text is not None else query,
                              database)
        self.log.append(entry)
        telemetry = {"query_id": entry.id, "database": database, "files_total": 0, "files_scanned": 0,
                     "buffer_chunks_total": 0, "buffer_chunks_scanned": 0, "rows_read": 0, "bytes_read": 0,
                     "rows_returned": 0, "deduplicated_tables": [], "tables": {}, "finished": False}
        self.last_telemetry = telemetry
        lease = None
        names: dict[str, str] = {str(eng.data_dir).rstrip("/") + "/": ""}   # no absolute paths in errors
        ticket = object()
        with self._running_lock:
            self._starting.add(ticket)
        try:
            explain = _EXPLAIN.match(query)
            tr = self._translate(db, query[explain.end():] if explain else query, params)
            names.update({k: u.name for k, u in tr.uses.items()})
            names.update(tr.output_names)
            sql, values = tr.bind(params, issue)
            # a text without table or now(): the answer of its first run may be kept
            constant = (not explain and not tr.uses and NOW_MARKER not in tr.sql
                        and self._constants.cacheable(sql, values))
            kept = self._constants.get(sql) if constant else None
            if kept is not None:
                return self._answer_kept(kept, entry, telemetry, names, started)
            lease = self._db_pool(db, small=True).lease()
            self._track(lease, True)
            views = self._views(lease, db, tr, values, issue, telemetry, entry)
            if sum(v.rows_scanned for _, v in views) > SMALL_QUERY_ROWS:
                # many rows to read: the instance that runs a query on every core
                self._track(lease, False)
                lease.end(reuse=True)
                lease = None
                lease = self._db_pool(db).lease()
                self._track(lease, True)
            self._started(ticket, lease)
            sql = self._register(lease, db, tr, sql, views, issue)
            if explain:
                # DataFusion's EXPLAIN answers (plan_type, plan); this is DuckDB's plan of the translation
                analyze = "ANALYZE " if explain.group(1) else ""
                plan = lease.cursor.execute(f"EXPLAIN {analyze}{sql}", values or None).fetchall()
                kind = "Plan with Metrics" if analyze else "physical_plan"
                root = str(self.engine.data_dir).rstrip("/") + "/"
                rows = [("logical_plan", sql)] + [(kind if k in ("physical_plan", "analyzed_plan") else k, v)
                                                  for k, v in plan]
                rows = [(k, v.replace(root, "")) for k, v in rows]   # paths relative to the data dir
                lease.register("__explain", pa.table({"plan_type": [r[0] for r in rows],
                                                       "plan": [r[1] for r in rows]}))
                sql, values = "SELECT * FROM __explain", {}
                tr = Translation(sql, [], {}, {}, {}, {})
            reader = _submit(lease.cursor, sql, values)
        except SqlError as e:
            self._fail(entry, lease, e, started)
            raise
        except duckdb.Error as e:
            err = map_duckdb_error(e, names, executing=False)
            self._fail(entry, lease, err, started, cancelled=isinstance(e, duckdb.InterruptException))
            raise err from None
        except BaseException as e:
            self._fail(entry, lease, e, started, cancelled=isinstance(e, QueryCancelled))
            raise
        finally:
            with self._running_lock:   # a query that failed before it had a lease
                self._starting.discard(ticket)
                self._stopped_starting.discard(ticket)
        self._planned(entry, telemetry, started)
        overrides = dict(tr.output_types)
        if any(u.kind == "system" and u.name == "queries" for u in tr.uses.values()):
            for f in reader.schema:
                if pa.types.is_interval(f.type) and f.name.endswith("_duration") and f.name not in overrides:
                    overrides[f.name] = pa.duration("ns")
        schema = _target_schema(reader.schema, overrides, tr.output_names)
        keep = functools.partial(self._constants.put, sql, schema) if constant else None
        stream = _Stream(self, lease, reader, schema, entry, telemetry, names, started, keep)
        return QueryResult(schema, stream, telemetry)

    @staticmethod
    def _planned(entry: QueryLogEntry, telemetry: dict, started: float) -> None:
        planned = time.perf_counter()
        entry.plan_duration = int((planned - started) * 1e9)
        entry.permit_duration = 0
        entry.phase = "planned"
        telemetry["planning_ms"] = (planned - started) * 1e3

    def _answer_kept(self, kept: tuple, entry: QueryLogEntry, telemetry: dict, names: dict,
                     started: float) -> QueryResult:
        """A constant query's answer from its first run (see constant.py); logged like any query."""
        schema, batches = kept
        self._planned(entry, telemetry, started)
        reader = pa.RecordBatchReader.from_batches(schema, batches)
        return QueryResult(schema, _Stream(self, None, reader, schema, entry, telemetry, names, started), telemetry)

    def _fail(self, entry: QueryLogEntry, lease: _Lease | None, error: BaseException, started: float,
              cancelled: bool = False) -> None:
        if lease is not None:
            self._track(lease, False)
            lease.end(reuse=False)
        # an interrupted query (timeout, client gone, shutdown, Ctrl-C) is "cancel" in system.queries
        entry.running, entry.success, entry.phase = False, False, "cancel" if cancelled else "fail"
        entry.cancelled = cancelled
        entry.error = str(error)
        entry.end2end_duration = int((time.perf_counter() - started) * 1e9)

    def _translate(self, db, query: str, params: dict | None) -> Translation:
        key = (query, db.id, self.engine.catalog.seq, system.registry_version(), param_signature(params))
        with self._cache_lock:
            tr = self._translations.recall(key)
            if tr is not None:
                return tr
        self._connection()    # DuckDB set up: the blocked function names are known
        tr = translate(query, params, self._context(db))
        with self._cache_lock:
            self._translations.keep(key, tr)
        return tr

    def _context(self, db) -> Context:
        def resolve(name: str, quoted: bool):
            live = {t.name: t for t in db.live_tables()}
            if quoted:
                return live.get(name)
            return live.get(name.lower()) or live.get(name)

        return Context(resolve, set(system.system_tables_for(db)), set(system.INFO_TABLES),
                       set(system.table_functions()), self._blocked, system.table_column_functions())

    def _views(self, lease: _Lease, db, tr: Translation, values: dict, now_ns: int, telemetry: dict,
               entry: QueryLogEntry) -> list[tuple[str, object]]:
        """(key, TableView) of each user table the query reads, in the telemetry; `lease`'s cursor
        evaluates the time bounds."""
        ranges = self._evaluate_bounds(lease.cursor, tr, values, now_ns) if tr.bounds else {}
        files = 0
        views = []
        for key, use in tr.uses.items():
            if use.kind == "iox":
                lo, hi = ranges.get(key, (None, None))
                view = build_view(self.engine, db, use.table, lo, hi, now_ns, self.stats, key,
                                  table_equalities(tr.equalities.get(key), use.table), use.renames)
                views.append((key, view))
                files += view.files_scanned
                telemetry["files_total"] += view.files_total
                telemetry["files_scanned"] += view.files_scanned
                telemetry["buffer_chunks_total"] += view.chunks_total
                telemetry["buffer_chunks_scanned"] += view.chunks_scanned
                telemetry["rows_read"] += view.rows_scanned
                telemetry["bytes_read"] += view.bytes_scanned
                if view.dedup and use.name not in telemetry["deduplicated_tables"]:
                    telemetry["deduplicated_tables"].append(use.name)
                telemetry["tables"].setdefault(use.name, []).append({
                    "time_range": (lo, hi), "files_total": view.files_total, "files_scanned": view.files_scanned,
                    "buffer_chunks_total": view.chunks_total, "buffer_chunks_scanned": view.chunks_scanned,
                    "rows_read": view.rows_scanned, "bytes_read": view.bytes_scanned, "deduplicated": view.dedup,
                    "retention_cutoff": view.retention_cutoff, "row_groups_total": view.row_groups_total,
                    "row_groups_scanned": view.row_groups_scanned})
        entry.parquet_files = files
        entry.partitions = len(views)
        return views

    def _register(self, lease: _Lease, db, tr: Translation, sql: str, views: list, now_ns: int) -> str:
        """Register what the query reads on its cursor; returns `sql` with each user table's read inlined."""
        for key, view in views:
            for name in view.unused_names:   # what an earlier query read under this name
                lease.pooled.unregister(name)
            for name, tbl in view.registrations.items():
                lease.register(name, tbl, view.alive.get(name))
        for key, use in tr.uses.items():
            if use.kind == "system":
                lease.register(key, system.build_system_table(use.name, self.engine, db))
            elif use.kind == "info":
                lease.register(key, system.build_info_table(use.name, self.engine, db))
            elif use.kind == "func":
                fn = system.table_functions()[use.name]
                rows = fn(self.engine, db, use.args)
                # (names that differ only in case under their aliases, as the translation reads them)
                lease.register(key, renamed(rows, use.renames))
        if tr.sql_one_read is not None and any(view.dedup for _, view in views):
            sql = substitute_now(tr.sql_one_read, now_ns)
        for key, view in views:
            sql = sql.replace(quote(key), f"({view.sql})")
        return sql

    @staticmethod
    def _evaluate_bounds(cursor, tr: Translation, params: dict, now_ns: int) -> dict[str, tuple[int | None, int | None]]:
        """Per table, the [lower, upper] ns range its rows must lie in (None = unbounded)."""
        texts = sorted({b[1] for occs in tr.bounds.values() for lo, hi in occs for b, _ in (lo or []) + (hi or [])
                        if isinstance(b, tuple) and b[0] == "sql"})
        values: dict[object, int | None] = {}
        for t in texts:   # now() ± a fixed interval, the usual dashboard bound: no DuckDB statement
            v = now_relative_ns(t, now_ns)
            if v is not None:
                values[("sql", t)] = v
        texts = [t for t in texts if ("sql", t) not in values]
        if texts:
            used = sorted({m for t in texts for m in re.findall(r"\$(\w+)", t)})
            bound = {k: params[k] for k in used if k in params}
            sql = "SELECT " + ", ".join(f"epoch_ns(CAST(({substitute_now(t, now_ns)}) AS TIMESTAMP_NS))"
                                        for t in texts)
            try:
                row = cursor.execute(sql, bound or None).fetchall()[0]
                values.update({("sql", t): v for t, v in zip(texts, row)})
            except duckdb.Error:
                pass

        def value(bound):
            b, adjust = bound
            if isinstance(b, int):
                v = b
            elif b[0] == "param":
                v = params.get(b[1])
            else:
                v = values.get(b)
            return None if v is None else v + adjust

        out = {}
        for key, occs in tr.bounds.items():
            los, his = [], []
            for lo, hi in occs:
                lv = [value(b) for b in (lo or [])]
                hv = [value(b) for b in (hi or [])]
                lv, hv = [v for v in lv if v is not None], [v for v in hv if v is not None]
                los.append(max(lv) if lv else None)
                his.append(min(hv) if hv else None)
            lo = None if not los or None in los else min(los)
            hi = None if not his or None in his else max(his)
            out[key] = (lo, hi)
        return out

    def query_log(self) -> list[QueryLogEntry]:
        return list(self.log)

    def close(self) -> None:
        """Close the DuckDB instances of user SQL (the engine is closing)."""
        with self._setup_lock:
            pools = [pool for _, pool in self._instances.values()]
            self._instances.clear()
        for pool in pools:
            try:
                pool.close()
            except duckdb.Error:   # busy with a query being interrupted
                pass


_services_lock = threading.Lock()


def per_engine(engine, attr: str, make):
    """The object kept on ``engine`` under ``attr``, made by ``make()`` on first use (once)."""
    s = engine.__dict__.get(attr)
    if s is None:
        with _services_lock:
            s = engine.__dict__.get(attr)
            if s is None:
                s = engine.__dict__[attr] = make()
    return s


def service_for(engine) -> SqlService:
    return per_engine(engine, "_sql_service", lambda: SqlService(engine))
