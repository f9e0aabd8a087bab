"""User-management and login endpoints (seed spec tag "User management"; 3.10 additions per
plugins_explorer_enterprise.md §C.5). Answers carry the spec's camelCase shapes; errors are JSON
``{"error": ...}`` (the spec's ``ErrorMessage``). Request bodies take camelCase fields and accept
snake_case aliases.

* ``POST /api/v3/configure/user`` ``{username, password, displayName?}`` -- the first user (Admin
  role) and, if there is none yet, the operator token (returned once as ``operatorToken``); 201.
  No credentials needed while the data directory has neither users nor an operator token.
* ``GET|POST /api/v3/users`` -- ``{"items": [UserResponse]}`` / invite ``{username, password,
  displayName?, roleIds?, requiresPasswordReset?}`` -> 201.
* ``PATCH|DELETE /api/v3/users/{id}``, ``POST /api/v3/users/{id}/require-password-reset``,
  ``GET|PUT /api/v3/users/{id}/roles``, ``GET /api/v3/users_by_oauth_id/{oauth_id}``.
* ``GET /api/v3/roles``, ``GET /api/v3/roles/{id}/permissions``, ``GET /api/v3/roles_by_name/{name}``.
* ``POST /api/v3/authorize`` ``{username, password}`` -> ``{accessToken, refreshToken, tokenType,
  expiresIn, refreshExpiresIn}``; ``/authorize/refresh`` ``{refreshToken}`` -> the same;
  ``/authorize/reset-password`` ``{username, password, newPassword}`` -> 204.

Management routes need an admin (operator or named admin token, or a user with the Admin role);
the login routes need no token (they check a password or a refresh token, throttled). With user
authentication off every route answers 405. Passwords and tokens never reach an error body.
"""

from __future__ import annotations

import json
from typing import Any

from ..engine import errors
from ..engine.users import LoginFailed, PasswordResetRequired, Throttled, UserPrincipal, accounts
from . import serialize
from .auth import TOKEN_ENDPOINTS_DISABLED, settings_of, token_of
from .base import ApiError, ApiHandler
from .tokens import JSON_BODY_REQUIRED, is_json_content_type

USER_AUTH_DISABLED = "user authentication is disabled: start the server with --user-auth-type basic"


def user_error(exc: errors.EngineError) -> ApiError:
    """Status and JSON body for an engine error of the user and login paths."""
    if isinstance(exc, Throttled):
        err = ApiError(429, str(exc), "json")
        err.retry_after = max(1, int(exc.retry_after_s + 0.999))  # type: ignore[attr-defined]
        return err
    status = 500
    if isinstance(exc, accounts.InvalidUserRequest):
        status = 400
    elif isinstance(exc, LoginFailed):
        status = 401
    elif isinstance(exc, (PasswordResetRequired, accounts.Forbidden)):
        status = 403
    elif isinstance(exc, errors.NotFound):
        status = 404
    elif isinstance(exc, errors.AlreadyExists):
        status = 409
    return ApiError(status, exc.message, "json")


class UserHandlerBase(ApiHandler):
    """What the user endpoints share: the feature switch, JSON bodies, JSON answers."""

    required: Any = ("admin",)

    @property
    def users(self):
        """The server's `UserAuth`; 405 when user authentication is off."""
        if not settings_of(self).enabled:
            raise ApiError(405, TOKEN_ENDPOINTS_DISABLED)
        found = getattr(self.context, "users", None)
        if found is None:
            raise ApiError(405, USER_AUTH_DISABLED, "json")
        return found

    @property
    def catalog(self):
        return self.users.catalog

    def json_body(self) -> dict:
        if not is_json_content_type(self.request.headers.get("Content-Type")):
            raise ApiError(415, JSON_BODY_REQUIRED, "json")
        body = self.read_body(require_utf8=True)
        try:
            doc = json.loads(body)
        except ValueError as exc:
            # The position only: the text could hold a password.
            raise ApiError(400, f"invalid JSON body at line {getattr(exc, 'lineno', '?')} column "
                                f"{getattr(exc, 'colno', '?')}", "json") from None
        if not isinstance(doc, dict):
            raise ApiError(400, "the body must be a JSON object", "json")
        return doc

    @staticmethod
    def pick(doc: dict, name: str, *aliases: str, required: bool = False) -> Any:
        """A field by its camelCase name or a snake_case alias (None when absent)."""
        for key in (name, *aliases):
            if doc.get(key) is not None:
                return doc[key]
        if required:
            raise ApiError(400, f"missing field `{name}`", "json")
        return None

    async def call(self, fn, *args: Any, **kwargs: Any) -> Any:
        try:
            return await self.run_blocking(fn, *args, **kwargs)
        except errors.EngineError as exc:
            raise user_error(exc) from None

    def send_json(self, doc: Any, status: int = 200) -> None:
        self.send_body(serialize.to_json(doc), serialize.JSON_CONTENT_TYPE, status=status)

    def write_error(self, status_code: int, **kwargs: Any) -> None:
        exc = kwargs.get("exc_info", (None, None, None))[1]
        retry = getattr(exc, "retry_after", None)
        if retry is not None:
            self.set_header("Retry-After", str(retry))
        super().write_error(status_code, **kwargs)

    def set_default_headers(self) -> None:
        super().set_default_headers()
        self.set_header("Cache-Control", "no-store")  # answers about accounts are never cached


