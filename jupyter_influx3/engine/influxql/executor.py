"""Executing InfluxQL statements against an :class:`~jupyter_influx3.engine.engine.Engine`.

:class:`Executor` is what ``/query``, ``/api/v3/query_influxql`` and ``%%influxql`` call::

    ex = Executor(engine)
    for result in ex.execute("SELECT mean(usage) FROM cpu GROUP BY time(1m)", database="db"):
        ...   # StatementResult: statement_id, series (name, tags, columns, values), error

* SELECT (planned by :mod:`.planner`, run by :mod:`.select`), with 1.x's answers and errors;
* SHOW DATABASES, MEASUREMENTS, TAG KEYS, TAG VALUES, FIELD KEYS, SERIES, RETENTION POLICIES and
  the ``[EXACT] CARDINALITY`` forms, in 1.x's shapes;
* CREATE DATABASE / DROP DATABASE / DROP MEASUREMENT (older tools send them to ``/query``);
* statement errors are results (``error``), as 1.x answers them inside a 200.

Retention policies: ``db.rp.m`` reads database ``db/rp`` when that database exists (InfluxDB 3
maps a v1 retention policy to such a database), else database ``db``.
"""

from __future__ import annotations

import functools
import json
import logging
import re
import threading
import time
from typing import Any, Callable, Iterator, Optional

from .. import cancellation
from .. import errors as engine_errors
from ..concurrency import slots_for
from ..querylimits import check_statement, limits_for
from ..recent import Recent
from ..sql import service_for
from ..sql.runner import QueryLogEntry, new_query_id
from . import ast, dashboard, shapes
from .ast import BinaryExpr, Measurement, ParenExpr, SelectStatement, VarRef
from .condition import ConditionError, condition_expr, has_time_expr
from .functions import MIN_TIME, FunctionError, Vec, window_start
from .parser import ParseError, parse_query
from .planner import CATALOG_TYPES, MeasurementInfo, PlanContext, PlanError, prepare_select, replanned
from .results import Series, StatementResult
from .scan import Scanner, series_key
from .select import KEPT_PLAN, ExecError, Extent, SeriesData, eval_expr, run_extent, run_select

__all__ = ["Executor", "StatementError", "statement_databases", "DatabaseNotFoundError"]

log = logging.getLogger(__name__)


class StatementError(Exception):
    """A statement that fails with 1.x's message (becomes the result's ``error``)."""


class DatabaseNotFoundError(StatementError):
    def __init__(self, name: str):
        super().__init__(f"database not found: {name}")
        self.name = name


#: how a statement's unknown database is worded on /query (InfluxDB 3's text)
DB_NOT_FOUND = "Cannot retrieve database: External error: database not found: {}"


def _measurement_info(db, table) -> MeasurementInfo:
    fields = {}
    tags = []
    for name, col in table.columns.items():
        if col.type == "tag":
            tags.append(name)
        elif col.type in CATALOG_TYPES:
            fields[name] = CATALOG_TYPES[col.type]
    return MeasurementInfo(table.name, db, table, fields, sorted(tags))


def statement_databases(stmt: ast.Statement, default_db: Optional[str]) -> list[str]:
    """The databases a statement reads (for authorization): its ``ON db``, the databases named in
    FROM (``db.rp.m``, ``db..m``), else the default database."""
    dbs: list[str] = []

    def add(name):
        if name and name not in dbs:
            dbs.append(name)

    if isinstance(stmt, ast.ShowDatabasesStatement):
        return []
    if isinstance(stmt, (ast.CreateDatabaseStatement, ast.DropDatabaseStatement)):
        return [stmt.name]
    on = getattr(stmt, "database", None)
    if on:
        add(on)
    used_default = False
    for node in ast.walk(stmt):
        if isinstance(node, Measurement):
            if node.database:
                add(node.database)
            else:
                used_default = True
    if isinstance(stmt, SelectStatement) or used_default or (not on and not isinstance(
            stmt, ast.ShowRetentionPoliciesStatement)):
        if (used_default or not dbs) and default_db:
            add(default_db)
    if isinstance(stmt, ast.ShowRetentionPoliciesStatement) and not on and default_db:
        add(default_db)
    return dbs


def format_go_duration(ns: int) -> str:
    """Go's time.Duration.String() for whole seconds (``0s``, ``1h0m0s``, ``720h0m0s``)."""
    if ns == 0:
        return "0s"
    sign = "-" if ns < 0 else ""
    ns = abs(ns)
    secs, frac = divmod(ns, 1_000_000_000)
    h, rem = divmod(secs, 3600)
    m, s = divmod(rem, 60)
    sec = f"{s}" + (("." + f"{frac:09d}".rstrip("0")) if frac else "")
    if h:
        return f"{sign}{h}h{m}m{sec}s"
    if m:
        return f"{sign}{m}m{sec}s"
    if secs == 0:
        if ns % 1_000_000 == 0:
            return f"{sign}{ns // 1_000_000}ms"
        if ns % 1000 == 0:
            return f"{sign}{ns // 1000}µs"
        return f"{sign}{ns}ns"
    return f"{sign}{sec}s"


