"""The Arrow Flight server: InfluxDB 3's Flight API and Flight SQL over `Engine.query_sql` /
`Engine.query_influxql`.

* ``DoGet`` with a JSON or IOx ``ReadInfo`` ticket (`tickets.py`) runs SQL or InfluxQL and streams
  the result's record batches as the engine produces them (no whole-result copy for SQL).
* Flight SQL: ``GetFlightInfo`` / ``GetSchema`` for ``CommandStatementQuery``,
  ``CommandPreparedStatementQuery``, ``CommandGetSqlInfo``, ``CommandGetCatalogs``,
  ``CommandGetDbSchemas``, ``CommandGetTables`` and ``CommandGetTableTypes``; the actions
  ``CreatePreparedStatement`` / ``ClosePreparedStatement``; ``DoPut`` binds a prepared statement's
  parameters. The database is the ``database`` (or ``bucket-name``, ``iox-namespace-name``)
  metadata of the call.
* Every call is authenticated by `auth.py`; each handler states what it needs (read on the
  database it touches; InfluxQL: what `engine/influxql/access.py` says).

``GetFlightInfo`` has to run a query to know its schema; the running result is kept for the
``DoGet`` of the same caller that follows (:class:`PendingResults`), so a query runs once.

Owns: the Flight service. Must not: import the HTTP layer or IPython.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import threading
import time
from collections import OrderedDict
from typing import Any, Optional

import pyarrow as pa
import pyarrow.flight as flight

from ..engine import cancellation
from ..engine import errors as engine_errors
from ..engine.influxql import api as influxql_api
from ..engine.influxql.access import statement_needs
from ..engine.querylimits import limits_for
from ..engine.sql.system import readable_only
from . import flightsql, metadata
from . import protowire as pw
from .auth import FORBIDDEN, AuthMiddlewareFactory, Caller
from .tickets import InvalidTicket, TicketRequest, decode_ticket, encode_flightsql_ticket

log = logging.getLogger(__name__)

NO_DATABASE = "no 'database' header in request"
PENDING_SECONDS = 60.0
PENDING_MAX = 64


# ---- errors -----------------------------------------------------------------------------------


def _invalid(message: str) -> Exception:
    return pa.ArrowInvalid(message)  # gRPC INVALID_ARGUMENT


#: The message of a failure that is not the client's (the detail goes to the server log only).
INTERNAL_ERROR = "internal error (see the server log)"


def _as_flight_error(exc: BaseException, data_dir: Any = None) -> BaseException:
    """An engine error as the gRPC status InfluxDB 3 answers with (by its HTTP status), its message
    without the data directory's absolute path; anything else is an internal error whose detail
    goes to the server log only."""
    if isinstance(exc, (flight.FlightError, pa.ArrowNotImplementedError)):
        return exc
    if isinstance(exc, cancellation.QueryCancelled):
        # DEADLINE_EXCEEDED for the query timeout, UNAVAILABLE while the server stops
        timed_out = exc.reason == cancellation.TIMEOUT
        return (flight.FlightTimedOutError if timed_out else flight.FlightUnavailableError)(exc.message)
    status = getattr(exc, "status", None)
    message = _scrub(getattr(exc, "message", None) or str(exc), data_dir)
    if isinstance(exc, (engine_errors.DatabaseNotFound, pa.ArrowKeyError)) or status == 404:
        return pa.ArrowKeyError(message)  # NOT_FOUND
    if status == 403:
        return flight.FlightUnauthorizedError(message)
    if isinstance(exc, (engine_errors.EngineError, pa.ArrowInvalid)) or (
            isinstance(status, int) and 400 <= status < 500):
        return pa.ArrowInvalid(message)  # INVALID_ARGUMENT
    log.error("flight call failed", exc_info=exc)
    return flight.FlightInternalError(INTERNAL_ERROR)


def _scrub(message: str, data_dir: Any) -> str:
    """Where the server keeps its files is none of a client's business."""
    if data_dir:
        for path in {str(data_dir), os.path.realpath(str(data_dir))}:
            if len(path) > 1:
                message = message.replace(path, "<data-dir>")
    return message


# ---- results kept between GetFlightInfo and DoGet ------------------------------------------------


