"""``SELECT ... INTO``: a SELECT whose rows are written back through the engine's write path.

InfluxDB 1.x's semantics (coordinator/statement_executor.go, ``writeInto`` and
``convertRowToPoints``), checked against a real 1.6.7:

* the target is ``INTO m``, ``INTO rp.m``, ``INTO db.rp.m``, ``INTO db..m`` or, to keep each
  source measurement's name, ``INTO db.rp.:MEASUREMENT``; a missing database is the query's ``db``
  (none: ``database name required``), a missing retention policy the query's ``rp`` else the
  default one.  An unknown target database fails before anything is read (``database not found:
  db``); an unknown retention policy fails only when there is something to write (``retention
  policy not found: rp``) -- this engine maps a retention policy to the database ``db/rp``, as
  InfluxDB 3 does for v1 writes;
* every output row becomes a point at the row's time: the tags of its series (the GROUP BY tags;
  ``GROUP BY *`` keeps them all) become tags, every other column a field with the column's type
  (``count()`` an integer, ``mean()`` a float, a selected tag a string field...); a null (or NaN)
  value leaves that field out, a row with no field left is not written;
* ``top()``/``bottom()`` with tag arguments write those tags as tags of the point;
* ``fill(null)`` (the default) is ``fill(none)``: empty windows write nothing;
* the answer is one series ``result`` with columns ``time`` and ``written``: ``[[0, N]]``, N the
  points written;
* points go to the engine's normal write path (:meth:`Engine.write_lp`: catalog, WAL append and
  fsync before the write returns) in batches of 10,000 like 1.x's buffered points writer; a point
  the target refuses (a field of another type) fails the statement with 1.x's ``partial write:
  field type conflict: ... dropped=N`` after the other points of its batch were written.

The InfluxDB 3 dialect (``/api/v3/query_influxql``) has no SELECT INTO; :class:`Executor` refuses it.
"""

from __future__ import annotations

import math
import re
from dataclasses import replace
from typing import Optional

from ..lineprotocol import escape_key, escape_measurement, escape_string_field
from . import ast
from .ast import Call, FillOption, SelectStatement, VarRef
from .functions import MATH_FUNCTIONS
from .results import Series

__all__ = ["select_into", "target_database", "target_write_database", "BATCH_POINTS", "get_warning", "writes"]

#: points per write, as 1.x's BufferedPointsWriter
BATCH_POINTS = 10_000

_AUTOGEN = ("", "''", "autogen", "default")


def _rp_database(db: str, rp: Optional[str]) -> str:
    """The engine database a v1 ``db`` + retention policy writes into (``db/rp``, as /write)."""
    if rp is None or rp.lower() in _AUTOGEN:
        return db
    return f"{db}/{rp.lower()}"


def target_database(stmt: SelectStatement, default_db: Optional[str],
                    default_rp: Optional[str] = None) -> tuple[Optional[str], Optional[str]]:
    """``(database, retention policy)`` an INTO writes to (the query's ``db``/``rp`` filling in)."""
    m = stmt.target.measurement
    return (m.database or default_db or None), (m.retention_policy or default_rp or None)


def target_write_database(stmt: SelectStatement, default_db: Optional[str],
                          default_rp: Optional[str] = None) -> Optional[str]:
    """The engine database an INTO writes into (for authorization), or None without a database."""
    db, rp = target_database(stmt, default_db, default_rp)
    return _rp_database(db, rp) if db else None


# ---------------------------------------------------------------------------------------------
# line protocol


def _fmt_float(v):
    if v is None:
        return None
    f = float(v)
    if math.isnan(f):
        return None            # 1.x's emitter turns NaN into a null: the field is left out
    if math.isinf(f):
        return _DROP           # models.NewPoint refuses ±Inf: the point is dropped
    return repr(f)


def _fmt_int(v):
    return None if v is None else f"{int(v)}i"


def _fmt_uint(v):
    return None if v is None else f"{int(v)}u"


def _fmt_bool(v):
    return None if v is None else ("true" if v else "false")


def _fmt_str(v):
    return None if v is None else '"' + escape_string_field(str(v)) + '"'


