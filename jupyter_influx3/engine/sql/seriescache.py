"""An in-memory, series-ordered copy of a table's rows, for queries that read a few series.

InfluxDB 1.x answers a query about one host from its series index in a millisecond or two; a
scan of the table's Parquet files and buffered batches, even pruned, costs DuckDB several
milliseconds per query whatever the selectivity.  A :class:`SeriesTable` holds a table's rows
exactly as :func:`.sources.build_view` reads them (deduplicated, retention applied), decoded into
numpy, sorted by the 1.x series key and then time, with each series' row range.  A reader finds
the series a tag condition allows and the time range within each of them by binary search, and
touches only those rows.

:class:`SeriesCache` keeps one per table, valid while the table's sources (its Parquet files,
the buffered batches of every node, its columns) are the ones it was built from.  A table that
changes is rebuilt when read again -- in the reader's thread the first time (small tables, and
not on a thread that asked for ``onetime.elsewhere()``: an event loop) and in a background thread
otherwise, never more often than keeps rebuilding under ~10% of the time.
Readers fall back to the DuckDB scan whenever no valid copy exists.

A table too big to copy whole (a year of data) is copied by UTC day instead: a read whose time
range lies within one day gets a copy of that day's rows only, valid while that day's sources (its
Parquet files -- the file index is by day, a file never spans days -- and the buffered batches
holding rows of the day) are the ones it was built from.  Whole and day copies share the budget,
the oldest-built is evicted first, and a whole copy is preferred whenever the table fits.

Owns nothing on disk; does not translate queries (see ``influxql/cachescan.py`` for the reader).
"""

from __future__ import annotations

import operator
import threading
import time
import weakref
from dataclasses import dataclass, field
from typing import Callable, Optional

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from .. import onetime
from ..malloc import tune_malloc_once
from ..persist import DAY_NS
from ..admin.deletes import version as deletes_version
from .sources import build_view, snapshot_sources

_NUM_ROWS = operator.attrgetter("num_rows")
_DEREF = weakref.ReferenceType.__call__
_KEY_ESCAPE = str.maketrans({",": "\\,", "=": "\\=", " ": "\\ "})
_NAME_ESCAPE = str.maketrans({",": "\\,", " ": "\\ "})

#: rows up to which the first build happens in the reading thread (about 0.3 s of work)
SYNC_BUILD_ROWS = 1_000_000
#: a rebuild waits this many times the last build's duration after it (bounds the overhead)
REBUILD_SPACING = 10.0


def day_of(lo: Optional[int], hi: Optional[int]) -> Optional[int]:
    """The UTC day (days since the epoch) holding all of [lo, hi] (ns, inclusive), or None when
    the range is open, empty or spans days."""
    if lo is None or hi is None or hi < lo:
        return None
    day = lo // DAY_NS
    return day if hi // DAY_NS == day else None


def day_bounds(day: int) -> tuple[int, int]:
    """[first, last] ns of a UTC day."""
    return day * DAY_NS, (day + 1) * DAY_NS - 1


def series_key(name: str, tags: dict) -> str:
    """The 1.x series key ``m,k1=v1,k2=v2`` (tags sorted, empty values omitted, escaped)."""
    parts = [name.translate(_NAME_ESCAPE)]
    for k in sorted(tags):
        v = tags[k]
        if v is None or v == "":
            continue
        parts.append(f"{k.translate(_KEY_ESCAPE)}={v.translate(_KEY_ESCAPE)}")
    return ",".join(parts)


