"""The InfluxQL syntax tree.

Every node is a frozen dataclass (sequences are tuples, so nodes compare by value and hash); use
:func:`dataclasses.replace` to rewrite one.  ``str(node)`` renders canonical InfluxQL, as InfluxDB
1.x's ``String()`` does, and the parser reads that text back to an equal tree.  Where 1.x's
rendering would not parse back (an unquoted ``DISTINCT "a b"``, a redacted password, an empty
measurement name), the rendering here is the parseable one.

Shapes worth knowing (they follow 1.x's parser, which the planner must match):

* ``-x`` on a field or call is ``BinaryExpr(MUL, IntegerLiteral(-1), x)``; on a number or duration
  the literal is negated.
* ``a.b.c`` in an expression is one :class:`VarRef` named ``"a.b.c"``.
* ``DISTINCT x`` (without parentheses) is :class:`Distinct`; ``DISTINCT(x)`` is ``Call("distinct")``.
* Function names are lower-cased; keywords and identifiers are case-insensitive / case-sensitive as
  in 1.x (``time`` is an ordinary identifier).
* Bound parameters are replaced by literals while parsing; the tree never holds ``$name``.
* Time-valued strings stay :class:`StringLiteral`; :mod:`.condition` turns them into times.
* Empty / absent values: ``None`` for optional names, ``0`` for LIMIT/OFFSET/SLIMIT/SOFFSET (1.x
  treats 0 as "none"), ``None`` for an absent FROM on SHOW statements.
"""

from __future__ import annotations

import enum
import math
import re
from dataclasses import dataclass, field
from dataclasses import fields as dataclass_fields
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from typing import TYPE_CHECKING, Callable, Iterable, Iterator, Optional, Union

from .lexer import OPERATORS, Tok, format_duration, quote_ident, quote_string

if TYPE_CHECKING:   # RE2 loads on the first regex compiled (compile below), not with the parser
    from .regex import Re2Pattern

__all__ = [
    # enums
    "DataType", "Op", "FillOption", "Privilege", "TagKeyOp",
    # base classes
    "Node", "Expr", "Literal", "Statement", "Source",
    # expressions
    "VarRef", "Wildcard", "Call", "Distinct", "BinaryExpr", "ParenExpr",
    "StringLiteral", "IntegerLiteral", "UnsignedLiteral", "NumberLiteral", "BooleanLiteral",
    "DurationLiteral", "TimeLiteral", "RegexLiteral", "ListLiteral", "NilLiteral",
    # clauses
    "Field", "Dimension", "SortField", "Measurement", "SubQuery", "Target",
    # statements
    "Query", "SelectStatement", "ExplainStatement", "DeleteSeriesStatement", "DropSeriesStatement",
    "DropShardStatement", "DropMeasurementStatement", "ShowDatabasesStatement",
    "ShowMeasurementsStatement", "ShowMeasurementCardinalityStatement", "ShowSeriesStatement",
    "ShowSeriesCardinalityStatement", "ShowTagKeysStatement", "ShowTagKeyCardinalityStatement",
    "ShowTagValuesStatement", "ShowTagValuesCardinalityStatement", "ShowFieldKeysStatement",
    "ShowFieldKeyCardinalityStatement", "ShowRetentionPoliciesStatement", "ShowQueriesStatement",
    "ShowContinuousQueriesStatement", "ShowUsersStatement", "ShowGrantsForUserStatement",
    "ShowSubscriptionsStatement", "ShowShardsStatement", "ShowShardGroupsStatement",
    "ShowStatsStatement", "ShowDiagnosticsStatement", "CreateDatabaseStatement",
    "DropDatabaseStatement", "CreateRetentionPolicyStatement", "AlterRetentionPolicyStatement",
    "DropRetentionPolicyStatement", "CreateUserStatement", "DropUserStatement",
    "SetPasswordUserStatement", "GrantStatement", "GrantAdminStatement", "RevokeStatement",
    "RevokeAdminStatement", "CreateContinuousQueryStatement", "DropContinuousQueryStatement",
    "CreateSubscriptionStatement", "DropSubscriptionStatement", "KillQueryStatement",
    # helpers
    "walk", "walk_exprs", "binary_expr_name", "format_number", "format_time",
]  # fmt: skip


# ---------------------------------------------------------------------------------------------
# enums


class _Spelled(enum.Enum):
    """An enum whose ``value`` is its InfluxQL spelling, which ``str()`` gives."""

    def __str__(self) -> str:
        return self.value


class DataType(_Spelled):
    """A ``::type`` cast on a field reference (``FIELD`` is ``::field``, ``TAG`` is ``::tag``)."""

    FLOAT = "float"
    INTEGER = "integer"
    UNSIGNED = "unsigned"
    STRING = "string"
    BOOLEAN = "boolean"
    FIELD = "field"
    TAG = "tag"


def _from_tokens(base: type, name: str, toks, doc: str):
    """An enum ``name`` with one member per token (same name, same spelling), so the operator
    tables are written once, in :mod:`.lexer`."""
    cls = base(name, [(t.name, t.value) for t in toks], module=__name__, qualname=name)
    cls.__doc__ = doc
    return cls


class _Operator(_Spelled):
    # Op's methods; its members come from the lexer's operator tokens (see below)

    @property
    def precedence(self) -> int:
        """1 OR, 2 AND, 3 comparisons, 4 ``+ - | ^``, 5 ``* / % &`` (higher binds tighter)."""
        return Tok[self.name].precedence

    @property
    def is_comparison(self) -> bool:
        return self.precedence == 3

    @property
    def is_logical(self) -> bool:
        return self is Op.AND or self is Op.OR

    @property
    def is_arithmetic(self) -> bool:
        return self.precedence >= 4

    @classmethod
    def from_token(cls, tok: Tok) -> "Op":
        return cls[tok.name]


