"""Parse trees of query texts that differ from a text parsed before only in their literals.

A dashboard sends one query shape again and again, with a new time range (and often a new host)
each time; TSBS's runner does the same. Parsing such a text costs as much as a text never seen,
and is a third of its whole run. This module owns the *shapes*: a text with its single-quoted
strings, integers, floats and one-unit durations taken out (``split``). For a shape seen before
it keeps a template (``_Shape``): the tree of its first text, and for every literal taken out,
where in the tree its value goes. A text of a known shape gets that tree with its own values put
in, in a quarter of a parse. The template is made once the first text's answer is out
(``afterwards.later``: after the write on a server's lean path, at once elsewhere).

What makes that correct: a template is only made from the parser's own answers. The text is
parsed once more with every literal replaced by a *probe* value of the same kind, and the two
trees are compared. Every difference must be a literal node (StringLiteral, IntegerLiteral,
NumberLiteral, DurationLiteral) holding exactly the literal's value, or its negation (``-5``),
in both trees; such a literal is put in. Only SELECT and EXPLAIN get templates: their parse checks
no literal's value (a continuous query's checks its GROUP BY time(), which a probe may pass
where another value fails). A literal whose value lands anywhere else (``LIMIT 5``,
``fill(0)``, ``tz('...')``) or nowhere (inside a comment or a regex) is *fixed*: a text of the
shape uses the template only when it has the same text there. Any other difference makes the
shape one that is always parsed. Values that the lexer or parser read differently are never
put in: an integer past int64 (an unsigned literal), a float that overflows, a duration that
does not parse; a text with one is parsed. ``split`` gives up (the text is parsed) on anything
it cannot take apart the way the lexer does: backslashes, ``$`` parameters, NULs, carriage
returns (the lexer reads them as newlines), non-ASCII outside strings, quoted identifiers with
escapes, a number run into letters or dots. Texts over ``MAX_TEXT`` keep no shape.

Trees are immutable: a text's tree shares the template's nodes where its literals did not
change, and gets new nodes from each changed literal up to the root (so a statement with a new
literal is its own: what is kept with a statement, see ``ast.memo``, stays its own). A statement
whose new literals all lie in its WHERE is marked (``ast.LIKE``) with the template's statement: the
executor plans it from a plan of the shape (planner.replanned).

It must not: know the executor, the limits (callers check the text first), or bound parameters
(a text with parameters is parsed).
"""

from __future__ import annotations

import math
import re
import threading
from typing import Optional

from .. import afterwards
from ..recent import Recent
from . import ast
from .lexer import DurationError, parse_duration, wrap64
from .parser import ParseError, parse_query

__all__ = ["parse", "split", "SHAPES_KEPT", "MAX_TEXT"]

#: shapes kept (least recently used first out)
SHAPES_KEPT = 512
#: longer texts are parsed as they are: a shape keeps its text and tree, and the probe parse
#: doubles the work of a text never seen again (a dashboard's texts are far shorter)
MAX_TEXT = 16_384

_INT64_MAX = (1 << 63) - 1

# One pass over the text finds what `split` takes out. A double-quoted identifier is matched to
# be stepped over (a quote inside it is no string); a number must not touch a letter, digit, `_`
# or `.` on either side (then it is part of an identifier, a compound duration or something the
# lexer reads its own way); anything else that could start a literal gives up. (The lookahead
# first: a character that starts no alternative fails at once, which halves the pass.)
_LITERALS = re.compile(
    r"(?=[\"'0-9\\$\r\0]|[^\x00-\x7f])(?:"
    r'"[^"\\\n\r\0]*"'
    r"|'(?P<s>[^'\\\n\r\0]*)'"
    r"|(?<![A-Za-z0-9_.])(?:(?P<f>[0-9]+\.[0-9]+)|(?P<d>[0-9]+(?:ns|ms|u|µ|s|m|h|d|w))|(?P<i>[0-9]+))"
    r"(?![A-Za-z0-9_.µ])"
    r"|(?P<bad>['\"\\$\r\0]|(?<![A-Za-z0-9_])[0-9]|[^\x00-\x7f]))")
_MARK = re.compile("\0(.)")


class _GiveUp(Exception):
    """The text is parsed as it is."""


