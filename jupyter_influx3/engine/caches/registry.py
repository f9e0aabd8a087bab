"""The caches of one engine node: kept in step with the catalog's definitions, fed by the write path.

Owns the live `LastValueCache` / `DistinctValueCache` objects of a node, keyed by the catalog's
definitions: `sync()` creates the caches other nodes (or this one) defined and drops deleted ones,
`feed()` hands every acknowledged batch — written here or tailed from another node's WAL — to the
caches of its table, and a new cache (at creation, and for every cache at node start) is filled
from what is already stored, so its first answer is complete. `maintain()` (the engine's
background thread) folds in queued batches and evicts what `ttl` / `max_age` expired.

A cache is registered before it is filled: a write racing with the fill either is in the stored
view the fill reads, or reaches the cache through `feed()`; folding a row in twice changes nothing.
A reader never sees it before it is filled: `sync()` holds the lock, and another thread's `sync()`
waits, until the fill is done (the write path feeds without syncing, so it does not wait).

Does not parse SQL or speak HTTP; `sql.py` publishes the caches as table functions and system tables.
"""

from __future__ import annotations

import logging
import threading
import time

import duckdb
import pyarrow as pa
import pyarrow.compute as pc

from .. import lifecycle
from ..admin.deletes import sql_hidden, version as deletes_version
from ..persist import case_aliases, merge_sql, quote, renamed, unused_name
from ..validator import SEQ_COLUMN, SEQS_COLUMN, TAG_TYPE
from .distinct_value import DistinctValueCache
from .last_value import LastValueCache

log = logging.getLogger(__name__)

DEFAULT_EVICTION_INTERVAL_S = 10.0