Op = _from_tokens(
    _Operator, "Op", OPERATORS,
    """Binary operators (``ADD`` ``+``, ``SUB`` ``-``... ``GTE`` ``>=``): the members and spellings of
    :data:`.lexer.OPERATORS`; ``value`` is the InfluxQL spelling.""",
)  # fmt: skip


class FillOption(enum.Enum):
    """``fill(...)``; ``NULL`` is also the default when there is no fill clause."""

    NULL = "null"
    NONE = "none"
    NUMBER = "number"
    PREVIOUS = "previous"
    LINEAR = "linear"


class Privilege(_Spelled):
    READ = "READ"
    WRITE = "WRITE"
    ALL = "ALL PRIVILEGES"


TagKeyOp = _from_tokens(
    _Spelled, "TagKeyOp", (Tok.EQ, Tok.NEQ, Tok.EQREGEX, Tok.NEQREGEX, Tok.IN),
    "The operator of ``WITH KEY`` in SHOW TAG VALUES (``EQ`` ``=``... ``IN``).",
)  # fmt: skip


# ---------------------------------------------------------------------------------------------
# base classes


class Node:
    """Base of every syntax-tree node; ``str(node)`` is canonical InfluxQL."""

    __slots__ = ()

    def __str__(self) -> str:  # pragma: no cover - every subclass overrides
        raise NotImplementedError


class Expr(Node):
    """An expression (field, condition, dimension, call argument)."""

    __slots__ = ()


class Literal(Expr):
    __slots__ = ()


class Statement(Node):
    __slots__ = ()


class Source(Node):
    """A FROM item: :class:`Measurement` or :class:`SubQuery`."""

    __slots__ = ()


_frozen = dataclass(frozen=True, eq=True, repr=True)


# ---------------------------------------------------------------------------------------------
# expressions


@_frozen
class VarRef(Expr):
    """A field or tag reference, optionally cast: ``usage::float``, ``host::tag``.

    ``name`` is the whole dotted name as written (``"cpu.value"`` for ``cpu.value``).
    """

    name: str
    type: Optional[DataType] = None

    def __str__(self) -> str:
        s = quote_ident(self.name)
        return f"{s}::{self.type.value}" if self.type is not None else s


@_frozen
class Wildcard(Expr):
    """``*``, ``*::field`` (type FIELD) or ``*::tag`` (type TAG)."""

    type: Optional[DataType] = None

    def __str__(self) -> str:
        return "*" if self.type is None else f"*::{self.type.value}"


_CALL_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")


@_frozen
class Call(Expr):
    """A function call; ``name`` is lower case (``MEAN(x)`` -> ``mean``)."""

    name: str
    args: tuple[Expr, ...] = ()

    def __str__(self) -> str:
        return f"{_call_name(self.name)}({', '.join(str(a) for a in self.args)})"


def _call_name(name: str) -> str:
    from .lexer import KEYWORDS

    if _CALL_NAME.match(name) and (name.lower() not in KEYWORDS or name.lower() == "distinct"):
        return name
    return quote_ident(name) if name else '""'


@_frozen
class Distinct(Expr):
    """``DISTINCT x`` written without parentheses (1.x rewrites it to ``distinct(x)``)."""

    name: str

    def __str__(self) -> str:
        return f"DISTINCT {quote_ident(self.name)}"

    def to_call(self) -> Call:
        return Call("distinct", (VarRef(self.name),))


@_frozen
class BinaryExpr(Expr):
    op: Op
    lhs: Expr
    rhs: Expr

    def __str__(self) -> str:
        # Walk down the left edge without recursing: long chains such as
        # "host = 'a' OR host = 'b' OR ..." are left-deep and can be thousands of levels.
        spine = [self]
        e = self.lhs
        while isinstance(e, BinaryExpr) and e.op.precedence >= spine[-1].op.precedence:
            spine.append(e)
            e = e.lhs
        text = _operand(e, spine[-1].op, False)
        for node in reversed(spine):
            text = f"{text} {node.op.value} {_operand(node.rhs, node.op, True)}"
        return text


def _is_negation(e: Expr) -> bool:
    """``-x`` / ``+x`` as the parser builds them: ``-1 * x`` / ``1 * x`` with x a field, call or
    parenthesis."""
    return (
        isinstance(e, BinaryExpr)
        and e.op is Op.MUL
        and type(e.lhs) is IntegerLiteral
        and e.lhs.value in (-1, 1)
        and (
            isinstance(e.rhs, (VarRef, ParenExpr))
            or (isinstance(e.rhs, Call) and e.rhs.name.lower() != "distinct")
        )
    )


def _operand(e: Expr, parent: Op, right: bool) -> str:
    if isinstance(e, BinaryExpr):
        p = e.op.precedence
        if p < parent.precedence or (right and p == parent.precedence):
            # Trees from the parser only get here for "-x" (see _is_negation): write it back the
            # way it was read.  Trees built by hand get the parentheses their shape needs.
            if _is_negation(e):
                return f"{'-' if e.lhs.value < 0 else '+'}{e.rhs}"
            return f"({e})"
    return str(e)


@_frozen
class ParenExpr(Expr):
    expr: Expr

    def __str__(self) -> str:
        return f"({self.expr})"