def split(text: str) -> Optional[tuple[str, list[tuple[str, str]]]]:
    """``(shape, literals)``: the text with each literal replaced by NUL and its kind (``s``
    string, ``i`` integer, ``f`` float, ``d`` duration), and the literals as ``(kind, text)``
    in order (a string's text without its quotes). None: not taken apart."""
    literals: list[tuple[str, str]] = []
    add = literals.append

    def take(m: re.Match) -> str:
        kind = m.lastgroup
        if kind is None:
            return m.group()   # a double-quoted identifier
        if kind == "bad":
            raise _GiveUp
        add((kind, m.group(kind)))
        return "\0" + kind

    try:
        return _LITERALS.sub(take, text), literals
    except _GiveUp:
        return None


def _value(kind: str, text: str):
    """The literal's value as the parser reads it; _GiveUp where it reads it another way."""
    if kind == "s":
        return text
    if kind == "i":
        v = int(text)
        if v > _INT64_MAX:
            raise _GiveUp   # an unsigned literal
        return v
    if kind == "f":
        v = float(text)
        if math.isinf(v):
            raise _GiveUp   # "unable to parse number"
        return v
    try:
        return parse_duration(text)
    except DurationError:
        raise _GiveUp from None


#: the node each kind of literal becomes, and the node of its negation (``-5``)
_NODES = {
    "s": (ast.StringLiteral, None),
    "i": (ast.IntegerLiteral, lambda v: ast.IntegerLiteral(-v)),
    "f": (ast.NumberLiteral, lambda v: ast.NumberLiteral(-v)),
    "d": (ast.DurationLiteral, lambda v: ast.DurationLiteral(wrap64(-v))),
}
_LITERAL_CLASSES = {cls: kind for kind, (cls, _) in _NODES.items()}


# -- templates ----------------------------------------------------------------------------------


class _Unlike(Exception):
    """The probe's tree differs from the text's other than in literals' values."""


class _Shape:
    """A shape's template: ``tree``, made from literals ``texts``; ``fixed``: the literals a text
    must have as written to use it; ``paths``: the places literals go, as a trie of field names
    and tuple indices whose leaves are (literal index, node maker)."""

    __slots__ = ("tree", "texts", "fixed", "paths")

    def __init__(self, tree: ast.Query, texts: tuple, fixed: tuple, paths: dict):
        self.tree, self.texts, self.fixed, self.paths = tree, texts, fixed, paths

    def apply(self, literals: list[tuple[str, str]]) -> Optional[ast.Query]:
        texts = self.texts
        for i in self.fixed:
            if literals[i][1] != texts[i]:
                return None
        try:
            tree = _rebuild(self.tree, self.paths, literals, texts)
        except (_GiveUp, RecursionError):
            return None
        for i, sub in self.paths.get("statements", {}).items():
            made, like = tree.statements[i], self.tree.statements[i]
            if made is not like and all(getattr(made, a) is getattr(like, a) for a in sub if a != "condition"):
                ast.memo(made, ast.LIKE, lambda: like)
        return tree


def _rebuild(value, trie, literals, texts):
    """``value`` (a node, or a tuple of them) with the literals of ``trie`` put in; itself where
    none of them changed (the template's literal had the same text)."""
    if type(trie) is tuple:   # a leaf
        i, make = trie
        kind, text = literals[i]
        return value if text == texts[i] else make(_value(kind, text))
    if type(value) is tuple:
        out = None
        for k, sub in trie.items():
            new = _rebuild(value[k], sub, literals, texts)
            if new is not value[k]:
                out = out or list(value)
                out[k] = new
        return value if out is None else tuple(out)
    changes = {}
    for name, sub in trie.items():
        old = getattr(value, name)
        new = _rebuild(old, sub, literals, texts)
        if new is not old:
            changes[name] = new
    return ast.replaced(value, **changes) if changes else value


def _probe_text(kind: str, text: str, i: int) -> str:
    """Another literal of the same kind, different for every index ``i``."""
    if kind == "s":
        return f"{text}~{i}"
    if kind == "f":
        return f"{text}{i + 1}7"   # (digits ending in 7 appended: no two indices read alike)
    digits = text.rstrip("nsmuµhdw")
    n = int(digits) + 1 + i
    if n > _INT64_MAX:
        n = int(digits) - 1 - i
    return str(n) + text[len(digits):]


