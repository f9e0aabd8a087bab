"""InfluxDB 3 SQL -> DuckDB SQL: the one place where the dialect is translated.

`translate()` parses the user's text (sqlglot, `dialect.InfluxSQL`), rejects everything but a
read-only query, maps every table reference to an internal name the runner registers (user tables,
`system.*`, `information_schema.*`, table functions), rewrites InfluxDB functions onto DuckDB
(`date_bin`, `selector_*`, `to_timestamp`, `tz`, `arrow_cast`…), turns RFC 3339 text and integers
compared with `time` into exact nanosecond constants, checks `$name` placeholders against the
parameters (values stay bound, never pasted into text), names result columns the way InfluxDB
prints them, and extracts per-table time bounds for Parquet pruning. Column references of a table
whose names differ only in case are resolved by `casenames.py`.

It does not touch DuckDB or data: the runner evaluates the bounds and builds the table views.
"""

from __future__ import annotations

import re
import uuid
import zoneinfo
from dataclasses import dataclass, field
from typing import Callable

import pyarrow as pa
import re2
import sqlglot
from sqlglot import exp
from sqlglot.errors import ParseError, TokenError

from . import casenames, gapfill
from .bounds import equalities, is_time_column as _is_time_column, time_bounds
from .dialect import InfluxSQL
from .errors import (MissingParameter, SqlPlanningError, SqlSyntaxError, StatementRejected,
                     TableNotFoundError)
from .functions import COLUMN_TYPES, arrow_cast_target, interval_ns
from .timeparse import parse_rfc3339_ns

DUCK = "duckdb"
_RE2_QUIET = re2.Options()
_RE2_QUIET.log_errors = False  # a bad pattern is DuckDB's error to word
TS_NS = exp.DataType.build("TIMESTAMP_NS", dialect=DUCK)

# Matched against the text without its terminator (`_without_terminator`): a tail such as
# `(.+?)\s*;?\s*$` backtracks cubically over a run of blanks (1,000 spaces: 5 s; ReDoS, issue 10).
_SHOW_TABLES = re.compile(r"\s*show\s+tables", re.I)
_SHOW_COLUMNS = re.compile(r"\s*show\s+(?:full\s+)?columns\s+(?:from|in)\s+(.+)", re.I | re.S)
_SHOW_ANY = re.compile(r"^\s*show\b", re.I)

# Table functions a query may call in FROM; everything else (read_csv, glob, query, …) is refused.
SAFE_TABLE_FUNCTIONS = {"generate_series", "range", "unnest"}
# DuckDB table functions whose names are also harmless scalar/aggregate functions.
HARMLESS_TABLE_FUNCTION_NAMES = SAFE_TABLE_FUNCTIONS | {"repeat", "histogram", "histogram_values", "json_each",
                                                        "json_tree", "summary", "repeat_row"}

# Scalar functions that reveal DuckDB's settings, the text of the SQL it runs (which names files) or
# plan other SQL; none has an InfluxDB 3 counterpart.
BLOCKED_SCALAR_FUNCTIONS = {"current_setting", "current_query", "getvariable", "getenv", "json_serialize_plan",
                            "json_execute_serialized_sql", "json_deserialize_sql", "json_serialize_sql"}

_DDL = (exp.Create, exp.Drop, exp.Alter, exp.Into)
_DML = (exp.Insert, exp.Update, exp.Delete, exp.Merge, exp.Copy)
_TIME_FUNCS = {"influx_date_bin", "influx_to_timestamp", "influx_to_timestamp_s", "influx_to_timestamp_ms",
               "influx_to_timestamp_us"}


@dataclass
class Occurrence:
    """One place a user table is read: the SELECT whose FROM/JOIN names it, and under which alias."""
    select: exp.Select
    alias: str
    only_source: bool


@dataclass
class TableUse:
    key: str                   # internal relation name registered by the runner
    kind: str                  # "iox" | "system" | "info" | "func"
    name: str
    table: object | None = None            # catalog.Table for "iox" (and "func" with renames)
    args: list = field(default_factory=list)  # table-function arguments
    occurrences: list[Occurrence] = field(default_factory=list)
    # {column: alias} for the table's columns whose names differ only in case (casenames.py), else None
    renames: dict[str, str] | None = None


# Stands for the query's start time in translated SQL; replaced by a constant for each run so a
# translation can be cached. The random part keeps user text from ever matching it.
NOW_MARKER = f"__influx3_now_{uuid.uuid4().hex}__"
# Suffix of the internal relation names (replaced by the tables' reads in the final SQL).
_TAG = uuid.uuid4().hex[:10]


@dataclass
class Translation:
    """A translated query, reusable for other parameter values of the same types and another now()."""
    sql: str
    user_params: list[str]                          # placeholders of the user's text, bound as given
    derived: dict[str, tuple[str, int]]             # our placeholder -> (user placeholder, ns per unit)
    uses: dict[str, TableUse]
    # key -> per occurrence (lowers, uppers); each bound is (value, ns adjustment) where the value is an
    # int (ns), ("param", name) or ("sql", text)
    bounds: dict[str, list[tuple[list | None, list | None]]]
    output_types: dict[str, pa.DataType]
    gapfill: bool = False
    # key -> per occurrence {column: string values it must equal} (the file index prunes by them)
    equalities: dict[str, list[dict[str, set[str]]]] = field(default_factory=dict)
    # the same query reading each table once (`_first_row_as_semijoin` reads it twice), for when a
    # table's read must deduplicate and a second read would pay for that twice
    sql_one_read: str | None = None
    # result column -> the name to show (aliases of column names that differ only in case)
    output_names: dict[str, str] = field(default_factory=dict)

    def bind(self, params: dict | None, now_ns: int) -> tuple[str, dict]:
        """The SQL for a run at `now_ns` and its parameter values (all bound, none pasted)."""
        params = params or {}
        values = {}
        for name in self.user_params:
            if name not in params:
                raise MissingParameter(name)
            values[name] = params[name]
        for name, (user, unit) in self.derived.items():
            values[name] = param_ns(params[user], unit)
        return substitute_now(self.sql, now_ns), values


def substitute_now(sql: str, now_ns: int) -> str:
    if NOW_MARKER not in sql:   # most queries: no now() to format
        return sql
    from .timeparse import format_ns
    return sql.replace(NOW_MARKER, format_ns(now_ns))