@_frozen
class StringLiteral(Literal):
    value: str

    def __str__(self) -> str:
        return quote_string(self.value)


@_frozen
class IntegerLiteral(Literal):
    """A signed 64-bit integer literal."""

    value: int

    def __str__(self) -> str:
        return str(self.value)


@_frozen
class UnsignedLiteral(Literal):
    """An integer literal above 2**63-1 (1.x reads those as unsigned 64-bit)."""

    value: int

    def __str__(self) -> str:
        return str(self.value)


def format_number(v: float, point: bool = True) -> str:
    """A float as 1.x writes it: positional digits, always with a ``.`` (``2.0``, ``0.0000001``).
    With ``point=False`` no ``.0`` is added where the digits have no point (``1e22`` ->
    ``10000000000000000000000``), which is how the parser spells a bound float parameter."""
    if math.isnan(v):
        return "NaN"
    if math.isinf(v):
        return "+Inf" if v > 0 else "-Inf"
    s = format(Decimal(repr(v)), "f")
    if point and "." not in s:
        s += ".0"
    return s


@_frozen
class NumberLiteral(Literal):
    """A float literal."""

    value: float

    def __str__(self) -> str:
        return format_number(self.value)


@_frozen
class BooleanLiteral(Literal):
    value: bool

    def __str__(self) -> str:
        return "true" if self.value else "false"


@_frozen
class DurationLiteral(Literal):
    """A duration in nanoseconds (``1h30m`` -> 5_400_000_000_000)."""

    value: int

    def __str__(self) -> str:
        return format_duration(self.value)


_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


def format_time(ns: int) -> str:
    """Nanoseconds since the epoch as RFC 3339 with the shortest exact fraction, in UTC."""
    sec, frac = divmod(ns, 1_000_000_000)
    dt = _EPOCH + timedelta(seconds=sec)
    s = dt.strftime("%Y-%m-%dT%H:%M:%S")
    if frac:
        s += "." + f"{frac:09d}".rstrip("0")
    return s + "Z"


@_frozen
class TimeLiteral(Literal):
    """A point in time, nanoseconds since the epoch (never produced by the parser; see
    :mod:`.condition`).  Renders as an RFC 3339 string."""

    value: int

    def __str__(self) -> str:
        return "'" + format_time(self.value) + "'"


@_frozen
class RegexLiteral(Literal):
    """``/pattern/``.  ``pattern`` is the Go/RE2 regular expression as written, with ``\\/``
    already turned into ``/``.  :meth:`compile` gives it compiled by RE2 (``regex.Re2Pattern``)."""

    pattern: str

    def __str__(self) -> str:
        return "/" + self.pattern.replace("/", "\\/") + "/"

    def compile(self) -> Re2Pattern:
        from .regex import compile_re2

        return compile_re2(self.pattern)


@_frozen
class ListLiteral(Literal):
    """The identifier list of ``WITH KEY IN (a, b)``."""

    values: tuple[str, ...]

    def __str__(self) -> str:
        return "(" + ", ".join(quote_ident(v) for v in self.values) + ")"


@_frozen
class NilLiteral(Literal):
    """An absent value (only produced by :func:`.condition.reduce`)."""

    def __str__(self) -> str:
        return "nil"


# ---------------------------------------------------------------------------------------------
# clauses


@_frozen
class Field(Node):
    """One SELECT item: an expression and an optional alias."""

    expr: Expr
    alias: Optional[str] = None

    def __str__(self) -> str:
        s = str(self.expr)
        return f"{s} AS {quote_ident(self.alias)}" if self.alias else s

    @property
    def name(self) -> str:
        """The output column name 1.x derives: alias, else the call name, the field name, or the
        names in a binary expression joined by ``_`` (``""`` for a bare literal)."""
        if self.alias:
            return self.alias
        return _expr_name(self.expr)


def _expr_name(e: Expr) -> str:
    if isinstance(e, Call):
        return e.name
    if isinstance(e, BinaryExpr):
        return binary_expr_name(e)
    if isinstance(e, ParenExpr):
        return _expr_name(e.expr)
    if isinstance(e, VarRef):
        return e.name
    return ""


def binary_expr_name(e: BinaryExpr) -> str:
    """Field and call names in ``e``, left to right, joined by ``_`` (1.x's BinaryExprName)."""
    # a loop, not a nested function calling itself: that closure is a reference cycle, left
    # for the cyclic GC at every call
    names: list[str] = []
    todo: list[Node] = [e]
    while todo:
        x = todo.pop()
        if isinstance(x, (VarRef, Call)):
            names.append(x.name)
            if isinstance(x, Call):
                continue
        todo.extend(reversed(_kids(x)))
    return "_".join(names)


@_frozen
class Dimension(Node):
    """One GROUP BY item: ``time(...)`` call, tag :class:`VarRef`, :class:`Wildcard` or regex."""

    expr: Expr

    def __str__(self) -> str:
        return str(self.expr)


@_frozen
class SortField(Node):
    """An ORDER BY item; ``name`` is None for a bare ``ASC`` / ``DESC``."""

    name: Optional[str] = None
    ascending: bool = True

    def __str__(self) -> str:
        direction = "ASC" if self.ascending else "DESC"
        return f"{quote_ident(self.name)} {direction}" if self.name else direction