class CacheRegistry:
    def __init__(self, engine, last_eviction_s: float = DEFAULT_EVICTION_INTERVAL_S,
                 distinct_eviction_s: float = DEFAULT_EVICTION_INTERVAL_S):
        self.engine = engine
        self.last_eviction_s, self.distinct_eviction_s = last_eviction_s, distinct_eviction_s
        self._by_table: dict[tuple[int, int], list] = {}
        self._by_def: dict[tuple, object] = {}   # (kind, db, table, name, id) -> cache
        self._synced_seq = -1
        self._filling: int | None = None   # the catalog seq whose new caches this sync is filling
        self._lock = threading.RLock()
        self._drain_wanted = threading.Event()
        self._last_evict = {"last": time.monotonic(), "distinct": time.monotonic()}
        # Parquet files whose rows the caches have accounted for (None: no cache to account for)
        self._seen_files: set[str] | None = None

    # ---- definitions -------------------------------------------------------------------------
    def sync(self) -> None:
        """Match the live caches to the catalog's definitions (new ones are filled from storage)."""
        cat = self.engine.catalog
        if cat.seq == self._synced_seq:
            return
        with self._lock:
            seq = cat.seq
            if seq == self._synced_seq or seq == self._filling:
                return
            wanted = {}
            for d in list(cat.databases.values()):
                if d.deleted:
                    continue
                for t in list(d.tables.values()):
                    if t.deleted:
                        continue
                    # a new row delete changes the key: the cache is refilled without those rows
                    dv = deletes_version(cat, d.id, t.id)
                    for kind, defs in (("last", t.last_caches), ("distinct", t.distinct_caches)):
                        for name, definition in list(defs.items()):
                            wanted[(kind, d.id, t.id, name, definition["id"], dv)] = definition
            for key in [k for k in self._by_def if k not in wanted]:
                cache = self._by_def.pop(key)
                self._by_table[(key[1], key[2])].remove(cache)
            new = []
            if wanted and self._seen_files is None:
                self._seen_files = set(self.engine.index.files)   # before any fill reads them
            for key, definition in wanted.items():
                if key not in self._by_def:
                    cache = LastValueCache(definition) if key[0] == "last" else DistinctValueCache(definition)
                    self._by_def[key] = cache
                    self._by_table.setdefault((key[1], key[2]), []).append(cache)
                    new.append((key, cache))
            self._by_table = {k: v for k, v in self._by_table.items() if v}
            if not self._by_def:
                self._seen_files = None
            # said synced only once the new caches are filled: until then another thread's
            # sync() waits on the lock instead of finding a registered, still empty cache (a
            # query on one worker right after another worker created it answered no rows). A
            # fill that syncs again in this thread finds `_filling` and leaves the mark to us.
            self._filling = seq
            try:
                for key, cache in new:
                    try:
                        cache.load(self._fill(cache, key[1], key[2]))
                    except Exception:  # a cache that cannot be filled still serves new writes
                        log.exception("filling cache %s from storage failed", cache.name)
            finally:
                self._filling = None
            self._synced_seq = seq

    def caches_of(self, db_id: int, table_id: int) -> list:
        self.sync()
        return list(self._by_table.get((db_id, table_id), ()))

    def find(self, kind: str, db_id: int, table_id: int, name: str | None):
        """The `kind` cache of a table named `name`, or its only one when `name` is None."""
        found = [c for c in self.caches_of(db_id, table_id) if c.kind == kind]
        if name is not None:
            found = [c for c in found if c.name == name]
        return found[0] if len(found) == 1 else None

    # ---- the write path ----------------------------------------------------------------------
    def feed(self, db_id: int, table_id: int, batch: pa.RecordBatch) -> None:
        """An acknowledged batch of a table (O(1): folded in later)."""
        caches = self._by_table.get((db_id, table_id))
        if not caches:
            return
        for cache in caches:
            if cache.feed(batch):
                if cache.queue.overfull:
                    cache.drain()   # the maintenance thread is not keeping up (or there is none)
                else:
                    self._drain_wanted.set()

    def catch_up(self, fed_seq: dict[str, int]) -> None:
        """Feed the rows of other nodes' new snapshot files that never came through their WAL.

        A node may write and persist between two of our refreshes: those rows reach us only as
        Parquet. `fed_seq[node]` is the newest write of `node` we fed; a node's writes are numbered
        in order, so only rows above it are new. Compaction output holds nothing new.
        """
        if self._seen_files is None:
            return
        files = self.engine.index.files
        if len(files) == len(self._seen_files) and all(p in self._seen_files for p in files):
            return
        new = [f for p, f in list(files.items()) if p not in self._seen_files]
        self._seen_files = set(files)
        own = self.engine.node_id
        for f in new:
            parts = f.path.split("/")
            node, name = parts[0], parts[-1]
            caches = self._by_table.get((f.db, f.table))
            if not caches or node == own or name.startswith("c") or f.max_seq <= fed_seq.get(node, 0):
                continue
            import pyarrow.parquet as pq
            try:
                t = pq.read_table(self.engine.data_dir / f.path)
            except FileNotFoundError:
                continue   # retired already: its rows are in the file that replaced it
            t = t.filter(pc.greater(t.column(SEQ_COLUMN), fed_seq.get(node, 0)))
            d = self.engine.catalog.db_by_id(f.db)
            tbl = d.tables.get(f.table) if d else None
            t = as_written(t, tbl.series_key if tbl else [])
            for cache in caches:
                for b in t.to_batches():
                    cache.feed(b)
                cache.drain()

    def maintain(self) -> None:
        """Fold queued batches in, and evict each kind on its own interval (background thread)."""
        self.sync()
        with self._lock:
            caches = list(self._by_def.values())
        if self._drain_wanted.is_set():
            self._drain_wanted.clear()
            for c in caches:
                c.drain()
        now = time.monotonic()
        for kind, every in (("last", self.last_eviction_s), ("distinct", self.distinct_eviction_s)):
            if now - self._last_evict[kind] >= every:
                self._last_evict[kind] = now
                for c in caches:
                    if c.kind == kind:
                        c.drain()
                        c.evict()

    def stats(self) -> dict[str, tuple[int, int, int]]:
        """Per kind: (caches, entries, approximate bytes), for /metrics."""
        self.sync()
        with self._lock:
            caches = list(self._by_def.values())
        out = {"last": [0, 0, 0], "distinct": [0, 0, 0]}
        for c in caches:
            s = out[c.kind]
            s[0] += 1
            s[1] += c.entry_count
            s[2] += c.memory_bytes()
        return {k: tuple(v) for k, v in out.items()}

    # ---- filling from storage ----------------------------------------------------------------
    def _fill(self, cache, db_id: int, table_id: int) -> pa.Table | None:
        """What `cache` would hold had it seen every stored write (within ttl / max_age)."""
        from ..sql.sources import parquet_read, snapshot_sources

        eng = self.engine
        d = eng.catalog.db_by_id(db_id)
        t = d.tables.get(table_id) if d else None
        if t is None:
            return None
        files, chunks = snapshot_sources(eng, db_id, table_id)
        if not files and not chunks:
            return None
        now = time.time_ns()
        # columns whose names differ only in case are read under aliases (DuckDB binds names
        # without regard to case), the answer renamed back
        renames = case_aliases(t.columns, "__fill_") or {}

        def name(c: str) -> str:   # the SQL's name of a column
            return renames.get(c, c)

        con = duckdb.connect()
        try:
            parts = []
            have: set[str] = set()
            if files:
                parts.append(f"SELECT * FROM {parquet_read(files, eng.data_dir, renames)}")
                have |= {c for f in files for c in f.columns}
            if chunks:
                tables = [pa.Table.from_batches([b]) for b in chunks]
                con.register("__buf", renamed(pa.concat_tables(tables, promote_options="permissive"), renames))
                parts.append("SELECT * FROM __buf")
                have |= {c for b in chunks for c in b.schema.names}
            union = " UNION ALL BY NAME ".join(f"({p})" for p in parts)
            where = [f"{quote(SEQ_COLUMN)} > {int(t.truncated_seq)}"]
            hidden = sql_hidden(eng.catalog, db_id, table_id, have | {SEQ_COLUMN}, lambda c: quote(name(c)))
            if hidden:   # row deletes (engine/admin/deletes.py)
                where.append(f"NOT coalesce(({hidden}), false)")
            cutoff = lifecycle.retention_cutoff(eng.catalog, db_id, table_id, now)
            if cutoff is not None:
                where.append(f'"time" >= make_timestamp_ns({int(cutoff)})')
            src = f"SELECT * FROM {union} WHERE {' AND '.join(where)}" if len(parts) == 1 else \
                f"SELECT * FROM ({union}) WHERE {' AND '.join(where)}"
            if cache.kind == "distinct":
                if any(c not in have for c in cache.columns):
                    return None
                cols = ", ".join(quote(name(c)) for c in cache.columns)
                nonnull = " AND ".join(f"{quote(name(c))} IS NOT NULL" for c in cache.columns)
                sql = (f"SELECT {cols}, max({quote(SEQ_COLUMN)}) AS {quote(SEQ_COLUMN)} FROM ({src}) "
                       f"WHERE {nonnull} GROUP BY {cols} HAVING max({quote(SEQ_COLUMN)}) >= {now - cache.max_age_ns}")
                return renamed(con.sql(sql).to_arrow_table(), renames, back=True)
            tags = [c for c in t.series_key if c in have]
            values = [name(c) for c in t.column_names_sorted() if c in have and c not in tags and c != "time"]
            group = [quote(name(c)) for c in tags] + ['"time"']
            # with each merged column's own write order: the cache merges these rows again
            agg = merge_sql(values, SEQS_COLUMN in have, keep_seqs=True, keys={a: c for c, a in renames.items()})
            keys = [quote(name(c)) for c in cache.key_columns if c in have]
            part = f"PARTITION BY {', '.join(keys)} " if keys else ""
            seq, cutoff, count = quote(SEQ_COLUMN), now - cache.ttl_ns, int(cache.count)
            rank = quote(unused_name("__rn", have | set(renames.values())))   # (a field may be named so)
            kt = ", ".join(keys + ['"time"'])
            on = " AND ".join(f"s.{k} IS NOT DISTINCT FROM t.{k}" for k in keys + ['"time"'])
            # Deduplicate only the rows at each key's `count` newest times written within ttl (an
            # identity's rows share its time), not the whole table: a fill reads every stored row.
            sql = (f"WITH src AS ({src}), "
                   f"recent AS (SELECT DISTINCT {kt} FROM src WHERE {seq} >= {cutoff}), "
                   f"top AS (SELECT {kt} FROM (SELECT {kt}, dense_rank() OVER ({part}ORDER BY \"time\" DESC) AS {rank} "
                   f"FROM recent) WHERE {rank} <= {count}), "
                   f"cand AS (SELECT s.* FROM src s SEMI JOIN top t ON {on}) "
                   f"SELECT * EXCLUDE ({rank}) FROM (SELECT *, row_number() OVER ({part}ORDER BY \"time\" DESC, "
                   f"{seq} DESC) AS {rank} FROM (SELECT {', '.join(group + agg)} FROM cand "
                   f"GROUP BY {', '.join(group)}) WHERE {seq} >= {cutoff}) WHERE {rank} <= {count}")
            out = renamed(con.sql(sql).to_arrow_table(), renames, back=True)
        finally:
            con.close()
        return as_written(out, tags)


def as_written(table: pa.Table, tags) -> pa.Table:
    """Tag columns dictionary-encoded, as in written batches (the caches tell tags from fields by it)."""
    for name in tags:
        i = table.schema.get_field_index(name)
        if i >= 0 and not pa.types.is_dictionary(table.schema.field(i).type):
            table = table.set_column(i, name, pc.dictionary_encode(table.column(name).cast(pa.string())).cast(TAG_TYPE))
    return table
