"""Parquet files and their manifests: snapshots of the buffer, the file index, and compaction.

Owns `<node>/dbs/<db_id>/<table_id>/<YYYY-MM-DD>/<HH-MM>/<seq>.parquet` and
`<node>/snapshots/<seq:020>.json`. A manifest lists files it adds (with time range, row count and
sequence range) and files it retires (compaction), plus the WAL file up to which the node's rows are
now in Parquet. The file index is the union of every node's manifests: added minus retired.

Rows in a written file are deduplicated on (tags, time) — per column the value with the highest
`__seq` that is not null — and sorted by tags then time. A merged row keeps, in `__seqs`, the write
order of each column whose value came from an older write than the row's `__seq` (`merge_sql`).
Does not decide *when* to snapshot or compact (the engine does), and never deletes a WAL file.
"""

from __future__ import annotations

import json
import math
import os
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from .catalog import RESERVED_COLUMNS
from .fsutil import fsync_dir, write_file_exclusive
from .validator import SEQ_COLUMN, SEQS_COLUMN

DAY_NS = 86400 * 10**9
#: rows per Parquet row group written: DuckDB scans a file's row groups in parallel, so a 500K-row
#: snapshot in one group was read by one thread (a 1M-row file on 2 cores: 1.6-1.85x slower than in
#: groups of this size, group-by, count and filtered reads alike)
ROW_GROUP_ROWS = 131_072
#: rows per group of the files written before FileMeta recorded its row groups
LEGACY_ROW_GROUP_ROWS = 1_000_000
#: Top-level folders of a data dir that are not nodes (no node may take these ids, and nothing
#: under them is ever read as a node's WAL, manifests or Parquet files).
NOT_NODES = frozenset({"catalog", "backups", "admin"})
_WRITERS = ThreadPoolExecutor(max_workers=2, thread_name_prefix="influx3-parquet")


def node_names(data_dir) -> list[str]:
    """The nodes that have (or had) a folder in `data_dir`: its folders but the catalog's, the
    admin ones and hidden ones."""
    return [e.name for e in os.scandir(data_dir)
            if e.is_dir() and e.name not in NOT_NODES and not e.name.startswith(".")]


@dataclass
class FileMeta:
    path: str          # relative to the data dir
    db: int
    table: int
    day: int           # UTC day number (time // DAY_NS)
    min_time: int
    max_time: int
    rows: int
    bytes: int
    min_seq: int
    max_seq: int
    columns: list[str]
    row_groups: int = 0   # 0: written before this was recorded (then one per LEGACY_ROW_GROUP_ROWS rows)
    # The file index's columns (engine/admin/fileindex.py): per column, [min, max, has_null] of the
    # file and of each row group, so a lookup can skip files and count the row groups it reads.
    index: dict | None = None


def quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def literal(text: str) -> str:
    """A SQL string literal."""
    return "'" + text.replace("'", "''") + "'"


def rank_sql(column: str, has_seqs: bool, key: str | None = None) -> str:
    """The write order of `column`'s value in a row: the row's `__seq`, or the column's own where a
    merge recorded an older one (`map['k']` is NULL for a key the map lacks, or a null map). `key`:
    the column's own name where the SQL names it by an alias (`case_aliases`)."""
    seq = quote(SEQ_COLUMN)
    return f"coalesce({quote(SEQS_COLUMN)}[{literal(key or column)}], {seq})" if has_seqs else seq


def merge_sql(values: list[str], has_seqs: bool, keep_seqs: bool = False,
              keys: dict[str, str] | None = None) -> list[str]:
    """The aggregates that merge the rows of one (series key, time), for a GROUP BY on it: per value
    column the value of the newest write that set it (DuckDB's arg_max skips rows whose value is
    null), and `__seq`, the newest write of all. `has_seqs`: the rows have a `__seqs` column. With
    `keep_seqs` (rows that are written back, or cached), also `__seqs`, the write order of each
    column won by an older write than the row's `__seq`: merged again later (with another node's
    rows, by a compaction) every column still ranks by its own write, not by the row's newest.
    `keys`: {SQL name: own name} of the columns the SQL names by an alias (`__seqs` is keyed by
    the own names)."""
    keys = keys or {}
    seq = quote(SEQ_COLUMN)
    out = [f"arg_max({quote(v)}, {rank_sql(v, has_seqs, keys.get(v))}) AS {quote(v)}" for v in values]
    out.append(f"max({seq}) AS {seq}")
    if keep_seqs and values:
        out.append(f"{_seqs_sql(values, has_seqs, keys)} AS {quote(SEQS_COLUMN)}")
    return out


