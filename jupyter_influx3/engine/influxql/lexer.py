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

Speed: a dashboard sends a new text with every refresh, and each is parsed. The scanner works
character by character only where 1.x's quirks live (operators, comments, quoted identifiers,
escapes, NUL); whitespace, identifiers, keywords, plain strings and numbers are matched whole by
one regex (``_SIMPLE``) that gives the same tokens, positions and cursor
(tests/engine/test_influxql_lexer_fast_path.py), and a position is worked out only for a token.
That took a TSBS query's parse from ~185 to ~135 µs.

This module also owns the literal helpers every layer needs: durations (:func:`parse_duration`,
:func:`format_duration`) and quoting (:func:`quote_ident`, :func:`quote_string`).
"""

from __future__ import annotations

import enum
import re
from typing import NamedTuple, Optional

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
#: makes a Token or Pos from a tuple of its fields as namedtuple's own ``_make`` does, without a
#: call of the class's Python-level ``__new__``: the lexer makes one or two per token
_tuple = tuple.__new__


# character classes (sets: a membership test is cheaper than a call per character)
_WS_CHARS = frozenset(" \t\n")
_LETTERS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ")
_DIGITS = frozenset("0123456789")
_IDENT_CHARS = _LETTERS | _DIGITS | {"_"}
_UNIT_CHARS = _LETTERS | {"µ"}  # a duration's unit
_UNIT_OR_DIGIT_CHARS = _UNIT_CHARS | _DIGITS


def _run(chars: frozenset) -> re.Pattern:
    """A run of ``chars`` (for _Reader.skip)."""
    return re.compile("[" + "".join(map(re.escape, sorted(chars))) + "]*")


_WS_RUN, _DIGIT_RUN, _IDENT_RUN = _run(_WS_CHARS), _run(_DIGITS), _run(_IDENT_CHARS)
_UNIT_RUN, _UNIT_OR_DIGIT_RUN = _run(_UNIT_CHARS), _run(_UNIT_OR_DIGIT_CHARS)
#: what a quoted string or a regex literal holds up to its next character that means something
_QUOTED_RUN = {q: re.compile(r"[^" + q + r"\\\n\0]*") for q in "'\""}
_REGEX_RUN = re.compile(r"[^/\\\n\0]*")


class _Reader:
    """The text's characters as 1.x's rune reader gives them, with unlimited ``unread``.

    Entry ``i`` is the text's character ``i``, or the end of input (``_EOF``) from its length on;
    ``read``/``unread`` move a cursor over the entries. ``curr()`` is the last entry consumed (after
    ``unread`` that is the one *before* the entry read next), where 1.x takes some token
    positions from. A position is worked out only when asked (:meth:`pos`), from the entry's
    index, and a run of one character class is consumed with one regex match (:meth:`skip`).
    """

    __slots__ = ("_s", "_k", "_end", "_stop", "_one_line")

    def __init__(self, text: str):
        self._s = text.replace("\r\n", "\n").replace("\r", "\n")
        self._k = 0   # the next entry to read
        self._end = len(self._s)
        #: the first end of input: a NUL character, or the text's end
        nul = self._s.find(_EOF)
        self._stop = self._end if nul < 0 else nul
        self._one_line = "\n" not in self._s   # (most queries: a position is its index)

    def read(self) -> str:
        k = self._k
        self._k = k + 1
        return self._s[k] if k < self._end else _EOF

    def unread(self) -> None:
        self._k -= 1

    def curr(self) -> str:
        k = self._k - 1
        return self._s[k] if 0 <= k < self._end else _EOF

    def pos(self) -> Pos:
        """The position of ``curr()`` (zero before the first read)."""
        return _ZERO if self._k <= 0 else self.pos_of(self._k - 1)

    def peek(self) -> str:
        """The next character; at the end of input this consumes the end (as 1.x's peekRune)."""
        ch = self.read()
        if ch != _EOF:
            self.unread()
        return ch

    def skip(self, run: re.Pattern) -> str:
        """Consume the characters ``run`` (a character class, ``*``) matches at the cursor."""
        k = self._k
        if k >= self._end:
            return ""
        m = run.match(self._s, k)
        self._k = m.end()
        return m.group()

    def pos_of(self, i: int) -> Pos:
        """1.x's position of entry ``i``: its line and character, counted as it reads. Past the
        first end of input (a NUL, or the text's end) the character count stops, one further
        than that end's, until a newline starts the next line at 0."""
        s, stop = self._s, self._stop
        if i <= stop:
            if self._one_line:
                return Pos(0, i)
            return Pos(s.count("\n", 0, i), i - s.rfind("\n", 0, i) - 1)
        upto = min(i, self._end)
        if s.find("\n", stop, upto) >= 0:
            return Pos(s.count("\n", 0, upto), 0)
        line, char = self.pos_of(stop)
        return Pos(line, char + 1)


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
        if r._stop == r._end and r._k < r._end:   # (no NUL: a NUL ends the input early, a rare case)
            m = _SIMPLE.match(r._s, r._k)
            if m is not None:
                t = self._simple(m)
                if t is not None:
                    return t
        return self._scan()

    def _simple(self, m: re.Match) -> Optional[Token]:
        """The token of a ``_SIMPLE`` match, as the character by character scanner (``_scan``)
        makes it, position and cursor included; None where that scanner reads differently (an
        identifier followed by a quoted part, an integer followed by a lone dot)."""
        r, k, end, kind = self.r, m.start(), m.end(), m.lastgroup
        nxt = r._s[end] if end < r._end else _EOF
        if kind == "string":
            k -= 1   # (1.x's position of a string: the character before its quote)
        pos = _ZERO if k <= 0 else _tuple(Pos, (0, k)) if r._one_line else r.pos_of(k)
        if kind == "ws":
            r._k = end + 1 if nxt == _EOF else end   # (1.x's whitespace scanner consumes the end)
            return _tuple(Token, (Tok.WS, pos, m.group()))
        if kind == "ident":
            if nxt == '"':
                return None
            r._k = end + 2 if nxt == _EOF else end   # (its identifier scanner, the end twice)
            lit = m.group()
            kw = KEYWORDS.get(lit.lower())
            return _tuple(Token, (Tok.IDENT, pos, lit) if kw is None else (kw, pos, ""))
        if kind == "string":
            r._k = end
            return _tuple(Token, (Tok.STRING, pos, m.group()[1:-1]))
        if kind == "integer" and nxt == ".":
            return None
        r._k = end
        return _tuple(Token, (_NUMBER_TOKS[kind], pos, m.group()))

    def _scan(self) -> Token:
        r = self.r
        ch = r.read()
        pos = r.pos()
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
            nxt = r.read()
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
            nxt = r.read()
            if nxt == "-":
                while True:
                    c = r.read()
                    if c == "\n" or c == _EOF:
                        break
                return Token(Tok.COMMENT, pos, "")
            r.unread()
            return Token(Tok.SUB, pos, "")
        if ch == "/":
            nxt = r.read()
            if nxt == "*":
                if not self._skip_block_comment():
                    return Token(Tok.ILLEGAL, pos, "")
                return Token(Tok.COMMENT, pos, "")
            r.unread()
            return Token(Tok.DIV, pos, "")
        two = _TWO_CHAR.get(ch)
        if two is not None:
            nxt = r.read()
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

    def _read_while(self, run: re.Pattern, eof_consumed: bool) -> str:
        """The characters of a ``run`` (one of the ``_*_RUN`` classes).  The first other character
        is left unread, except the end of input when ``eof_consumed``: 1.x's whitespace and
        identifier scanners consume it, which moves the position later reported for EOF."""
        r = self.r
        got = r.skip(run)
        if eof_consumed and r.read() != _EOF:
            r.unread()
        return got

    def _scan_ws(self) -> Token:
        r = self.r
        ch, pos = r.curr(), r.pos()
        return Token(Tok.WS, pos, ch + self._read_while(_WS_RUN, True))

    def _skip_block_comment(self) -> bool:
        r = self.r
        while True:
            ch = r.read()
            if ch == "*":
                while True:
                    ch2 = r.read()
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
        r.read()
        pos = r.pos()
        r.unread()
        buf = []
        while True:
            ch = r.read()
            if ch == _EOF:
                break
            if ch == '"':
                t = self._scan_string()
                if t.tok in (Tok.BADSTRING, Tok.BADESCAPE):
                    return t
                return Token(Tok.IDENT, pos, t.lit)
            if ch in _IDENT_CHARS:
                r.unread()
                buf.append(self._read_while(_IDENT_RUN, True))
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
        pos = r.pos()
        try:
            lit = self._read_quoted()
        except _BadString as e:
            return Token(Tok.BADSTRING, pos, e.args[0])
        except _BadEscape as e:
            return Token(Tok.BADESCAPE, r.pos(), e.lit)
        return Token(Tok.STRING, pos, lit)

    def _read_quoted(self) -> str:
        r = self.r
        quote = r.read()
        if quote == _EOF:
            raise _BadString("")
        plain = _QUOTED_RUN[quote]
        buf = []
        while True:
            buf.append(r.skip(plain))
            ch = r.read()
            if ch == quote:
                return "".join(buf)
            if ch == _EOF or ch == "\n":
                raise _BadString("".join(buf))
            if ch == "\\":
                nxt = r.read()
                esc = _STRING_ESCAPES.get(nxt)
                if esc is None:
                    raise _BadEscape(ch + nxt)
                buf.append(esc)
            else:
                buf.append(ch)

    def _scan_number(self) -> Token:
        r = self.r
        ch, pos = r.curr(), r.pos()
        if ch == ".":
            nxt = r.read()
            r.unread()
            if nxt not in _DIGITS:
                return Token(Tok.ILLEGAL, pos, ".")
        r.unread()
        buf = [self._read_while(_DIGIT_RUN, False)]
        decimal = False
        ch = r.read()
        if ch == ".":
            decimal = True
            nxt = r.read()
            if nxt in _DIGITS:
                buf.append(ch)
                buf.append(nxt)
                buf.append(self._read_while(_DIGIT_RUN, False))
            else:
                r.unread()
        else:
            r.unread()
        if decimal:
            return Token(Tok.NUMBER, pos, "".join(buf))
        ch = r.read()
        if ch in _UNIT_CHARS:
            buf.append(ch)
            buf.append(self._read_while(_UNIT_RUN, False))
            buf.append(self._read_while(_UNIT_OR_DIGIT_RUN, False))
            return Token(Tok.DURATIONVAL, pos, "".join(buf))
        r.unread()
        return Token(Tok.INTEGER, pos, "".join(buf))

    # -- regex ----------------------------------------------------------------------------------

    def scan_regex(self) -> Token:
        """Read ``/.../`` (``\\/`` is a slash; any other backslash pair is kept as written)."""
        r = self.r
        pos = r.pos()
        ch = r.read()
        if ch != "/":
            return Token(Tok.BADREGEX, pos, "")
        buf = []
        while True:
            buf.append(r.skip(_REGEX_RUN))
            ch = r.read()
            if ch == "/":
                return Token(Tok.REGEX, pos, "".join(buf))
            if ch == _EOF or ch == "\n":
                return Token(Tok.BADREGEX, pos, "")
            if ch == "\\":
                nxt = r.read()
                if nxt == _EOF:
                    return Token(Tok.BADREGEX, pos, "")
                if nxt == "/":
                    buf.append("/")
                else:
                    r.unread()
                    buf.append("\\")
            else:
                buf.append(ch)


#: the tokens most text is made of, matched whole (Scanner._simple): whitespace, an unquoted
#: identifier or keyword, a single-quoted string without escapes, a number or duration
_SIMPLE = re.compile(
    r"(?P<ws>[ \t\n]+)"
    r"|(?P<ident>[A-Za-z_][A-Za-z0-9_]*)"
    r"|(?P<string>'[^'\\\n\0]*')"
    r"|(?P<number>[0-9]+\.[0-9]+)"
    r"|(?P<duration>[0-9]+[A-Za-zµ][A-Za-zµ0-9]*)"
    r"|(?P<integer>[0-9]+)")
_NUMBER_TOKS = {"number": Tok.NUMBER, "duration": Tok.DURATIONVAL, "integer": Tok.INTEGER}


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
_ONE_UNIT = re.compile("([0-9]+)(ns|ms|u|µ|s|m|h|d|w)")


class DurationError(ValueError):
    """A duration literal 1.x rejects; ``str()`` is 1.x's message."""


def parse_duration(s: str) -> int:
    """Parse an InfluxQL duration (``10s``, ``1h30m``, ``-5m``, ``100µs``...) into nanoseconds.

    Units: ``ns u µ ms s m h d w``.  Raises :class:`DurationError` with 1.x's message
    (``invalid duration``, or ``overflowed duration 15251w: choose a smaller duration or INF``).
    Like 1.x, the sum wraps as a signed 64-bit integer and only a positive sum that wraps negative
    is an error.
    """
    one = _ONE_UNIT.fullmatch(s)
    if one is not None:   # (most durations: a number and one unit, no sign)
        n = int(one.group(1))
        if n > _INT64_MAX:
            raise DurationError("invalid duration")
        unit = one.group(2)
        total = wrap64(n * NS_PER[unit])
        if total < 0:
            raise _overflowed(n, unit)
        return total
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
        total = wrap64(total + wrap64(n * NS_PER[unit]))
    if total < 0 and not negative:
        raise _overflowed(n, unit)
    return wrap64(-total) if negative else total


def _overflowed(n: int, unit: str) -> DurationError:
    """1.x's error for a positive duration past int64 (``n``, ``unit``: its last part)."""
    return DurationError(f"overflowed duration {n}{unit}: choose a smaller duration or INF")


def wrap64(v: int) -> int:
    """``v`` as a signed 64-bit integer wraps it (1.x's int64 arithmetic)."""
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
