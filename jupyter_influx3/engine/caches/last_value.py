"""The last-value cache (LVC): per combination of key-column values, the newest `count` rows.

Owns the cached rows of one cache definition and how rows get in and out: batches are handed over
by the write path at O(1) cost (`feed`) and folded in later in one vectorised pass (`drain`), on
the next read or by the registry's maintenance thread. A row's identity is (key values, the other
tags, time): a second write of the same identity merges into the cached row the way the table
deduplicates (per column the non-null value of the newest write wins), so the cache answers what
the equivalent SQL over the table answers, overwrites and out-of-order times included (a row
merged from several writes carries each column's own write order, `__seqs`, as in files). A row
lives `ttl` seconds from its write (its `__seq`, the write's wall-clock ns).

Does not parse SQL, read storage or know the catalog beyond the definition and column types.
"""

from __future__ import annotations

import threading
import time

import numpy as np
import pyarrow as pa

from ..validator import SEQ_COLUMN, SEQS_COLUMN
from .rows import ArrowBatchQueue, FedFromWrites, column_codes, dedup_rows, has_duplicate_rows, output_type, take_rows

NS = 10**9


class LastValueCache(FedFromWrites):
    kind = "last"

    def __init__(self, definition: dict):
        self.definition = definition
        self.name: str = definition["name"]
        self.key_columns: list[str] = list(definition["key_columns"])
        self.value_columns: list[str] | None = definition.get("value_columns")
        self.count: int = definition["count"]
        self.ttl_ns: int = definition["ttl"] * NS
        self.entries: dict[tuple, list[dict]] = {}
        self.queue = ArrowBatchQueue()
        self.lock = threading.Lock()
        self.version = 0            # bumped whenever the cached rows change
        self._built: tuple | None = None   # (version, columns, expires at, table, row keys) of the last to_arrow

    # ---- getting rows in ---------------------------------------------------------------------
    def load(self, table: pa.Table | None) -> None:
        """Fold in rows read from storage (already one per identity, `__seq` = newest write)."""
        if table is not None and table.num_rows:
            with self.lock:
                self._ingest(table.unify_dictionaries().combine_chunks(), dedup=False)

    def _ingest(self, table: pa.Table, dedup: bool = True) -> None:
        if not table.num_rows:
            return
        if dedup:
            # Only rows at each key's newest `count` times can be cached: every row of a cached row's
            # identity shares its time, so deduplicating just those is complete (and cheap).
            table = take_rows(table, np.sort(self._newest_times(table)))
            tags = [f.name for f in table.schema if pa.types.is_dictionary(f.type)]
            if has_duplicate_rows(table, tags + ["time"]):
                table = dedup_rows(table)
        n = table.num_rows
        codes = column_codes(table, self.key_columns)
        tnum = table.column("time").cast(pa.int64()).to_numpy()
        seq = table.column(SEQ_COLUMN).to_numpy()
        # newest first within each key: by key, then time descending, then write order descending
        order = np.lexsort((-seq, -tnum, codes))
        sorted_codes = codes[order]
        starts = np.flatnonzero(np.r_[True, sorted_codes[1:] != sorted_codes[:-1]])
        rank = np.arange(n) - np.repeat(starts, np.diff(np.r_[starts, n]))
        keep = order[rank < self.count]
        cand = table.take(pa.array(keep))
        cand = cand.set_column(cand.schema.get_field_index("time"), "time", cand.column("time").cast(pa.int64()))
        tags = [f.name for f in table.schema if pa.types.is_dictionary(f.type) and f.name not in self.key_columns]
        grouped: dict[tuple, list[dict]] = {}
        for row in cand.to_pylist():
            key = tuple(row.get(k) for k in self.key_columns)
            if row.get(SEQS_COLUMN) is not None:   # (Arrow gives a map as a list of pairs)
                row[SEQS_COLUMN] = dict(row[SEQS_COLUMN])
            row["__ident"] = (row["time"], tuple(row.get(t) for t in tags))
            grouped.setdefault(key, []).append(row)
        for key, rows in grouped.items():
            self._merge(key, rows)
        self.version += 1

    def _newest_times(self, table: pa.Table) -> np.ndarray:
        """Indices of the rows whose time is among the `count` newest distinct times of their key."""
        n = table.num_rows
        codes = column_codes(table, self.key_columns)
        tnum = table.column("time").cast(pa.int64()).to_numpy()
        span = int(codes.max()) + 1
        if self.count == 1 and span <= max(4 * n, 1 << 16):
            # the usual case, in two linear passes: each key's newest time, and the rows at it
            newest = np.full(span, np.iinfo(np.int64).min, dtype=np.int64)
            np.maximum.at(newest, codes, tnum)
            return np.flatnonzero(tnum == newest[codes])
        order = np.lexsort((-tnum, codes))
        sc, st = codes[order], tnum[order]
        new_key = np.r_[True, sc[1:] != sc[:-1]]
        distinct = np.cumsum(new_key | np.r_[True, st[1:] != st[:-1]])
        starts = np.flatnonzero(new_key)
        rank = distinct - np.repeat(distinct[starts], np.diff(np.r_[starts, n]))
        return order[rank < self.count]

    def _merge(self, key: tuple, rows: list[dict]) -> None:
        by_ident = {r["__ident"]: r for r in self.entries.get(key, ())}
        for r in rows:
            old = by_ident.get(r["__ident"])
            by_ident[r["__ident"]] = r if old is None else _merge_rows(old, r)
        merged = sorted(by_ident.values(), key=lambda r: (r["time"], r[SEQ_COLUMN]), reverse=True)
        self.entries[key] = merged[:self.count]

    # ---- getting rows out --------------------------------------------------------------------
    def evict(self, now_ns: int | None = None) -> int:
        """Drop rows older than `ttl` since their write; returns how many went."""
        cutoff = (now_ns or time.time_ns()) - self.ttl_ns
        gone = 0
        with self.lock:
            for key in list(self.entries):
                rows = self.entries[key]
                live = [r for r in rows if r[SEQ_COLUMN] >= cutoff]
                gone += len(rows) - len(live)
                if live:
                    self.entries[key] = live
                else:
                    del self.entries[key]
            if gone:
                self.version += 1
        return gone

    def output_columns(self, table) -> list[str]:
        """Key columns, then value columns (all others alphabetically, or the chosen ones, then time)."""
        if self.value_columns is None:
            values = [c for c in table.column_names_sorted() if c not in self.key_columns]
        else:
            values = [c for c in self.value_columns if c in table.columns] + ["time"]
        return self.key_columns + values

    def to_arrow(self, table, now_ns: int | None = None) -> pa.Table:
        return self.keyed_answer(table, now_ns)[0]

    def keyed_answer(self, table, now_ns: int | None = None) -> tuple[pa.Table, list[tuple]]:
        """The cached rows still within `ttl` as an Arrow table with the catalog's column types.

        With it, the key values of each of its rows (the fast path filters on them).
        """
        self.drain()
        now = now_ns or time.time_ns()
        cutoff = now - self.ttl_ns
        cols = self.output_columns(table)
        types = tuple(table.columns[c].type if c in table.columns else "string" for c in cols)
        built = self._built
        # the dashboard case: the same answer again until a write or an expiry changes it
        if built is not None and built[0] == (self.version, tuple(cols), types) and now < built[1]:
            return built[2], built[3]
        with self.lock:
            version = self.version
            items = list(self.entries.items())
        items.sort(key=lambda kv: tuple((v is None, v) for v in kv[0]))
        out_rows = [r for _, rows in items for r in rows if r[SEQ_COLUMN] >= cutoff]
        fields, arrays = [], []
        for c in cols:
            col = table.columns.get(c)
            typ = output_type(col.type if col is not None else "string")
            values = [r.get(c) for r in out_rows]
            if c == "time":
                arr = pa.array(values, pa.int64()).cast(typ)
            else:
                arr = pa.array(values, typ)
            fields.append(pa.field(c, typ))   # nullable, as the SQL layer's answer over the same rows
            arrays.append(arr)
        out = pa.Table.from_arrays(arrays, schema=pa.schema(fields))
        expires = min((r[SEQ_COLUMN] for r in out_rows), default=now) + self.ttl_ns
        row_keys = [tuple(r.get(k) for k in self.key_columns) for r in out_rows]
        if now_ns is None:   # an answer for another moment (tests) is not kept
            self._built = ((version, tuple(cols), types), expires, out, row_keys)
        return out, row_keys

    @property
    def entry_count(self) -> int:
        return sum(len(rows) for rows in self.entries.values())

    def memory_bytes(self) -> int:
        """A rough size of the cached rows (Python objects), for /metrics."""
        rows = self.entry_count
        width = len(next(iter(self.entries.values()))[0]) if self.entries else 0
        return rows * (232 + 40 * width) + len(self.entries) * 120


