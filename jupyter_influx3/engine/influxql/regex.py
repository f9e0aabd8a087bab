"""InfluxQL regular expressions: Go/RE2 syntax, checked, and matched by RE2 itself.

InfluxQL regexes use Go's RE2 syntax (DuckDB's ``regexp_matches`` speaks RE2 too, so a planner can
pass :attr:`~.ast.RegexLiteral.pattern` through).  This module

* checks a pattern the way the parser must (:func:`re2_error`): a pattern that neither InfluxDB
  1.x nor InfluxDB 3 accepts is a parse error with 1.x's wording
  (``error parsing regexp: missing closing ): `(```);
* compiles a pattern for matching in Python (:func:`compile_re2`: names of measurements and tag
  keys, tag and field values).  Matching runs in RE2 (``google-re2`` for one string, Arrow's RE2
  kernel for arrays), never in Python's backtracking :mod:`re`: a user's pattern such as
  ``^(a+)+$`` must take linear time, not hold the GIL for hours (issue 10).

Escapes: like InfluxDB 3, a backslash before a letter that is not an RE2 escape is dropped
(``/d\\isk/`` matches ``disk``); InfluxDB 1.x rejects such patterns (``invalid escape sequence``).
:func:`translate_re2` (a Python-``re`` spelling) is kept only to word syntax errors as Go does.
"""

from __future__ import annotations

import functools
import re
import warnings
from typing import Iterable, Optional

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import re2

__all__ = ["re2_error", "compile_re2", "translate_re2", "re2_source", "Re2Pattern", "RegexError"]


class RegexError(ValueError):
    """``str()`` is Go's message: ``error parsing regexp: <problem>: `<fragment>```."""

    def __init__(self, code: str, fragment: str):
        self.code = code
        self.fragment = fragment
        super().__init__(f"error parsing regexp: {code}: `{fragment}`")


_POSIX = {
    "alnum": "0-9A-Za-z",
    "alpha": "A-Za-z",
    "ascii": "\\x00-\\x7f",
    "blank": "\\t ",
    "cntrl": "\\x00-\\x1f\\x7f",
    "digit": "0-9",
    "graph": "!-~",
    "lower": "a-z",
    "print": " -~",
    "punct": "!-/:-@\\[-`{-~",
    "space": "\\t\\n\\v\\f\\r ",
    "upper": "A-Z",
    "word": "0-9A-Za-z_",
    "xdigit": "0-9A-Fa-f",
}

_UNICODE_CLASS = {  # outside / inside a bracket; rough equivalents
    "L": ("[^\\W\\d_]", "^\\W\\d_"),
    "N": ("\\d", "\\d"),
    "Nd": ("\\d", "\\d"),
    "Z": ("\\s", "\\s"),
    "Zs": ("\\s", "\\s"),
}

_PERL_CLASSES = set("dDsSwW")
_SIMPLE_ESCAPES = {"a": "\\a", "f": "\\f", "n": "\\n", "r": "\\r", "t": "\\t", "v": "\\v"}
_REPEAT_OPS = "*+?"


def _is_word(c: str) -> bool:
    return c.isascii() and (c.isalnum() or c == "_")


