"""Column names that differ only in case (``host`` and ``Host``, a field ``Time`` beside ``time``).

DuckDB matches identifiers without regard to case, quoted or not; InfluxDB 3 (DataFusion) keeps a
quoted identifier exact and lower-cases an unquoted one. So a table whose column names collide
ignoring case is read under aliases no two of which collide (`aliases`: sources.build_view exposes
the colliding columns under them), and `resolve` rewrites every column reference of a query that
reads such a table onto the alias of the column DataFusion would pick, returning the aliases' exact
names for the runner to rename the result's columns back. Tables without such names are not
touched at all: the catalog tells at translation time, and a translation is cached.

A reference is resolved per sqlglot scope (subqueries, CTEs, joins, correlated references): a
quoted name matches exactly; an unquoted one matches its lower-cased name, else its exact
spelling. A reference that still matches two columns, or a quoted name matching none exactly but
several ignoring case, is an error: never a silent pick of one.
"""

from __future__ import annotations

import uuid

from sqlglot import exp
from sqlglot.errors import OptimizeError
from sqlglot.optimizer.scope import Scope, traverse_scope

from ..catalog import RESERVED_COLUMNS
from ..persist import case_aliases
from .errors import SqlPlanningError, SqlSchemaError

#: never renamed (persist.case_aliases), ``time`` and the sources' own columns: the view itself,
#: deduplication, retention and time bounds read them by name
KEPT = frozenset(RESERVED_COLUMNS)
_TAG = uuid.uuid4().hex[:10]

Columns = list[tuple[str | None, str | None]]    # (exact name, name in the SQL DuckDB runs), in order


def aliases(table) -> dict[str, str] | None:
    """{column: unique alias} for the columns of `table` whose names equal another's ignoring case
    (or a name of KEPT, which keeps its own); None when no two collide, the usual case."""
    return case_aliases(table.columns, f"__case_{table.id}_{_TAG}_")


def table_columns(table, renames: dict[str, str] | None) -> Columns:
    """The view's columns of `table`, in its order (sources.build_view)."""
    renames = renames or {}
    return [(c, renames.get(c, c)) for c in table.column_names_sorted()]


def _matches(ident: exp.Identifier, cols: Columns, lenient: bool = False) -> Columns:
    """The columns a reference names by DataFusion's rule (and an unquoted name's own spelling);
    `lenient`: by DuckDB's, any case, for a name no column has by those (the caller's second try)."""
    name = ident.name
    if lenient:
        found = [c for c in cols if c[0] is not None and c[0].lower() == name.lower()]
        if len({c[1] for c in found}) > 1 and ident.quoted:
            raise SqlSchemaError(f'No field named "{name}". Columns named alike but for case: '
                                 + ", ".join(f'"{c[0]}"' for c in found))
    elif ident.quoted:
        found = [c for c in cols if c[0] == name]
    else:
        found = [c for c in cols if c[0] == name.lower()] or [c for c in cols if c[0] == name]
    return list({c[1]: c for c in found}.values())   # a USING join lists a column twice


def _pick_name(qualifier: str, sources: dict) -> str | None:
    """The source a qualifier names: its exact name, else the one equal to it ignoring case."""
    if qualifier in sources:
        return qualifier
    alike = [n for n in sources if n.lower() == qualifier.lower()]
    return alike[0] if len(alike) == 1 else None


def _positions_known(query: exp.Expression) -> bool:
    """Whether a query's output positions are its projections' (no `*` to expand)."""
    while isinstance(query, exp.SetOperation):
        query = query.this
    return isinstance(query, exp.Select) and not any(
        isinstance(p, exp.Star) or (isinstance(p, exp.Column) and p.is_star) for p in query.expressions)


def _ambiguous(ident: exp.Identifier, found: Columns) -> SqlPlanningError:
    names = sorted({c[0] for c in found})
    if len(names) == 1:
        return SqlPlanningError(f"Ambiguous reference to column {ident.sql()}: more than one source of "
                                "the query has it; qualify it with the table's name or alias")
    shown = ", ".join(f'"{n}"' for n in names)
    return SqlPlanningError(f"Ambiguous reference to column {ident.sql()}: it may name {shown} "
                            "(names that differ only in case); write the exact name in double quotes")


