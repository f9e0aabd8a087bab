"""One Python API over the kernel-resident engine or any InfluxDB 3-compatible HTTP server.

    import jupyter_influx3
    db = jupyter_influx3.connect()                              # engine in this process, default data dir
    db = jupyter_influx3.connect(data_dir="./data")             # another data directory
    db = jupyter_influx3.connect(url="http://host:8181", token="apiv3_...")  # this server or a real InfluxDB 3
    db = jupyter_influx3.connect(url="http://host:8181", username="ada", password="...")  # a user (JWTs)

    db.write("cpu,host=a usage=0.5", database="demo")
    db.write(df, database="demo", table="cpu", tags=["host"])
    db.sql("SELECT * FROM cpu WHERE host = $host", database="demo", params={"host": "a"})  # -> DataFrame

Both clients have the same methods and raise :class:`Influx3Error`: for a failed query its `message`
is the short line of engine/messages.py (the same in process and over HTTP), `server_message` the
API's own words; otherwise the server's message. A query runs on a worker thread so Ctrl-C
(KeyboardInterrupt) returns at once; the query is then cancelled (HTTP: the connection is closed;
engine: its cursor is interrupted where the engine allows it, else its result is dropped when it ends).

Engines are shared per data directory inside one process (the magics and `connect()` calls use
one node) and closed when the last client closes or the process exits.
"""

from __future__ import annotations

import atexit
import io
import json
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from concurrent.futures import Future
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Optional, Sequence

import pyarrow as pa

from ..engine.lineprotocol import line_detail
from . import dataframe as dfconv
from .flightclient import FlightQueries

OUTPUT_FORMATS = ("pandas", "arrow", "polars")
#: Query languages a client can run, and how: the engine method and the HTTP endpoint of each.
QUERY_LANGUAGES = ("sql", "influxql")
ENGINE_QUERY_METHODS = {"sql": "query_sql", "influxql": "query_influxql"}
HTTP_QUERY_PATHS = {"sql": "/api/v3/query_sql", "influxql": "/api/v3/query_influxql"}

#: ``precision`` names accepted -> the InfluxDB 3 v3 API names.
PRECISIONS = {
    "auto": "auto",
    "ns": "nanosecond", "nanosecond": "nanosecond", "nanoseconds": "nanosecond",
    "us": "microsecond", "u": "microsecond", "microsecond": "microsecond", "microseconds": "microsecond",
    "ms": "millisecond", "millisecond": "millisecond", "milliseconds": "millisecond",
    "s": "second", "second": "second", "seconds": "second",
}


class Influx3Error(Exception):
    """A refused request or a failed query. `message` is the line to show: for a failed query the
    short, user-facing line (engine/messages.py), the same over HTTP and in this process;
    `server_message` is the server's (or engine's) own text, as the API words it."""

    def __init__(self, message: str, status: Optional[int] = None, server_message: Optional[str] = None):
        super().__init__(message)
        self.message = message
        self.status = status
        self.server_message = message if server_message is None else server_message


class QueryInterrupted(Influx3Error):
    def __init__(self) -> None:
        super().__init__("query interrupted")


@dataclass
class RejectedLine:
    line_number: int
    error_message: str  # InfluxDB 3's wording
    original_line: str
    detail: str = ""  # what exactly is wrong, where InfluxDB 3's wording is vague


@dataclass
class WriteReport:
    """What a write did: lines written, and each rejected line with its error."""

    database: str
    lines_written: int
    rejected: list[RejectedLine] = field(default_factory=list)
    skipped_rows: int = 0  # DataFrame rows without any field value (never sent)

    @property
    def ok(self) -> bool:
        return not self.rejected

    def __str__(self) -> str:
        n = self.lines_written
        text = f"{n} line{'s' if n != 1 else ''} written to {self.database}"
        if self.rejected:
            r = len(self.rejected)
            text += f", {r} line{'s' if r != 1 else ''} rejected"
        if self.skipped_rows:
            text += f" ({self.skipped_rows} rows without a field value skipped)"
        return text

    def _repr_html_(self) -> str:
        from .display import write_report_html

        return write_report_html(self)

    def __repr__(self) -> str:
        from .display import write_report_text

        return write_report_text(self)


def normalize_precision(precision: Optional[str]) -> str:
    if precision is None:
        return "auto"
    key = str(precision).strip().lower()
    if key not in PRECISIONS:
        raise Influx3Error(f"unknown precision {precision!r}: use one of auto, ns, us, ms, s")
    return PRECISIONS[key]


