"""InfluxQL tokens and scanner, with InfluxDB 1.x's positions.

The scanner reproduces the observable behaviour of InfluxDB 1.8's scanner (influxql revision 65d3ef7),
including where it reports a token: error messages quote positions as ``line L, char C`` and those
numbers depend on how far the 1.x scanner had read, not only on where a token starts.  Three
consequences worth knowing:

* a string literal's position is that of the character *before* its opening quote;
* the end of input is reported one character further once the scanner has already seen it (after a
  trailing identifier, keyword or whitespace);
* ``\\r\\n`` and a lone ``\\r`` count as one newline; a NUL character ends the input.

Positions are zero-based (:class:`Pos`); :class:`~.parser.ParseError` prints them one-based.

This module also owns the literal helpers every layer needs: durations (:func:`parse_duration`,
:func:`format_duration`) and quoting (:func:`quote_ident`, :func:`quote_string`).
"""

from __future__ import annotations

import enum
import re
from typing import NamedTuple

__all__ = [
    "Tok",
    "OPERATORS",
    "Pos",
    "Token",
    "Scanner",
    "KEYWORDS",
    "lookup",
    "parse_duration",
    "format_duration",
    "quote_ident",
    "quote_string",
    "ident_needs_quotes",
    "DurationError",
    "NS_PER",
]


class Tok(enum.Enum):
    """Token kinds.  ``value`` is how 1.x prints the token in ``found X`` when it has no literal."""

    ILLEGAL = "ILLEGAL"
    EOF = "EOF"
    WS = "WS"
    COMMENT = "COMMENT"

    # literals
    IDENT = "IDENT"
    BOUNDPARAM = "BOUNDPARAM"
    NUMBER = "NUMBER"
    INTEGER = "INTEGER"
    DURATIONVAL = "DURATIONVAL"
    STRING = "STRING"
    BADSTRING = "BADSTRING"
    BADESCAPE = "BADESCAPE"
    TRUE = "TRUE"
    FALSE = "FALSE"
    REGEX = "REGEX"
    BADREGEX = "BADREGEX"

    # operators
    ADD = "+"
    SUB = "-"
    MUL = "*"
    DIV = "/"
    MOD = "%"
    BITWISE_AND = "&"
    BITWISE_OR = "|"
    BITWISE_XOR = "^"
    AND = "AND"
    OR = "OR"
    EQ = "="
    NEQ = "!="
    EQREGEX = "=~"
    NEQREGEX = "!~"
    LT = "<"
    LTE = "<="
    GT = ">"
    GTE = ">="

    # punctuation
    LPAREN = "("
    RPAREN = ")"
    COMMA = ","
    COLON = ":"
    DOUBLECOLON = "::"
    SEMICOLON = ";"
    DOT = "."

    # keywords (InfluxDB 1.8's set: no FUTURE, PAST or VERBOSE)
    ALL = "ALL"
    ALTER = "ALTER"
    ANALYZE = "ANALYZE"
    ANY = "ANY"
    AS = "AS"
    ASC = "ASC"
    BEGIN = "BEGIN"
    BY = "BY"
    CARDINALITY = "CARDINALITY"
    CREATE = "CREATE"
    CONTINUOUS = "CONTINUOUS"
    DATABASE = "DATABASE"
    DATABASES = "DATABASES"
    DEFAULT = "DEFAULT"
    DELETE = "DELETE"
    DESC = "DESC"
    DESTINATIONS = "DESTINATIONS"
    DIAGNOSTICS = "DIAGNOSTICS"
    DISTINCT = "DISTINCT"
    DROP = "DROP"
    DURATION = "DURATION"
    END = "END"
    EVERY = "EVERY"
    EXACT = "EXACT"
    EXPLAIN = "EXPLAIN"
    FIELD = "FIELD"
    FOR = "FOR"
    FROM = "FROM"
    GRANT = "GRANT"
    GRANTS = "GRANTS"
    GROUP = "GROUP"
    GROUPS = "GROUPS"
    IN = "IN"
    INF = "INF"
    INSERT = "INSERT"
    INTO = "INTO"
    KEY = "KEY"
    KEYS = "KEYS"
    KILL = "KILL"
    LIMIT = "LIMIT"
    MEASUREMENT = "MEASUREMENT"
    MEASUREMENTS = "MEASUREMENTS"
    NAME = "NAME"
    OFFSET = "OFFSET"
    ON = "ON"
    ORDER = "ORDER"
    PASSWORD = "PASSWORD"
    POLICY = "POLICY"
    POLICIES = "POLICIES"
    PRIVILEGES = "PRIVILEGES"
    QUERIES = "QUERIES"
    QUERY = "QUERY"
    READ = "READ"
    REPLICATION = "REPLICATION"
    RESAMPLE = "RESAMPLE"
    RETENTION = "RETENTION"
    REVOKE = "REVOKE"
    SELECT = "SELECT"
    SERIES = "SERIES"
    SET = "SET"
    SHOW = "SHOW"
    SHARD = "SHARD"
    SHARDS = "SHARDS"
    SLIMIT = "SLIMIT"
    SOFFSET = "SOFFSET"
    STATS = "STATS"
    SUBSCRIPTION = "SUBSCRIPTION"
    SUBSCRIPTIONS = "SUBSCRIPTIONS"
    TAG = "TAG"
    TO = "TO"
    USER = "USER"
    USERS = "USERS"
    VALUES = "VALUES"
    WHERE = "WHERE"
    WITH = "WITH"
    WRITE = "WRITE"

    def __str__(self) -> str:
        return self.value

    @property
    def is_operator(self) -> bool:
        return self in _OPERATORS

    @property
    def precedence(self) -> int:
        return _PRECEDENCE.get(self, 0)