def _merge_rows(old: dict, new: dict) -> dict:
    """The table's rule for two writes of one row: per column the non-null value of the newest
    write that set it, each ranked by its own write (`__seqs`), not by its row's newest
    (persist.merge_sql's rule; the merged row keeps the older ranks in its own `__seqs`)."""
    first, second = (old, new) if old[SEQ_COLUMN] <= new[SEQ_COLUMN] else (new, old)
    out, newest, older = dict(first), second[SEQ_COLUMN], {}
    for k in first.keys() | second.keys():
        if k in (SEQ_COLUMN, SEQS_COLUMN, "__ident"):
            continue
        # on a tie the newer row wins, as it did before columns had ranks of their own
        have = [r for r in (second, first) if r.get(k) is not None]
        if have:
            win = max(have, key=lambda r: _rank(r, k))
            out[k] = win[k]
            if _rank(win, k) < newest:
                older[k] = _rank(win, k)
    out[SEQ_COLUMN], out[SEQS_COLUMN] = newest, older or None
    return out


def _rank(row: dict, column: str) -> int:
    """The write order of `column`'s value in a cached row."""
    seqs = row.get(SEQS_COLUMN)
    return seqs.get(column, row[SEQ_COLUMN]) if seqs else row[SEQ_COLUMN]
