"""The catalog: databases, tables and typed columns, with limits, shared by every node of a data dir.

Owns schema state and its persistence as an append-only log of numbered JSON files under
`<data_dir>/catalog/logs/`, each created exclusively (hard link of a fsynced temp file), so two
processes can never both commit number N: the loser reloads and retries. A checkpoint
(`catalog/checkpoint.json`, tmp → fsync → rename → fsync dir) lets a reader skip old logs.

Does not hold row data, parse line protocol or know about HTTP. Every mutation goes through
`transact(fn)`: `fn` reads the current state and returns the ops it wants; they are durable on disk
before `transact` returns, so a write can be acknowledged only after the schema it created exists.
"""

from __future__ import annotations

import json
import os
import re
import threading
import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable, Iterable

from . import errors
from .changesignal import DATA_SIGNAL_FILE, open_signal
from .fsutil import write_file_atomic, write_file_exclusive

INTERNAL_DB = "_internal"
#: names no tag or field may have: InfluxDB 3's own two, and ours for each row's write order
#: and each merged column's (validator.SEQ_COLUMN, SEQS_COLUMN), which a written column of that
#: name would replace in deduplication and make every later snapshot of the table fail (two
#: columns of one name)
RESERVED_COLUMNS = ("time", "__chunk_order", "__seq", "__seqs")
#: ours whatever their case: DuckDB binds names without regard to it, so a field `__Seq` or `__SEQS`
#: was read for the rows' own column where duplicates are merged (a snapshot wrote write orders as
#: `__Seq`'s values; a merge looked `__seqs` up in the float `__SEQS` and failed)
_OWN_RESERVED = ("__seq", "__seqs")
FIELD_TYPES = ("float", "int", "uint", "string", "bool")
COLUMN_TYPES = ("tag", "time") + FIELD_TYPES
CHECKPOINT_EVERY = 100
INTERNAL_RETENTION_NS = 7 * 24 * 3600 * 10**9


def reserved_column(name: str) -> bool:
    """Whether no new tag or field may have the name `name`."""
    return name in RESERVED_COLUMNS or name.lower() in _OWN_RESERVED


# How InfluxDB 3 names column types in its type-conflict message.
IOX_TYPE_NAMES = {
    "tag": "iox::column_type::tag",
    "time": "iox::column_type::timestamp",
    "float": "iox::column_type::field::float",
    "int": "iox::column_type::field::integer",
    "uint": "iox::column_type::field::uinteger",
    "string": "iox::column_type::field::string",
    "bool": "iox::column_type::field::boolean",
}


@dataclass(frozen=True)
class Limits:
    max_databases: int = 100
    max_tables: int = 4000
    max_columns_per_table: int = 500
    max_tag_columns: int = 4096


@dataclass
class Column:
    id: int
    name: str
    type: str  # one of COLUMN_TYPES


@dataclass
class Table:
    id: int
    name: str
    columns: dict[str, Column] = field(default_factory=dict)
    series_key: list[str] = field(default_factory=list)  # tag names in order of first appearance
    deleted: bool = False
    hard_delete_at: int | None = None  # ns since epoch
    retention_ns: int | None = None
    next_column_id: int = 0
    truncated_seq: int = 0  # rows with __seq <= this were deleted by a data-only delete
    # cache definitions by name (engine/caches/ owns their meaning); dropped with the table
    last_caches: dict[str, dict] = field(default_factory=dict)
    distinct_caches: dict[str, dict] = field(default_factory=dict)
    next_cache_id: int = 0

    @property
    def tag_names(self) -> list[str]:
        return list(self.series_key)

    @property
    def field_count(self) -> int:
        return sum(1 for c in self.columns.values() if c.type not in ("tag", "time"))

    @property
    def user_column_count(self) -> int:
        return sum(1 for c in self.columns.values() if c.type != "time")

    def column_names_sorted(self) -> list[str]:
        return sorted(self.columns)


@dataclass
class Token:
    """An API token as the catalog keeps it: never the token itself, only its SHA-512."""
    id: int
    name: str
    hash: str                      # lowercase hex SHA-512 of the token string
    created_at: int                # ms since epoch
    expiry: int | None = None      # ms since epoch
    kind: str = "admin"            # admin | named_admin | resource
    permissions: list = field(default_factory=list)
    description: str | None = None


