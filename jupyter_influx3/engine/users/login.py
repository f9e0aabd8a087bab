"""The login flow: password -> JWT pair, refresh, password reset, and JWT -> who is asking.

:class:`UserAuth` is what a server with user authentication on (``--user-auth-type basic``)
holds: the catalog, the JWT signer and the login throttle. Adapters call it; it never sees HTTP.
Failures never say whether the user name or the password was wrong.
"""

from __future__ import annotations

import os
from typing import Any, Optional

from .. import errors
from .. import tokens as tokenlib
from ..catalog import Catalog, User
from . import accounts, jwts, passwords
from .throttle import LoginThrottle, Throttled

#: Longest user name looked at on the login path (longer ones cannot exist).
_MAX_LOGIN_NAME = 256


class LoginFailed(errors.EngineError):
    """Wrong user name or password, or an invalid, expired or revoked token (401)."""


class PasswordResetRequired(errors.EngineError):
    """The password is right, but a new one must be set first (403)."""

    def __init__(self):
        super().__init__("password reset required: set a new password with POST /api/v3/authorize/reset-password")


class UserAuth:
    """Users' login and JWT checks for one data directory."""

    def __init__(self, catalog: Catalog, signer: jwts.Signer, throttle: Optional[LoginThrottle] = None):
        self.catalog = catalog
        self.signer = signer
        self.throttle = throttle or LoginThrottle()
        accounts.ensure_roles(catalog)

    @classmethod
    def open(cls, catalog: Catalog, data_dir: str | os.PathLike, *, private_key_pem: Optional[bytes] = None,
             key_id: Optional[str] = None, issuer: str = jwts.DEFAULT_ISSUER,
             access_ttl_s: int = jwts.DEFAULT_ACCESS_TTL_S, refresh_ttl_s: int = jwts.DEFAULT_REFRESH_TTL_S,
             throttle: Optional[LoginThrottle] = None) -> "UserAuth":
        """With the given PKCS#1 key, else the data directory's own (generated on first use)."""
        key = (jwts.load_private_key(private_key_pem) if private_key_pem is not None
               else jwts.data_dir_key(data_dir))
        signer = jwts.Signer(key, issuer=issuer, kid=key_id, access_ttl_s=access_ttl_s, refresh_ttl_s=refresh_ttl_s)
        return cls(catalog, signer, throttle)

    # ---- login -------------------------------------------------------------------------------

    def _check_password(self, username: Any, password: Any, address: Optional[str]) -> User:
        """The live user whose password this is; throttled, and as slow for unknown names."""
        if not isinstance(username, str) or not isinstance(password, str):
            raise accounts.InvalidUserRequest("username and password must be strings")
        if not username or len(username) > _MAX_LOGIN_NAME:
            passwords.verify(None, password)
            raise LoginFailed("invalid username or password")
        self.throttle.check(username, address)
        self.catalog.refresh()
        user = accounts.find_user(self.catalog, username)
        if not passwords.verify(user.password_hash if user else None, password):  # False for no user
            self.throttle.failed(username, address)
            raise LoginFailed("invalid username or password")
        self.throttle.succeeded(username)
        return user

    def login(self, username: Any, password: Any, address: Optional[str] = None) -> jwts.TokenPair:
        """``POST /api/v3/authorize``: an access and a refresh token."""
        user = self._check_password(username, password, address)
        if user.requires_password_reset:
            raise PasswordResetRequired()
        return self.signer.issue(user.id, user.session_epoch)

    def reset_password(self, username: Any, password: Any, new_password: Any,
                       address: Optional[str] = None) -> None:
        """``POST /api/v3/authorize/reset-password``: with the current credentials; revokes every
        token issued before."""
        user = self._check_password(username, password, address)
        if isinstance(new_password, str) and new_password == password:
            raise accounts.InvalidUserRequest("the new password must differ from the current one")
        accounts.set_password(self.catalog, user.id, new_password, epoch=user.session_epoch)

    def refresh(self, refresh_token: Any) -> jwts.TokenPair:
        """``POST /api/v3/authorize/refresh``: a new pair for a valid, unrevoked refresh token."""
        claims = self.signer.check(refresh_token, "refresh")
        user = self._current_user(claims)
        if user is None or user.requires_password_reset:
            raise LoginFailed("invalid or expired refresh token")
        return self.signer.issue(user.id, user.session_epoch)

    # ---- requests ----------------------------------------------------------------------------

    def _current_user(self, claims: Optional[jwts.Claims]) -> Optional[User]:
        if claims is None:
            return None
        tokenlib.refresh_if_stale(self.catalog)
        user = self.catalog.users.get(claims.user_id)
        if user is None:  # made on another node a moment ago?
            self.catalog.refresh()
            user = self.catalog.users.get(claims.user_id)
        if user is None or user.deleted_at is not None or user.session_epoch != claims.epoch:
            return None
        return user

    def principal(self, token: Any) -> Optional[accounts.UserPrincipal]:
        """Who a JWT access token speaks for, as a token-shaped record; None if it is not a
        valid, unexpired, unrevoked access token of a live user."""
        user = self._current_user(self.signer.check(token, "access"))
        return None if user is None else accounts.principal(self.catalog, user)

    @staticmethod
    def looks_like_jwt(token: str) -> bool:
        return jwts.looks_like_jwt(token)


def resolve(catalog: Catalog, token: str, users: Optional[UserAuth]) -> Optional[tokenlib.Token]:
    """The one lookup every adapter (HTTP, Flight) makes of a presented credential: an API token's
    record, or, with user authentication on (`users`), the token-shaped record of a user's JWT
    access token; None if it is neither (or expired, or revoked)."""
    if users is not None and users.looks_like_jwt(token):
        return users.principal(token)
    return tokenlib.lookup(catalog, token)


__all__ = ["UserAuth", "LoginFailed", "PasswordResetRequired", "Throttled", "resolve"]
