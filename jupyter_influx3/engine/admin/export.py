"""Export of persisted data by UTC day windows (InfluxDB 3's "export" steps): which databases and
tables have Parquet data, which days ("windows", ``YYYY-MM-DD``) a table has, and each window's
rows as one Parquet file.

A window is a UTC day on which the table has Parquet files; its export holds every row of that
day as a query sees it (deduplicated, row deletes and retention applied, buffered rows of that
day included), with tags as strings and ``time`` as timestamp[ns], so that importing the files
into an empty data directory gives back the same rows.

Owns the window listing and the window files; the tar stream is the HTTP adapter's.
"""

from __future__ import annotations

import io
import json
from datetime import date, datetime, timezone

import pyarrow as pa
import pyarrow.parquet as pq

from ..persist import DAY_NS, quote
from .jobs import AdminError

#: Parquet schema metadata naming the tag columns (imports.py reads it)
TAGS_KEY = "influx3.tags"


def _day(n: int) -> str:
    return datetime.fromtimestamp(n * 86400, tz=timezone.utc).strftime("%Y-%m-%d")


def databases(engine) -> list[str]:
    engine.refresh(force=True)
    have = {f.db for f in engine.index.all()}
    return sorted(d.name for d in engine.catalog.live_databases() if d.id in have)


def _db(engine, db: str):
    engine.refresh(force=True)
    d = engine.catalog.db(db)
    if d is None or d.deleted:
        raise AdminError(404, f"database not found: {db}")
    return d


def tables(engine, db: str) -> list[str]:
    d = _db(engine, db)
    have = {f.table for f in engine.index.all() if f.db == d.id}
    return sorted(t.name for t in d.live_tables() if t.id in have)


def _table(engine, db: str, table: str):
    d = _db(engine, db)
    t = d.table(table)
    if t is None or t.deleted:
        raise AdminError(404, f"table not found: {table}")
    return d, t


def windows(engine, db: str, table: str) -> list[str]:
    d, t = _table(engine, db, table)
    return [_day(n) for n in sorted({f.day for f in engine.index.for_table(d.id, t.id)})]


def parse_windows(text: str | None) -> list[str] | None:
    if text is None or not text.strip():
        return None
    out = []
    for w in text.split(","):
        w = w.strip()
        try:
            date.fromisoformat(w)
        except ValueError:
            raise AdminError(400, f"invalid window {w!r}: expected a UTC date YYYY-MM-DD") from None
        out.append(w)
    return out


def window_files(engine, db: str, table: str, wanted: list[str] | None):
    """(member name, Parquet bytes) per window, ``<table>/<date>/<table>-<date>.parquet``; AdminError
    404 before anything is produced when a window asked for has no data."""
    _, t = _table(engine, db, table)
    have = windows(engine, db, table)
    for w in wanted or []:
        if w not in have:
            raise AdminError(404, f"window not found: {w} (table {table} has {len(have)} windows)")
    days = wanted or have

    def produce():
        for w in days:
            lo = int(datetime.fromisoformat(w).replace(tzinfo=timezone.utc).timestamp()) * 10**9
            rows = engine.sql(db, f"SELECT * FROM {quote(table)} WHERE \"time\" >= to_timestamp_nanos({lo}) "
                                  f"AND \"time\" < to_timestamp_nanos({lo + DAY_NS}) ORDER BY \"time\"")
            schema = pa.schema([pa.field(f.name, pa.timestamp("ns") if f.name == "time" else f.type)
                                for f in rows.schema])
            # which columns are tags: an import of the file needs no column metadata
            rows = rows.cast(schema).replace_schema_metadata({TAGS_KEY: json.dumps(list(t.series_key))})
            buf = io.BytesIO()
            pq.write_table(rows, buf, compression="zstd")
            yield f"{table}/{w}/{table}-{w}.parquet", buf.getvalue()

    return produce()