@dataclass
class Trigger:
    """A processing-engine trigger (engine/plugins/): what runs which plugin file on what."""
    name: str
    plugin_filename: str
    specification: str             # as given (trimmed), e.g. "table:cpu", "every:10s"
    run_async: bool = False
    error_behavior: str = "log"    # log | retry | disable
    arguments: dict | None = None  # str -> str
    disabled: bool = False
    #: WAL triggers: where each node's WAL ended when it was created or last enabled
    #: (`{node: [file seq, offset]}`); the writes before are not its own (plugins/waltail.py)
    wal_from: dict | None = None


@dataclass
class User:
    """A user account (engine/users/): a login identity whose permissions come from its roles.

    Never the password itself, only its argon2 hash. `session_epoch` is stamped into every JWT
    issued to the user; raising it (delete, password reset) revokes all of them at once."""
    id: int
    username: str
    password_hash: str | None = None
    display_name: str | None = None
    role_ids: list = field(default_factory=list)
    requires_password_reset: bool = False
    created_at: int = 0            # s since epoch
    updated_at: int = 0            # s since epoch
    deleted_at: int | None = None  # s since epoch; a deleted user is kept (soft delete)
    oauth_id: str | None = None
    session_epoch: int = 0


@dataclass
class Role:
    """A role: a named set of permissions (ApiPermission shape) users are given (engine/users/)."""
    id: int
    name: str
    description: str = ""
    permissions: list = field(default_factory=list)
    is_required: bool = False
    created_at: int = 0            # s since epoch
    updated_at: int = 0


@dataclass
class Database:
    id: int
    name: str
    tables: dict[int, Table] = field(default_factory=dict)
    deleted: bool = False
    hard_delete_at: int | None = None
    retention_ns: int | None = None
    triggers: dict[str, Trigger] = field(default_factory=dict)

    def table(self, name: str) -> Table | None:
        for t in self.tables.values():
            if t.name == name:
                return t
        return None

    def live_tables(self) -> list[Table]:
        return [t for t in self.tables.values() if not t.deleted]


def validate_db_name(name: str) -> None:
    """InfluxDB 3's `validate_db_name`: raise InvalidDatabaseName with its exact messages."""
    if not name:
        raise errors.InvalidDatabaseName("db name cannot be empty")
    if len(name.encode()) > 511:
        raise errors.InvalidDatabaseName("db name too long: max 511")
    if not (name[0].isascii() and name[0].isalnum()):
        raise errors.InvalidDatabaseName("db name did not start with a number or letter")
    slashes = 0
    for ch in name[1:]:
        if ch == "/":
            slashes += 1
        elif not (ch.isascii() and (ch.isalnum() or ch in "_-")):
            raise errors.InvalidDatabaseName(
                "invalid character in database or rp name: must be ASCII, containing only "
                "letters, numbers, underscores, or hyphens")
    if slashes > 1 or name.endswith("/"):
        raise errors.InvalidDatabaseName(
            "db name with invalid retention policy, if providing a retention policy name, "
            "must be of form '<db_name>/<rp_name>'")


def deleted_name(name: str, at_ns: int) -> str:
    stamp = datetime.fromtimestamp(at_ns / 1e9, tz=timezone.utc).strftime("%Y%m%dT%H%M%S")
    return f"{name}-{stamp}"


_HUMANTIME_UNITS = {
    "ns": 1, "nsec": 1, "us": 10**3, "usec": 10**3, "ms": 10**6, "msec": 10**6,
    "s": 10**9, "sec": 10**9, "secs": 10**9, "second": 10**9, "seconds": 10**9,
    "m": 60 * 10**9, "min": 60 * 10**9, "mins": 60 * 10**9, "minute": 60 * 10**9, "minutes": 60 * 10**9,
    "h": 3600 * 10**9, "hr": 3600 * 10**9, "hrs": 3600 * 10**9, "hour": 3600 * 10**9, "hours": 3600 * 10**9,
    "d": 86400 * 10**9, "day": 86400 * 10**9, "days": 86400 * 10**9,
    "w": 7 * 86400 * 10**9, "week": 7 * 86400 * 10**9, "weeks": 7 * 86400 * 10**9,
    "M": 2630016 * 10**9, "month": 2630016 * 10**9, "months": 2630016 * 10**9,
    "y": 31557600 * 10**9, "year": 31557600 * 10**9, "years": 31557600 * 10**9,
}