def param_ns(v, unit: int = 1) -> int | None:
    """Nanoseconds for a placeholder value compared with time (RFC 3339 text or a number of units)."""
    if isinstance(v, bool) or v is None:
        return None
    if isinstance(v, str):
        return parse_rfc3339_ns(v)
    if isinstance(v, (int, float)):
        return int(v * unit)
    return None


def param_signature(params: dict | None) -> tuple:
    """What of the parameter values a translation depends on: names, types, and whether text is a time."""
    out = []
    for k in sorted(params or {}):
        v = params[k]
        out.append((k, type(v).__name__, isinstance(v, str) and parse_rfc3339_ns(v) is not None))
    return tuple(out)


@dataclass
class Context:
    """What the translator may know about the database being queried."""
    resolve_table: Callable[[str, bool], object | None]   # (name, quoted) -> catalog.Table | None
    system_tables: set[str]
    info_tables: set[str]
    table_functions: set[str]
    blocked_functions: frozenset = frozenset()    # DuckDB table functions (file, catalog, SQL access)
    table_column_functions: frozenset = frozenset()   # table functions giving columns of the table named


def rewrite_show(query: str) -> tuple[str, str | None] | None:
    """DataFusion's SHOW TABLES / SHOW COLUMNS as queries on information_schema (plus, for SHOW
    COLUMNS, the table name that must exist); None if the text is not a SHOW statement."""
    bare = _without_terminator(query)
    if _SHOW_TABLES.fullmatch(bare):
        return ("SELECT table_catalog, table_schema, table_name, table_type "
                "FROM information_schema.tables"), None
    m = _SHOW_COLUMNS.fullmatch(bare)
    if m:
        target = m.group(1).strip()
        try:
            t = sqlglot.parse_one(f"SELECT * FROM {target}", read=InfluxSQL).find(exp.Table)
        except (ParseError, TokenError) as e:
            raise SqlSyntaxError(_parse_detail(e)) from None
        if t is None or not isinstance(t.this, exp.Identifier) or (t.db and t.db.lower() != "iox"):
            raise SqlSyntaxError(f"Expected: a table name, found: {target}")
        name = t.name if t.this.quoted else t.name.lower()
        lit = name.replace("'", "''")
        return ("SELECT table_catalog, table_schema, table_name, column_name, data_type, is_nullable "
                f"FROM information_schema.columns WHERE table_schema = 'iox' AND table_name = '{lit}'"), name
    if _SHOW_ANY.match(query):
        raise StatementRejected(
            f"Error during planning: unsupported SHOW statement: {query.strip()[:80]}")
    return None


def _without_terminator(query: str) -> str:
    """The text without trailing blanks and one ``;``."""
    q = query.rstrip()
    return q[:-1].rstrip() if q.endswith(";") else q


def _parse_detail(e: Exception) -> str:
    if isinstance(e, ParseError) and e.errors:
        err = e.errors[0]
        return f"{err.get('description')} at Line: {err.get('line')}, Column: {err.get('col')}"
    return str(e).splitlines()[0]


def parse(query: str) -> exp.Expression:
    """Parse exactly one read-only query; raise the InfluxDB-shaped error otherwise."""
    if not query or not query.strip():
        raise SqlSyntaxError("Expected: an SQL statement, found: EOF")
    try:
        statements = [s for s in sqlglot.parse(query, read=InfluxSQL) if s is not None]
    except (ParseError, TokenError) as e:
        raise SqlSyntaxError(_parse_detail(e)) from None
    if not statements:
        raise SqlSyntaxError("Expected: an SQL statement, found: EOF")
    if len(statements) > 1:
        raise StatementRejected(
            "This feature is not implemented: The context currently only supports a single SQL statement")
    tree = statements[0]
    _check_read_only(tree)
    for alias in tree.find_all(exp.Alias):
        if isinstance(alias.this, exp.Star):
            raise SqlSyntaxError(f"Expected: end of statement, found: {alias.alias}")
    return tree


def _check_read_only(tree: exp.Expression) -> None:
    for node in tree.walk():
        if isinstance(node, _DDL):
            raise StatementRejected(f"Error during planning: DDL not supported: {type(node).__name__}")
        if isinstance(node, _DML):
            raise StatementRejected(f"Error during planning: DML not supported: {type(node).__name__}")
    if not isinstance(tree, (exp.Query, exp.Values)):
        kind = tree.sql(dialect=InfluxSQL).split(None, 1)[0].upper() if tree.sql(dialect=InfluxSQL) else "?"
        raise StatementRejected(f"Error during planning: Statement not supported: {kind}")
    for node in tree.walk():
        if isinstance(node, (exp.Command, exp.Set, exp.Pragma, exp.Transaction, exp.Use, exp.Describe)):
            raise StatementRejected(f"Error during planning: Statement not supported: {type(node).__name__}")


# ---- result column names -----------------------------------------------------------------------
_BINOPS = {exp.Add: "+", exp.Sub: "-", exp.Mul: "*", exp.Div: "/", exp.Mod: "%", exp.EQ: "=",
           exp.NEQ: "!=", exp.GT: ">", exp.GTE: ">=", exp.LT: "<", exp.LTE: "<=", exp.And: "AND",
           exp.Or: "OR", exp.DPipe: "||"}
_FUNC_NAMES = {exp.Avg: "avg", exp.Count: "count", exp.Sum: "sum", exp.Min: "min", exp.Max: "max",
               exp.Median: "median", exp.Stddev: "stddev", exp.StddevPop: "stddev_pop",
               exp.Variance: "var", exp.VariancePop: "var_pop", exp.ApproxDistinct: "approx_distinct",
               exp.ArrayAgg: "array_agg", exp.Lower: "lower", exp.Upper: "upper", exp.Abs: "abs",
               exp.Round: "round", exp.Coalesce: "coalesce", exp.Nullif: "nullif", exp.Concat: "concat",
               exp.Ln: "ln", exp.Sqrt: "sqrt", exp.Floor: "floor", exp.Ceil: "ceil",
               exp.Length: "character_length", exp.FirstValue: "first_value", exp.LastValue: "last_value",
               exp.StartsWith: "starts_with", exp.SplitPart: "split_part", exp.RegexpReplace: "regexp_replace",
               exp.RegexpLike: "regexp_like"}