def distinct_series(name: str, tag_columns: list, n: int) -> tuple[np.ndarray, list[dict], list[str]]:
    """The series of ``n`` rows of measurement ``name`` given its tag columns (Arrow arrays, named
    by the pairs ``(tag, array)``): per row its series' index, and each series' tags (missing and
    empty ones absent) and key, in 1.x series key order."""
    if n == 0:
        return np.zeros(0, np.int64), [], []
    # one int64 per row from the dictionary codes (mixed radix, re-densified before it could
    # overflow); its distinct values are the series
    key = np.zeros(n, np.int64)
    codes, dicts = [], []
    for _t, arr in tag_columns:
        if isinstance(arr, pa.ChunkedArray):
            arr = arr.combine_chunks()
        if not pa.types.is_dictionary(arr.type):
            arr = pc.dictionary_encode(arr)
        cd = np.asarray(arr.indices.fill_null(-1), dtype=np.int64) + 1
        d = arr.dictionary.to_pylist()
        radix = len(d) + 1
        if int(key.max()) >= (1 << 62) // radix:
            _, key = np.unique(key, return_inverse=True)
            key = key.reshape(-1).astype(np.int64)
        key = key * np.int64(radix) + cd
        codes.append(cd)
        dicts.append(d)
    _, first, inv = np.unique(key, return_index=True, return_inverse=True)
    series = []
    for i in first.tolist():
        tags = {}
        for (t, _a), cd, d in zip(tag_columns, codes, dicts):
            c = int(cd[i])
            if c > 0 and d[c - 1]:
                tags[t] = d[c - 1]
        series.append(tags)
    keys = [series_key(name, t) for t in series]
    order = sorted(range(len(series)), key=keys.__getitem__)
    rank = np.empty(len(series), np.int64)
    rank[order] = np.arange(len(series))
    return rank[inv.reshape(-1)], [series[i] for i in order], [keys[i] for i in order]


@dataclass
class Column:
    kind: str            # the catalog type: float, int, uint, string, bool
    data: np.ndarray
    valid: np.ndarray


@dataclass
class SeriesTable:
    """Rows of one table sorted by (series key, time); series ``s`` owns rows
    ``offsets[s]:offsets[s + 1]``."""

    name: str
    tags: list[str]                      # tag columns of the table
    series: list[dict]                   # tags of each series (missing tags absent), key order
    keys: list[str]                      # series key of each series
    offsets: np.ndarray                  # int64, len(series) + 1
    time: np.ndarray                     # int64 ns, per row
    columns: dict[str, Column] = field(default_factory=dict)   # fields, per row
    tag_values: dict[str, np.ndarray] = field(default_factory=dict)  # tag -> value per series ('' if missing)
    nbytes: int = 0
    #: [first, last] ns of the rows it was taken from (one UTC day); None: the whole table.  A
    #: reader may only use it for reads within these bounds
    span: Optional[tuple[int, int]] = None
    #: what readers derive from these rows alone (the series a WHERE's tag terms select), kept
    #: as long as the copy is
    derived: dict = field(default_factory=dict, repr=False, compare=False)
    _row_sid: Optional[np.ndarray] = None
    _all: Optional[np.ndarray] = None
    _range: Optional[tuple[int, int]] = None

    @property
    def num_rows(self) -> int:
        return len(self.time)

    def rows_of(self, sids: np.ndarray, lo: Optional[int], hi: Optional[int]) -> np.ndarray:
        """Row indices of series ``sids`` (ascending) with lo <= time <= hi, in table order."""
        if len(sids) == 0:
            return np.zeros(0, np.int64)
        if len(sids) == 1:
            # one series (a host's dashboard query): one range, no running-index arithmetic
            return np.arange(*self.series_span(int(sids[0]), lo, hi), dtype=np.int64)
        starts, ends = self.offsets[sids], self.offsets[sids + 1]
        if lo is not None or hi is not None:
            starts, ends = starts.copy(), ends.copy()
            for i, sid in enumerate(sids.tolist()):
                starts[i], ends[i] = self.series_span(sid, lo, hi)
        lens = np.maximum(ends - starts, 0)
        total = int(lens.sum())
        if total == 0:
            return np.zeros(0, np.int64)
        # concatenated ranges without a Python loop: a running index with jumps at range starts
        out = np.ones(total, np.int64)
        keep = lens > 0
        starts, lens = starts[keep], lens[keep]
        pos = np.cumsum(lens)[:-1]
        out[0] = starts[0]
        out[pos] = starts[1:] - (starts[:-1] + lens[:-1]) + 1
        return np.cumsum(out)

    def series_span(self, sid: int, lo: Optional[int], hi: Optional[int]) -> tuple[int, int]:
        """(first row, the row past the last) of series ``sid`` with lo <= time <= hi."""
        s, e = int(self.offsets[sid]), int(self.offsets[sid + 1])
        t = self.time[s:e]
        first = s + int(np.searchsorted(t, lo, "left")) if lo is not None else s
        last = s + int(np.searchsorted(t, hi, "right")) if hi is not None else e
        return first, max(first, last)

    def all_rows(self) -> np.ndarray:
        """``arange(num_rows)``, made once: reads of the whole table use it (and its identity
        tells them they may use the columns as they are, without gathering)."""
        if self._all is None:
            self._all = np.arange(len(self.time), dtype=np.int64)
        return self._all

    def time_range(self) -> tuple[int, int]:
        if self._range is None:
            self._range = (int(self.time.min()), int(self.time.max())) if len(self.time) else (0, -1)
        return self._range

    def sid_of_rows(self) -> np.ndarray:
        """The series of every row."""
        if self._row_sid is None:
            self._row_sid = np.repeat(np.arange(len(self.series), dtype=np.int64), np.diff(self.offsets))
        return self._row_sid