@_frozen
class Measurement(Source):
    """A measurement in FROM (or INTO): ``name`` or ``regex``, optionally qualified.

    ``db.rp.m`` sets all three names; ``db..m`` leaves ``retention_policy`` None; ``rp.m`` sets
    only the retention policy.  In a :class:`Target`, ``name`` None means ``:MEASUREMENT``.
    """

    name: Optional[str] = None
    regex: Optional[RegexLiteral] = None
    database: Optional[str] = None
    retention_policy: Optional[str] = None

    def __str__(self) -> str:
        parts = []
        if self.database:
            parts.append(quote_ident(self.database) + ".")
        if self.retention_policy:
            parts.append(quote_ident(self.retention_policy))
        if self.database or self.retention_policy:
            parts.append(".")
        if self.name is not None:
            parts.append(quote_ident(self.name) if self.name else '""')
        elif self.regex is not None:
            parts.append(str(self.regex))
        return "".join(parts)


@_frozen
class SubQuery(Source):
    statement: "SelectStatement"

    def __str__(self) -> str:
        return f"({self.statement})"


@_frozen
class Target(Node):
    """``INTO`` destination."""

    measurement: Measurement

    def __str__(self) -> str:
        s = "INTO " + str(self.measurement)
        return s + ":MEASUREMENT" if self.measurement.name is None else s


# ---------------------------------------------------------------------------------------------
# statements


def _join(items) -> str:
    return ", ".join(str(i) for i in items)


def _on(database: Optional[str]) -> str:
    return f" ON {quote_ident(database)}" if database else ""


def _from(sources) -> str:
    return f" FROM {_join(sources)}" if sources is not None else ""


def _where(cond) -> str:
    return f" WHERE {cond}" if cond is not None else ""


def _group_by(dims) -> str:
    return f" GROUP BY {_join(dims)}" if dims else ""


def _order_by(sort_fields) -> str:
    return f" ORDER BY {_join(sort_fields)}" if sort_fields else ""


def _limits(**kw) -> str:
    return "".join(f" {k.upper()} {v}" for k, v in kw.items() if v > 0)


@_frozen
class Query(Node):
    """A parsed query text: statements in order."""

    statements: tuple[Statement, ...] = ()

    def __str__(self) -> str:
        return ";\n".join(str(s) for s in self.statements)

    def __iter__(self):
        return iter(self.statements)

    def __len__(self) -> int:
        return len(self.statements)

    def __getitem__(self, i):
        return self.statements[i]


@_frozen
class SelectStatement(Statement):
    """``SELECT fields [INTO target] FROM sources [WHERE condition] [GROUP BY dimensions]
    [fill(...)] [ORDER BY ...] [LIMIT n] [OFFSET n] [SLIMIT n] [SOFFSET n] [tz('...')]``."""

    fields: tuple[Field, ...]
    sources: tuple[Source, ...]
    target: Optional[Target] = None
    condition: Optional[Expr] = None
    dimensions: tuple[Dimension, ...] = ()
    fill: FillOption = FillOption.NULL
    #: the number of ``fill(<number>)`` (int or float), else None
    fill_value: Union[int, float, None] = None
    sort_fields: tuple[SortField, ...] = ()
    limit: int = 0
    offset: int = 0
    slimit: int = 0
    soffset: int = 0
    #: the ``tz('...')`` name, validated by the parser
    location: Optional[str] = None

    def __str__(self) -> str:
        s = "SELECT " + _join(self.fields)
        if self.target is not None:
            s += " " + str(self.target)
        if self.sources:
            s += _from(self.sources)
        s += _where(self.condition) + _group_by(self.dimensions)
        if self.fill is FillOption.NUMBER:
            v = self.fill_value
            s += f" fill({format_number(v) if isinstance(v, float) else v})"
        elif self.fill is not FillOption.NULL:
            s += f" fill({self.fill.value})"
        s += _order_by(self.sort_fields)
        s += _limits(limit=self.limit, offset=self.offset, slimit=self.slimit, soffset=self.soffset)
        if self.location is not None:
            s += f" TZ({quote_string(self.location)})"
        return s

    # -- 1.x helpers the planner needs -----------------------------------------------------------

    @property
    def is_raw_query(self) -> bool:
        """True when no field contains a function call (1.x's IsRawQuery)."""
        return not any(isinstance(n, Call) for f in self.fields for n in walk(f))

    @property
    def time_ascending(self) -> bool:
        return not self.sort_fields or self.sort_fields[0].ascending

    @property
    def has_field_wildcard(self) -> bool:
        return any(isinstance(n, (Wildcard, RegexLiteral)) for f in self.fields for n in walk(f))

    @property
    def has_dimension_wildcard(self) -> bool:
        return any(isinstance(d.expr, (Wildcard, RegexLiteral)) for d in self.dimensions)

    def time_dimension(self) -> Optional[Call]:
        """The ``time(...)`` call of GROUP BY, if any."""
        for d in self.dimensions:
            if isinstance(d.expr, Call) and d.expr.name == "time":
                return d.expr
        return None

    def group_by_interval(self) -> int:
        """The GROUP BY time interval in ns (0 without one).  Raises ValueError with 1.x's message
        for a malformed ``time(...)``."""
        call = self.time_dimension()
        if call is None:
            return 0
        if not 1 <= len(call.args) <= 2:
            raise ValueError("time dimension expected 1 or 2 arguments")
        arg = call.args[0]
        if not isinstance(arg, DurationLiteral):
            raise ValueError("time dimension must have duration argument")
        return arg.value

    def group_by_offset(self, now_ns: Optional[int] = None) -> int:
        """The GROUP BY time offset in ns, reduced modulo the interval (``time(10s, -5s)`` -> 5s).

        An offset of ``now()`` needs ``now_ns``.  Raises ValueError for other offsets.
        """
        interval = self.group_by_interval()
        call = self.time_dimension()
        if call is None or len(call.args) < 2:
            return 0
        off = call.args[1]
        if isinstance(off, DurationLiteral):
            return _go_mod(off.value, interval)
        if isinstance(off, Call) and off.name == "now" and not off.args and now_ns is not None:
            off = TimeLiteral(now_ns)
        if isinstance(off, TimeLiteral):
            # t.Sub(t.Truncate(interval)): Truncate works from the zero time (year 1)
            zero_to_epoch = 62135596800 * 1_000_000_000
            return (off.value + zero_to_epoch) % interval if interval > 0 else 0
        raise ValueError(f"invalid time dimension offset: {off}")

    def column_names(self, time_name: str = "time") -> list[str]:
        """Output column names as 1.x computes them for this (rewritten) statement: ``time`` (or
        ``time_name``), then each field's name, extra columns for ``top``/``bottom`` tag
        arguments, duplicates suffixed ``_1``, ``_2``..."""
        cols: list[Field] = []
        for f in self.fields:
            cols.append(f)
            e = f.expr
            if self.target is None and isinstance(e, Call) and e.name in ("top", "bottom"):
                cols.extend(Field(a) for a in e.args[1:] if isinstance(a, VarRef))
        names: list[Optional[str]] = [f.alias or None for f in cols]
        seen: dict[str, int] = {n: 1 for n in names if n}
        for i, f in enumerate(cols):
            if names[i]:
                continue
            name = f.name
            if name in seen:
                count = seen[name]
                while True:
                    resolved = f"{name}_{count}"
                    if resolved not in seen:
                        seen[name] = count + 1
                        name = resolved
                        break
                    count += 1
            seen[name] = seen.get(name, 0) + 1
            names[i] = name
        return [time_name] + [n or "" for n in names]


