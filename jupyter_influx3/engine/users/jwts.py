"""JWTs for users: the RS256 signing key, issuing access + refresh tokens, and checking them.

Owns the key (an RSA key in PKCS#1 PEM form, as InfluxDB 3 Enterprise requires; generated once
into ``<data-dir>/users/jwt_private_key.pem`` when none is given, so every node of the data
directory signs and checks with the same key) and the claims. It does not decide what a user may
do (accounts.py) nor look users up.

Claims: ``iss``, ``sub`` (the user id), ``iat``, ``exp``, ``jti``, ``typ`` (``access`` or
``refresh``) and ``sep`` (the user's session epoch: a token whose epoch is behind the user's is
revoked). Only RS256 is accepted when checking (no ``none``, no HMAC with the public key).
"""

from __future__ import annotations

import hashlib
import os
import secrets
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from .. import errors
from ..fsutil import write_file_exclusive
from ..recent import Recent

DEFAULT_ISSUER = "influxdb3-enterprise"
DEFAULT_ACCESS_TTL_S = 3600
DEFAULT_REFRESH_TTL_S = 7 * 24 * 3600
KEY_FILE = Path("users") / "jwt_private_key.pem"
PKCS1_HEADER = b"-----BEGIN RSA PRIVATE KEY-----"
MIN_KEY_BITS = 2048


class JwtKeyError(errors.EngineError):
    """The configured signing key cannot be used (the message says why, never the key)."""


def _pkcs1_pem(key: rsa.RSAPrivateKey) -> bytes:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL,
                             serialization.NoEncryption())


def load_private_key(pem: bytes, source: str = "the JWT private key") -> rsa.RSAPrivateKey:
    """An RSA private key from PKCS#1 PEM. A PKCS#8 key is refused loudly (the real server
    ignores one silently and then signs nothing)."""
    text = pem.strip()
    if not text.startswith(PKCS1_HEADER):
        if text.startswith(b"-----BEGIN PRIVATE KEY-----"):
            raise JwtKeyError(f"{source} is PKCS#8; an RSA key in PKCS#1 form is required "
                              "(convert it with `openssl rsa -in KEY -traditional -out KEY.pem`)")
        raise JwtKeyError(f"{source} is not an RSA private key in PKCS#1 PEM form "
                          "(-----BEGIN RSA PRIVATE KEY-----)")
    try:
        key = serialization.load_pem_private_key(text, password=None)
    except (ValueError, TypeError) as exc:
        raise JwtKeyError(f"{source} cannot be read: {type(exc).__name__}") from None
    if not isinstance(key, rsa.RSAPrivateKey):
        raise JwtKeyError(f"{source} is not an RSA key")
    if key.key_size < MIN_KEY_BITS:
        raise JwtKeyError(f"{source} has {key.key_size} bits; at least {MIN_KEY_BITS} are required")
    return key


def data_dir_key(data_dir: str | os.PathLike) -> rsa.RSAPrivateKey:
    """The data directory's signing key, generated (2048-bit, PKCS#1, mode 0600) on first use.

    Created by exclusive link of a fsynced temp file, so two nodes starting at once agree on one key.
    """
    path = Path(data_dir) / KEY_FILE
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        pem = _pkcs1_pem(rsa.generate_private_key(public_exponent=65537, key_size=MIN_KEY_BITS))
        try:
            write_file_exclusive(path, pem, mode=0o600)   # readable by this user only
        except FileExistsError:
            pass  # another node was first: use its key
    return load_private_key(path.read_bytes(), str(path))


def key_id(key: rsa.RSAPrivateKey) -> str:
    """A stable id for a key: the first 16 hex characters of SHA-256 of its public key (DER)."""
    der = key.public_key().public_bytes(serialization.Encoding.DER,
                                        serialization.PublicFormat.SubjectPublicKeyInfo)
    return hashlib.sha256(der).hexdigest()[:16]