def convert_table(table: pa.Table, fmt: str) -> Any:
    """An Arrow result as pandas (default), Arrow or polars."""
    if fmt == "arrow":
        return table
    if fmt == "polars":
        try:
            import polars as pl
        except ImportError:  # pragma: no cover - polars is in the lab extra
            raise Influx3Error("format 'polars' needs the polars package (pip install polars)") from None
        return pl.from_arrow(table)
    if fmt == "pandas":
        return table.to_pandas()
    raise Influx3Error(f"unknown format {fmt!r}: use one of {', '.join(OUTPUT_FORMATS)}")


def run_interruptible(work: Callable[[], Any], cancel: Callable[[], None]) -> Any:
    """Run `work` on a worker thread and wait for it; on KeyboardInterrupt call `cancel`, raise
    QueryInterrupted at once (the worker's late result is dropped)."""
    fut: Future = Future()

    def target() -> None:
        try:
            fut.set_result(work())
        except BaseException as exc:  # noqa: BLE001 - handed to the waiting thread
            fut.set_exception(exc)

    worker = threading.Thread(target=target, name="influx3-query", daemon=True)
    worker.start()
    try:
        while True:
            try:
                return fut.result(timeout=0.05)
            except TimeoutError:
                continue
    except KeyboardInterrupt:
        try:
            cancel()
        except Exception:  # noqa: BLE001 - cancelling is best effort
            pass
        raise QueryInterrupted() from None


