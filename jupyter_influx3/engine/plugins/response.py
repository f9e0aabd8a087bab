"""What a request trigger's return value becomes on the wire (behaviour reference §6.6,
`process_flask_response`): status, headers and body bytes, without any HTTP library.

Owns the mapping: a Flask-like response object, `str`, `dict`/`list`, the `(body, status)`,
`(body, headers)` and `(body, status, headers)` tuples, iterators and generators; anything else is
a 500 `{"error": …}`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

HTML = "text/html"
JSON = "application/json"
TEXT = "text/plain"
NOT_FOUND_BODY = b'{error: "not found"}'  # literally, not JSON: what the real server sends


@dataclass
class PluginResponse:
    status: int = 200
    headers: dict = field(default_factory=dict)
    body: bytes = b""


def error_response(message: str, status: int = 500) -> PluginResponse:
    return PluginResponse(status, {"Content-Type": JSON}, json.dumps({"error": message}).encode())


def _body(value) -> tuple[bytes, str]:
    if isinstance(value, (dict, list)):
        return json.dumps(value).encode(), JSON
    if isinstance(value, str):
        return value.encode(), HTML
    if isinstance(value, (bytes, bytearray)):
        return bytes(value), HTML
    return str(value).encode(), TEXT


def _headers(value) -> dict:
    if not isinstance(value, dict):
        raise TypeError(f"response headers must be a dict, not {type(value).__name__}")
    return {str(k): str(v) for k, v in value.items()}


def to_response(value) -> PluginResponse:
    """The response for a plugin's return value; TypeError for values that have none."""
    if hasattr(value, "__flask_response__") or (hasattr(value, "get_data") and hasattr(value, "status_code")):
        data = value.get_data()
        headers = getattr(value, "headers", {}) or {}
        return PluginResponse(int(value.status_code), _headers(dict(headers)),
                              data if isinstance(data, bytes) else str(data).encode())
    if isinstance(value, (str, dict, list)):
        body, ctype = _body(value)
        return PluginResponse(200, {"Content-Type": ctype}, body)
    if isinstance(value, tuple) and len(value) in (2, 3):
        body, ctype = _body(value[0])
        status, headers = 200, {}
        if len(value) == 3:
            status, headers = int(value[1]), _headers(value[2])
        elif isinstance(value[1], dict):
            headers = _headers(value[1])
        else:
            status = int(value[1])
        merged = {"Content-Type": ctype}
        for k, v in headers.items():  # the plugin's headers override ours, whatever their case
            merged = {mk: mv for mk, mv in merged.items() if mk.lower() != k.lower()}
            merged[k] = v
        return PluginResponse(status, merged, body)
    if hasattr(value, "__iter__") and not isinstance(value, (bytes, bytearray, set, frozenset)):
        parts = [p if isinstance(p, bytes) else str(p).encode() for p in value]
        return PluginResponse(200, {"Content-Type": HTML}, b"".join(parts))
    raise TypeError(f"unsupported return value of process_request: {type(value).__name__}")
