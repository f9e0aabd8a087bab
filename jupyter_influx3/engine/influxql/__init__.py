"""InfluxQL front end: lexer, parser and syntax tree, with InfluxDB 1.x's grammar and errors.

::

    from jupyter_influx3.engine.influxql import parse_query, parse_statement, ParseError, ast

    q = parse_query("SELECT mean(usage_idle) FROM cpu WHERE time > now() - 1h GROUP BY time(10m)")
    stmt = q.statements[0]                  # ast.SelectStatement
    str(stmt)                               # canonical InfluxQL, parses back to an equal tree
    stmt.group_by_interval()                # 600_000_000_000
    time_range(stmt.condition, now_ns)      # (min_ns, None)

* :func:`parse_query` — ``;``-separated statements -> :class:`ast.Query`; ``params`` binds
  ``$name`` (``{"host": "a", "limit": 10, "m": {"identifier": "cpu"}}``).
* :class:`ParseError` — ``str(err)`` is 1.x's text (``found EOF, expected identifier at line 1,
  char 17``); ``err.missing_parameter`` names an unbound ``$name``.
* :mod:`.ast` — frozen dataclasses; :mod:`.condition` — time ranges and constant folding for the
  planner; :mod:`.lexer` — tokens, durations, quoting; :mod:`.regex` — RE2 patterns.

Pure Python, no I/O; the grammar is InfluxDB 1.8's (influxql revision 65d3ef7).
"""

from . import ast
from .condition import (
    MAX_TIME,
    MIN_TIME,
    ConditionError,
    TimeRange,
    condition_expr,
    has_time_expr,
    reduce,
    split_condition,
    string_to_time,
    time_range,
)
from .lexer import format_duration, parse_duration, quote_ident, quote_string
from .parser import ParseError, Parser, parse_expr, parse_query, parse_statement
from .regex import RegexError, compile_re2

__all__ = [
    "ast",
    "parse_query",
    "parse_statement",
    "parse_expr",
    "Parser",
    "ParseError",
    "format_duration",
    "parse_duration",
    "quote_ident",
    "quote_string",
    "condition_expr",
    "time_range",
    "split_condition",
    "has_time_expr",
    "reduce",
    "string_to_time",
    "TimeRange",
    "ConditionError",
    "MIN_TIME",
    "MAX_TIME",
    "compile_re2",
    "RegexError",
]
