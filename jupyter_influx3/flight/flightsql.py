"""The Flight SQL messages this server understands, decoded from and encoded to protobuf.

A Flight SQL client sends a command as a `google.protobuf.Any` (in a FlightDescriptor's ``cmd``,
a ticket, or an action body). :func:`decode_command` turns it into one of the dataclasses below;
the `encode_*` functions build the answers. Field numbers follow Arrow's ``FlightSql.proto``.

Owns: the message shapes and their type URLs. Must not: run queries or check tokens (that is
`server.py`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional, Union

from . import protowire as pw

PREFIX = "type.googleapis.com/arrow.flight.protocol.sql."

CREATE_PREPARED_STATEMENT = "CreatePreparedStatement"
CLOSE_PREPARED_STATEMENT = "ClosePreparedStatement"


@dataclass(frozen=True)
class StatementQuery:
    query: str
    transaction_id: bytes = b""


@dataclass(frozen=True)
class PreparedStatementQuery:
    handle: bytes


@dataclass(frozen=True)
class GetSqlInfo:
    info: tuple[int, ...] = ()


@dataclass(frozen=True)
class GetCatalogs:
    pass


@dataclass(frozen=True)
class GetDbSchemas:
    catalog: Optional[str] = None
    schema_pattern: Optional[str] = None


@dataclass(frozen=True)
class GetTables:
    catalog: Optional[str] = None
    schema_pattern: Optional[str] = None
    table_pattern: Optional[str] = None
    table_types: tuple[str, ...] = ()
    include_schema: bool = False


@dataclass(frozen=True)
class GetTableTypes:
    pass


Command = Union[StatementQuery, PreparedStatementQuery, GetSqlInfo, GetCatalogs, GetDbSchemas, GetTables,
                GetTableTypes]

#: Flight SQL commands this server does not serve (they are answered UNIMPLEMENTED by name).
UNSUPPORTED = ("CommandGetPrimaryKeys", "CommandGetExportedKeys", "CommandGetImportedKeys",
               "CommandGetCrossReference", "CommandGetXdbcTypeInfo", "CommandStatementUpdate",
               "CommandPreparedStatementUpdate", "CommandStatementSubstraitPlan", "CommandStatementIngest",
               "TicketStatementQuery")


class UnknownCommand(ValueError):
    """An Any whose type this server does not serve."""

    def __init__(self, type_url: str):
        self.name = type_url[len(PREFIX):] if type_url.startswith(PREFIX) else type_url
        super().__init__(f"{self.name} is not supported" if type_url.startswith(PREFIX)
                         else f"unknown command type {type_url!r}")


def _statement(f: dict) -> StatementQuery:
    return StatementQuery(pw.get_str(f, 1), pw.get_bytes(f, 2))


_DECODERS = {
    "CommandStatementQuery": _statement,
    "CommandPreparedStatementQuery": lambda f: PreparedStatementQuery(pw.get_bytes(f, 1)),
    "CommandGetSqlInfo": lambda f: GetSqlInfo(tuple(pw.get_uint32s(f, 1))),
    "CommandGetCatalogs": lambda f: GetCatalogs(),
    "CommandGetDbSchemas": lambda f: GetDbSchemas(pw.get_opt_str(f, 1), pw.get_opt_str(f, 2)),
    "CommandGetTables": lambda f: GetTables(pw.get_opt_str(f, 1), pw.get_opt_str(f, 2), pw.get_opt_str(f, 3),
                                            tuple(pw.get_strs(f, 4)), pw.get_bool(f, 5)),
    "CommandGetTableTypes": lambda f: GetTableTypes(),
}


def decode_command(buf: bytes) -> Command:
    """A Flight SQL command from its Any encoding. Raises ProtoError or UnknownCommand."""
    type_url, value = pw.unpack_any(buf)
    decoder = _DECODERS.get(type_url[len(PREFIX):]) if type_url.startswith(PREFIX) else None
    if decoder is None:
        raise UnknownCommand(type_url)
    return decoder(pw.decode(value))


def encode_command(cmd: Command) -> bytes:
    """The Any encoding of a command (tests and tickets)."""
    if isinstance(cmd, StatementQuery):
        name, body = "CommandStatementQuery", pw.field_str(1, cmd.query) + (
            pw.field_bytes(2, cmd.transaction_id) if cmd.transaction_id else b"")
    elif isinstance(cmd, PreparedStatementQuery):
        name, body = "CommandPreparedStatementQuery", pw.field_bytes(1, cmd.handle)
    elif isinstance(cmd, GetSqlInfo):
        name, body = "CommandGetSqlInfo", b"".join(pw.field_int(1, i) for i in cmd.info)
    elif isinstance(cmd, GetCatalogs):
        name, body = "CommandGetCatalogs", b""
    elif isinstance(cmd, GetDbSchemas):
        name, body = "CommandGetDbSchemas", _opt(1, cmd.catalog) + _opt(2, cmd.schema_pattern)
    elif isinstance(cmd, GetTables):
        name = "CommandGetTables"
        body = (_opt(1, cmd.catalog) + _opt(2, cmd.schema_pattern) + _opt(3, cmd.table_pattern)
                + b"".join(pw.field_str(4, t) for t in cmd.table_types)
                + (pw.field_int(5, 1) if cmd.include_schema else b""))
    elif isinstance(cmd, GetTableTypes):
        name, body = "CommandGetTableTypes", b""
    else:  # pragma: no cover - the union is closed
        raise TypeError(type(cmd))
    return pw.pack_any(PREFIX + name, body)


def _opt(number: int, value: Optional[str]) -> bytes:
    return b"" if value is None else pw.field_str(number, value)


# ---- prepared statements -----------------------------------------------------------------------


@dataclass(frozen=True)
class CreatePreparedStatement:
    query: str


def decode_create_prepared(body: bytes) -> CreatePreparedStatement:
    """``ActionCreatePreparedStatementRequest`` (sent as an Any, or bare by some clients)."""
    return CreatePreparedStatement(pw.get_str(pw.decode(_unwrap(body, "ActionCreatePreparedStatementRequest")), 1))


def decode_close_prepared(body: bytes) -> bytes:
    """The handle in an ``ActionClosePreparedStatementRequest``."""
    return pw.get_bytes(pw.decode(_unwrap(body, "ActionClosePreparedStatementRequest")), 1)


def _unwrap(body: bytes, name: str) -> bytes:
    """The message in `body`: inside an Any of that type, or `body` itself (a bare message whose
    first fields can look like an Any's)."""
    try:
        type_url, value = pw.unpack_any(body)
    except pw.ProtoError:
        return body
    return value if type_url == PREFIX + name else body


def encode_create_prepared_result(handle: bytes, dataset_schema: bytes, parameter_schema: bytes) -> bytes:
    body = pw.field_bytes(1, handle)
    if dataset_schema:
        body += pw.field_bytes(2, dataset_schema)
    if parameter_schema:
        body += pw.field_bytes(3, parameter_schema)
    return pw.pack_any(PREFIX + "ActionCreatePreparedStatementResult", body)


def encode_put_prepared_result(handle: bytes) -> bytes:
    """``DoPutPreparedStatementResult``: the handle to use after parameters were bound."""
    return pw.field_bytes(1, handle)


@dataclass(frozen=True)
class Handle:
    """A prepared statement: its text and the parameters bound to it. The handle given to the
    client *is* this, encoded (InfluxDB's ``FlightSqlPreparedStatementHandle``), so the server
    keeps no state per statement and a handle works on any node."""

    query: str
    params: dict = field(default_factory=dict)

    def encode(self) -> bytes:
        from .tickets import encode_params

        return pw.field_str(1, self.query) + encode_params(2, self.params)

    @classmethod
    def decode(cls, buf: bytes) -> "Handle":
        from .tickets import decode_params

        f = pw.decode(buf)
        return cls(pw.get_str(f, 1), decode_params(f.get(2, [])))
