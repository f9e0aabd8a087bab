"""Token endpoints (behaviour reference §4.2; spec operations PostCreateAdminToken,
PostRegenerateAdminToken, PostCreateNamedAdminToken, DeleteToken, PostCreateResourceToken).

* ``POST /api/v3/configure/token/admin`` -- the operator token ``_admin``, without authentication
  while none exists (201); afterwards 409 ``token name already exists, _admin``.
* ``POST /api/v3/configure/token/admin/regenerate`` -- new string for ``_admin`` (admin only).
* ``POST /api/v3/configure/token/named_admin`` ``{"token_name", "expiry_secs"?}`` (admin only).
* ``DELETE /api/v3/configure/token?token_name=`` (admin only; ``_admin`` -> 405, unknown -> 404).
* ``POST /api/v3/enterprise/configure/token`` ``{"token_name", "permissions", "expiry_secs"?}``
  -- a resource token (admin only).

Answers to a creation carry the token string once; the catalog keeps only its SHA-512.
"""

from __future__ import annotations

import json
from typing import Any

from ..engine import errors
from ..engine import tokens as tokenlib
from . import serialize
from .base import ApiError, ApiHandler

JSON_BODY_REQUIRED = "unacceptable content-type, expected: application/json"


def is_json_content_type(value: str | None) -> bool:
    """``application/json`` or any ``application/*+json`` (parameters such as charset allowed)."""
    if not value:
        return False
    mime = value.split(";", 1)[0].strip().lower()
    return mime == "application/json" or (mime.startswith("application/") and mime.endswith("+json"))


def token_error(exc: errors.EngineError) -> ApiError:
    """The real server's answer to a token catalog error (plain bodies)."""
    if isinstance(exc, tokenlib.TokenNameExists):
        return ApiError(409, exc.message)
    if isinstance(exc, tokenlib.CannotDeleteOperatorToken):
        return ApiError(405, exc.message)
    if isinstance(exc, tokenlib.TokenNotFound):
        return ApiError(404, exc.message)
    if isinstance(exc, tokenlib.InvalidTokenRequest):
        return ApiError(400, exc.message)
    return ApiError(500, exc.message)


class TokenHandlerBase(ApiHandler):
    """What the token endpoints share: JSON bodies in, the created token out."""

    @property
    def catalog(self):
        return self.context.engine.catalog

    def json_body(self) -> dict:
        if not is_json_content_type(self.request.headers.get("Content-Type")):
            raise ApiError(415, JSON_BODY_REQUIRED)
        body = self.read_body(require_utf8=True)
        try:
            doc = json.loads(body)
        except ValueError as exc:
            raise ApiError(400, f"serde json error: {exc}") from None
        if not isinstance(doc, dict):
            raise ApiError(400, "serde json error: invalid type, expected a JSON object")
        return doc

    @staticmethod
    def field(doc: dict, name: str) -> Any:
        if doc.get(name) is None:
            raise ApiError(400, f"serde json error: missing field `{name}`")
        return doc[name]

    async def call(self, fn, *args: Any, **kwargs: Any) -> Any:
        try:
            return await self.run_blocking(fn, *args, **kwargs)
        except errors.EngineError as exc:
            raise token_error(exc) from None

    def send_token(self, issued: tokenlib.IssuedToken) -> None:
        # The real server labels this answer "Content-Type: json"; clients want the real type.
        self.set_header("Cache-Control", "no-store")  # it holds a secret
        self.send_body(serialize.to_json(issued.info()), serialize.JSON_CONTENT_TYPE, status=201)


class AdminTokenHandler(TokenHandlerBase):
    """``POST /api/v3/configure/token/admin``: the only route that needs no token (any method)."""

    required = ("public",)

    async def post(self) -> None:
        issued = await self.call(tokenlib.create_admin_token, self.catalog)
        self.send_token(issued)


class RegenerateAdminTokenHandler(TokenHandlerBase):
    """``POST /api/v3/configure/token/admin/regenerate`` (admin token)."""

    required = ("admin",)

    async def post(self) -> None:
        issued = await self.call(tokenlib.regenerate_admin_token, self.catalog)
        self.send_token(issued)


class NamedAdminTokenHandler(TokenHandlerBase):
    """``POST /api/v3/configure/token/named_admin`` ``{"token_name": ..., "expiry_secs": ...}``."""

    required = ("admin",)

    async def post(self) -> None:
        doc = self.json_body()
        name = self.field(doc, "token_name")
        issued = await self.call(tokenlib.create_named_admin_token, self.catalog, name, doc.get("expiry_secs"))
        self.send_token(issued)


class ResourceTokenHandler(TokenHandlerBase):
    """``POST /api/v3/enterprise/configure/token``: a token with per-database (or system)
    permissions; each permission names its resources as ``resource_identifier`` (the server's
    field) or ``resource_names`` (the OpenAPI spec's)."""

    required = ("admin",)

    async def post(self) -> None:
        doc = self.json_body()
        name = self.field(doc, "token_name")
        permissions = self.field(doc, "permissions")
        description = doc.get("description")
        if description is not None and not isinstance(description, str):
            raise ApiError(400, "serde json error: invalid type for `description`, expected a string")
        issued = await self.call(tokenlib.create_resource_token, self.catalog, name, permissions,
                                 doc.get("expiry_secs"), description)
        self.send_token(issued)


class TokenHandler(TokenHandlerBase):
    """``DELETE /api/v3/configure/token?token_name=<name>``."""

    required = ("admin",)

    async def delete(self) -> None:
        names = [v for k, v in self.query_pairs() if k == "token_name"]
        if not names:
            raise ApiError(400, "serde error: missing field `token_name`")
        if len(names) > 1:
            raise ApiError(400, "serde error: duplicate field `token_name`")
        await self.call(tokenlib.delete_token, self.catalog, names[0])
        self.set_status(200)
        self.finish()


#: (path, handler) rows for the route table.
TOKEN_ROUTES = [
    ("/api/v3/configure/token", TokenHandler),
    ("/api/v3/configure/token/admin", AdminTokenHandler),
    ("/api/v3/configure/token/admin/regenerate", RegenerateAdminTokenHandler),
    ("/api/v3/configure/token/named_admin", NamedAdminTokenHandler),
    ("/api/v3/enterprise/configure/token", ResourceTokenHandler),
]