class PendingResults:
    """Results produced by ``GetFlightInfo``, waiting for their ``DoGet``: used once, by the same
    caller, within :data:`PENDING_SECONDS`; the oldest are closed past :data:`PENDING_MAX`, and a
    sweeper closes those nobody came for (a client that only wanted the schema) in time."""

    def __init__(self, seconds: float = PENDING_SECONDS, limit: int = PENDING_MAX):
        self.seconds, self.limit = seconds, limit
        self._items: OrderedDict = OrderedDict()
        self._lock = threading.Lock()
        self._wake = threading.Condition(self._lock)
        self._sweeper: Optional[threading.Thread] = None
        self._closed = False

    def put(self, key: tuple, result: Any) -> None:
        with self._lock:
            if self._closed:
                dropped = [result]
            else:
                old = self._items.pop(key, None)
                self._items[key] = (time.monotonic(), result)
                dropped = ([old[1]] if old else []) + self._expired()
                if self._sweeper is None:
                    self._sweeper = threading.Thread(target=self._sweep, daemon=True, name="influx3-flight-pending")
                    self._sweeper.start()
                self._wake.notify()
        for r in dropped:
            _close(r)

    def take(self, key: tuple) -> Any:
        with self._lock:
            item = self._items.pop(key, None)
        if item is None:
            return None
        if time.monotonic() - item[0] >= self.seconds:
            _close(item[1])
            return None
        return item[1]

    def __len__(self) -> int:
        return len(self._items)

    def _expired(self) -> list:
        """Remove (lock held) what is too old or over the limit; returns it, to be closed."""
        now, out = time.monotonic(), []
        while self._items:
            k, (t, r) = next(iter(self._items.items()))
            if len(self._items) <= self.limit and now - t < self.seconds:
                break
            del self._items[k]
            out.append(r)
        return out

    def _sweep(self) -> None:
        while True:
            with self._lock:
                if self._closed:
                    return
                if self._items:
                    oldest = next(iter(self._items.values()))[0]
                    self._wake.wait(max(0.0, oldest + self.seconds - time.monotonic()) + 0.01)
                else:
                    self._wake.wait()
                dropped = self._expired()
            for r in dropped:
                _close(r)

    def close(self) -> None:
        with self._lock:
            items, self._items = list(self._items.values()), OrderedDict()
            self._closed = True
            self._wake.notify()
        for _, r in items:
            _close(r)


def _close(result: Any) -> None:
    close = getattr(result, "close", None)
    if close is not None:
        try:
            close()
        except Exception:  # noqa: BLE001 - releasing is best effort
            pass


# ---- the server ---------------------------------------------------------------------------------