_PRECEDENCE = {
    Tok.OR: 1,
    Tok.AND: 2,
    Tok.EQ: 3, Tok.NEQ: 3, Tok.EQREGEX: 3, Tok.NEQREGEX: 3, Tok.LT: 3, Tok.LTE: 3, Tok.GT: 3, Tok.GTE: 3,
    Tok.ADD: 4, Tok.SUB: 4, Tok.BITWISE_OR: 4, Tok.BITWISE_XOR: 4,
    Tok.MUL: 5, Tok.DIV: 5, Tok.MOD: 5, Tok.BITWISE_AND: 5,
}  # fmt: skip

#: the binary operator tokens (those with a precedence), in declaration order; :class:`.ast.Op`
#: takes its members from them
OPERATORS = tuple(t for t in Tok if t in _PRECEDENCE)
_OPERATORS = frozenset(OPERATORS)

_FIRST_KEYWORD = list(Tok).index(Tok.ALL)

#: lower-case word -> keyword token (includes AND, OR, TRUE, FALSE)
KEYWORDS: dict[str, Tok] = {t.value.lower(): t for t in list(Tok)[_FIRST_KEYWORD:]}
KEYWORDS.update({"and": Tok.AND, "or": Tok.OR, "true": Tok.TRUE, "false": Tok.FALSE})


def lookup(word: str) -> Tok:
    """The keyword token for ``word`` (case-insensitive), or ``Tok.IDENT``."""
    return KEYWORDS.get(word.lower(), Tok.IDENT)


class Pos(NamedTuple):
    """A zero-based position (1.x prints ``line+1`` and ``char+1``)."""

    line: int
    char: int


class Token(NamedTuple):
    tok: Tok
    pos: Pos
    lit: str

    @property
    def text(self) -> str:
        """What 1.x prints for this token in ``found X``: the literal, else the token's name."""
        return self.lit if self.lit else self.tok.value


_EOF = "\0"  # like 1.x, a NUL character reads as the end of input
_ZERO = Pos(0, 0)


# character classes (sets: a membership test is cheaper than a call per character)
_WS_CHARS = frozenset(" \t\n")
_LETTERS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ")
_DIGITS = frozenset("0123456789")
_IDENT_CHARS = _LETTERS | _DIGITS | {"_"}
_UNIT_CHARS = _LETTERS | {"µ"}  # a duration's unit
_UNIT_OR_DIGIT_CHARS = _UNIT_CHARS | _DIGITS


class _Reader:
    """Characters with unlimited history: ``read``/``unread``/``curr`` as 1.x's rune reader.

    ``curr()`` is the last character consumed (after ``unread`` that is the one *before* the
    character that will be read next), which is where 1.x takes some token positions from.
    """

    __slots__ = ("_s", "_i", "_hist", "_n", "_line", "_char", "_eof")

    def __init__(self, text: str):
        self._s = text.replace("\r\n", "\n").replace("\r", "\n")
        self._i = 0
        self._hist: list[tuple[str, Pos]] = []
        self._n = 0
        self._line = 0
        self._char = 0
        self._eof = False

    def read(self) -> tuple[str, Pos]:
        if self._n:
            self._n -= 1
            return self._hist[-1 - self._n]
        if self._i < len(self._s):
            ch = self._s[self._i]
            self._i += 1
        else:
            ch = _EOF
        entry = (ch, Pos(self._line, self._char))
        self._hist.append(entry)
        if ch == "\n":
            self._line += 1
            self._char = 0
        elif not self._eof:
            self._char += 1  # the end of input is counted once
        if ch == _EOF:
            self._eof = True
        return entry

    def unread(self) -> None:
        self._n += 1

    def curr(self) -> tuple[str, Pos]:
        i = len(self._hist) - 1 - self._n
        return self._hist[i] if i >= 0 else (_EOF, _ZERO)

    def peek(self) -> str:
        """The next character; at the end of input this consumes the end (as 1.x's peekRune)."""
        ch, _ = self.read()
        if ch != _EOF:
            self.unread()
        return ch


