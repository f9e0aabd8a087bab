"""The `table_batches` argument of `process_writes` (behaviour reference §6.3, plugins §A.3 item 10).

Owns the conversion of WAL record batches into `[{"table_name": str, "rows": [dict, …]}, …]`:
each row dict holds only the columns present in its line, tags first (in series-key order), then
fields, then `time` (int ns). Every trigger gets its own dicts (plugins change rows in place), and
the rows of a table are built only when the plugin first asks for them, so a trigger that never
looks at the rows costs almost nothing.
"""

from __future__ import annotations

import pyarrow as pa

from ..validator import SEQ_COLUMN


def _rows(table, batches: list[pa.RecordBatch]) -> list[dict]:
    out: list[dict] = []
    for batch in batches:
        names = [n for n in batch.schema.names if n not in (SEQ_COLUMN, "time")]
        tags = [n for n in table.series_key if n in names]
        fields = sorted(n for n in names if n not in tags)
        order = tags + fields
        cols = [batch.column(n) for n in order]
        cols = [c.cast(pa.string()) if pa.types.is_dictionary(c.type) else c for c in cols]
        values = [c.to_pylist() for c in cols] + [batch.column("time").cast(pa.int64()).to_pylist()]
        keys = order + ["time"]
        rows = [dict(zip(keys, vals)) for vals in zip(*values)]  # C-level zips: ~10x a per-cell loop
        for name, col in zip(order, cols):
            if col.null_count:  # a column this line did not have: no key at all, as the real engine
                for row in rows:
                    if row[name] is None:
                        del row[name]
        out += rows
    return out


class TableBatch(dict):
    """`{"table_name", "rows"}` whose rows are built on first access."""

    def __init__(self, table, batches: list[pa.RecordBatch]):
        super().__init__(table_name=table.name)
        self._table, self._batches = table, batches

    def _fill(self) -> None:
        if self._batches is not None:
            dict.__setitem__(self, "rows", _rows(self._table, self._batches))
            self._batches = None

    def __getitem__(self, key):
        if key == "rows":
            self._fill()
        return dict.__getitem__(self, key)

    def get(self, key, default=None):
        if key == "rows":
            self._fill()
        return dict.get(self, key, default)

    def __contains__(self, key):
        return key == "rows" or dict.__contains__(self, key)

    def __iter__(self):
        self._fill()
        return dict.__iter__(self)

    def __len__(self):
        self._fill()
        return dict.__len__(self)

    def keys(self):
        self._fill()
        return dict.keys(self)

    def items(self):
        self._fill()
        return dict.items(self)

    def values(self):
        self._fill()
        return dict.values(self)

    def __repr__(self):
        self._fill()
        return dict.__repr__(self)

    def copy(self):
        self._fill()
        return dict(self)


def table_batches(database, grouped: dict[int, list[pa.RecordBatch]], only_table: str | None = None) -> list:
    """A fresh `table_batches` list for one trigger: `grouped` maps table id -> record batches."""
    out = []
    for table_id, batches in grouped.items():
        table = database.tables.get(table_id)
        if table is None or table.deleted or (only_table is not None and table.name != only_table):
            continue
        out.append(TableBatch(table, batches))
    return out


def parsed_table_batches(parsed) -> list[dict]:
    """`table_batches` for a dry run's `input_lp` (a `lineprotocol.ParseResult`): plain dicts,
    tags in order of first appearance, then fields, then `time`."""
    out = []
    for rows in parsed.tables:
        names = list(rows.tags) + [name for name, _ in rows.fields]
        cols = [a.to_pylist() for a in rows.tags.values()] + [a.to_pylist() for a in rows.fields.values()]
        times = rows.time.to_pylist()
        table_rows = []
        for i, t in enumerate(times):
            row = {}
            for name, vals in zip(names, cols):
                if vals[i] is not None:
                    row[name] = vals[i]
            row["time"] = t
            table_rows.append(row)
        out.append({"table_name": rows.measurement, "rows": table_rows})
    return out