def _seqs_sql(values: list[str], has_seqs: bool, keys: dict[str, str]) -> str:
    """`__seqs` of a merged row: a map of the columns whose winning write is older than the row's
    newest; NULL when there is none (every row but mixed merges: the column is then dropped)."""
    newest = f"max({quote(SEQ_COLUMN)})"
    won = {v: f"max({rank_sql(v, has_seqs, keys.get(v))}) FILTER (WHERE {quote(v)} IS NOT NULL)" for v in values}
    older = {v: f"{w} < {newest}" for v, w in won.items()}
    entries = [f"CASE WHEN {older[v]} THEN [{{'key': {literal(keys.get(v, v))}, 'value': {won[v]}}}] END"
               for v in values]
    return f"CASE WHEN {' OR '.join(older.values())} THEN map_from_entries(list_concat({', '.join(entries)})) END"


def case_aliases(names, prefix: str) -> dict[str, str] | None:
    """{name: alias} for the names among `names` equal to another ignoring case (or to a reserved
    name, which keeps its own), None when no two are: DuckDB binds names without regard to case,
    quoted or not, so SQL over such columns must name them by aliases no two of which collide
    (`prefix` and a number; checked against every name)."""
    names = list(names)
    every = names + [k for k in RESERVED_COLUMNS if k not in names]
    lower = [n.lower() for n in every]
    if len(set(lower)) == len(lower):
        return None
    counts = Counter(lower)
    taken = set(lower)
    out = {}
    for i, name in enumerate(sorted(names)):
        if counts[name.lower()] > 1 and name not in RESERVED_COLUMNS:
            alias = f"{prefix}{i}"
            while alias.lower() in taken:
                alias += "_"
            taken.add(alias.lower())
            out[name] = alias
    return out


def renamed(table: pa.Table, names: dict[str, str], back: bool = False) -> pa.Table:
    """`table` with the columns `names` maps ({name: alias}, e.g. `case_aliases`) under their
    aliases, or with `back` the aliased columns under their own names again."""
    if not names:
        return table
    names = {a: c for c, a in names.items()} if back else names
    return table.rename_columns([names.get(c, c) for c in table.column_names])


def unused_name(base: str, taken) -> str:
    """``base``, or ``base`` with a number appended, whichever no name in ``taken`` is: a column a
    query adds beside a table's own (any name, ``__rn`` included, may be written as a field)."""
    name, n = base, 0
    while name in taken:
        n += 1
        name = f"{base}{n}"
    return name


def _is_tag(field: pa.Field) -> bool:
    return pa.types.is_dictionary(field.type)


