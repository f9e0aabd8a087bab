"""InfluxQL parser: text (+ bound parameters) -> :mod:`.ast`, with InfluxDB 1.x's error messages.

The grammar, the error wording and the reported positions are those of InfluxDB 1.8 (influxql
revision 65d3ef7).  Errors are :class:`ParseError`; ``str(err)`` is the text 1.x puts after
``error parsing query: ``.

Bound parameters (``$name``) are substituted token by token, as 1.x does, so a parameter can stand
for a literal, an identifier (``{"identifier": "cpu"}``), a regex (``{"regex": "^a"}``), a duration
(``{"duration": "10s"}``), an integer or a float.  A parameter without a value fails with 1.x's
``missing parameter: name`` (see :attr:`ParseError.missing_parameter` to word it otherwise).
"""

from __future__ import annotations

import dataclasses
import enum
import functools
import math
import zoneinfo
from typing import Any, Mapping, Optional, Sequence

from . import ast
from .lexer import DurationError, Pos, Scanner, Tok, Token, format_duration, parse_duration, quote_ident, wrap64

__all__ = ["ParseError", "Parser", "parse_query", "parse_statement", "parse_expr"]

_INT64_MIN = -(1 << 63)
_INT64_MAX = (1 << 63) - 1
_UINT64_MAX = (1 << 64) - 1
_INT32_MAX = (1 << 31) - 1


class ParseError(ValueError):
    """A query 1.x would refuse to parse.

    ``str(err)`` is 1.x's message, e.g. ``found EOF, expected identifier at line 1, char 17``.
    Attributes: ``message`` (set for messages that are not "found X, expected Y"), ``found`` and
    ``expected``, ``pos`` (zero-based :class:`~.lexer.Pos`, None when 1.x reports no position),
    ``line`` / ``char`` (one-based, None without a position), and ``missing_parameter`` (the name,
    for ``missing parameter: name``).
    """

    def __init__(
        self,
        message: Optional[str] = None,
        *,
        found: Optional[str] = None,
        expected: Sequence[str] = (),
        pos: Optional[Pos] = None,
        show_pos: bool = True,
        missing_parameter: Optional[str] = None,
    ):
        self.message = message
        self.found = found
        self.expected = tuple(expected)
        self.pos = pos
        self.missing_parameter = missing_parameter
        self._show_pos = show_pos and pos is not None
        super().__init__(self._text())

    @property
    def line(self) -> Optional[int]:
        return self.pos.line + 1 if self.pos is not None else None

    @property
    def char(self) -> Optional[int]:
        return self.pos.char + 1 if self.pos is not None else None

    def _text(self) -> str:
        if self.message is not None:
            text = self.message
        else:
            text = f"found {self.found}, expected {', '.join(self.expected)}"
        if self._show_pos:
            text += f" at line {self.pos.line + 1}, char {self.pos.char + 1}"
        return text

    def __str__(self) -> str:
        return self._text()


def _expected(t: Token, *expected: str) -> ParseError:
    return ParseError(found=t.text, expected=expected, pos=t.pos)


def _plain(message: str) -> ParseError:
    """An error 1.x reports without a position."""
    return ParseError(message)


# ---------------------------------------------------------------------------------------------
# bound parameters


class _ParamError(str):
    """A parameter value that cannot be bound; using it fails with this message."""


def _go_type(v: Any) -> str:
    if v is None:
        return "<nil>"
    if isinstance(v, (list, tuple)):
        return "[]interface {}"
    return {str: "string", bool: "bool", int: "int64", float: "float64"}.get(type(v), type(v).__name__)


def _bind(v: Any):
    """A parameter value -> (token kind, literal), or a _ParamError."""
    if isinstance(v, bool):
        return (Tok.TRUE if v else Tok.FALSE, "")
    if isinstance(v, int):
        if not _INT64_MIN <= v <= _INT64_MAX:
            return _ParamError(f'strconv.ParseInt: parsing "{v}": value out of range')
        return (Tok.INTEGER, str(v))
    if isinstance(v, float):
        return (Tok.NUMBER, ast.format_number(v, point=False))
    if isinstance(v, str):
        return (Tok.STRING, v)
    if isinstance(v, Mapping):
        if len(v) != 1:
            return _ParamError("bound object parameter value must have exactly one entry")
        ((kind, val),) = v.items()
        is_int = isinstance(val, int) and not isinstance(val, bool)
        if kind in ("ident", "identifier"):
            return (Tok.IDENT, val) if isinstance(val, str) else _ParamError("identifier must be a string value")
        if kind == "regex":
            return (Tok.REGEX, val) if isinstance(val, str) else _ParamError("regex literal must be a string value")
        if kind == "string":
            return (Tok.STRING, val) if isinstance(val, str) else _ParamError("string literal must be a string value")
        if kind in ("float", "number"):
            if isinstance(val, float) or is_int:
                return (Tok.NUMBER, ast.format_number(float(val), point=False))
            return _ParamError("number literal must be a float value")
        if kind in ("int", "integer"):
            return (Tok.INTEGER, str(val)) if is_int else _ParamError("integer literal must be an integer value")
        if kind == "duration":
            if isinstance(val, str):
                return (Tok.DURATIONVAL, val)
            if is_int:
                return (Tok.DURATIONVAL, format_duration(val))
            return _ParamError("duration literal must be a string or integer value")
        return _ParamError(f"unknown bind object type: {kind}")
    return _ParamError(f"unable to bind parameter with type {_go_type(v)}")


# ---------------------------------------------------------------------------------------------
# parser


class _Target(enum.Enum):
    REQUIRED = 0  # continuous query
    NOT_REQUIRED = 1
    SUBQUERY = 2