def _df_name(e: exp.Expression, qual: str | None) -> str | None:
    """DataFusion's display name of an expression, or None where we do not know it."""
    if isinstance(e, exp.Column):
        if isinstance(e.this, exp.Star):
            return None
        q = e.table or qual
        return f"{q}.{e.name}" if q else e.name
    if isinstance(e, exp.Star):
        return "*"
    if isinstance(e, exp.Literal):
        if e.is_string:
            return f'Utf8("{e.this}")'
        return f"Int64({e.this})" if re.fullmatch(r"\d+", e.this) else f"Float64({e.this})"
    if isinstance(e, exp.Boolean):
        return f"Boolean({'true' if e.this else 'false'})"
    if isinstance(e, exp.Null):
        return "NULL"
    if isinstance(e, exp.Paren):
        return _df_name(e.this, qual)
    if isinstance(e, exp.Bracket) and len(e.expressions) == 1 and isinstance(e.expressions[0], exp.Literal):
        base = _df_name(e.this, qual)
        return None if base is None else f"{base}[{e.expressions[0].this}]"
    if isinstance(e, (exp.FirstValue, exp.LastValue)) and isinstance(e.this, exp.Order):
        name = "first_value" if isinstance(e, exp.FirstValue) else "last_value"
        arg = _df_name(e.this.this, qual)
        keys = []
        for o in e.this.expressions:
            k = _df_name(o.this, qual)
            if k is None:
                return None
            desc = bool(o.args.get("desc"))
            nulls_first = o.args.get("nulls_first")
            nulls_first = desc if nulls_first is None else nulls_first
            keys.append(f"{k} {'DESC' if desc else 'ASC'} NULLS {'FIRST' if nulls_first else 'LAST'}")
        return None if arg is None else f"{name}({arg}) ORDER BY [{', '.join(keys)}]"
    if isinstance(e, exp.Distinct):
        parts = [_df_name(x, qual) for x in e.expressions]
        return None if None in parts else "DISTINCT " + ",".join(parts)
    for cls, op in _BINOPS.items():
        if type(e) is cls:
            left, right = _df_name(e.left, qual), _df_name(e.right, qual)
            return None if left is None or right is None else f"{left} {op} {right}"
    if isinstance(e, exp.Anonymous):
        name, args = e.name.lower(), e.expressions
    elif type(e) in _FUNC_NAMES:
        name = _FUNC_NAMES[type(e)]
        args = [v for k, v in e.args.items() if isinstance(v, exp.Expression)] + list(e.expressions)
        if isinstance(e, exp.Count) and e.this is None:
            args = [exp.Star()]
    else:
        return None
    parts = [_df_name(a, qual) for a in args]
    if None in parts:
        return None
    return f"{name}({','.join(parts)})"


def _sole_qualifier(select: exp.Select) -> str | None:
    from_ = select.args.get("from_") or select.args.get("from")
    if from_ is None or select.args.get("joins"):
        return None
    src = from_.this
    if isinstance(src, exp.Table):
        return src.alias_or_name or None
    if isinstance(src, exp.Subquery) and src.alias:
        return src.alias
    return None


def _name_outputs(tree: exp.Expression) -> None:
    """Give every unaliased top-level projection the name InfluxDB would print for it."""
    select = tree
    while isinstance(select, (exp.Union, exp.Intersect, exp.Except)):
        select = select.this
    if isinstance(select, exp.Subquery):
        select = select.unnest()
    if not isinstance(select, exp.Select):
        return
    qual = _sole_qualifier(select)
    taken = set()
    new = []
    for e in select.expressions:
        if isinstance(e, (exp.Alias, exp.Column, exp.Star)) or (isinstance(e, exp.Column) and e.is_star):
            new.append(e)
            taken.add(e.alias_or_name)
            continue
        name = _df_name(e, qual) or e.sql(dialect=InfluxSQL, normalize_functions="lower")
        base, n = name, 1
        while name in taken:
            name = f"{base}:{n}"
            n += 1
        taken.add(name)
        new.append(exp.alias_(e, exp.to_identifier(name, quoted=True)))
    select.set("expressions", new)


# ---- table references --------------------------------------------------------------------------
def _from_sources(select: exp.Select) -> list[exp.Expression]:
    from_ = select.args.get("from_") or select.args.get("from")
    out = [from_.this] if from_ is not None else []
    out += [j.this for j in select.args.get("joins") or []]
    return out


def _literal_value(e: exp.Expression):
    if isinstance(e, exp.Literal):
        return e.this if e.is_string else (int(e.this) if re.fullmatch(r"-?\d+", e.this) else float(e.this))
    if isinstance(e, exp.Neg) and isinstance(e.this, exp.Literal) and not e.this.is_string:
        v = _literal_value(e.this)
        return -v
    raise SqlPlanningError(f"expected a literal argument, got {e.sql(dialect=InfluxSQL)}")


def _func_name(f: exp.Func) -> str:
    if isinstance(f, exp.Anonymous):
        return f.name.lower()
    try:
        return f.sql_name().lower()
    except Exception:  # classes without a SQL name
        return type(f).__name__.lower()


def _check_functions(tree: exp.Expression, ctx: Context) -> None:
    """No DuckDB table function that reads files, catalogs or runs SQL, wherever it is called."""
    blocked = ctx.blocked_functions - HARMLESS_TABLE_FUNCTION_NAMES - ctx.table_functions
    for f in tree.find_all(exp.Func):
        name = _func_name(f)
        if name in BLOCKED_SCALAR_FUNCTIONS:
            raise SqlPlanningError(f"Invalid function '{name}'")
        if name in blocked or name.startswith(("read_", "duckdb_", "pragma_", "parquet_")) \
                and name not in ctx.table_functions:
            raise SqlPlanningError(f"table function '{name}' not found")


def _ctes_in_scope(table: exp.Table) -> dict[str, exp.CTE]:
    """The CTEs a table reference can name, by lower-cased name, innermost first.

    Walks up from the reference: a CTE sees the CTEs listed before it in its own WITH (and itself
    under WITH RECURSIVE); the body of a query sees every CTE of its WITH. A name this misses is
    treated as a table and mapped or refused, never left for DuckDB to read as a file."""
    found: dict[str, exp.CTE] = {}
    node = table
    while node.parent is not None:
        parent = node.parent
        if isinstance(parent, exp.With):
            ctes = parent.expressions
            idx = next((i for i, c in enumerate(ctes) if c is node), len(ctes))
            visible = ctes[:idx + 1] if parent.args.get("recursive") else ctes[:idx]
        else:
            w = parent.args.get("with_", parent.args.get("with"))
            visible = w.expressions if isinstance(w, exp.With) and w is not node else []
        for c in visible:
            found.setdefault(c.alias_or_name.lower(), c)
        node = parent
    return found


