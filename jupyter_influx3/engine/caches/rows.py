"""Arrow helpers the caches share: the queue of batches waiting to be folded in, per-row group
codes of key columns, per-write deduplication, and the output type of each column kind.

Owns no cached state and knows nothing of cache definitions.
"""

from __future__ import annotations

import threading

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from .. import persist
from ..sql.functions import COLUMN_TYPES

#: queued rows past which a drain is due (the maintenance thread, or the next read, does it)
DRAIN_ROWS = 100_000
#: queued rows past which the feeding writer drains itself (no maintenance thread kept up)
FORCE_DRAIN_ROWS = 8 * DRAIN_ROWS


def output_type(column_type: str) -> pa.DataType:
    """Arrow type of a column in a cache's output: tags as plain strings, the rest as in tables."""
    return pa.string() if column_type == "tag" else COLUMN_TYPES[column_type][2]


class ArrowBatchQueue:
    """Batches handed over by the write path, folded in later as one table."""

    def __init__(self) -> None:
        self._batches: list[pa.RecordBatch] = []
        self.rows = 0
        self._lock = threading.Lock()

    def put(self, batch: pa.RecordBatch) -> bool:
        with self._lock:
            self._batches.append(batch)
            self.rows += batch.num_rows
            return self.rows >= DRAIN_ROWS

    @property
    def overfull(self) -> bool:
        return self.rows >= FORCE_DRAIN_ROWS

    def take_all(self) -> pa.Table | None:
        with self._lock:
            batches, self._batches, self.rows = self._batches, [], 0
        if not batches:
            return None
        tables = [pa.Table.from_batches([b]) for b in batches if b.num_rows]
        if not tables:
            return None
        # chunks stay as they are: the caches read a few columns whole and take a few rows
        return tables[0] if len(tables) == 1 else pa.concat_tables(tables, promote_options="permissive")


def take_rows(table: pa.Table, indices: np.ndarray) -> pa.Table:
    """`table.take(indices)` batch by batch: a few rows out of many written batches without
    unifying every column's dictionaries across all of them first."""
    batches = table.to_batches()
    if len(batches) <= 1:
        return table.take(pa.array(indices))
    ends = np.cumsum([b.num_rows for b in batches])
    which = np.searchsorted(ends, indices, side="right")
    parts = []
    for i in np.unique(which):
        local = indices[which == i] - (ends[i] - batches[i].num_rows)
        parts.append(pa.Table.from_batches([batches[i].take(pa.array(local))]))
    return pa.concat_tables(parts, promote_options="permissive").combine_chunks()


def dedup_rows(table: pa.Table) -> pa.Table:
    """One row per (tags, time) — the table's rule: per column the newest non-null value."""
    if table.num_rows < 2:
        return table
    con = duckdb.connect()
    try:
        return persist.dedup_sort(con, table)
    finally:
        con.close()


def column_codes(table: pa.Table, columns: list[str]) -> np.ndarray:
    """Per row, an integer that is equal for rows with equal values in `columns` (nulls included)."""
    n = table.num_rows
    codes = np.zeros(n, dtype=np.int64)
    span = 1   # codes are < span
    names = set(table.column_names)
    for c in columns:
        if c not in names:
            continue
        arr = table.column(c).combine_chunks()
        if not pa.types.is_dictionary(arr.type):
            arr = pc.dictionary_encode(arr)
        width = len(arr.dictionary) + 1
        idx = pc.fill_null(arr.indices, width - 1).to_numpy(zero_copy_only=False).astype(np.int64)
        if span * width >= 2**62:   # renumber densely before the mixed radix overflows
            codes = np.unique(codes, return_inverse=True)[1].astype(np.int64).reshape(-1)
            span = int(codes.max()) + 1 if n else 1
        codes = codes * width + idx
        span *= width
    return codes


def has_duplicate_rows(table: pa.Table, columns: list[str]) -> bool:
    """Whether two rows agree on every one of `columns`."""
    codes = column_codes(table, columns)
    return len(np.unique(codes)) < len(codes)


class FedFromWrites:
    """What both caches do with acknowledged batches: queue them cheaply on the write path and fold
    them in (`_ingest`, the cache's own) under the cache's lock when a reader or the drain loop asks.
    A subclass sets `queue` (an ArrowBatchQueue) and `lock`."""

    def feed(self, batch: pa.RecordBatch) -> bool:
        """Hand over an acknowledged batch; True when enough is queued that a drain is due."""
        return self.queue.put(batch)

    def drain(self) -> None:
        """Fold every queued batch into the cached rows."""
        with self.lock:
            table = self.queue.take_all()
            if table is not None:
                self._ingest(table)
