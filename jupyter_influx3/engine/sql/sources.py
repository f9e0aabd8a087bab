"""What a query reads of one table: Parquet files and buffered batches, pruned, deduplicated, aged.

A table is the union of its Parquet files (each already one row per (tags, time)) and the record
batches of every node's buffer (one batch per write; may hold duplicates). Only the sources whose
time range meets the query's bounds are read; rows older than the table's (else the database's)
retention are cut off. Deduplication — one row per (series key, time), per column the last non-null
value by `__seq` — is paid only where it can matter: sources are grouped into clusters of
overlapping time ranges, and only clusters with more than one source, or with a batch that holds
duplicate keys, go through the GROUP BY. Everything else is a plain scan.

Does not parse SQL; the runner turns a `TableView` into a DuckDB view on the query's cursor.
"""

from __future__ import annotations

import threading
import weakref
from collections import OrderedDict
from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ..persist import FileMeta, literal, merge_sql, quote, row_groups_of
from ..recent import Recent
from ..validator import SEQ_COLUMN, SEQS_COLUMN
from ..admin.deletes import sql_hidden
from ..admin import fileindex
from .functions import COLUMN_TYPES
from .timeparse import ns_literal_sql

_M1, _M2 = np.uint64(0xBF58476D1CE4E5B9), np.uint64(0x94D049BB133111EB)


@dataclass
class ChunkStats:
    min_time: int
    max_time: int
    unique: bool      # no two rows share (series key, time)
    rows: int
    nbytes: int
    series: np.ndarray | None = None   # sorted distinct hashes of the series keys present
    columns: frozenset = frozenset()   # the batch's column names (read per query: not from its schema)
    keys: np.ndarray | None = None     # sorted 64-bit hashes of each row's (series key, time)
    shares: dict = field(default_factory=dict)   # file path -> whether a row of the file has a key of ours


def _mix(h: np.ndarray) -> np.ndarray:
    h ^= h >> np.uint64(30)
    h *= _M1
    h ^= h >> np.uint64(27)
    h *= _M2
    h ^= h >> np.uint64(31)
    return h


def _tag_terms(col: pa.Array, name: str) -> np.ndarray:
    """Per-row 64-bit terms of one tag column: a mix of its name and value, equal across batches
    for equal values, 0 where the tag is null. Mixed once per distinct value, then gathered."""
    if isinstance(col, pa.ChunkedArray):
        col = col.combine_chunks()
    if not pa.types.is_dictionary(col.type):
        col = pc.dictionary_encode(col)
    words = np.array([hash(v) for v in col.dictionary.to_pylist()] + [0], dtype=np.int64).view(np.uint64)
    terms = _mix(words ^ np.uint64(hash(name) & 0xFFFFFFFFFFFFFFFF))
    terms[-1] = 0
    return terms[col.indices.fill_null(len(col.dictionary)).to_numpy(zero_copy_only=False)]