def _rename_ctes(tree: exp.Expression) -> dict[int, str]:
    """Give every CTE a generated name (the user's name stays as the alias of each reference), so
    no text the user chose is left as a relation name in the SQL DuckDB runs."""
    names: dict[int, str] = {}
    for n, cte in enumerate(tree.find_all(exp.CTE)):
        names[id(cte)] = f"__cte_{n}_{_TAG}"
    return names


def _table_function_name(this: exp.Expression) -> str:
    return (this.name if isinstance(this, exp.Anonymous) else
            getattr(this, "sql_name", lambda: type(this).__name__)()).lower()


def _safe_table_function(this: exp.Expression) -> bool:
    return isinstance(this, exp.ExplodingGenerateSeries) or _table_function_name(this) in SAFE_TABLE_FUNCTIONS


def _relation(key: str, alias: exp.TableAlias | None, name: str, old: exp.Table) -> exp.Table:
    new = exp.Table(this=exp.to_identifier(key, quoted=True),
                    alias=alias if alias is not None else exp.TableAlias(this=exp.to_identifier(name, quoted=True)))
    for k in ("joins", "laterals", "pivots", "hints", "sample"):
        if old.args.get(k):
            new.set(k, old.args[k])
    return new


def _function_use(key: str, fname: str, args: list, ctx: Context) -> TableUse:
    """A table function's use; one giving columns of the table it names knows that table (the
    names of its columns that differ only in case are told apart as the table's are)."""
    t = None
    if fname in ctx.table_column_functions and args and isinstance(args[0], str):
        t = ctx.resolve_table(args[0], True)
    renames = casenames.aliases(t) if t is not None else None
    return TableUse(key, "func", fname, table=t if renames else None, args=args, renames=renames)


def _map_tables(tree: exp.Expression, ctx: Context) -> dict[str, TableUse]:
    """Replace every relation the query names by a generated name: a user table, a system or
    information_schema table, a registered table function, or a CTE in scope. Anything else is
    refused, so DuckDB never resolves a name of the user's (which it could read as a file)."""
    cte_keys = _rename_ctes(tree)
    uses: dict[str, TableUse] = {}
    func_n = 0
    for table in list(tree.find_all(exp.Table)):
        this = table.this
        select = table.find_ancestor(exp.Select)
        if not isinstance(this, exp.Identifier):
            # a table function: FROM f(...)
            fname = _table_function_name(this)
            if _safe_table_function(this):
                continue
            if fname in ctx.table_functions:
                args = [_literal_value(a) for a in this.expressions]
                key = f"__tf_{func_n}_{_TAG}"
                func_n += 1
                uses[key] = _function_use(key, fname, args, ctx)
                alias = table.args.get("alias")
                table.replace(exp.Table(this=exp.to_identifier(key, quoted=True),
                                        alias=alias or exp.TableAlias(this=exp.to_identifier(fname))))
                continue
            raise SqlPlanningError(f"table function '{fname}' not found")
        name, schema, catalog = table.name, table.db, table.catalog
        quoted = bool(this.quoted)
        alias = table.args.get("alias")
        if not schema and not catalog:
            cte = _ctes_in_scope(table).get(name.lower())
            if cte is not None:
                table.replace(_relation(cte_keys[id(cte)], alias, name, table))
                continue
        if catalog and catalog.lower() != "public":
            raise TableNotFoundError(name, schema or "iox")
        sch = (schema or "iox").lower()
        if sch == "iox":
            t = ctx.resolve_table(name, quoted)
            if t is None:
                raise TableNotFoundError(name if quoted else name.lower())
            # one read per occurrence, so each is pruned by its own time bounds
            key = f"__iox_{t.id}_{sum(1 for u in uses.values() if u.table is t)}_{_TAG}"
            use = uses.setdefault(key, TableUse(key, "iox", t.name, table=t, renames=casenames.aliases(t)))
        elif sch == "system":
            n = name.lower()
            if n not in ctx.system_tables:
                raise TableNotFoundError(name, "system")
            key = f"__sys_{n}_{_TAG}"
            use = uses.setdefault(key, TableUse(key, "system", n))
        elif sch == "information_schema":
            n = name.lower()
            if n not in ctx.info_tables:
                raise TableNotFoundError(name, "information_schema")
            key = f"__is_{n}_{_TAG}"
            use = uses.setdefault(key, TableUse(key, "info", n))
        else:
            raise TableNotFoundError(name, schema)
        alias_name = alias.name if alias is not None and alias.name else name
        new = _relation(key, alias, name, table)
        table.replace(new)
        if use.kind == "iox" and select is not None:
            sources = _from_sources(select)
            direct = any(s is new for s in sources)
            if direct:
                use.occurrences.append(Occurrence(select, alias_name, len(sources) == 1))
            else:
                use.occurrences.append(Occurrence(None, alias_name, False))
        elif use.kind == "iox":
            use.occurrences.append(Occurrence(None, alias_name, False))
    # CTE definitions are renamed last: references above were resolved against the user's names
    for cte in list(tree.find_all(exp.CTE)):
        key = cte_keys.get(id(cte))
        if key is None:
            continue
        old = cte.args.get("alias")
        cte.set("alias", exp.TableAlias(this=exp.to_identifier(key, quoted=True),
                                        columns=old.args.get("columns") if old is not None else None))
    return uses


def check_relations(sql: str, uses: dict[str, TableUse]) -> None:
    """The second look: every relation in the SQL handed to DuckDB is one of ours (a mapped table,
    or a CTE in scope, all of which carry generated names by now). A mapping bug must fail here
    rather than let DuckDB resolve a user's name (a file path, a DuckDB view)."""
    for table in sqlglot.parse_one(sql, read=DUCK).find_all(exp.Table):
        this = table.this
        if isinstance(this, exp.Identifier):
            name = this.name
            ok = name in uses or (name.startswith("__") and not table.db and not table.catalog
                                  and name.lower() in _ctes_in_scope(table))
            if not ok or table.db or table.catalog:
                raise SqlPlanningError(f"table '{name}' not found")
        elif not _safe_table_function(this):
            raise SqlPlanningError(f"table function '{_table_function_name(this)}' not found")