def translate_re2(pattern: str) -> str:
    """The Python equivalent of an RE2 pattern; raises :class:`RegexError` for what RE2 (and
    InfluxDB 3) reject and Python would accept or misread."""
    out: list[str] = []
    i, n = 0, len(pattern)
    in_class = False
    class_start = bracket = 0
    global_flags: set[str] = set()
    multiline = bool(re.search(r"\(\?[a-zA-Z]*m", pattern))
    prev_repeat = False  # the previous item was a repetition operator
    while i < n:
        c = pattern[i]
        if c == "\\":
            piece, i = _escape(pattern, i, in_class)
            out.append(piece)
            prev_repeat = False
            continue
        if in_class:
            if c == "]" and i > class_start:
                in_class = False
                out.append("]")
            elif c == "[" and pattern.startswith("[:", i):
                end = pattern.find(":]", i + 2)
                name = pattern[i + 2 : end] if end >= 0 else ""
                neg = name.startswith("^")
                cls = _POSIX.get(name[1:] if neg else name)
                if end < 0 or cls is None:
                    if end >= 0:
                        raise RegexError("invalid character class range", pattern[i : end + 2])
                    out.append("\\[")
                    i += 1
                    continue
                out.append(cls)  # a negated POSIX class inside [...] is approximated as plain
                i = end + 2
                continue
            elif c in "[&~|":
                out.append("\\" + c)
            else:
                out.append(c)
            i += 1
            continue
        if c == "[":
            in_class = True
            bracket = i
            out.append("[")
            i += 1
            if i < n and pattern[i] == "^":
                out.append("^")
                i += 1
            class_start = i  # a "]" right here is a literal
            if i < n and pattern[i] == "]":
                out.append("\\]")
                i += 1
            prev_repeat = False
            continue
        if c in _REPEAT_OPS or (c == "{" and _repeat_at(pattern, i)):
            j = i + 1 if c != "{" else pattern.index("}", i) + 1
            if c == "{":
                _check_repeat_count(pattern[i:j])
            lazy = j < n and pattern[j] == "?"
            if prev_repeat:
                raise RegexError("invalid nested repetition operator", _last_op(out) + pattern[i:j])
            out.append(pattern[i:j] + ("?" if lazy else ""))
            i = j + (1 if lazy else 0)
            prev_repeat = True
            continue
        prev_repeat = False
        if c == "(" and pattern.startswith("(?", i):
            j = i + 2
            if pattern.startswith("P<", j):
                out.append("(?P<")
                i = j + 2
                continue
            m = re.match(r"[imsU-]*[:)]", pattern[j:])
            if not m:
                raise RegexError("invalid or unsupported Perl syntax", pattern[i : j + 1])
            flags = m.group(0)
            i = j + len(flags)
            kept = flags.replace("U", "")
            if flags.endswith(")"):
                # (?flags) applies to the rest of the group in Go; Python only takes flags at
                # the start, so they are hoisted there (clearing flags with "-" is dropped)
                global_flags.update(kept[:-1].split("-")[0])
                continue
            out.append("(?:" if kept in (":", "-:") else "(?" + kept)
            continue
        if c == "{":
            out.append("\\{")
        elif c == "$" and not multiline:
            out.append("\\Z")
        else:
            out.append(c)
        i += 1
    if in_class:
        raise RegexError("missing closing ]", pattern[bracket:])
    prefix = "(?" + "".join(sorted(global_flags)) + ")" if global_flags else ""
    return prefix + "".join(out)


def _last_op(out: list[str]) -> str:
    return out[-1].rstrip("?") if out else ""


def _repeat_at(p: str, i: int) -> bool:
    return re.match(r"\{\d+(,\d*)?\}", p[i:]) is not None


def _check_repeat_count(op: str) -> None:
    nums = [int(x) for x in re.findall(r"\d+", op)]
    if any(x > 1000 for x in nums) or (len(nums) == 2 and nums[1] < nums[0]):
        raise RegexError("invalid repeat count", op)