class _BadString(Exception):
    pass


class _BadEscape(Exception):
    def __init__(self, lit: str):
        self.lit = lit


class Scanner:
    """Turns InfluxQL text into tokens (``scan``), or a regex literal on request (``scan_regex``)."""

    def __init__(self, text: str):
        self.r = _Reader(text)

    # -- tokens ---------------------------------------------------------------------------------

    def scan(self) -> Token:
        r = self.r
        ch, pos = r.read()
        if ch in _WS_CHARS:
            return self._scan_ws()
        if ch in _LETTERS or ch == "_":
            r.unread()
            return self._scan_ident(True)
        if ch in _DIGITS:
            return self._scan_number()
        if ch == _EOF:
            return Token(Tok.EOF, pos, "")
        if ch == '"':
            r.unread()
            return self._scan_ident(True)
        if ch == "'":
            return self._scan_string()
        if ch == ".":
            nxt, _ = r.read()
            r.unread()
            if nxt in _DIGITS:
                return self._scan_number()
            return Token(Tok.DOT, pos, "")
        if ch == "$":
            t = self._scan_ident(False)
            if t.tok != Tok.IDENT:
                return Token(t.tok, pos, "$" + t.lit)
            return Token(Tok.BOUNDPARAM, pos, "$" + t.lit)
        if ch == "-":
            nxt, _ = r.read()
            if nxt == "-":
                while True:
                    c, _ = r.read()
                    if c == "\n" or c == _EOF:
                        break
                return Token(Tok.COMMENT, pos, "")
            r.unread()
            return Token(Tok.SUB, pos, "")
        if ch == "/":
            nxt, _ = r.read()
            if nxt == "*":
                if not self._skip_block_comment():
                    return Token(Tok.ILLEGAL, pos, "")
                return Token(Tok.COMMENT, pos, "")
            r.unread()
            return Token(Tok.DIV, pos, "")
        two = _TWO_CHAR.get(ch)
        if two is not None:
            nxt, _ = r.read()
            t = two.get(nxt)
            if t is not None:
                return Token(t, pos, "")
            r.unread()
            single = two.get("")
            if single is None:  # a lone "!"
                return Token(Tok.ILLEGAL, pos, ch)
            return Token(single, pos, "")
        single = _ONE_CHAR.get(ch)
        if single is not None:
            return Token(single, pos, "")
        return Token(Tok.ILLEGAL, pos, ch)

    def _read_while(self, chars: frozenset, eof_consumed: bool) -> str:
        """Characters while they are in ``chars``.  The first other character is unread, except the
        end of input when ``eof_consumed``: 1.x's whitespace and identifier scanners consume it,
        which moves the position later reported for EOF."""
        r = self.r
        buf = []
        while True:
            ch, _ = r.read()
            if ch in chars:
                buf.append(ch)
            else:
                if ch != _EOF or not eof_consumed:
                    r.unread()
                return "".join(buf)

    def _scan_ws(self) -> Token:
        ch, pos = self.r.curr()
        return Token(Tok.WS, pos, ch + self._read_while(_WS_CHARS, True))

    def _skip_block_comment(self) -> bool:
        r = self.r
        while True:
            ch, _ = r.read()
            if ch == "*":
                while True:
                    ch2, _ = r.read()
                    if ch2 == "/":
                        return True
                    if ch2 == "*":
                        continue
                    if ch2 == _EOF:
                        return False
                    break
            elif ch == _EOF:
                return False

    def _scan_ident(self, keywords: bool) -> Token:
        r = self.r
        _, pos = r.read()
        r.unread()
        buf = []
        while True:
            ch, _ = r.read()
            if ch == _EOF:
                break
            if ch == '"':
                t = self._scan_string()
                if t.tok in (Tok.BADSTRING, Tok.BADESCAPE):
                    return t
                return Token(Tok.IDENT, pos, t.lit)
            if ch in _IDENT_CHARS:
                r.unread()
                buf.append(self._read_while(_IDENT_CHARS, True))
            else:
                r.unread()
                break
        lit = "".join(buf)
        if keywords:
            kw = KEYWORDS.get(lit.lower())
            if kw is not None:
                return Token(kw, pos, "")
        return Token(Tok.IDENT, pos, lit)

    def _scan_string(self) -> Token:
        r = self.r
        r.unread()
        _, pos = r.curr()
        try:
            lit = self._read_quoted()
        except _BadString as e:
            return Token(Tok.BADSTRING, pos, e.args[0])
        except _BadEscape as e:
            _, pos = r.curr()
            return Token(Tok.BADESCAPE, pos, e.lit)
        return Token(Tok.STRING, pos, lit)

    def _read_quoted(self) -> str:
        r = self.r
        quote, _ = r.read()
        if quote == _EOF:
            raise _BadString("")
        buf = []
        while True:
            ch, _ = r.read()
            if ch == quote:
                return "".join(buf)
            if ch == _EOF or ch == "\n":
                raise _BadString("".join(buf))
            if ch == "\\":
                nxt, _ = r.read()
                esc = _STRING_ESCAPES.get(nxt)
                if esc is None:
                    raise _BadEscape(ch + nxt)
                buf.append(esc)
            else:
                buf.append(ch)

    def _scan_number(self) -> Token:
        r = self.r
        ch, pos = r.curr()
        if ch == ".":
            nxt, _ = r.read()
            r.unread()
            if nxt not in _DIGITS:
                return Token(Tok.ILLEGAL, pos, ".")
        r.unread()
        buf = [self._read_while(_DIGITS, False)]
        decimal = False
        ch, _ = r.read()
        if ch == ".":
            decimal = True
            nxt, _ = r.read()
            if nxt in _DIGITS:
                buf.append(ch)
                buf.append(nxt)
                buf.append(self._read_while(_DIGITS, False))
            else:
                r.unread()
        else:
            r.unread()
        if decimal:
            return Token(Tok.NUMBER, pos, "".join(buf))
        ch, _ = r.read()
        if ch in _UNIT_CHARS:
            buf.append(ch)
            buf.append(self._read_while(_UNIT_CHARS, False))
            buf.append(self._read_while(_UNIT_OR_DIGIT_CHARS, False))
            return Token(Tok.DURATIONVAL, pos, "".join(buf))
        r.unread()
        return Token(Tok.INTEGER, pos, "".join(buf))

    # -- regex ----------------------------------------------------------------------------------

    def scan_regex(self) -> Token:
        """Read ``/.../`` (``\\/`` is a slash; any other backslash pair is kept as written)."""
        r = self.r
        _, pos = r.curr()
        ch, _ = r.read()
        if ch != "/":
            return Token(Tok.BADREGEX, pos, "")
        buf = []
        while True:
            ch, _ = r.read()
            if ch == "/":
                return Token(Tok.REGEX, pos, "".join(buf))
            if ch == _EOF or ch == "\n":
                return Token(Tok.BADREGEX, pos, "")
            if ch == "\\":
                nxt, _ = r.read()
                if nxt == _EOF:
                    return Token(Tok.BADREGEX, pos, "")
                if nxt == "/":
                    buf.append("/")
                else:
                    r.unread()
                    buf.append("\\")
            else:
                buf.append(ch)


