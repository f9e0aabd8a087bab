"""Row-delete requests: rows of one table in a time range whose tags equal given values.

A request is a catalog record (``create_row_delete``), so every node sees it with its next
catalog refresh, and it applies to the rows written before it (``__seq <= at_seq``); rows written
later are kept. Better than InfluxDB 3: the matching rows disappear from every read at once (SQL
views in sql/sources.py, the InfluxQL series cache built from them, last-value and distinct-value
caches refilled), not after compaction, and buffered rows are dropped when they are persisted.
The Parquet files holding them are rewritten under the maintenance lease (`apply_pending`, run
by the node's maintenance loop); the request is then ``completed``. A ``pending`` request can be
aborted: its rows come back.

Predicates: tag equality only (``region = 'us-west'``, ``"host" = "a"``), joined by AND; OR, NOT,
IN, other operators and field or unknown columns are refused (400). Time: ``min_time`` inclusive,
``max_time`` exclusive, or ``all_time``; one of them is required.

Owns the request rules, the predicate grammar, and the filters the read and write paths use.
"""

from __future__ import annotations

import re
import time
import uuid

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from .. import persist
from ..validator import SEQ_COLUMN
from .jobs import AdminError

MAX_PENDING = 1000
MIN_NS, MAX_NS = -(2**63), 2**63 - 1
PENDING, COMPLETED, ABORTED = "pending", "completed", "aborted"

_TERM = re.compile(r"""\s*(?:"((?:[^"]|"")+)"|([A-Za-z_][A-Za-z0-9_.-]*))\s*=\s*(?:'((?:[^']|'')*)'|"((?:[^"]|"")*)")\s*""")
_AND = re.compile(r"\s*AND\s*", re.I)


def parse_predicate(text: str | None) -> list[list[str]]:
    """``tag = 'value' AND …`` as [[tag, value], …]; AdminError 400 for anything else."""
    if text is None or not text.strip():
        return []
    out, pos = [], 0
    while True:
        m = _TERM.match(text, pos)
        if not m:
            raise AdminError(400, f"invalid delete predicate {text!r}: only tag = 'value' terms joined by AND "
                                  "are supported (no OR, NOT, IN or other operators)")
        tag = m.group(1).replace('""', '"') if m.group(1) is not None else m.group(2)
        value = m.group(3).replace("''", "'") if m.group(3) is not None else m.group(4).replace('""', '"')
        out.append([tag, value])
        pos = m.end()
        if pos == len(text):
            return out
        a = _AND.match(text, pos)
        if not a or a.end() == len(text):
            raise AdminError(400, f"invalid delete predicate {text!r}: terms must be joined by AND")
        pos = a.end()


def predicate_text(terms: list[list[str]]) -> str:
    return " AND ".join(f"{tag} = '{value.replace(chr(39), chr(39) * 2)}'" for tag, value in terms)


def _time(value, name: str) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise AdminError(400, f"{name} must be an integer timestamp in nanoseconds")
    return value


def create(engine, db: str, table: str, *, min_time=None, max_time=None, all_time: bool = False,
           predicate: str | None = None) -> dict:
    """Accept a row-delete request; returns it (DeleteRequestResponse) in state ``pending``."""
    if not db or not table:
        raise AdminError(400, "db and table are required")
    lo, hi = _time(min_time, "min_time"), _time(max_time, "max_time")
    if lo is None and hi is None and not all_time:
        raise AdminError(400, "a time scope is required: min_time (inclusive) and/or max_time (exclusive), "
                              "or all_time=true")
    if all_time and (lo is not None or hi is not None):
        raise AdminError(400, "all_time cannot be combined with min_time or max_time")
    lo = MIN_NS if lo is None else lo
    hi = MAX_NS if hi is None else hi
    if lo >= hi:
        raise AdminError(400, "min_time must be lower than max_time")
    terms = parse_predicate(predicate)
    cat = engine.catalog

    def ops(c):
        d = c.db(db)
        if d is None or d.deleted:
            raise AdminError(404, f"database not found: {db}")
        t = d.table(table)
        if t is None or t.deleted:
            raise AdminError(404, f"table not found: {table}")
        for tag, _ in terms:
            kind = t.columns.get(tag)
            if kind is None or kind.type != "tag":
                raise AdminError(400, f"invalid delete predicate: {tag!r} is not a tag of {table} "
                                      "(only tag equality is supported)")
        if sum(1 for r in c.row_deletes.values() if r["disposition"] == PENDING) >= MAX_PENDING:
            raise AdminError(409, f"too many pending row-delete requests (at most {MAX_PENDING})")
        return [{"op": "create_row_delete", "sequence": c.next_row_delete_seq, "db_id": d.id, "table_id": t.id,
                 "db_name": d.name, "table_name": t.name, "min_time": lo, "max_time": hi, "terms": terms,
                 "delete_predicate": predicate_text(terms), "created_at": int(time.time()),
                 "at_seq": max(time.time_ns(), engine._seq), "disposition": PENDING}]

    done = cat.transact(ops)
    engine.refresh(force=True)
    return response(engine, cat.row_deletes[done[0]["sequence"]])


def abort(engine, seq: int, reason: str) -> dict:
    cat = engine.catalog

    def ops(c):
        r = c.row_deletes.get(seq)
        if r is None:
            raise AdminError(404, f"row-delete request not found: {seq}")
        if r["disposition"] != PENDING:
            raise AdminError(409, f"row-delete request {seq} is {r['disposition']}, not pending")
        return [{"op": "update_row_delete", "sequence": seq,
                 "changes": {"disposition": ABORTED, "aborted_at": int(time.time()), "abort_reason": reason}}]

    cat.transact(ops)
    engine.refresh(force=True)
    return response(engine, cat.row_deletes[seq])