class Client:
    """What both clients share: argument checks, DataFrame writes, result formats."""

    def __init__(self, database: Optional[str] = None, output: str = "pandas"):
        self.database = database or None
        if output not in OUTPUT_FORMATS:
            raise Influx3Error(f"unknown format {output!r}: use one of {', '.join(OUTPUT_FORMATS)}")
        self.output = output

    # -- to implement -------------------------------------------------------------------------
    def _write_lp(self, database: str, body: str, precision: str, accept_partial: bool,
                  no_sync: bool) -> WriteReport:
        raise NotImplementedError

    def _query_arrow(self, language: str, database: str, query: str, params: Optional[dict]) -> pa.Table:
        raise NotImplementedError

    def databases(self) -> list[str]:
        raise NotImplementedError

    def tables(self, database: Optional[str] = None) -> list[str]:
        raise NotImplementedError

    def columns(self, table: str, database: Optional[str] = None):
        raise NotImplementedError

    def create_database(self, name: str, retention_period: Optional[str] = None) -> None:
        raise NotImplementedError

    def delete_database(self, name: str, hard_delete_at: Optional[str] = None) -> None:
        raise NotImplementedError

    def create_table(self, table: str, tags: Sequence[str] = (), fields: Any = (),
                     database: Optional[str] = None, retention_period: Optional[str] = None) -> None:
        raise NotImplementedError

    def delete_table(self, table: str, database: Optional[str] = None, hard_delete_at: Optional[str] = None) -> None:
        raise NotImplementedError

    def create_last_cache(self, table: str, database: Optional[str] = None, *, name: Optional[str] = None,
                          key_columns: Optional[Sequence[str]] = None, value_columns: Optional[Sequence[str]] = None,
                          count: Optional[int] = None, ttl: Optional[int | str] = None) -> dict:
        """Define a last-value cache (ttl: seconds or a duration like ``"4h"``); returns its record."""
        raise NotImplementedError

    def create_distinct_cache(self, table: str, columns: Sequence[str], database: Optional[str] = None, *,
                              name: Optional[str] = None, max_cardinality: Optional[int] = None,
                              max_age: Optional[int | str] = None) -> dict:
        """Define a distinct-value cache (max_age: seconds or a duration); returns its record."""
        raise NotImplementedError

    def delete_last_cache(self, table: str, name: str, database: Optional[str] = None) -> None:
        raise NotImplementedError

    def delete_distinct_cache(self, table: str, name: str, database: Optional[str] = None) -> None:
        raise NotImplementedError

    def close(self) -> None:
        pass

    @property
    def description(self) -> str:
        raise NotImplementedError

    def caches(self, database: Optional[str] = None) -> Any:
        """The database's caches (`system.last_caches` and `system.distinct_caches`, one row each)."""
        db = self._db(database)
        last = self._query_arrow("sql", db, "SELECT 'last' AS kind, \"table\", name, key_column_names AS columns, "
                                            "value_column_names AS value_columns, count, ttl AS ttl_or_max_age, "
                                            "NULL::BIGINT AS max_cardinality FROM system.last_caches", None)
        distinct = self._query_arrow("sql", db, "SELECT 'distinct' AS kind, \"table\", name, column_names AS columns, "
                                                "max_cardinality, max_age_seconds AS ttl_or_max_age "
                                                "FROM system.distinct_caches", None)
        rows = last.to_pylist() + distinct.to_pylist()
        names = ["kind", "table", "name", "columns", "value_columns", "count", "ttl_or_max_age", "max_cardinality"]
        table = pa.Table.from_pylist([{n: r.get(n) for n in names} for r in rows], schema=pa.schema([
            ("kind", pa.string()), ("table", pa.string()), ("name", pa.string()), ("columns", pa.list_(pa.string())),
            ("value_columns", pa.list_(pa.string())), ("count", pa.uint64()), ("ttl_or_max_age", pa.uint64()),
            ("max_cardinality", pa.uint64())]))
        return convert_table(table, self.output)

    # -- administration (jupyter/admin.py; over a URL, InfluxDB 3 Enterprise too) -------------------
    @property
    def admin(self) -> Any:
        """Backups, restores, Parquet import and export: ``db.admin.backup()``, ``.restore(name)``,
        ``.import_parquet(path, table, database)``, ``.export(table, database)``."""
        from .admin import AdminCalls
        return AdminCalls(self)

    # -- processing engine (jupyter/plugins.py; over a URL, a real InfluxDB 3 too) -----------------
    def triggers(self, database: Optional[str] = None) -> Any:
        """The database's triggers (`system.processing_engine_triggers`)."""
        from .plugins import TriggerCalls
        return TriggerCalls(self).list(self._db(database))

    def trigger_logs(self, trigger: Optional[str] = None, database: Optional[str] = None) -> Any:
        """Plugin log lines (tracebacks included) of `trigger`, or of every trigger."""
        from .plugins import TriggerCalls
        return TriggerCalls(self).logs(self._db(database), trigger)

    def create_trigger(self, name: str, plugin_filename: str, specification: str, database: Optional[str] = None,
                       *, arguments: Optional[dict] = None, run_async: bool = False, error_behavior: str = "log",
                       disabled: bool = False) -> None:
        """A trigger running `plugin_filename` on `specification` (`table:cpu`, `every:10s`, …)."""
        from .plugins import TriggerCalls
        TriggerCalls(self).create(self._db(database), name, plugin_filename, specification, arguments=arguments,
                                  run_async=run_async, error_behavior=error_behavior, disabled=disabled)

    def enable_trigger(self, name: str, database: Optional[str] = None) -> None:
        from .plugins import TriggerCalls
        TriggerCalls(self).set_disabled(self._db(database), name, False)

    def disable_trigger(self, name: str, database: Optional[str] = None) -> None:
        from .plugins import TriggerCalls
        TriggerCalls(self).set_disabled(self._db(database), name, True)

    def delete_trigger(self, name: str, database: Optional[str] = None, *, force: bool = False) -> None:
        from .plugins import TriggerCalls
        TriggerCalls(self).delete(self._db(database), name, force=force)

    def test_plugin(self, name: str, code: str, database: Optional[str] = None, *, lp: str = "",
                    schedule: Optional[str] = None, request: bool = False, arguments: Optional[dict] = None) -> Any:
        """Save `code` as `name`.py and dry-run it (WAL with `lp`, else schedule, or `request=True`);
        returns a `PluginRun` (log lines, writes it would make, errors, traceback)."""
        from .plugins import PluginRun, TriggerCalls
        mode = "request" if request else "wal" if lp else "schedule"
        return PluginRun(name, TriggerCalls(self).dry_run(name, code, mode, self._db(database), lp=lp,
                                                          schedule=schedule or "", arguments=arguments))

    # -- shared --------------------------------------------------------------------------------
    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.description}>"

    def _db(self, database: Optional[str]) -> str:
        db = database or self.database
        if not db:
            raise Influx3Error("no database given: pass database=... (or connect(database=...))")
        return db

    def write(self, data: Any, database: Optional[str] = None, *, table: Optional[str] = None,
              tags: Any = None, fields: Optional[Sequence[str]] = None, time_column: Optional[str] = None,
              precision: Optional[str] = None, accept_partial: bool = True, no_sync: bool = False) -> WriteReport:
        """Write line protocol (str, bytes or an iterable of lines) or a DataFrame (pandas, polars,
        Arrow; needs `table`, takes `tags` columns or constant tags and a time column or index)."""
        db = self._db(database)
        skipped = 0
        if dfconv.is_tabular(data):
            try:
                conv = dfconv.dataframe_to_lines(data, table or "", tags=tags, fields=fields,
                                                 time_column=time_column, precision=precision)
            except dfconv.DataFrameError as exc:
                raise Influx3Error(str(exc)) from None
            body, prec, skipped = "\n".join(conv.lines), conv.precision, conv.skipped_rows
            if not conv.lines:
                return WriteReport(db, 0, [], skipped)
        else:
            if table is not None or tags is not None or fields is not None or time_column is not None:
                raise Influx3Error("table=, tags=, fields= and time_column= are for DataFrames; "
                                   "line protocol names its own table and tags")
            if isinstance(data, (bytes, bytearray)):
                body = bytes(data).decode("utf-8")
            elif isinstance(data, str):
                body = data
            else:
                try:
                    body = "\n".join(str(x) for x in data)
                except TypeError:
                    raise Influx3Error(f"cannot write a {type(data).__name__}: expected line protocol "
                                       "text or a DataFrame") from None
            prec = normalize_precision(precision)
        report = self._write_lp(db, body, normalize_precision(prec), accept_partial, no_sync)
        report.skipped_rows = skipped
        return report

    def query(self, q: str, database: Optional[str] = None, params: Optional[dict] = None, *,
              language: str = "sql", format: Optional[str] = None) -> Any:
        """Run a query in `language` and return the result as `format` (default: the client's)."""
        if language not in QUERY_LANGUAGES:
            raise Influx3Error(f"query language {language!r} is not available here")
        table = self.query_arrow(q, database, params, language=language)
        return convert_table(table, format or self.output)

    def query_arrow(self, q: str, database: Optional[str] = None, params: Optional[dict] = None, *,
                    language: str = "sql") -> pa.Table:
        if not isinstance(q, str) or not q.strip():
            raise Influx3Error("the query is empty")
        db = self._db(database)
        try:
            return self._query_arrow(language, db, q, _params(params))
        except QueryInterrupted:
            raise
        except Influx3Error as exc:
            from ..engine.messages import error_line

            raise Influx3Error(error_line(exc.server_message, database=db, query=q), exc.status,
                               server_message=exc.server_message) from None

    def sql(self, q: str, database: Optional[str] = None, params: Optional[dict] = None, *,
            format: Optional[str] = None) -> Any:
        """Run an InfluxDB 3 SQL query; ``$name`` placeholders are bound from `params`.
        Returns a pandas DataFrame (or Arrow table / polars DataFrame with `format`)."""
        return self.query(q, database, params, language="sql", format=format)

    def influxql(self, q: str, database: Optional[str] = None, params: Optional[dict] = None, *,
                 format: Optional[str] = None) -> Any:
        """Run an InfluxQL query (where the engine or server runs InfluxQL)."""
        return self.query(q, database, params, language="influxql", format=format)


