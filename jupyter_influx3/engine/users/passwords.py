"""Passwords: the argon2id hash kept in the catalog, its constant-time check, and the policy.

Owns how a password is hashed and compared, never where it is stored (accounts.py) and never its
transport. A password never appears in a return value, an exception message or a log line.
"""

from __future__ import annotations

from typing import Any, Optional

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from .. import errors

MIN_PASSWORD_CHARS = 8
#: Longer passwords are refused: hashing megabytes on every login attempt would be a cheap DoS.
MAX_PASSWORD_CHARS = 1024

#: argon2id with OWASP's minimum parameters (19 MiB, 2 passes, 1 lane): a login costs tens of
#: milliseconds on one core, a guess on a GPU just as many; argon2-cffi's default (64 MiB, 4 lanes)
#: took 0.5 s per login on the 2 shared cores this runs on.
_HASHER = PasswordHasher(time_cost=2, memory_cost=19 * 1024, parallelism=1)
#: Compared against when the user does not exist, so an unknown name costs as much as a wrong
#: password (no user enumeration by timing).
_DUMMY_HASH = _HASHER.hash("influx3 dummy password, never valid")


class InvalidPassword(errors.EngineError):
    """A new password that breaks the policy (the message never includes it)."""


def validate(password: Any, what: str = "password") -> str:
    if not isinstance(password, str):
        raise InvalidPassword(f"{what} must be a string")
    if len(password) < MIN_PASSWORD_CHARS:
        raise InvalidPassword(f"{what} must be at least {MIN_PASSWORD_CHARS} characters")
    if len(password) > MAX_PASSWORD_CHARS:
        raise InvalidPassword(f"{what} must be at most {MAX_PASSWORD_CHARS} characters")
    if "\x00" in password:
        raise InvalidPassword(f"{what} cannot contain NUL characters")
    return password


def hash_password(password: str) -> str:
    return _HASHER.hash(password)


def verify(stored_hash: Optional[str], password: Any) -> bool:
    """Does `password` match `stored_hash`? Costs one argon2 hash whatever the answer, also
    when there is no stored hash (unknown user) or the password is absurd."""
    if not isinstance(password, str) or len(password) > MAX_PASSWORD_CHARS:
        password = ""
    try:
        _HASHER.verify(stored_hash or _DUMMY_HASH, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False
    return stored_hash is not None