def listing(engine, db: str | None = None, table: str | None = None, disposition: str | None = None,
            min_sequence: int | None = None, max_sequence: int | None = None) -> list[dict]:
    engine.catalog.refresh()
    out = []
    for seq, r in sorted(engine.catalog.row_deletes.items()):
        if (db is not None and r["db_name"] != db) or (table is not None and r["table_name"] != table) \
                or (disposition is not None and r["disposition"] != disposition) \
                or (min_sequence is not None and seq < min_sequence) \
                or (max_sequence is not None and seq > max_sequence):
            continue
        out.append(response(engine, r))
    return out


def response(engine, r: dict) -> dict:
    """A request in the spec's DeleteRequestResponse shape (names checked against the catalog now)."""
    d = engine.catalog.db_by_id(r["db_id"])
    t = d.tables.get(r["table_id"]) if d else None
    out = {"sequence": r["sequence"], "db_id": r["db_id"], "table_id": r["table_id"], "db_name": r["db_name"],
           "table_name": r["table_name"], "db_name_stale": d is None or d.name != r["db_name"],
           "table_name_stale": t is None or t.name != r["table_name"], "min_time": r["min_time"],
           "max_time": r["max_time"], "delete_predicate": r["delete_predicate"], "created_at": r["created_at"],
           "disposition": r["disposition"]}
    for k in ("completed_at", "aborted_at", "abort_reason"):
        if r.get(k) is not None:
            out[k] = r[k]
    return out


# ---- what the read and write paths use -------------------------------------------------------------

def active(catalog, db_id: int, table_id: int) -> list[dict]:
    """Requests whose rows stay hidden: pending and completed ones (not aborted)."""
    return [r for r in catalog.row_deletes.values()
            if r["db_id"] == db_id and r["table_id"] == table_id and r["disposition"] != ABORTED]


def version(catalog, db_id: int, table_id: int) -> tuple:
    """Changes whenever the set of active requests of the table does (cache signatures)."""
    return tuple(sorted(r["sequence"] for r in active(catalog, db_id, table_id)))


def sql_hidden(catalog, db_id: int, table_id: int, have: set[str], column=persist.quote) -> str | None:
    """A SQL condition true for the rows of a source (with columns `have`, ``__seq`` among them)
    that a request deletes; None when none can match. `column(tag)`: how the SQL names a tag (a
    query's read may alias one: sql/casenames.py)."""
    terms = []
    for r in active(catalog, db_id, table_id):
        if any(tag not in have for tag, _ in r["terms"]):
            continue   # a tag the source lacks is null there: that request cannot match
        cond = [f"{persist.quote(SEQ_COLUMN)} <= {int(r['at_seq'])}"]
        if r["min_time"] > MIN_NS:
            cond.append(f"\"time\" >= make_timestamp_ns({int(r['min_time'])})")
        if r["max_time"] < MAX_NS:
            cond.append(f"\"time\" < make_timestamp_ns({int(r['max_time'])})")
        cond += [f"{column(tag)} = {persist.literal(value)}" for tag, value in r["terms"]]
        terms.append("(" + " AND ".join(cond) + ")")
    return " OR ".join(terms) if terms else None


def drop_deleted(catalog, db_id: int, table_id: int, t: pa.Table, requests: list[dict] | None = None) -> pa.Table:
    """`t` without the rows the table's active requests delete (snapshots and rewrites)."""
    reqs = active(catalog, db_id, table_id) if requests is None else requests
    if not reqs or not t.num_rows:
        return t
    times = t.column("time").cast(pa.int64()).to_numpy()
    seqs = t.column(SEQ_COLUMN).to_numpy()
    gone = np.zeros(t.num_rows, dtype=bool)
    for r in reqs:
        if any(tag not in t.column_names for tag, _ in r["terms"]):
            continue
        m = (times >= r["min_time"]) & (times < r["max_time"]) & (seqs <= r["at_seq"])
        for tag, value in r["terms"]:
            col = t.column(tag).cast(pa.string()) if pa.types.is_dictionary(t.column(tag).type) else t.column(tag)
            m &= pc.fill_null(pc.equal(col, value), False).to_numpy(zero_copy_only=False)
        gone |= m
    return t.filter(pa.array(~gone)) if gone.any() else t


def apply_pending(engine) -> int:
    """Rewrite the Parquet files holding rows of pending requests, then mark them completed.
    Runs under the maintenance lease (Engine._compact's caller). Returns requests completed."""
    cat = engine.catalog
    cat.refresh()
    pending = [r for r in cat.row_deletes.values() if r["disposition"] == PENDING]
    if not pending:
        return 0
    engine.index.refresh()
    for r in pending:
        reqs = active(cat, r["db_id"], r["table_id"])
        for f in engine.index.for_table(r["db_id"], r["table_id"]):
            if f.max_time < r["min_time"] or f.min_time >= r["max_time"] or f.min_seq > r["at_seq"]:
                continue
            t = persist.read_files([f], engine.data_dir)
            kept = drop_deleted(cat, f.db, f.table, t, reqs)
            if kept.num_rows == t.num_rows:
                continue
            added = []
            if kept.num_rows:
                added = persist.write_parquet(engine.data_dir, engine.node_id, f.db, f.table, kept,
                                              f"d{r['sequence']}-{uuid.uuid4().hex[:8]}")
            engine._publish(added, [f.path], grace_s=engine._RETIRE_GRACE_S)
    done = [r["sequence"] for r in pending]
    now = int(time.time())
    cat.transact(lambda c: [{"op": "update_row_delete", "sequence": s,
                             "changes": {"disposition": COMPLETED, "completed_at": now}}
                            for s in done if c.row_deletes.get(s, {}).get("disposition") == PENDING])
    return len(done)