def _params(params: Optional[dict]) -> Optional[dict]:
    """Query parameters as JSON-able scalars (datetimes as RFC 3339 text)."""
    if params is None:
        return None
    if not isinstance(params, dict):
        raise Influx3Error("params must be a dict of name -> value")
    out = {}
    for k, v in params.items():
        out[str(k).lstrip("$")] = param_value(str(k), v)
    return out


def param_value(name: str, v: Any) -> Any:
    import datetime as _dt

    if v is None or isinstance(v, (bool, int, float, str)):
        return v
    item = getattr(v, "item", None)  # numpy scalars
    if callable(item) and not hasattr(v, "__len__"):
        try:
            return param_value(name, v.item())
        except (TypeError, ValueError):
            pass
    if isinstance(v, _dt.datetime) or type(v).__name__ == "Timestamp":
        ts = v
        if ts.tzinfo is None:
            ts = ts.replace(tzinfo=_dt.timezone.utc)
        text = ts.astimezone(_dt.timezone.utc).isoformat().replace("+00:00", "Z")
        return text
    if isinstance(v, _dt.date):
        return v.isoformat() + "T00:00:00Z"
    raise Influx3Error(f"parameter ${name}: a {type(v).__name__} cannot be a query parameter "
                       "(use a string, number, boolean or datetime)")


# ---- the engine in this process -------------------------------------------------------------


class _SharedEngine:
    def __init__(self, engine: Any):
        self.engine = engine
        self.users = 0


_engines: dict[Path, _SharedEngine] = {}
_engines_lock = threading.Lock()


def _open_engine(data_dir: Path, node_id: Optional[str]) -> Any:
    from ..engine import Engine, errors

    key = data_dir.expanduser().absolute()
    with _engines_lock:
        shared = _engines.get(key)
        if shared is None:
            try:
                engine = Engine(str(key), node_id=node_id or f"kernel-{uuid.uuid4().hex[:10]}")
            except errors.EngineError as exc:
                raise Influx3Error(f"cannot open data directory {key}: {exc}") from None
            shared = _engines[key] = _SharedEngine(engine)
        shared.users += 1
        return shared.engine


def _release_engine(engine: Any) -> None:
    with _engines_lock:
        for key, shared in list(_engines.items()):
            if shared.engine is engine:
                shared.users -= 1
                if shared.users <= 0:
                    del _engines[key]
                    engine.close()
                return


@atexit.register
def _close_all_engines() -> None:
    with _engines_lock:
        items = list(_engines.values())
        _engines.clear()
    for shared in items:
        try:
            shared.engine.close()
        except Exception:  # noqa: BLE001 - exiting anyway
            pass


