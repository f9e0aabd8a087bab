"""`influxdb3_local`, the object every plugin call receives, and one plugin call from start to end
(behaviour reference §6.4, §6.7; plugins reference §0.2–0.5, §A.3).

Owns: the log calls (`info/warn/error`: `str()` of each argument joined by spaces), `query` (SQL
on the trigger's database or `database=`, string-only `$params`, rows as dicts with timestamps as
int ns), the four write calls (duck-typed: anything with `.build() -> str`, which may hold many
lines; buffered writes land after the function returns, `write_sync*` at once), `cache`, and the
cancellation of §A.3 item 6 (log/query/write raise KeyboardInterrupt once the trigger is disabled,
deleted or the server stops). `call_plugin` runs one entry point, times it, logs its framework
lines and catches everything, keeping the full traceback.

A dry run (`WriteSink(dry_run=True)`) records the writes instead of applying them.
Does not decide which trigger runs when (manager.py).
"""

from __future__ import annotations

import threading
import time
import traceback
from dataclasses import dataclass, field
from typing import Any, Callable

import pyarrow as pa

from .. import errors as engine_errors
from .. import lineprotocol
from ..validator import plan_write
from .cache import PluginCache
from .errors import PluginError

CANCELLED_MESSAGE = "influxdb3 is shutting down; aborting plugin execution"


class QueryError(Exception):
    """Raised by `influxdb3_local.query` (plugins test `type(e).__name__ == "QueryError"`)."""


class WriteSink:
    """Where a call's writes go: the engine (buffered ones after the call), or a dry-run record."""

    def __init__(self, engine, dry_run: bool = False):
        self.engine, self.dry_run = engine, dry_run
        self.buffered: list[tuple[str, str]] = []
        self.sync_writes: list[tuple[str, str]] = []

    def write_sync(self, db: str, text: str, no_sync: bool) -> None:
        if self.dry_run:
            self.sync_writes.append((db, text))
            return
        try:
            res = self.engine.write_lp(db, text, "ns", accept_partial=False, no_sync=bool(no_sync))
        except engine_errors.EngineError as exc:
            raise Exception(f"error writing line protocol to {db}: {exc.message}") from None
        if res.errors:
            raise Exception(f"error writing line protocol to {db}: {res.errors[0].error_message}")

    def flush(self) -> list[str]:
        """Apply the buffered writes (one write per database); returns the error messages."""
        problems = []
        by_db: dict[str, list[str]] = {}
        for db, text in self.buffered:
            by_db.setdefault(db, []).append(text)
        self.buffered = []
        for db, texts in by_db.items():
            try:
                res = self.engine.write_lp(db, "\n".join(texts), "ns", accept_partial=False)
                if res.errors:
                    problems.append(f"error writing line protocol to {db}: {res.errors[0].error_message}")
            except engine_errors.EngineError as exc:
                problems.append(f"error writing line protocol to {db}: {exc.message}")
        return problems

    def database_writes(self) -> dict[str, list[str]]:
        """Dry run: every write, sync ones first (as §A.3 item 3 reports them)."""
        out: dict[str, list[str]] = {}
        for db, text in self.sync_writes + self.buffered:
            out.setdefault(db, []).append(text)
        return out

    def validate(self) -> list[str]:
        """Dry run: what the engine would refuse in the recorded writes (nothing is applied)."""
        problems = []
        for db, lines in self.database_writes().items():
            try:
                parsed = lineprotocol.parse("\n".join(lines).encode(), "ns", None)
                plan = plan_write(self.engine.catalog, db, parsed)
            except engine_errors.EngineError as exc:
                problems.append(f"error validating writes to {db}: {exc.message}")
                continue
            problems += [f"error validating line {e.line_number}: {e.error_message}" for e in plan.errors]
        return problems


@dataclass
class LogCollector:
    """The log lines of one call, as `INFO: text` strings (dry runs answer with them)."""
    trigger_name: str
    store: Any = None            # a logs.LogStore, or None (dry runs keep lines to themselves)
    database: str | None = None
    lines: list[str] = field(default_factory=list)

    def add(self, level: str, text: str) -> None:
        self.lines.append(f"{level}: {text}")
        if self.store is not None:
            self.store.add(self.trigger_name, level, text, self.database)


def rows_of(table: pa.Table) -> list[dict]:
    """Query results the way plugins get them: ints, floats, str, bool, None, timestamps as int ns."""
    cols, names = [], table.column_names
    for name, col in zip(names, table.columns):
        t = col.type
        if pa.types.is_dictionary(t):
            col = col.cast(t.value_type)
            t = t.value_type
        if pa.types.is_timestamp(t):
            col = col.cast(pa.timestamp(t.unit, None)).cast(pa.int64())
            if t.unit != "ns":
                factor = {"s": 10**9, "ms": 10**6, "us": 10**3}[t.unit]
                cols.append([None if v is None else v * factor for v in col.to_pylist()])
                continue
        elif not (pa.types.is_integer(t) or pa.types.is_floating(t) or pa.types.is_string(t)
                  or pa.types.is_large_string(t) or pa.types.is_boolean(t) or pa.types.is_null(t)):
            raise ValueError(f"Unsupported data type: {t}")
        cols.append(col.to_pylist())
    return [dict(zip(names, vals)) for vals in zip(*cols)] if names else []