def _roles_body(catalog, user) -> dict:
    return {"items": accounts.user_roles(catalog, user)}


# ---- users -------------------------------------------------------------------------------------


class InitialUserHandler(UserHandlerBase):
    """``POST /api/v3/configure/user``."""

    required = ("first_user",)

    async def post(self) -> None:
        doc = self.json_body()
        made = await self.call(accounts.create_initial_user, self.catalog,
                               self.pick(doc, "username", "user_name", required=True),
                               self.pick(doc, "password", required=True),
                               self.pick(doc, "displayName", "display_name"))
        self.send_json(accounts.user_info(made.user, made.operator_token), 201)


class UsersHandler(UserHandlerBase):
    """``GET /api/v3/users`` (live users) and ``POST /api/v3/users`` (invite)."""

    async def get(self) -> None:
        catalog = self.catalog
        catalog.refresh()
        self.send_json({"items": [accounts.user_info(u) for u in accounts.live_users(catalog)]})

    async def post(self) -> None:
        doc = self.json_body()
        reset = self.pick(doc, "requiresPasswordReset", "requires_password_reset")
        user = await self.call(accounts.invite_user, self.catalog,
                               self.pick(doc, "username", "user_name", required=True),
                               self.pick(doc, "password", required=True),
                               self.pick(doc, "displayName", "display_name"),
                               self.pick(doc, "roleIds", "role_ids", "roles"),
                               False if reset is None else reset)
        self.send_json(accounts.user_info(user), 201)


class UserHandler(UserHandlerBase):
    """``PATCH /api/v3/users/{id}`` ``{displayName}`` and ``DELETE /api/v3/users/{id}``."""

    async def patch(self, user_id: str) -> None:
        doc = self.json_body()
        if not any(k in doc for k in ("displayName", "display_name")):
            raise ApiError(400, "missing field `displayName`", "json")
        name = doc.get("displayName", doc.get("display_name"))
        user = await self.call(accounts.update_user, self.catalog, user_id, name)
        self.send_json(accounts.user_info(user))

    async def delete(self, user_id: str) -> None:
        record = token_of(self)
        # The operator token (or the host app acting as the operator, when there is no record).
        by_operator = record is None or (not isinstance(record, UserPrincipal) and record.kind == "admin")
        user = await self.call(accounts.delete_user, self.catalog, user_id, by_operator=by_operator)
        self.send_json(accounts.user_info(user))


class RequirePasswordResetHandler(UserHandlerBase):
    """``POST /api/v3/users/{id}/require-password-reset``."""

    async def post(self, user_id: str) -> None:
        user = await self.call(accounts.require_password_reset, self.catalog, user_id)
        self.send_json(accounts.user_info(user))


class UserRolesHandler(UserHandlerBase):
    """``GET /api/v3/users/{id}/roles`` and ``PUT`` ``{"roleIds": [...]}`` (replaces the set)."""

    async def get(self, user_id: str) -> None:
        catalog = self.catalog
        catalog.refresh()
        user = await self.call(accounts.get_user, catalog, user_id)
        self.send_json(_roles_body(catalog, user))

    async def put(self, user_id: str) -> None:
        doc = self.json_body()
        role_ids = self.pick(doc, "roleIds", "role_ids", required=True)
        user = await self.call(accounts.set_roles, self.catalog, user_id, role_ids)
        self.send_json(_roles_body(self.catalog, user))