class _Drop:
    pass


_DROP = _Drop()
_FORMATTERS = {"float": _fmt_float, "integer": _fmt_int, "unsigned": _fmt_uint, "boolean": _fmt_bool,
               "string": _fmt_str}


def _formatter(kind: Optional[str], values: list):
    f = _FORMATTERS.get(kind or "")
    if f is not None:
        return f
    # unknown kind: from the Python values
    for v in values:
        if v is None:
            continue
        if isinstance(v, bool):
            return _fmt_bool
        if isinstance(v, int):
            return _fmt_int
        if isinstance(v, float):
            return _fmt_float
        return _fmt_str
    return _fmt_float


def _tag_columns(p) -> set[int]:
    """Indices (in the output columns, time first) of the tag arguments of top()/bottom() when
    the statement runs without its target: those become tags of the written points."""
    out = set()
    pos = 1
    for f in p.stmt.fields:
        pos += 1
        e = f.expr
        if isinstance(e, Call) and e.name in ("top", "bottom"):
            for a in e.args[1:-1]:
                if isinstance(a, VarRef):
                    out.add(pos)
                    pos += 1
    return out


def series_lines(series: list[Series], target_name: Optional[str], tag_cols: set[int],
                 time_name: str = "time"):
    """Line protocol lines of the output series, one per point (1.x's convertRowToPoints)."""
    for s in series:
        cols = s.columns
        if time_name != "time" or not cols or cols[0] != "time":
            if len(s):
                from .executor import StatementError
                raise StatementError("error finding time index in result")
            continue
        data = s.col_data
        kinds = s.kinds or [None] * len(cols)
        name = target_name or s.name or ""
        head = escape_measurement(name)
        tags = {k: v for k, v in (s.tags or {}).items() if v not in (None, "")}
        fields = []
        tag_args = []
        for i in range(1, len(cols)):
            if i in tag_cols:
                tag_args.append((cols[i], data[i]))
            else:
                fields.append((escape_key(cols[i]) + "=", _formatter(kinds[i], data[i]), data[i]))
        times = data[0]
        fixed_tags = "".join(f",{escape_key(k)}={escape_key(str(v))}" for k, v in sorted(tags.items()))
        for r in range(len(times)):
            parts = []
            drop = False
            for key, fmt, vals in fields:
                t = fmt(vals[r])
                if t is None:
                    continue
                if t is _DROP:
                    drop = True
                    break
                parts.append(key + t)
            if drop or not parts:
                continue
            if tag_args:
                row_tags = dict(tags)
                for k, vals in tag_args:
                    v = vals[r]
                    if v not in (None, ""):
                        row_tags[k] = str(v)
                tag_text = "".join(f",{escape_key(k)}={escape_key(v)}" for k, v in sorted(row_tags.items()))
            else:
                tag_text = fixed_tags
            yield f"{head}{tag_text} {','.join(parts)} {int(times[r])}"


# ---------------------------------------------------------------------------------------------
# errors worded as 1.x


_IOX_TYPE = {"iox::column_type::field::float": "float", "iox::column_type::field::integer": "integer",
             "iox::column_type::field::uinteger": "unsigned", "iox::column_type::field::string": "string",
             "iox::column_type::field::boolean": "boolean", "iox::column_type::tag": "tag"}
_CONFLICT = re.compile(r"invalid column type for column '(.*)', expected (\S+), got (\S+)$")


def _write_error(errors: list, measurement_of) -> str:
    first = errors[0]
    msg = first.error_message
    m = _CONFLICT.match(msg)
    if m and m.group(2) in _IOX_TYPE and m.group(3) in _IOX_TYPE and "tag" not in (
            _IOX_TYPE[m.group(2)], _IOX_TYPE[m.group(3)]):
        msg = (f'field type conflict: input field "{m.group(1)}" on measurement "{measurement_of(first)}" '
               f"is type {_IOX_TYPE[m.group(3)]}, already exists as type {_IOX_TYPE[m.group(2)]}")
    return f"partial write: {msg} dropped={len(errors)}"


# ---------------------------------------------------------------------------------------------
# the statement


