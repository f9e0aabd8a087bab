"""Short, user-facing lines for query errors whose API wording is InfluxDB 3's.

The HTTP bodies keep InfluxDB 3's exact text (clients match on it: `Error during planning: table
'public.iox.cpu' not found`); people at a notebook or a terminal get one line that names what they
typed (`table "cpu" not found in database "demo"`), and for a syntax error the position and a
caret under it. :func:`error_line` works on the error's text, which an engine exception and the
HTTP body of the same error share, so an error reads the same in a kernel, in the `influx3` CLI
and through the Python client over HTTP (:func:`body_message` takes the text out of a body).

Owns the rewording only; must not change what the engine raises or what the API answers.
"""

from __future__ import annotations

import json
import re
from typing import Optional

_API_PREFIX = "query error: "
_PLANNING = "Error during planning: "
_DB_NOT_FOUND = re.compile(r"^database not found: (.+)$", re.S)
_TABLE_NOT_FOUND = re.compile(r"^table 'public\.(\w+)\.(.+)' not found$", re.S)
_SQL_SYNTAX = re.compile(r'^SQL error: ParserError\("(.*)"\)$', re.S)
_SQL_POSITION = re.compile(r"\s*at Line: (\d+), Column: (\d+)\s*$")
_INFLUXQL_SYNTAX = re.compile(r"^(?:error in InfluxQL statement: parsing error|error parsing query): (.*?)"
                              r"(?: at line (\d+), char (\d+))?$", re.S)
_NO_FIELD = re.compile(r"^Schema error: No field named (.+?)\.?$", re.S)
_EXECUTION = "error while executing plan: "
# sqlglot's descriptions name its own classes ("Required keyword: 'this' missing for <class ...>"):
# they say nothing to a user, the position does.
_PARSER_INTERNALS = re.compile(r"<class '|Required keyword")


def body_message(body: bytes | str) -> str:
    """The error text of an API error body: `{"error": ...}`, the v2 `{"message": ...}`, or plain text."""
    text = body.decode("utf-8", "replace") if isinstance(body, (bytes, bytearray)) else str(body)
    text = text.strip()
    try:
        doc = json.loads(text)
    except ValueError:
        return text
    if isinstance(doc, dict):
        for key in ("error", "message"):
            if isinstance(doc.get(key), str) and doc[key]:
                return doc[key]
    return text


def error_line(message: str, *, database: Optional[str] = None, query: Optional[str] = None) -> str:
    """The user-facing line for a query error's API text (`query` adds the caret of a syntax error)."""
    text = message.strip()
    if text.startswith(_API_PREFIX):
        text = text[len(_API_PREFIX):]
    m = _DB_NOT_FOUND.match(text)
    if m:
        return f'database "{m.group(1)}" not found'
    m = _SQL_SYNTAX.match(text)
    if m:
        return _sql_syntax(m.group(1), query)
    m = _INFLUXQL_SYNTAX.match(text)
    if m:
        line, col = (int(m.group(2)), int(m.group(3))) if m.group(2) else (None, None)
        return _syntax_line(m.group(1), line, col, query)
    m = _NO_FIELD.match(text)
    if m:
        return f'column "{m.group(1)}" not found'
    if text.startswith(_PLANNING):
        text = text[len(_PLANNING):]
        m = _TABLE_NOT_FOUND.match(text)
        if m:
            schema, name = m.groups()
            shown = name if schema == "iox" else f"{schema}.{name}"
            where = f' in database "{database}"' if database and schema == "iox" else ""
            return f'table "{shown}" not found{where}'
    elif text.startswith(_EXECUTION):
        text = "query failed: " + text[len(_EXECUTION):]
    # The first line: DuckDB appends lists of candidate functions and the like.
    return text.splitlines()[0] if text else "query failed"


def _sql_syntax(detail: str, query: Optional[str]) -> str:
    m = _SQL_POSITION.search(detail)
    line = col = None
    if m:
        line, col = int(m.group(1)), int(m.group(2))
        detail = detail[:m.start()]
    if _PARSER_INTERNALS.search(detail):
        detail = ""
    detail = re.sub(r"^syntax error\s*", "", detail)
    return _syntax_line(detail, line, col, query)


def _syntax_line(detail: str, line: Optional[int], col: Optional[int], query: Optional[str]) -> str:
    out = "syntax error"
    if line is not None:
        out += f" at line {line}, column {col}"
    if detail:
        out += f": {detail}"
    lines = query.split("\n") if query else []
    if line is not None and col is not None and 1 <= line <= len(lines):
        text = lines[line - 1].rstrip("\r").expandtabs(1)
        out += f"\n  {text}\n  {' ' * max(0, min(col, len(text) + 1) - 1)}^"
    return out
