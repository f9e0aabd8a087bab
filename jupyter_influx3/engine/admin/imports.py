"""Bulk Parquet import: a Parquet file becomes rows of an existing table, written straight to
the table's Parquet store (not through line protocol and the WAL), and queryable as soon as the
job says ``imported`` (InfluxDB 3 waits for compaction).

Column metadata maps a column to ``tag``, ``time``, ``i64``, ``u64``, ``f64``, ``bool`` or
``string``; unmapped columns become fields of their Parquet type; the time column is the mapped
one, else one named ``time`` (a timestamp, or integers in ns). A column the table already has
must keep its type; new columns are added to the catalog first, like a write does. Rows are
deduplicated on (tags, time) with the file's later rows winning, given write sequences after
every write acknowledged before the import, and published in one manifest.

Job records: `<data-dir>/admin/imports/<upload_uuid>.json` (the spec's UploadedImportInfo).
Owns the mapping rules and the job records; does not parse multipart bodies (the HTTP adapter).
"""

from __future__ import annotations

import json
import time
import uuid

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from .. import persist
from ..validator import SEQ_COLUMN, TAG_TYPE, TIME_TYPE
from . import jobs
from .jobs import AdminError

COLUMN_TYPES = {"tag": "tag", "time": "time", "i64": "int", "u64": "uint", "f64": "float", "bool": "bool",
                "string": "string"}
_ARROW = {"int": pa.int64(), "uint": pa.uint64(), "float": pa.float64(), "bool": pa.bool_(), "string": pa.string()}


def _kind_of(t: pa.DataType) -> str | None:
    if pa.types.is_dictionary(t):
        t = t.value_type
    if pa.types.is_floating(t):
        return "float"
    if pa.types.is_unsigned_integer(t):
        return "uint"
    if pa.types.is_integer(t):
        return "int"
    if pa.types.is_boolean(t):
        return "bool"
    if pa.types.is_string(t) or pa.types.is_large_string(t):
        return "string"
    return None


def parse_mapping(metadata) -> dict[str, str]:
    """``{"column_mapping"|"schema"|"column_metadata": {col: type}}`` (or the bare map) -> {col: kind}."""
    if metadata is None:
        return {}
    if isinstance(metadata, (str, bytes)):
        try:
            metadata = json.loads(metadata)
        except json.JSONDecodeError as exc:
            raise AdminError(400, f"invalid column_metadata: {exc}") from None
    if not isinstance(metadata, dict):
        raise AdminError(400, "invalid column_metadata: expected a JSON object")
    for key in ("column_mapping", "schema", "column_metadata"):
        if isinstance(metadata.get(key), dict):
            metadata = metadata[key]
            break
    out = {}
    for col, typ in metadata.items():
        if typ not in COLUMN_TYPES:
            raise AdminError(400, f"invalid column_metadata: {col!r} has type {typ!r}, expected one of "
                                  + ", ".join(COLUMN_TYPES))
        out[col] = COLUMN_TYPES[typ]
    if list(out.values()).count("time") > 1:
        raise AdminError(400, "invalid column_metadata: more than one time column")
    return out


def _read(data: bytes) -> pa.Table:
    try:
        t = pq.read_table(pa.BufferReader(data))    # zero-copy: BytesIO reads through Python (3x slower)
    except Exception as exc:  # noqa: BLE001 - whatever pyarrow says, the file is not usable Parquet
        raise AdminError(400, f"invalid Parquet file: {exc}") from None
    if t.num_rows == 0:
        raise AdminError(400, "the Parquet file has no rows")
    return t


def _time_column(t: pa.Table, name: str) -> pa.Array:
    col = t.column(name).combine_chunks()
    if pa.types.is_timestamp(col.type):
        return col.cast(TIME_TYPE)
    if pa.types.is_integer(col.type):
        return col.cast(pa.int64()).cast(TIME_TYPE)
    raise AdminError(400, f"time column {name!r} must be a timestamp or integer nanoseconds, not {col.type}")