def shard_group_duration(retention_ns: Optional[int]) -> int:
    d = retention_ns or 0
    day = 86400 * 10**9
    if d == 0 or d >= 180 * day:
        return 7 * day
    if d >= 2 * day:
        return day
    return 3600 * 10**9


#: parsed query texts kept (see Executor.parse)
PARSED_KEPT = 512
def _names_measurement_without_db(stmt) -> bool:
    """Whether a FROM in ``stmt`` names a measurement without its database (kept on the tree:
    the answer never changes, and the walk over the whole tree would run on every query)."""
    return ast.shape_memo(stmt, "_bare_measurement",
                    lambda: any(isinstance(n, Measurement) and not n.database for n in ast.walk(stmt)))


#: plans kept per executor (see Executor._plan)
PLANS_KEPT = 256
#: the nodes of a statement whose plan is kept at most: a kept plan keeps its tree, and 256 trees
#: of statements as large as the limits allow would hold gigabytes a reader chose
PLAN_KEPT_NODES = 2_000


def _nodes(stmt) -> int:
    return ast.shape_memo(stmt, "_nodes", lambda: len(ast.walk(stmt)))


def _time_free_plan(stmt: SelectStatement, p, now: int) -> bool:
    """Whether the plan of ``stmt`` is the same whenever it is made (for the same catalog): no
    ``now()`` anywhere, no end of the time range that defaulted to now, no subquery (their plans
    are changed while they run)."""
    calls_now = ast.shape_memo(stmt, "_calls_now",
                         lambda: any(isinstance(n, ast.Call) and n.name.lower() == "now" for n in ast.walk(stmt)))
    if calls_now or p.end == now or p.start == now:
        return False
    return all(src.subquery is None for src in p.sources)


def _run_copy(p):
    """A plan of one's own to run: a run sets fields of its plan for a while (``start``), and the
    lists end up in the answer.  (copy.copy's reduce protocol costs a few microseconds a run.)"""
    q = object.__new__(type(p))
    q.__dict__.update(p.__dict__)
    q.columns, q.dimensions = list(p.columns), list(p.dimensions)
    return q


#: recent parses: (text, params) -> (the limits the text was checked against, its tree)
_PARSED: Recent = Recent(PARSED_KEPT)   # (text, params) -> (limits, tree)
_PARSED_LOCK = threading.Lock()