# ---- function rewrites -------------------------------------------------------------------------
def _call(name: str, *args: exp.Expression) -> exp.Anonymous:
    return exp.Anonymous(this=name, expressions=list(args))


def _ns_const(ns: int) -> exp.Expression:
    from .timeparse import format_ns
    return exp.Cast(this=exp.Literal.string(format_ns(int(ns))), to=TS_NS.copy())


def _is_time_like(e: exp.Expression) -> bool:
    if _is_time_column(e):
        return True
    if isinstance(e, exp.Anonymous) and e.name.lower() in _TIME_FUNCS:
        return True
    return isinstance(e, exp.Cast) and e.to.this == exp.DataType.Type.TIMESTAMP_NS


class _Rewriter:
    def __init__(self, ctx: Context, params: dict, top: exp.Select | None, tables: dict,
                 names: dict[str, str] | None = None):
        self.ctx = ctx
        self.params = params
        self.top = top
        self.tables = tables
        self.names = names or {}   # casenames' aliases -> the columns' own names
        self.output_types: dict[str, pa.DataType] = {}
        self.derived: dict[str, tuple[str, int]] = {}

    # -- helpers
    def _top_alias(self, node: exp.Expression) -> str | None:
        """The output name when `node` is a whole top-level projection."""
        parent = node.parent
        if isinstance(parent, exp.Alias) and parent.parent is self.top and self.top is not None:
            return parent.alias
        return None

    def _time_value(self, e: exp.Expression, unit_ns: int = 1) -> exp.Expression | None:
        """An exact TIMESTAMP_NS for a literal / placeholder compared with time, or None."""
        if isinstance(e, exp.Literal) and e.is_string:
            ns = parse_rfc3339_ns(e.this)
            return None if ns is None else _ns_const(ns)
        if isinstance(e, (exp.Literal, exp.Neg)) and not (isinstance(e, exp.Literal) and e.is_string):
            try:
                v = _literal_value(e)
            except SqlPlanningError:
                return None
            return _ns_const(int(v * unit_ns)) if isinstance(v, (int, float)) else None
        if isinstance(e, exp.Parameter):
            name = e.name
            if name not in self.params:
                raise MissingParameter(name)
            if param_ns(self.params[name], unit_ns) is None:
                return None
            pname = f"__p{len(self.derived)}"
            self.derived[pname] = (name, unit_ns)
            return _call("make_timestamp_ns", exp.Parameter(this=exp.Var(this=pname)))
        return None

    # -- the rewrite of one node (children already rewritten)
    def node(self, e: exp.Expression) -> exp.Expression:
        if isinstance(e, exp.CurrentTimestamp):
            alias = self._top_alias(e)
            if alias:
                self.output_types[alias] = pa.timestamp("ns", tz="UTC")
            return exp.Cast(this=exp.Literal.string(NOW_MARKER), to=TS_NS.copy())
        if isinstance(e, (exp.FirstValue, exp.LastValue)) and not _in_window(e):
            return _call("first" if isinstance(e, exp.FirstValue) else "last", e.this)
        if isinstance(e, exp.WithinGroup) and isinstance(e.this, exp.Anonymous) \
                and e.this.name.lower() == "approx_percentile_cont":
            order = e.expression
            key = order.expressions[0].this if order.expressions else None
            if key is None or not e.this.expressions:
                raise SqlPlanningError("approx_percentile_cont needs a percentile and an ORDER BY")
            return _call("approx_quantile", key, e.this.expressions[0])
        if isinstance(e, exp.Anonymous):
            return self.call(e, e.name.lower(), list(e.expressions))
        if isinstance(e, (exp.EQ, exp.NEQ, exp.GT, exp.GTE, exp.LT, exp.LTE)):
            if _is_time_like(e.left):
                v = self._time_value(e.right)
                if v is not None:
                    e.set("expression", v)
            elif _is_time_like(e.right):
                v = self._time_value(e.left)
                if v is not None:
                    e.set("this", v)
            return e
        if isinstance(e, exp.Between) and _is_time_like(e.this):
            for k in ("low", "high"):
                v = self._time_value(e.args[k])
                if v is not None:
                    e.set(k, v)
            return e
        if isinstance(e, exp.In) and _is_time_like(e.this):
            e.set("expressions", [self._time_value(x) or x for x in e.expressions])
            return e
        return e

    def call(self, e: exp.Anonymous, name: str, args: list[exp.Expression]) -> exp.Expression:
        if name == "date_bin":
            if len(args) not in (2, 3):
                raise SqlPlanningError("date_bin expects 2 or 3 arguments")
            width = interval_ns(args[0])
            origin: exp.Expression = exp.Literal.number(0)
            if len(args) == 3:
                o = args[2]
                if isinstance(o, exp.Literal) and o.is_string:
                    ns = parse_rfc3339_ns(o.this)
                    if ns is None:
                        raise SqlPlanningError(f"date_bin: cannot parse origin '{o.this}'")
                    origin = exp.Literal.number(ns)
                else:
                    t = self._time_value(o) if isinstance(o, exp.Parameter) else None
                    origin = _call("epoch_ns", t or o)
            return _call("influx_date_bin", width, args[1], origin)
        if name in ("date_bin_gapfill", "date_bin_wallclock_gapfill"):
            raise SqlPlanningError(f"{name} must be a top-level GROUP BY expression of the query")
        if name in ("locf", "interpolate"):
            raise SqlPlanningError(f"{name} must be called on an aggregate of a date_bin_gapfill query")
        if name in ("selector_first", "selector_last", "selector_min", "selector_max"):
            if not 2 <= len(args) <= 6:
                raise SqlPlanningError(f"{name} expects 2 to 6 arguments")
            return _call(f"influx_{name}", *args)
        if name == "tz":
            if len(args) not in (1, 2):
                raise SqlPlanningError("tz expects 1 or 2 arguments")
            zone = "UTC"
            if len(args) == 2:
                z = args[1]
                if not (isinstance(z, exp.Literal) and z.is_string):
                    raise SqlPlanningError(f'TZ requires a valid timezone string, got "{z.sql(dialect=InfluxSQL)}"')
                zone = z.this
                try:
                    zoneinfo.ZoneInfo(zone)
                except (zoneinfo.ZoneInfoNotFoundError, ValueError, OSError):
                    if not re.fullmatch(r"[+-]\d{2}:\d{2}", zone):
                        raise SqlPlanningError(f'TZ requires a valid timezone string, got "{zone}"') from None
            alias = self._top_alias(e)
            if alias:
                self.output_types[alias] = pa.timestamp("ns", tz=zone)
            return self._as_timestamp(args[0])
        if name in ("to_timestamp", "to_timestamp_nanos", "to_timestamp_micros", "to_timestamp_millis",
                    "to_timestamp_seconds", "from_unixtime"):
            unit = {"to_timestamp_micros": 1000, "to_timestamp_millis": 10**6, "to_timestamp_seconds": 10**9,
                    "from_unixtime": 10**9}.get(name, 1)
            if not args:
                raise SqlPlanningError(f"{name} expects at least one argument")
            if len(args) > 1 and name != "from_unixtime":
                fmts = [a for a in args[1:]]
                tries = [_call("try_strptime", args[0], f) for f in fmts]
                return exp.Cast(this=exp.Coalesce(this=tries[0], expressions=tries[1:]) if len(tries) > 1
                                else tries[0], to=TS_NS.copy())
            v = self._time_value(args[0], unit)
            if v is not None:
                return v
            return self._as_timestamp(args[0], unit)
        if name == "to_char" or name == "date_format":
            if len(args) != 2:
                raise SqlPlanningError(f"{name} expects 2 arguments")
            return _call("strftime", args[0], args[1])
        if name == "approx_percentile_cont":
            if len(args) not in (2, 3):
                raise SqlPlanningError(f"{name} expects a value, a percentile and optionally centroids")
            return _call("approx_quantile", args[0], args[1])
        if name == "approx_median":
            return _call("approx_quantile", args[0], exp.Literal.number("0.5"))
        if name == "var":
            return _call("var_samp", *args)
        if name == "mean":
            return _call("avg", *args)
        if name == "arrow_cast":
            if len(args) != 2 or not (isinstance(args[1], exp.Literal) and args[1].is_string):
                raise SqlPlanningError("arrow_cast requires its second argument to be a constant string")
            target = arrow_cast_target(args[1].this)
            if target is None:
                raise SqlPlanningError(f"Unsupported type '{args[1].this}'")
            duck, arrow, factor = target
            value = args[0]
            if factor is not None:
                value = self._time_value(value) or self._as_timestamp(value)
            alias = self._top_alias(e)
            if alias:
                self.output_types[alias] = arrow
            if duck in ("TIMESTAMP_S", "TIMESTAMP_MS"):   # DuckDB casts to these only from TIMESTAMP
                value = exp.Cast(this=value, to=exp.DataType.build("TIMESTAMP"))
            return exp.Cast(this=value, to=exp.DataType.build(duck, dialect=DUCK))
        if name == "arrow_typeof":
            if len(args) != 1:
                raise SqlPlanningError("arrow_typeof expects 1 argument")
            a = args[0]
            if isinstance(a, exp.Column) and not a.is_star:
                t = self._column_type(a)
                if t is not None:
                    return exp.Literal.string(COLUMN_TYPES[t][0])
            return _call("influx_arrow_typeof", a)
        if name == "regexp_match":
            return self._regexp_match(args)
        return e

    def _regexp_match(self, args: list[exp.Expression]) -> exp.Expression:
        """DataFusion's regexp_match: the capture groups of the first match as a list (the whole
        match when the pattern has no groups), NULL when there is no match."""
        if len(args) not in (2, 3) or not all(isinstance(a, exp.Literal) and a.is_string for a in args[1:]):
            raise SqlPlanningError("regexp_match expects a string, a constant pattern and optional constant flags")
        pattern = args[1].this
        if len(args) == 3:
            flags = args[2].this
            if set(flags) - set("ismU"):
                raise SqlPlanningError(f"regexp_match: unsupported flags '{flags}'")
            pattern = f"(?{flags}){pattern}" if flags else pattern
        try:
            # Counted by RE2, the engine DuckDB matches with (a user's pattern never goes to `re`).
            n = re2.compile(pattern, _RE2_QUIET).groups
        except re2.error:
            n = 0
        pat = exp.Literal.string(pattern)
        items = [_call("regexp_extract", args[0].copy(), pat.copy(), exp.Literal.number(g))
                 for g in (range(1, n + 1) if n else [0])]
        return exp.Case(ifs=[exp.If(this=_call("regexp_matches", args[0].copy(), pat.copy()),
                                    true=exp.Array(expressions=items))])

    def _as_timestamp(self, x: exp.Expression, unit: int = 1) -> exp.Expression:
        """TIMESTAMP_NS of x: integers count `unit` ns, text is parsed, timestamps pass through."""
        if unit == 1 and _is_time_like(x):
            return x
        kind = self._column_type(x) if isinstance(x, exp.Column) and not x.is_star else None
        if kind == "time":
            return x
        if kind in ("int", "uint", "float"):
            n = exp.Cast(this=x, to=exp.DataType.build("BIGINT"))
            if unit != 1:
                n = exp.Mul(this=n, expression=exp.Literal.number(unit))
            return _call("make_timestamp_ns", n)
        if kind in ("string", "tag"):
            return exp.Cast(this=exp.Cast(this=x, to=exp.DataType.build("TIMESTAMPTZ")), to=TS_NS.copy())
        macro = {1: "influx_to_timestamp", 1000: "influx_to_timestamp_us", 10**6: "influx_to_timestamp_ms",
                 10**9: "influx_to_timestamp_s"}[unit]
        return _call(macro, x)

    def _column_type(self, col: exp.Column) -> str | None:
        """The InfluxDB type of a column of the only user table in scope, if that is what it names."""
        select = col.find_ancestor(exp.Select)
        if select is None:
            return None
        sources = _from_sources(select)
        if len(sources) != 1 or not isinstance(sources[0], exp.Table):
            return None
        key = sources[0].name
        if not key.startswith("__iox_"):
            return None
        t = self.tables.get(key)
        c = t.columns.get(self.names.get(col.name, col.name)) if t is not None else None
        return c.type if c is not None else None


