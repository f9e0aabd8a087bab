"""Lifecycle of databases and tables: create, retention periods, soft and hard deletes.

Owns the rules of InfluxDB 3's configure endpoints at the engine level (§3): names, field type
names, `hard_delete_at` (`now`, `never`, `default` = +72h, RFC 3339, a past time meaning now),
humantime retention periods, soft delete by renaming to `name-YYYYMMDDTHHMMSS`, `data_only`
deletes (rows hidden by a truncation sequence, schema kept).

Does not remove files itself: the engine's maintenance pass purges what these decisions expire.
"""

from __future__ import annotations

import time
from datetime import datetime, timezone

import pyarrow as pa

from . import errors
from .catalog import INTERNAL_DB, Catalog, deleted_name, parse_duration

DEFAULT_HARD_DELETE_NS = 72 * 3600 * 10**9
FIELD_TYPE_NAMES = {"utf8": "string", "int64": "int", "uint64": "uint", "float64": "float", "bool": "bool"}


def parse_retention(text: str | None) -> int | None:
    if text is None or text == "":
        return None
    try:
        return parse_duration(text)
    except ValueError as e:
        raise errors.InvalidDuration(str(e)) from None


def parse_hard_delete_at(value: str | None, now_ns: int) -> int | None:
    """ns since epoch of the hard delete, or None for never."""
    if value is None or value == "default":
        return now_ns + DEFAULT_HARD_DELETE_NS
    if value == "never":
        return None
    if value == "now":
        return now_ns
    try:
        at = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise errors.InvalidTimestamp(f"Cannot parse the timestamp: {value}") from None
    if at.tzinfo is None:
        at = at.replace(tzinfo=timezone.utc)
    return max(now_ns, int(at.timestamp()) * 10**9 + at.microsecond * 1000)


def _live_db(cat: Catalog, name: str):
    d = cat.db(name)
    if d is None:
        raise errors.NotFound(f"the requested resource was not found: {name}")
    if d.deleted:
        raise errors.AlreadyDeleted(f"attempted to modify resource that was already deleted: {name}")
    return d


def live_table(cat: Catalog, db: str, table: str):
    """The live database and table `db`.`table`, or NotFound in the API's words."""
    d = cat.db(db)
    if d is None or d.deleted:
        raise errors.NotFound(f"the requested resource was not found: {db}")
    t = d.table(table)
    if t is None or t.deleted:
        raise errors.NotFound(f"the requested resource was not found: {table}")
    return d, t


def create_database(cat: Catalog, name: str, retention_period: str | None = None) -> None:
    cat.create_database(name, parse_retention(retention_period))


def set_database_retention(cat: Catalog, name: str, retention_period: str | None) -> None:
    ns = parse_retention(retention_period)

    def ops(c: Catalog):
        d = _live_db(c, name)
        if d.name == INTERNAL_DB:
            raise errors.CannotModifyInternalDatabase("cannot modify internal db")
        return [{"op": "set_db_retention", "db": d.id, "retention_ns": ns}]

    cat.transact(ops)


def list_databases(cat: Catalog, show_deleted: bool = False) -> pa.Table:
    dbs = [d for d in cat.databases.values() if show_deleted or not d.deleted]
    dbs.sort(key=lambda d: (d.deleted, d.name))
    cols = {"iox::database": pa.array([d.name for d in dbs], pa.string())}
    if show_deleted:
        cols["deleted"] = pa.array([d.deleted for d in dbs], pa.bool_())
    return pa.table(cols)


def delete_database(cat: Catalog, name: str, hard_delete_at: str | None = "default", *,
                    data_only: bool = False, remove_tables: bool = False) -> str:
    """Soft-delete (rename) a database, or with `data_only` hide its rows; returns its name now."""
    now = time.time_ns()
    at = parse_hard_delete_at(hard_delete_at, now)
    if not data_only:
        return cat.delete_database(name, hard_delete_at=at, now_ns=now)

    def ops(c: Catalog):
        d = _live_db(c, name)
        if d.name == INTERNAL_DB:
            raise errors.CannotModifyInternalDatabase("cannot delete internal db")
        out = []
        for t in d.live_tables():
            if remove_tables:
                out.append({"op": "delete_table", "db": d.id, "table": t.id,
                            "new_name": deleted_name(t.name, now), "hard_delete_at": now})
            else:
                out.append({"op": "truncate_table", "db": d.id, "table": t.id, "seq": now})
        return out

    cat.transact(ops)
    return name


def create_table(cat: Catalog, db: str, table: str, tags: list[str], fields: list[tuple[str, str]],
                 retention_period: str | None = None) -> None:
    typed = []
    for name, typ in fields:
        if typ not in FIELD_TYPE_NAMES:
            raise errors.InvalidConfiguration(
                f"invalid field type {typ!r}: expected one of utf8, int64, uint64, float64, bool")
        typed.append((name, FIELD_TYPE_NAMES[typ]))
    cat.create_table(db, table, tags, typed, parse_retention(retention_period))


def set_table_retention(cat: Catalog, db: str, table: str, retention_period: str | None) -> None:
    ns = parse_retention(retention_period)

    def ops(c: Catalog):
        d, t = live_table(c, db, table)
        return [{"op": "set_table_retention", "db": d.id, "table": t.id, "retention_ns": ns}]

    cat.transact(ops)


def delete_table(cat: Catalog, db: str, table: str, hard_delete_at: str | None = "default", *,
                 data_only: bool = False) -> str:
    now = time.time_ns()
    at = parse_hard_delete_at(hard_delete_at, now)

    def ops(c: Catalog):
        d, t = live_table(c, db, table)
        if data_only:
            return [{"op": "truncate_table", "db": d.id, "table": t.id, "seq": now}]
        return [{"op": "delete_table", "db": d.id, "table": t.id, "new_name": deleted_name(t.name, now),
                 "hard_delete_at": at}]

    done = cat.transact(ops)
    return done[0].get("new_name", table)


def expired(cat: Catalog, now_ns: int) -> tuple[list[int], list[tuple[int, int]]]:
    """Databases and tables whose hard-delete time has come: (db ids, (db id, table id))."""
    dbs = [d.id for d in cat.databases.values()
           if d.deleted and d.hard_delete_at is not None and d.hard_delete_at <= now_ns]
    tables = [(d.id, t.id) for d in cat.databases.values() if d.id not in dbs
              for t in d.tables.values()
              if t.deleted and t.hard_delete_at is not None and t.hard_delete_at <= now_ns]
    return dbs, tables


def retention_cutoff(cat: Catalog, db_id: int, table_id: int, now_ns: int) -> int | None:
    """Rows with time < cutoff are past retention (table's period, else its database's)."""
    d = cat.db_by_id(db_id)
    if d is None:
        return None
    t = d.tables.get(table_id)
    period = t.retention_ns if t is not None and t.retention_ns is not None else d.retention_ns
    return None if period is None else now_ns - period
