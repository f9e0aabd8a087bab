"""Who is calling: the token in a gRPC call's ``authorization`` metadata, checked the way HTTP
checks it (`engine/tokens.py`: the same parsing, lookup and permissions).

InfluxDB 3's answers: no ``authorization`` metadata, or one that is not ``Bearer|Token|Basic
<token>`` -> ``UNAUTHENTICATED: no token``; a token that is unknown or expired ->
``PERMISSION_DENIED: invalid token``; a token without the permission a call needs ->
``PERMISSION_DENIED: forbidden``. Started ``--without-auth``, every call is let through.

Owns: the middleware that authenticates each call and the per-call :class:`Caller`. Must not:
decide what a call needs (the server does) or import the HTTP layer.
"""

from __future__ import annotations

from typing import Optional

import pyarrow.flight as flight

from ..engine import tokens as tokenlib

NO_TOKEN = "no token"
INVALID_TOKEN = "invalid token"
FORBIDDEN = "forbidden"

#: gRPC metadata naming the database of a Flight SQL call (InfluxDB 3 accepts each).
DATABASE_HEADERS = ("database", "bucket-name", "bucket_name", "iox-namespace-name")


def _first(headers: dict, name: str) -> Optional[str]:
    values = headers.get(name) or []
    value = values[0] if values else None
    if isinstance(value, bytes):
        value = value.decode("utf-8", "replace")
    return value


class Caller(flight.ServerMiddleware):
    """One call's identity: its token record (None without auth) and its metadata."""

    def __init__(self, token, unrestricted: bool, headers: dict):
        self.token = token
        self.unrestricted = unrestricted
        self.database_header = next((v for v in (_first(headers, h) for h in DATABASE_HEADERS) if v), None)

    @property
    def identity(self) -> Optional[str]:
        """Whose results these are (the token's hash), to keep one caller's pending results from another."""
        return None if self.token is None else self.token.hash

    def may(self, database: str, action: str) -> bool:
        return self.unrestricted or tokenlib.allows(self.token, "db", database, action)

    @property
    def readable(self):
        """What the caller may read, for tables about other databases' activity (`system.queries`):
        None (everything) or a predicate on database names."""
        return None if self.unrestricted else (lambda database: self.may(database, "read"))

    def require(self, database: str, action: str = "read") -> None:
        if not self.may(database, action):
            raise flight.FlightUnauthorizedError(FORBIDDEN)

    def require_admin(self) -> None:
        if not self.unrestricted:
            raise flight.FlightUnauthorizedError(FORBIDDEN)


class AuthMiddlewareFactory(flight.ServerMiddlewareFactory):
    """Authenticates every call before its handler runs (``enabled`` False: --without-auth)."""

    def __init__(self, engine, enabled: bool = True, users=None):
        super().__init__()
        self.engine = engine
        self.enabled = enabled
        self.users = users  # engine.users.UserAuth with --user-auth-type basic: JWTs work here too

    def start_call(self, info, headers):
        if not self.enabled:
            return Caller(None, True, headers)
        value = _first(headers, "authorization")
        if not value:
            raise flight.FlightUnauthenticatedError(NO_TOKEN)
        try:
            token = tokenlib.token_from_authorization(value)
        except tokenlib.MalformedAuthorization:
            raise flight.FlightUnauthenticatedError(NO_TOKEN) from None
        from ..engine.users import resolve

        record = resolve(self.engine.catalog, token, self.users)
        if record is None:
            raise flight.FlightUnauthorizedError(INVALID_TOKEN)
        return Caller(record, tokenlib.is_admin(record), headers)