def convert(t: pa.Table, mapping: dict[str, str], table_schema) -> tuple[pa.Table, list[tuple[str, str]]]:
    """The rows in the engine's physical types, and the columns (name, kind) it needs; 400s."""
    for col in mapping:
        if col not in t.column_names:
            raise AdminError(400, f"column_metadata names {col!r}, which the Parquet file does not have")
    time_col = next((c for c, k in mapping.items() if k == "time"), "time" if "time" in t.column_names else None)
    if time_col is None:
        raise AdminError(400, "the Parquet file has no time column (name one with column_metadata: {\"col\": \"time\"})")
    arrays, names, kinds = [], [], []
    meta = (t.schema.metadata or {}).get(b"influx3.tags")     # written by export.py
    exported_tags = set(json.loads(meta)) if meta else set()
    for name in t.column_names:
        if name == time_col or name == SEQ_COLUMN or name.startswith("__"):
            continue   # an export's write sequences are not carried over (the import gives new ones)
        have = table_schema.columns.get(name)
        want = mapping.get(name) or ("tag" if name in exported_tags else None) or \
            (have.type if have is not None else None) or _kind_of(t.schema.field(name).type)
        if want is None:
            raise AdminError(400, f"column {name!r} has type {t.schema.field(name).type}, which no InfluxDB "
                                  "column type holds (map it with column_metadata)")
        if have is not None and have.type != want:
            raise AdminError(400, f"column {name!r} is a {have.type} in the table, not a {want}")
        col = t.column(name).combine_chunks()
        if pa.types.is_dictionary(col.type):
            col = col.cast(col.type.value_type)
        try:
            if want == "tag":
                if _kind_of(col.type) != "string":
                    raise AdminError(400, f"tag column {name!r} must hold strings, not {col.type}")
                col = pc.dictionary_encode(col.cast(pa.string())).cast(TAG_TYPE)
            else:
                if want == "string" and _kind_of(col.type) != "string" or \
                        want != "string" and _kind_of(col.type) == "string":
                    raise AdminError(400, f"column {name!r} holds {col.type}, which is not {want}")
                col = col.cast(_ARROW[want])
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
            raise AdminError(400, f"column {name!r} cannot be read as {want}: {exc}") from None
        arrays.append(col)
        names.append(name)
        kinds.append((name, want))
    times = _time_column(t, time_col)
    if times.null_count:
        raise AdminError(400, f"time column {time_col!r} has null values")
    out = pa.Table.from_arrays(arrays + [times], names=names + ["time"])
    return out, kinds


def run(engine, db: str, table: str, data: bytes, metadata=None, filename: str | None = None) -> dict:
    """Import one Parquet file (see the module docstring); returns its UploadedImportInfo."""
    cat = engine.catalog
    cat.refresh()
    d = cat.db(db)
    if d is None or d.deleted:
        raise AdminError(404, f"database not found: {db}")
    tbl = d.table(table)
    if tbl is None or tbl.deleted:
        raise AdminError(404, f"table not found: {table}")
    mapping = parse_mapping(metadata)
    created = time.time_ns()
    rid = str(uuid.uuid4())
    src = _read(data)
    rows, kinds = convert(src, mapping, tbl)
    info = {"upload_uuid": rid, "db_id": d.id, "table_id": tbl.id, "database": db, "table": table,
            "filename": filename or f"{rid}.parquet", "status": "imported", "last_message": None,
            "created_at": created, "started_at": created, "column_metadata": {"column_mapping": mapping},
            "iox_parquet": False, "size_bytes": len(data), "row_count": src.num_rows}

    def ops(c):
        dd = c.db_by_id(d.id)
        t = dd.tables.get(tbl.id) if dd else None
        if t is None or t.deleted:
            raise AdminError(404, f"table not found: {table}")
        out, next_id = [], t.next_column_id
        for name, kind in kinds:
            col = t.columns.get(name)
            if col is None:
                out.append({"op": "add_column", "db": d.id, "table": tbl.id, "id": next_id, "name": name,
                            "type": kind})
                next_id += 1
            elif col.type != kind:
                raise AdminError(400, f"column {name!r} is a {col.type} in the table, not a {kind}")
        return out

    cat.transact(ops)
    with engine._write_lock:   # write sequences after every write acknowledged so far
        seq0 = max(engine._seq + 1, time.time_ns())
        engine._seq = seq0 + rows.num_rows - 1
    rows = rows.append_column(SEQ_COLUMN, pa.array(np.arange(seq0, seq0 + rows.num_rows, dtype=np.int64)))
    # (tags, time) never repeat across days: each day is sorted and deduplicated in a writer thread
    added = persist.write_parquet(engine.data_dir, engine.node_id, d.id, tbl.id, rows, f"i-{rid[:8]}",
                                  prepare=lambda part: persist.dedup_sort(None, part))
    engine._publish(added, [], grace_s=0)
    for batch in rows.to_batches():    # the caches see the rows in write order, as they see writes
        engine.caches.feed(d.id, tbl.id, batch)
    times = rows.column("time").cast(pa.int64())
    info.update(completed_at=time.time_ns(), last_updated_at=time.time_ns(),
                min_timestamp_ns=pc.min(times).as_py(), max_timestamp_ns=pc.max(times).as_py(),
                rows_imported=sum(f.rows for f in added), files=len(added))
    _save(engine, info)
    return info


def fail(engine, db: str, table: str, message: str, filename: str | None, size: int) -> None:
    """Keep a record of a refused upload, so `list` shows it next to the imported ones."""
    now = time.time_ns()
    _save(engine, {"upload_uuid": str(uuid.uuid4()), "database": db, "table": table, "filename": filename,
                   "status": "failed", "last_message": message, "created_at": now, "last_updated_at": now,
                   "size_bytes": size})


def _dir(engine):
    return engine.data_dir / "admin" / "imports"


def _save(engine, info: dict) -> None:
    d = _dir(engine)
    d.mkdir(parents=True, exist_ok=True)
    jobs.write(d / f"{info['upload_uuid']}.json", info)


def listing(engine, database: str | None = None) -> list[dict]:
    d = _dir(engine)
    out = [jobs.read(p) for p in d.glob("*.json")] if d.exists() else []
    out = [r for r in out if r and (database is None or r.get("database") == database)]
    return sorted(out, key=lambda r: r["created_at"])
