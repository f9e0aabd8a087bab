"""Schema-on-write: turns parsed line protocol into typed record batches against the catalog.

Owns the per-line schema rules of InfluxDB 3 (§1.5): tables and columns are created on first
write, a value of another type than its column is a line error with InfluxDB's message, `time` is
reserved, and the table/column limits reject the lines that would break them. It computes the
catalog ops a write needs (committed by the caller inside one catalog transaction) and then builds
the batches for the lines that passed.

Does not parse text, write the WAL or touch the buffer.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from . import errors
from .catalog import IOX_TYPE_NAMES, Catalog, Table, reserved_column
from .lineprotocol import TAG_ARROW_TYPE, LineError, ParseResult, TableRows

ARROW_TYPES = {
    "float": pa.float64(), "int": pa.int64(), "uint": pa.uint64(), "string": pa.string(),
    "bool": pa.bool_(),
}
TAG_TYPE = TAG_ARROW_TYPE   # a tag column is stored as the parser makes it
TIME_TYPE = pa.timestamp("ns")
SEQ_COLUMN = "__seq"   # each row's write order; a reserved column name (catalog.RESERVED_COLUMNS)
#: in a row merged from several writes (persist.dedup_sort), the write order of each column whose
#: value came from an older write than the row's `__seq` (MAP<string, int64>; null in other rows),
#: so the merge of that row with another node's rows still ranks every column by its own write.
#: Reserved too; no reader shows it.
SEQS_COLUMN = "__seqs"


@dataclass
class TablePlan:
    rows: TableRows
    table_id: int | None = None       # None until the table exists (assigned by the ops)
    tags: list[str] = field(default_factory=list)                 # admitted tag columns
    fields: dict[str, str] = field(default_factory=dict)          # admitted field name -> type
    bad: np.ndarray | None = None                                 # bool mask of rejected rows
    messages: dict[int, str] = field(default_factory=dict)        # row index -> first error


@dataclass
class Plan:
    db_id: int
    tables: list[TablePlan]
    errors: list[LineError]
    ops: list[dict]


def _first_row(arr: pa.Array) -> int:
    """Index of the first non-null value (or len if none)."""
    if arr.null_count == 0:
        return 0  # (the usual column: no Arrow kernel call)
    valid = arr.is_valid()
    idx = pc.index(valid, True).as_py()
    return len(arr) if idx is None or idx < 0 else idx


def _present(arr: pa.Array) -> np.ndarray:
    """Bool mask of the rows where ``arr`` has a value."""
    return np.asarray(arr.is_valid().to_numpy(zero_copy_only=False))


def _reject(tp: TablePlan, mask: np.ndarray, message: str) -> None:
    for i in np.flatnonzero(mask & ~tp.bad):
        tp.messages.setdefault(int(i), message)
    tp.bad |= mask


def plan_write(cat: Catalog, db_name: str, parsed: ParseResult) -> Plan:
    """Decide, against the catalog as it is now, which ops a write needs and which lines fail.

    Pure with respect to the catalog (it is called inside `Catalog.transact`, maybe more than once).
    """
    ops: list[dict] = []
    d = cat.db(db_name)
    if d is not None and d.deleted:
        d = None
    if d is None:
        dead = [x for x in cat.databases.values() if x.deleted and x.name == db_name]
        if dead:
            raise errors.WriteToDeletedDatabase(
                f"cannot write to soft-deleted database '{db_name}' - it is marked for deletion")
        cat.check_database_limit()
        db_id = cat.next_db_id
        ops.append({"op": "create_db", "id": db_id, "name": db_name})
    else:
        db_id = d.id
    next_table_id = cat.next_table_id
    tables_total = cat.counted_table_total()
    limits = cat.limits
    plans: list[TablePlan] = []
    for rows in parsed.tables:
        tp = TablePlan(rows, bad=np.zeros(rows.num_rows, dtype=bool))
        plans.append(tp)
        table: Table | None = d.table(rows.measurement) if d is not None else None
        if table is not None and table.deleted:
            table = None
        if table is None:
            if tables_total + 1 > limits.max_tables:
                _reject(tp, np.ones(rows.num_rows, dtype=bool),
                        "Update to schema would exceed number of tables limit: attempted to create table "
                        f"but already have {tables_total} table(s) (limit: {limits.max_tables})")
                continue
            tables_total += 1
            tp.table_id = next_table_id
            next_table_id += 1
            ops.append({"op": "create_table", "db": db_id, "id": tp.table_id, "name": rows.measurement})
            existing: dict[str, str] = {"time": "time"}
            next_col, n_user, n_tags = 0, 0, 0
        else:
            tp.table_id = table.id
            existing = {c.name: c.type for c in table.columns.values()}
            next_col, n_user = table.next_column_id, table.user_column_count
            n_tags = len(table.series_key)
        _plan_columns(tp, existing, db_id, next_col, n_user, n_tags, limits, ops)
    errs = list(parsed.errors)
    for tp in plans:
        ln = tp.rows.line_numbers
        for i, msg in tp.messages.items():
            n = int(ln[i])
            errs.append(LineError(n, msg, parsed.line_text(n)))
    errs.sort(key=lambda e: e.line_number)
    return Plan(db_id, plans, errs, ops)


def _plan_columns(tp: TablePlan, existing: dict[str, str], db_id: int, next_col: int, n_user: int,
                  n_tags: int, limits, ops: list[dict]) -> None:
    rows = tp.rows
    # Candidate (name, kind) in the order InfluxDB meets them on a line: tags, then fields;
    # across lines, by the first row that carries them.
    candidates = [(_first_row(a), 0, name, "tag", a) for name, a in rows.tags.items()]
    candidates += [(_first_row(a), 1, name, typ, a) for (name, typ), a in rows.fields.items()]
    candidates.sort(key=lambda c: (c[0], c[1]))
    new_cols: list[tuple[str, str]] = []
    for _, _, name, typ, arr in candidates:
        have = existing.get(name)
        if have is None and reserved_column(name):
            _reject(tp, _present(arr), f"'{name}' is a reserved column")
            continue
        if have is None:
            is_tag = typ == "tag"
            if n_user + 1 > limits.max_columns_per_table:
                _reject(tp, _present(arr), "Update to schema would exceed number of columns per table limit "
                                     f"of {limits.max_columns_per_table} columns")
                continue
            if is_tag and n_tags + 1 > limits.max_tag_columns:
                _reject(tp, _present(arr), "Update to schema would exceed number of tag columns per table limit "
                                     f"of {limits.max_tag_columns} columns")
                continue
            existing[name] = typ
            n_user += 1
            n_tags += is_tag
            new_cols.append((name, typ))
            have = typ
        if have != typ:
            _reject(tp, _present(arr), f"invalid column type for column '{name}', expected "
                                 f"{IOX_TYPE_NAMES[have]}, got {IOX_TYPE_NAMES[typ]}")
            continue
        if typ == "tag":
            tp.tags.append(name)
        else:
            tp.fields[name] = typ
    for name, typ in new_cols:
        ops.append({"op": "add_column", "db": db_id, "table": tp.table_id, "id": next_col,
                    "name": name, "type": typ})
        next_col += 1


def build_batch(tp: TablePlan, seq0: int) -> pa.RecordBatch | None:
    """The accepted rows of one table as a batch: tags dictionary-encoded, `time`, fields, `__seq`."""
    rows = tp.rows
    good = ~tp.bad
    n = int(good.sum())
    if n == 0:
        return None
    take = None if n == rows.num_rows else pa.array(np.flatnonzero(good))

    def pick(a: pa.Array) -> pa.Array:
        return a if take is None else a.take(take)

    names, arrays = [], []
    for name in tp.tags:
        names.append(name)
        tag = rows.tags[name]   # dictionary-encoded by the parser, each value once
        if take is not None:    # (keep only values some accepted row has)
            tag = pc.dictionary_encode(tag.take(take).dictionary_decode())
        arrays.append(tag.cast(TAG_TYPE))
    for name, typ in tp.fields.items():
        names.append(name)
        arrays.append(pick(rows.fields[(name, typ)]).cast(ARROW_TYPES[typ]))
    names.append("time")
    arrays.append(pick(rows.time).cast(pa.int64()).view(TIME_TYPE))
    names.append(SEQ_COLUMN)
    arrays.append(pa.array(np.arange(seq0, seq0 + n, dtype=np.int64)))
    order = sorted(range(len(names)), key=lambda i: names[i])
    return pa.RecordBatch.from_arrays([arrays[i] for i in order], names=[names[i] for i in order])


def accepted_lines(plan: Plan) -> int:
    return sum(int((~tp.bad).sum()) for tp in plan.tables)
