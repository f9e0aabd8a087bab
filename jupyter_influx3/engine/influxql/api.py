"""InfluxDB 3's InfluxQL query (``/api/v3/query_influxql``, ``Engine.query_influxql``).

One statement; the database from the caller and/or the statement (they must agree); the answer
is the flat table: ``iox::measurement``, ``time``, the GROUP BY tags, then the selected columns.
Errors are :class:`InfluxqlQueryError` carrying the HTTP status InfluxDB 3 answers with.
Shared by the HTTP handler (which authorizes between :func:`prepare` and :func:`run`) and the
engine's Python API.
"""

from __future__ import annotations

import threading
from typing import Optional

import pyarrow as pa

from ..errors import DatabaseNotFound, QueryError
from . import ast
from .executor import Executor, format_go_duration
from .parser import ParseError
from .results import flat_table

_LOCK = threading.Lock()


class InfluxqlQueryError(QueryError):
    """A query InfluxDB 3 refuses; ``status`` is its HTTP status."""

    def __init__(self, message: str, status: int = 400):
        super().__init__(message)
        self.status = status


class InfluxqlResult:
    """The flat answer, shaped like the SQL layer's ``QueryResult`` (schema, reader, to_table)."""

    def __init__(self, table: pa.Table):
        self._table = table
        self.schema = table.schema

    @property
    def reader(self) -> pa.RecordBatchReader:
        return pa.RecordBatchReader.from_batches(self.schema, self._table.to_batches())

    def to_table(self) -> pa.Table:
        return self._table

    def close(self) -> None:
        pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def executor_for_engine(engine) -> Executor:
    """One executor per engine (v3 dialect), created on first use."""
    ex = getattr(engine, "_influxql_v3_executor", None)
    if ex is None:
        with _LOCK:
            ex = getattr(engine, "_influxql_v3_executor", None)
            if ex is None:
                ex = Executor(engine, dialect="v3")
                try:
                    engine._influxql_v3_executor = ex
                except AttributeError:
                    pass
    return ex


def statement_db(stmt: ast.Statement) -> Optional[str]:
    """The database a statement names in FROM / ON, if any."""
    db = getattr(stmt, "database", None)
    if db:
        return db
    for node in ast.walk(stmt):
        if isinstance(node, ast.Measurement) and node.database:
            return node.database
    return None


def prepare(ex: Executor, text: str, params: Optional[dict], database: Optional[str]):
    """Parse ``text`` into its one statement and resolve the database: ``(stmt, db)``."""
    try:
        query = ex.parse(text, params)
    except ParseError as e:
        if e.missing_parameter:
            raise InfluxqlQueryError(f"Bind parameter '${e.missing_parameter}' was referenced in the InfluxQL "
                                     f"statement but its value is undefined") from None
        raise InfluxqlQueryError(f"error in InfluxQL statement: parsing error: {e}") from None
    if len(query.statements) != 1:
        raise InfluxqlQueryError("must provide only one InfluxQl statement per query")
    stmt = query.statements[0]
    stmt_db = statement_db(stmt)
    if database and stmt_db and database != stmt_db:
        raise InfluxqlQueryError(
            f"provided a database in both the parameters ({database}) and query string ({stmt_db}) that do not "
            "match, if providing a query with a database, either omit the parameter or provide the same database")
    return stmt, database or stmt_db


def run(ex: Executor, stmt: ast.Statement, db: Optional[str]) -> pa.Table:
    """Execute a prepared statement into the flat table."""
    engine = ex.engine
    if isinstance(stmt, ast.ShowDatabasesStatement):
        return _show_databases(engine)
    if isinstance(stmt, ast.ShowRetentionPoliciesStatement):
        return _show_retention_policies(engine, db)
    if not db:
        raise InfluxqlQueryError("must specify a 'db' parameter, or provide the database in the InfluxQL query")
    engine.catalog.refresh()
    d = engine.catalog.db(db)
    if d is None or d.deleted:
        raise InfluxqlQueryError(f"query error: database not found: {db}", 404)
    if isinstance(stmt, (ast.CreateDatabaseStatement, ast.DropDatabaseStatement, ast.DropMeasurementStatement)):
        raise InfluxqlQueryError(f"error in InfluxQL statement: unsupported statement: {stmt}")
    res = ex.execute_statement(stmt, 0, database=db)
    if res.error is not None:
        raise InfluxqlQueryError(res.error)
    group_tags = None
    if isinstance(stmt, ast.SelectStatement):
        group_tags = sorted({k for s in res.series for k in (s.tags or {})})
    table = flat_table(res, group_tags)
    if isinstance(stmt, ast.ExplainStatement) and table.num_columns:
        # DataFusion's explain schema: the plan's kind is `plan_type`, not a measurement
        table = table.rename_columns(["plan_type"] + table.column_names[1:])
    return table


def query_influxql(engine, database: Optional[str], query: str, params: Optional[dict] = None) -> InfluxqlResult:
    """``Engine.query_influxql``: run one InfluxQL statement, the flat table as a result object."""
    ex = executor_for_engine(engine)
    stmt, db = prepare(ex, query, params, database)
    try:
        return InfluxqlResult(run(ex, stmt, db))
    except InfluxqlQueryError as e:
        if e.status == 404 and db:
            raise DatabaseNotFound(db) from None
        raise


def _show_databases(engine) -> pa.Table:
    engine.catalog.refresh()
    dbs = list(engine.catalog.databases.values())
    dbs.sort(key=lambda d: (d.deleted, d.name))
    return pa.table({"iox::database": pa.array([d.name for d in dbs], pa.string()),
                     "deleted": pa.array([bool(d.deleted) for d in dbs], pa.bool_())})


def _show_retention_policies(engine, db: Optional[str]) -> pa.Table:
    engine.catalog.refresh()
    if db:
        d = engine.catalog.db(db)
        if d is None or d.deleted:
            raise InfluxqlQueryError(f"query error: database not found: {db}", 404)
        dbs = [d]
    else:
        dbs = sorted(engine.catalog.live_databases(), key=lambda d: d.name)
    names, rps, durations = [], [], []
    for d in dbs:
        base, _, rp = d.name.partition("/")
        names.append(base if rp else d.name)
        rps.append(rp or "autogen")
        durations.append(format_go_duration(d.retention_ns or 0))
    return pa.table({"iox::database": pa.array(names, pa.string()), "name": pa.array(rps, pa.string()),
                     "duration": pa.array(durations, pa.string())})