class FlightServer(flight.FlightServerBase):
    """Flight and Flight SQL for one engine. ``location`` e.g. ``grpc://127.0.0.1:0`` (port 0:
    a free one, see :attr:`port`). ``auth`` False is ``--without-auth``."""

    def __init__(self, engine, location: str = "grpc://127.0.0.1:0", *, auth: bool = True, users: Any = None,
                 **kwargs: Any):
        super().__init__(location, middleware={"auth": AuthMiddlewareFactory(engine, auth, users)}, **kwargs)
        self.engine = engine
        self.pending = PendingResults()

    # -- helpers

    @staticmethod
    def _caller(context) -> Caller:
        caller = context.get_middleware("auth")
        if caller is None:  # pragma: no cover - the middleware is always installed
            raise flight.FlightUnauthenticatedError("no token")
        return caller

    @staticmethod
    def _database(caller: Caller) -> str:
        if not caller.database_header:
            raise _invalid(NO_DATABASE)
        return caller.database_header

    def shutdown(self) -> None:
        self.pending.close()
        super().shutdown()

    # -- DoGet

    def do_get(self, context, ticket):
        caller = self._caller(context)
        try:
            req = decode_ticket(ticket.ticket)
        except InvalidTicket as e:
            raise _invalid(str(e)) from None
        if req.kind == "flightsql":
            key = (ticket.ticket, caller.identity)
            pending = self.pending.take(key)
            if pending is not None:
                return _stream(pending, self.engine.data_dir)
        try:
            return _stream(self._guarded(self._run, caller, req), self.engine.data_dir)
        except Exception as e:  # noqa: BLE001 - mapped to a gRPC status
            raise _as_flight_error(e, self.engine.data_dir) from None

    def _guarded(self, fn, caller: Caller, *args: Any) -> Any:
        """Run a query under a QueryScope with the engine's query timeout (`engine/cancellation.py`):
        its DuckDB work, while planning or while the result streams, is interrupted at the deadline.
        System tables about other databases' activity show only what the caller may read."""
        scope = cancellation.QueryScope(limits_for(self.engine).timeout_s)
        cancellation.watch(scope)
        with scope.active(), readable_only(caller.readable):
            try:
                return fn(caller, *args)
            except Exception:
                if scope.cancelled:
                    raise scope.error() from None
                raise

    def _run(self, caller: Caller, req: TicketRequest) -> Any:
        """The result of a decoded ticket: an engine result, or a metadata table."""
        engine = self.engine
        if req.kind == "sql":
            caller.require(req.database)
            return engine.query_sql(req.database, req.query, req.params or None)
        if req.kind == "influxql":
            ex = influxql_api.executor_for_engine(engine)
            stmt, db = influxql_api.prepare(ex, req.query, req.params or None, req.database or None)
            needs = statement_needs(stmt, db)
            if not caller.unrestricted:
                if not needs:
                    raise flight.FlightUnauthorizedError(FORBIDDEN)
                for name, action in needs:
                    caller.require(name, action)
            return influxql_api.run(ex, stmt, db)
        return self._run_command(caller, req.database, req.command)

    def _run_command(self, caller: Caller, database: str, cmd: flightsql.Command) -> Any:
        engine = self.engine
        if isinstance(cmd, flightsql.StatementQuery):
            caller.require(database)
            return engine.query_sql(database, cmd.query, query_type="flightsql",
                                    log_text=f"CommandStatementQuery {cmd.query}")
        if isinstance(cmd, flightsql.PreparedStatementQuery):
            handle = _decode_handle(cmd.handle)
            caller.require(database)
            return engine.query_sql(database, handle.query, handle.params or None, query_type="flightsql",
                                    log_text=f"CommandPreparedStatementQuery {handle.query}")
        if isinstance(cmd, flightsql.GetSqlInfo):
            return metadata.sql_info(cmd.info)
        if isinstance(cmd, flightsql.GetCatalogs):
            return metadata.catalogs()
        if isinstance(cmd, flightsql.GetDbSchemas):
            return metadata.db_schemas(cmd)
        if isinstance(cmd, flightsql.GetTableTypes):
            return metadata.table_types()
        if isinstance(cmd, flightsql.GetTables):
            caller.require(database)
            return metadata.tables(engine, database, cmd)
        raise pa.ArrowNotImplementedError(f"{type(cmd).__name__} is not supported")  # pragma: no cover

    # -- GetFlightInfo / GetSchema

    def _command(self, descriptor) -> flightsql.Command:
        if descriptor.descriptor_type != flight.DescriptorType.CMD:
            raise _invalid("expected a command descriptor (Flight SQL); path descriptors are not served")
        try:
            return flightsql.decode_command(descriptor.command)
        except flightsql.UnknownCommand as e:
            raise pa.ArrowNotImplementedError(str(e)) from None
        except pw.ProtoError as e:
            raise _invalid(f"Invalid Flight SQL command: {e}") from None

    def _command_database(self, caller: Caller, cmd: flightsql.Command) -> str:
        if isinstance(cmd, (flightsql.StatementQuery, flightsql.PreparedStatementQuery, flightsql.GetTables)):
            return self._database(caller)
        return caller.database_header or ""

    def get_flight_info(self, context, descriptor):
        caller = self._caller(context)
        cmd = self._command(descriptor)
        database = self._command_database(caller, cmd)
        ticket = encode_flightsql_ticket(database, descriptor.command)
        try:
            result = self._guarded(self._run_command, caller, database, cmd)
        except Exception as e:  # noqa: BLE001
            raise _as_flight_error(e, self.engine.data_dir) from None
        self.pending.put((ticket, caller.identity), result)
        endpoint = flight.FlightEndpoint(ticket, [])
        return flight.FlightInfo(result.schema, descriptor, [endpoint], -1, -1)

    def get_schema(self, context, descriptor):
        caller = self._caller(context)
        cmd = self._command(descriptor)
        try:
            result = self._run_command(caller, self._command_database(caller, cmd), cmd)
        except Exception as e:  # noqa: BLE001
            raise _as_flight_error(e, self.engine.data_dir) from None
        _close(result)
        return flight.SchemaResult(result.schema)

    # -- prepared statements

    def list_actions(self, context):
        return [(flightsql.CREATE_PREPARED_STATEMENT, "Prepare a SQL statement (Flight SQL)"),
                (flightsql.CLOSE_PREPARED_STATEMENT, "Release a prepared statement (Flight SQL)")]

    def do_action(self, context, action):
        caller = self._caller(context)
        body = action.body.to_pybytes() if action.body is not None else b""
        if action.type == flightsql.CREATE_PREPARED_STATEMENT:
            try:
                req = flightsql.decode_create_prepared(body)
            except pw.ProtoError as e:
                raise _invalid(f"Invalid CreatePreparedStatement request: {e}") from None
            database = self._database(caller)
            caller.require(database)
            handle = flightsql.Handle(req.query).encode()
            answer = flightsql.encode_create_prepared_result(handle, self._prepared_schema(database, req.query), b"")
            return [flight.Result(pa.py_buffer(answer))]
        if action.type == flightsql.CLOSE_PREPARED_STATEMENT:
            try:
                flightsql.decode_close_prepared(body)
            except pw.ProtoError as e:
                raise _invalid(f"Invalid ClosePreparedStatement request: {e}") from None
            return []  # handles carry their statement: nothing is kept, nothing to release
        raise pa.ArrowNotImplementedError(f"unknown action {action.type!r}")

    def _prepared_schema(self, database: str, query: str) -> bytes:
        """The result schema of a statement without its parameters, when it plans without them
        (a statement that needs its parameters gets its schema with the results)."""
        try:
            result = self.engine.query_sql(database, query, query_type="flightsql",
                                           log_text=f"CreatePreparedStatement {query}")
        except Exception:  # noqa: BLE001 - e.g. a parameter without a value
            return b""
        _close(result)
        return result.schema.serialize().to_pybytes()

    def do_put(self, context, descriptor, reader, writer):
        caller = self._caller(context)
        cmd = self._command(descriptor)
        if not isinstance(cmd, flightsql.PreparedStatementQuery):
            raise pa.ArrowNotImplementedError("DoPut binds the parameters of a prepared statement only")
        handle = _decode_handle(cmd.handle)
        caller.require(self._database(caller))
        params = bind_parameters(_parameter_rows(reader))
        writer.write(pa.py_buffer(flightsql.encode_put_prepared_result(
            flightsql.Handle(handle.query, params).encode())))