def _in_window(e: exp.Expression) -> bool:
    p = e.parent
    while isinstance(p, (exp.IgnoreNulls, exp.RespectNulls)):
        p = p.parent
    return isinstance(p, exp.Window)


#: the row number column of a rewritten DISTINCT ON (left out of the answer)
_DISTINCT_RN = "__influx3_distinct_rn"


def _distinct_on_as_window(tree: exp.Expression) -> exp.Expression:
    """``SELECT DISTINCT ON (k…) * FROM … ORDER BY k…, c…`` (TSBS lastpoint) as the same query with
    ``row_number() OVER (PARTITION BY k… ORDER BY c…) = 1``: the first row of each k… either way, and
    DuckDB runs DISTINCT ON ~5x slower (500K rows: 216 ms against 39 ms). Only the plain form: every
    key and sort item a column, the projection ``*``."""
    for select in list(tree.find_all(exp.Select)):
        distinct = select.args.get("distinct")
        on = distinct.args.get("on") if distinct is not None else None
        order = select.args.get("order")
        if on is None or order is None or select.args.get("limit") or select.args.get("offset"):
            continue
        keys, items = list(on.expressions), list(order.expressions)
        if len(select.expressions) != 1 or not isinstance(select.expressions[0], exp.Star) \
                or select.expressions[0].args.get("except_") or len(items) <= len(keys) \
                or not all(isinstance(k, exp.Column) for k in keys) \
                or not all(isinstance(o.this, exp.Column) for o in items) \
                or [k.name for k in keys] != [o.this.name for o in items[:len(keys)]]:
            continue
        window = exp.Window(this=exp.RowNumber(), partition_by=[k.copy() for k in keys],
                            order=exp.Order(expressions=[o.copy() for o in items[len(keys):]]))
        inner = select.copy()
        inner.set("distinct", None)
        inner.set("order", None)
        inner.set("expressions", [exp.Star(), exp.alias_(window, _DISTINCT_RN, quoted=True)])
        outer = exp.select(exp.Star(except_=[exp.column(_DISTINCT_RN, quoted=True)])) \
            .from_(inner.subquery("__influx3_distinct")) \
            .where(exp.EQ(this=exp.column(_DISTINCT_RN, quoted=True), expression=exp.Literal.number(1)))
        outer.set("order", exp.Order(expressions=[exp.Ordered(this=exp.column(o.this.name, quoted=True),
                                                             desc=o.args.get("desc"),
                                                             nulls_first=o.args.get("nulls_first"))
                                                  for o in items]))
        if select is tree:
            tree = outer
        else:
            select.replace(outer)
    return tree


