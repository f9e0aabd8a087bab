"""What an InfluxQL statement needs of a token: read on every database it names, write on the
database a ``SELECT ... INTO`` fills, or an admin token for statements about databases
themselves. Shared by every adapter that authorizes InfluxQL (HTTP ``/query`` and
``/api/v3/query_influxql``, Flight); each checks the pairs with `engine.tokens.allows`.

Owns: the statement -> needs mapping. Must not: look at tokens or answer requests.
"""

from __future__ import annotations

from typing import Optional

from . import ast
from .executor import statement_databases
from .into import target_write_database

#: Statements only an admin token may run (they create, drop or list databases).
ADMIN_ONLY = (ast.CreateDatabaseStatement, ast.DropDatabaseStatement, ast.DropMeasurementStatement,
              ast.ShowDatabasesStatement)


def statement_needs(stmt: ast.Statement, default_db: Optional[str],
                    default_rp: Optional[str] = None) -> Optional[list[tuple[str, str]]]:
    """``[(database, "read" | "write"), ...]`` the statement needs, or None when only an admin
    token may run it. An empty list also means admin only (the statement names no database).

    ``SELECT ... INTO`` (also under EXPLAIN, as 1.x asks) needs write on its target: the INTO's
    database, else `default_db`, with its retention policy (else `default_rp`) mapped the way
    ``/write`` maps it (``db/rp``)."""
    if isinstance(stmt, ADMIN_ONLY):
        return None
    needs = [(name, "read") for name in statement_databases(stmt, default_db)]
    if not needs:
        return None
    select = stmt.statement if isinstance(stmt, ast.ExplainStatement) else stmt
    if isinstance(select, ast.SelectStatement) and select.target is not None:
        target = target_write_database(select, default_db, default_rp)
        if target is not None:  # none: the statement fails with "database name required"
            needs.append((target, "write"))
    return needs