def _key_hashes(data, key_columns: list[str]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(times, per-row series hashes, sorted per-row (series key, time) hashes) of a batch or table.

    A series hash XORs one term per non-null tag (name and value), so a tag that is null and a tag
    the batch does not have (it did not exist yet) hash alike — as the GROUP BY that deduplicates
    treats them — and the hash does not depend on which tags the table has gained since. Equal
    keys hash alike in every batch and file this process reads."""
    times = data.column("time").cast(pa.int64()).to_numpy(zero_copy_only=False)
    names = data.schema.names
    with np.errstate(over="ignore"):
        series = np.zeros(len(times), dtype=np.uint64)
        for name in key_columns:
            if name in names:
                series ^= _tag_terms(data.column(name), name)
        series = _mix(series)
        h = _mix(series ^ _mix(times.astype(np.uint64)))
    h.sort()
    return times, series, h


def compute_stats(batch: pa.RecordBatch, key_columns: list[str]) -> ChunkStats:
    """Time range, key uniqueness, series and key hashes of one batch."""
    columns = frozenset(batch.schema.names)
    if batch.num_rows == 0:
        return ChunkStats(0, -1, True, 0, batch.nbytes, np.zeros(0, np.uint64), columns, np.zeros(0, np.uint64))
    times, series, h = _key_hashes(batch, key_columns)
    unique = not bool((h[1:] == h[:-1]).any())   # a hash collision only costs a dedup
    return ChunkStats(int(times.min()), int(times.max()), unique, len(times), batch.nbytes, np.unique(series),
                      columns, h)


def _share_keys(a: np.ndarray, b: np.ndarray) -> bool:
    """Whether two sorted hash arrays have a value in common (the smaller looked up in the larger)."""
    if len(a) > len(b):
        a, b = b, a
    if not len(a):
        return False
    i = np.searchsorted(b, a)
    i[i == len(b)] = len(b) - 1
    return bool((b[i] == a).any())


#: Parquet files whose key hashes are read to see whether they share rows with overlapping sources
#: (bigger ones are deduplicated with every source they overlap), and the memory those hashes may hold
KEYED_FILE_ROWS = 2_000_000
FILE_KEYS_BYTES = 128 * 2**20


#: sets of buffered batches whose one Arrow table is kept (see ChunkStatsCache.one_table)
TABLES_KEPT = 64


class ChunkStatsCache:
    """Stats of buffered batches, computed once per batch object (they are immutable), the key
    hashes of Parquet files (immutable too), kept while they fit in FILE_KEYS_BYTES, and the one
    Arrow table of each recently read set of batches."""

    def __init__(self):
        self._entries: dict[int, tuple[weakref.ref, ChunkStats]] = {}
        self._lock = threading.RLock()   # re-entrant: a batch may die (a weakref callback) under it
        self._tables: Recent = Recent(TABLES_KEPT)   # batch ids -> (refs, table, _Alive)
        self._file_keys: OrderedDict[str, np.ndarray] = OrderedDict()
        self._file_keys_bytes = 0
        self._file_pairs: Recent = Recent(10_000)   # (path, path) -> whether their keys meet

    def file_keys(self, data_dir, f: FileMeta, key_columns: list[str]) -> np.ndarray | None:
        """The sorted (series key, time) hashes of `f`'s rows, or None for a file too big to key."""
        if f.rows > KEYED_FILE_ROWS:
            return None
        with self._lock:
            h = self._file_keys.get(f.path)
            if h is not None:
                self._file_keys.move_to_end(f.path)
                return h
        import pyarrow.parquet as pq
        have = [c for c in key_columns if c in f.columns]
        try:   # a slice at a time: the hashes, not the file's tag columns, are what stays in memory
            with pq.ParquetFile(data_dir / f.path, read_dictionary=have) as pf:
                parts = [_key_hashes(b, key_columns)[2]
                         for b in pf.iter_batches(batch_size=1 << 18, columns=have + ["time"])]
        except (OSError, pa.ArrowException):   # retired meanwhile: the query reports it, not us
            return None
        h = np.sort(np.concatenate(parts)) if len(parts) > 1 else parts[0] if parts else np.zeros(0, np.uint64)
        with self._lock:
            if f.path not in self._file_keys:
                self._file_keys[f.path] = h
                self._file_keys_bytes += h.nbytes
            while self._file_keys_bytes > FILE_KEYS_BYTES and len(self._file_keys) > 1:
                _, old = self._file_keys.popitem(last=False)
                self._file_keys_bytes -= old.nbytes
        return h

    def shares_keys(self, data_dir, a, b, key_columns: list[str]) -> bool:
        """Whether sources `a` and `b` (a FileMeta or a buffered batch; not two batches) may hold
        a row with the same (series key, time): True unless their key hashes have none in common."""
        if isinstance(a, pa.RecordBatch):
            a, b = b, a
        if isinstance(b, pa.RecordBatch):
            st = self.get(b, key_columns)
            known = st.shares.get(a.path)
            if known is None:
                fk = self.file_keys(data_dir, a, key_columns)
                known = st.shares[a.path] = fk is None or st.keys is None or _share_keys(fk, st.keys)
            return known
        pair = (a.path, b.path) if a.path < b.path else (b.path, a.path)
        with self._lock:
            known = self._file_pairs.get(pair)
        if known is None:
            ka, kb = self.file_keys(data_dir, a, key_columns), self.file_keys(data_dir, b, key_columns)
            known = ka is None or kb is None or _share_keys(ka, kb)
            with self._lock:
                self._file_pairs.keep(pair, known)
        return known

    def one_table(self, batches: list[pa.RecordBatch]) -> tuple[pa.Table, "_Alive"]:
        """The batches as one table: the same object for the same batches while they live, so a
        cursor that registered it for an earlier query need not register it again; and whether
        the batches still live (a snapshot dropped them: the table is a persisted buffer's)."""
        key = tuple(map(id, batches))
        with self._lock:
            e = self._tables.recall(key)
            if e is not None and all(r() is b for r, b in zip(e[0], batches)):
                return e[1], e[2]

        def gone(ref, key=key):   # the oldest batch went (persisted): so does the table's memory
            with self._lock:
                cur = self._tables.get(key)
                if cur is not None and cur[0][0] is ref:
                    del self._tables[key]

        refs = [weakref.ref(batches[0], gone)] + [weakref.ref(b) for b in batches[1:]]
        entry = (refs, _one_table(batches), _Alive(refs))
        with self._lock:
            self._tables.keep(key, entry)
        return entry[1], entry[2]

    def get(self, batch: pa.RecordBatch, key_columns: list[str]) -> ChunkStats:
        k = id(batch)
        with self._lock:
            e = self._entries.get(k)
            if e is not None and e[0]() is batch:
                return e[1]
        stats = compute_stats(batch, key_columns)

        def gone(ref, k=k):
            with self._lock:
                cur = self._entries.get(k)
                if cur is not None and cur[0] is ref:
                    del self._entries[k]

        with self._lock:
            self._entries[k] = (weakref.ref(batch, gone), stats)
        return stats

    def __len__(self) -> int:
        return len(self._entries)


class _Alive:
    """Whether the first and the last of a set of batches still live. A buffer drops batches
    oldest first (a snapshot persisted them), so once the set is stale the first one is gone."""

    __slots__ = ("first", "last")

    def __init__(self, refs: list):
        self.first, self.last = refs[0], refs[-1]

    def __call__(self) -> bool:
        return self.first() is not None and self.last() is not None


def snapshot_sources(engine, db_id: int, table_id: int, lo: int | None = None,
                     hi: int | None = None) -> tuple[list[FileMeta], list[pa.RecordBatch]]:
    """The table's live Parquet files and buffered batches (of every node), as one consistent view;
    with `lo`/`hi`, only the files of the days they span (persist.FileIndex.for_table)."""
    key = (db_id, table_id)
    with engine._view_lock:
        files = engine.index.for_table(db_id, table_id, lo, hi)
        chunks: list[pa.RecordBatch] = []
        for buf in [engine.buffer] + [r.buffer for r in list(engine.replicas.values())]:
            with buf.lock:
                tb = buf.tables.get(key)
                if tb is not None:
                    chunks.extend(tb.batches())
    return files, chunks


@dataclass
class TableView:
    """How to read one table for one query: SQL over `read_parquet` and registered Arrow tables."""
    sql: str
    registrations: dict[str, pa.Table] = field(default_factory=dict)
    files_total: int = 0
    files_scanned: int = 0
    chunks_total: int = 0
    chunks_scanned: int = 0
    rows_scanned: int = 0
    bytes_scanned: int = 0
    row_groups_total: int = 0
    row_groups_scanned: int = 0    # of the files read, the row groups an indexed lookup may match
    dedup: bool = False
    retention_cutoff: int | None = None
    plain_files: list = field(default_factory=list)    # sources read as they are (no dedup)
    hides_rows: bool = False   # row deletes filter the sources: read `sql`, not the plain sources
    plain_chunks: list = field(default_factory=list)
    unused_names: tuple = ()   # registration names of this read that `registrations` does not use
    alive: dict = field(default_factory=dict)   # name -> () -> whether its batches are the buffer's


def _series_groups(cluster: list[tuple], stats_cache: "ChunkStatsCache", keys: list[str],
                   data_dir) -> list[list[tuple]]:
    """Split sources whose time ranges overlap into groups that may share a (series, time) key.
    Buffered batches share one only if their time ranges overlap and they have a series in
    common. A Parquet file and a source it overlaps in time share one only if their key hashes
    have a value in common (read once per file; a hash collision only costs a dedup) -- several
    workers' snapshots and buffers cover the same hours but never the same rows -- and two
    indexed pieces of one day never do when their ranges of a tag are disjoint."""
    if len(cluster) == 1:
        return [cluster]
    parent = list(range(len(cluster)))

    def find(x: int) -> int:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    def union(i: int, j: int) -> None:
        parent[find(i)] = find(j)

    # batches, in runs of overlapping time ranges (the cluster is sorted by start), by series
    run: list[int] = []
    run_end = None
    chunks = [i for i, src in enumerate(cluster) if src[3] == "b"]
    for i in chunks + [None]:
        if i is None or (run and cluster[i][0] > run_end):
            owner: dict[int, int] = {}
            for k in run if len(run) > 1 else []:
                for h in stats_cache.get(cluster[k][4], keys).series.tolist():
                    j = owner.setdefault(h, k)
                    if j != k:
                        union(k, j)
            run, run_end = [], None
        if i is not None:
            run.append(i)
            run_end = cluster[i][1] if run_end is None else max(run_end, cluster[i][1])
    # files against every source they overlap
    files = [i for i, src in enumerate(cluster) if src[3] == "f"]
    for i in files:
        for j in range(len(cluster)):
            if j == i or (cluster[j][3] == "f" and j < i) or find(i) == find(j) \
                    or cluster[j][1] < cluster[i][0] or cluster[j][0] > cluster[i][1]:
                continue
            a, b = cluster[i][4], cluster[j][4]
            if cluster[j][3] == "f" and _disjoint_files(a, b, keys):
                continue
            if stats_cache.shares_keys(data_dir, a, b, keys):
                union(i, j)
    groups: dict[int, list[tuple]] = {}
    for i, src in enumerate(cluster):
        groups.setdefault(find(i), []).append(src)
    return list(groups.values())


def _disjoint_files(a: FileMeta, b: FileMeta, keys: list[str]) -> bool:
    if not a.index or not b.index:
        return False
    return any(fileindex.disjoint(a.index.get(k, {}).get("file"), b.index.get(k, {}).get("file")) for k in keys)


def _index_admits(f: FileMeta, equal: dict[str, set[str]]) -> bool:
    """Whether an indexed file may hold rows with every tag of `equal` at one of its values."""
    return not f.index or all(fileindex.admits(f.index.get(c, {}).get("file"), vs) for c, vs in equal.items())


def _row_groups(f: FileMeta, equal: dict[str, set[str]]) -> tuple[int, int]:
    """(row groups of the file, those whose statistics admit `equal`: the ones DuckDB reads)."""
    total = row_groups_of(f)
    cols = [c for c in equal if f.index and c in f.index]
    if not cols:
        return total, total
    groups = zip(*(f.index[c]["groups"] for c in cols))
    return total, sum(all(fileindex.admits(r, equal[c]) for c, r in zip(cols, g)) for g in groups)


def table_equalities(occurrences: list[dict[str, set[str]]] | None, table) -> dict[str, set[str]]:
    """The tag equalities every read of `table` in a query has (the values any of them allows),
    under the table's own column names."""
    if not occurrences:
        return {}
    names = {c.lower(): c for c in table.series_key}
    out: dict[str, set[str]] = {}
    for i, occ in enumerate(occurrences):
        here: dict[str, set[str]] = {}
        for c, vs in occ.items():
            name = c if c in table.series_key else names.get(c.lower())
            if name is not None:
                here[name] = here[name] & vs if name in here else set(vs)
        out = here if i == 0 else {c: out[c] | here[c] for c in out if c in here}
    return out


def _overlaps(lo: int | None, hi: int | None, mn: int, mx: int) -> bool:
    return (lo is None or mx >= lo) and (hi is None or mn <= hi)


def _typed_null(name: str, kind: str) -> str:
    return f"CAST(NULL AS {COLUMN_TYPES[kind][1]}) AS {quote(name)}"


def _one_table(batches: list[pa.RecordBatch]) -> pa.Table:
    """The batches as one table, zero-copy: one call when they share a schema (the usual case, and
    ~50x cheaper than a table per batch concatenated), else columns a batch lacks are null-filled."""
    first = batches[0].schema
    if all(b.schema.equals(first) for b in batches[1:]):
        return pa.Table.from_batches(batches, schema=first)
    return pa.concat_tables([pa.Table.from_batches([b]) for b in batches], promote_options="permissive")


def _parquet_scan(paths: list[str], same_schema: bool) -> str:
    listed = ", ".join(literal(p) for p in paths)
    by_name = "" if same_schema else ", union_by_name=true"
    return f"read_parquet([{listed}]{by_name})"


def aliased_parquet_scan(files: list[FileMeta], data_dir, renames: dict[str, str]) -> str:
    """The files with `renames` applied by position: DuckDB binds names without regard to case
    (and names a second ``host`` beside ``Host`` ``host_1``). One read per column order (a multi-file
    read matches later files' columns by position), the reads unioned by their unique names."""
    orders: dict[tuple, list[FileMeta]] = {}
    for f in files:
        orders.setdefault(tuple(f.columns), []).append(f)
    reads = []
    for names, group in orders.items():
        listed = ", ".join(literal(str(data_dir / f.path)) for f in group)
        reads.append(f"read_parquet([{listed}]) AS __s({', '.join(quote(renames.get(c, c)) for c in names)})")
    if len(reads) == 1:
        return reads[0]
    return "(" + " UNION ALL BY NAME ".join(f"SELECT * FROM {r}" for r in reads) + ")"


def parquet_read(files: list[FileMeta], data_dir, renames: dict[str, str] | None = None) -> str:
    """The SQL that reads `files` (by name, or with `renames` by position: aliased_parquet_scan)."""
    if renames:
        return aliased_parquet_scan(files, data_dir, renames)
    same = all(set(f.columns) == set(files[0].columns) for f in files)
    return _parquet_scan([str(data_dir / f.path) for f in files], same)


def _aliased_arrow_scan(name: str, table: pa.Table, renames: dict[str, str]) -> str:
    """A registered Arrow table with `renames` applied by position (see aliased_parquet_scan)."""
    return f"{quote(name)} AS __s({', '.join(quote(renames.get(c, c)) for c in table.column_names)})"


def build_view(engine, db, table, lower: int | None, upper: int | None, now_ns: int,
               stats_cache: ChunkStatsCache, prefix: str, equal: dict[str, set[str]] | None = None,
               renames: dict[str, str] | None = None) -> TableView:
    """The read of `table` for a query whose time bounds are [lower, upper] (ns, None = open) and
    whose rows have each tag of `equal` at one of its values (files the file index rules out are
    not read). `renames` (casenames.aliases): the view names those columns by their aliases."""
    retention = table.retention_ns or db.retention_ns
    cutoff = now_ns - retention if retention else None
    lo = lower if cutoff is None else (cutoff if lower is None else max(lower, cutoff))
    # only the files of the queried days: a year of files is not looked at one by one per query
    files, chunks = snapshot_sources(engine, db.id, table.id, lo, upper)
    files_total, row_groups_total = engine.index.table_totals(db.id, table.id)
    keys = list(table.series_key)
    view = TableView("", files_total=files_total, chunks_total=len(chunks), retention_cutoff=cutoff)

    # (min, max, unique, kind, object)
    equal = {c: vs for c, vs in (equal or {}).items() if c in keys}   # a field's old value may be replaced
    sources = [(f.min_time, f.max_time, True, "f", f) for f in files
               if _overlaps(lo, upper, f.min_time, f.max_time) and _index_admits(f, equal)]
    chunk_bytes = 0
    for b in chunks:
        st = stats_cache.get(b, keys)
        if _overlaps(lo, upper, st.min_time, st.max_time):
            sources.append((st.min_time, st.max_time, st.unique, "b", b))
            chunk_bytes += st.nbytes
    sources.sort(key=lambda s: (s[0], s[1]))

    plain_files, plain_chunks, dd_files, dd_chunks = [], [], [], []
    i = 0
    while i < len(sources):
        j, end = i + 1, sources[i][1]
        while j < len(sources) and sources[j][0] <= end:
            end = max(end, sources[j][1])
            j += 1
        for group in _series_groups(sources[i:j], stats_cache, keys, engine.data_dir):
            if len(group) == 1 and group[0][2]:
                (plain_files if group[0][3] == "f" else plain_chunks).append(group[0][4])
            else:
                for src in group:
                    (dd_files if src[3] == "f" else dd_chunks).append(src[4])
        i = j

    view.files_scanned = len(plain_files) + len(dd_files)
    view.chunks_scanned = len(plain_chunks) + len(dd_chunks)
    view.rows_scanned = sum(f.rows for f in plain_files + dd_files) + sum(b.num_rows for b in plain_chunks + dd_chunks)
    view.bytes_scanned = sum(f.bytes for f in plain_files + dd_files) + chunk_bytes
    view.row_groups_total = row_groups_total
    view.row_groups_scanned = sum(_row_groups(f, equal)[1] for f in plain_files + dd_files)
    view.dedup = bool(dd_files or dd_chunks)
    view.plain_files, view.plain_chunks = plain_files, plain_chunks

    cols = table.column_names_sorted()
    kinds = {c: table.columns[c].type for c in cols}
    src_keys = keys   # the batches' statistics are keyed by the tags' own names
    if renames:   # from here on the SQL names columns that differ only in case by their aliases
        cols, keys = [renames.get(c, c) for c in cols], [renames.get(k, k) for k in keys]
        kinds = {renames.get(c, c): typ for c, typ in kinds.items()}
    aliased = (lambda have: {renames.get(c, c) for c in have}) if renames else (lambda have: have)
    data_dir = engine.data_dir
    parts: list[str] = []

    def kept(have: set[str]) -> str:
        """Row deletes (engine/admin/deletes.py) hide rows at once, before deduplication."""
        hidden = sql_hidden(engine.catalog, db.id, table.id, have | {SEQ_COLUMN},
                            (lambda c: quote(renames.get(c, c))) if renames else quote)
        view.hides_rows |= bool(hidden)
        return f" WHERE NOT coalesce(({hidden}), false)" if hidden else ""

    present: set[str] = set()

    def register(batches: list[pa.RecordBatch], tag: str) -> str:
        name = f"{prefix}_{tag}"
        view.registrations[name], view.alive[name] = stats_cache.one_table(batches)
        return name

    def names(batches: list[pa.RecordBatch]) -> set[str]:
        return set().union(*{stats_cache.get(b, src_keys).columns for b in batches})

    def chunks_sql(name: str) -> str:
        return _aliased_arrow_scan(name, view.registrations[name], renames) if renames else quote(name)

    plain: list[tuple[str, str]] = []   # (what a plain part reads, its row-delete filter)
    if plain_files:
        have = sorted(aliased({c for f in plain_files for c in f.columns}) & set(cols))
        plain.append((parquet_read(plain_files, data_dir, renames), kept({c for f in plain_files for c in f.columns})))
        parts.append(f"SELECT {', '.join(quote(c) for c in have)} FROM {plain[-1][0]}{plain[-1][1]}")
        present.update(have)
    if plain_chunks:
        name = register(plain_chunks, "plain")
        in_chunks = names(plain_chunks)
        have = sorted(aliased(in_chunks) & set(cols))
        plain.append((chunks_sql(name), kept(in_chunks)))
        parts.append(f"SELECT {', '.join(quote(c) for c in have)} FROM {plain[-1][0]}{plain[-1][1]}")
        present.update(have)
    if dd_files or dd_chunks:
        inner = []
        have: set[str] = set()
        if dd_files:
            inner.append(f"SELECT * FROM {parquet_read(dd_files, data_dir, renames)}")
            have |= {c for f in dd_files for c in f.columns}
        if dd_chunks:
            inner.append(f"SELECT * FROM {chunks_sql(register(dd_chunks, 'dedup'))}")
            have |= names(dd_chunks)
        union = " UNION ALL BY NAME ".join(inner)
        hide = kept(have)
        have = aliased(have)
        if hide:
            union = f"SELECT * FROM ({union}){hide}"
        group = [quote(c) for c in keys + ["time"] if c in have]
        values = [c for c in cols if c in have and c not in keys and c != "time"]
        # (its `__seq` is not selected: see `select`)
        agg = merge_sql(values, SEQS_COLUMN in have, keys={a: c for c, a in (renames or {}).items()})
        parts.append(f"SELECT {', '.join(group + agg)} FROM ({union}) GROUP BY {', '.join(group)}")
        present |= have & set(cols)

    view.unused_names = tuple(n for n in (f"{prefix}_plain", f"{prefix}_dedup") if n not in view.registrations)
    select = ", ".join(quote(c) if c in present else _typed_null(c, kinds[c]) for c in cols)
    if not parts:
        view.sql = f"SELECT {select} WHERE false"
        return view
    aged = cutoff is not None and any(s[0] < cutoff for s in sources)
    if len(parts) == 1 and len(plain) == 1:
        # one plain source: read it directly (a subquery level less for DuckDB to plan, ~0.05 ms)
        source, hide = plain[0]
        age = f'"time" >= {ns_literal_sql(cutoff)}' if aged else ""
        where = f"{hide} AND {age}" if hide and age else hide or (f" WHERE {age}" if age else "")
        view.sql = f"SELECT {select} FROM {source}{where}"
        return view
    body = parts[0] if len(parts) == 1 else " UNION ALL BY NAME ".join(f"({p})" for p in parts)
    where = f' WHERE "time" >= {ns_literal_sql(cutoff)}' if aged else ""
    view.sql = f"SELECT {select} FROM ({body}){where}"
    return view
