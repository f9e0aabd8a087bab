"""The file index: the string columns (tags or string fields) of a database, or of one table, that
compaction lays its files out by, so an equality lookup on them skips files' row groups.

InfluxDB 3 keeps this configuration in its catalog and builds indexes during compaction; so do we.
A compacted file of a table with an index is sorted by the indexed columns first (then the tags,
then time) and written in row groups of `ROW_GROUP_ROWS`, so each row group's Parquet statistics
(min/max) of an indexed column are narrow and DuckDB skips the row groups a ``col = 'v'`` cannot
match (the query telemetry's bytes read show it). A table-level index replaces the database-level
one; deleting returns to the default layout (tags, then time) at the next compaction.

Owns the catalog records (``set_file_index`` / ``delete_file_index``, keyed ``"<db_id>"`` or
``"<db_id>/<table_id>"``), the rules, and the layout compaction uses.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from .jobs import AdminError

ROW_GROUP_ROWS = 65_536


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
