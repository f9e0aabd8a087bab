"""Users and roles as catalog records: the built-in roles, user transactions, API shapes, and
what a user's roles let them do.

Every change is a catalog transaction (``create_user`` / ``update_user`` / ``create_role`` ops),
so all nodes of a data directory agree on users and roles. Roles are the three built-in ones of
InfluxDB 3 Enterprise 3.10 (Admin, Auditor, Member; custom roles cannot be authored); their
permissions use the API's ``ApiPermission`` shape and are translated here into the token
permissions the one permission check (engine/tokens.py ``allows``) understands, so a user is
checked exactly like a token.

Does not hash passwords (passwords.py), sign tokens (jwts.py) or know HTTP.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from typing import Any, Optional

from .. import errors
from .. import tokens as tokenlib
from ..catalog import Catalog, Role, Token, User
from . import passwords

ADMIN_ROLE, AUDITOR_ROLE, MEMBER_ROLE = 1, 2, 3
_ALL_DB = {"identifiers": [], "allResources": True}
BUILTIN_ROLES = [
    {"id": ADMIN_ROLE, "name": "Admin", "is_required": True,
     "description": "Full access: data, databases, tokens, users and roles",
     "permissions": [
         {"resourceType": "database", "actions": ["read", "write", "create", "delete", "describe"], **_ALL_DB},
         {"resourceType": "token", "actions": ["create", "read", "delete"]},
         {"resourceType": "user", "actions": ["create", "read", "update", "delete"]},
         {"resourceType": "role", "actions": ["read"]},
         {"resourceType": "admin_token", "actions": ["create", "regenerate"]},
     ]},
    {"id": AUDITOR_ROLE, "name": "Auditor", "is_required": False,
     "description": "Can see which databases exist; cannot query data or read users and roles",
     "permissions": [{"resourceType": "database", "actions": ["describe"], **_ALL_DB}]},
    {"id": MEMBER_ROLE, "name": "Member", "is_required": False,
     "description": "Can read and write data in every database; cannot manage users, roles or tokens",
     "permissions": [{"resourceType": "database", "actions": ["read", "write"], **_ALL_DB}]},
]

USERNAME_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._@+-]{0,63}")
MAX_DISPLAY_NAME_CHARS = 256


# ---- errors ----------------------------------------------------------------------------------


class InvalidUserRequest(errors.EngineError):
    """A request about users that cannot be honoured as given (400)."""


class UserNotFound(errors.NotFound):
    def __init__(self, ident: Any):
        super().__init__(f"user not found: {ident}")


class RoleNotFound(errors.NotFound):
    def __init__(self, ident: Any):
        super().__init__(f"role not found: {ident}")


class UsernameExists(errors.AlreadyExists):
    def __init__(self, username: str):
        super().__init__(f"a user named {username!r} already exists")


class InitialUserExists(errors.AlreadyExists):
    def __init__(self):
        super().__init__("the initial user already exists: create further users with POST /api/v3/users")


class Forbidden(errors.EngineError):
    """Allowed to call, but not to do this (403)."""


# ---- records ---------------------------------------------------------------------------------


def now_s() -> int:
    return int(time.time())


def live_users(catalog: Catalog) -> list[User]:
    return sorted((u for u in list(catalog.users.values()) if u.deleted_at is None), key=lambda u: u.id)


def find_user(catalog: Catalog, username: str) -> Optional[User]:
    """The live user of that name (names compare case-insensitively)."""
    folded = username.casefold()
    return next((u for u in live_users(catalog) if u.username.casefold() == folded), None)


def get_user(catalog: Catalog, user_id: Any) -> User:
    """The live user with that id; :class:`UserNotFound` for a deleted, unknown or non-numeric id
    (the spec answers 404 for an id that names no user)."""
    try:
        uid = parse_id(user_id, "user")
    except InvalidUserRequest:
        raise UserNotFound(str(user_id)[:40]) from None
    user = catalog.users.get(uid)
    if user is None or user.deleted_at is not None:
        raise UserNotFound(user_id)
    return user


def get_role(catalog: Catalog, role_id: Any) -> Role:
    try:
        rid = parse_id(role_id, "role")
    except InvalidUserRequest:
        raise RoleNotFound(role_id) from None
    role = catalog.roles.get(rid)
    if role is None:
        raise RoleNotFound(role_id)
    return role


def role_by_name(catalog: Catalog, name: str) -> Role:
    folded = name.casefold()
    role = next((r for r in catalog.roles.values() if r.name.casefold() == folded), None)
    if role is None:
        raise RoleNotFound(name)
    return role


def parse_id(value: Any, what: str) -> int:
    if isinstance(value, bool):
        raise InvalidUserRequest(f"invalid {what} id: {value!r}")
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.isascii() and value.isdigit() and len(value) <= 18:
        return int(value)
    raise InvalidUserRequest(f"invalid {what} id: {str(value)[:40]!r}")


# ---- validation ------------------------------------------------------------------------------


def validate_username(username: Any) -> str:
    if not isinstance(username, str):
        raise InvalidUserRequest("username must be a string")
    if not USERNAME_RE.fullmatch(username):
        raise InvalidUserRequest("invalid username: 1 to 64 characters, letters, digits and . _ @ + -, "
                                 "starting with a letter or digit")
    return username


def validate_display_name(name: Any) -> Optional[str]:
    if name is None:
        return None
    if not isinstance(name, str):
        raise InvalidUserRequest("displayName must be a string")
    if len(name) > MAX_DISPLAY_NAME_CHARS:
        raise InvalidUserRequest(f"displayName too long: max {MAX_DISPLAY_NAME_CHARS} characters")
    if any(ord(c) < 32 or ord(c) == 127 for c in name):
        raise InvalidUserRequest("displayName cannot contain control characters")
    return name.strip() or None


def resolve_roles(catalog: Catalog, role_ids: Any) -> list[int]:
    """Role ids (or role names) -> the ids, each an existing role, without repeats."""
    if not isinstance(role_ids, list):
        raise InvalidUserRequest("roleIds must be a list of role ids")
    out: list[int] = []
    for item in role_ids:
        if isinstance(item, str) and not item.isdigit():
            try:
                rid = role_by_name(catalog, item).id
            except RoleNotFound:
                raise InvalidUserRequest(f"unknown role: {item[:64]!r}") from None
        else:
            rid = parse_id(item, "role")
            if rid not in catalog.roles:
                raise InvalidUserRequest(f"unknown role id: {rid}")
        if rid not in out:
            out.append(rid)
    return out


def _password(value: Any) -> str:
    try:
        return passwords.validate(value)
    except passwords.InvalidPassword as exc:
        raise InvalidUserRequest(exc.message) from None


# ---- transactions ----------------------------------------------------------------------------


def _role_ops(cat: Catalog, at: int) -> list[dict]:
    return [{"op": "create_role", **spec, "created_at": at, "updated_at": at}
            for spec in BUILTIN_ROLES if spec["id"] not in cat.roles]


def ensure_roles(catalog: Catalog) -> None:
    """Store the built-in roles if this data directory does not have them yet."""
    at = now_s()
    catalog.transact(lambda cat: _role_ops(cat, at))


@dataclass
class CreatedUser:
    user: User
    operator_token: Optional[str] = None  # only for the initial user, when it created the token


def _new_user_op(cat: Catalog, username: str, password_hash: str, display_name: Optional[str],
                 role_ids: list[int], at: int, requires_reset: bool) -> dict:
    if find_user(cat, username) is not None:
        raise UsernameExists(username)
    return {"op": "create_user", "id": cat.next_user_id, "username": username, "password_hash": password_hash,
            "display_name": display_name, "role_ids": role_ids, "requires_password_reset": requires_reset,
            "created_at": at, "updated_at": at, "deleted_at": None, "oauth_id": None, "session_epoch": 0}


def create_initial_user(catalog: Catalog, username: Any, password: Any, display_name: Any = None) -> CreatedUser:
    """The first user, with the Admin role; also the operator token if there is none yet (its
    string is returned once). Refused once any user exists (even a deleted one)."""
    username = validate_username(username)
    password = _password(password)
    display_name = validate_display_name(display_name)
    password_hash = passwords.hash_password(password)
    operator = tokenlib.generate_token()
    operator_hash = tokenlib.hash_token(operator)
    at = now_s()
    made_token = []

    def ops(cat: Catalog) -> list[dict]:
        made_token.clear()
        if cat.users:
            raise InitialUserExists()
        out = _role_ops(cat, at)
        out.append(_new_user_op(cat, username, password_hash, display_name, [ADMIN_ROLE], at, False))
        if not tokenlib.has_operator_token(cat):
            out.append(tokenlib._record_op(cat.next_token_id, tokenlib.OPERATOR_TOKEN_NAME, operator_hash,
                                           at * 1000, None, "admin", [dict(p) for p in tokenlib.ADMIN_PERMISSIONS]))
            made_token.append(True)
        return out

    done = catalog.transact(ops)
    user = catalog.users[next(op["id"] for op in done if op["op"] == "create_user")]
    return CreatedUser(user, operator if made_token else None)


def invite_user(catalog: Catalog, username: Any, password: Any, display_name: Any = None,
                role_ids: Any = None, requires_password_reset: Any = False) -> User:
    """A further user (``POST /api/v3/users``): no role unless `role_ids` names some."""
    username = validate_username(username)
    password = _password(password)
    display_name = validate_display_name(display_name)
    if not isinstance(requires_password_reset, bool):
        raise InvalidUserRequest("requiresPasswordReset must be true or false")
    roles = resolve_roles(catalog, role_ids) if role_ids is not None else []
    password_hash = passwords.hash_password(password)
    at = now_s()

    def ops(cat: Catalog) -> list[dict]:
        for rid in roles:
            if rid not in cat.roles:
                raise InvalidUserRequest(f"unknown role id: {rid}")
        return _role_ops(cat, at) + [_new_user_op(cat, username, password_hash, display_name, roles, at,
                                                  requires_password_reset)]

    done = catalog.transact(ops)
    return catalog.users[next(op["id"] for op in done if op["op"] == "create_user")]


def _update(catalog: Catalog, user_id: Any, changes_for, *, check=None) -> User:
    """Commit `changes_for(user)` (a dict of fields) for a live user, with `updated_at`."""
    uid = get_user(catalog, user_id).id

    def ops(cat: Catalog) -> list[dict]:
        user = get_user(cat, uid)
        if check is not None:
            check(cat, user)
        return [{"op": "update_user", "id": user.id, "updated_at": now_s(), **changes_for(user)}]

    catalog.transact(ops)
    return catalog.users[uid]


def update_user(catalog: Catalog, user_id: Any, display_name: Any) -> User:
    name = validate_display_name(display_name)
    return _update(catalog, user_id, lambda u: {"display_name": name})


def set_roles(catalog: Catalog, user_id: Any, role_ids: Any) -> User:
    get_user(catalog, user_id)  # 404 before 400
    roles = resolve_roles(catalog, role_ids)
    return _update(catalog, user_id, lambda u: {"role_ids": roles})


def require_password_reset(catalog: Catalog, user_id: Any) -> User:
    """The user must set a new password before the next token; every JWT they hold is revoked."""
    return _update(catalog, user_id, lambda u: {"requires_password_reset": True,
                                                "session_epoch": u.session_epoch + 1})


def set_password(catalog: Catalog, user_id: int, new_password: Any, *, epoch: int) -> User:
    """A new password (after the old one was checked); clears a required reset and revokes every
    JWT issued before. `epoch` is the session epoch seen when the old password was checked: a
    concurrent reset or delete wins."""
    new_password = _password(new_password)
    new_hash = passwords.hash_password(new_password)

    def check(cat: Catalog, user: User) -> None:
        if user.session_epoch != epoch:
            raise Forbidden("the user changed while the password was being reset; try again")

    return _update(catalog, user_id, lambda u: {"password_hash": new_hash, "requires_password_reset": False,
                                                "session_epoch": u.session_epoch + 1}, check=check)


def delete_user(catalog: Catalog, user_id: Any, *, by_operator: bool) -> User:
    """Soft delete: the record stays with ``deleted_at``; every JWT of the user is revoked. The
    last live user can be deleted with the operator token only."""

    def check(cat: Catalog, user: User) -> None:
        if len(live_users(cat)) == 1 and not by_operator:
            raise Forbidden("cannot delete the last remaining user except with the operator token")

    at = now_s()
    return _update(catalog, user_id, lambda u: {"deleted_at": at, "session_epoch": u.session_epoch + 1},
                   check=check)


# ---- API shapes ------------------------------------------------------------------------------


def user_info(user: User, operator_token: Optional[str] = None) -> dict:
    """``UserResponse`` (plus ``roleIds``, a harmless superset the CLI lists)."""
    body: dict = {"userId": user.id, "username": user.username, "displayName": user.display_name or user.username,
                  "requiresPasswordReset": user.requires_password_reset, "createdAt": user.created_at,
                  "updatedAt": user.updated_at, "roleIds": list(user.role_ids)}
    if user.deleted_at is not None:
        body["deletedAt"] = user.deleted_at
    if user.oauth_id is not None:
        body["oauthId"] = user.oauth_id
    if operator_token is not None:
        body["operatorToken"] = operator_token
    return body


def role_info(role: Role) -> dict:
    """``UserRoleResponse`` / ``RoleByNameResponse``."""
    return {"id": role.id, "name": role.name, "isRequiredRole": role.is_required, "description": role.description,
            "createdAt": role.created_at, "updatedAt": role.updated_at}


def user_roles(catalog: Catalog, user: User) -> list[dict]:
    return [role_info(catalog.roles[r]) for r in user.role_ids if r in catalog.roles]


# ---- what a user may do ------------------------------------------------------------------------


@dataclass
class UserPrincipal(Token):
    """A user authenticated by a JWT, shaped as a token record so the one permission check
    (``tokens.allows`` / ``tokens.is_admin``) decides for users and tokens alike."""

    user_id: int = 0


def _token_permissions(role_perms: list[dict]) -> list[dict]:
    out = []
    for perm in role_perms:
        if perm.get("resourceType") != "database":
            continue
        idents = ["*"] if perm.get("allResources") else list(perm.get("identifiers") or [])
        if idents and perm.get("actions"):
            out.append({"resource_type": "db", "resource_identifier": idents, "actions": list(perm["actions"])})
    return out


def principal(catalog: Catalog, user: User) -> UserPrincipal:
    """The token-shaped record of what `user`'s roles allow: an admin for the Admin role, else
    database permissions only (Auditor: describe; Member: read and write)."""
    roles = [catalog.roles[r] for r in user.role_ids if r in catalog.roles]
    is_admin = any(r.id == ADMIN_ROLE for r in roles)
    perms = [p for r in roles for p in _token_permissions(r.permissions)]
    # `hash` identifies the caller (Flight keeps one caller's pending results from another's).
    return UserPrincipal(id=-user.id, name=f"user:{user.username}", hash=f"user:{user.id}",
                         created_at=user.created_at * 1000,
                         kind="named_admin" if is_admin else "resource",
                         permissions=[dict(p) for p in tokenlib.ADMIN_PERMISSIONS] if is_admin else perms,
                         user_id=user.id)