class Executor:
    """Runs InfluxQL on one engine."""

    def __init__(self, engine, *, max_select_buckets: Optional[int] = None, db_not_found: str = DB_NOT_FOUND,
                 dialect: str = "v1"):
        self.engine = engine
        self.dialect = dialect  # "v1": InfluxDB 1.x answers (/query); "v3": InfluxDB 3's (query_influxql)
        # None: the engine's limit (querylimits.py), checked on bounded ranges only
        self.max_select_buckets = max_select_buckets
        #: (id(tree), db, rp) -> (tree, (catalog, its seq, bucket limit), plan): see _plan
        self._plans: Recent = Recent(PLANS_KEPT)
        self._plans_lock = threading.Lock()
        #: (id(a shape's statement), db, rp) -> (that statement, (catalog, its seq, bucket limit), a
        #: plan of the shape): see _plan_like
        self._shape_plans: Recent = Recent(PLANS_KEPT)
        self.db_not_found = db_not_found

    # -- entry points ----------------------------------------------------------------------------

    def parse(self, text: str, params: Optional[dict] = None) -> ast.Query:
        """Parse ``text`` (raises :class:`ParseError`); the trees of recent texts are kept
        (nodes are immutable), as dashboards send the same query text again and again, and so are
        the shapes of recent texts (shapes.py), as they send it with a new time range. A text
        past the engine's size or structure limits (querylimits.py) is refused unparsed."""
        limits = limits_for(self.engine)
        try:
            key = (text, json.dumps(params, sort_keys=True, default=repr) if params else None)
        except (TypeError, ValueError):
            key = None
        if key is not None:
            with _PARSED_LOCK:
                hit = _PARSED.recall(key)
                if hit is not None and hit[0] == vars(limits):
                    # a kept tree passed the same limits' checks when it was parsed
                    return hit[1]
        try:
            check_statement(text, limits)
        except engine_errors.QueryError as e:
            raise ParseError(str(e)) from None
        # a text like one parsed before but for its literals gets that tree with its own values
        q = parse_query(text, params) if params else shapes.parse(text)
        if key is None or len(text) > shapes.MAX_TEXT:
            return q   # (512 kept trees of texts as long as the limits allow would hold gigabytes)
        with _PARSED_LOCK:
            # (the limits as a copy: limits changed in place later differ)
            _PARSED.keep(key, (dict(vars(limits)), q))
        return q

    def execute(self, query: str | ast.Query, *, database: Optional[str] = None,
                retention_policy: Optional[str] = None, params: Optional[dict] = None,
                now_ns: Optional[int] = None, authorize: Optional[Callable[[ast.Statement], None]] = None,
                log_text: Optional[str] = None) -> Iterator[StatementResult]:
        """Run every statement; yields one :class:`StatementResult` per statement, in order.
        ``authorize(stmt)`` may raise to refuse a statement (the exception propagates)."""
        q = self.parse(query, params) if isinstance(query, str) else query
        now = now_ns if now_ns is not None else time.time_ns()
        for i, stmt in enumerate(q.statements):
            if authorize is not None:
                authorize(stmt)
            yield self.execute_statement(stmt, i, database=database, retention_policy=retention_policy,
                                         now_ns=now, log_text=log_text if log_text is not None else ast.text(stmt))

    def execute_statement(self, stmt: ast.Statement, statement_id: int = 0, *, database: Optional[str] = None,
                          retention_policy: Optional[str] = None, now_ns: Optional[int] = None,
                          log_text: Optional[str] = None) -> StatementResult:
        now = now_ns if now_ns is not None else time.time_ns()
        scope = cancellation.current()
        if scope is not None:
            scope.check()  # a stopped query runs no further statement (its Python work is not interruptible)
        entry = self._log_start(stmt, database, log_text)
        try:
            with slots_for(self.engine).hold():   # the query concurrency limit (engine/concurrency.py)
                series = self._dispatch(stmt, database, retention_policy, now)
            res = StatementResult(statement_id, series)
            self._log_end(entry, True)
            return res
        except (StatementError, PlanError, ExecError, ConditionError, FunctionError) as e:
            self._log_end(entry, False, str(e))
            return StatementResult(statement_id, [], str(e))
        except engine_errors.EngineError as e:
            self._log_end(entry, False, str(e))
            return StatementResult(statement_id, [], getattr(e, "message", str(e)))
        finally:
            # what a bound check found for this statement's run is not held past it (a series copy)
            dashboard.forget()

    # -- query log (system.queries) --------------------------------------------------------------

    def _log_start(self, stmt, database, text):
        try:
            svc = service_for(self.engine)
            # the statement's text is made when the log is read: made here, it cost a new text ~40 µs
            entry = QueryLogEntry(new_query_id(), time.time_ns(), "influxql", text or functools.partial(ast.text, stmt),
                                  database or "")
            entry._t0 = time.perf_counter()
            svc.log.append(entry)
            return entry
        except Exception:  # noqa: BLE001 - logging never fails a query
            return None

    def _log_end(self, entry, ok: bool, error: Optional[str] = None) -> None:
        if entry is None:
            return
        dur = int((time.perf_counter() - entry._t0) * 1e9)
        entry.running, entry.success = False, ok
        entry.phase = "success" if ok else "fail"
        entry.end2end_duration = entry.execute_duration = dur
        entry.error = error

    # -- dispatch --------------------------------------------------------------------------------

    def _dispatch(self, stmt, database, rp, now) -> list[Series]:
        if self.dialect == "v3":
            _v3_show_checks(stmt)
        if isinstance(stmt, SelectStatement):
            if stmt.target is not None:
                return self.select_into(stmt, database, rp, now)
            return self.select(stmt, database, rp, now)
        if isinstance(stmt, ast.ExplainStatement):
            return self.explain(stmt, database, rp, now)
        if isinstance(stmt, ast.ShowDatabasesStatement):
            return self.show_databases()
        if isinstance(stmt, ast.ShowRetentionPoliciesStatement):
            return self.show_retention_policies(stmt.database or database)
        if isinstance(stmt, ast.ShowMeasurementsStatement):
            return self.show_measurements(stmt, database, now)
        if isinstance(stmt, ast.ShowMeasurementCardinalityStatement):
            return self.show_measurement_cardinality(stmt, database, now)
        if isinstance(stmt, ast.ShowTagKeysStatement):
            return self.show_tag_keys(stmt, database, now)
        if isinstance(stmt, ast.ShowTagKeyCardinalityStatement):
            return self.show_tag_key_cardinality(stmt, database, now)
        if isinstance(stmt, ast.ShowTagValuesStatement):
            return self.show_tag_values(stmt, database, now)
        if isinstance(stmt, ast.ShowTagValuesCardinalityStatement):
            return self.show_tag_values_cardinality(stmt, database, now)
        if isinstance(stmt, ast.ShowFieldKeysStatement):
            return self.show_field_keys(stmt, database)
        if isinstance(stmt, ast.ShowFieldKeyCardinalityStatement):
            return self.show_field_key_cardinality(stmt, database, now)
        if isinstance(stmt, ast.ShowSeriesStatement):
            return self.show_series(stmt, database, now)
        if isinstance(stmt, ast.ShowSeriesCardinalityStatement):
            return self.show_series_cardinality(stmt, database, now)
        if isinstance(stmt, ast.CreateDatabaseStatement):
            return self.create_database(stmt)
        if isinstance(stmt, ast.DropDatabaseStatement):
            return self.drop_database(stmt)
        if isinstance(stmt, ast.DropMeasurementStatement):
            return self.drop_measurement(stmt, database)
        if isinstance(stmt, ast.ShowUsersStatement):
            return [Series(None, ["user", "admin"], [], time_index=None)]
        if isinstance(stmt, ast.ShowContinuousQueriesStatement):
            return []
        if isinstance(stmt, ast.ShowQueriesStatement):
            return [Series(None, ["qid", "query", "database", "duration", "status"], [], time_index=None)]
        raise StatementError(f"statement not supported: {stmt}")

    # -- catalog helpers -------------------------------------------------------------------------

    def _db(self, name: Optional[str], rp: Optional[str] = None, refresh: bool = True):
        if not name:
            raise StatementError("database name required")
        cat = self.engine.catalog
        if refresh:
            cat.refresh()
        if rp and rp.lower() not in ("autogen", "default", "''"):
            d = cat.db(f"{name}/{rp}")
            if d is not None and not d.deleted:
                return d
        d = cat.db(name)
        if d is None or d.deleted:
            raise DatabaseNotFoundError(name)
        return d

    def _tables(self, db) -> dict[str, Any]:
        return {t.name: t for t in db.live_tables()}

    def _resolve(self, default_db: Optional[str], default_rp: Optional[str], refresh: bool = True):
        def resolve(m: Measurement) -> list[MeasurementInfo]:
            dbname = m.database or default_db
            db = self._db(dbname, m.retention_policy or default_rp, refresh)
            tables = self._tables(db)
            if m.regex is not None:
                rx = m.regex.compile()
                names = sorted(n for n in tables if rx.search(n))
            else:
                names = [m.name] if m.name in tables else []
            return [_measurement_info(db, tables[n]) for n in names]
        return resolve

    def _source_tables(self, db, sources) -> list:
        tables = self._tables(db)
        if sources is None:
            return [tables[n] for n in sorted(tables)]
        out = []
        seen = set()
        for src in sources:
            if not isinstance(src, Measurement):
                continue
            if src.regex is not None:
                rx = src.regex.compile()
                names = sorted(n for n in tables if rx.search(n))
            else:
                names = [src.name] if src.name in tables else []
            for n in names:
                if n not in seen:
                    seen.add(n)
                    out.append(tables[n])
        return sorted(out, key=lambda t: t.name)

    def _show_db(self, stmt, database):
        name = getattr(stmt, "database", None) or database
        if not name:
            raise StatementError("database name required")
        return self._db(name)

    # -- SELECT ----------------------------------------------------------------------------------

    def select(self, stmt: SelectStatement, database, rp, now) -> list[Series]:
        # the scanner picks up what other nodes committed (catalog included) before the plan is
        # made, so planning need not look at the catalog files a second time
        scanner = Scanner(self.engine, now)
        try:
            p = self._plan(stmt, database, rp, now)
        except BaseException:
            scanner.close()
            raise
        return self.run_prepared(p, now, scanner)

    def _plan(self, stmt: SelectStatement, database, rp, now):
        """``prepare``, or a copy of the plan made for the same tree, defaults and catalog when
        planning did not depend on the time (dashboards send the same text again and again)."""
        cat = self.engine.catalog
        version = (id(cat), cat.seq, limits_for(self.engine).max_select_buckets)
        key = (id(stmt), database, rp)
        with self._plans_lock:
            hit = self._plans.get(key)
        if hit is not None and hit[0] is stmt and hit[1] == version:
            return _run_copy(hit[2])
        p = self._plan_like(stmt, database, rp, now, version)
        if _time_free_plan(stmt, p, now) and _nodes(stmt) <= PLAN_KEPT_NODES:
            # a plan kept for the next runs: its runs keep what they derive (see select._Run)
            p.memo[KEPT_PLAN] = True
            with self._plans_lock:
                # (the tree is kept: its id stays its own)
                self._plans.keep(key, (stmt, version, p))
            return _run_copy(p)
        return p

    def _plan_like(self, stmt: SelectStatement, database, rp, now, version):
        """``prepare``; for a statement made from a shape's template that differs from the
        template's statement in its WHERE alone (shapes.py), from the plan of another statement
        of that shape (planner.replanned), which is kept per executor."""
        like = stmt.__dict__.get(ast.LIKE)
        if like is None:
            return self.prepare(stmt, database, rp, now, refreshed=True)
        key = (id(like), database, rp)
        with self._plans_lock:
            # (the template's own statement's plan, when the executor kept it, serves as well)
            got = self._shape_plans.recall(key) or self._plans.get(key)
        if got is not None and got[0] is like and got[1] == version:
            ctx = PlanContext(now_ns=now, resolve=self._resolve(database, rp, False),
                              max_select_buckets=self.max_select_buckets or 0)
            p = replanned(got[2], stmt, ctx)
            if p is not None:
                self._check_buckets(p)
                return p
        p = self.prepare(stmt, database, rp, now, refreshed=True)
        with self._plans_lock:
            # (a copy made now: a run sets fields of its plan for a while)
            self._shape_plans.keep(key, (like, version, _run_copy(p)))
        return p

    def extent(self, stmt: SelectStatement, database, rp, now, max_series: int) -> Optional[Extent]:
        """What the run of ``stmt`` would read and answer at most (select._Run.extent), or None:
        not known before it runs, or it does not plan (its error is the run's to answer).  Reads
        no row and builds no series copy; the plan is kept for the run as ``select`` keeps it."""
        scanner = Scanner(self.engine, now)
        try:
            p = self._plan(stmt, database, rp, now)
            got = dashboard.extent(p, scanner, max_series) if self.dialect == "v1" else None
            return got if got is not None else run_extent(p, scanner, max_series, self.dialect)
        except (StatementError, PlanError, ExecError, ConditionError, FunctionError, engine_errors.EngineError):
            return None
        finally:
            scanner.close()

    def run_prepared(self, p, now, scanner: Optional[Scanner] = None) -> list[Series]:
        """The series of a prepared SELECT (read through ``scanner``, else a new one)."""
        if scanner is None:
            scanner = Scanner(self.engine, now)
        try:
            # a dashboard's panel (one series, GROUP BY time()) straight from the series cache
            rows = dashboard.run(p, scanner) if self.dialect == "v1" else None
            if rows is None:
                rows = run_select(p, scanner, self.dialect)
        finally:
            scanner.close()
        return self._to_series(p, rows)

    def prepare(self, stmt: SelectStatement, database, rp, now, check_limits: bool = True,
                refreshed: bool = False):
        """Plan a SELECT (the statement's errors are raised here): the prepared statement.
        `check_limits=False` for a plan that is only shown (EXPLAIN): nothing is read or filled.
        `refreshed`: the caller has just refreshed the engine (the catalog is not read again)."""
        ctx = PlanContext(now_ns=now, resolve=self._resolve(database, rp, not refreshed),
                          max_select_buckets=self.max_select_buckets or 0)
        # a FROM without database needs a default database
        if not database and _names_measurement_without_db(stmt):
            raise StatementError("database name required")
        try:
            p = prepare_select(stmt, ctx)
        except DatabaseNotFoundError as e:
            # InfluxDB 3 words a missing default database (the `db` parameter) its own way;
            # a database named in FROM fails like 1.x
            if e.name == database and not any(isinstance(n, Measurement) and n.database == e.name
                                              for n in ast.walk(stmt)):
                raise StatementError(self.db_not_found.format(e.name)) from None
            raise
        if check_limits:
            self._check_buckets(p)
        return p

    def _check_buckets(self, p) -> None:
        n = self.max_select_buckets
        configured = n is not None
        if not configured:
            # the engine's default guards explicit ranges (time(1ns) over a year); an open-ended
            # range is bounded by max-select-point instead of being silently shortened
            n = limits_for(self.engine).max_select_buckets
        if n <= 0 or p.is_raw or not p.interval:
            return
        if p.start > MIN_TIME:
            first = window_start(p.start, p.interval, p.offset, p.location)
            last = window_start(p.end, p.interval, p.offset, p.location)
            buckets = (last - first + p.interval) // p.interval
            if buckets > n:
                raise StatementError(f"max-select-buckets limit exceeded: ({buckets}/{n})")
        elif configured:
            # no lower bound: only the last N buckets are read (the fill still starts at the data)
            last = window_start(p.end, p.interval, p.offset, p.location)
            p.read_start = max(p.read_start, last - p.interval * (n - 1))

    def _to_series(self, p, rows: list[SeriesData]) -> list[Series]:
        # the answer becomes Python values (~5x its arrays): 1.x's max-select-point bounds it first
        limit = limits_for(self.engine).max_select_points
        points = sum(len(s.time) for s in rows)
        if limit and points > limit:
            raise StatementError(f"max-select-point limit exceeed: ({points}/{limit})")
        out = []
        columns = p.columns
        has_dims = bool(p.dimensions)
        for s in rows:
            # the arrays as they are: the flat table reads them, /query's JSON makes lists of them
            ks = ["time"] + [_kind_name(c) for c in s.cols]
            out.append(Series(s.name, columns, tags=dict(s.tags) if has_dims else None, time_index=0,
                              kinds=ks, location=p.location, arrays=(s.time, list(s.cols))))
        return out

    # -- SHOW ------------------------------------------------------------------------------------

    def show_databases(self) -> list[Series]:
        cat = self.engine.catalog
        cat.refresh()
        names = [d.name for d in sorted(cat.live_databases(), key=lambda d: d.id)]
        return [Series("databases", ["name"], [[n] for n in names], time_index=None, kinds=["string"])]

    def show_retention_policies(self, database) -> list[Series]:
        db = self._db(database) if database else None
        if db is None:
            raise StatementError("database name required")
        ret = db.retention_ns or 0
        row = ["autogen", format_go_duration(ret), format_go_duration(shard_group_duration(ret)), 1, True]
        return [Series("retention_policies" if self.dialect == "v3" else None, ["name", "duration", "shardGroupDuration", "replicaN", "default"], [row],
                       time_index=None, kinds=["string", "string", "string", "integer", "boolean"])]

    def _series_of(self, db, table, cond, now, key_filter=None, missing_is_null: bool = False) -> list[dict]:
        """The series (tag sets) of ``table`` matching ``cond`` (tags only; a time range limits
        them to series with points in it)."""
        tags = sorted(c for c, col in table.columns.items() if col.type == "tag")
        lo = hi = None
        rest = cond
        if cond is not None:
            try:
                rest, tr = condition_expr(cond, now)
            except ConditionError as e:
                raise StatementError(str(e)) from None
            lo, hi = tr.min, tr.max
        info = _measurement_info(db, table)
        scanner = Scanner(self.engine, now)
        try:
            src, where, _lo, _hi = scanner.source(info, lo, hi)
            from .scan import _q
            sel = ", ".join(_q(t) for t in tags) if tags else "1 AS __one"
            sql = f"SELECT DISTINCT {sel} FROM {src} AS __v"
            if where:
                sql += " WHERE " + " AND ".join(where)
            tbl = scanner.query(sql)
        finally:
            scanner.close()
        cols = {t: tbl.column(t).to_pylist() for t in tags}
        out = []
        for i in range(tbl.num_rows):
            s = {t: cols[t][i] for t in tags if cols[t][i] not in (None, "")}
            out.append(s)
        if rest is not None:
            out = [s for s in out if _eval_tag_cond(rest, s, table.name, missing_is_null=missing_is_null)]
        return out

    def _check_no_time(self, stmt, what: str) -> None:
        if getattr(stmt, "condition", None) is not None and has_time_expr(stmt.condition):
            raise StatementError(f"{what} doesn't support time in WHERE clause")

    def show_measurements(self, stmt, database, now) -> list[Series]:
        if self.dialect != "v3":
            self._check_no_time(stmt, "SHOW MEASUREMENTS")
        db = self._show_db(stmt, database)
        tables = self._tables(db)
        names = sorted(tables)
        if stmt.source is not None:
            src = stmt.source
            if src.regex is not None:
                rx = src.regex.compile()
                names = [n for n in names if rx.search(n)]
            else:
                names = [n for n in names if n == src.name]
        if stmt.condition is not None:
            if self.dialect == "v3":
                # InfluxDB 3: a measurement is listed when one of its series (with points in the
                # WHERE's time range) satisfies the condition; a missing tag is null
                names = [n for n in names if self._series_of(db, tables[n], stmt.condition, now,
                                                             missing_is_null=True)]
            else:
                names = [n for n in names if self._measurement_matches(db, tables[n], stmt.condition, now)]
        names = _limit(names, stmt.limit, stmt.offset)
        if not names:
            return []
        return [Series("measurements", ["name"], [[n] for n in names], time_index=None, kinds=["string"])]

    def _measurement_matches(self, db, table, cond, now) -> bool:
        """1.x's measurement filter of SHOW MEASUREMENTS: ``=``/``=~`` hold when a series matches;
        ``!=``/``!~`` hold when no series matches the positive comparison."""
        return _measurement_holds(cond, self._series_of(db, table, None, now), table.name)

    def show_measurement_cardinality(self, stmt, database, now) -> list[Series]:
        self._check_no_time(stmt, "SHOW MEASUREMENT EXACT CARDINALITY")
        db = self._show_db(stmt, database)
        tables = self._source_tables(db, stmt.sources)
        if stmt.condition is not None:
            tables = [t for t in tables if self._series_of(db, t, stmt.condition, now, missing_is_null=True)]
        if not tables:
            return []
        return [Series(None, ["count"], [[len(tables)]], time_index=None, kinds=["integer"])]

    def show_tag_keys(self, stmt, database, now) -> list[Series]:
        db = self._show_db(stmt, database)
        out = []
        tables = self._source_tables(db, stmt.sources)
        tables = _limit(tables, stmt.slimit, stmt.soffset)
        for t in tables:
            if stmt.condition is not None:
                series = self._series_of(db, t, stmt.condition, now)
                keys = sorted({k for s in series for k in s})
            else:
                keys = sorted(c for c, col in t.columns.items() if col.type == "tag")
            keys = _limit(keys, stmt.limit, stmt.offset)
            if keys:
                out.append(Series(t.name, ["tagKey"], [[k] for k in keys], time_index=None, kinds=["string"]))
        return out

    def show_tag_key_cardinality(self, stmt, database, now) -> list[Series]:
        self._check_no_time(stmt, "SHOW TAG KEY EXACT CARDINALITY")
        db = self._show_db(stmt, database)
        out = []
        for t in self._source_tables(db, stmt.sources):
            if stmt.condition is not None:
                series = self._series_of(db, t, stmt.condition, now, missing_is_null=True)
                keys = {k for s in series for k in s}
            else:
                keys = {c for c, col in t.columns.items() if col.type == "tag"}
            if keys:
                out.append(Series(t.name, ["count"], [[len(keys)]], time_index=None, kinds=["integer"]))
        return out

    def _tag_values(self, stmt, db, t, now, missing_is_null: bool = False) -> list[tuple[str, str]]:
        keys = [c for c, col in t.columns.items() if col.type == "tag"]
        op, kx = stmt.op, stmt.tag_key_expr
        if op is ast.TagKeyOp.EQ:
            keys = [k for k in keys if k == kx.value]
        elif op is ast.TagKeyOp.NEQ:
            keys = [k for k in keys if k != kx.value]
        elif op is ast.TagKeyOp.EQREGEX:
            rx = kx.compile()
            keys = [k for k in keys if rx.search(k)]
        elif op is ast.TagKeyOp.NEQREGEX:
            rx = kx.compile()
            keys = [k for k in keys if not rx.search(k)]
        elif op is ast.TagKeyOp.IN:
            keys = [k for k in keys if k in kx.values]
        if not keys:
            return []
        cond = stmt.condition
        series = self._series_of(db, t, None if cond is None else _strip_value_refs(cond), now,
                                 missing_is_null=missing_is_null)
        pairs = set()
        empty = set()
        for s in series:
            for k in keys:
                v = s.get(k)
                if v is None:
                    if self.dialect == "v3" and not missing_is_null and cond is None:
                        empty.add(k)  # InfluxDB 3 lists the series without the key as ""
                    continue
                if cond is not None and not _eval_tag_cond(_time_free(cond, now), s, t.name, value=v, key=k,
                                                           missing_is_null=missing_is_null):
                    continue
                pairs.add((k, v))
        out = sorted(pairs)
        if empty:
            # "" (a null tag) sorts after the key's values
            out = sorted(out + [(k, "") for k in empty], key=lambda kv: (kv[0], kv[1] == "", kv[1]))
        return out

    def show_tag_values(self, stmt, database, now) -> list[Series]:
        db = self._show_db(stmt, database)
        out = []
        for t in self._source_tables(db, stmt.sources):
            pairs = _limit(self._tag_values(stmt, db, t, now), stmt.limit, stmt.offset)
            if pairs:
                out.append(Series(t.name, ["key", "value"], [list(p) for p in pairs], time_index=None,
                                  kinds=["string", "string"]))
        return out

    def show_tag_values_cardinality(self, stmt, database, now) -> list[Series]:
        self._check_no_time(stmt, "SHOW TAG VALUES EXACT CARDINALITY")
        db = self._show_db(stmt, database)
        out = []
        for t in self._source_tables(db, stmt.sources):
            pairs = self._tag_values(stmt, db, t, now, missing_is_null=True)
            n = len({v for _, v in pairs})
            if n:
                out.append(Series(t.name, ["count"], [[n]], time_index=None, kinds=["integer"]))
        return out

    def show_field_keys(self, stmt, database) -> list[Series]:
        db = self._show_db(stmt, database)
        out = []
        for t in self._source_tables(db, stmt.sources):
            fields = sorted((c, CATALOG_TYPES[col.type]) for c, col in t.columns.items() if col.type in CATALOG_TYPES)
            fields = _limit(fields, stmt.limit, stmt.offset)
            if fields:
                out.append(Series(t.name, ["fieldKey", "fieldType"], [list(f) for f in fields], time_index=None,
                                  kinds=["string", "string"]))
        return out

    def show_field_key_cardinality(self, stmt, database, now) -> list[Series]:
        self._check_no_time(stmt, "SHOW FIELD KEY EXACT CARDINALITY")
        db = self._show_db(stmt, database)
        out = []
        for t in self._source_tables(db, stmt.sources):
            n = sum(1 for col in t.columns.values() if col.type in CATALOG_TYPES)
            if n:
                out.append(Series(t.name, ["count"], [[n]], time_index=None, kinds=["integer"]))
        return out

    def show_series(self, stmt, database, now) -> list[Series]:
        db = self._show_db(stmt, database)
        keys = []
        for t in self._source_tables(db, stmt.sources):
            for s in self._series_of(db, t, stmt.condition, now):
                keys.append(series_key(t.name, s))
        keys = _limit(sorted(keys), stmt.limit, stmt.offset)
        if not keys:
            return []
        return [Series(None, ["key"], [[k] for k in keys], time_index=None, kinds=["string"])]

    def show_series_cardinality(self, stmt, database, now) -> list[Series]:
        self._check_no_time(stmt, "SHOW SERIES EXACT CARDINALITY")
        db = self._show_db(stmt, database)
        out = []
        for t in self._source_tables(db, stmt.sources):
            n = len(self._series_of(db, t, stmt.condition, now, missing_is_null=True))
            if n:
                out.append(Series(t.name, ["count"], [[n]], time_index=None, kinds=["integer"]))
        return out

    # -- DDL -------------------------------------------------------------------------------------

    def create_database(self, stmt: ast.CreateDatabaseStatement) -> list[Series]:
        from ..catalog import validate_db_name
        name = stmt.name
        try:
            validate_db_name(name)
        except engine_errors.InvalidDatabaseName:
            raise StatementError("invalid name") from None
        if stmt.rp_name is not None and not re.match(r"^[A-Za-z0-9_\-]+$", stmt.rp_name or ""):
            raise StatementError("invalid name")
        retention = stmt.rp_duration if stmt.rp_create else None
        if retention == 0:
            retention = None
        cat = self.engine.catalog
        cat.refresh()
        existing = cat.db(name)
        if existing is not None and not existing.deleted:
            if stmt.rp_create and (stmt.rp_duration is not None) and (existing.retention_ns or None) != retention:
                raise StatementError("retention policy conflicts with an existing policy")
            return []
        try:
            cat.create_database(name, retention, exist_ok=True)
        except engine_errors.AlreadyExists:
            pass
        return []

    def drop_database(self, stmt: ast.DropDatabaseStatement) -> list[Series]:
        cat = self.engine.catalog
        cat.refresh()
        d = cat.db(stmt.name)
        if d is None or d.deleted:
            return []
        try:
            self.engine.delete_database(stmt.name, None)
        except TypeError:
            self.engine.delete_database(stmt.name)
        except engine_errors.NotFound:
            pass
        except engine_errors.CannotModifyInternalDatabase as e:
            raise StatementError(str(e)) from None
        return []

    def drop_measurement(self, stmt: ast.DropMeasurementStatement, database) -> list[Series]:
        db = self._db(database)
        t = db.table(stmt.name)
        if t is None or t.deleted:
            return []
        try:
            self.engine.delete_table(db.name, stmt.name, None)
        except TypeError:
            self.engine.delete_table(db.name, stmt.name)
        except engine_errors.NotFound:
            pass
        return []

    # -- SELECT INTO / EXPLAIN (into.py, explain.py) ---------------------------------------------

    def select_into(self, stmt: SelectStatement, database, rp, now) -> list[Series]:
        """``SELECT ... INTO``: the rows written through the engine's write path (1.x's answer)."""
        if self.dialect == "v3":
            raise StatementError("SELECT INTO is not supported")
        from .into import select_into
        return select_into(self, stmt, database, rp, now)

    def explain(self, stmt: ast.ExplainStatement, database, rp, now) -> list[Series]:
        """``EXPLAIN [ANALYZE] SELECT ...``: 1.x's ``QUERY PLAN`` rows (v3: logical/physical plans)."""
        from .explain import explain
        return explain(self, stmt, database, rp, now)


