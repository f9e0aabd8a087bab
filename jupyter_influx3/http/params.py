"""Request parameters read the way the real server's serde derives read them.

Two sources, each with the error wording clients see (behaviour reference §0.3, §2.1):

* query strings (serde_urlencoded): unknown keys ignored, a known key twice is
  ``duplicate field `x```, a missing one ``missing field `x```, booleans exactly ``true``/``false``
  -> answered ``400 serde error: …``;
* JSON bodies (serde_json): syntax errors, ``missing field `x```, ``invalid type: …, expected …``
  and ``duplicate field `x``` with serde's ``at line L column C`` -> ``400 serde json error: …``.

A field is described by a :class:`Field` (name, kind, required); :func:`query_struct` and
:func:`json_struct` return a dict of the fields present (absent optional fields are ``None``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Callable, Optional

from .base import ApiError
from .write import ParamError, parse_bool, query_params


@dataclass(frozen=True)
class Field:
    name: str
    kind: str = "string"  # string | bool | string_list | object | params | fields | format
    required: bool = False
    default: Any = None


#: Field types of ``POST /api/v3/configure/table`` (serde's variant order).
FIELD_TYPES = ("utf8", "int64", "uint64", "float64", "bool")


class JsonBodyError(ValueError):
    """A JSON body serde would refuse; the message is serde_json's, position included."""


# ---- query strings ---------------------------------------------------------------------------------


def query_struct(query: str, fields: list[Field], parse: Optional[dict[str, Callable[[str], Any]]] = None) -> dict:
    """The `fields` of a query string; ApiError 400 ``serde error: …`` like serde_urlencoded.

    `parse` maps a field name to a converter of its text (raising ParamError or ValueError).
    """
    parse = parse or {}
    by_name = {f.name: f for f in fields}
    try:
        found = query_params(query, tuple(by_name))
        out: dict[str, Any] = {}
        # serde visits the pairs in the order they come (a bad value fails there), then reports
        # the first missing field in declaration order.
        for name, value in found.items():
            f = by_name[name]
            if name in parse:
                value = parse[name](value)
            elif f.kind == "bool":
                value = parse_bool(value, bool(f.default))
            out[name] = value
        for f in fields:
            if f.name not in out:
                if f.required:
                    raise ParamError(f"missing field `{f.name}`")
                out[f.name] = f.default
        return out
    except ValueError as exc:  # ParamError and converters' ValueErrors
        raise ApiError(400, f"serde error: {exc}") from None


# ---- JSON bodies -----------------------------------------------------------------------------------


def _line_col(text: str, pos: int) -> tuple[int, int]:
    """serde_json's position: 1-based line, column = characters read on that line."""
    line = text.count("\n", 0, pos) + 1
    start = text.rfind("\n", 0, pos) + 1
    return line, pos - start


def _at(text: str, pos: int) -> str:
    line, col = _line_col(text, pos)
    return f" at line {line} column {col}"


def _innermost_open(text: str, pos: int) -> str:
    """'{' or '[' that is open at `pos` (strings skipped), '' at top level."""
    stack: list[str] = []
    i, in_string = 0, False
    while i < pos:
        ch = text[i]
        if in_string:
            if ch == "\\":
                i += 1
            elif ch == '"':
                in_string = False
        elif ch == '"':
            in_string = True
        elif ch in "{[":
            stack.append(ch)
        elif ch in "}]" and stack:
            stack.pop()
        i += 1
    return stack[-1] if stack else ""