def _engine_error(exc: BaseException) -> Influx3Error:
    from ..engine import errors

    if isinstance(exc, errors.EngineError):
        return Influx3Error(exc.message, getattr(exc, "status", None))
    return Influx3Error(f"{type(exc).__name__}: {exc}")


FIELD_TYPES = {"float": "float64", "int": "int64", "uint": "uint64", "string": "utf8", "bool": "bool"}
_COLUMN_ORDER = {"tag": 0, "field": 1, "time": 2}


def _columns_frame(rows: list[tuple[str, str, str]]):
    import pandas as pd

    rows = sorted(rows, key=lambda r: (_COLUMN_ORDER[r[1]], r[0]))
    return pd.DataFrame(rows, columns=["column", "kind", "type"])


class EngineClient(Client):
    """The engine of a data directory, in this process (a node of its own)."""

    def __init__(self, data_dir: Optional[str | Path] = None, database: Optional[str] = None, *,
                 node_id: Optional[str] = None, output: str = "pandas"):
        super().__init__(database, output)
        if data_dir is None:
            from ..cli import default_data_dir

            data_dir = default_data_dir()
        self.data_dir = Path(data_dir).expanduser().absolute()
        self.engine = _open_engine(self.data_dir, node_id)
        self._closed = False

    @property
    def description(self) -> str:
        return f"data_dir={str(self.data_dir)!r} node={self.engine.node_id!r}"

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            _release_engine(self.engine)

    def _call(self, fn: Callable, *args: Any, **kwargs: Any) -> Any:
        if self._closed:
            raise Influx3Error("this client is closed")
        try:
            return fn(*args, **kwargs)
        except Influx3Error:
            raise
        except Exception as exc:  # noqa: BLE001 - every engine failure becomes one clear error
            from ..engine import errors

            if isinstance(exc, errors.EngineError):
                raise _engine_error(exc) from None
            raise

    def _write_lp(self, database, body, precision, accept_partial, no_sync) -> WriteReport:
        res = self._call(self.engine.write_lp, database, body, precision,
                         accept_partial=accept_partial, no_sync=no_sync)
        rejected = [RejectedLine(e.line_number, e.error_message, e.original_line, e.detail) for e in res.errors]
        return WriteReport(database, res.lines_written, rejected)

    def _query_arrow(self, language, database, query, params) -> pa.Table:
        if self._closed:
            raise Influx3Error("this client is closed")
        run = getattr(self.engine, ENGINE_QUERY_METHODS.get(language, ""), None)
        if run is None:
            raise Influx3Error(f"{language} queries are not available in this engine")
        state: dict[str, Any] = {"cancelled": False, "result": None}

        def work() -> pa.Table:
            result = self._call(run, database, query, params)
            state["result"] = result
            if state["cancelled"]:
                result.close()
                raise QueryInterrupted()
            try:
                return result.to_table()
            except Exception as exc:  # noqa: BLE001
                from ..engine import errors

                if state["cancelled"]:
                    raise QueryInterrupted() from None
                if isinstance(exc, errors.EngineError):
                    raise _engine_error(exc) from None
                raise

        def cancel() -> None:
            state["cancelled"] = True
            _interrupt_result(self.engine, state["result"])

        return run_interruptible(work, cancel)

    def databases(self) -> list[str]:
        table = self._call(self.engine.list_databases)
        return [str(x) for x in table.column(0).to_pylist()]

    def _live_db(self, database: Optional[str]):
        db = self._db(database)
        cat = self.engine.catalog
        cat.refresh()
        d = cat.db(db)
        if d is None or d.deleted:
            raise Influx3Error(f"database not found: {db}")
        return d

    def tables(self, database: Optional[str] = None) -> list[str]:
        return sorted(t.name for t in self._live_db(database).live_tables())

    def columns(self, table: str, database: Optional[str] = None):
        d = self._live_db(database)
        db = d.name
        t = d.table(table)
        if t is None or t.deleted:
            raise Influx3Error(f"table not found: {table} (database {db})")
        rows = []
        for c in t.columns.values():
            if c.type == "tag":
                rows.append((c.name, "tag", "utf8"))
            elif c.type == "time":
                rows.append((c.name, "time", "timestamp"))
            else:
                rows.append((c.name, "field", FIELD_TYPES.get(c.type, c.type)))
        return _columns_frame(rows)

    def create_database(self, name, retention_period=None) -> None:
        self._call(self.engine.create_database, name, retention_period=retention_period)

    def delete_database(self, name, hard_delete_at=None) -> None:
        self._call(self.engine.delete_database, name, hard_delete_at or "default")

    def create_table(self, table, tags=(), fields=(), database=None, retention_period=None) -> None:
        self._call(self.engine.create_table, self._db(database), table, list(tags), _field_pairs(fields),
                   retention_period=retention_period)

    def delete_table(self, table, database=None, hard_delete_at=None) -> None:
        self._call(self.engine.delete_table, self._db(database), table, hard_delete_at or "default")

    def create_last_cache(self, table, database=None, *, name=None, key_columns=None, value_columns=None,
                          count=None, ttl=None) -> dict:
        return self._call(self.engine.create_last_cache, self._db(database), table, name=name,
                          key_columns=None if key_columns is None else list(key_columns),
                          value_columns=None if value_columns is None else list(value_columns), count=count, ttl=ttl)

    def create_distinct_cache(self, table, columns, database=None, *, name=None, max_cardinality=None,
                              max_age=None) -> dict:
        return self._call(self.engine.create_distinct_cache, self._db(database), table, list(columns), name=name,
                          max_cardinality=max_cardinality, max_age=max_age)

    def delete_last_cache(self, table, name, database=None) -> None:
        self._call(self.engine.delete_last_cache, self._db(database), table, name)

    def delete_distinct_cache(self, table, name, database=None) -> None:
        self._call(self.engine.delete_distinct_cache, self._db(database), table, name)