def dedup_sort(con: duckdb.DuckDBPyConnection | None, table: pa.Table) -> pa.Table:
    """Rows sorted by tags then time, one row per (tags, time): last non-null value per column.

    Sorting happens in Arrow on integer ranks of the tag dictionaries: DuckDB would first expand
    every tag to a string (hundreds of MB for a million TSBS rows). DuckDB aggregates only when
    there really are duplicate keys.
    """
    table = table.unify_dictionaries().combine_chunks()
    tags = sorted(f.name for f in table.schema if _is_tag(f))
    time_ns = table.column("time").cast(pa.int64()).to_numpy()
    ranks = [_tag_ranks(table.column(t)) for t in tags]
    cards = [len(table.column(t).chunk(0).dictionary) + 1 if table.num_rows else 1 for t in tags]
    key = _packed_key(ranks, cards, time_ns)
    if key is not None:    # one integer per row: one sort, one comparison for duplicates
        ordered = not (key[1:] < key[:-1]).any()    # an exported or pre-sorted file: no copy
        order = None if ordered else _order(key, ranks, cards, time_ns)
        sorted_key = key if ordered else key[order]
        if not (sorted_key[1:] == sorted_key[:-1]).any():
            return _without_empty_seqs(table if ordered else table.take(order))
    else:
        # np.lexsort sorts by the LAST key first: tags (in order), then time, then write order.
        order = np.lexsort([table.column(SEQ_COLUMN).to_numpy(), time_ns, *reversed(ranks)])
        if not _has_duplicate_keys([r[order] for r in ranks] + [time_ns[order]]):
            return _without_empty_seqs(table.take(order))
    # columns whose names differ only in case (`host`, `Host`) go to DuckDB under aliases: it would
    # take them for one (and fail: "exists 2 times")
    renames = case_aliases(table.column_names, "__dd_") or {}
    keys = [quote(renames.get(t, t)) for t in tags] + ['"time"']
    values = [renames.get(f.name, f.name) for f in table.schema
              if f.name not in tags and f.name not in ("time", SEQ_COLUMN, SEQS_COLUMN)]
    agg = merge_sql(values, SEQS_COLUMN in table.column_names, keep_seqs=True,
                    keys={a: c for c, a in renames.items()})
    own = con is None     # a connection of its own (a writer thread's day of an import)
    con = duckdb.connect() if own else con
    con.register("__src", renamed(table, renames))
    try:
        out = con.sql(f"SELECT {', '.join(keys + agg)} FROM __src GROUP BY {', '.join(keys)} "
                      f"ORDER BY {', '.join(keys)}").to_arrow_table()
    finally:
        con.unregister("__src")
        if own:
            con.close()
    return _restore_types(renamed(out, renames, back=True), table.schema)


def _packed_key(ranks: list[np.ndarray], cardinalities: list[int], time_ns: np.ndarray) -> np.ndarray | None:
    """(tag ranks…, time) packed into one int64 that sorts like the tuple, or None if it cannot fit."""
    if not len(time_ns):
        return None
    lo, hi = int(time_ns.min()), int(time_ns.max())
    span = hi - lo + 1
    if math.prod(cardinalities) * span >= 2**63:
        return None
    key = np.zeros(len(time_ns), dtype=np.int64)
    for r, n in zip(ranks, cardinalities):
        key *= n
        key += r
    key *= span
    key += time_ns - lo
    return key


def _order(key: np.ndarray, ranks: list[np.ndarray], cards: list[int], time_ns: np.ndarray) -> np.ndarray:
    """The order of `key`. With fewer than 65,536 tag combinations: by time, then stably by the tags
    as 16-bit integers, which numpy radix-sorts (10x faster than sorting the int64 key; rows
    already in time order, as an import's usually are, skip the first sort)."""
    if math.prod(cards) > 2**16:
        return np.argsort(key, kind="stable")
    by_time = None if not (time_ns[1:] < time_ns[:-1]).any() else np.argsort(time_ns, kind="stable")
    tags = np.zeros(len(key), dtype=np.uint16)
    for r, n in zip(ranks, cards):
        tags *= np.uint16(n)
        tags += (r if by_time is None else r[by_time]).astype(np.uint16)
    order = np.argsort(tags, kind="stable")
    return order if by_time is None else by_time[order]


def _tag_ranks(col: pa.ChunkedArray) -> np.ndarray:
    """Each row's tag value as its rank among the dictionary's values; null ranks last."""
    arr = col.chunk(0) if col.num_chunks == 1 else col.combine_chunks()
    n = len(arr.dictionary)
    rank = np.empty(n + 1, dtype=np.int64)
    rank[pc.sort_indices(arr.dictionary).to_numpy()] = np.arange(n)
    rank[n] = n
    return rank[pc.fill_null(arr.indices, n).to_numpy()]


def _restore_types(t: pa.Table, schema: pa.Schema) -> pa.Table:
    """The merged rows with the columns and types of `schema`, and `__seqs` as the merge made it."""
    fields = [pa.field(f.name, f.type) for f in schema if f.name != SEQS_COLUMN]
    cols = []
    for f in fields:
        c = t.column(f.name)
        if c.type != f.type:
            c = c.cast(f.type)
        cols.append(c)
    if SEQS_COLUMN in t.column_names:
        cols.append(t.column(SEQS_COLUMN))
        fields.append(pa.field(SEQS_COLUMN, t.schema.field(SEQS_COLUMN).type))
    return _without_empty_seqs(pa.Table.from_arrays(cols, schema=pa.schema(fields)))


