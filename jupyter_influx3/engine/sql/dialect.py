"""The SQL dialect users write (InfluxDB 3 / DataFusion: Postgres-like) as a sqlglot dialect.

Postgres parsing gives the right operators (`~`, `~*`, `!~`, `!~*`, `::`, `||`) and `$name`
placeholders; the few functions whose Postgres meaning differs from DataFusion's are kept as plain
calls so `translate.py` can give them InfluxDB semantics (`to_timestamp` of an integer counts
nanoseconds, `to_char` takes chrono formats, `date_bin` aligns to the epoch).
"""

from __future__ import annotations

import logging

from sqlglot.dialects.postgres import Postgres

# sqlglot logs a warning for every statement it falls back to a raw Command for.
logging.getLogger("sqlglot").setLevel(logging.ERROR)

_KEEP_AS_CALLS = ("DATE_BIN", "TO_TIMESTAMP", "TO_CHAR")


class InfluxSQL(Postgres):
    class Parser(Postgres.Parser):
        FUNCTIONS = {k: v for k, v in Postgres.Parser.FUNCTIONS.items() if k not in _KEEP_AS_CALLS}