def parse_duration(text: str) -> int:
    """A humantime duration (`7d`, `1h30m`, `2 weeks`) in nanoseconds; ValueError when unparsable."""
    s = text.strip()
    parts = re.findall(r"(\d+)\s*([A-Za-z]+)\s*", s)
    if not s or "".join(f"{n}{u}" for n, u in parts) != re.sub(r"\s+", "", s):
        raise ValueError(f"Cannot parse the given human time: {text!r}")
    total = 0
    for n, unit in parts:
        if unit not in _HUMANTIME_UNITS:
            raise ValueError(f"Cannot parse the given human time: unknown time unit {unit!r}")
        total += int(n) * _HUMANTIME_UNITS[unit]
    return total


class Catalog:
    """Schema of every database in a data directory, kept in step with the log on disk."""

    def __init__(self, data_dir: str | os.PathLike, limits: Limits | None = None):
        self.root = Path(data_dir) / "catalog"
        self.logs = self.root / "logs"
        self.logs.mkdir(parents=True, exist_ok=True)
        self.limits = limits or Limits()
        self._lock = threading.RLock()
        self.seq = 0
        self.uuid = ""
        self.databases: dict[int, Database] = {}
        self.next_db_id = 0
        self.next_table_id = 0
        self.tokens: dict[str, Token] = {}
        self.next_token_id = 0
        self.users: dict[int, User] = {}
        self.roles: dict[int, Role] = {}
        self.next_user_id = 1
        # a restore (engine/admin/restore.py) rolled the data back: its number, and the __seq up
        # to which rows written before it are gone (rows of the backup's own files excepted)
        self.restore_epoch = 0
        self.restore_cut = 0
        # row-delete requests (engine/admin/deletes.py) by sequence number
        self.row_deletes: dict[int, dict] = {}
        self.next_row_delete_seq = 1
        # file index columns (engine/admin/fileindex.py) by "<db_id>" or "<db_id>/<table_id>"
        self.file_indexes: dict[str, list] = {}
        # the workers of one server: bumped after each commit, so theirs are seen at once (changesignal.py)
        self.signal = None
        # the data directory's signal (changesignal.py): every node bumps it after each commit
        self.data_signal = open_signal(Path(data_dir) / DATA_SIGNAL_FILE)
        self._load_checkpoint()
        self.refresh()
        if not self.uuid:
            self.transact(lambda cat: [] if cat.uuid else [
                {"op": "init", "uuid": str(uuid.uuid4())},
                {"op": "create_db", "id": 0, "name": INTERNAL_DB, "retention_ns": INTERNAL_RETENTION_NS}])

    # ---- reading -------------------------------------------------------------------------
    def db(self, name: str) -> Database | None:
        for d in self.databases.values():
            if d.name == name:
                return d
        return None

    def db_by_id(self, db_id: int) -> Database | None:
        return self.databases.get(db_id)

    def live_databases(self) -> list[Database]:
        return [d for d in self.databases.values() if not d.deleted]

    def table(self, db_name: str, table_name: str) -> tuple[Database, Table]:
        d = self.db(db_name)
        if d is None or d.deleted:
            raise errors.DatabaseNotFound(db_name)
        t = d.table(table_name)
        if t is None or t.deleted:
            raise errors.TableNotFound(table_name, db_name)
        return d, t

    def counted_table_total(self) -> int:
        return sum(len(d.live_tables()) for d in self.live_databases() if d.name != INTERNAL_DB)

    # ---- persistence ---------------------------------------------------------------------
    def _log_path(self, seq: int) -> Path:
        return self.logs / f"{seq:020d}.json"

    def _load_checkpoint(self) -> None:
        path = self.root / "checkpoint.json"
        if not path.exists():
            return
        state = json.loads(path.read_text())
        self.seq = state["seq"]
        self.uuid = state["uuid"]
        self._load_state(state)

    def _load_state(self, state: dict, *, security: bool = True) -> None:
        """Databases (and with `security` tokens, users, roles) from a checkpoint-shaped dict."""
        self.next_db_id = state["next_db_id"]
        self.next_table_id = state["next_table_id"]
        self.restore_epoch = state.get("restore_epoch", 0)
        self.restore_cut = state.get("restore_cut", 0)
        self.row_deletes = {int(k): dict(v) for k, v in state.get("row_deletes", {}).items()}
        self.file_indexes = {k: list(v) for k, v in state.get("file_indexes", {}).items()}
        self.next_row_delete_seq = max(getattr(self, "next_row_delete_seq", 1), state.get("next_row_delete_seq", 1))
        if security:
            self.tokens = {t["name"]: Token(**t) for t in state.get("tokens", [])}
            self.next_token_id = state.get("next_token_id", 0)
            self.users = {u["id"]: User(**u) for u in state.get("users", [])}
            self.roles = {r["id"]: Role(**r) for r in state.get("roles", [])}
            self.next_user_id = state.get("next_user_id", 1)
        self.databases = {}
        for d in json.loads(json.dumps(state["databases"])):   # a copy: the op stays as committed
            tables = {}
            for t in d.pop("tables"):
                cols = {c["name"]: Column(**c) for c in t.pop("columns")}
                tables[t["id"]] = Table(columns=cols, **t)
            triggers = {t["name"]: Trigger(**t) for t in d.pop("triggers", [])}
            self.databases[d["id"]] = Database(tables=tables, triggers=triggers, **d)

    def state(self) -> dict:
        """Everything the catalog holds, as the checkpoint stores it (backups keep this too)."""
        with self._lock:
            return {
                "seq": self.seq, "uuid": self.uuid, "next_db_id": self.next_db_id,
                "next_table_id": self.next_table_id,
                "restore_epoch": self.restore_epoch, "restore_cut": self.restore_cut,
                "row_deletes": {str(k): dict(v) for k, v in self.row_deletes.items()},
                "next_row_delete_seq": self.next_row_delete_seq,
                "file_indexes": {k: list(v) for k, v in self.file_indexes.items()},
                "tokens": [dict(t.__dict__) for t in self.tokens.values()], "next_token_id": self.next_token_id,
                "users": [dict(u.__dict__) for u in self.users.values()], "next_user_id": self.next_user_id,
                "roles": [dict(r.__dict__) for r in self.roles.values()],
                "databases": json.loads(json.dumps([
                    {"id": d.id, "name": d.name, "deleted": d.deleted, "hard_delete_at": d.hard_delete_at,
                     "retention_ns": d.retention_ns,
                     "tables": [
                         {"id": t.id, "name": t.name, "series_key": t.series_key, "deleted": t.deleted,
                          "hard_delete_at": t.hard_delete_at, "retention_ns": t.retention_ns,
                          "next_column_id": t.next_column_id, "truncated_seq": t.truncated_seq,
                          "last_caches": t.last_caches, "distinct_caches": t.distinct_caches,
                          "next_cache_id": t.next_cache_id,
                          "columns": [c.__dict__ for c in t.columns.values()]}
                         for t in d.tables.values()],
                     "triggers": [t.__dict__ for t in d.triggers.values()]}
                    for d in self.databases.values()])),
            }

    def _write_checkpoint(self) -> None:
        write_file_atomic(self.root / "checkpoint.json", json.dumps(self.state()).encode())

    def close(self) -> None:
        if self.data_signal is not None:
            self.data_signal.close()

    def refresh(self) -> bool:
        """Apply log files other nodes committed since we last looked. True if anything changed."""
        with self._lock:
            changed = False
            while True:
                path = self._log_path(self.seq + 1)
                try:
                    data = path.read_bytes()
                except FileNotFoundError:
                    if self.seq == 0 or self._log_path(self.seq).exists() or not (self.root / "checkpoint.json").exists():
                        return changed
                    # Our position was pruned behind a newer checkpoint: restart from it.
                    self._load_checkpoint()
                    changed = True
                    continue
                for op in json.loads(data):
                    self._apply(op)
                self.seq += 1
                changed = True

    def transact(self, fn: Callable[["Catalog"], list[dict]]) -> list[dict]:
        """Commit the ops `fn` derives from the current state; retried on a lost race.

        `fn` must not mutate the catalog; it may raise to abort. Returns the committed ops.
        """
        with self._lock:
            while True:
                self.refresh()
                ops = fn(self)
                if not ops:
                    return []
                try:
                    write_file_exclusive(self._log_path(self.seq + 1), json.dumps(ops).encode())
                except FileExistsError:
                    continue
                for op in ops:
                    self._apply(op)
                self.seq += 1
                for signal in (self.signal, self.data_signal):
                    if signal is not None:
                        signal.bump()
                if self.seq % CHECKPOINT_EVERY == 0:
                    self._write_checkpoint()
                    self._prune_logs()
                return ops

    def _prune_logs(self) -> None:
        # Keep a margin of old logs so a reader part-way through them is not stranded.
        for p in self.logs.glob("*.json"):
            try:
                if int(p.stem) <= self.seq - 2 * CHECKPOINT_EVERY:
                    p.unlink()
            except (ValueError, FileNotFoundError):
                pass

    # ---- applying ops --------------------------------------------------------------------
    def _apply(self, op: dict) -> None:
        kind = op["op"]
        if kind == "init":
            self.uuid = op["uuid"]
        elif kind == "create_db":
            self.databases[op["id"]] = Database(op["id"], op["name"], retention_ns=op.get("retention_ns"))
            self.next_db_id = max(self.next_db_id, op["id"] + 1)
        elif kind == "create_table":
            d = self.databases[op["db"]]
            t = Table(op["id"], op["name"], retention_ns=op.get("retention_ns"))
            t.columns["time"] = Column(-1, "time", "time")
            d.tables[op["id"]] = t
            self.next_table_id = max(self.next_table_id, op["id"] + 1)
        elif kind == "add_column":
            t = self.databases[op["db"]].tables[op["table"]]
            t.columns[op["name"]] = Column(op["id"], op["name"], op["type"])
            t.next_column_id = max(t.next_column_id, op["id"] + 1)
            if op["type"] == "tag":
                t.series_key.append(op["name"])
        elif kind == "delete_db":
            d = self.databases[op["db"]]
            d.deleted, d.name, d.hard_delete_at = True, op["new_name"], op.get("hard_delete_at")
            for t in d.tables.values():
                t.last_caches, t.distinct_caches = {}, {}
        elif kind == "delete_table":
            t = self.databases[op["db"]].tables[op["table"]]
            t.deleted, t.name, t.hard_delete_at = True, op["new_name"], op.get("hard_delete_at")
            t.last_caches, t.distinct_caches = {}, {}
        elif kind in ("create_last_cache", "create_distinct_cache"):
            t = self.databases[op["db"]].tables[op["table"]]
            caches = t.last_caches if kind == "create_last_cache" else t.distinct_caches
            caches[op["name"]] = {k: v for k, v in op.items() if k != "op"}
            t.next_cache_id = max(t.next_cache_id, op["id"] + 1)
        elif kind in ("delete_last_cache", "delete_distinct_cache"):
            t = self.databases[op["db"]].tables[op["table"]]
            (t.last_caches if kind == "delete_last_cache" else t.distinct_caches).pop(op["name"], None)
        elif kind == "set_db_retention":
            self.databases[op["db"]].retention_ns = op.get("retention_ns")
        elif kind == "set_table_retention":
            self.databases[op["db"]].tables[op["table"]].retention_ns = op.get("retention_ns")
        elif kind == "truncate_table":
            t = self.databases[op["db"]].tables[op["table"]]
            t.truncated_seq = max(t.truncated_seq, op["seq"])
        elif kind == "create_token":
            tok = Token(**{k: v for k, v in op.items() if k != "op"})
            self.tokens[tok.name] = tok
            self.next_token_id = max(self.next_token_id, tok.id + 1)
        elif kind == "update_token":
            tok = self.tokens[op["name"]]
            for k, v in op.items():
                if k not in ("op", "name"):
                    setattr(tok, k, v)
        elif kind == "delete_token":
            self.tokens.pop(op["name"], None)
        elif kind == "create_trigger":
            trig = Trigger(**{k: v for k, v in op.items() if k not in ("op", "db")})
            self.databases[op["db"]].triggers[trig.name] = trig
        elif kind == "delete_trigger":
            self.databases[op["db"]].triggers.pop(op["name"], None)
        elif kind == "set_trigger_disabled":
            trig = self.databases[op["db"]].triggers.get(op["name"])
            if trig is not None:
                trig.disabled = op["disabled"]
                if "wal_from" in op:
                    trig.wal_from = op["wal_from"]
        elif kind == "create_user":
            user = User(**{k: v for k, v in op.items() if k != "op"})
            self.users[user.id] = user
            self.next_user_id = max(self.next_user_id, user.id + 1)
        elif kind == "update_user":
            user = self.users[op["id"]]
            for k, v in op.items():
                if k not in ("op", "id"):
                    setattr(user, k, v)
        elif kind == "create_role":
            role = Role(**{k: v for k, v in op.items() if k != "op"})
            self.roles[role.id] = role
        elif kind == "restore":
            # A point-in-time rollback (engine/admin/restore.py): the backup's databases replace
            # ours; ids only grow, so no new table can take the id of one whose files are gone.
            nxt_db, nxt_table = self.next_db_id, self.next_table_id
            self._load_state({**op["state"], "restore_epoch": op["epoch"], "restore_cut": op["cut"]},
                             security=op.get("security", False))
            self.next_db_id = max(nxt_db, self.next_db_id)
            self.next_table_id = max(nxt_table, self.next_table_id)
            if op.get("uuid"):
                self.uuid = op["uuid"]
        elif kind == "create_row_delete":
            self.row_deletes[op["sequence"]] = {k: v for k, v in op.items() if k != "op"}
            self.next_row_delete_seq = max(self.next_row_delete_seq, op["sequence"] + 1)
        elif kind == "update_row_delete":
            if op["sequence"] in self.row_deletes:
                self.row_deletes[op["sequence"]].update(op["changes"])
        elif kind == "set_file_index":
            self.file_indexes[op["key"]] = list(op["columns"])
        elif kind == "delete_file_index":
            self.file_indexes.pop(op["key"], None)
        elif kind == "purge_db":
            self.databases.pop(op["db"], None)
        elif kind == "purge_table":
            d = self.databases.get(op["db"])
            if d:
                d.tables.pop(op["table"], None)
        else:
            raise ValueError(f"unknown catalog op {kind!r}")

    # ---- common transactions -------------------------------------------------------------
    def create_database(self, name: str, retention_ns: int | None = None, *, exist_ok=False) -> Database:
        validate_db_name(name)

        def ops(cat: Catalog):
            d = cat.db(name)
            if d is not None and not d.deleted:
                if exist_ok:
                    return []
                raise errors.AlreadyExists()
            cat.check_database_limit()
            return [{"op": "create_db", "id": cat.next_db_id, "name": name, "retention_ns": retention_ns}]

        self.transact(ops)
        return self.db(name)

    def check_database_limit(self) -> None:
        live = [d for d in self.live_databases() if d.name != INTERNAL_DB]
        if len(live) >= self.limits.max_databases:
            raise errors.LimitExceeded(
                f"Adding a new database would exceed limit of {self.limits.max_databases} databases")

    def create_table(self, db_name: str, table: str, tags: Iterable[str], fields: Iterable[tuple[str, str]],
                     retention_ns: int | None = None) -> Table:
        tags, fields = list(tags), list(fields)
        for name in tags + [f for f, _ in fields]:
            if reserved_column(name):
                raise errors.InvalidConfiguration(f"'{name}' is a reserved column")
        if len(set(tags) | {f for f, _ in fields}) != len(tags) + len(fields):
            raise errors.InvalidConfiguration("invalid configuration provided: duplicate column name")
        validate_db_name(db_name)

        def ops(cat: Catalog):
            out = []
            d = cat.db(db_name)
            if d is None or d.deleted:
                cat.check_database_limit()
                db_id = cat.next_db_id
                out.append({"op": "create_db", "id": db_id, "name": db_name})
            else:
                db_id = d.id
                if d.table(table) is not None and not d.table(table).deleted:
                    raise errors.AlreadyExists()
            cat.check_table_limit(1)
            table_id = cat.next_table_id
            out.append({"op": "create_table", "db": db_id, "id": table_id, "name": table,
                        "retention_ns": retention_ns})
            for i, (name, typ) in enumerate([(t, "tag") for t in tags] + fields):
                out.append({"op": "add_column", "db": db_id, "table": table_id, "id": i, "name": name, "type": typ})
            return out

        self.transact(ops)
        return self.table(db_name, table)[1]

    def check_table_limit(self, adding: int) -> None:
        have = self.counted_table_total()
        if have + adding > self.limits.max_tables:
            raise errors.LimitExceeded(
                "Update to schema would exceed number of tables limit: attempted to create table "
                f"but already have {have} table(s) (limit: {self.limits.max_tables})")

    def delete_database(self, name: str, hard_delete_at: int | None, now_ns: int | None = None) -> str:
        now_ns = now_ns or time.time_ns()

        def ops(cat: Catalog):
            d = cat.db(name)
            if d is None:
                raise errors.NotFound(f"the requested resource was not found: {name}")
            if d.name == INTERNAL_DB:
                raise errors.CannotModifyInternalDatabase("cannot delete internal db")
            if d.deleted:
                if d.hard_delete_at == hard_delete_at:
                    raise errors.AlreadyDeleted(f"attempted to modify resource that was already deleted: {name}")
                return [{"op": "delete_db", "db": d.id, "new_name": d.name, "hard_delete_at": hard_delete_at}]
            return [{"op": "delete_db", "db": d.id, "new_name": deleted_name(name, now_ns),
                     "hard_delete_at": hard_delete_at}]

        ops_done = self.transact(ops)
        return ops_done[0]["new_name"]

