"""API tokens: generation, storage as SHA-512, lookup, permissions, and the ``system.tokens`` table.

Behaviour reference §4. A token is ``apiv3_`` + base64url (no padding) of 64 random bytes (92
characters in all). The catalog never holds a token, only the lowercase hex SHA-512 of the whole
string; presenting a token means hashing it and finding that hash. Every change is a catalog
transaction (``create_token`` / ``update_token`` / ``delete_token`` ops), so tokens are shared by
every node of a data directory and survive restarts.

Kinds of token (``Token.kind``):

* ``admin`` -- the operator token, always named ``_admin``; there is at most one; it can be
  regenerated but never deleted.
* ``named_admin`` -- an admin token with a name of its own and an optional expiry.
* ``resource`` -- a token holding a list of permissions ``{resource_type, resource_identifier,
  actions}``: ``db`` resources (database names or ``*``; actions ``read``, ``write``, ``create``,
  ``describe``, ``delete`` or ``*``) and ``system`` resources (``health``, ``metrics``, ``ping``,
  ``ready`` or ``*``; action ``read`` or ``*``).

This module knows nothing of HTTP: it answers "may this token do this action on this resource",
the http layer decides which action a request needs.
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import time
import weakref
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Iterable, Optional

import pyarrow as pa

from . import errors
from .catalog import Catalog, Token

TOKEN_PREFIX = "apiv3_"
TOKEN_RANDOM_BYTES = 64
TOKEN_LENGTH = len(TOKEN_PREFIX) + 86  # 64 bytes -> 86 base64 characters without padding
OPERATOR_TOKEN_NAME = "_admin"
#: Longest token name accepted (names show in listings and error messages).
MAX_TOKEN_NAME_CHARS = 256

ADMIN_KINDS = ("admin", "named_admin")
ADMIN_PERMISSIONS = [{"resource_type": "*", "resource_identifier": ["*"], "actions": ["*"]}]

RESOURCE_TYPES = ("db", "system")
DB_ACTIONS = ("read", "write", "create", "describe", "delete")
SYSTEM_RESOURCES = ("health", "metrics", "ping", "ready")
SYSTEM_ACTIONS = ("read",)
#: Hex characters of the hash ``system.tokens`` shows.
HASH_PREFIX_CHARS = 9


# ---- errors (messages are InfluxDB 3's where it has one) -------------------------------------


class TokenNameExists(errors.AlreadyExists):
    def __init__(self, name: str):
        super().__init__(f"token name already exists, {name}")
        self.name = name


class TokenNotFound(errors.NotFound):
    def __init__(self, name: str):
        super().__init__(f"the requested resource was not found: {name}")
        self.name = name


class CannotDeleteOperatorToken(errors.EngineError):
    def __init__(self):
        super().__init__("cannot delete operator token")


class MissingAdminToken(errors.EngineError):
    def __init__(self):
        super().__init__("missing admin token, cannot update")


class InvalidTokenRequest(errors.EngineError):
    """A token request that cannot be honoured as given (bad name, expiry or permissions)."""


# ---- token strings ---------------------------------------------------------------------------


def generate_token() -> str:
    """A new random token string: ``apiv3_`` + base64url(64 random bytes), no padding."""
    raw = secrets.token_bytes(TOKEN_RANDOM_BYTES)
    return TOKEN_PREFIX + base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def hash_token(token: str | bytes) -> str:
    """Lowercase hex SHA-512 of the whole token string (prefix included)."""
    data = token.encode("utf-8") if isinstance(token, str) else token
    return hashlib.sha512(data).hexdigest()


def looks_like_token(text: str) -> bool:
    """True for a string shaped like a token this module generates (used to read token files)."""
    if not text.startswith(TOKEN_PREFIX) or len(text) != TOKEN_LENGTH:
        return False
    body = text[len(TOKEN_PREFIX):]
    return all(c.isascii() and (c.isalnum() or c in "-_") for c in body)


def now_ms() -> int:
    return time.time_ns() // 1_000_000


def rfc3339_ms(ms: Optional[int]) -> Optional[str]:
    """``2025-04-18T14:02:45.331Z`` (no fraction when it is zero); None stays None."""
    if ms is None:
        return None
    seconds, frac = divmod(ms, 1000)
    text = datetime.fromtimestamp(seconds, tz=timezone.utc).strftime("%Y-%m-%dT%H:%M:%S")
    return f"{text}.{frac:03d}Z" if frac else f"{text}Z"


# ---- records ---------------------------------------------------------------------------------


@dataclass
class IssuedToken:
    """A token just created or regenerated: the only moment its string is known."""

    token: str
    record: Token

    def info(self) -> dict:
        """The API's answer: ``{id, name, token, hash, created_at, expiry}`` (+ ``permissions``
        for resource tokens)."""
        body = {
            "id": self.record.id,
            "name": self.record.name,
            "token": self.token,
            "hash": self.record.hash,
            "created_at": rfc3339_ms(self.record.created_at),
            "expiry": rfc3339_ms(self.record.expiry),
        }
        if self.record.kind == "resource":
            body["permissions"] = [dict(p) for p in self.record.permissions]
        return body


def is_admin(token: Token) -> bool:
    return token.kind in ADMIN_KINDS


def is_expired(token: Token, at_ms: Optional[int] = None) -> bool:
    return token.expiry is not None and token.expiry <= (now_ms() if at_ms is None else at_ms)


def find_by_hash(catalog: Catalog, token_hash: str) -> Optional[Token]:
    for tok in list(catalog.tokens.values()):
        if secrets.compare_digest(tok.hash, token_hash):
            return tok
    return None


#: Longest time a token deleted or regenerated on another node keeps working on this one.
MAX_STALENESS_S = 1.0
_last_refresh: "weakref.WeakKeyDictionary[Catalog, float]" = weakref.WeakKeyDictionary()


def _refresh(catalog: Catalog) -> None:
    catalog.refresh()
    _last_refresh[catalog] = time.monotonic()


def refresh_if_stale(catalog: Catalog) -> bool:
    """Pick up other nodes' catalog commits if this catalog has not for :data:`MAX_STALENESS_S`,
    or at once when a worker of this server committed (`catalog.signal`, see changesignal.py);
    shared by token and user lookups. True if it refreshed now."""
    signal = getattr(catalog, "signal", None)
    if signal is not None and (seq := signal.pending()) is not None:
        _refresh(catalog)
        signal.seen = seq
        return True
    if time.monotonic() - _last_refresh.get(catalog, float("-inf")) > MAX_STALENESS_S:
        _refresh(catalog)
        return True
    return False


def lookup(catalog: Catalog, token: str | bytes, *, at_ms: Optional[int] = None,
           refresh: bool = True) -> Optional[Token]:
    """The live (known, unexpired) token record for a presented token string, else None.

    With `refresh`, the catalog picks up what other nodes committed when it has not done so for
    :data:`MAX_STALENESS_S` (so a token deleted or regenerated by another node of the data
    directory stops working here within that time), and always before an unknown hash is refused
    (so a token created on another node works here at once).
    """
    token_hash = hash_token(token)
    if refresh and refresh_if_stale(catalog):
        refresh = False
    found = find_by_hash(catalog, token_hash)
    if found is None and refresh:
        _refresh(catalog)
        found = find_by_hash(catalog, token_hash)
    if found is None or is_expired(found, at_ms):
        return None
    return found


class MalformedAuthorization(ValueError):
    """An ``Authorization`` value that is not ``<scheme> <token>`` with a known scheme."""


def token_from_authorization(value: str) -> str:
    """The token in an ``Authorization`` header (HTTP) or ``authorization`` metadata (gRPC) value:
    ``Bearer <t>``, ``Token <t>`` or ``Basic base64(user:<t>)`` (schemes case-sensitive, the user
    name ignored). Raises :class:`MalformedAuthorization`; each adapter answers that its own way."""
    if not value.isascii():
        raise MalformedAuthorization(value)
    parts = value.split(" ")
    if len(parts) != 2 or parts[0] not in ("Bearer", "Token", "Basic") or not parts[1]:
        raise MalformedAuthorization(value)
    scheme, credential = parts
    if scheme != "Basic":
        return credential
    try:
        decoded = base64.b64decode(credential, validate=True).decode("utf-8")
    except ValueError:  # binascii.Error and UnicodeDecodeError are ValueErrors
        raise MalformedAuthorization(value) from None
    # `user:token`: the token is what follows the last colon. Without a colon it is not a Basic
    # credential (§4.3): 400, rather than reading the whole text as a token.
    user, colon, token = decoded.rpartition(":")
    if not colon:
        raise MalformedAuthorization(value)
    return token


# ---- validation ------------------------------------------------------------------------------


def validate_token_name(name: Any) -> str:
    if not isinstance(name, str):
        raise InvalidTokenRequest("token_name must be a string")
    if not name.strip():
        raise InvalidTokenRequest("token name cannot be empty")
    if len(name) > MAX_TOKEN_NAME_CHARS:
        raise InvalidTokenRequest(f"token name too long: max {MAX_TOKEN_NAME_CHARS} characters")
    if any(ord(c) < 32 or ord(c) == 127 for c in name):
        raise InvalidTokenRequest("token name cannot contain control characters")
    return name


def expiry_from_secs(expiry_secs: Any, at_ms: int) -> Optional[int]:
    """Absolute expiry (ms) for ``expiry_secs`` from `at_ms`; None (or absent) = never expires."""
    if expiry_secs is None:
        return None
    if isinstance(expiry_secs, bool) or not isinstance(expiry_secs, int):
        raise InvalidTokenRequest("expiry_secs must be a whole number of seconds")
    if expiry_secs < 0:
        raise InvalidTokenRequest("expiry_secs cannot be negative")
    # Far futures saturate instead of overflowing the ms column.
    return min(at_ms + expiry_secs * 1000, 2**63 - 1)


def _string_list(value: Any, what: str) -> list[str]:
    if value == "*":
        return ["*"]
    if not isinstance(value, list) or not value:
        raise InvalidTokenRequest(f"{what} must be a non-empty list of strings")
    out: list[str] = []
    for item in value:
        if not isinstance(item, str) or not item:
            raise InvalidTokenRequest(f"{what} must be a non-empty list of strings")
        if item not in out:
            out.append(item)
    return ["*"] if "*" in out else out


def normalize_permission(raw: Any) -> dict:
    """One permission in its stored form ``{resource_type, resource_identifier, actions}``.

    Accepts the identifiers under ``resource_identifier`` (the server's name) or
    ``resource_names`` (the OpenAPI spec's), as a list or the string ``"*"``.
    """
    if not isinstance(raw, dict):
        raise InvalidTokenRequest("each permission must be an object with resource_type, "
                                  "resource_identifier (or resource_names) and actions")
    rtype = raw.get("resource_type")
    if rtype not in RESOURCE_TYPES:
        raise InvalidTokenRequest(f"invalid resource_type {rtype!r}: expected one of {', '.join(RESOURCE_TYPES)}")
    has_ident = "resource_identifier" in raw
    has_names = "resource_names" in raw
    if not has_ident and not has_names:
        raise InvalidTokenRequest("permission is missing resource_identifier (or resource_names)")
    idents = _string_list(raw["resource_identifier"] if has_ident else raw["resource_names"], "resource_identifier")
    if has_ident and has_names:
        other = _string_list(raw["resource_names"], "resource_names")
        if other != idents:
            raise InvalidTokenRequest("resource_identifier and resource_names disagree")
    if "actions" not in raw:
        raise InvalidTokenRequest("permission is missing actions")
    actions = _string_list(raw["actions"], "actions")
    allowed_actions = DB_ACTIONS if rtype == "db" else SYSTEM_ACTIONS
    for action in actions:
        if action != "*" and action not in allowed_actions:
            raise InvalidTokenRequest(
                f"invalid action {action!r} for resource_type {rtype}: expected one of "
                f"{', '.join(allowed_actions)} or *")
    if rtype == "system":
        for ident in idents:
            if ident != "*" and ident not in SYSTEM_RESOURCES:
                raise InvalidTokenRequest(
                    f"invalid system resource {ident!r}: expected one of {', '.join(SYSTEM_RESOURCES)} or *")
    return {"resource_type": rtype, "resource_identifier": idents, "actions": actions}


def normalize_permissions(raw: Any) -> list[dict]:
    if not isinstance(raw, list) or not raw:
        raise InvalidTokenRequest("permissions must be a non-empty list")
    return [normalize_permission(p) for p in raw]


def parse_permission(text: str) -> dict:
    """The CLI's string form ``db:db1,db2:read,write`` / ``system:*:read`` as a stored permission."""
    parts = text.split(":")
    if len(parts) != 3 or not all(parts):
        raise InvalidTokenRequest(f"invalid permission {text!r}: expected RESOURCE_TYPE:NAMES:ACTIONS, e.g. db:mydb:read,write")
    rtype, names, actions = parts
    return normalize_permission({
        "resource_type": rtype,
        "resource_identifier": names.split(","),
        "actions": actions.split(","),
    })


def permission_text(permission: dict) -> str:
    return (f"{permission['resource_type']}:{','.join(permission['resource_identifier'])}"
            f":{','.join(permission['actions'])}")


def permissions_text(token: Token) -> str:
    perms = ADMIN_PERMISSIONS if is_admin(token) else token.permissions
    return " ".join(permission_text(p) for p in perms)


# ---- permission checks -----------------------------------------------------------------------


def allows_some(token: Token, resource_type: str, action: str) -> bool:
    """May `token` do `action` on at least one resource of that type? (A listing then shows only
    the resources :func:`allows` grants, e.g. the databases a ``describe`` token may see.)"""
    if is_admin(token):
        return True
    return any(perm.get("resource_type") == resource_type
               and ("*" in (perm.get("actions") or []) or action in (perm.get("actions") or []))
               for perm in token.permissions)


def allows(token: Token, resource_type: str, name: str, action: str) -> bool:
    """May `token` do `action` on the resource `resource_type`/`name`? Admin tokens may do anything.

    A resource token needs a permission of that type whose identifiers hold `name` (or ``*``) and
    whose actions hold `action` (or ``*``). Expiry is not looked at here (see :func:`lookup`).
    """
    if is_admin(token):
        return True
    for perm in token.permissions:
        if perm.get("resource_type") != resource_type:
            continue
        idents = perm.get("resource_identifier") or perm.get("resource_names") or []
        if "*" not in idents and name not in idents:
            continue
        actions = perm.get("actions") or []
        if "*" in actions or action in actions:
            return True
    return False


# ---- transactions ----------------------------------------------------------------------------


def _record_op(tok_id: int, name: str, token_hash: str, created: int, expiry: Optional[int],
               kind: str, permissions: list, description: Optional[str] = None) -> dict:
    return {"op": "create_token", "id": tok_id, "name": name, "hash": token_hash, "created_at": created,
            "expiry": expiry, "kind": kind, "permissions": permissions, "description": description}


def _create(catalog: Catalog, name: str, kind: str, *, expiry_secs: Any = None,
            permissions: Optional[list] = None, token: Optional[str] = None,
            description: Optional[str] = None) -> IssuedToken:
    token = token if token is not None else generate_token()
    token_hash = hash_token(token)
    created = now_ms()
    expiry = expiry_from_secs(expiry_secs, created)
    perms = [dict(p) for p in (permissions if permissions is not None else ADMIN_PERMISSIONS)]

    def ops(cat: Catalog) -> list[dict]:
        if name in cat.tokens:
            raise TokenNameExists(name)
        if find_by_hash(cat, token_hash) is not None:  # only if the same token string is reused
            raise TokenNameExists(name)
        return [_record_op(cat.next_token_id, name, token_hash, created, expiry, kind, perms, description)]

    catalog.transact(ops)
    return IssuedToken(token, catalog.tokens[name])


def create_admin_token(catalog: Catalog, token: Optional[str] = None) -> IssuedToken:
    """Create the operator token ``_admin`` (from `token` if given, e.g. read from a token file).

    Raises :class:`TokenNameExists` if it already exists.
    """
    if token is not None and not token:
        raise InvalidTokenRequest("the admin token cannot be empty")
    return _create(catalog, OPERATOR_TOKEN_NAME, "admin", token=token)


def regenerate_admin_token(catalog: Catalog) -> IssuedToken:
    """Give ``_admin`` a new token string (same id and name); the old string stops working."""
    token = generate_token()
    token_hash = hash_token(token)

    def ops(cat: Catalog) -> list[dict]:
        if OPERATOR_TOKEN_NAME not in cat.tokens:
            raise MissingAdminToken()
        return [{"op": "update_token", "name": OPERATOR_TOKEN_NAME, "hash": token_hash}]

    catalog.transact(ops)
    return IssuedToken(token, catalog.tokens[OPERATOR_TOKEN_NAME])


def create_named_admin_token(catalog: Catalog, name: Any, expiry_secs: Any = None) -> IssuedToken:
    name = validate_token_name(name)
    if name == OPERATOR_TOKEN_NAME:
        raise TokenNameExists(name)  # reserved for the operator token
    return _create(catalog, name, "named_admin", expiry_secs=expiry_secs)


def create_resource_token(catalog: Catalog, name: Any, permissions: Any, expiry_secs: Any = None,
                          description: Optional[str] = None) -> IssuedToken:
    name = validate_token_name(name)
    if name == OPERATOR_TOKEN_NAME:
        raise TokenNameExists(name)
    perms = normalize_permissions(permissions)
    return _create(catalog, name, "resource", expiry_secs=expiry_secs, permissions=perms,
                   description=description)


def delete_token(catalog: Catalog, name: str) -> None:
    """Delete a token by name; the operator token cannot be deleted."""
    if name == OPERATOR_TOKEN_NAME:
        raise CannotDeleteOperatorToken()

    def ops(cat: Catalog) -> list[dict]:
        if name not in cat.tokens:
            raise TokenNotFound(name)
        return [{"op": "delete_token", "name": name}]

    catalog.transact(ops)


def has_operator_token(catalog: Catalog) -> bool:
    return OPERATOR_TOKEN_NAME in catalog.tokens


# ---- token files -----------------------------------------------------------------------------


def token_file_contents(issued: IssuedToken) -> bytes:
    """What ``influx3 create token --admin --offline --output FILE`` writes: the API's JSON body."""
    return (json.dumps(issued.info(), indent=2) + "\n").encode("utf-8")


def offline_admin_token() -> IssuedToken:
    """A new operator token not (yet) in any catalog: ``serve --admin-token-file`` stores it."""
    token = generate_token()
    created = now_ms()
    record = Token(id=0, name=OPERATOR_TOKEN_NAME, hash=hash_token(token), created_at=created,
                   expiry=None, kind="admin", permissions=[dict(p) for p in ADMIN_PERMISSIONS])
    return IssuedToken(token, record)


def read_token_file(text: str) -> str:
    """The token held by a token file: JSON with a ``"token"`` key, or the bare token string."""
    stripped = text.strip()
    if stripped.startswith("{"):
        try:
            doc = json.loads(stripped)
        except ValueError as exc:
            raise InvalidTokenRequest(f"token file is not valid JSON: {exc}") from None
        token = doc.get("token") if isinstance(doc, dict) else None
        if not isinstance(token, str) or not token:
            raise InvalidTokenRequest('token file JSON has no "token" string')
        return token.strip()
    if not stripped or any(c.isspace() for c in stripped):
        raise InvalidTokenRequest("token file must hold one token, or JSON with a \"token\" key")
    return stripped


def ensure_admin_token(catalog: Catalog, token: str) -> str:
    """Make `token` the operator token if there is none yet. Returns what happened:
    ``"created"``, ``"exists"`` (same token already stored) or ``"different"`` (another
    operator token exists and is kept)."""
    token_hash = hash_token(token)
    catalog.refresh()
    current = catalog.tokens.get(OPERATOR_TOKEN_NAME)
    if current is None:
        try:
            create_admin_token(catalog, token)
            return "created"
        except TokenNameExists:  # another node was faster
            current = catalog.tokens.get(OPERATOR_TOKEN_NAME)
    if current is not None and secrets.compare_digest(current.hash, token_hash):
        return "exists"
    return "different"


# ---- system.tokens ---------------------------------------------------------------------------

_TS_MS = pa.timestamp("ms")


def tokens_schema(*, without_auth: bool = False) -> pa.Schema:
    fields = [
        pa.field("token_id", pa.uint64(), nullable=False),
        pa.field("name", pa.string(), nullable=False),
        pa.field("hash", pa.string(), nullable=False),
        pa.field("created_at", _TS_MS, nullable=False),
        pa.field("description", pa.string()),
        pa.field("created_by_token_id", pa.uint64()),
        pa.field("updated_at", _TS_MS),
        pa.field("updated_by_token_id", pa.uint64()),
        pa.field("expiry", _TS_MS),
        pa.field("permissions", pa.string(), nullable=False),
    ]
    if without_auth:
        fields = [f for f in fields if f.name != "hash"]
    return pa.schema(fields)


def tokens_table(catalog: Catalog, *, without_auth: bool = False) -> pa.Table:
    """``_internal``'s ``system.tokens``: one row per token, ordered by id; only the first
    9 hex characters of each hash (and no ``hash`` column at all when running without auth)."""
    toks: Iterable[Token] = sorted(list(catalog.tokens.values()), key=lambda t: t.id)
    toks = list(toks)
    columns: dict[str, list] = {
        "token_id": [t.id for t in toks],
        "name": [t.name for t in toks],
        "hash": [t.hash[:HASH_PREFIX_CHARS] for t in toks],
        "created_at": [t.created_at for t in toks],
        "description": [t.description for t in toks],
        "created_by_token_id": [None for _ in toks],
        "updated_at": [None for _ in toks],
        "updated_by_token_id": [None for _ in toks],
        "expiry": [t.expiry for t in toks],
        "permissions": [permissions_text(t) for t in toks],
    }
    schema = tokens_schema(without_auth=without_auth)
    return pa.Table.from_pydict({f.name: columns[f.name] for f in schema}, schema=schema)
