"""The SQL query layer: InfluxDB 3 SQL over DuckDB, for `Engine.query_sql`.

`translate.py` turns the user's SQL into DuckDB SQL (the only place the dialect is translated),
`sources.py` decides what of each table a query reads (pruned Parquet files, buffered batches,
deduplication, retention), `system.py` builds `system.*` / `information_schema.*`, `gapfill.py`
rewrites `date_bin_gapfill` queries and `runner.py` ties it together and streams the result.
"""

from .errors import (MissingParameter, SqlError, SqlExecutionError, SqlPlanningError, SqlSchemaError,
                     SqlSyntaxError, StatementRejected, TableNotFoundError)
from .runner import QueryLogEntry, QueryResult, SqlService, service_for
from .system import register_system_table, register_table_function, unregister

__all__ = ["QueryResult", "QueryLogEntry", "SqlService", "service_for", "register_system_table",
           "register_table_function", "unregister", "SqlError", "SqlSyntaxError", "SqlPlanningError", "SqlSchemaError",
           "SqlExecutionError", "StatementRejected", "MissingParameter", "TableNotFoundError"]