def _escape(p: str, i: int, in_class: bool) -> tuple[str, int]:
    """Translate the escape at ``p[i] == "\\\\"``; return (python text, next index)."""
    n = len(p)
    if i + 1 >= n:
        raise RegexError("trailing backslash at end of expression", "")
    c = p[i + 1]
    if c == "Q":
        end = p.find("\\E", i + 2)
        lit = p[i + 2 :] if end < 0 else p[i + 2 : end]
        return re.escape(lit), (n if end < 0 else end + 2)
    if "1" <= c <= "7" and not (i + 2 < n and "0" <= p[i + 2] <= "7"):
        raise RegexError("invalid escape sequence", p[i : i + 2])
    if "0" <= c <= "7":
        m = re.match(r"[0-7]{1,3}", p[i + 1 :])
        return "\\x%02x" % int(m.group(0), 8) if int(m.group(0), 8) < 256 else "\\u%04x" % int(m.group(0), 8), i + 1 + len(m.group(0))
    if c == "x":
        m = re.match(r"x(\{([0-9A-Fa-f]+)\}|[0-9A-Fa-f]{2})", p[i + 1 :])
        if not m:
            raise RegexError("invalid escape sequence", p[i : i + 4])
        code = int(m.group(2) or m.group(1), 16)
        if code > 0x10FFFF:
            raise RegexError("invalid escape sequence", p[i : i + 1 + len(m.group(0))])
        return "\\U%08x" % code, i + 1 + len(m.group(0))
    if c in _SIMPLE_ESCAPES:
        return _SIMPLE_ESCAPES[c], i + 2
    if c in _PERL_CLASSES:
        return "\\" + c, i + 2
    if c in "pP":
        m = re.match(r"[pP](\{\^?[A-Za-z_]+\}|[A-Za-z])", p[i + 1 :])
        if not m:
            raise RegexError("invalid character class range", p[i : i + 3])
        name = m.group(1).strip("{}")
        neg = (c == "P") != name.startswith("^")
        name = name.lstrip("^")
        outside, inside = _UNICODE_CLASS.get(name, _UNICODE_CLASS.get(name[:1], ("\\w", "\\w")))
        if in_class:
            piece = inside if not neg else "\\W"
        else:
            piece = outside if not neg else f"[^{inside}]"
        return piece, i + 1 + len(m.group(0))
    if not in_class and c in "Abz":
        return ("\\Z" if c == "z" else "\\" + c), i + 2
    if not in_class and c == "B":
        return "\\B", i + 2
    if c.isascii() and not _is_word(c):
        return "\\" + c, i + 2  # escaped punctuation is itself
    if c in "89":
        raise RegexError("invalid escape sequence", p[i : i + 2])
    # InfluxDB 3 drops the backslash before a character with no escape meaning
    return re.escape(c), i + 2


_PY_TO_GO = [
    ("missing ), unterminated subpattern", "missing closing )"),
    ("unbalanced parenthesis", "unexpected )"),
    ("unterminated character set", "missing closing ]"),
    ("nothing to repeat", "missing argument to repetition operator"),
    ("multiple repeat", "invalid nested repetition operator"),
    ("bad character range", "invalid character class range"),
    ("min repeat greater than max repeat", "invalid repeat count"),
    ("group name", "invalid named capture"),
    ("redefinition of group name", "duplicate capture group name"),
    ("unknown extension", "invalid or unsupported Perl syntax"),
    ("unknown flag", "invalid or unsupported Perl syntax"),
    ("bad escape", "invalid escape sequence"),
]


def _python_error(pattern: str, err: re.error) -> RegexError:
    msg = err.msg
    code = next((go for py, go in _PY_TO_GO if py in msg), msg)
    if code in ("missing closing )", "unexpected )"):
        frag = pattern
    elif code == "missing argument to repetition operator":
        frag = next((c for c in pattern if c in "*+?{"), pattern)
    else:
        frag = pattern
    return RegexError(code, frag)


#: Escapes RE2 (and Go) give a meaning to; a backslash before any other letter is dropped.
_RE2_ESCAPES = set("afnrtvdDsSwWpPx01234567")
_RE2_ESCAPES_OUTSIDE_CLASS = set("bBAz")