def _syntax_message(text: str, exc: json.JSONDecodeError) -> str:
    """Python's JSON syntax error in serde_json's words."""
    at_end = not text[exc.pos:].strip()
    opened = _innermost_open(text, exc.pos)
    kind = "an object" if opened == "{" else "a list" if opened == "[" else "a value"
    msg = exc.msg
    if msg.startswith("Unterminated string"):
        return "EOF while parsing a string" + _at(text, len(text))
    if at_end and msg.startswith("Expecting"):
        return f"EOF while parsing {kind if msg != 'Expecting value' or opened else 'a value'}" + _at(text, len(text))
    pos = exc.pos + 1  # serde reports the column of the offending character
    if msg.startswith(("Expecting property name", "Expecting value")) and text[:exc.pos].rstrip().endswith(","):
        return "trailing comma" + _at(text, pos)
    if msg.startswith("Expecting value") and text[exc.pos:exc.pos + 1] in ("n", "t", "f"):
        # serde reads `null`/`true`/`false` letter by letter and stops at the first wrong one
        literal = {"n": "null", "t": "true", "f": "false"}[text[exc.pos]]
        k = 0
        while k < len(literal) and exc.pos + k < len(text) and text[exc.pos + k] == literal[k]:
            k += 1
        if exc.pos + k >= len(text):
            return "EOF while parsing a value" + _at(text, len(text))
        return "expected ident" + _at(text, exc.pos + k + 1)
    if msg.startswith("Expecting value"):
        text_msg = "expected value"
    elif msg.startswith("Expecting property name"):
        text_msg = "key must be a string"
    elif msg.startswith("Expecting ':'"):
        text_msg = "expected `:`"
    elif msg.startswith("Expecting ','"):
        text_msg = "expected `,` or `}`" if opened == "{" else "expected `,` or `]`"
    elif msg.startswith("Invalid control character"):
        text_msg = "control character (\\u0000-\\u001F) found while parsing a string"
    elif msg.startswith("Invalid \\escape") or msg.startswith("Invalid \\u"):
        text_msg = "invalid escape"
    elif msg.startswith("Extra data"):
        text_msg = "trailing characters"
    elif msg.startswith("Illegal trailing comma"):
        text_msg = "trailing comma"
    else:
        text_msg = msg[:1].lower() + msg[1:]
    return text_msg + _at(text, pos)


def _members(text: str) -> tuple[list[tuple[str, Any, int]], int]:
    """Members of the (valid JSON) top-level object with the position after each value, and the
    position just after the closing brace."""
    decoder = json.JSONDecoder()
    ws = " \t\n\r"
    i = 0
    while text[i] in ws:
        i += 1
    i += 1  # '{'
    members = []
    while True:
        while text[i] in ws:
            i += 1
        if text[i] == "}":
            return members, i + 1
        if text[i] == ",":
            i += 1
            continue
        key, i = json.decoder.scanstring(text, i + 1)
        while text[i] in ws:
            i += 1
        i += 1  # ':'
        while text[i] in ws:
            i += 1
        value, i = decoder.raw_decode(text, i)
        members.append((key, value, i))


def _describe(value: Any) -> str:
    """serde's `Unexpected` wording for a JSON value."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return f"boolean `{'true' if value else 'false'}`"
    if isinstance(value, int):
        return f"integer `{value}`"
    if isinstance(value, float):
        return f"floating point `{value!r}`"
    if isinstance(value, str):
        return f"string {json.dumps(value, ensure_ascii=False)}"
    if isinstance(value, list):
        return "sequence"
    return "map"


_EXPECTED = {
    "string": "a string",
    "bool": "a boolean",
    "string_list": "a sequence",
    "object": "a map",
    "params": "a map",
    "fields": "a sequence",
}


def _check_kind(f: Field, value: Any) -> Optional[str]:
    """serde's complaint about `value` for field `f`, or None when it fits."""
    if value is None:
        if not f.required or f.kind in ("object", "params"):
            return None
        return f"invalid type: null, expected {_EXPECTED.get(f.kind, 'a string')}"
    kind = f.kind
    if kind == "string" and not isinstance(value, str):
        return f"invalid type: {_describe(value)}, expected a string"
    if kind == "bool" and not isinstance(value, bool):
        return f"invalid type: {_describe(value)}, expected a boolean"
    if kind in ("object", "params") and not isinstance(value, dict):
        return f"invalid type: {_describe(value)}, expected a map"
    if kind in ("string_list", "fields") and not isinstance(value, list):
        return f"invalid type: {_describe(value)}, expected a sequence"
    if kind == "string_list":
        for item in value:
            if not isinstance(item, str):
                return f"invalid type: {_describe(item)}, expected a string"
    if kind == "fields":
        for item in value:
            if not isinstance(item, dict):
                return f"invalid type: {_describe(item)}, expected struct CreateTableField"
            for name in ("name", "type"):
                if name not in item:
                    return f"missing field `{name}`"
                if not isinstance(item[name], str):
                    return f"invalid type: {_describe(item[name])}, expected a string"
            if item["type"] not in FIELD_TYPES:
                expected = ", ".join(f"`{t}`" for t in FIELD_TYPES)
                return f"unknown variant `{item['type']}`, expected one of {expected}"
    if kind == "params":
        for item in value.values():
            if isinstance(item, list):
                return "JSON arrays are not supported as query parameters. Expected null, boolean, number, or string."
            if isinstance(item, dict):
                return "JSON objects are not supported as query parameters. Expected null, boolean, number, or string"
    return None