def _without_empty_seqs(t: pa.Table) -> pa.Table:
    """`t` without a `__seqs` column that is null in every row: files of rows no mixed merge made
    stay as they were."""
    i = t.schema.get_field_index(SEQS_COLUMN)
    if i >= 0 and t.column(i).null_count == t.num_rows:
        return t.remove_column(i)
    return t


def _has_duplicate_keys(sorted_keys: list[np.ndarray]) -> bool:
    """Whether two adjacent rows agree on every key (the keys already sorted)."""
    if len(sorted_keys[0]) < 2:
        return False
    same = np.ones(len(sorted_keys[0]) - 1, dtype=bool)
    for k in sorted_keys:
        same &= k[1:] == k[:-1]
        if not same.any():
            return False
    return True


def _encodings(table: pa.Table) -> dict:
    """Per column, dictionary or not. The Parquet writer tries a dictionary for every column and gives
    it up only past a page of distinct values: for a number column that rarely repeats (random
    readings, unique times) that is wasted work, so such a column (judged on a sample, see
    `_rarely_repeats`) is written byte-stream-split instead (zstd then finds the repeated high bytes). Columns that
    repeat (tags, rounded readings, a day of times over many series) keep their dictionaries, which
    make them small and fast to scan. The write sequence never repeats: deltas."""
    dictionary, encoding = [], {}
    for f in table.schema:
        if f.name == SEQ_COLUMN and pa.types.is_integer(f.type):
            encoding[f.name] = "DELTA_BINARY_PACKED"
            continue
        numeric = pa.types.is_floating(f.type) or pa.types.is_timestamp(f.type) or \
            (pa.types.is_integer(f.type) and f.type.bit_width >= 32)
        if numeric and table.num_rows >= 4096 and _rarely_repeats(table.column(f.name)):
            encoding[f.name] = "BYTE_STREAM_SPLIT"
            continue
        dictionary.append(f.name)
    return {"use_dictionary": dictionary, "column_encoding": encoding}