def _go_mod(a: int, b: int) -> int:
    """Go's ``%`` (truncated; the sign follows ``a``)."""
    if b == 0:
        return 0
    r = abs(a) % abs(b)
    return -r if a < 0 else r


@_frozen
class ExplainStatement(Statement):
    statement: SelectStatement
    analyze: bool = False

    def __str__(self) -> str:
        return "EXPLAIN " + ("ANALYZE " if self.analyze else "") + str(self.statement)


class _Clauses(Statement):
    """A statement that is its keywords (the class's ``_head``), then the clauses it has fields
    for, always in this order (1.x's; :meth:`.parser.Parser._parse_clauses` reads them in the same
    order): ``[EXACT] CARDINALITY`` (``exact``), a name (``name``), ``ON`` (``database``), ``FROM``
    (``sources``), ``WITH MEASUREMENT`` (``source``), ``WITH KEY`` (``tag_key_expr``), ``WHERE``
    (``condition``), ``GROUP BY`` (``dimensions``), ``ORDER BY`` (``sort_fields``), ``LIMIT``,
    ``OFFSET``, ``SLIMIT``, ``SOFFSET``, ``FOR 'module'`` (``module``).

    The private dataclasses below it hold the groups of fields several statements share, so each
    statement only names its keywords.
    """

    __slots__ = ()
    _head = ""

    def __str__(self) -> str:
        def get(name: str, default=None):
            return getattr(self, name, default)

        s = self._head
        if get("exact") is not None:
            s += " EXACT CARDINALITY" if self.exact else " CARDINALITY"
        if get("name") is not None:
            s += " " + quote_ident(self.name)
        s += _on(get("database")) + _from(get("sources"))
        if get("source") is not None:
            op = self.source_op or (Op.EQREGEX if self.source.regex is not None else Op.EQ)
            s += f" WITH MEASUREMENT {op.value} {self.source}"
        if get("tag_key_expr") is not None:
            key = self.tag_key_expr
            key_text = quote_ident(key.value) if isinstance(key, StringLiteral) else str(key)
            s += f" WITH KEY {self.op.value} {key_text}"
        s += _where(get("condition")) + _group_by(get("dimensions")) + _order_by(get("sort_fields"))
        s += _limits(limit=get("limit", 0), offset=get("offset", 0), slimit=get("slimit", 0),
                     soffset=get("soffset", 0))  # fmt: skip
        if get("module"):
            s += f" FOR {quote_string(self.module)}"
        return s


@_frozen
class _Named(_Clauses):
    name: str


@_frozen
class _SeriesFilter(_Clauses):
    sources: Optional[tuple[Source, ...]] = None
    condition: Optional[Expr] = None


@_frozen
class _TagKey(_Clauses):
    op: TagKeyOp
    tag_key_expr: Literal


@_frozen
class _Listing(_Clauses):
    database: Optional[str] = None
    sources: Optional[tuple[Source, ...]] = None
    condition: Optional[Expr] = None
    sort_fields: tuple[SortField, ...] = ()
    limit: int = 0
    offset: int = 0


@_frozen
class _Cardinality(_Clauses):
    exact: bool = False
    database: Optional[str] = None
    sources: Optional[tuple[Source, ...]] = None
    condition: Optional[Expr] = None
    dimensions: tuple[Dimension, ...] = ()
    limit: int = 0
    offset: int = 0


@_frozen
class _ForModule(_Clauses):
    module: Optional[str] = None


@_frozen
class DeleteSeriesStatement(_SeriesFilter):
    """``DELETE [FROM sources] [WHERE condition]`` (at least one of the two)."""

    _head = "DELETE"