@dataclass
class TokenPair:
    access_token: str
    refresh_token: str
    expires_in: int
    refresh_expires_in: int

    def info(self) -> dict:
        return {"accessToken": self.access_token, "refreshToken": self.refresh_token, "tokenType": "Bearer",
                "expiresIn": self.expires_in, "refreshExpiresIn": self.refresh_expires_in}


@dataclass
class Claims:
    user_id: int
    epoch: int
    kind: str
    expires_at: int


class Signer:
    """Issues and checks the JWTs of one deployment (one key, one issuer)."""

    def __init__(self, key: rsa.RSAPrivateKey, *, issuer: str = DEFAULT_ISSUER, kid: Optional[str] = None,
                 access_ttl_s: int = DEFAULT_ACCESS_TTL_S, refresh_ttl_s: int = DEFAULT_REFRESH_TTL_S):
        if access_ttl_s <= 0 or refresh_ttl_s <= 0:
            raise JwtKeyError("JWT lifetimes must be positive")
        self._key = key
        self._public = key.public_key()
        self.issuer = issuer
        self.kid = kid or key_id(key)
        self.access_ttl_s = access_ttl_s
        self.refresh_ttl_s = refresh_ttl_s
        # Tokens whose signature was checked already: an RS256 check costs ~0.3 ms and a client
        # sends the same access token on every request. Only the signature is remembered; expiry
        # is looked at every time, revocation by the caller (the user's session epoch).
        self._checked: Recent = Recent(CHECKED_CACHE_SIZE)   # token -> Claims
        self._checked_lock = threading.Lock()

    def _encode(self, user_id: int, epoch: int, kind: str, ttl_s: int, now: int) -> str:
        claims = {"iss": self.issuer, "sub": str(user_id), "iat": now, "exp": now + ttl_s,
                  "jti": secrets.token_urlsafe(16), "typ": kind, "sep": epoch}
        return jwt.encode(claims, self._key, algorithm="RS256", headers={"kid": self.kid})

    def issue(self, user_id: int, epoch: int, *, now: Optional[int] = None) -> TokenPair:
        now = int(time.time()) if now is None else now
        return TokenPair(self._encode(user_id, epoch, "access", self.access_ttl_s, now),
                         self._encode(user_id, epoch, "refresh", self.refresh_ttl_s, now),
                         self.access_ttl_s, self.refresh_ttl_s)

    def check(self, token: Any, kind: str) -> Optional[Claims]:
        """The claims of a valid, unexpired token of `kind` signed by this key, else None."""
        if not isinstance(token, str) or not looks_like_jwt(token):
            return None
        with self._checked_lock:
            known = self._checked.recall(token)
        if known is not None:
            return known if known.kind == kind and known.expires_at > time.time() else None
        claims = self._verify(token, kind)
        if claims is not None:
            with self._checked_lock:
                self._checked.keep(token, claims)
        return claims

    def _verify(self, token: str, kind: str) -> Optional[Claims]:
        try:
            claims = jwt.decode(token, self._public, algorithms=["RS256"], issuer=self.issuer,
                                options={"require": ["exp", "iat", "iss", "sub"]})
        except jwt.PyJWTError:
            return None
        sub, epoch = claims.get("sub"), claims.get("sep")
        if claims.get("typ") != kind or not isinstance(sub, str) or not sub.isdigit():
            return None
        if isinstance(epoch, bool) or not isinstance(epoch, int):
            return None
        return Claims(int(sub), epoch, kind, int(claims["exp"]))


#: Tokens whose verified claims a signer remembers (most recently used).
CHECKED_CACHE_SIZE = 4096
#: Longest JWT looked at (a header of megabytes is not worth base64-decoding).
MAX_JWT_CHARS = 8192


def looks_like_jwt(text: str) -> bool:
    """Three base64url segments separated by dots, the first a JSON header (``eyJ``)."""
    return (len(text) <= MAX_JWT_CHARS and text.startswith("eyJ") and text.count(".") == 2
            and text.isascii())
