"""The one place that turns results and errors into response bodies.

InfluxDB 3 has no single error format (behaviour reference §0.3); each shape the real server uses
has one function here:

* plain text (the error's message, no wrapper),
* ``{"error": msg}`` (compact JSON, optionally with ``"data"`` for write line errors),
* the v2 compatibility shape ``{"code": ..., "message": ...}``,
* write line errors ``{"error_message", "line_number", "original_line"}`` with ``original_line``
  cut to 20 bytes on a UTF-8 boundary.

Query output formats (json, jsonl, csv, pretty, parquet, v1 shapes) are added here later.
"""

from __future__ import annotations

import json
from typing import Any, Iterable

JSON_CONTENT_TYPE = "application/json"
TEXT_CONTENT_TYPE = "text/plain; charset=utf-8"

#: Bytes of a rejected line echoed back in a write error (the server's `WriteLineError` serializer).
ORIGINAL_LINE_MAX_BYTES = 20

#: HTTP status -> `code` of a v2 error body (InfluxDB 2's error codes).
V2_ERROR_CODES = {
    400: "invalid",
    401: "unauthorized",
    403: "forbidden",
    404: "not found",
    413: "request too large",
    422: "unprocessable entity",
    500: "internal error",
}

_MISSING = object()


def to_json(value: Any) -> bytes:
    """Compact JSON, non-ASCII kept as UTF-8 (what serde_json writes)."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def truncate_utf8(text: str, max_bytes: int = ORIGINAL_LINE_MAX_BYTES) -> str:
    """The longest prefix of `text` whose UTF-8 encoding fits in `max_bytes` bytes."""
    raw = text.encode("utf-8")
    if len(raw) <= max_bytes:
        return text
    # Dropping the bytes of a split character ("ignore") leaves exactly the whole characters.
    return raw[:max_bytes].decode("utf-8", errors="ignore")


def line_error(err: Any) -> dict:
    """A write line error in the server's key order, `original_line` truncated."""
    return {
        "error_message": err.error_message,
        "line_number": err.line_number,
        "original_line": truncate_utf8(err.original_line),
    }


def plain_error(message: str) -> bytes:
    return message.encode("utf-8")


def json_error(message: str, data: Any = _MISSING) -> bytes:
    """``{"error": message}``, plus ``"data"`` when given."""
    body: dict = {"error": message}
    if data is not _MISSING:
        body["data"] = data
    return to_json(body)


def v2_error(status: int, message: str) -> bytes:
    """The v2 write endpoint's ``{"code": ..., "message": ...}`` body for an HTTP status."""
    code = V2_ERROR_CODES.get(status, "invalid" if 400 <= status < 500 else "internal error")
    if status == 401:
        message = "unauthorized access"
    return to_json({"code": code, "message": message})


def partial_write_error(errors: Iterable[Any]) -> bytes:
    """400/422 body of an accept_partial write where some lines were rejected."""
    return json_error("partial write of line protocol occurred", [line_error(e) for e in errors])


def parse_error(err: Any) -> bytes:
    """400 body of a non-partial write stopped at its first bad line."""
    return json_error("line protocol parsing error", line_error(err))