_REGEX_OPS = (Tok.EQREGEX, Tok.NEQREGEX)
_WS = (Tok.WS, Tok.COMMENT)
_CAST_TYPES = {
    "float": ast.DataType.FLOAT,
    "integer": ast.DataType.INTEGER,
    "unsigned": ast.DataType.UNSIGNED,
    "string": ast.DataType.STRING,
    "boolean": ast.DataType.BOOLEAN,
}
_INVALID_IN_SELECT = frozenset(op for op in ast.Op if op.is_comparison or op.is_logical)
_LIMIT_CLAUSES = (("limit", Tok.LIMIT), ("offset", Tok.OFFSET), ("slimit", Tok.SLIMIT),
                  ("soffset", Tok.SOFFSET))  # fmt: skip


@functools.lru_cache(maxsize=None)
def _clause_fields(cls: type) -> frozenset[str]:
    return frozenset(f.name for f in dataclasses.fields(cls))


class Parser:
    """One parser per query text.  Use :func:`parse_query` / :func:`parse_statement` /
    :func:`parse_expr` unless you need several calls on the same text."""

    def __init__(self, text: str, params: Optional[Mapping[str, Any]] = None):
        self._scanner = Scanner(text)
        self._buf: list[Token] = []
        self._n = 0
        self._params = {str(k): _bind(v) for k, v in (params or {}).items()}

    # -- token plumbing (1.x's buffered scanner: unscan replays tokens) -------------------------

    def _next(self, fn) -> Token:
        n = self._n
        if n:
            self._n = n - 1
            t = self._buf[-n]
        else:
            t = fn()
            self._buf.append(t)
        return self._bound(t) if t.tok is Tok.BOUNDPARAM else t

    def _bound(self, t: Token) -> Token:
        """``t``, a bound parameter, as the token of its value (when it has one)."""
        name = t.lit[1:]
        if name:
            v = self._params.get(name)
            if v is not None and not isinstance(v, _ParamError):
                return Token(v[0], t.pos, v[1])
        return t

    def scan(self) -> Token:
        return self._next(self._scanner.scan)

    def scan_regex(self) -> Token:
        return self._next(self._scanner.scan_regex)

    def scan_ws(self) -> Token:
        """The next token that is not whitespace or a comment."""
        # (_next's replay and read written out: asked for most tokens, and the whitespace
        # between them is replayed with them)
        buf, n = self._buf, self._n
        while n:
            t = buf[-n]
            n -= 1
            if t.tok not in _WS:
                self._n = n
                return self._bound(t) if t.tok is Tok.BOUNDPARAM else t
        self._n = 0
        scan, keep = self._scanner.scan, buf.append
        while True:
            t = scan()
            keep(t)
            if t.tok not in _WS:
                return self._bound(t) if t.tok is Tok.BOUNDPARAM else t

    def unscan(self) -> None:
        self._n += 1

    def _consume_ws(self) -> None:
        if self.scan().tok is not Tok.WS:
            self.unscan()

    def _peek_rune(self) -> str:
        return self._scanner.r.peek()

    def _accept(self, tok: Tok) -> bool:
        """Consume the next token if it is ``tok``."""
        if self.scan_ws().tok is tok:
            return True
        self.unscan()
        return False

    def _expect(self, *toks: Tok) -> None:
        for tok in toks:
            t = self.scan_ws()
            if t.tok is not tok:
                raise _expected(t, tok.value)

    # -- query / statements -----------------------------------------------------------------------

    def parse_query(self) -> ast.Query:
        statements = []
        semi = True
        while True:
            t = self.scan_ws()
            if t.tok is Tok.EOF:
                return ast.Query(tuple(statements))
            if t.tok is Tok.SEMICOLON:
                semi = True
                continue
            if not semi:
                raise _expected(t, ";")
            self.unscan()
            statements.append(self.parse_statement())
            semi = False

    def parse_statement(self) -> ast.Statement:
        try:
            node = _LANGUAGE
            while True:
                t = self.scan_ws()
                nxt = node.get(t.tok)
                if nxt is None:
                    raise _expected(t, *(k.value for k in node))
                if isinstance(nxt, dict):
                    node = nxt
                    continue
                if isinstance(nxt, str):
                    return getattr(self, nxt)()
                return self._parse_clauses(nxt)
        except RecursionError:
            raise _plain("query is nested too deeply") from None

    # -- small pieces -------------------------------------------------------------------------------

    def _scan_expected(self, tok: Tok, what: str) -> Token:
        """The next token, which must be ``tok`` (1.x calls it ``what`` in the error)."""
        t = self.scan_ws()
        if t.tok is not tok:
            raise _expected(t, what)
        return t

    def _parse_list(self, item, *args) -> list:
        """``item, item...``: ``item(*args)`` as long as a comma follows."""
        out = [item(*args)]
        while self._accept(Tok.COMMA):
            out.append(item(*args))
        return out

    def parse_ident(self) -> str:
        return self._scan_expected(Tok.IDENT, "identifier").lit

    def _parse_segmented_idents(self) -> list[str]:
        idents = [self.parse_ident()]
        while True:
            if self.scan().tok is not Tok.DOT:
                self.unscan()
                break
            ch = self._peek_rune()
            if ch == "/" or ch == ":":
                break  # a regex or ":MEASUREMENT" follows; the caller reads it
            if ch == ".":
                idents.append("")
                continue
            idents.append(self.parse_ident())
        if len(idents) > 3:
            raise ParseError(f"too many segments in {quote_ident(*idents)}", pos=Pos(0, 0))
        return idents

    def _parse_string(self) -> str:
        return self._scan_expected(Tok.STRING, "string").lit

    def _parse_int(self, lo: int, hi: int) -> int:
        t = self._scan_expected(Tok.INTEGER, "integer")
        n = int(t.lit)
        if not _INT64_MIN <= n <= _INT64_MAX:
            raise ParseError(f'strconv.Atoi: parsing "{t.lit}": value out of range', pos=t.pos)
        if not lo <= n <= hi:
            raise ParseError(f"invalid value {n}: must be {lo} <= n <= {hi}", pos=t.pos)
        return n

    def _parse_uint64(self) -> int:
        t = self._scan_expected(Tok.INTEGER, "integer")
        n = int(t.lit)
        if not 0 <= n <= _UINT64_MAX:
            reason = "invalid syntax" if n < 0 else "value out of range"
            raise ParseError(f'strconv.ParseUint: parsing "{t.lit}": {reason}', pos=t.pos)
        return n

    def _parse_duration_value(self, inf: bool = True) -> int:
        """DURATIONVAL, or INF (-> 0) where ``inf`` allows it."""
        t = self.scan_ws()
        if inf and t.tok is Tok.INF:
            return 0
        if t.tok is not Tok.DURATIONVAL:
            raise _expected(t, "duration")
        try:
            return parse_duration(t.lit)
        except DurationError as e:
            raise ParseError(str(e), pos=t.pos) from None

    def _parse_optional_int(self, tok: Tok) -> int:
        if not self._accept(tok):
            return 0
        t = self._scan_expected(Tok.INTEGER, "integer")
        n = max(_INT64_MIN, min(_INT64_MAX, int(t.lit)))
        if n < 0:
            raise ParseError(f"{tok.value} must be >= 0", pos=t.pos)
        return n

    def _parse_on(self) -> Optional[str]:
        return self.parse_ident() if self._accept(Tok.ON) else None

    def _parse_from(self) -> Optional[tuple[ast.Source, ...]]:
        return self._parse_sources(False) if self._accept(Tok.FROM) else None

    # -- SELECT -------------------------------------------------------------------------------------

    def _select_statement(self) -> ast.SelectStatement:
        return self._parse_select(_Target.NOT_REQUIRED)

    def _parse_select(self, target_req: _Target) -> ast.SelectStatement:
        fields = self._parse_fields()
        target = self._parse_target(target_req)
        self._expect(Tok.FROM)
        sources = self._parse_sources(True)
        condition = self._parse_condition()
        dimensions = self._parse_dimensions()
        fill, fill_value = self._parse_fill()
        sort_fields = self._parse_order_by()
        limits = {name: self._parse_optional_int(tok) for name, tok in _LIMIT_CLAUSES}
        location = self._parse_location()
        return ast.SelectStatement(
            fields=fields,
            sources=sources,
            target=target,
            condition=condition,
            dimensions=dimensions,
            fill=fill,
            fill_value=fill_value,
            sort_fields=sort_fields,
            location=location,
            **limits,
        )

    def _parse_fields(self) -> tuple[ast.Field, ...]:
        fields = []
        while True:
            fields.append(self._parse_field())
            if self.scan().tok is not Tok.COMMA:
                self.unscan()
                return tuple(fields)

    def _parse_field(self) -> ast.Field:
        expr = self._parse_regex()
        if expr is None:
            start = self.scan_ws().pos
            self.unscan()
            expr = self.parse_expr()
            bad = _invalid_select_op(expr)
            if bad is not None:
                raise ParseError(
                    f"invalid operator {bad.value} in SELECT clause at line {start.line + 1}, "
                    f"char {start.char + 1}; operator is intended for WHERE clause",
                    pos=start,
                    show_pos=False,
                )
        alias = self._parse_alias()
        self._consume_ws()
        return ast.Field(expr, alias)

    def _parse_alias(self) -> Optional[str]:
        if not self._accept(Tok.AS):
            return None
        return self.parse_ident() or None

    def _parse_target(self, req: _Target) -> Optional[ast.Target]:
        t = self.scan_ws()
        if t.tok is not Tok.INTO:
            if req is _Target.REQUIRED:
                raise _expected(t, "INTO")
            self.unscan()
            return None
        idents: list = self._parse_segmented_idents()
        if len(idents) < 3 and self._peek_rune() == ":":
            self._expect(Tok.COLON, Tok.MEASUREMENT)
            idents.append(None)  # ":MEASUREMENT": the source measurement's name
        db = rp = None
        if len(idents) == 3:
            db, rp, name = idents
        elif len(idents) == 2:
            rp, name = idents
        else:
            (name,) = idents
        return ast.Target(ast.Measurement(name=name, database=db or None, retention_policy=rp or None))

    def _parse_sources(self, subqueries: bool) -> tuple[ast.Source, ...]:
        return tuple(self._parse_list(self._parse_source, subqueries))

    def _parse_source(self, subqueries: bool) -> ast.Source:
        regex = self._parse_regex()
        if regex is not None:
            return ast.Measurement(regex=regex)
        if subqueries:
            if self._accept(Tok.LPAREN):
                self._expect(Tok.SELECT)
                stmt = self._parse_select(_Target.SUBQUERY)
                self._expect(Tok.RPAREN)
                return ast.SubQuery(stmt)
        idents = self._parse_segmented_idents()
        if len(idents) == 3:
            return ast.Measurement(name=idents[2], database=idents[0] or None, retention_policy=idents[1] or None)
        regex = self._parse_regex()
        if len(idents) == 1:
            if regex is not None:
                return ast.Measurement(regex=regex, retention_policy=idents[0] or None)
            return ast.Measurement(name=idents[0])
        if regex is not None:
            return ast.Measurement(regex=regex, database=idents[0] or None, retention_policy=idents[1] or None)
        return ast.Measurement(name=idents[1], retention_policy=idents[0] or None)

    def _parse_condition(self) -> Optional[ast.Expr]:
        if not self._accept(Tok.WHERE):
            return None
        return self.parse_expr()

    def _parse_dimensions(self) -> tuple[ast.Dimension, ...]:
        if not self._accept(Tok.GROUP):
            return ()
        self._expect(Tok.BY)
        dims = []
        while True:
            regex = self._parse_regex()
            if regex is not None:
                dims.append(ast.Dimension(regex))
            else:
                dims.append(ast.Dimension(self.parse_expr()))
                self._consume_ws()
            if self.scan().tok is not Tok.COMMA:
                self.unscan()
                return tuple(dims)

    def _parse_option_call(self, name: str, one_arg: str) -> Optional[ast.Expr]:
        """The argument of ``fill(...)`` / ``tz(...)`` if that call comes next, else None.  1.x reads
        the call as an expression, then checks its shape (``one_arg`` is its message for a wrong
        number of arguments)."""
        t = self.scan_ws()
        self.unscan()
        if t.tok is not Tok.IDENT or t.lit.lower() != name:
            return None
        expr = self.parse_expr()
        if not isinstance(expr, ast.Call):
            raise _plain(f"{name} must be a function call")
        if len(expr.args) != 1:
            raise _plain(one_arg)
        return expr.args[0]

    def _parse_fill(self):
        arg = self._parse_option_call("fill", "fill requires an argument, e.g.: 0, null, none, previous, linear")
        if arg is None:
            return ast.FillOption.NULL, None
        word = str(arg)
        if word in ("null", "none", "previous", "linear"):
            return ast.FillOption(word), None
        if type(arg) is ast.IntegerLiteral or type(arg) is ast.NumberLiteral:
            return ast.FillOption.NUMBER, arg.value
        raise _plain("expected number argument in fill()")

    def _parse_location(self) -> Optional[str]:
        arg = self._parse_option_call("tz", "tz requires exactly one argument")
        if arg is None:
            return None
        if not isinstance(arg, ast.StringLiteral):
            raise _plain("expected string argument in tz()")
        if not _valid_zone(arg.value):
            raise _plain(f"unable to find time zone {arg.value}")
        return arg.value

    def _parse_order_by(self) -> tuple[ast.SortField, ...]:
        if not self._accept(Tok.ORDER):
            return ()
        self._expect(Tok.BY)
        t = self.scan_ws()
        if t.tok in (Tok.ASC, Tok.DESC):
            fields = [ast.SortField(None, t.tok is Tok.ASC)]
        elif t.tok is Tok.IDENT:
            self.unscan()
            f = self._parse_sort_field()
            if t.lit != "time":
                raise _plain("only ORDER BY time supported at this time")
            fields = [f]
        else:
            raise _expected(t, "identifier", "ASC", "DESC")
        while self._accept(Tok.COMMA):
            fields.append(self._parse_sort_field())
        if len(fields) > 1:
            raise _plain("only ORDER BY time supported at this time")
        return tuple(fields)

    def _parse_sort_field(self) -> ast.SortField:
        name = self.parse_ident()
        t = self.scan_ws()
        if t.tok not in (Tok.ASC, Tok.DESC):
            self.unscan()
            return ast.SortField(name, True)
        return ast.SortField(name, t.tok is Tok.ASC)

    # -- expressions --------------------------------------------------------------------------------

    def parse_expr(self) -> ast.Expr:
        """One expression, with 1.x's operator precedence (all binary operators are left
        associative)."""
        expr = self._parse_unary()
        while True:
            t = self.scan_ws()
            if not t.tok.is_operator:
                self.unscan()
                return expr
            op = ast.Op.from_token(t.tok)
            if t.tok in _REGEX_OPS:
                rhs = self._parse_regex()
                if rhs is None:
                    raise _expected(self.scan_ws(), "regex")
            else:
                rhs = self._parse_unary()
            expr = _insert(expr, op, rhs)

    def _parse_unary(self) -> ast.Expr:
        t = self.scan_ws()
        if t.tok is Tok.LPAREN:
            expr = self.parse_expr()
            self._expect(Tok.RPAREN)
            return ast.ParenExpr(expr)
        self.unscan()

        t = self.scan_ws()
        tok = t.tok
        if tok is Tok.IDENT:
            if self.scan().tok is Tok.LPAREN:
                return self._parse_call(t.lit)
            self.unscan()
            self.unscan()
            return self._parse_varref()
        if tok is Tok.DISTINCT:
            t0 = self.scan()
            if t0.tok is Tok.LPAREN:
                return self._parse_call("distinct")
            if t0.tok is Tok.WS:
                t1 = self.scan_ws()
                if t1.tok is not Tok.IDENT:
                    raise _expected(t1, "identifier")
                return ast.Distinct(t1.lit)
            raise _expected(t0, "(", "identifier")
        if tok is Tok.STRING:
            return ast.StringLiteral(t.lit)
        if tok is Tok.NUMBER:
            try:
                v = float(t.lit)
            except ValueError:
                v = math.inf
            if math.isinf(v) and "inf" not in t.lit.lower():
                raise ParseError("unable to parse number", pos=t.pos)
            return ast.NumberLiteral(v)
        if tok is Tok.INTEGER:
            v = int(t.lit)
            if _INT64_MIN <= v <= _INT64_MAX:
                return ast.IntegerLiteral(v)
            if 0 <= v <= _UINT64_MAX:
                return ast.UnsignedLiteral(v)
            raise ParseError("unable to parse integer", pos=t.pos)
        if tok is Tok.TRUE or tok is Tok.FALSE:
            return ast.BooleanLiteral(tok is Tok.TRUE)
        if tok is Tok.DURATIONVAL:
            try:
                return ast.DurationLiteral(parse_duration(t.lit))
            except DurationError as e:
                raise _plain(str(e)) from None
        if tok is Tok.MUL:
            t0 = self.scan()
            if t0.tok is Tok.DOUBLECOLON:
                t1 = self.scan()
                if t1.tok is Tok.FIELD:
                    return ast.Wildcard(ast.DataType.FIELD)
                if t1.tok is Tok.TAG:
                    return ast.Wildcard(ast.DataType.TAG)
                raise _expected(t1, "field", "tag")
            self.unscan()
            return ast.Wildcard()
        if tok is Tok.REGEX:  # only from a bound parameter
            return self._regex_literal(t)
        if tok is Tok.BOUNDPARAM:
            name = t.lit[1:]
            if not name:
                raise _plain("empty bound parameter")
            v = self._params.get(name)
            if v is None:
                raise ParseError(f"missing parameter: {name}", missing_parameter=name)
            raise _plain(str(v))  # a value that could not be bound
        if tok is Tok.ADD or tok is Tok.SUB:
            neg = tok is Tok.SUB
            t0 = self.scan_ws()
            if t0.tok not in (Tok.NUMBER, Tok.INTEGER, Tok.DURATIONVAL, Tok.LPAREN, Tok.IDENT):
                raise _expected(t0, "identifier", "number", "duration", "(")
            self.unscan()
            e = self._parse_unary()
            if isinstance(e, ast.NumberLiteral):
                return ast.NumberLiteral(-e.value) if neg else e
            if type(e) is ast.IntegerLiteral:
                return ast.IntegerLiteral(-e.value) if neg else e
            if isinstance(e, ast.UnsignedLiteral):
                if not neg:
                    return e
                if e.value == 1 << 63:
                    return ast.IntegerLiteral(_INT64_MIN)
                raise _plain(f"constant -{e.value} underflows int64")
            if isinstance(e, ast.DurationLiteral):
                return ast.DurationLiteral(wrap64(-e.value)) if neg else e
            if isinstance(e, (ast.VarRef, ast.Call, ast.ParenExpr)):
                return ast.BinaryExpr(ast.Op.MUL, ast.IntegerLiteral(-1 if neg else 1), e)
            raise _plain(f"unexpected literal: {e}")
        raise _expected(t, "identifier", "string", "number", "bool")

    def _parse_varref(self) -> ast.VarRef:
        segments = self._parse_segmented_idents()
        dtype = None
        if self.scan().tok is Tok.DOUBLECOLON:
            t = self.scan()
            if t.tok is Tok.IDENT:
                dtype = _CAST_TYPES.get(t.lit.lower())
                if dtype is None:
                    raise _expected(t, "float", "integer", "unsigned", "string", "boolean", "field", "tag")
            elif t.tok is Tok.FIELD:
                dtype = ast.DataType.FIELD
            elif t.tok is Tok.TAG:
                dtype = ast.DataType.TAG
            else:
                raise _expected(t, "float", "integer", "string", "boolean", "field", "tag")
        else:
            self.unscan()
        return ast.VarRef(".".join(segments), dtype)

    def _parse_call(self, name: str) -> ast.Call:
        name = name.lower()
        args = []
        regex = self._parse_regex()
        if regex is not None:
            args.append(regex)
        else:
            if self.scan().tok is Tok.RPAREN:
                return ast.Call(name)
            self.unscan()
            args.append(self.parse_expr())
        while self._accept(Tok.COMMA):
            regex = self._parse_regex()
            args.append(regex if regex is not None else self.parse_expr())
        t = self.scan()
        if t.tok is not Tok.RPAREN:
            raise _expected(t, ")")
        return ast.Call(name, tuple(args))

    def _parse_regex(self) -> Optional[ast.RegexLiteral]:
        """A regex if one comes next (after optional whitespace), else None."""
        ch = self._peek_rune()
        if ch in (" ", "\t", "\n"):
            self._consume_ws()
        ch = self._peek_rune()
        if ch == "$":  # a bound parameter may be a regex
            t = self.scan()
            self.unscan()
            if t.tok is not Tok.REGEX:
                return None
        elif ch != "/":
            return None
        t = self.scan_regex()
        if t.tok is Tok.BADESCAPE:
            raise ParseError(f"bad escape: {t.lit}", pos=t.pos)
        if t.tok is Tok.BADREGEX:
            raise ParseError(f"bad regex: {t.lit}", pos=t.pos)
        if t.tok is not Tok.REGEX:
            raise _expected(t, "regex")
        return self._regex_literal(t)

    def _regex_literal(self, t: Token) -> ast.RegexLiteral:
        from .regex import re2_error

        err = re2_error(t.lit)
        if err is not None:
            raise ParseError(err, pos=t.pos)
        return ast.RegexLiteral(t.lit)

    # -- DELETE / DROP SERIES ----------------------------------------------------------------------

    def _parse_sources_no_db(self, allow_rp: bool) -> tuple[ast.Source, ...]:
        sources = self._parse_sources(False)
        err = None
        for s in sources:
            if isinstance(s, ast.Measurement):
                if s.database:
                    err = "database not supported"
                if s.retention_policy and not allow_rp:
                    err = "retention policy not supported"
        if err:
            raise ParseError(err, pos=Pos(0, 0))
        return sources

    def _delete_statement(self) -> ast.DeleteSeriesStatement:
        return ast.DeleteSeriesStatement(*self._parse_series_filter())

    def _drop_series(self) -> ast.DropSeriesStatement:
        return ast.DropSeriesStatement(*self._parse_series_filter())

    def _parse_series_filter(self):
        t = self.scan_ws()
        sources = None
        if t.tok is Tok.FROM:
            sources = self._parse_sources_no_db(allow_rp=False)
        else:
            self.unscan()
        condition = self._parse_condition()
        if condition is None and sources is None:
            raise _expected(t, "FROM", "WHERE")
        return sources, condition

    # -- SHOW ---------------------------------------------------------------------------------------

    def _parse_clauses(self, cls: type, **fields):
        """The statement ``cls`` (an :class:`.ast._Clauses`) from the clauses after its keywords:
        those it has fields for, in the order it prints them.  ``fields`` are what the caller read
        already (``exact``)."""
        has = _clause_fields(cls)
        if "name" in has:
            fields["name"] = self.parse_ident()
        if "database" in has:
            fields["database"] = self._parse_on()
        if "sources" in has:
            fields["sources"] = self._parse_from()
        if "source" in has:
            fields["source_op"], fields["source"] = self._parse_with_measurement()
        if "tag_key_expr" in has:
            fields["op"], fields["tag_key_expr"] = self._parse_tag_key_expr()
        if "condition" in has:
            fields["condition"] = self._parse_condition()
        if "dimensions" in has:
            fields["dimensions"] = self._parse_dimensions()
        if "sort_fields" in has:
            fields["sort_fields"] = self._parse_order_by()
        for name, tok in _LIMIT_CLAUSES:
            if name in has:
                fields[name] = self._parse_optional_int(tok)
        if "module" in has:
            fields["module"] = self._parse_string() if self._accept(Tok.FOR) else None
        return cls(**fields)

    def _parse_with_measurement(self) -> tuple[Optional[ast.Op], Optional[ast.Measurement]]:
        """``WITH MEASUREMENT =|=~ source`` of SHOW MEASUREMENTS, if given."""
        if not self._accept(Tok.WITH):
            return None, None
        self._expect(Tok.MEASUREMENT)
        t = self.scan_ws()
        if t.tok not in (Tok.EQ, Tok.EQREGEX):
            raise _expected(t, "=", "=~")
        return ast.Op.from_token(t.tok), self._parse_source(False)

    def _parse_tag_key_expr(self):
        self._expect(Tok.WITH, Tok.KEY)
        t = self.scan_ws()
        if t.tok is Tok.IN:
            self._expect(Tok.LPAREN)
            keys = self._parse_list(self.parse_ident)
            self._expect(Tok.RPAREN)
            return ast.TagKeyOp.IN, ast.ListLiteral(tuple(keys))
        if t.tok is Tok.EQ or t.tok is Tok.NEQ:
            return ast.TagKeyOp(t.tok.value), ast.StringLiteral(self.parse_ident())
        if t.tok in _REGEX_OPS:
            regex = self._parse_regex()
            if regex is None:
                raise _expected(self.scan_ws(), "regex")
            return ast.TagKeyOp(t.tok.value), regex
        raise _expected(t, "IN", "=", "=~")

    def _show_measurement_exact_cardinality(self):
        self._expect(Tok.CARDINALITY)
        return self._parse_clauses(ast.ShowMeasurementCardinalityStatement, exact=True)

    def _show_series(self):
        exact = self._accept(Tok.EXACT)
        if self._accept(Tok.CARDINALITY):
            return self._parse_clauses(ast.ShowSeriesCardinalityStatement, exact=exact)
        return self._parse_clauses(ast.ShowSeriesStatement)

    def _parse_exact_cardinality(self) -> bool:
        """``[EXACT] CARDINALITY`` after SHOW TAG KEY / SHOW FIELD KEY."""
        exact = self._accept(Tok.EXACT)
        t = self.scan_ws()
        if t.tok is not Tok.CARDINALITY:
            raise _expected(t, *(("CARDINALITY",) if exact else ("EXACT", "CARDINALITY")))
        return exact

    def _show_tag_key_cardinality(self):
        exact = self._parse_exact_cardinality()
        return self._parse_clauses(ast.ShowTagKeyCardinalityStatement, exact=exact)

    def _show_field_key_cardinality(self):
        exact = self._parse_exact_cardinality()
        return self._parse_clauses(ast.ShowFieldKeyCardinalityStatement, exact=exact)

    def _show_tag_values(self):
        t = self.scan_ws()
        if t.tok is Tok.EXACT or t.tok is Tok.CARDINALITY:
            exact = t.tok is Tok.EXACT
            if exact:
                self._expect(Tok.CARDINALITY)
            return self._parse_clauses(ast.ShowTagValuesCardinalityStatement, exact=exact)
        self.unscan()
        return self._parse_clauses(ast.ShowTagValuesStatement)

    # -- CREATE / DROP / ALTER ------------------------------------------------------------------

    def _create_database(self) -> ast.CreateDatabaseStatement:
        name = self.parse_ident()
        if not self._accept(Tok.WITH):
            return ast.CreateDatabaseStatement(name)
        t = self.scan_ws()
        if t.tok not in (Tok.DURATION, Tok.NAME, Tok.REPLICATION, Tok.SHARD):
            raise _expected(t, "DURATION", "NAME", "REPLICATION", "SHARD")
        self.unscan()
        duration = replication = rp_name = None
        shard = 0
        if self._accept(Tok.DURATION):
            duration = self._parse_duration_value()
        if self._accept(Tok.REPLICATION):
            replication = self._parse_int(1, _INT32_MAX)
        if self._accept(Tok.SHARD):
            self._expect(Tok.DURATION)
            shard = self._parse_duration_value()
        if self._accept(Tok.NAME):
            rp_name = self.parse_ident() or None
        return ast.CreateDatabaseStatement(name, True, duration, replication, shard, rp_name)

    def _drop_shard(self):
        return ast.DropShardStatement(self._parse_uint64())

    def _name_on_database(self) -> tuple[str, str]:
        name = self.parse_ident()
        self._expect(Tok.ON)
        return name, self.parse_ident()

    def _drop_retention_policy(self):
        return ast.DropRetentionPolicyStatement(*self._name_on_database())

    def _drop_continuous_query(self):
        return ast.DropContinuousQueryStatement(*self._name_on_database())

    def _parse_db_dot_rp(self) -> tuple[str, str, str]:
        name, db = self._name_on_database()
        t = self.scan()
        if t.tok is not Tok.DOT:
            raise _expected(t, ".")
        return name, db, self.parse_ident()

    def _drop_subscription(self):
        return ast.DropSubscriptionStatement(*self._parse_db_dot_rp())

    def _create_subscription(self):
        name, db, rp = self._parse_db_dot_rp()
        self._expect(Tok.DESTINATIONS)
        t = self.scan_ws()
        if t.tok not in (Tok.ALL, Tok.ANY):
            raise _expected(t, "ALL", "ANY")
        return ast.CreateSubscriptionStatement(name, db, rp, t.tok.value, tuple(self._parse_list(self._parse_string)))

    def _parse_shard_duration(self) -> int:
        """After SHARD: ``DURATION d`` (INF is refused)."""
        self._expect(Tok.DURATION)
        t = self.scan_ws()
        if t.tok is Tok.INF:
            raise ParseError("invalid duration INF for shard duration", pos=t.pos)
        self.unscan()
        return self._parse_duration_value()

    def _create_retention_policy(self):
        name, db = self._name_on_database()
        self._expect(Tok.DURATION)
        duration = self._parse_duration_value()
        self._expect(Tok.REPLICATION)
        replication = self._parse_int(1, _INT32_MAX)
        shard = self._parse_shard_duration() if self._accept(Tok.SHARD) else 0
        default = self._accept(Tok.DEFAULT)
        return ast.CreateRetentionPolicyStatement(name, db, duration, replication, default, shard)

    def _alter_retention_policy(self):
        t = self.scan_ws()
        if t.tok is Tok.DEFAULT:
            name = "default"
        elif t.tok is Tok.IDENT:
            name = t.lit
        else:
            raise _expected(t, "identifier")
        self._expect(Tok.ON)
        db = self.parse_ident()
        opts: dict[str, Any] = {}
        found: set[Tok] = set()
        while True:
            t = self.scan_ws()
            if t.tok in found:
                raise ParseError(f"found duplicate {t.tok.value} option", pos=t.pos)
            if t.tok is Tok.DURATION:
                opts["duration"] = self._parse_duration_value()
            elif t.tok is Tok.REPLICATION:
                opts["replication"] = self._parse_int(1, _INT32_MAX)
            elif t.tok is Tok.SHARD:
                opts["shard_group_duration"] = self._parse_shard_duration()
            elif t.tok is Tok.DEFAULT:
                opts["default"] = True
            else:
                if not found:
                    raise _expected(t, "DURATION", "REPLICATION", "SHARD", "DEFAULT")
                self.unscan()
                break
            found.add(t.tok)
        return ast.AlterRetentionPolicyStatement(name, db, **opts)

    def _create_user(self):
        name = self.parse_ident()
        self._expect(Tok.WITH, Tok.PASSWORD)
        password = self._parse_string()
        if not self._accept(Tok.WITH):
            return ast.CreateUserStatement(name, password)
        self._expect(Tok.ALL, Tok.PRIVILEGES)
        return ast.CreateUserStatement(name, password, True)

    def _set_password(self):
        name = self.parse_ident()
        self._expect(Tok.EQ)
        return ast.SetPasswordUserStatement(name, self._parse_string())

    def _parse_privilege(self) -> ast.Privilege:
        t = self.scan_ws()
        if t.tok is Tok.READ:
            return ast.Privilege.READ
        if t.tok is Tok.WRITE:
            return ast.Privilege.WRITE
        if t.tok is Tok.ALL:
            self._accept(Tok.PRIVILEGES)
            return ast.Privilege.ALL
        raise _expected(t, "READ", "WRITE", "ALL [PRIVILEGES]")

    def _grant_or_revoke(self, to: Tok):
        priv = self._parse_privilege()
        t = self.scan_ws()
        if t.tok is Tok.ON:
            on = self.parse_ident()
            t2 = self.scan_ws()
            if t2.tok is not to:
                raise _expected(t2, to.value)
            return priv, on, self.parse_ident()
        if t.tok is to:
            if priv is not ast.Privilege.ALL:
                raise _expected(t, "ON")
            return priv, None, self.parse_ident()
        if priv is ast.Privilege.ALL:
            raise _expected(t, "ON", to.value)
        raise _expected(t, "ON")

    def _grant(self):
        priv, on, user = self._grant_or_revoke(Tok.TO)
        return ast.GrantAdminStatement(user) if on is None else ast.GrantStatement(priv, on, user)

    def _revoke(self):
        priv, on, user = self._grant_or_revoke(Tok.FROM)
        return ast.RevokeAdminStatement(user) if on is None else ast.RevokeStatement(priv, on, user)

    def _kill_query(self):
        qid = self._parse_uint64()
        host = self.parse_ident() if self._accept(Tok.ON) else None
        return ast.KillQueryStatement(qid, host or None)

    def _explain(self):
        analyze = self._accept(Tok.ANALYZE)
        self._expect(Tok.SELECT)
        return ast.ExplainStatement(self._parse_select(_Target.NOT_REQUIRED), analyze)

    def _create_continuous_query(self):
        name, db = self._name_on_database()
        every = for_ = 0
        if self._accept(Tok.RESAMPLE):
            if self._accept(Tok.EVERY):
                every = self._parse_duration_value(inf=False)
            if self._accept(Tok.FOR):
                for_ = self._parse_duration_value(inf=False)
            if every == 0 and for_ == 0:
                raise _expected(self.scan_ws(), "EVERY", "FOR")
        self._expect(Tok.BEGIN, Tok.SELECT)
        source = self._parse_select(_Target.REQUIRED)
        if not source.is_raw_query:
            interval, err = 0, None
            try:
                interval = source.group_by_interval()
            except ValueError as e:
                err = str(e)
            if interval == 0 or err is not None:
                # point at the last token of the SELECT, as 1.x does
                self.unscan()
                self.unscan()
                t = self.scan_ws()
                expected = ["GROUP BY time(...)"] + ([err] if err else [])
                raise _expected(t, *expected)
        self._expect(Tok.END)
        try:
            interval = source.group_by_interval()
        except ValueError as e:
            raise _plain(str(e)) from None
        if for_ != 0:
            if every != 0 and every > interval:
                interval = every
            if interval > for_:
                raise _plain(
                    "FOR duration must be >= GROUP BY time duration: must be a minimum of "
                    f"{format_duration(interval)}, got {format_duration(for_)}"
                )
        return ast.CreateContinuousQueryStatement(name, db, source, every, for_)