def re2_source(pattern: str) -> str:
    """``pattern`` as RE2 reads it with InfluxDB 3's escapes: ``\\i`` (no escape meaning) -> ``i``.

    Only backslashes change; the pattern must already have passed :func:`translate_re2`."""
    out: list[str] = []
    i, n = 0, len(pattern)
    in_class = False
    class_start = 0
    while i < n:
        c = pattern[i]
        if c == "\\" and i + 1 < n:
            e = pattern[i + 1]
            if e == "Q":  # \Q...\E is literal text, copied as is (RE2 reads it the same way)
                end = pattern.find("\\E", i + 2)
                stop = n if end < 0 else end + 2
                out.append(pattern[i:stop])
                i = stop
                continue
            keep = (e.isascii() and not _is_word(e)) or e in _RE2_ESCAPES or (
                not in_class and e in _RE2_ESCAPES_OUTSIDE_CLASS)
            out.append(pattern[i : i + 2] if keep else e)
            i += 2
            continue
        if in_class:
            if c == "]" and i > class_start:
                in_class = False
            elif c == "[" and pattern.startswith("[:", i):
                end = pattern.find(":]", i + 2)
                if end >= 0:
                    out.append(pattern[i : end + 2])
                    i = end + 2
                    continue
        elif c == "[":
            in_class = True
            out.append(c)
            i += 1
            if i < n and pattern[i] == "^":
                out.append("^")
                i += 1
            class_start = i
            if i < n and pattern[i] == "]":  # "[]...]" and "[^]...]": this "]" is literal
                out.append("]")
                i += 1
            continue
        out.append(c)
        i += 1
    return "".join(out)


_RE2_OPTIONS = re2.Options()
_RE2_OPTIONS.log_errors = False  # a user's bad pattern is an answer, not a line on stderr


class Re2Pattern:
    """A compiled InfluxQL regex: :meth:`search` for one string, :meth:`hits` for many.

    Both run in RE2 (linear time in the text, no backtracking).  ``pattern`` is the InfluxQL
    pattern as written, ``source`` what RE2 compiled."""

    __slots__ = ("pattern", "source", "_rx")

    def __init__(self, pattern: str, source: str, rx: "re2._Regexp"):
        self.pattern = pattern
        self.source = source
        self._rx = rx

    def search(self, text: str):
        """The first match in ``text`` (truthy), or None: Go's ``MatchString``."""
        return self._rx.search(text)

    def hits(self, values: Iterable[str]) -> np.ndarray:
        """``search`` of each string, as a bool array (one Arrow kernel call: RE2 over the array)."""
        arr = pa.array(values if isinstance(values, (list, np.ndarray)) else list(values), pa.string())
        if len(arr) == 0:
            return np.zeros(0, bool)
        out = pc.match_substring_regex(arr, self.source)
        return out.fill_null(False).to_numpy(zero_copy_only=False).astype(bool, copy=False)

    def __repr__(self) -> str:
        return f"Re2Pattern({self.pattern!r})"


@functools.lru_cache(maxsize=512)
def compile_re2(pattern: str) -> Re2Pattern:
    """``pattern`` compiled by RE2 (``search`` semantics, as Go's ``MatchString``).  Raises
    :class:`RegexError` (Go's wording) for a pattern that InfluxDB refuses or RE2 cannot hold."""
    translated = translate_re2(pattern)
    try:
        # Python's parser only words syntax errors as Go does; it never matches anything.
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            re.compile(translated, re.ASCII)
    except re.error as e:
        raise _python_error(pattern, e) from None
    source = re2_source(pattern)
    try:
        rx = re2.compile(source, _RE2_OPTIONS)
    except re2.error as e:
        raise _re2_error(pattern, e) from None
    return Re2Pattern(pattern, source, rx)


def _re2_error(pattern: str, err: Exception) -> RegexError:
    text = err.args[0] if err.args else str(err)
    text = text.decode("utf-8", "replace") if isinstance(text, bytes) else str(text)
    problem, _, fragment = text.partition(": ")
    if problem in ("pattern too large - compile failed", "invalid repetition size", "bad repetition operator"):
        return RegexError("expression too large", pattern)
    return RegexError(problem or "invalid pattern", fragment or pattern)


def re2_error(pattern: str) -> Optional[str]:
    """Go's message for a pattern no InfluxDB version accepts, else None."""
    try:
        compile_re2(pattern)
    except RegexError as e:
        return str(e)
    except (OverflowError, RecursionError):  # pragma: no cover - absurd patterns
        return "error parsing regexp: expression too large: `" + pattern + "`"
    return None