def _interrupt_result(engine: Any, result: Any) -> None:
    """Stop a running engine query as far as the engine lets us."""
    for obj, name in ((result, "cancel"), (engine, "interrupt_queries")):
        fn = getattr(obj, name, None) if obj is not None else None
        if callable(fn):
            fn()
            return
    cursor = getattr(getattr(result, "_stream", None), "cursor", None)
    if cursor is not None:
        try:
            cursor.interrupt()
        except Exception:  # noqa: BLE001 - already finished or closed
            pass


def _field_pairs(fields: Any) -> list[tuple[str, str]]:
    """Fields as (name, type): a dict, pairs, or "name:type" strings (types utf8, int64, uint64,
    float64, bool)."""
    if isinstance(fields, dict):
        return [(str(k), str(v)) for k, v in fields.items()]
    out = []
    for f in fields or ():
        if isinstance(f, str):
            name, sep, typ = f.partition(":")
            if not sep:
                raise Influx3Error(f"field {f!r}: write it as name:type (utf8, int64, uint64, float64, bool)")
            out.append((name.strip(), typ.strip()))
        else:
            name, typ = f
            out.append((str(name), str(typ)))
    return out


# ---- a server over HTTP ---------------------------------------------------------------------


_TYPE_NAMES = {"Float64": "float64", "Int64": "int64", "UInt64": "uint64", "Utf8": "utf8", "Boolean": "bool"}


