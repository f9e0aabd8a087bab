"""DoGet tickets: what the official clients send, and what this server hands out.

Three encodings, as InfluxDB 3 reads them:

* JSON (``influxdb3-python``, the Go and JavaScript clients)::

      {"database": "db", "sql_query": "SELECT 1", "query_type": "sql" | "influxql",
       "params": {"name": value}}

  ``namespace_name``, ``bucket`` and ``bucket-name`` are accepted for ``database``; a missing
  ``query_type`` means SQL.
* IOx ``influxdata.iox.querier.v1.ReadInfo`` protobuf, bare or wrapped in a `google.protobuf.Any`:
  ``database`` (1), ``sql_query`` (2), ``query_type`` (3: 0/1 SQL, 2 InfluxQL, 3 Flight SQL),
  ``flightsql_command`` (4, an Any-encoded Flight SQL command), ``params`` (6, QueryParam).
* The tickets this server puts in a FlightInfo for a Flight SQL command: a ReadInfo of type 3.

Every decoding failure is :class:`InvalidTicket` (``Invalid ticket: ...``).

Owns: ticket parsing and encoding, QueryParam values. Must not: authorize or run anything.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from typing import Any, Optional

from . import flightsql
from . import protowire as pw

READ_INFO_TYPE_URL = "type.googleapis.com/influxdata.iox.querier.v1.ReadInfo"
QUERY_TYPES = {0: "sql", 1: "sql", 2: "influxql", 3: "flightsql"}
JSON_DATABASE_KEYS = ("database", "namespace_name", "bucket", "bucket-name")


class InvalidTicket(ValueError):
    def __init__(self, detail: str):
        super().__init__(f"Invalid ticket: {detail}")


@dataclass
class TicketRequest:
    database: str
    kind: str  # sql | influxql | flightsql
    query: str = ""
    command: Optional[flightsql.Command] = None
    params: dict = field(default_factory=dict)


def decode_ticket(raw: bytes) -> TicketRequest:
    if raw.lstrip()[:1] == b"{":
        return _decode_json(raw)
    try:
        type_url, value = pw.unpack_any(raw)
    except pw.ProtoError:
        type_url = None
    if type_url != READ_INFO_TYPE_URL:
        value = raw  # a bare ReadInfo (whose database and query can look like an Any's fields)
    try:
        return _decode_read_info(value)
    except pw.ProtoError as e:
        raise InvalidTicket(f"Protobuf decoding error: {e}") from None


def _decode_read_info(buf: bytes) -> TicketRequest:
    f = pw.decode(buf)
    database, query = pw.get_str(f, 1), pw.get_str(f, 2)
    code = pw.get_int(f, 3)
    command_bytes = pw.get_bytes(f, 4)
    kind = QUERY_TYPES.get(code)
    if kind is None:
        raise InvalidTicket(f"unknown query_type {code}")
    params = decode_params(f.get(6, []))
    if kind != "flightsql":
        if command_bytes:
            raise InvalidTicket(f"query type {kind} with a non-empty flightsql_command")
        return TicketRequest(database, kind, query, params=params)
    if query:
        raise InvalidTicket("a Flight SQL ticket with a non-empty sql_query")
    try:
        command = flightsql.decode_command(command_bytes)
    except (pw.ProtoError, flightsql.UnknownCommand) as e:
        raise InvalidTicket(f"Invalid Flight SQL ticket: {e}") from None
    return TicketRequest(database, kind, command=command, params=params)


def _decode_json(raw: bytes) -> TicketRequest:
    try:
        doc = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as e:
        raise InvalidTicket(f"JSON parse error: {e}") from None
    if not isinstance(doc, dict):
        raise InvalidTicket("JSON parse error: expected an object")
    database = next((doc[k] for k in JSON_DATABASE_KEYS if k in doc), None)
    if not isinstance(database, str):
        raise InvalidTicket("JSON parse error: missing field `database`")
    query = doc.get("sql_query")
    if not isinstance(query, str):
        raise InvalidTicket("JSON parse error: missing field `sql_query`")
    query_type = doc.get("query_type")
    if query_type is None:
        query_type = "sql"
    if query_type not in ("sql", "influxql"):
        raise InvalidTicket(f"Unknown query type. Expected 'sql' or 'influxql', got {query_type}")
    params = doc.get("params")
    if params is None:
        params = {}
    if not isinstance(params, dict) or not all(_is_scalar(v) for v in params.values()):
        raise InvalidTicket("Invalid params: expected an object of names to strings, numbers, booleans or null")
    return TicketRequest(database, query_type, query, params=params)


def _is_scalar(v: Any) -> bool:
    return v is None or isinstance(v, (str, bool, int, float))


def encode_flightsql_ticket(database: str, command_any: bytes) -> bytes:
    """The ticket for a Flight SQL command: an Any-wrapped ReadInfo of query type 3."""
    body = pw.field_str(1, database) + pw.field_int(3, 3) + pw.field_bytes(4, command_any)
    return pw.pack_any(READ_INFO_TYPE_URL, body)


def encode_read_info(database: str, query: str, kind: str = "sql", params: Optional[dict] = None) -> bytes:
    """An Any-wrapped ReadInfo for SQL or InfluxQL (what IOx's own client sends)."""
    code = 2 if kind == "influxql" else 1
    body = pw.field_str(1, database) + pw.field_str(2, query) + pw.field_int(3, code)
    return pw.pack_any(READ_INFO_TYPE_URL, body + encode_params(6, params or {}))


# ---- QueryParam: name (1), oneof null (2) / bool (3) / uint64 (4) / int64 (5) / double (6) / string (7)


def encode_params(number: int, params: dict) -> bytes:
    out = []
    for name, value in params.items():
        body = pw.field_str(1, name)
        if value is None:
            body += pw.field_int(2, 0)
        elif isinstance(value, bool):
            body += pw.field_int(3, int(value))
        elif isinstance(value, int):
            body += pw.field_int(4, value) if value >= 1 << 63 else pw.field_int(5, value)
        elif isinstance(value, float):
            body += pw.field_double(6, value)
        else:
            body += pw.field_str(7, str(value))
        out.append(pw.field_bytes(number, body))
    return b"".join(out)


def decode_params(values: list) -> dict:
    params: dict = {}
    for raw in values:
        if not isinstance(raw, bytes):
            raise pw.ProtoError("params: expected messages")
        f = pw.decode(raw)
        name = pw.get_str(f, 1)
        if 3 in f:
            value: Any = pw.get_bool(f, 3)
        elif 4 in f:
            value = pw.get_int(f, 4)
        elif 5 in f:
            value = pw.as_int64(pw.get_int(f, 5))
        elif 6 in f:
            value = pw.as_double(pw.get_int(f, 6))
            if math.isnan(value) or math.isinf(value):
                raise pw.ProtoError(f"param {name}: not a finite number")
        elif 7 in f:
            value = pw.get_str(f, 7)
        else:
            value = None
        params[name] = value
    return params