_V3_NOT_IMPLEMENTED = "Error while planning query: This feature is not implemented: "


def _v3_show_checks(stmt) -> None:
    """InfluxDB 3 refuses a database or retention policy in a SHOW statement's FROM, and
    ``WITH MEASUREMENT`` operators that do not fit their operand."""
    if isinstance(stmt, SelectStatement):
        return
    sources = []
    src = getattr(stmt, "source", None)
    if isinstance(src, Measurement):
        sources.append(src)
        op = getattr(stmt, "source_op", None)
        if op is ast.Op.EQ and src.regex is not None:
            raise StatementError("Error while planning query: Error during planning: expected string but got regex")
        if op is ast.Op.EQREGEX and src.regex is None:
            raise StatementError("Error while planning query: Error during planning: expected regex but got string")
    for m in getattr(stmt, "sources", None) or ():
        if isinstance(m, Measurement):
            sources.append(m)
    for m in sources:
        if m.database:
            raise StatementError(_V3_NOT_IMPLEMENTED + "database name in from clause")
        if m.retention_policy:
            raise StatementError(_V3_NOT_IMPLEMENTED + "retention policy in from clause")


def _kind_name(v: Vec) -> str:
    return v.kind if v.kind != "null" else "float"


def _limit(items: list, limit: int, offset: int) -> list:
    items = items[offset:] if offset else items
    return items[:limit] if limit else items