_STRING_ESCAPES = {"n": "\n", "\\": "\\", '"': '"', "'": "'"}

_ONE_CHAR = {
    "+": Tok.ADD,
    "*": Tok.MUL,
    "%": Tok.MOD,
    "&": Tok.BITWISE_AND,
    "|": Tok.BITWISE_OR,
    "^": Tok.BITWISE_XOR,
    "(": Tok.LPAREN,
    ")": Tok.RPAREN,
    ",": Tok.COMMA,
    ";": Tok.SEMICOLON,
}

# first char -> {second char: token, "": token when alone}
_TWO_CHAR = {
    "=": {"~": Tok.EQREGEX, "": Tok.EQ},
    "!": {"=": Tok.NEQ, "~": Tok.NEQREGEX},
    ">": {"=": Tok.GTE, "": Tok.GT},
    "<": {"=": Tok.LTE, ">": Tok.NEQ, "": Tok.LT},
    ":": {":": Tok.DOUBLECOLON, "": Tok.COLON},
}


# -- durations ----------------------------------------------------------------------------------

#: nanoseconds per duration unit
NS_PER = {
    "ns": 1,
    "u": 1_000,
    "µ": 1_000,
    "ms": 1_000_000,
    "s": 1_000_000_000,
    "m": 60_000_000_000,
    "h": 3_600_000_000_000,
    "d": 86_400_000_000_000,
    "w": 604_800_000_000_000,
}