def _diff(a, b, path: tuple, out: list) -> None:
    """Append ``(path, a's value, b's value, literal node class or None)`` for every place where
    the trees ``a`` and ``b`` differ; _Unlike where they differ in shape. (A loop, not a
    recursion: a WHERE of thousands of ORs is a tree thousands deep.)"""
    stack = [(a, b, path)]
    while stack:
        a, b, path = stack.pop()
        if a is b:
            continue
        t = type(a)
        if t is not type(b):
            raise _Unlike
        if t is tuple or t is list:
            if len(a) != len(b):
                raise _Unlike
            stack.extend((x, y, path + (k,)) for k, (x, y) in enumerate(zip(a, b)))
        elif t in _LITERAL_CLASSES:
            if a.value != b.value:
                out.append((path, a.value, b.value, t))
        elif isinstance(a, ast.Node):
            stack.extend((getattr(a, name), getattr(b, name), path + (name,)) for name in ast.field_names(t))
        elif a != b:
            out.append((path, a, b, None))


#: the deepest place a template puts a literal in (it is put in by a recursion)
MAX_DEPTH = 200


#: the statements whose parse checks no literal's value (a continuous query's parse checks its
#: GROUP BY time() against its RESAMPLE FOR, a probe value could pass where another fails): what
#: dashboards send again and again
_TEMPLATED = (ast.SelectStatement, ast.ExplainStatement)


def _template(tree: ast.Query, shape: str, literals: list[tuple[str, str]]) -> Optional[_Shape]:
    """The template of ``tree`` (the parse of the text ``shape`` and ``literals`` make), or None
    when the shape must always be parsed."""
    if not all(type(st) in _TEMPLATED for st in tree.statements):
        return None
    probes = [(k, _probe_text(k, t, i)) for i, (k, t) in enumerate(literals)]
    try:
        values = [(k, _value(k, t), _value(k, p)) for (k, t), (_, p) in zip(literals, probes)]
        texts = iter(f"'{t}'" if k == "s" else t for k, t in probes)
        probe = parse_query(_MARK.sub(lambda m: next(texts), shape))
        out: list = []
        _diff(tree, probe, (), out)
    except (_GiveUp, _Unlike, ParseError, RecursionError):
        return None
    # the literal whose (text's, probe's) values a difference holds, or their negations: looked
    # up, not searched (a text may hold thousands of literals)
    owners: dict = {}
    for i, (k, o, p) in enumerate(values):
        for neg in (False,) if k == "s" else (False, True):
            owners.setdefault((-o, -p) if neg else (o, p), []).append((i, neg))
    put, fixed = {}, set()
    for path, va, vb, cls in out:
        found = owners.get((va, vb), ())
        if len(found) != 1:
            return None
        i, neg = found[0]
        kind = values[i][0]
        if cls is None or _LITERAL_CLASSES[cls] != kind:
            fixed.add(i)   # its value went into something other than its literal node
            continue
        node, negated = _NODES[kind]
        put.setdefault(i, []).append((path, negated if neg else node))
    paths: dict = {}
    for i, places in put.items():
        if i in fixed:
            continue
        for path, make in places:
            if len(path) > MAX_DEPTH:
                return None
            trie = paths
            for step in path[:-1]:
                trie = trie.setdefault(step, {})
            trie[path[-1]] = (i, make)
    fixed |= set(range(len(literals))) - put.keys()   # in no node: a comment's, a regex's
    return _Shape(tree, tuple(t for _, t in literals), tuple(sorted(fixed)), paths)


# -- the kept shapes ----------------------------------------------------------------------------

_PENDING = object()   # a shape whose template is being made (see afterwards.later)
_PARSED = object()    # a shape always parsed

_shapes: Recent = Recent(SHAPES_KEPT)   # shape -> _Shape, _PENDING or _PARSED
_lock = threading.Lock()


def parse(text: str) -> ast.Query:
    """``parse_query(text)``, from the template of its shape where one is kept (see the module
    docstring). Raises ParseError as parse_query does."""
    got = split(text) if len(text) <= MAX_TEXT else None
    if got is None:
        return parse_query(text)
    shape, literals = got
    with _lock:
        kept = _shapes.recall(shape)
    if type(kept) is _Shape:
        tree = kept.apply(literals)
        if tree is not None:
            return tree
    tree = parse_query(text)
    if kept is None:
        # the template serves the next texts, not this one: made once this answer is out
        _keep(shape, _PENDING)
        afterwards.later(lambda: _keep(shape, _template(tree, shape, literals) or _PARSED))
    # else: its template is being made, the shape is always parsed, or the text differs where
    # its template is fixed
    return tree


def _keep(shape: str, made) -> None:
    with _lock:
        _shapes.keep(shape, made)


def clear() -> None:
    """Forget every shape (tests)."""
    with _lock:
        _shapes.clear()