_DTYPES = {"float": np.float64, "int": np.int64, "uint": np.uint64, "bool": np.bool_}
_ZERO = {np.float64: 0.0, np.int64: 0, np.uint64: 0, np.bool_: False}


def arrow_to_numpy(arr, dtype) -> tuple[np.ndarray, np.ndarray]:
    """(values, validity) of an Arrow column as numpy; ``dtype`` None gives Python objects
    (strings; dictionaries decoded).  Nulls read as zero (or None) where not valid."""
    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks() if arr.num_chunks != 1 else arr.chunk(0)
    valid = np.asarray(arr.is_valid()) if arr.null_count else np.ones(len(arr), bool)
    if dtype is not None:
        return np.asarray(arr.fill_null(_ZERO[dtype]) if arr.null_count else arr, dtype=dtype), valid
    if pa.types.is_dictionary(arr.type):
        arr = arr.cast(pa.string())
    return np.asarray(arr.to_numpy(zero_copy_only=False), dtype=object), valid


def _decode(arr: pa.ChunkedArray, kind: str) -> Column:
    return Column(kind, *arrow_to_numpy(arr, _DTYPES.get(kind)))


def _read_plain(engine, view, cols: list[str], tags: list[str], kinds: dict,
                lo: Optional[int] = None, hi: Optional[int] = None) -> pa.Table:
    """The view's rows (within [lo, hi] when given) when no source needs deduplicating: Parquet
    read by pyarrow (tags stay dictionary-encoded, several times faster than through DuckDB) and
    the buffered batches."""
    import pyarrow.parquet as pq

    parts = []
    for f in view.plain_files:
        have = [c for c in ["time"] + cols if c in f.columns]
        parts.append(pq.read_table(engine.data_dir / f.path, columns=have,
                                   read_dictionary=[t for t in tags if t in have]))
    for b in view.plain_chunks:
        parts.append(pa.Table.from_batches([b]).select([c for c in ["time"] + cols if c in b.schema.names]))
    out = {}
    n = sum(p.num_rows for p in parts)
    for c in ["time"] + cols:
        pieces = []
        for p in parts:
            if c in p.column_names:
                pieces.extend(p.column(c).chunks)
            elif p.num_rows:
                pieces.append(pa.nulls(p.num_rows, pa.string() if c in tags else _ARROW[kinds[c]]))
        if c in tags:
            pieces = [x.dictionary_decode() if pa.types.is_dictionary(x.type) else x for x in pieces] \
                if len({str(x.type) for x in pieces}) > 1 else pieces
        typ = pieces[0].type if pieces else (pa.string() if c in tags else _ARROW.get(kinds.get(c), pa.int64()))
        out[c] = pa.chunked_array(pieces, type=typ) if n else pa.chunked_array([], type=typ)
    tbl = pa.table(out).unify_dictionaries()
    low = lo if view.retention_cutoff is None else \
        (view.retention_cutoff if lo is None else max(lo, view.retention_cutoff))
    if (low is not None or hi is not None) and n:
        # a buffered batch may hold rows of other days than the copy's
        t = np.asarray(tbl.column("time").cast(pa.int64()).combine_chunks())
        keep = np.ones(n, bool)
        if low is not None:
            keep &= t >= low
        if hi is not None:
            keep &= t <= hi
        if not keep.all():
            tbl = tbl.filter(pa.array(keep))
    return tbl


_ARROW = {"float": pa.float64(), "int": pa.int64(), "uint": pa.uint64(), "string": pa.string(),
          "bool": pa.bool_(), "tag": pa.string()}