class HttpClient(Client):
    """Any InfluxDB 3-compatible server: this package's (`influx3 serve`, the Jupyter server
    extension) or a real InfluxDB 3 Core/Enterprise. `url` may carry a path prefix
    (``http://127.0.0.1:8888/influx3``)."""

    def __init__(self, url: str, token: Optional[str] = None, database: Optional[str] = None, *,
                 output: str = "pandas", timeout: float = 300.0, headers: Optional[dict] = None,
                 session: Any = None, flight: bool = True):
        super().__init__(database, output)
        parsed = urllib.parse.urlsplit(url)
        if parsed.scheme not in ("http", "https") or not parsed.netloc:
            raise Influx3Error(f"not an http(s) URL: {url!r}")
        self.url = url.rstrip("/")
        self.token = token
        self.timeout = timeout
        self.headers = dict(headers or {})
        #: a user's login (`credentials.Session`): its access token, refreshed, replaces `token`
        self.session = session
        #: queries go over Arrow Flight when the server offers it on this address (`flightclient.py`)
        self.flight = FlightQueries(self.url, timeout) if flight else None

    @property
    def description(self) -> str:
        return f"url={self.url!r}"

    def _request(self, method: str, path: str, *, query: Optional[dict] = None, body: Optional[bytes] = None,
                 json_body: Any = None, content_type: Optional[str] = None, on_response=None) -> tuple[int, bytes]:
        url = self.url + path
        if query:
            url += "?" + urllib.parse.urlencode({k: v for k, v in query.items() if v is not None})
        headers = dict(self.headers)
        token = self._session_token() if self.session is not None else self.token
        if token:
            headers["Authorization"] = f"Bearer {token}"
        if json_body is not None:
            body = json.dumps(json_body).encode()
            content_type = "application/json"
        if content_type:
            headers["Content-Type"] = content_type
        req = urllib.request.Request(url, data=body, method=method, headers=headers)
        try:
            resp = urllib.request.urlopen(req, timeout=self.timeout)
        except urllib.error.HTTPError as exc:
            data = exc.read()
            raise _http_error(exc.code, data) from None
        except urllib.error.URLError as exc:
            raise Influx3Error(f"cannot reach {self.url}: {exc.reason}") from None
        except OSError as exc:
            raise Influx3Error(f"cannot reach {self.url}: {exc}") from None
        with resp:
            if on_response is not None:
                on_response(resp)
            return resp.status, resp.read()

    def _session_token(self) -> str:
        from ..credentials import LoginError

        try:
            return self.session.token()
        except LoginError as exc:
            raise Influx3Error(exc.message, exc.status or None) from None

    def _write_lp(self, database, body, precision, accept_partial, no_sync) -> WriteReport:
        total = dfconv.count_lines(body)
        query = {"db": database, "precision": precision}
        if not accept_partial:
            query["accept_partial"] = "false"
        if no_sync:
            query["no_sync"] = "true"
        try:
            self._request("POST", "/api/v3/write_lp", query=query, body=body.encode("utf-8"),
                          content_type="text/plain; charset=utf-8")
        except Influx3Error as exc:
            data = getattr(exc, "data", None)
            if isinstance(data, dict):  # accept_partial=false names the one failing line
                data = [data]
            if exc.status == 400 and isinstance(data, list) and data:
                # The server shortens `original_line`; the full line is in the body we sent.
                full = dfconv.counted_lines(body)
                rejected = []
                for d in data:
                    if not isinstance(d, dict):
                        continue
                    number = int(d.get("line_number", 0) or 0)
                    line = str(d.get("original_line", ""))
                    if 0 < number <= len(full) and full[number - 1].startswith(line):
                        line = full[number - 1]
                    rejected.append(RejectedLine(number, str(d.get("error_message", "")), line, line_detail(line)))
                written = total - len(rejected) if accept_partial else 0
                return WriteReport(database, max(written, 0), rejected)
            raise
        return WriteReport(database, total, [])

    def _query_arrow(self, language, database, query, params) -> pa.Table:
        if language not in HTTP_QUERY_PATHS:
            raise Influx3Error(f"query language {language!r} is not available here")
        if self.flight is not None:
            token = self._session_token() if self.session is not None else self.token
            table = self.flight.query(language, database, query, params, token, run_interruptible)
            if table is not None:
                return table
        import pyarrow.parquet as pq

        state: dict[str, Any] = {"resp": None}
        payload = {"db": database, "q": query, "format": "parquet"}
        if params:
            payload["params"] = params

        def work() -> pa.Table:
            _, data = self._request("POST", HTTP_QUERY_PATHS[language], json_body=payload,
                                    on_response=lambda r: state.__setitem__("resp", r))
            if not data:
                return pa.table({})
            return pq.read_table(io.BytesIO(data))

        def cancel() -> None:
            resp = state["resp"]
            if resp is not None:
                resp.close()

        return run_interruptible(work, cancel)

    def _json_query(self, database: str, q: str, params: Optional[dict] = None) -> list[dict]:
        payload = {"db": database, "q": q, "format": "json"}
        if params:
            payload["params"] = params
        _, data = self._request("POST", "/api/v3/query_sql", json_body=payload)
        return json.loads(data or b"[]")

    def databases(self) -> list[str]:
        _, data = self._request("GET", "/api/v3/configure/database", query={"format": "json"})
        rows = json.loads(data or b"[]")
        return [str(r.get("iox::database")) for r in rows]

    def tables(self, database: Optional[str] = None) -> list[str]:
        rows = self._json_query(self._db(database),
                                "SELECT table_name FROM information_schema.tables "
                                "WHERE table_schema = 'iox' ORDER BY table_name")
        return [str(r["table_name"]) for r in rows]

    def columns(self, table: str, database: Optional[str] = None):
        db = self._db(database)
        rows = self._json_query(db, "SELECT column_name, data_type FROM information_schema.columns "
                                    "WHERE table_schema = 'iox' AND table_name = $t", {"t": table})
        if not rows:
            raise Influx3Error(f"table not found: {table} (database {db})")
        out = []
        for r in rows:
            name, dtype = str(r["column_name"]), str(r["data_type"])
            if dtype.startswith("Dictionary"):
                out.append((name, "tag", "utf8"))
            elif dtype.startswith("Timestamp") and name == "time":
                out.append((name, "time", "timestamp"))
            else:
                out.append((name, "field", _TYPE_NAMES.get(dtype, dtype)))
        return _columns_frame(out)

    def create_database(self, name, retention_period=None) -> None:
        body: dict = {"db": name}
        if retention_period:
            body["retention_period"] = retention_period
        self._request("POST", "/api/v3/configure/database", json_body=body)

    def delete_database(self, name, hard_delete_at=None) -> None:
        self._request("DELETE", "/api/v3/configure/database", query={"db": name, "hard_delete_at": hard_delete_at})

    def create_table(self, table, tags=(), fields=(), database=None, retention_period=None) -> None:
        body: dict = {"db": self._db(database), "table": table, "tags": list(tags),
                      "fields": [{"name": n, "type": t} for n, t in _field_pairs(fields)]}
        if retention_period:
            body["retention_period"] = retention_period
        self._request("POST", "/api/v3/configure/table", json_body=body)

    def delete_table(self, table, database=None, hard_delete_at=None) -> None:
        self._request("DELETE", "/api/v3/configure/table",
                      query={"db": self._db(database), "table": table, "hard_delete_at": hard_delete_at})

    def _create_cache(self, kind: str, body: dict) -> dict:
        _, data = self._request("POST", f"/api/v3/configure/{kind}_cache",
                                json_body={k: v for k, v in body.items() if v is not None})
        try:  # InfluxDB 3 answers with the catalog record; keep what it says about the cache
            return next(iter(json.loads(data)["catalog_batch"]["Database"]["ops"][0].values()))
        except (ValueError, KeyError, IndexError, TypeError, AttributeError, StopIteration):
            return {}

    def create_last_cache(self, table, database=None, *, name=None, key_columns=None, value_columns=None,
                          count=None, ttl=None) -> dict:
        return self._create_cache("last", {
            "db": self._db(database), "table": table, "name": name,
            "key_columns": None if key_columns is None else list(key_columns),
            "value_columns": None if value_columns is None else list(value_columns),
            "count": count, "ttl": _seconds(ttl, "ttl")})

    def create_distinct_cache(self, table, columns, database=None, *, name=None, max_cardinality=None,
                              max_age=None) -> dict:
        return self._create_cache("distinct", {
            "db": self._db(database), "table": table, "name": name, "columns": list(columns),
            "max_cardinality": max_cardinality, "max_age": _seconds(max_age, "max_age")})

    def delete_last_cache(self, table, name, database=None) -> None:
        self._request("DELETE", "/api/v3/configure/last_cache", query={"db": self._db(database), "table": table,
                                                                       "name": name})

    def delete_distinct_cache(self, table, name, database=None) -> None:
        self._request("DELETE", "/api/v3/configure/distinct_cache",
                      query={"db": self._db(database), "table": table, "name": name})


