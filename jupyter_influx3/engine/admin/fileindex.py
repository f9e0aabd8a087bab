"""The file index: the string columns (tags or string fields) of a database, or of one table, that
compaction lays its files out by, so an equality lookup on them skips files and row groups.

InfluxDB 3 keeps this configuration in its catalog and builds indexes during compaction; so do we.
Compaction of a table with an index sorts a day's rows by the indexed columns first (then the tags,
then time), cuts them into files of at most `FILE_ROWS` rows where the first indexed tag changes
value, and writes row groups of `ROW_GROUP_ROWS`. Each file's metadata (persist.FileMeta.index)
keeps, per indexed column, [min, max, has_null] of the file and of each row group. A query with
``tag = 'v'`` or ``tag IN (...)`` on an indexed tag reads only the files whose range admits a value
(engine/sql/sources.py), and DuckDB skips the row groups whose Parquet statistics do not (the
telemetry counts both). A table-level index replaces the database-level one; deleting returns to
the default layout (tags, then time) at the next compaction.

Owns the catalog records (``set_file_index`` / ``delete_file_index``, keyed ``"<db_id>"`` or
``"<db_id>/<table_id>"``), the rules, the layout compaction uses, and what a file's index entry
admits. Does not decide when to compact (the engine does) nor read queries (the SQL layer does).
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from .jobs import AdminError

ROW_GROUP_ROWS = 65_536
#: rows of one file of an indexed compaction: a lookup reads a few such files of a day, not the day
FILE_ROWS = 4 * ROW_GROUP_ROWS
#: longer min/max values are not kept (they would bloat every manifest): such a column is not indexed
MAX_VALUE_CHARS = 256


def _key(db_id: int, table_id: int | None) -> str:
    return str(db_id) if table_id is None else f"{db_id}/{table_id}"


def columns_for(catalog, db_id: int, table_id: int) -> list[str]:
    idx = catalog.file_indexes
    return idx.get(_key(db_id, table_id)) or idx.get(_key(db_id, None)) or []


def create(engine, db: str, table: str | None, columns: list[str]) -> dict:
    if not columns or not all(isinstance(c, str) and c for c in columns) or len(set(columns)) != len(columns):
        raise AdminError(400, "columns must be a non-empty list of distinct column names")

    def ops(c):
        d = c.db(db)
        if d is None or d.deleted:
            raise AdminError(404, f"database not found: {db}")
        tables = d.live_tables()
        if table is not None:
            t = d.table(table)
            if t is None or t.deleted:
                raise AdminError(404, f"table not found: {table}")
            tables = [t]
        for t in tables if table is not None else []:
            for col in columns:
                kind = t.columns.get(col)
                if kind is None or kind.type not in ("tag", "string"):
                    raise AdminError(400, f"column {col!r} of {t.name} is not a tag or string field")
        return [{"op": "set_file_index", "key": _key(d.id, None if table is None else tables[0].id),
                 "columns": list(columns)}]

    done = engine.catalog.transact(ops)
    return {"db": db, "table": table, "columns": done[0]["columns"]}


def delete(engine, db: str, table: str | None) -> None:
    def ops(c):
        d = c.db(db)
        if d is None or d.deleted:
            raise AdminError(404, f"database not found: {db}")
        key = _key(d.id, None)
        if table is not None:
            t = d.table(table)
            if t is None or t.deleted:
                raise AdminError(404, f"table not found: {table}")
            key = _key(d.id, t.id)
        if key not in c.file_indexes:
            raise AdminError(404, f"no file index on {db if table is None else f'{db}.{table}'}")
        return [{"op": "delete_file_index", "key": key}]

    engine.catalog.transact(ops)


def layout(t: pa.Table, columns: list[str]) -> pa.Table:
    """Rows sorted by the indexed columns present, then the tags (the default order), then time."""
    cols = [c for c in columns if c in t.column_names]
    if not cols:
        return t
    keys = []
    for c in reversed(cols):
        col = t.column(c)
        col = col.cast(pa.string()) if pa.types.is_dictionary(col.type) else col
        keys.append(pc.rank(col.combine_chunks(), sort_keys="ascending", tiebreaker="dense").to_numpy())
    position = np.arange(t.num_rows)           # the default order breaks ties (stable)
    order = np.lexsort([position, *keys])
    return t.take(pa.array(order))


class Pieces:
    """How persist.write_parquet cuts and describes the files of an indexed compaction (rows already
    in `layout` order)."""

    def __init__(self, columns: list[str], file_rows: int | None = None):
        self.columns, self.file_rows = list(columns), file_rows or FILE_ROWS

    def split(self, t: pa.Table) -> list[pa.Table]:
        """Pieces of at most `file_rows` rows, cut where the first indexed tag changes value (a value
        with more rows than that spans pieces). Only a tag: pieces whose tag ranges are disjoint hold
        different series, so a query need not deduplicate across them."""
        first = next((c for c in self.columns if c in t.column_names
                      and pa.types.is_dictionary(t.schema.field(c).type)), None)
        n = t.num_rows
        if first is None or n <= self.file_rows:
            return [t]
        t = t.unify_dictionaries()   # one dictionary: equal values have equal codes
        idx = t.column(first).combine_chunks().indices
        codes = pc.fill_null(idx, -1).to_numpy(zero_copy_only=False)
        changes = np.flatnonzero(codes[1:] != codes[:-1]) + 1   # a new value starts here (sorted rows)
        cuts, start = [0], 0
        while n - start > self.file_rows:
            end = start + self.file_rows
            i = np.searchsorted(changes, end, side="right") - 1
            start = int(changes[i]) if i >= 0 and changes[i] > start else end
            cuts.append(start)
        cuts.append(n)
        return [t.slice(a, b - a) for a, b in zip(cuts, cuts[1:])]

    def describe(self, t: pa.Table, row_group_rows: int) -> dict:
        """{column: {"file": [min, max, has_null], "groups": [[min, max, has_null], ...]}}."""
        out = {}
        for c in self.columns:
            if c not in t.column_names:
                continue
            col = t.column(c).combine_chunks()
            if pa.types.is_dictionary(col.type):
                col = col.cast(pa.string())
            if not (pa.types.is_string(col.type) or pa.types.is_large_string(col.type)):
                continue
            groups = [_range(col.slice(i, row_group_rows)) for i in range(0, len(col), row_group_rows)]
            whole = _range(col)
            if any(v is not None and len(v) > MAX_VALUE_CHARS for r in [whole, *groups] for v in r[:2]):
                continue
            out[c] = {"file": whole, "groups": groups}
        return out


def _range(col: pa.Array) -> list:
    mm = pc.min_max(col)
    return [mm["min"].as_py(), mm["max"].as_py(), col.null_count > 0]


def admits(r: list | None, values) -> bool:
    """Whether a [min, max, has_null] range may hold one of `values` (None: unknown, so yes)."""
    if r is None:
        return True
    lo, hi = r[0], r[1]
    return lo is not None and any(lo <= v <= hi for v in values)


def disjoint(a: list | None, b: list | None) -> bool:
    """Whether two ranges of a tag surely share no value (a null is a value of the series key)."""
    if a is None or b is None or a[2] or b[2] or a[0] is None or b[0] is None:
        return False
    return a[1] < b[0] or b[1] < a[0]
