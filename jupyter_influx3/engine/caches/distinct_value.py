"""The distinct-value cache (DVC): the distinct combinations of values of a few tag/string columns.

Owns the cached combinations of one cache definition, each with the time it was last written
(the write's `__seq`, wall-clock ns): combinations not written for `max_age` are dropped, and past
`max_cardinality` the least recently written go first. A row counts only when every cached column
has a value. Batches are handed over at O(1) cost (`feed`) and folded in by `drain`.

Does not parse SQL, read storage or know the catalog beyond the definition.
"""

from __future__ import annotations

import threading
import time

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ..validator import SEQ_COLUMN
from .rows import ArrowBatchQueue, FedFromWrites, column_codes

NS = 10**9


class DistinctValueCache(FedFromWrites):
    kind = "distinct"

    def __init__(self, definition: dict):
        self.definition = definition
        self.name: str = definition["name"]
        self.columns: list[str] = list(definition["columns"])
        self.max_cardinality: int = definition["max_cardinality"]
        self.max_age_ns: int = definition["max_age"] * NS
        self.entries: dict[tuple, int] = {}   # values -> newest __seq
        self.queue = ArrowBatchQueue()
        self.lock = threading.Lock()

    def load(self, table: pa.Table | None) -> None:
        if table is not None and table.num_rows:
            with self.lock:
                self._ingest(table)

    def _ingest(self, table: pa.Table) -> None:
        if any(c not in table.column_names for c in self.columns):
            return  # a cached column is missing: no row of this write counts
        valid = np.ones(table.num_rows, dtype=bool)
        for c in self.columns:
            valid &= pc.is_valid(table.column(c)).to_numpy(zero_copy_only=False)
        rows = np.flatnonzero(valid)
        if not len(rows):
            return
        codes = column_codes(table, self.columns)[rows]
        seq = table.column(SEQ_COLUMN).to_numpy()[rows]
        # one row per combination, with the newest write of it
        span = int(codes.max()) + 1
        if span <= max(4 * len(codes), 1 << 16):   # dense codes: two linear passes
            newest = np.full(span, np.iinfo(np.int64).min, dtype=np.int64)
            np.maximum.at(newest, codes, seq)
            where = np.full(span, -1, dtype=np.int64)
            where[codes] = np.arange(len(codes))
            present = np.flatnonzero(where >= 0)
            first, seqs = where[present], newest[present]
        else:
            order = np.lexsort((-seq, codes))
            first = order[np.r_[True, codes[order][1:] != codes[order][:-1]]]
            seqs = seq[first]
        picked = table.select(self.columns).take(pa.array(rows[first]))
        values = [picked.column(i).to_pylist() for i in range(len(self.columns))]
        entries = self.entries
        for combo, s in zip(zip(*values), seqs.tolist()):
            if entries.get(combo, -1) < s:
                entries[combo] = s
        if len(entries) > self.max_cardinality:
            self._prune(len(entries) - self.max_cardinality)

    def _prune(self, excess: int) -> None:
        for combo, _ in sorted(self.entries.items(), key=lambda kv: kv[1])[:excess]:
            del self.entries[combo]

    def evict(self, now_ns: int | None = None) -> int:
        cutoff = (now_ns or time.time_ns()) - self.max_age_ns
        with self.lock:
            old = [k for k, s in self.entries.items() if s < cutoff]
            for k in old:
                del self.entries[k]
        return len(old)

    def output_columns(self, table=None) -> list[str]:
        return list(self.columns)

    def to_arrow(self, table=None, now_ns: int | None = None) -> pa.Table:
        return self.keyed_answer(table, now_ns)[0]

    def keyed_answer(self, table=None, now_ns: int | None = None) -> tuple[pa.Table, list[tuple]]:
        """The combinations written within `max_age`, sorted ascending, one string column each."""
        self.drain()
        cutoff = (now_ns or time.time_ns()) - self.max_age_ns
        with self.lock:
            combos = [k for k, s in self.entries.items() if s >= cutoff]
        combos.sort()
        arrays = [pa.array([c[i] for c in combos], pa.string()) for i in range(len(self.columns))]
        return pa.Table.from_arrays(arrays, schema=pa.schema([pa.field(c, pa.string()) for c in self.columns])), combos

    @property
    def entry_count(self) -> int:
        return len(self.entries)

    def memory_bytes(self) -> int:
        return len(self.entries) * (120 + 60 * len(self.columns))