_INT64_MAX = (1 << 63) - 1


class DurationError(ValueError):
    """A duration literal 1.x rejects; ``str()`` is 1.x's message."""


def parse_duration(s: str) -> int:
    """Parse an InfluxQL duration (``10s``, ``1h30m``, ``-5m``, ``100µs``...) into nanoseconds.

    Units: ``ns u µ ms s m h d w``.  Raises :class:`DurationError` with 1.x's message
    (``invalid duration``, or ``overflowed duration 15251w: choose a smaller duration or INF``).
    Like 1.x, the sum wraps as a signed 64-bit integer and only a positive sum that wraps negative
    is an error.
    """
    if len(s) < 2:
        raise DurationError("invalid duration")
    i = 0
    negative = s[0] == "-"
    if negative:
        i = 1
    total = 0
    n = 0
    unit = ""
    while i < len(s):
        start = i
        while i < len(s) and s[i] in _DIGITS:
            i += 1
        if i >= len(s) or i == start:
            raise DurationError("invalid duration")
        n = int(s[start:i])
        if n > _INT64_MAX:
            raise DurationError("invalid duration")
        c = s[i]
        if c == "n" or c == "m":
            if i + 1 < len(s) and s[i + 1] == "s":
                unit = c + "s"
                i += 2
            elif c == "n":
                raise DurationError("invalid duration")
            else:
                unit = "m"
                i += 1
        elif c in "uµshdw":
            unit = c
            i += 1
        else:
            raise DurationError("invalid duration")
        total = _wrap64(total + _wrap64(n * NS_PER[unit]))
    if total < 0 and not negative:
        raise DurationError(f"overflowed duration {n}{unit}: choose a smaller duration or INF")
    return _wrap64(-total) if negative else total


def _wrap64(v: int) -> int:
    v &= (1 << 64) - 1
    return v - (1 << 64) if v >> 63 else v


_FORMAT_UNITS = (
    ("w", NS_PER["w"]),
    ("d", NS_PER["d"]),
    ("h", NS_PER["h"]),
    ("m", NS_PER["m"]),
    ("s", NS_PER["s"]),
    ("ms", NS_PER["ms"]),
    ("u", NS_PER["u"]),
)


def format_duration(ns: int) -> str:
    """Render nanoseconds as 1.x does: the largest unit that divides exactly (``90m`` -> ``90m``,
    ``1h`` -> ``1h``, ``7d`` -> ``1w``, ``0`` -> ``0s``, ``1500ns`` -> ``1500ns``)."""
    if ns == 0:
        return "0s"
    sign = "-" if ns < 0 else ""
    a = -ns if ns < 0 else ns
    for unit, size in _FORMAT_UNITS:
        if a % size == 0:
            return f"{sign}{a // size}{unit}"
    return f"{sign}{a}ns"


# -- quoting ------------------------------------------------------------------------------------

_BARE_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")
_STRING_QUOTES = str.maketrans({"\n": "\\n", "\\": "\\\\", "'": "\\'"})
_IDENT_QUOTES = str.maketrans({"\n": "\\n", "\\": "\\\\", '"': '\\"'})


def quote_string(s: str) -> str:
    """``'...'`` with ``\\n``, ``\\\\`` and ``\\'`` escaped."""
    return "'" + s.translate(_STRING_QUOTES) + "'"


def ident_needs_quotes(ident: str) -> bool:
    """True when ``ident`` is a keyword or not of the form ``[A-Za-z_][A-Za-z0-9_]*``."""
    if ident.lower() in KEYWORDS:
        return True
    return bool(ident) and _BARE_IDENT.match(ident) is None


def quote_ident(*segments: str) -> str:
    """Join identifier segments with ``.``, double-quoting those that need it (1.x's QuoteIdent)."""
    out = []
    last = len(segments) - 1
    for i, seg in enumerate(segments):
        need = (
            ident_needs_quotes(seg)
            or (i < last and seg != "")
            or ((i == 0 or i == last) and seg == "")
        )
        text = seg.translate(_IDENT_QUOTES)
        out.append(f'"{text}"' if need else text)
    return ".".join(out)