class PluginApi:
    """`influxdb3_local`."""

    def __init__(self, engine, database: str, log: LogCollector, sink: WriteSink, cache: PluginCache,
                 cancel: threading.Event | None = None, cache_store=None):
        self._engine, self._db, self._log, self._sink = engine, database, log, sink
        self._cache, self._cancel, self._cache_store = cache, cancel, cache_store

    def _check(self) -> None:
        if self._cancel is not None and self._cancel.is_set():
            raise KeyboardInterrupt(CANCELLED_MESSAGE)

    # ---- logs ------------------------------------------------------------------------------
    def _emit(self, level: str, args) -> None:
        self._check()
        self._log.add(level, " ".join(str(a) for a in args))

    def info(self, *args) -> None:
        self._emit("INFO", args)

    def warn(self, *args) -> None:
        self._emit("WARN", args)

    def error(self, *args) -> None:
        self._emit("ERROR", args)

    # ---- queries ---------------------------------------------------------------------------
    def query(self, query: str, args: dict | None = None, database: str | None = None) -> list[dict]:
        self._check()
        if not isinstance(query, str):
            raise TypeError("query must be a str")
        if args is not None:
            if not isinstance(args, dict) or not all(isinstance(k, str) and isinstance(v, str)
                                                     for k, v in args.items()):
                raise TypeError("query args must be a dict of str to str")
        db = database or self._db
        try:
            table = self._engine.sql(db, query, dict(args) if args else None)
        except engine_errors.EngineError as exc:
            msg = exc.message
            if getattr(exc, "status", None) == 400 and msg.startswith("Error during planning"):
                msg = "error while planning query: " + msg
            raise QueryError(f"error: {msg} executing query on {db}: {query}") from None
        return rows_of(table)

    # ---- writes ----------------------------------------------------------------------------
    @staticmethod
    def _text(line_builder) -> str:
        build = getattr(line_builder, "build", None)
        if not callable(build):
            raise TypeError("write expects an object with a build() method (a LineBuilder)")
        text = build()
        if not isinstance(text, str):
            raise TypeError("build() must return a str")
        return text

    def write(self, line_builder) -> None:
        self.write_to_db(self._db, line_builder)

    def write_to_db(self, db_name: str, line_builder) -> None:
        self._check()
        self._sink.buffered.append((db_name, self._text(line_builder)))

    def write_sync(self, line_builder, no_sync: bool) -> None:
        self.write_sync_to_db(self._db, line_builder, no_sync)

    def write_sync_to_db(self, db_name: str, line_builder, no_sync: bool) -> None:
        self._check()
        self._sink.write_sync(db_name, self._text(line_builder), no_sync)

    # ---- cache -----------------------------------------------------------------------------
    @property
    def cache(self) -> PluginCache:
        if self._cache_store is not None:
            self._cache_store.sweep()
        return self._cache


def format_duration(seconds: float) -> str:
    """Like Rust's `Debug` for a Duration: `12.3µs`, `4.5ms`, `1.2s`."""
    if seconds < 1e-3:
        return f"{seconds * 1e6:.3f}µs".replace(".000µs", "µs")
    if seconds < 1:
        return f"{seconds * 1e3:.3f}ms"
    return f"{seconds:.3f}s"


@dataclass
class CallResult:
    ok: bool
    value: Any = None
    error: str | None = None          # "<ExceptionType>: <message>"
    traceback: str | None = None
    elapsed: float = 0.0


def call_plugin(get_fn: Callable[[], Callable], args: tuple, log: LogCollector, start_line: str) -> CallResult:
    """Run one entry point (`get_fn` loads it), framed by the start and finish log lines."""
    log.add("INFO", start_line)
    t0 = time.perf_counter()
    try:
        value = get_fn()(*args)
        ok = CallResult(True, value)
    except BaseException as exc:  # noqa: BLE001 - a plugin may raise anything (SystemExit, KeyboardInterrupt)
        # the engine's own complaints (missing entry point, import failure) are worded as they are
        text = exc.message if isinstance(exc, PluginError) else f"{type(exc).__name__}: {exc}"
        ok = CallResult(False, error=text, traceback=_plugin_traceback(exc))
    ok.elapsed = time.perf_counter() - t0
    log.add("INFO", f"finished execution in {format_duration(ok.elapsed)}")
    return ok


def _plugin_traceback(exc: BaseException) -> str:
    """The traceback from the plugin's frames on (our own frames above it are noise)."""
    tb = exc.__traceback__
    while tb is not None and tb.tb_next is not None and "jupyter_influx3" in tb.tb_frame.f_code.co_filename:
        tb = tb.tb_next
    return "".join(traceback.format_exception(type(exc), exc, tb)).rstrip()