@_frozen
class DropSeriesStatement(_SeriesFilter):
    """``DROP SERIES [FROM sources] [WHERE condition]`` (at least one of the two)."""

    _head = "DROP SERIES"


@_frozen
class DropShardStatement(Statement):
    id: int

    def __str__(self) -> str:
        return f"DROP SHARD {self.id}"


@_frozen
class DropMeasurementStatement(_Named):
    _head = "DROP MEASUREMENT"


@_frozen
class ShowDatabasesStatement(_Clauses):
    _head = "SHOW DATABASES"


@_frozen
class ShowMeasurementsStatement(_Clauses):
    """``SHOW MEASUREMENTS [ON db] [WITH MEASUREMENT =|=~ source] [WHERE ...] [ORDER BY ...]
    [LIMIT n] [OFFSET n]``.  ``source_op`` is the operator as written (1.x accepts a regex after
    ``=`` and a name after ``=~``; InfluxDB 3 rejects both)."""

    _head = "SHOW MEASUREMENTS"
    database: Optional[str] = None
    source: Optional[Measurement] = None
    source_op: Optional[Op] = None
    condition: Optional[Expr] = None
    sort_fields: tuple[SortField, ...] = ()
    limit: int = 0
    offset: int = 0


@_frozen
class ShowMeasurementCardinalityStatement(_Cardinality):
    _head = "SHOW MEASUREMENT"


@_frozen
class ShowSeriesStatement(_Listing):
    _head = "SHOW SERIES"


@_frozen
class ShowSeriesCardinalityStatement(_Cardinality):
    _head = "SHOW SERIES"


@_frozen
class ShowTagKeysStatement(_Listing):
    _head = "SHOW TAG KEYS"
    slimit: int = 0
    soffset: int = 0


@_frozen
class ShowTagKeyCardinalityStatement(_Cardinality):
    _head = "SHOW TAG KEY"


# (dataclasses take the fields of several bases in reverse MRO order: _TagKey's come first)
@_frozen
class ShowTagValuesStatement(_Listing, _TagKey):
    """``SHOW TAG VALUES ... WITH KEY op key``: ``key`` is a :class:`StringLiteral` (the tag key,
    for ``=`` / ``!=``), :class:`RegexLiteral` (``=~`` / ``!~``) or :class:`ListLiteral` (``IN``).

    Fields: ``op``, ``tag_key_expr``, ``database``, ``sources``, ``condition``, ``sort_fields``,
    ``limit``, ``offset``."""

    _head = "SHOW TAG VALUES"


@_frozen
class ShowTagValuesCardinalityStatement(_Cardinality, _TagKey):
    """Fields: ``op``, ``tag_key_expr``, ``exact``, ``database``, ``sources``, ``condition``,
    ``dimensions``, ``limit``, ``offset``."""

    _head = "SHOW TAG VALUES"


@_frozen
class ShowFieldKeysStatement(_Clauses):
    _head = "SHOW FIELD KEYS"
    database: Optional[str] = None
    sources: Optional[tuple[Source, ...]] = None
    sort_fields: tuple[SortField, ...] = ()
    limit: int = 0
    offset: int = 0


@_frozen
class ShowFieldKeyCardinalityStatement(_Cardinality):
    _head = "SHOW FIELD KEY"


@_frozen
class ShowRetentionPoliciesStatement(_Clauses):
    _head = "SHOW RETENTION POLICIES"
    database: Optional[str] = None


@_frozen
class ShowQueriesStatement(_Clauses):
    _head = "SHOW QUERIES"


@_frozen
class ShowContinuousQueriesStatement(_Clauses):
    _head = "SHOW CONTINUOUS QUERIES"


@_frozen
class ShowUsersStatement(_Clauses):
    _head = "SHOW USERS"


@_frozen
class ShowGrantsForUserStatement(_Named):
    _head = "SHOW GRANTS FOR"


@_frozen
class ShowSubscriptionsStatement(_Clauses):
    _head = "SHOW SUBSCRIPTIONS"


@_frozen
class ShowShardsStatement(_Clauses):
    _head = "SHOW SHARDS"


@_frozen
class ShowShardGroupsStatement(_Clauses):
    _head = "SHOW SHARD GROUPS"


@_frozen
class ShowStatsStatement(_ForModule):
    _head = "SHOW STATS"


@_frozen
class ShowDiagnosticsStatement(_ForModule):
    _head = "SHOW DIAGNOSTICS"


@_frozen
class CreateDatabaseStatement(Statement):
    """``CREATE DATABASE name [WITH [DURATION d] [REPLICATION n] [SHARD DURATION d] [NAME rp]]``.

    Durations are ns (``INF`` is 0); ``rp_create`` says whether ``WITH`` was given.
    """

    name: str
    rp_create: bool = False
    rp_duration: Optional[int] = None
    rp_replication: Optional[int] = None
    rp_shard_group_duration: int = 0
    rp_name: Optional[str] = None

    def __str__(self) -> str:
        s = "CREATE DATABASE " + quote_ident(self.name)
        if self.rp_create:
            s += " WITH"
            if self.rp_duration is not None:
                s += " DURATION " + format_duration(self.rp_duration)
            if self.rp_replication is not None:
                s += f" REPLICATION {self.rp_replication}"
            if self.rp_shard_group_duration > 0:
                s += " SHARD DURATION " + format_duration(self.rp_shard_group_duration)
            if self.rp_name:
                s += " NAME " + quote_ident(self.rp_name)
        return s


