"""Engine exceptions: one class per kind of failure a caller must tell apart.

Owns the names and messages of engine errors; does not decide HTTP statuses or body shapes
(the http layer maps these classes to the real server's responses).
"""


class EngineError(Exception):
    """Base class of every error the engine raises on purpose."""

    @property
    def message(self) -> str:
        return str(self.args[0]) if self.args else self.__class__.__name__


class InvalidDatabaseName(EngineError):
    """A database name breaks the naming rules (message is InfluxDB 3's)."""


class InvalidBody(EngineError):
    """The request body cannot be read as line protocol at all (e.g. not UTF-8)."""

    @classmethod
    def not_utf8(cls, exc: UnicodeDecodeError) -> "InvalidBody":
        """Worded like Rust's `Utf8Error`, which the real server echoes."""
        if exc.reason == "unexpected end of data":
            detail = f"incomplete utf-8 byte sequence from index {exc.start}"
        else:
            detail = f"invalid utf-8 sequence of {exc.end - exc.start} bytes from index {exc.start}"
        return cls(f"body content is not valid utf8: {detail}")


class EmptyWrite(EngineError):
    def __init__(self, msg: str = "incoming write was empty"):
        super().__init__(msg)


class LimitExceeded(EngineError):
    """A catalog limit (databases, tables, columns) would be exceeded by the whole request."""


class WriteToDeletedDatabase(EngineError):
    pass


class NotFound(EngineError):
    """A named resource does not exist (message is InfluxDB 3's)."""


class DatabaseNotFound(NotFound):
    def __init__(self, name: str):
        super().__init__(f"database not found: {name}")
        self.name = name


class TableNotFound(NotFound):
    def __init__(self, table: str, db: str):
        super().__init__(f"Table {table} not in DB schema for {db}")
        self.table, self.db = table, db


class AlreadyExists(EngineError):
    def __init__(self, msg: str = "attempted to create a resource that already exists"):
        super().__init__(msg)


class AlreadyDeleted(EngineError):
    pass


class InvalidConfiguration(EngineError):
    pass


class InvalidDuration(EngineError):
    """A retention period that is not a humantime duration."""


class InvalidTimestamp(EngineError):
    """A `hard_delete_at` that is neither a keyword nor an RFC 3339 time."""


class CannotModifyInternalDatabase(EngineError):
    pass


class WalError(EngineError):
    """The write-ahead log could not make a write durable; the write was not acknowledged."""


class WalCorrupt(EngineError):
    """A WAL file is damaged somewhere other than its torn tail."""


class NodeInUse(EngineError):
    """Another live process already runs with this node id on this data directory."""


class QueryError(EngineError):
    pass