def _insert(expr: ast.Expr, op: ast.Op, rhs: ast.Expr) -> ast.Expr:
    """Add ``op rhs`` to the right edge of ``expr`` where precedence puts it (left associative)."""
    if isinstance(expr, ast.BinaryExpr) and expr.op.precedence < op.precedence:
        return ast.BinaryExpr(expr.op, expr.lhs, _insert(expr.rhs, op, rhs))
    return ast.BinaryExpr(op, expr, rhs)


def _invalid_select_op(expr: ast.Expr) -> Optional[ast.Op]:
    """The last comparison / logical operator found walking ``expr`` (not below one)."""
    bad = None
    stack = [expr]
    while stack:
        e = stack.pop()
        if isinstance(e, ast.BinaryExpr):
            if e.op in _INVALID_IN_SELECT:
                bad = e.op
                continue
            stack.extend((e.rhs, e.lhs))
        elif isinstance(e, ast.ParenExpr):
            stack.append(e.expr)
        elif isinstance(e, ast.Call):
            stack.extend(reversed(e.args))
    return bad


def _valid_zone(name: str) -> bool:
    if name in ("", "UTC", "Local"):
        return True
    try:
        zoneinfo.ZoneInfo(name)
        return True
    except Exception:
        return False


# The statement grammar: token -> sub-tree, Parser method, or a statement class whose clauses
# Parser._parse_clauses reads.  Key order is the order 1.x lists the expected tokens in its error
# messages.
_LANGUAGE: dict = {
    Tok.SELECT: "_select_statement",
    Tok.DELETE: "_delete_statement",
    Tok.SHOW: {
        Tok.CONTINUOUS: {Tok.QUERIES: ast.ShowContinuousQueriesStatement},
        Tok.DATABASES: ast.ShowDatabasesStatement,
        Tok.DIAGNOSTICS: ast.ShowDiagnosticsStatement,
        Tok.FIELD: {Tok.KEY: "_show_field_key_cardinality", Tok.KEYS: ast.ShowFieldKeysStatement},
        Tok.GRANTS: {Tok.FOR: ast.ShowGrantsForUserStatement},
        Tok.MEASUREMENT: {
            Tok.EXACT: "_show_measurement_exact_cardinality",
            Tok.CARDINALITY: ast.ShowMeasurementCardinalityStatement,
        },
        Tok.MEASUREMENTS: ast.ShowMeasurementsStatement,
        Tok.QUERIES: ast.ShowQueriesStatement,
        Tok.RETENTION: {Tok.POLICIES: ast.ShowRetentionPoliciesStatement},
        Tok.SERIES: "_show_series",
        Tok.SHARD: {Tok.GROUPS: ast.ShowShardGroupsStatement},
        Tok.SHARDS: ast.ShowShardsStatement,
        Tok.STATS: ast.ShowStatsStatement,
        Tok.SUBSCRIPTIONS: ast.ShowSubscriptionsStatement,
        Tok.TAG: {
            Tok.KEY: "_show_tag_key_cardinality",
            Tok.KEYS: ast.ShowTagKeysStatement,
            Tok.VALUES: "_show_tag_values",
        },
        Tok.USERS: ast.ShowUsersStatement,
    },
    Tok.CREATE: {
        Tok.CONTINUOUS: {Tok.QUERY: "_create_continuous_query"},
        Tok.DATABASE: "_create_database",
        Tok.USER: "_create_user",
        Tok.RETENTION: {Tok.POLICY: "_create_retention_policy"},
        Tok.SUBSCRIPTION: "_create_subscription",
    },
    Tok.DROP: {
        Tok.CONTINUOUS: {Tok.QUERY: "_drop_continuous_query"},
        Tok.DATABASE: ast.DropDatabaseStatement,
        Tok.MEASUREMENT: ast.DropMeasurementStatement,
        Tok.RETENTION: {Tok.POLICY: "_drop_retention_policy"},
        Tok.SERIES: "_drop_series",
        Tok.SHARD: "_drop_shard",
        Tok.SUBSCRIPTION: "_drop_subscription",
        Tok.USER: ast.DropUserStatement,
    },
    Tok.EXPLAIN: "_explain",
    Tok.GRANT: "_grant",
    Tok.REVOKE: "_revoke",
    Tok.ALTER: {Tok.RETENTION: {Tok.POLICY: "_alter_retention_policy"}},
    Tok.SET: {Tok.PASSWORD: {Tok.FOR: "_set_password"}},
    Tok.KILL: {Tok.QUERY: "_kill_query"},
}


# ---------------------------------------------------------------------------------------------
# entry points


def parse_query(text: str, params: Optional[Mapping[str, Any]] = None) -> ast.Query:
    """Parse ``;``-separated statements.  ``params`` binds ``$name`` placeholders.

    Raises :class:`ParseError`.  An empty text gives an empty :class:`~.ast.Query`.
    """
    return Parser(text, params).parse_query()


def parse_statement(text: str, params: Optional[Mapping[str, Any]] = None) -> ast.Statement:
    """Parse exactly the first statement of ``text`` (1.x's ParseStatement: trailing text is
    ignored)."""
    return Parser(text, params).parse_statement()


def parse_expr(text: str, params: Optional[Mapping[str, Any]] = None) -> ast.Expr:
    """Parse one expression (1.x's ParseExpr: trailing text is ignored)."""
    p = Parser(text, params)
    try:
        return p.parse_expr()
    except RecursionError:
        raise _plain("query is nested too deeply") from None
