"""Users, roles and login (InfluxDB 3 Enterprise 3.10's preview; behaviour reference
plugins_explorer_enterprise.md §C.5).

* ``accounts`` -- users and the built-in roles as catalog records, their transactions and API
  shapes, and the token-shaped record of what a user may do;
* ``passwords`` -- argon2id hashes and their constant-time check;
* ``jwts`` -- the RS256 key (PKCS#1) and the access/refresh JWTs;
* ``throttle`` -- failed logins slowed down per user name and per client address;
* ``login`` -- :class:`UserAuth`, the login flow a server with user authentication holds.

Knows nothing of HTTP; the permission check stays the one in engine/tokens.py.
"""

from .accounts import UserPrincipal
from .login import LoginFailed, PasswordResetRequired, Throttled, UserAuth, resolve

__all__ = ["UserAuth", "UserPrincipal", "LoginFailed", "PasswordResetRequired", "Throttled", "resolve"]