def _strip_value_refs(cond):
    """SHOW TAG VALUES: drop terms on ``value`` (they filter the listed values, not series)."""
    if isinstance(cond, BinaryExpr):
        if cond.op in (ast.Op.AND, ast.Op.OR):
            l, r = _strip_value_refs(cond.lhs), _strip_value_refs(cond.rhs)
            if l is None:
                return r
            if r is None:
                return l
            return BinaryExpr(cond.op, l, r)
        if any(isinstance(x, VarRef) and x.name in ("value", "_tagValue", "_tagKey", "key") for x in (cond.lhs, cond.rhs)):
            return None
        return cond
    if isinstance(cond, ParenExpr):
        inner = _strip_value_refs(cond.expr)
        return None if inner is None else ParenExpr(inner)
    return cond


def _time_free(cond, now):
    try:
        rest, _ = condition_expr(cond, now)
        return rest
    except ConditionError:
        return cond


def _measurement_holds(e, series: list, name: str) -> bool:
    """Whether SHOW MEASUREMENTS' condition ``e`` holds for a measurement ``name`` of ``series``
    (see Executor._measurement_matches)."""
    if isinstance(e, ParenExpr):
        return _measurement_holds(e.expr, series, name)
    if isinstance(e, BinaryExpr):
        if e.op is ast.Op.AND:
            return _measurement_holds(e.lhs, series, name) and _measurement_holds(e.rhs, series, name)
        if e.op is ast.Op.OR:
            return _measurement_holds(e.lhs, series, name) or _measurement_holds(e.rhs, series, name)
        if e.op in (ast.Op.NEQ, ast.Op.NEQREGEX):
            pos = BinaryExpr(ast.Op.EQ if e.op is ast.Op.NEQ else ast.Op.EQREGEX, e.lhs, e.rhs)
            return not any(_eval_tag_cond(pos, s, name, missing_is_null=True) for s in series)
    return any(_eval_tag_cond(e, s, name) for s in series)


def _eval_tag_cond(cond, tags: dict, name: str, value: Optional[str] = None, key: Optional[str] = None,
                   missing_is_null: bool = False) -> bool:
    """Evaluate a tag condition for one series (missing tags are ``''``, or null -- every
    comparison false -- as 1.x's cardinality statements see them)."""
    if cond is None:
        return True

    def env(node):
        if isinstance(node, VarRef):
            n = node.name
            if value is not None and n in ("value", "_tagValue"):
                return Vec.const(value, 1)
            if key is not None and n in ("key", "_tagKey"):
                return Vec.const(key, 1)
            if n == "_name":
                return Vec.const(name, 1)
            if n in tags:
                return Vec.const(tags[n], 1)
            return Vec.nulls(1, "string") if missing_is_null else Vec.const("", 1)
        return Vec.nulls(1)

    v = eval_expr(cond, env, 1)
    return bool(v.kind == "boolean" and v.valid[0] and v.data[0])