def build_series_table(engine, db, table, cursor, now_ns: int, lo: Optional[int] = None,
                       hi: Optional[int] = None) -> SeriesTable:
    """Read the table (its rows within [lo, hi], given both, else all of them) through its
    deduplicated view and sort it by series key, then time."""
    # reads of the copy allocate column-sized temporaries: without this, a process that never
    # parsed a large write (a reader node, a restarted server) pays page faults on each of them
    tune_malloc_once()
    view = build_view(engine, db, table, lo, hi, now_ns, _stats(engine), f"__sc{table.id}")
    tags = list(table.series_key)
    cols = [c for c in table.column_names_sorted() if c != "time"]
    if not view.dedup and not view.hides_rows:
        tbl = _read_plain(engine, view, cols, tags, {c: table.columns[c].type for c in cols}, lo, hi)
        n = tbl.num_rows
        times = np.asarray(tbl.column("time").cast(pa.int64()).combine_chunks(), dtype=np.int64) if n \
            else np.zeros(0, np.int64)
    else:
        for name, reg in view.registrations.items():
            cursor.register(name, reg)
        select = ", ".join(['epoch_ns("time") AS "__t"'] + ['"' + c.replace('"', '""') + '"' for c in cols])
        # the view's sources are those meeting [lo, hi]; their rows outside it are cut here
        within = f' WHERE "__t" BETWEEN {int(lo)} AND {int(hi)}' if lo is not None else ""
        tbl = cursor.sql(f"SELECT * FROM (SELECT {select} FROM ({view.sql})){within}").to_arrow_table()
        for name in view.registrations:
            try:
                cursor.unregister(name)
            except Exception:  # noqa: BLE001 - the cursor goes away anyway
                pass
        n = tbl.num_rows
        times = np.asarray(tbl.column("__t").combine_chunks(), dtype=np.int64) if n else np.zeros(0, np.int64)
    sid, series, keys = distinct_series(table.name, [(t, tbl.column(t)) for t in tags], n)
    perm = np.lexsort((times, sid))
    sid = sid[perm]
    offsets = np.zeros(len(series) + 1, np.int64)
    np.cumsum(np.bincount(sid, minlength=len(series)), out=offsets[1:])
    st = SeriesTable(table.name, tags, series, keys, offsets, times[perm], span=None if lo is None else (lo, hi))
    take = pa.array(perm)
    for c in cols:
        if c in tags:
            continue
        st.columns[c] = _decode(tbl.column(c).take(take), table.columns[c].type)
    for t in tags:
        st.tag_values[t] = np.array([s.get(t, "") for s in series], dtype=object)
    # strings are Python objects: count ~50 bytes of object overhead beyond their text per value
    strings = sum(tbl.column(c).nbytes + 50 * tbl.num_rows for c, col in st.columns.items() if col.data.dtype == object)
    st.nbytes = st.time.nbytes + st.offsets.nbytes + strings + sum(
        c.data.nbytes + c.valid.nbytes for c in st.columns.values()) + 200 * len(series) * max(1, len(tags))
    return st


def _stats(engine):
    from .runner import service_for
    return service_for(engine).stats


@dataclass
class _Entry:
    sig: tuple
    refs: list                        # weak references to the buffered batches of ``sig``
    table: Optional[SeriesTable]
    built_at: float = 0.0
    took: float = 0.0
    #: the copy came out over the whole budget (not kept): the table is read by day instead
    too_big: bool = False
    rows: int = 0                     # the rows ``sig`` names (at most)
    #: the copy was dropped for room: it may be built again (after the rebuild spacing)
    evicted: bool = False


#: entries kept at most (a copy evicted for room leaves a small entry behind; one per day read)
MAX_ENTRIES = 4096