def _fill_for_target(stmt: SelectStatement) -> SelectStatement:
    """1.x: with a target, fill(null) is fill(none) (null values would not be written anyway)."""
    if stmt.fill is not FillOption.NULL:
        return stmt
    has_call = any(isinstance(n, Call) and n.name not in MATH_FUNCTIONS
                   for f in stmt.fields for n in ast.walk(f))
    if not has_call:
        return stmt
    return replace(stmt, fill=FillOption.NONE)


def select_into(ex, stmt: SelectStatement, database: Optional[str], rp: Optional[str], now: int) -> list[Series]:
    """Run ``SELECT ... INTO`` on executor ``ex``: the 1.x ``result`` series with the points written."""
    from .executor import DatabaseNotFoundError, StatementError

    target = stmt.target.measurement
    db_name, rp_name = target_database(stmt, database, rp)
    if not db_name:
        raise StatementError("database name required")
    cat = ex.engine.catalog
    cat.refresh()
    write_db = _rp_database(db_name, rp_name)

    def live(name):
        d = cat.db(name)
        return d is not None and not d.deleted

    if not live(db_name) and not live(write_db):
        raise DatabaseNotFoundError(db_name)

    # the rows, as the SELECT without its target answers them (top()/bottom() tag arguments
    # come out as columns, which become the points' tags)
    run_stmt = replace(_fill_for_target(stmt), target=None)
    p = ex.prepare(run_stmt, database, rp, now)
    series = ex.run_prepared(p, now)
    tag_cols = _tag_columns(p)
    written = 0
    batch: list[str] = []
    measurements: list[str] = []

    def flush():
        nonlocal written
        if not batch:
            return
        cat.refresh()
        if not live(write_db):
            raise StatementError(f"retention policy not found: {rp_name}" if write_db != db_name
                                 else f"database not found: {db_name}")
        res = ex.engine.write_lp(write_db, "\n".join(batch), "ns", accept_partial=True)
        if res.errors:
            names = list(measurements)
            raise StatementError(_write_error(res.errors, lambda err: names[err.line_number - 1]
                                              if 0 < err.line_number <= len(names) else ""))
        written += res.lines_written
        batch.clear()
        measurements.clear()

    for s in series:
        name = target.name or s.name or ""
        for line in series_lines([s], target.name, tag_cols, p.time_name):
            batch.append(line)
            measurements.append(name)
            if len(batch) >= BATCH_POINTS:
                flush()
    flush()
    return [Series("result", ["time", "written"], [[0, written]], time_index=0, kinds=["time", "integer"])]


# ---------------------------------------------------------------------------------------------
# statements that write, sent with GET


def _qualified(m: ast.Measurement, db: Optional[str], rp: Optional[str]) -> ast.Measurement:
    return replace(m, database=m.database or db, retention_policy=m.retention_policy or rp or "autogen")


_WRITING = (ast.CreateDatabaseStatement, ast.DropDatabaseStatement, ast.DropMeasurementStatement,
            ast.DropSeriesStatement, ast.DeleteSeriesStatement)


def writes(stmt: ast.Statement) -> bool:
    """Whether a statement changes data or schema: SELECT INTO, CREATE/DROP, DELETE."""
    if isinstance(stmt, SelectStatement):
        return stmt.target is not None
    return isinstance(stmt, _WRITING)


def get_warning(stmt: ast.Statement, db: Optional[str], rp: Optional[str]) -> Optional[dict]:
    """1.x's warning for a statement that changes data or schema sent with GET (it still runs):
    the statement as 1.x normalizes it, measurements qualified with database and retention policy."""
    if not writes(stmt):
        return None
    if isinstance(stmt, SelectStatement):
        sources = tuple(_qualified(src, db, rp) if isinstance(src, ast.Measurement) else src
                        for src in stmt.sources)
        target = replace(stmt.target, measurement=_qualified(stmt.target.measurement, db, rp))
        stmt = replace(stmt, sources=sources, target=target)
    return {"level": "warning",
            "text": f"deprecated use of '{stmt}' in a read only context, please use a POST request instead"}