def _is_one(e: exp.Expression) -> bool:
    return isinstance(e, exp.Literal) and not e.is_string and e.this == "1"


def _first_row_window(outer: exp.Select) -> tuple[exp.Select, exp.Window] | None:
    """(inner SELECT, its window) when `outer` is ``SELECT … FROM (SELECT *, row_number() OVER
    (PARTITION BY cols ORDER BY time [DESC]) AS rn FROM <one of our tables> [WHERE …]) WHERE rn = 1``."""
    where, src = outer.args.get("where"), outer.args.get("from_")
    if where is None or src is None or not isinstance(src.this, exp.Subquery) or outer.args.get("joins"):
        return None
    inner = src.this.this
    cond = where.this
    if not isinstance(inner, exp.Select) or not isinstance(cond, exp.EQ):
        return None
    rn = cond.this if _is_one(cond.expression) else cond.expression if _is_one(cond.this) else None
    if not isinstance(rn, exp.Column) or (rn.table and rn.table != src.this.alias_or_name):
        return None
    if any(inner.args.get(k) for k in ("joins", "laterals", "group", "having", "qualify", "distinct",
                                        "limit", "offset", "order", "with_", "windows")):
        return None
    table = inner.args["from_"].this if inner.args.get("from_") else None
    if not isinstance(table, exp.Table) or not table.name.startswith("__iox_") or table.args.get("joins"):
        return None
    stars = [e for e in inner.expressions if isinstance(e, exp.Star)]
    windows = [e for e in inner.expressions if isinstance(e, exp.Alias) and isinstance(e.this, exp.Window)]
    if len(stars) != 1 or stars[0].args.get("except_") or len(windows) != 1 or len(inner.expressions) != 2:
        return None
    alias, window = windows[0], windows[0].this
    same = (lambda a, b: a == b) if rn.this.quoted or alias.args["alias"].quoted else \
        (lambda a, b: a.lower() == b.lower())
    if not same(alias.alias, rn.name) or not isinstance(window.this, exp.RowNumber) or window.args.get("spec"):
        return None
    order = window.args.get("order")
    items = order.expressions if order is not None else []
    keys = window.args.get("partition_by") or []
    if len(items) != 1 or not _is_time_column(items[0].this) or items[0].this.table not in ("", table.alias_or_name) \
            or not keys or (inner.args.get("where") and inner.args["where"].find(exp.Select)) \
            or not all(isinstance(k, exp.Column) and k.table in ("", table.alias_or_name) for k in keys):
        return None
    return inner, window


def _first_row_as_semijoin(tree: exp.Expression) -> None:
    """``row_number() OVER (PARTITION BY k… ORDER BY time DESC) … WHERE rn = 1`` (TSBS lastpoint
    as a window, and DISTINCT ON after `_distinct_on_as_window`) numbers only the rows at their
    partition's newest (or oldest) time: an ``EXISTS`` against ``max(time) GROUP BY k…`` keeps
    those first. The first row is one of them either way (time is never NULL in our tables; ties
    stay ties), so the answer is the same. DuckDB turns the plain window into an arg_max over a
    struct of every column, ~4x slower over the buffer's Arrow batches than over Parquet (where it
    materializes late); the semi-join reads only the key and time columns to find the rows
    (500K rows in the buffer: 35 ms against 183 ms; over Parquet 27 ms against 49 ms)."""
    for outer in list(tree.find_all(exp.Select)):
        found = _first_row_window(outer)
        if found is None:
            continue
        inner, window = found
        table = inner.args["from_"].this
        alias = table.alias_or_name
        keys = [k.name for k in window.args["partition_by"]]
        newest = bool(window.args["order"].expressions[0].args.get("desc"))
        group = exp.select(*[exp.alias_(exp.column(k, quoted=True), f"__k{i}", quoted=True) for i, k in enumerate(keys)],
                           exp.alias_(exp.func("max" if newest else "min", exp.column("time", quoted=True)),
                                      "__t", quoted=True)) \
            .from_(table.copy()).group_by(*[exp.column(k, quoted=True) for k in keys])
        if inner.args.get("where"):
            group.set("where", inner.args["where"].copy())
        match = exp.and_(*[exp.NullSafeEQ(this=exp.column(f"__k{i}", "__influx3_first", quoted=True),
                                          expression=exp.column(k, alias, quoted=True)) for i, k in enumerate(keys)],
                         exp.EQ(this=exp.column("__t", "__influx3_first", quoted=True),
                                expression=exp.column("time", alias, quoted=True)))
        exists = exp.Exists(this=exp.select(exp.Literal.number(1))
                            .from_(group.subquery("__influx3_first")).where(match))
        inner.where(exists, copy=False)