class SeriesCache:
    """One :class:`SeriesTable` per (database, table) -- or per (database, table, UTC day) for a
    table too big to copy whole --, kept while its sources stay the same."""

    def __init__(self, engine, budget_bytes: int):
        self.engine = engine
        self.budget = budget_bytes
        self._entries: dict[tuple, _Entry] = {}
        self._building: set[tuple] = set()
        self._lock = threading.Lock()
        #: (db id, table id) -> what the table's size looked like when it was found too big to
        #: copy whole (see _size_token): while it looks the same, it is read by day
        self._too_big: dict[tuple, tuple] = {}
        self.builds = 0
        self.day_builds = 0   # of ``builds``, copies of one day
        self.hits = 0         # reads given a copy (whole or of a day)
        self._names: dict[int, tuple] = {}   # see _column_names

    def _signature(self, db, table, lo: Optional[int] = None,
                   hi: Optional[int] = None) -> tuple[tuple, list, Callable[[], int]]:
        """(what a copy is valid for, the buffered batches it names, a function giving the rows it
        would hold at most); with [lo, hi], for a copy of the rows within those bounds: only the
        files and buffered batches that hold such rows count (a batch's rows in the share of its
        time range within the bounds: an estimate). Every query asks, and a buffer of many small
        writes holds tens of thousands of batches: the loops over them are C loops, and the rows
        are only counted when no copy is at hand."""
        files, chunks = snapshot_sources(self.engine, db.id, table.id, lo, hi)
        if lo is None:
            def rows() -> int:
                return sum([f.rows for f in files]) + sum(map(_NUM_ROWS, chunks))
        else:
            stats, keys = _stats(self.engine), list(table.series_key)
            spans = [(b, stats.get(b, keys)) for b in chunks]
            chunks = [b for b, st in spans if _meets(st, lo, hi)]
            # a batch may hold rows of several days: count its share of the bounds
            buffered = sum(b.num_rows * (min(hi, st.max_time) - max(lo, st.min_time) + 1)
                           // (st.max_time - st.min_time + 1) for b, st in spans if _meets(st, lo, hi))
            day_rows = sum([f.rows for f in files]) + buffered

            def rows() -> int:
                return day_rows
        cat = self.engine.catalog
        sig = ((self._column_names(table), table.retention_ns or db.retention_ns, table.truncated_seq,
                deletes_version(cat, db.id, table.id) if cat.row_deletes else ()),
               tuple(sorted([f.path for f in files])), tuple(map(id, chunks)))
        return sig, chunks, rows

    def _column_names(self, table) -> tuple:
        """The table's column names, sorted (asked on every read: kept while the table object
        and its column count stay; a table's columns are only ever added)."""
        got = self._names.get(id(table))
        if got is None or got[0] is not table or got[1] != len(table.columns):
            names = tuple(table.column_names_sorted())
            if len(self._names) >= MAX_ENTRIES:
                self._names.clear()
            self._names[id(table)] = got = (table, len(table.columns), names)   # the table: its id stays its own
        return got[2]

    def _size_token(self, db, table) -> tuple:
        """Changes whenever the table's row count may have gone down (files gone or merged, row
        deletes, a truncation, new columns): a table found too big stays too big while it does not."""
        return (self.engine.index.table_totals(db.id, table.id), len(table.columns), table.truncated_seq,
                deletes_version(self.engine.catalog, db.id, table.id))

    def sources_replaced(self, key: tuple, chunks: list, removed_paths: list[str], added_paths: list[str]) -> None:
        """A snapshot or compaction rewrote buffered ``chunks`` and Parquet files ``removed_paths``
        of table ``key`` as ``added_paths`` with the same rows: a copy built from the old sources
        stays valid under the new ones (without this, every snapshot would cost a rebuild).  A
        copy of one day follows the files and batches of that day (``added_paths`` must be in the
        file index already, as the engine publishes them before telling us)."""
        with self._lock:
            targets = [k for k in self._entries if k[:2] == key]
            if not targets:
                return
            files = self.engine.index.files
            added = {p: files.get(p) for p in added_paths}
            for k in targets:
                if len(k) == 2:
                    self._replace_whole(self._entries[k], chunks, removed_paths, added_paths)
                else:
                    self._replace_day(k, self._entries[k], chunks, removed_paths, added)

    @staticmethod
    def _replace_whole(e: _Entry, chunks: list, removed_paths: list[str], added_paths: list[str]) -> None:
        schema, files, ids = e.sig
        if schema[2]:
            return  # a truncated table's snapshot drops rows the buffer still shows
        gone = {id(b) for b in chunks}
        if not gone <= set(ids) or not set(removed_paths) <= set(files) or \
                not all(r() is not None for r, i in zip(e.refs, ids) if i in gone):
            return
        _moved(e, gone, set(removed_paths), added_paths)

    def _replace_day(self, key: tuple, e: _Entry, chunks: list, removed_paths: list[str], added: dict) -> None:
        schema, files, ids = e.sig
        if schema[2]:
            return
        lo, hi = day_bounds(key[2])
        have, removed = set(ids), set(removed_paths)
        gone = {id(b) for b in chunks if id(b) in have}
        if any(id(b) not in have for b in chunks if self._chunk_meets(key, b, lo, hi)):
            return   # rows of the day the copy has not seen moved to files: it is stale
        if not all(r() is not None for r, i in zip(e.refs, ids) if i in gone):
            return
        mine = removed & set(files)
        if mine != removed and (mine or any(f is None or _meets(f, lo, hi) for f in added.values())):
            # files of the day the copy did not read were merged (or files of other days with
            # the day's): it is stale, or the change is not one day's; it is rebuilt when read
            return
        here = [p for p, f in added.items() if f is None or _meets(f, lo, hi)]
        if not gone and not mine:
            return   # another day's change (or new rows of this one: the signature no longer matches)
        if any(added[p] is None for p in here):
            return       # a file the index does not know: cannot tell its day
        _moved(e, gone, mine, here)

    def _chunk_meets(self, key: tuple, b, lo: int, hi: int) -> bool:
        d = self.engine.catalog.db_by_id(key[0])
        t = d.tables.get(key[1]) if d is not None else None
        if t is None:
            return True
        return _meets(_stats(self.engine).get(b, list(t.series_key)), lo, hi)

    @staticmethod
    def _alive(entry: _Entry, chunks: list) -> bool:
        return len(entry.refs) == len(chunks) and all(map(operator.is_, map(_DEREF, entry.refs), chunks))

    def get(self, db, table, now_ns: int, lo: Optional[int] = None, hi: Optional[int] = None,
            build: bool = True) -> Optional[SeriesTable]:
        """The table's rows in series order, or None when no valid copy is at hand (one is then
        built, now or in the background, for the next read; not with ``build=False``: a look
        only).  A table too big to copy whole is copied by UTC day: when [lo, hi] (ns, inclusive;
        None: open) lies within one day, the copy of that day's rows (``SeriesTable.span``), which
        only serves reads within the day."""
        if self.budget <= 0:
            return None
        whole = (db.id, table.id)
        known = self._too_big.get(whole)
        if known is None or known != self._size_token(db, table):
            st, fits = self._get(whole, db, table, now_ns, None, None, build)
            if fits:
                self._too_big.pop(whole, None)
                return st
            with self._lock:
                self._too_big[whole] = self._size_token(db, table)
                e = self._entries.get(whole)
                if e is not None and e.table is not None:
                    del self._entries[whole]   # a copy from when the table was smaller
        day = day_of(lo, hi)
        if day is None:
            return None
        return self._get(whole + (day,), db, table, now_ns, *day_bounds(day), build)[0]

    def by_day(self, db, table) -> bool:
        """Whether the table was last found too big to copy whole (see :meth:`get`)."""
        return (db.id, table.id) in self._too_big

    def _valid(self, key, sig, chunks, read: bool = True) -> Optional[tuple[Optional[SeriesTable], bool]]:
        """What _get answers when the entry of ``key`` is valid for ``sig``: its copy, or that it
        is too big; None when there is no such entry (or its copy was evicted). Under the lock."""
        e = self._entries.get(key)
        if e is None or e.sig != sig or not self._alive(e, chunks):
            return None
        if e.too_big:
            return None, False
        if e.evicted:
            return None
        if e.table is not None and read:
            self.hits += 1
        return e.table, True

    def _get(self, key, db, table, now_ns, lo, hi, build: bool = True) -> tuple[Optional[SeriesTable], bool]:
        """(the copy of ``key``, or None; whether such a copy fits the budget: unknown, True,
        when not ``build``)."""
        sig, chunks, count_rows = self._signature(db, table, lo, hi)
        with self._lock:
            answer = self._valid(key, sig, chunks, build)   # (a look only is no read)
        if answer is not None or not build:
            return answer or (None, True)
        rows = count_rows()
        fits = rows * 8 * (len(table.columns) + 1) <= self.budget // 2
        with self._lock:
            answer = self._valid(key, sig, chunks)   # built meanwhile?
            if answer is not None:
                return answer
            e = self._entries.get(key)
            if e is not None and e.too_big and rows >= e.rows:
                return None, False   # it only grew since its copy came out too big
            if not fits:
                return None, False
            if key in self._building:
                return None, True
            if e is not None and time.monotonic() - e.built_at < REBUILD_SPACING * e.took:
                return None, True
            self._building.add(key)
        if e is None and rows <= SYNC_BUILD_ROWS and onetime.here():
            with onetime.counted():   # the reader's next run will not pay it (http's run_short)
                return self._build(key, db, table, sig, chunks, rows, now_ns, lo, hi), True
        threading.Thread(target=self._build, args=(key, db, table, sig, chunks, rows, now_ns, lo, hi),
                         name="series-cache", daemon=True).start()
        return None, True

    def _build(self, key, db, table, sig, chunks, rows, now_ns, lo=None, hi=None) -> Optional[SeriesTable]:
        from .runner import service_for
        t0 = time.monotonic()
        st = None
        try:
            cursor = service_for(self.engine)._connection().cursor()
            try:
                st = build_series_table(self.engine, db, table, cursor, now_ns, lo, hi)
            finally:
                cursor.close()
        except Exception:  # noqa: BLE001 - a cache: the reader falls back to the scan
            st = None
        took = time.monotonic() - t0
        with self._lock:
            self._building.discard(key)
            too_big = st is not None and st.nbytes > self.budget
            if too_big:
                st = None
            self._entries[key] = _Entry(sig, [weakref.ref(b) for b in chunks], st, time.monotonic(), took,
                                        too_big, rows)
            self._forget_deleted()
            self._evict(keep=key)
            self.builds += 1
            self.day_builds += len(key) > 2
        return st

    def _forget_deleted(self) -> None:
        """Drop the copies of tables that were deleted (or whose database was)."""
        cat = self.engine.catalog
        for k in list(self._entries):
            d = cat.db_by_id(k[0])
            t = d.tables.get(k[1]) if d is not None else None
            if d is None or d.deleted or t is None or t.deleted:
                del self._entries[k]
                self._too_big.pop(k[:2], None)

    def _evict(self, keep) -> None:
        """Drop copies, oldest-built first, until the kept ones fit the budget."""
        total = sum(e.table.nbytes for e in self._entries.values() if e.table is not None)
        for k in sorted(self._entries, key=lambda k: self._entries[k].built_at):
            if total <= self.budget:
                break
            e = self._entries[k]
            if k != keep and e.table is not None:
                total -= e.table.nbytes
                e.table, e.evicted = None, True
        if len(self._entries) > MAX_ENTRIES:
            for k in sorted((k for k, e in self._entries.items() if e.table is None and k != keep),
                            key=lambda k: self._entries[k].built_at)[:len(self._entries) - MAX_ENTRIES]:
                del self._entries[k]

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
            self._too_big.clear()


def _meets(x, lo: int, hi: int) -> bool:
    """Whether a file's or a batch's [min_time, max_time] meets [lo, hi]."""
    return x.max_time >= lo and x.min_time <= hi


def _moved(e: _Entry, gone: set, removed: set, added: list[str]) -> None:
    """Rewrite ``e``'s signature for its batches ``gone`` and files ``removed`` having become
    files ``added``, with the same rows."""
    schema, files, ids = e.sig
    keep = [k for k, i in enumerate(ids) if i not in gone]
    e.sig = (schema, tuple(sorted((set(files) - removed) | set(added))), tuple(ids[k] for k in keep))
    e.refs = [e.refs[k] for k in keep]


def default_budget() -> int:
    """An eighth of physical memory, at most 2 GiB."""
    import os
    try:
        ram = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        ram = 8 * 2**30
    return min(2 * 2**30, ram // 8)


def cache_for(engine) -> SeriesCache:
    """The engine's series cache (budget: ``engine.series_cache_bytes``, else :func:`default_budget`)."""
    c = engine.__dict__.get("_series_cache")
    if c is not None:
        return c   # asked by every InfluxQL read
    from .runner import per_engine

    def make() -> SeriesCache:
        budget = getattr(engine, "series_cache_bytes", None)
        return SeriesCache(engine, default_budget() if budget is None else budget)

    return per_engine(engine, "_series_cache", make)


def sources_replaced(engine, key: tuple, chunks: list, removed_paths: list[str], added_paths: list[str]) -> None:
    """Tell the engine's series cache, if it has one, that table ``key``'s rows moved sources."""
    c = engine.__dict__.get("_series_cache")
    if c is not None:
        c.sources_replaced(key, chunks, removed_paths, added_paths)