class UserByOauthIdHandler(UserHandlerBase):
    """``GET /api/v3/users_by_oauth_id/{oauth_id}``: OAuth is not configured here, so only users
    given an OAuth id by some other means are found (404 otherwise)."""

    async def get(self, oauth_id: str) -> None:
        catalog = self.catalog
        catalog.refresh()
        user = next((u for u in accounts.live_users(catalog) if u.oauth_id == oauth_id), None)
        if user is None:
            raise ApiError(404, "no user with that OAuth id (OAuth is not configured on this server)", "json")
        self.send_json(accounts.user_info(user))


# ---- roles -------------------------------------------------------------------------------------


class RolesHandler(UserHandlerBase):
    """``GET /api/v3/roles``: ``{"items": [UserRoleResponse]}``."""

    async def get(self) -> None:
        catalog = self.catalog
        self.send_json({"items": [accounts.role_info(r) for r in sorted(catalog.roles.values(), key=lambda r: r.id)]})


class RolePermissionsHandler(UserHandlerBase):
    """``GET /api/v3/roles/{id}/permissions``: ``{"permissions": [ApiPermission]}``."""

    async def get(self, role_id: str) -> None:
        role = await self.call(accounts.get_role, self.catalog, role_id)
        self.send_json({"permissions": [dict(p) for p in role.permissions]})


class RoleByNameHandler(UserHandlerBase):
    """``GET /api/v3/roles_by_name/{roleName}``: ``RoleByNameResponse``."""

    async def get(self, name: str) -> None:
        role = await self.call(accounts.role_by_name, self.catalog, name)
        self.send_json(accounts.role_info(role))


# ---- login -------------------------------------------------------------------------------------


class AuthorizeHandler(UserHandlerBase):
    """``POST /api/v3/authorize`` ``{username, password}``: an access and a refresh JWT."""

    required = ("public",)

    async def post(self) -> None:
        users = self.users
        doc = self.json_body()
        pair = await self.call(users.login, self.pick(doc, "username", "user_name", required=True),
                               self.pick(doc, "password", required=True), self.request.remote_ip)
        self.send_json(pair.info())


class RefreshHandler(UserHandlerBase):
    """``POST /api/v3/authorize/refresh`` ``{refreshToken}``: a new pair."""

    required = ("public",)

    async def post(self) -> None:
        users = self.users
        doc = self.json_body()
        token = self.pick(doc, "refreshToken", "refresh_token", required=True)
        pair = await self.call(users.refresh, token)
        self.send_json(pair.info())


class ResetPasswordHandler(UserHandlerBase):
    """``POST /api/v3/authorize/reset-password`` ``{username, password, newPassword}`` -> 204;
    every token issued to the user before stops working."""

    required = ("public",)

    async def post(self) -> None:
        users = self.users
        doc = self.json_body()
        await self.call(users.reset_password, self.pick(doc, "username", "user_name", required=True),
                        self.pick(doc, "password", "currentPassword", "current_password", required=True),
                        self.pick(doc, "newPassword", "new_password", required=True), self.request.remote_ip)
        self.send_no_content()


#: (path, handler) rows for the route table.
USER_ROUTES = [
    ("/api/v3/configure/user", InitialUserHandler),
    ("/api/v3/users", UsersHandler),
    ("/api/v3/users/([^/]+)", UserHandler),
    ("/api/v3/users/([^/]+)/require-password-reset", RequirePasswordResetHandler),
    ("/api/v3/users/([^/]+)/roles", UserRolesHandler),
    ("/api/v3/users_by_oauth_id/([^/]+)", UserByOauthIdHandler),
    ("/api/v3/roles", RolesHandler),
    ("/api/v3/roles/([^/]+)/permissions", RolePermissionsHandler),
    ("/api/v3/roles_by_name/([^/]+)", RoleByNameHandler),
    ("/api/v3/authorize", AuthorizeHandler),
    ("/api/v3/authorize/refresh", RefreshHandler),
    ("/api/v3/authorize/reset-password", ResetPasswordHandler),
]