@_frozen
class DropDatabaseStatement(_Named):
    _head = "DROP DATABASE"


@_frozen
class CreateRetentionPolicyStatement(Statement):
    name: str
    database: str
    duration: int
    replication: int
    default: bool = False
    shard_group_duration: int = 0

    def __str__(self) -> str:
        s = (
            f"CREATE RETENTION POLICY {quote_ident(self.name)} ON {quote_ident(self.database)}"
            f" DURATION {format_duration(self.duration)} REPLICATION {self.replication}"
        )
        if self.shard_group_duration > 0:
            s += " SHARD DURATION " + format_duration(self.shard_group_duration)
        return s + (" DEFAULT" if self.default else "")


@_frozen
class AlterRetentionPolicyStatement(Statement):
    name: str
    database: str
    duration: Optional[int] = None
    replication: Optional[int] = None
    shard_group_duration: Optional[int] = None
    default: bool = False

    def __str__(self) -> str:
        s = f"ALTER RETENTION POLICY {quote_ident(self.name)} ON {quote_ident(self.database)}"
        if self.duration is not None:
            s += " DURATION " + format_duration(self.duration)
        if self.replication is not None:
            s += f" REPLICATION {self.replication}"
        if self.shard_group_duration is not None:
            s += " SHARD DURATION " + format_duration(self.shard_group_duration)
        return s + (" DEFAULT" if self.default else "")


@_frozen
class _NameOnDatabase(Statement):
    # "<keywords> name ON db"; unlike _Clauses, the database is required and printed even if ""
    name: str
    database: str

    def __str__(self) -> str:
        return f"{self._head} {quote_ident(self.name)} ON {quote_ident(self.database)}"


@_frozen
class DropRetentionPolicyStatement(_NameOnDatabase):
    _head = "DROP RETENTION POLICY"


@_frozen
class CreateUserStatement(Statement):
    """Note: ``str()`` includes the password (1.x prints ``[REDACTED]``, which does not parse)."""

    name: str
    password: str
    admin: bool = False

    def __str__(self) -> str:
        s = f"CREATE USER {quote_ident(self.name)} WITH PASSWORD {quote_string(self.password)}"
        return s + (" WITH ALL PRIVILEGES" if self.admin else "")


@_frozen
class DropUserStatement(_Named):
    _head = "DROP USER"


@_frozen
class SetPasswordUserStatement(Statement):
    name: str
    password: str

    def __str__(self) -> str:
        return f"SET PASSWORD FOR {quote_ident(self.name)} = {quote_string(self.password)}"


# GRANT and REVOKE print alike: "<_verb> privilege ON db <_to> user", "<_verb> ALL PRIVILEGES <_to> user"
@_frozen
class _PrivilegeChange(Statement):
    privilege: Privilege
    on: str
    user: str

    def __str__(self) -> str:
        return f"{self._verb} {self.privilege} ON {quote_ident(self.on)} {self._to} {quote_ident(self.user)}"


@_frozen
class _AdminChange(Statement):
    user: str

    def __str__(self) -> str:
        return f"{self._verb} ALL PRIVILEGES {self._to} {quote_ident(self.user)}"


@_frozen
class GrantStatement(_PrivilegeChange):
    _verb, _to = "GRANT", "TO"


@_frozen
class GrantAdminStatement(_AdminChange):
    _verb, _to = "GRANT", "TO"


@_frozen
class RevokeStatement(_PrivilegeChange):
    _verb, _to = "REVOKE", "FROM"


@_frozen
class RevokeAdminStatement(_AdminChange):
    _verb, _to = "REVOKE", "FROM"


@_frozen
class CreateContinuousQueryStatement(Statement):
    name: str
    database: str
    source: SelectStatement
    resample_every: int = 0
    resample_for: int = 0

    def __str__(self) -> str:
        s = f"CREATE CONTINUOUS QUERY {quote_ident(self.name)} ON {quote_ident(self.database)} "
        if self.resample_every > 0 or self.resample_for > 0:
            s += "RESAMPLE "
            if self.resample_every > 0:
                s += f"EVERY {format_duration(self.resample_every)} "
            if self.resample_for > 0:
                s += f"FOR {format_duration(self.resample_for)} "
        return s + f"BEGIN {self.source} END"


@_frozen
class DropContinuousQueryStatement(_NameOnDatabase):
    _head = "DROP CONTINUOUS QUERY"


@_frozen
class CreateSubscriptionStatement(Statement):
    name: str
    database: str
    retention_policy: str
    mode: str  # "ALL" or "ANY"
    destinations: tuple[str, ...] = field(default=())

    def __str__(self) -> str:
        return (
            f"CREATE SUBSCRIPTION {quote_ident(self.name)} ON {quote_ident(self.database)}."
            f"{quote_ident(self.retention_policy)} DESTINATIONS {self.mode} "
            + ", ".join(quote_string(d) for d in self.destinations)
        )


@_frozen
class DropSubscriptionStatement(Statement):
    name: str
    database: str
    retention_policy: str

    def __str__(self) -> str:
        return (
            f"DROP SUBSCRIPTION {quote_ident(self.name)} ON {quote_ident(self.database)}."
            f"{quote_ident(self.retention_policy)}"
        )


@_frozen
class KillQueryStatement(Statement):
    query_id: int
    host: Optional[str] = None

    def __str__(self) -> str:
        return f"KILL QUERY {self.query_id}" + (f" ON {quote_ident(self.host)}" if self.host else "")