class _Resolver:
    def __init__(self, uses: dict):
        self.uses = uses
        self.exact: dict[str, str] = {}     # alias -> exact name
        for use in uses.values():
            self.exact.update({a: c for c, a in (use.renames or {}).items()})
        # kept names some renamed column equals ignoring case (``time`` beside a field ``Time``)
        self.kept_alike = {c.lower() for c in self.exact.values()} & KEPT
        self.outputs: dict[int, Columns | None] = {}

    # -- what each source offers
    def columns(self, source) -> Columns | None:
        """The columns a FROM/JOIN source offers, or None when they are not known here."""
        if isinstance(source, Scope):
            cols = self.scope_outputs(source)
            holder = source.expression.parent
        elif isinstance(source, exp.Table):
            use = self.uses.get(source.name)
            if use is None or use.table is None:   # a function's are a subset of its table's
                return None
            cols, holder = table_columns(use.table, use.renames), source
        else:
            return None
        alias = holder.args.get("alias") if holder is not None else None
        names = alias.columns if isinstance(alias, exp.TableAlias) else []
        if cols is not None and names:   # `AS t(a, b)` renames the first columns, by position
            cols = [(n.name, n.name) for n in names] + cols[len(names):]
        return cols

    def scope_outputs(self, scope: Scope) -> Columns | None:
        key = id(scope)
        if key not in self.outputs:
            self.outputs[key] = self._outputs(scope)
        return self.outputs[key]

    def _outputs(self, scope: Scope) -> Columns | None:
        e = scope.expression
        if isinstance(e, exp.SetOperation):
            branches = getattr(scope, "set_operation_scopes", None) or getattr(scope, "union_scopes", None)
            return self.scope_outputs(branches[0]) if branches else None
        if not isinstance(e, exp.Select):
            return None
        out: Columns = []
        for p in e.expressions:
            if isinstance(p, exp.Star) or (isinstance(p, exp.Column) and p.is_star):
                stars = self._star(scope, p)
                if stars is None:
                    return None
                out += stars
            elif isinstance(p, exp.Alias):
                out.append((p.alias, p.alias))
            elif isinstance(p, exp.Column):
                out.append((self.exact.get(p.name, p.name), p.name))
            else:
                out.append((None, None))   # named by DuckDB: not referable by name
        return out

    def _star(self, scope: Scope, star: exp.Expression) -> Columns | None:
        """The columns `*` or `t.*` expands to (less those of ``EXCLUDE``)."""
        qual = star.table if isinstance(star, exp.Column) else ""
        sources = scope.selected_sources
        picked = [s for name, (_, s) in sources.items() if not qual or name == _pick_name(qual, sources)]
        out: Columns = []
        for s in picked:
            cols = self.columns(s)
            if cols is None:
                return None
            out += cols
        inner = star.this if isinstance(star, exp.Column) else star
        dropped = {c.name for c in inner.args.get("except_") or []}
        return [c for c in out if c[1] not in dropped]

    # -- resolution
    def run(self, tree: exp.Expression) -> None:
        try:
            scopes = traverse_scope(tree)
        except OptimizeError as err:
            raise SqlPlanningError(f"cannot resolve the columns of this query: {err}") from None
        for scope in scopes:   # innermost first: a derived table's outputs are final when read
            self._check_joins(scope)
            for col in [n for n in scope.walk() if type(n) is exp.Column and not n.is_star]:
                self._resolve(scope, col)

    def _resolve(self, scope: Scope, col: exp.Column) -> None:
        ident = col.this
        if not isinstance(ident, exp.Identifier):
            return
        if not col.table and self._in_order_by(scope, col) and self._order_by_output(scope, col):
            return
        s = scope
        while s is not None:   # a name no source of a subquery has may be the enclosing query's
            found, unknown = self._find(s, col)
            if found:
                self._rename(col, ident, found)
            elif unknown:   # a source we cannot see into may have it: DuckDB decides, unless it
                self._check_unseen(ident)   # would take `"Time"` for time
            if found or unknown:
                return
            s = s.parent

    def _find(self, scope: Scope, col: exp.Column) -> tuple[Columns, bool]:
        """The columns of `scope`'s sources `col` may name, and whether a source's are unknown."""
        sources = scope.selected_sources
        if col.table:
            name = _pick_name(col.table, sources)
            picked = [sources[name][1]] if name is not None else []
        else:
            picked = [s for _, s in sources.values()]
        known = [self.columns(s) for s in picked]
        found = [c for cols in known if cols for c in _matches(col.this, cols)]
        if not found:
            found = [c for cols in known if cols for c in _matches(col.this, cols, lenient=True)]
        return found, None in known

    def _check_unseen(self, ident: exp.Identifier) -> None:
        name = ident.name
        if ident.quoted and name.lower() in self.kept_alike and name != name.lower():
            raise SqlPlanningError(f'cannot tell which column "{name}" names here (a source\'s columns are '
                                   "not known, and names that differ only in case are); select it from "
                                   "the table in a subquery of its own")

    def _rename(self, col: exp.Column, ident: exp.Identifier, found: Columns) -> None:
        targets = {c[1] for c in found}
        if len(targets) > 1:
            if any(t in self.exact for t in targets):
                raise _ambiguous(ident, found)
            return   # two sources both have it: DuckDB words that as it does for any table
        target = found[0][1]
        if target != ident.name and target in self.exact:
            col.set("this", exp.to_identifier(target, quoted=True))

    @staticmethod
    def _in_order_by(scope: Scope, col: exp.Column) -> bool:
        """Whether `col` is an item of the scope's own ORDER BY (where output names come first)."""
        return isinstance(col.parent, exp.Ordered) and isinstance(col.parent.parent, exp.Order) \
            and col.parent.parent.parent is scope.expression

    def _order_by_output(self, scope: Scope, col: exp.Column) -> bool:
        """Whether the ORDER BY item `col` names an output column (then rewritten to name it).
        DuckDB matches output names without regard to case as well: where two outputs are named
        alike, the item becomes the output's position."""
        outputs = self.scope_outputs(scope) or []
        found = _matches(col.this, [c for c in outputs if c[0] is not None])
        if not found:
            return False
        if len({c[1] for c in found}) > 1:
            raise _ambiguous(col.this, found)
        target = found[0][1]
        alike = [i for i, c in enumerate(outputs) if c[1] is not None and c[1].lower() == target.lower()]
        if len(alike) > 1:
            if not _positions_known(scope.expression):
                raise _ambiguous(col.this, [outputs[i] for i in alike])
            col.replace(exp.Literal.number(outputs.index(found[0]) + 1))
        elif target != col.name:
            col.set("this", exp.to_identifier(target, quoted=True))
        return True

    def _check_joins(self, scope: Scope) -> None:
        """USING / NATURAL join on a column renamed here: DuckDB would join the aliases by name."""
        e = scope.expression
        joins = e.args.get("joins") if isinstance(e, exp.Select) else None
        if not joins:
            return
        cols = [c for _, s in scope.selected_sources.values() for c in (self.columns(s) or [])]
        if not any(c[1] in self.exact for c in cols):
            return
        for join in joins:
            if str(join.args.get("method") or "").upper() == "NATURAL":
                raise SqlPlanningError("NATURAL JOIN over a table whose column names differ only in "
                                       "case is not supported; join with ON")
            for ident in join.args.get("using") or []:
                if any(c[1] in self.exact for c in _matches(ident, cols)):
                    raise SqlPlanningError(f"JOIN USING ({ident.name}) names a column whose name differs "
                                           "from another's only in case; join with ON")


def resolve(tree: exp.Expression, uses: dict) -> dict[str, str]:
    """Rewrite the column references of `tree` (its tables already mapped to `uses`' keys) onto
    the aliases of `aliases`; returns {alias: exact name} to name the result's columns by."""
    r = _Resolver(uses)
    r.run(tree)
    return r.exact