def _seconds(value: Any, what: str) -> Optional[int]:
    """Whole seconds for the API from an int or a duration such as ``"4h"``."""
    if value is None or (isinstance(value, int) and not isinstance(value, bool)):
        return value
    if isinstance(value, str):
        from ..engine.catalog import parse_duration

        try:
            return parse_duration(value) // 10**9
        except ValueError as exc:
            raise Influx3Error(f"{what}: {exc}") from None
    raise Influx3Error(f"{what}: expected seconds or a duration such as '4h', got {value!r}")


def _http_error(status: int, data: bytes) -> Influx3Error:
    text = data.decode("utf-8", "replace").strip()
    message, extra = text, None
    try:
        doc = json.loads(text)
    except ValueError:
        doc = None
    if isinstance(doc, dict):
        message = str(doc.get("error") or doc.get("message") or text)
        extra = doc.get("data")
    err = Influx3Error(message or f"HTTP {status}", status)
    err.data = extra  # type: ignore[attr-defined]
    return err


# ---- connect ----------------------------------------------------------------------------------


def connect(url: Optional[str] = None, token: Optional[str] = None, *, data_dir: Optional[str | Path] = None,
            database: Optional[str] = None, node_id: Optional[str] = None, output: str = "pandas",
            username: Optional[str] = None, password: Optional[str] = None) -> Client:
    """A client: over HTTP when `url` is given, else the engine of `data_dir` in this process
    (default: ``$INFLUX3_DATA_DIR``, else Jupyter's data dir ``…/influx3``). With `username` and
    `password` (a server started ``--user-auth-type basic``) it logs in as that user and keeps its
    access token fresh."""
    if username is not None or password is not None:
        if not url or token is not None or username is None or password is None:
            raise Influx3Error("username= and password= go together, with url= and without token=")
    if url:
        if data_dir is not None or node_id is not None:
            raise Influx3Error("give either url= (a server) or data_dir= (the engine in this process), not both")
        session = None
        if username is not None:
            from ..credentials import LoginError, Session

            try:
                session = Session(url, username, password)
            except LoginError as exc:
                raise Influx3Error(exc.message, exc.status or None) from None
        return HttpClient(url, token, database, output=output, session=session)
    if token is not None:
        raise Influx3Error("token= is for url=: the engine in this process needs no token")
    return EngineClient(data_dir, database, node_id=node_id, output=output)


def timed(fn: Callable[[], Any]) -> tuple[Any, float]:
    start = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - start