def _rarely_repeats(col: pa.ChunkedArray, sample: int = 16_384) -> bool:
    """Whether nine in ten values of an evenly spread sample are distinct (a domain of 10K values,
    like readings rounded to 0.01 in 0..100, gives ~half)."""
    values = col.combine_chunks().drop_null().to_numpy(zero_copy_only=False)
    values = values[::max(1, len(values) // sample)]
    return len(values) > 0 and len(np.unique(values)) > 0.9 * len(values)


def write_parquet(data_dir: Path, node_id: str, db_id: int, table_id: int, table: pa.Table,
                  name: str, row_group_rows: int = ROW_GROUP_ROWS, index=None, prepare=None) -> list[FileMeta]:
    """Write sorted, deduplicated rows as one file per UTC day; returns their metadata.

    The days are split once (a stable sort keeps each day's rows in their order) and written by
    two threads: the Parquet writer releases the GIL while it compresses. `index`
    (engine/admin/fileindex.py) splits a day into files by the indexed values and describes them.
    `prepare` is applied to each day's rows in the writer threads (an import sorts and deduplicates
    there, a day per core); rows already in time order are split without a copy."""
    if not table.num_rows:
        return []
    times = table.column("time").cast(pa.int64()).to_numpy()
    days = times // DAY_NS
    if not (days[1:] < days[:-1]).any():     # in day order (an import in time order): slices
        starts = np.flatnonzero(days[1:] != days[:-1]) + 1
        bounds = [0, *starts.tolist(), len(days)]
        parts = [(int(days[a]), table.slice(a, b - a) if b - a < len(days) else table)
                 for a, b in zip(bounds, bounds[1:])]
    else:
        uniq = np.unique(days)
        order = np.argsort(days, kind="stable")
        bounds = np.searchsorted(days[order], uniq, side="left").tolist() + [len(days)]
        parts = [(int(day), table.take(pa.array(order[bounds[i]:bounds[i + 1]]))) for i, day in enumerate(uniq)]
    if index is not None:
        assert prepare is None, "an index cuts prepared rows"
        parts = [(day, piece, k) for day, part in parts for k, piece in enumerate(index.split(part))]
    else:
        parts = [(day, part, None) for day, part in parts]

    def write_one(item) -> FileMeta:
        day, part, piece = item
        if prepare is not None:
            part = prepare(part)
        t = part.column("time").cast(pa.int64())
        seqs = part.column(SEQ_COLUMN)
        stem = name if piece is None else f"{name}-{piece}"
        rel = Path(node_id) / "dbs" / str(db_id) / str(table_id) / \
            np.datetime64(day, "D").astype(str) / "00-00" / f"{stem}.parquet"
        path = data_dir / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".parquet.tmp")
        # One dictionary per column: chunks with their own dictionaries make the Parquet writer fall
        # back to plain strings (a 1000x larger tag column, and slower scans).
        part = part.unify_dictionaries().combine_chunks()
        pq.write_table(part, tmp, row_group_size=row_group_rows, compression="zstd", **_encodings(part))
        with open(tmp, "rb+") as f:
            os.fsync(f.fileno())
        os.replace(tmp, path)
        fsync_dir(path.parent)
        return FileMeta(str(rel), db_id, table_id, day, pc.min(t).as_py(), pc.max(t).as_py(),
                        part.num_rows, path.stat().st_size, pc.min(seqs).as_py(), pc.max(seqs).as_py(),
                        part.column_names, -(-part.num_rows // row_group_rows),
                        None if index is None else index.describe(part, row_group_rows))

    if len(parts) == 1:
        return [write_one(parts[0])]
    return list(_WRITERS.map(write_one, parts))


def snapshot_dir(data_dir: Path, node_id: str) -> Path:
    return data_dir / node_id / "snapshots"


def next_manifest_seq(data_dir: Path, node_id: str) -> int:
    """The highest manifest number in the node's folder + 1 (a listing: costs what the history does)."""
    try:
        names = os.listdir(snapshot_dir(data_dir, node_id))
    except FileNotFoundError:
        return 1
    return max((int(n[:-5]) for n in names if n.endswith(".json") and n[:-5].isdigit()), default=0) + 1


#: (data dir, node) -> the number of the last manifest this process wrote there
_last_written: dict[tuple[str, str], int] = {}
_last_lock = threading.Lock()


def write_manifest(data_dir: Path, node_id: str, *, wal_upto: int | None, added: list[FileMeta],
                   removed: list[str], extra: dict | None = None) -> int:
    """`extra`: ``epoch`` (the restore the writer had seen) and ``restore`` (a restore's own)."""
    d = snapshot_dir(data_dir, node_id)
    d.mkdir(parents=True, exist_ok=True)
    body = json.dumps({"node": node_id, "wal_upto": wal_upto, "added": [asdict(f) for f in added],
                       "removed": removed, **(extra or {})}).encode()
    # The number after the last one we wrote, without listing a folder that grows by one manifest
    # per snapshot; a name taken meanwhile (another thread or process) means a listing, as at first,
    # so names stay 1, 2, 3… without gaps (FileIndex.refresh relies on it).
    key = (str(data_dir), node_id)
    with _last_lock:
        last = _last_written.get(key)
    if last is not None and (d / f"{last:020d}.json").exists():   # (the folder may have been replaced)
        seq = last + 1
    else:
        seq = next_manifest_seq(data_dir, node_id)
    while True:
        try:
            write_file_exclusive(d / f"{seq:020d}.json", body)
        except FileExistsError:
            seq = max(seq + 1, next_manifest_seq(data_dir, node_id))
            continue
        with _last_lock:
            _last_written[key] = max(seq, _last_written.get(key, 0))
        return seq


class FileIndex:
    """Every live Parquet file of the data dir, built from all nodes' manifests.

    A restore (engine/admin/restore.py) is a manifest with ``restore: {epoch, cut}``: from then on a
    file whose manifest was written before that restore (``epoch`` lower) and whose rows all
    predate the cut (``max_seq <= cut``) is not live, in whatever order the manifests are read.
    """

    def __init__(self, data_dir: Path):
        self.data_dir = data_dir
        self.files: dict[str, FileMeta] = {}
        self._tables: dict[tuple[int, int], _TableFiles] = {}   # the same files by table, then by day
        self.retired: set[str] = set()
        self.wal_persisted: dict[str, int] = {}     # node -> WAL seq persisted up to
        self._seen: dict[str, set[str]] = {}        # node -> manifest names applied
        self._next: dict[str, int] = {}             # node -> number of the next manifest to open
        self._listed: dict[str, float] = {}         # node -> when its folder was last listed whole
        self.lock = threading.Lock()
        self.epoch, self.cut = 0, 0                 # the newest restore applied
        self._epoch_of: dict[str, int] = {}         # path -> epoch of the manifest that added it

    #: how often a node's manifest folder is listed whole (a safety net: see `refresh`)
    FULL_SCAN_S = 30.0

    def refresh(self) -> bool:
        """Read the manifests written since the last refresh; True if there were any.

        Every query refreshes, and a node writes a manifest per snapshot (a year of 10-minute
        snapshots is 52K of them), so a refresh must not cost more with every manifest ever written.
        `write_manifest` numbers a node's manifests 1, 2, 3… without gaps (the next name is the
        highest one + 1, taken by an exclusive link, and no manifest is deleted), so a refresh only
        opens the names after the last one it read until one is missing. A whole listing of the
        folder, the first time a node is seen and every `FULL_SCAN_S` after, picks up any name that
        does not follow that rule (a manifest unreadable the first time it was opened, a folder
        copied by hand)."""
        changed = False
        try:
            nodes = node_names(self.data_dir)
        except FileNotFoundError:
            return False
        now = time.monotonic()
        for node in nodes:
            d = snapshot_dir(self.data_dir, node)
            if node not in self._next or now - self._listed.get(node, 0.0) >= self.FULL_SCAN_S:
                changed |= self._read_listed(node, d)
                self._listed[node] = now
            changed |= self._read_following(node, d)
        return changed

    def _read_listed(self, node: str, d: Path) -> bool:
        try:
            names = sorted(n for n in os.listdir(d) if n.endswith(".json"))
        except FileNotFoundError:
            return False
        seen, changed = self._seen.setdefault(node, set()), False
        for name in names:
            if name not in seen:
                changed |= self._read(node, d, name)
        numbered = [int(n[:-5]) for n in seen if n[:-5].isdigit()]
        self._next[node] = max([self._next.get(node, 1), *[n + 1 for n in numbered]])
        return changed

    def _read_following(self, node: str, d: Path) -> bool:
        seen, changed, seq = self._seen.setdefault(node, set()), False, self._next.get(node, 1)
        while True:
            name = f"{seq:020d}.json"
            if name not in seen:
                if not self._read(node, d, name):
                    break
                changed = True
            seq += 1
        self._next[node] = seq
        return changed

    def _read(self, node: str, d: Path, name: str) -> bool:
        """Apply one manifest; False if it is not there (yet) or cannot be read."""
        try:
            m = json.loads((d / name).read_bytes())
        except (FileNotFoundError, NotADirectoryError, json.JSONDecodeError):
            return False
        self.apply(node, m)
        self._seen.setdefault(node, set()).add(name)
        return True

    def apply(self, node: str, m: dict) -> None:
        with self.lock:
            restore = m.get("restore")
            if restore and restore["epoch"] > self.epoch:
                self.epoch, self.cut = restore["epoch"], restore["cut"]
                for p in [p for p, f in self.files.items() if self._stale(p, f.max_seq)]:
                    self._drop(p)
            epoch = m.get("epoch", 0)
            for f in m["added"]:
                if f["path"] not in self.retired:
                    self._epoch_of[f["path"]] = epoch
                    if not self._stale(f["path"], f["max_seq"]):
                        self._add(FileMeta(**f))
            for p in m["removed"]:
                self.retired.add(p)
                self._drop(p)
                self._epoch_of.pop(p, None)   # a retired file never comes back: no need to keep it
            if m.get("wal_upto") is not None:
                self.wal_persisted[node] = max(self.wal_persisted.get(node, 0), m["wal_upto"])

    def _stale(self, path: str, max_seq: int) -> bool:
        return self._epoch_of.get(path, 0) < self.epoch and max_seq <= self.cut

    def _add(self, f: FileMeta) -> None:
        self._drop(f.path)
        self.files[f.path] = f
        self._tables.setdefault((f.db, f.table), _TableFiles()).add(f)

    def _drop(self, path: str) -> None:
        f = self.files.pop(path, None)
        if f is not None:
            self._tables[(f.db, f.table)].drop(f)

    def for_table(self, db_id: int, table_id: int, lo: int | None = None, hi: int | None = None) -> list[FileMeta]:
        """The table's live files; with `lo`/`hi` (ns, None = open) only those whose time range meets
        [lo, hi], found by day rather than by looking at every file of the table."""
        with self.lock:
            t = self._tables.get((db_id, table_id))
            return [] if t is None else t.overlapping(lo, hi)

    def table_totals(self, db_id: int, table_id: int) -> tuple[int, int]:
        """(live files, their row groups) of one table, kept as files come and go."""
        with self.lock:
            t = self._tables.get((db_id, table_id))
            return (0, 0) if t is None else (len(t.paths), t.row_groups)

    def all(self) -> list[FileMeta]:
        with self.lock:
            return list(self.files.values())


def row_groups_of(f: FileMeta) -> int:
    return f.row_groups or max(1, -(-f.rows // LEGACY_ROW_GROUP_ROWS))


class _TableFiles:
    """One table's live files by UTC day, so a query over an hour of a year of data looks at the
    files of that day, not at every file (a file holds one day: write_parquet cuts rows by day; one
    whose times span days, which no writer makes, is looked at by every query)."""

    def __init__(self):
        self.paths: dict[str, FileMeta] = {}
        self.by_day: dict[int, dict[str, FileMeta]] = {}
        self.spanning: dict[str, FileMeta] = {}
        self.row_groups = 0

    def _bucket(self, f: FileMeta) -> dict[str, FileMeta]:
        day = f.min_time // DAY_NS
        if f.max_time // DAY_NS != day:
            return self.spanning
        return self.by_day.setdefault(day, {})

    def add(self, f: FileMeta) -> None:
        self.paths[f.path] = f
        self._bucket(f)[f.path] = f
        self.row_groups += row_groups_of(f)

    def drop(self, f: FileMeta) -> None:
        del self.paths[f.path]
        bucket = self._bucket(f)
        del bucket[f.path]
        if not bucket and bucket is not self.spanning:
            del self.by_day[f.min_time // DAY_NS]
        self.row_groups -= row_groups_of(f)

    def overlapping(self, lo: int | None, hi: int | None) -> list[FileMeta]:
        if lo is None and hi is None:
            return list(self.paths.values())
        first = None if lo is None else lo // DAY_NS
        last = None if hi is None else hi // DAY_NS
        if first is not None and last is not None and last - first + 1 < len(self.by_day):
            days = [d for d in range(first, last + 1) if d in self.by_day]
        else:
            days = [d for d in self.by_day if (first is None or d >= first) and (last is None or d <= last)]
        out = [f for d in days for f in self.by_day[d].values()]
        out += [f for f in self.spanning.values()
                if (lo is None or f.max_time >= lo) and (hi is None or f.min_time <= hi)]
        return out


def read_files(files: list[FileMeta], data_dir: Path) -> pa.Table:
    tables = [pq.read_table(data_dir / f.path) for f in files]
    return pa.concat_tables(tables, promote_options="permissive")


#: rows one compaction merges at most (it holds them all in memory, sorted: ~0.4 KB per TSBS row at
#: the peak); the rest wait for the next round. Files of half as many rows or more are left as they
#: are, so any two candidates fit. (1M: 10M lines into --workers 2 peaked ~100 MiB higher.)
COMPACT_MAX_ROWS = 500_000


def compact_groups(index: FileIndex, min_files: int = 4) -> list[list[FileMeta]]:
    """Groups of files of one table and one day worth merging (enough small files): the oldest
    small files, up to COMPACT_MAX_ROWS rows in all."""
    max_rows = COMPACT_MAX_ROWS
    groups: dict[tuple[int, int, int], list[FileMeta]] = {}
    for f in index.all():
        groups.setdefault((f.db, f.table, f.day), []).append(f)
    out = []
    for files in groups.values():
        # a file index's pieces are small by design (engine/admin/fileindex.py): merged once
        small = [f for f in files if 2 * f.rows < max_rows and not f.index]
        if len(small) >= min_files:
            group, rows = [], 0
            for f in sorted(small, key=lambda f: f.min_seq):
                if rows + f.rows > max_rows:
                    break
                group.append(f)
                rows += f.rows
            if len(group) >= 2:
                out.append(group)
    return out