# ---------------------------------------------------------------------------------------------
# traversal


def _kids(n: Node) -> tuple:
    """The child nodes of ``n``, left to right. Trees are walked several times per new query
    text (authorization, limits, planning): the way to a node's children is worked out once per
    node class, not by a chain of isinstance tests per node."""
    get = _KIDS.get(type(n))
    if get is None:
        get = _KIDS[type(n)] = _kids_of_class(type(n))
    return get(n)


def _no_kids(n: Node) -> tuple:
    return ()


def _select_kids(n: SelectStatement) -> tuple:
    return (*n.fields, *(() if n.target is None else (n.target,)), *n.sources,
            *(() if n.condition is None else (n.condition,)), *n.dimensions, *n.sort_fields)


def _statement_kids(n: Statement) -> tuple:
    out: list = []
    for attr in ("sources", "source", "condition", "tag_key_expr", "dimensions", "sort_fields"):
        v = getattr(n, attr, None)
        if isinstance(v, tuple):
            out.extend(v)
        elif isinstance(v, Node):
            out.append(v)
    return tuple(out)


def _kids_of_class(cls: type) -> Callable[[Node], tuple]:
    if issubclass(cls, BinaryExpr):
        return lambda n: (n.lhs, n.rhs)
    if issubclass(cls, Call):
        return lambda n: tuple(n.args)
    if issubclass(cls, (ParenExpr, Field, Dimension)):
        return lambda n: (n.expr,)
    if issubclass(cls, Measurement):
        return lambda n: () if n.regex is None else (n.regex,)
    if issubclass(cls, (SubQuery, ExplainStatement)):
        return lambda n: (n.statement,)
    if issubclass(cls, Target):
        return lambda n: (n.measurement,)
    if issubclass(cls, Query):
        return lambda n: tuple(n.statements)
    if issubclass(cls, SelectStatement):
        return _select_kids
    if issubclass(cls, CreateContinuousQueryStatement):
        return lambda n: (n.source,)
    if issubclass(cls, Statement):
        return _statement_kids
    return _no_kids


_KIDS: dict[type, Callable[[Node], tuple]] = {}


def replaced(node: Node, **changes) -> Node:
    """``dataclasses.replace(node, **changes)`` in a third of its time (the planner replaces a
    statement of twenty fields once per new query text); like it, no memo (see `memo`) of
    ``node`` is carried over."""
    cls = type(node)
    old = node.__dict__
    new = object.__new__(cls)
    # (no node class has an __init__ of its own or a __post_init__: the frozen dataclass __init__
    # would only set these same fields, one object.__setattr__ at a time)
    fields = new.__dict__
    for name in field_names(cls):
        fields[name] = old[name]
    for name in changes:
        if name not in fields:
            raise TypeError(f"{cls.__name__} has no field {name!r}")
    fields.update(changes)
    return new


def field_names(cls: type) -> tuple[str, ...]:
    """The dataclass fields of node class ``cls``, by name."""
    names = _FIELD_NAMES.get(cls)
    if names is None:
        names = _FIELD_NAMES[cls] = tuple(f.name for f in dataclass_fields(cls))
    return names


_FIELD_NAMES: dict[type, tuple[str, ...]] = {}


def memo(node: Node, name: str, compute: Callable[[], object]):
    """``compute()``, worked out once per node and kept on it as `name`: trees are immutable and
    parsed trees are reused (the executor keeps recent ones), while the planner, the pushdown and
    the query log ask the same questions of them on every run."""
    kept = getattr(node, "__dict__", None)
    if kept is None:
        return compute()
    try:
        return kept[name]
    except KeyError:
        # into the instance dict directly (a frozen dataclass refuses setattr); the memo is no
        # field, so equality, hashing and repr ignore it
        value = kept[name] = compute()
        return value


#: the memo of a statement made from a shape's template that differs from the template's
#: statement in its WHERE's literals alone: that statement (see engine/influxql/shapes.py)
LIKE = "_like"


def shape_memo(stmt: Node, name: str, compute: Callable[[], object]):
    """``memo``, for a question about ``stmt``'s structure alone (its calls, its sources, its
    fields), never about a literal's value: answered once for all the statements of a shape,
    on the statement they were made like (`LIKE`), as dashboards send one shape with new
    time ranges."""
    like = getattr(stmt, "__dict__", _NOTHING).get(LIKE)
    return memo(stmt if like is None else like, name, compute)


_NOTHING: dict = {}


def text(node: Node) -> str:
    """``str(node)``, worked out once per node (see `memo`)."""
    kept = getattr(node, "__dict__", None)
    if kept is not None:
        got = kept.get("_text")   # asked dozens of times per run: no closure for a kept text
        if got is not None:
            return got
    return memo(node, "_text", lambda: str(node))


def walk(node: Node) -> Iterable[Node]:
    """Every node under ``node`` (itself first), depth-first, left to right. A statement's nodes
    are kept with it (see `memo`): authorization, the planner and its checks each walk it."""
    if isinstance(node, Statement):
        return memo(node, "_walk", lambda: tuple(_walk(node)))
    return _walk(node)


def _walk(node: Node) -> Iterator[Node]:
    stack = [node]
    pop, push = stack.pop, stack.extend
    while stack:
        n = pop()
        yield n
        kids = _kids(n)
        if kids:
            push(kids[::-1])


def walk_exprs(node: Node) -> Iterator[Expr]:
    """Every expression node under ``node``."""
    return (n for n in walk(node) if isinstance(n, Expr))