def _window_time_desc(tree: exp.Expression) -> None:
    """``OVER (… ORDER BY time DESC)`` without DataFusion's implied ``NULLS FIRST``: a table's time is
    never NULL (no join in that SELECT can make it so), and DuckDB runs the explicit clause ~10x
    slower (TSBS lastpoint as ``row_number() … WHERE rn = 1`` over 500K rows: 1.1 s against 0.09 s)."""
    for window in tree.find_all(exp.Window):
        select = window.find_ancestor(exp.Select)
        if select is None or select.args.get("joins"):
            continue
        order = window.args.get("order")
        for o in (order.expressions if order is not None else []):
            if o.args.get("desc") and o.args.get("nulls_first") and isinstance(o.this, exp.Column) \
                    and o.this.name == "time":
                o.set("nulls_first", False)


def _rewrite(tree: exp.Expression, rw: _Rewriter) -> exp.Expression:
    nodes = list(tree.walk(bfs=True))
    for node in reversed(nodes):
        if node is tree:
            continue
        new = rw.node(node)
        if new is not node:
            node.replace(new)
    new_root = rw.node(tree)
    return new_root


# ---- placeholders --------------------------------------------------------------------------------
def _bind_params(tree: exp.Expression, params: dict | None) -> dict:
    params = params or {}
    used = {}
    for p in tree.find_all(exp.Parameter, exp.Placeholder):
        name = p.name if isinstance(p, exp.Parameter) else (p.this or "")
        if isinstance(p, exp.Placeholder) or not name:
            raise SqlPlanningError("positional placeholders are not supported; use $name")
        if name.startswith("__p"):
            continue
        if name not in params:
            raise MissingParameter(name)
        v = params[name]
        if v is not None and not isinstance(v, (str, int, float, bool)):
            raise SqlPlanningError(f"unsupported value for placeholder ${name}: {type(v).__name__}")
        used[name] = v
    return used


# ---- time bounds ---------------------------------------------------------------------------------
def _const_bound(e: exp.Expression) -> object:
    """An int when `e` is one of our exact constants, ("param", name) for a time placeholder we
    convert, else ("sql", its DuckDB SQL) to evaluate at run time."""
    if isinstance(e, exp.Cast) and e.to.this == exp.DataType.Type.TIMESTAMP_NS and isinstance(e.this, exp.Literal):
        ns = parse_rfc3339_ns(e.this.this)
        if ns is not None:
            return ns
    if isinstance(e, exp.Anonymous) and e.name.lower() == "make_timestamp_ns" and len(e.expressions) == 1 \
            and isinstance(e.expressions[0], exp.Parameter) and e.expressions[0].name.startswith("__p"):
        return ("param", e.expressions[0].name)
    return ("sql", e.sql(dialect=DUCK))


def _occurrence_bounds(occ: Occurrence):
    if occ.select is None:
        return None, None

    def matches(col: exp.Column) -> bool:
        return (col.table == occ.alias) if col.table else occ.only_source

    lowers, uppers = time_bounds(occ.select.args.get("where"), matches)
    # an exclusive bound moves by one nanosecond: `time < X` reads nothing at X
    return ([(_const_bound(b), 0 if inc else 1) for b, inc in lowers] or None), \
        ([(_const_bound(b), 0 if inc else -1) for b, inc in uppers] or None)


def _occurrence_equalities(occ: Occurrence, names: dict[str, str]) -> dict[str, set[str]]:
    """Under the table's own column names (`names`: casenames' aliases -> them)."""
    if occ.select is None:
        return {}
    found = equalities(occ.select.args.get("where"),
                       lambda col: (col.table == occ.alias) if col.table else occ.only_source)
    return {names.get(c, c): vs for c, vs in found.items()} if names else found


# ---- entry point ---------------------------------------------------------------------------------
def translate(query: str, params: dict | None, ctx: Context) -> Translation:
    shown = rewrite_show(query)
    if shown is not None:
        query, show_table = shown
        if show_table is not None and ctx.resolve_table(show_table, True) is None:
            raise TableNotFoundError(show_table)
    tree = parse(query)
    _check_functions(tree, ctx)
    params = dict(params or {})
    user_params = _bind_params(tree, params)
    _name_outputs(tree)
    uses = _map_tables(tree, ctx)
    # before anything reads column names: a field "Time" must not pass for time
    names = casenames.resolve(tree, uses) if any(u.renames for u in uses.values()) else {}
    top = tree if isinstance(tree, exp.Select) else None
    is_gapfill = top is not None and gapfill.uses_gapfill(top)
    if is_gapfill:
        tree = gapfill.rewrite(top)
        top = None
    rw = _Rewriter(ctx, params, top, {u.key: u.table for u in uses.values() if u.kind == "iox"}, names)
    tree = _rewrite(tree, rw)
    bounds = {key: [_occurrence_bounds(o) for o in use.occurrences]
              for key, use in uses.items() if use.kind == "iox"}
    equal = {key: [_occurrence_equalities(o, names) for o in use.occurrences]
             for key, use in uses.items() if use.kind == "iox"}
    for use in uses.values():
        use.occurrences = []    # AST nodes are not needed past this point (translations are cached)
    tree = _distinct_on_as_window(tree)
    _window_time_desc(tree)
    one_read = None
    if any(_first_row_window(s) for s in tree.find_all(exp.Select)):
        one_read = tree.sql(dialect=DUCK, identify=True)
        check_relations(one_read, uses)
        _first_row_as_semijoin(tree)
    sql = tree.sql(dialect=DUCK, identify=True)
    check_relations(sql, uses)
    still_used = {p.name for p in tree.find_all(exp.Parameter)} & set(user_params)
    return Translation(sql, sorted(still_used), rw.derived, uses, bounds, rw.output_types, is_gapfill, equal,
                       one_read, names)
