"""The three write endpoints: ``/api/v3/write_lp``, ``/api/v2/write`` and ``/write`` (v1).

Behaviour reference §1.1 (parameters), §1.2 (body), §1.6 (responses). Each endpoint turns its query
string into a :class:`WriteRequest`, the shared :meth:`WriteHandler.post` reads the body and calls
the engine, and each endpoint says how its errors look.

Query strings are read the way the real server's serde_urlencoded does: unknown parameters are
ignored, a known one given twice is an error, booleans are exactly ``true``/``false``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

from ..engine import errors
from . import metrics, querystring, serialize
from .base import ApiError, ApiHandler

#: Error messages that turn a write's 400 into a 422 (a catalog limit was hit).
LIMIT_MESSAGE_PREFIXES = (
    "Update to schema would exceed number of",
    "Adding a new database would exceed limit of",
)

# Accepted spellings -> the engine's unit names. Variant names come first (serde lists only them).
_COMPAT_PRECISIONS = {
    "second": "s", "millisecond": "ms", "microsecond": "us", "nanosecond": "ns",
    "s": "s", "ms": "ms", "us": "us", "u": "us", "ns": "ns", "n": "ns",
}
V3_PRECISIONS = {"auto": "auto", **_COMPAT_PRECISIONS}
V2_PRECISIONS = dict(_COMPAT_PRECISIONS)
# The spec lists v1 minutes, hours and the micro sign too; accepting them harms no client.
V1_PRECISIONS = {**_COMPAT_PRECISIONS, "m": "m", "h": "h", "\u00b5": "us", "\u03bc": "us"}
_VARIANTS = ("auto", "second", "millisecond", "microsecond", "nanosecond")

#: v1/v2 database names first pass IOx's namespace rules (then the engine's own name rules).
NAMESPACE_MAX_CHARS = 64


class ParamError(ValueError):
    """A query string the endpoint cannot deserialize (message in serde's words)."""


@dataclass
class WriteRequest:
    db: str
    precision: str  # engine unit name
    accept_partial: bool
    no_sync: bool = False


def query_params(query: str, known: tuple[str, ...]) -> dict[str, str]:
    """The `known` parameters of a query string; a known one given twice is an error."""
    found: dict[str, str] = {}
    for key, value in querystring.pairs(query):   # (not kept: v1's p= credential comes here)
        if key not in known:
            continue
        if key in found:
            raise ParamError(f"duplicate field `{key}`")
        found[key] = value
    return found


def parse_bool(value: Optional[str], default: bool) -> bool:
    if value is None:
        return default
    if value == "true":
        return True
    if value == "false":
        return False
    raise ParamError("provided string was not `true` or `false`")


def parse_precision(value: Optional[str], accepted: dict[str, str], default: str) -> str:
    if value is None:
        return default
    unit = accepted.get(value)
    if unit is None:
        variants = ", ".join(f"`{v}`" for v in _VARIANTS if v in accepted)
        raise ParamError(f"unknown variant `{value}`, expected one of {variants}")
    return unit


def check_namespace_name(name: str) -> None:
    """IOx `NamespaceName` rules the v1 and v2 endpoints apply before anything else."""
    if not 1 <= len(name) <= NAMESPACE_MAX_CHARS:
        raise ApiError(400, f"namespace name {name} length must be between 1 and {NAMESPACE_MAX_CHARS} characters", "json")
    for i, ch in enumerate(name):
        if not (ch.isalnum() or ch in "/_-"):
            raise ApiError(
                400,
                f"namespace name '{name}' contains invalid character, character number {i} is not whitelisted",
                "json",
            )


def has_limit_error(line_errors) -> bool:
    return any(e.error_message.startswith(LIMIT_MESSAGE_PREFIXES) for e in line_errors)


class WriteHandler(ApiHandler):
    """What the three write endpoints share: body, engine call, success and line-error answers."""

    def parse_request(self) -> WriteRequest:  # pragma: no cover - every endpoint overrides it
        raise NotImplementedError

    @property
    def has_query(self) -> bool:
        # "/write" and "/write?" differ: the second has an (empty) query string.
        return "?" in self.request.uri

    async def post(self) -> None:
        req = self.parse_request()
        body = self.read_body()  # the engine checks UTF-8 while parsing, off the IOLoop
        try:
            result = await self.run_blocking(
                self.context.engine.write_lp,
                req.db,
                body,
                precision=req.precision,
                accept_partial=req.accept_partial,
                no_sync=req.no_sync,
            )
        except errors.EngineError as exc:
            raise self.engine_error(exc) from None
        metrics.record_write(self.context, req.db, result.lines_written, len(result.errors), len(body))
        if not result.errors:
            self.send_no_content()
            return
        raise self.line_errors(req, result.errors)

    def engine_error(self, exc: errors.EngineError) -> ApiError:
        """The answer to a whole-request engine error (v1 and v3 shapes)."""
        if isinstance(exc, (errors.InvalidDatabaseName, errors.WriteToDeletedDatabase)):
            return ApiError(400, exc.message, "json")
        if isinstance(exc, errors.LimitExceeded):
            return ApiError(422, exc.message, "json")
        if isinstance(exc, (errors.EmptyWrite, errors.InvalidBody)):
            return ApiError(400, exc.message)
        return ApiError(500, exc.message)

    def line_errors(self, req: WriteRequest, line_errors: list) -> ApiError:
        """The answer to a write with rejected lines (v1 and v3 shapes)."""
        status = 422 if has_limit_error(line_errors) else 400
        if req.accept_partial:
            body = serialize.partial_write_error(line_errors)
        else:
            body = serialize.parse_error(line_errors[0])
        return ApiError(status, "line protocol error", body=body)


class WriteLPHandler(WriteHandler):
    """``POST /api/v3/write_lp?db=&precision=auto&accept_partial=true&no_sync=false``."""

    required = ("db_write", "db")

    def parse_request(self) -> WriteRequest:
        if not self.has_query:
            raise ApiError(400, "missing query parameter 'db'")
        try:
            p = query_params(self.request.query, ("db", "precision", "accept_partial", "no_sync"))
            if "db" not in p:
                raise ParamError("missing field `db`")
            return WriteRequest(
                db=p["db"],
                precision=parse_precision(p.get("precision"), V3_PRECISIONS, "auto"),
                accept_partial=parse_bool(p.get("accept_partial"), True),
                no_sync=parse_bool(p.get("no_sync"), False),
            )
        except ParamError as exc:
            raise ApiError(400, f"serde error: {exc}") from None


class V1WriteHandler(WriteHandler):
    """``POST /write?db=&rp=&precision=ns`` (InfluxDB 1.x compatible; never a partial write)."""

    required = ("db_write", "db", "rp")  # database `<db>/<rp>` when rp names one

    def parse_request(self) -> WriteRequest:
        if not self.has_query:
            raise ApiError(400, "no db destination provided", "json")
        try:
            p = query_params(self.request.query, ("db", "rp", "precision", "p", "u"))
            if "db" not in p:
                raise ParamError("missing field `db`")
            precision = parse_precision(p.get("precision"), V1_PRECISIONS, "ns")
        except ParamError as exc:
            raise ApiError(400, f"failed to deserialize db/rp/precision in request: {exc}", "json") from None
        db = p["db"]
        rp = p.get("rp", "").lower()
        if rp not in ("", "''", "autogen", "default"):
            db = f"{db}/{rp}"
        check_namespace_name(db)
        return WriteRequest(db=db, precision=precision, accept_partial=False)


class V2WriteHandler(WriteHandler):
    """``POST /api/v2/write?bucket=&org=&precision=ns`` (InfluxDB 2.x compatible).

    Never a partial write; every error this endpoint raises has the v2 shape
    ``{"code": ..., "message": ...}``.
    """

    required = ("db_write", "bucket")

    async def post(self) -> None:
        try:
            await super().post()
        except ApiError as err:
            raise ApiError(err.status, err.message, body=serialize.v2_error(err.status, err.message)) from None

    def parse_request(self) -> WriteRequest:
        if not self.has_query:
            raise ApiError(400, "no org/bucket destination provided")
        try:
            p = query_params(self.request.query, ("org", "bucket", "precision"))
            precision = parse_precision(p.get("precision"), V2_PRECISIONS, "ns")
        except ParamError as exc:
            raise ApiError(400, f"failed to deserialize org/bucket/precision in request: {exc}") from None
        bucket = p.get("bucket", "")
        if not bucket:
            raise ApiError(400, "missing bucket value")
        check_namespace_name(bucket)
        return WriteRequest(db=bucket, precision=precision, accept_partial=False)

    def engine_error(self, exc: errors.EngineError) -> ApiError:
        if isinstance(exc, errors.LimitExceeded):
            return ApiError(400, f"write buffer error: catalog update error: {exc.message}")
        if isinstance(exc, errors.EmptyWrite):
            return ApiError(400, f"write buffer error: {exc.message}")
        return super().engine_error(exc)

    def line_errors(self, req: WriteRequest, line_errors: list) -> ApiError:
        first = line_errors[0].error_message
        if first.startswith(LIMIT_MESSAGE_PREFIXES):
            return ApiError(400, f"write buffer error: catalog update error: {first}")
        return ApiError(400, f"write buffer error: line protocol parse failed: {first}")