def _decode_handle(raw: bytes) -> flightsql.Handle:
    try:
        return flightsql.Handle.decode(raw)
    except pw.ProtoError as e:
        raise _invalid(f"Invalid prepared statement handle: {e}") from None


def _parameter_rows(reader) -> pa.Table:
    """The bound rows, read only as far as needed to know there is at most one (a client cannot
    make the server hold a large upload)."""
    batches = []
    rows = 0
    for chunk in reader:
        if chunk.data is None:
            continue
        rows += chunk.data.num_rows
        if rows > 1:
            raise _invalid("expected one row of parameters, got more")
        batches.append(chunk.data)
    return pa.Table.from_batches(batches, schema=reader.schema)


def bind_parameters(table: pa.Table) -> dict:
    """A prepared statement's parameters from the one-row batch a client binds: each column by
    its position (``$1`` is the first column) and, unless the name is a number (ADBC names them
    ``0``, ``1``...), by its name."""
    if table.num_rows > 1:
        raise _invalid(f"expected one row of parameters, got {table.num_rows}")
    params: dict = {}
    for i, (name, column) in enumerate(zip(table.column_names, table.columns), start=1):
        value = _param_value(column[0].as_py()) if table.num_rows else None
        params[str(i)] = value
        name = name.lstrip("$")
        if name and not name.isdigit():
            params[name] = value
    return params


def _param_value(value: Any) -> Any:
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, dt.datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=dt.timezone.utc)
        return value.isoformat().replace("+00:00", "Z")
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, bytes):
        raise _invalid("binary parameters are not supported")
    return str(value)


def _stream(result: Any, data_dir: Any = None) -> flight.FlightDataStream:
    """Stream an engine result batch by batch (a metadata table as it is). An error while
    streaming (a query failing as it executes, or cancelled) gets the status it would have had
    before the first batch."""
    if isinstance(result, pa.Table):
        return flight.RecordBatchStream(result)
    reader = getattr(result, "reader", None)
    if reader is None:  # pragma: no cover
        return flight.RecordBatchStream(result.to_table())

    def batches():
        try:
            yield from reader
        except Exception as e:  # noqa: BLE001 - mapped to a gRPC status
            raise _as_flight_error(e, data_dir) from None
        finally:
            _close(result)

    return flight.GeneratorStream(reader.schema, batches())