def parse_json(body: bytes | str) -> tuple[str, Any]:
    """(text, document) of a JSON body; JsonBodyError in serde_json's words."""
    if isinstance(body, bytes):
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise JsonBodyError(f"invalid unicode code point at line 1 column {exc.start + 1}") from None
    else:
        text = body
    try:
        return text, json.loads(text)
    except json.JSONDecodeError as exc:
        raise JsonBodyError(_syntax_message(text, exc)) from None


def statement_params(text: str) -> dict:
    """Query parameters given as JSON text (the GET ``params`` value): an object of scalars."""
    text, doc = parse_json(text)
    if not isinstance(doc, dict):
        raise JsonBodyError(f"invalid type: {_describe(doc)}, expected a map" + _at(text, len(text.rstrip())))
    problem = _check_kind(Field("params", "params"), doc)
    if problem:
        raise JsonBodyError(problem + _at(text, len(text.rstrip())))
    return doc


def json_struct(body: bytes | str, fields: list[Field], struct_name: str = "struct") -> dict:
    """The `fields` of a JSON object body; JsonBodyError (serde's message) if serde would refuse.

    Unknown members are ignored, a member given twice is an error, absent optional fields and
    ``null`` ones are None, absent required ones are ``missing field `x```.
    """
    text, doc = parse_json(body)
    if not isinstance(doc, dict):
        end = len(text.rstrip())
        raise JsonBodyError(f"invalid type: {_describe(doc)}, expected {struct_name}" + _at(text, end))
    members, end = _members(text)
    by_name = {f.name: f for f in fields}
    out: dict[str, Any] = {}
    seen: set[str] = set()
    for key, value, value_end in members:
        f = by_name.get(key)
        if f is None:
            continue
        if key in seen:
            raise JsonBodyError(f"duplicate field `{key}`" + _at(text, value_end))
        seen.add(key)
        problem = _check_kind(f, value)
        if problem:
            raise JsonBodyError(problem + _at(text, value_end))
        out[key] = value
    for f in fields:
        if f.name not in out:
            if f.required:
                raise JsonBodyError(f"missing field `{f.name}`" + _at(text, end))
            out[f.name] = f.default
        elif out[f.name] is None:
            out[f.name] = f.default
    return out


def json_content_type(value: Optional[str]) -> bool:
    """`application/json` or any `application/*+json` (parameters allowed), as the server checks."""
    if not value:
        return False
    mime = value.split(";", 1)[0].strip().lower()
    kind, _, sub = mime.partition("/")
    if kind != "application" or not sub or " " in mime:
        return False
    return sub == "json" or sub.endswith("+json")


def read_json_struct(handler: Any, fields: list[Field], struct_name: str = "struct") -> dict:
    """A JSON-body endpoint's request: 415 without a JSON content type, then the body's fields
    (400 ``serde json error: …``)."""
    if not json_content_type(handler.request.headers.get("Content-Type")):
        raise ApiError(415, "unacceptable content-type, expected: application/json")
    body = handler.read_body()
    try:
        return json_struct(body, fields, struct_name)
    except JsonBodyError as exc:
        raise ApiError(400, f"serde json error: {exc}") from None
