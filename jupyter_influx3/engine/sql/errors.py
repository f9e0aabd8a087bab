"""Errors of the SQL layer: `errors.QueryError` subclasses carrying the HTTP status InfluxDB 3 uses.

Messages follow the real server's text where clients look at it: planning errors start with
`Error during planning: `, syntax errors with `SQL error: ParserError(`, execution errors with
`error while executing plan: ` (the HTTP layer prefixes `query error: ` where the server does).
"""

from __future__ import annotations

from ..errors import QueryError


class SqlError(QueryError):
    status = 400


class SqlSyntaxError(SqlError):
    """The text is not SQL we can parse (400)."""

    def __init__(self, detail: str):
        detail = detail.replace('"', "'")
        super().__init__(f'SQL error: ParserError("{detail}")')


class SqlPlanningError(SqlError):
    """Parsed, but cannot be planned: unknown table, bad function arguments… (400)."""

    def __init__(self, detail: str):
        super().__init__(f"Error during planning: {detail}")


class TableNotFoundError(SqlPlanningError):
    def __init__(self, name: str, schema: str = "iox"):
        super().__init__(f"table 'public.{schema}.{name}' not found")
        self.table = name


class StatementRejected(SqlError):
    """DDL, DML, SET and anything else that is not a read-only query (400)."""


class MissingParameter(SqlError):
    def __init__(self, name: str):
        super().__init__(f"Error during planning: No value found for placeholder with name ${name}")
        self.name = name


class SqlSchemaError(SqlError):
    """Unknown column and the like; InfluxDB 3 answers these with 500."""
    status = 500

    def __init__(self, detail: str):
        super().__init__(f"Schema error: {detail}")


class SqlExecutionError(SqlError):
    """The plan failed while running (500)."""
    status = 500

    def __init__(self, detail: str):
        super().__init__(f"error while executing plan: {detail}")
