"""The user and login parts of the ``influx3`` command (cli.py owns the rest):

    influx3 serve ... --user-auth-type basic [--jwt-private-key PEM] [--jwt-key-id ID]
                      [--jwt-issuer ISS] [--jwt-default-ttl-seconds N]
    influx3 create user NAME [--password P] [--display-name D] [--role ROLE ...] [--initial]
    influx3 show users [--format pretty|json]
    influx3 update user-roles NAME|ID --role ROLE ...
    influx3 delete user NAME|ID
    influx3 auth login [--username U] [--password P] [--new-password N]
    influx3 auth logout [--all]

The client commands are thin callers of the HTTP API (cli._api_call); with no ``--token`` they use
the credentials ``auth login`` stored (credentials.py), refreshed automatically.
"""

from __future__ import annotations

import argparse
import getpass
import json
import os
import sys
from pathlib import Path
from typing import Optional

from . import credentials

USER_AUTH_TYPES = ("none", "basic")


# ---- serve ----------------------------------------------------------------------------------


def add_serve_options(serve: argparse.ArgumentParser) -> None:
    serve.add_argument("--user-auth-type", choices=USER_AUTH_TYPES,
                       default=os.environ.get("INFLUX3_USER_AUTH_TYPE", "none"),
                       help="basic: users log in with a name and password and get JWTs (default none)")
    serve.add_argument("--jwt-private-key", default=None, metavar="FILE",
                       help="RSA private key (PKCS#1 PEM) that signs users' JWTs (default: one generated "
                            "into <data-dir>/users/)")
    serve.add_argument("--jwt-key-id", default=None, metavar="ID", help="`kid` of the JWTs (default: from the key)")
    serve.add_argument("--jwt-issuer", default="influxdb3-enterprise", metavar="ISS", help="`iss` of the JWTs")
    serve.add_argument("--jwt-default-ttl-seconds", type=int, default=3600, metavar="N",
                       help="lifetime of an access token (default 3600)")
    serve.add_argument("--max-login-failures-per-user", type=int, default=5, metavar="N",
                       help="failed logins of one user name before its logins are slowed down (default 5)")
    serve.add_argument("--max-login-failures-per-address", type=int, default=50, metavar="N",
                       help="failed logins from one client address before its logins are slowed down (default 50)")


def open_user_auth(args: argparse.Namespace, engine, auth_settings):
    """The server's `UserAuth` for --user-auth-type basic, None when off, False after an error
    (printed)."""
    if args.user_auth_type != "basic":
        return None
    from .engine import errors
    from .engine.users import UserAuth
    from .engine.users.throttle import LoginThrottle

    if not auth_settings.enabled:
        print("influx3: error: --user-auth-type basic needs authentication on (drop --without-auth)", file=sys.stderr)
        return False
    if args.jwt_default_ttl_seconds <= 0 or min(args.max_login_failures_per_user,
                                                args.max_login_failures_per_address) < 1:
        print("influx3: error: --jwt-default-ttl-seconds and --max-login-failures-* must be positive", file=sys.stderr)
        return False
    pem = None
    if args.jwt_private_key:
        try:
            pem = Path(args.jwt_private_key).expanduser().read_bytes()
        except OSError as exc:
            print(f"influx3: error: cannot read {args.jwt_private_key}: {exc.strerror}", file=sys.stderr)
            return False
    try:
        users = UserAuth.open(engine.catalog, engine.data_dir, private_key_pem=pem, key_id=args.jwt_key_id,
                              issuer=args.jwt_issuer, access_ttl_s=args.jwt_default_ttl_seconds,
                              throttle=LoginThrottle(args.max_login_failures_per_user,
                                                     args.max_login_failures_per_address))
    except errors.EngineError as exc:
        print(f"influx3: error: {exc}", file=sys.stderr)
        return False
    if not engine.catalog.users:
        print("influx3: user authentication is on and there is no user yet: create the first one (an Admin) "
              "with `influx3 create user NAME --initial`", file=sys.stderr, flush=True)
    return users


# ---- client commands --------------------------------------------------------------------------


def _call(args, method: str, path: str, body: Optional[dict] = None, ok=(200,)):
    """(ok, decoded JSON answer) of one API call; errors are printed."""
    from .cli import _answer_failed, _api_call

    status, answer = _api_call(args.host, method, path, args.token, body, timeout=args.timeout)
    if _answer_failed(args.host, status, answer, ok=ok):
        return False, None
    return True, json.loads(answer) if answer else None


def _password(args, prompt: str = "Password: ") -> Optional[str]:
    if args.password is not None:
        return args.password
    if not sys.stdin.isatty():
        line = sys.stdin.readline()
        return line.rstrip("\r\n") if line else None
    return getpass.getpass(prompt)


def _find_user_id(args, who: str) -> Optional[int]:
    if who.isdigit():
        return int(who)
    ok, answer = _call(args, "GET", "/api/v3/users")
    if not ok:
        return None
    for user in answer.get("items", []):
        if str(user.get("username", "")).casefold() == who.casefold():
            return user["userId"]
    print(f"error: no user named {who!r}", file=sys.stderr)
    return None


def _role_ids(args, names: list[str]) -> Optional[list[int]]:
    ok, answer = _call(args, "GET", "/api/v3/roles")
    if not ok:
        return None
    by_name = {str(r["name"]).casefold(): r["id"] for r in answer.get("items", [])}
    ids = []
    for name in names:
        rid = int(name) if name.isdigit() else by_name.get(name.casefold())
        if rid is None:
            print(f"error: unknown role {name!r} (roles: {', '.join(r['name'] for r in answer['items'])})",
                  file=sys.stderr)
            return None
        ids.append(rid)
    return ids


def cmd_create_user(args) -> int:
    password = _password(args)
    if not password:
        print("error: no password given", file=sys.stderr)
        return 2
    body = {"username": args.name, "password": password}
    if args.display_name:
        body["displayName"] = args.display_name
    if args.initial:
        if args.role or args.require_password_reset:
            print("error: the initial user is an Admin; --role and --require-password-reset do not apply", file=sys.stderr)
            return 2
        ok, user = _call(args, "POST", "/api/v3/configure/user", body, ok=(201,))
    else:
        if args.role:
            ids = _role_ids(args, args.role)
            if ids is None:
                return 1
            body["roleIds"] = ids
        if args.require_password_reset:
            body["requiresPasswordReset"] = True
        ok, user = _call(args, "POST", "/api/v3/users", body, ok=(201,))
    if not ok:
        return 1
    print(f'User "{user["username"]}" created (id {user["userId"]})')
    if user.get("operatorToken"):
        print(f"Operator token: {user['operatorToken']}\n"
              "IMPORTANT: Store this token securely, as it will not be shown again.")
    return 0


def cmd_show_users(args) -> int:
    ok, users = _call(args, "GET", "/api/v3/users")
    if not ok:
        return 1
    items = users.get("items", [])
    if args.format == "json":
        print(json.dumps(items, indent=2))
        return 0
    ok, roles = _call(args, "GET", "/api/v3/roles")
    names = {r["id"]: r["name"] for r in (roles or {}).get("items", [])} if ok else {}
    rows = [("id", "username", "display name", "roles", "password reset")]
    for u in items:
        rows.append((str(u["userId"]), u.get("username", ""), u.get("displayName", ""),
                     ",".join(names.get(r, str(r)) for r in u.get("roleIds", [])),
                     "required" if u.get("requiresPasswordReset") else ""))
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    rule = "+" + "+".join("-" * (w + 2) for w in widths) + "+"
    print(rule)
    for i, row in enumerate(rows):
        print("| " + " | ".join(c.ljust(w) for c, w in zip(row, widths)) + " |")
        if i == 0:
            print(rule)
    print(rule)
    return 0


def cmd_update_user_roles(args) -> int:
    uid = _find_user_id(args, args.user)
    ids = _role_ids(args, args.role) if uid is not None else None
    if ids is None:
        return 1
    ok, answer = _call(args, "PUT", f"/api/v3/users/{uid}/roles", {"roleIds": ids})
    if not ok:
        return 1
    print(f'Roles of user "{args.user}": {", ".join(r["name"] for r in answer["items"]) or "(none)"}')
    return 0


def cmd_delete_user(args) -> int:
    uid = _find_user_id(args, args.user)
    if uid is None:
        return 1
    ok, _ = _call(args, "DELETE", f"/api/v3/users/{uid}")
    if not ok:
        return 1
    print(f'User "{args.user}" deleted')
    return 0


def cmd_auth_login(args) -> int:
    username = args.username or (input("Username: ") if sys.stdin.isatty() else None)
    if not username:
        print("error: give --username", file=sys.stderr)
        return 2
    password = _password(args)
    if not password:
        print("error: no password given", file=sys.stderr)
        return 2
    try:
        if args.new_password:
            credentials.reset_password(args.host, username, password, args.new_password, args.timeout)
            password = args.new_password
        entry = credentials.login(args.host, username, password, args.timeout)
    except credentials.LoginError as exc:
        print(f"error ({exc.status}): {exc.message}" if exc.status else f"error: {exc.message}", file=sys.stderr)
        if exc.status == 403 and "reset" in exc.message:
            print("hint: set a new password with --new-password", file=sys.stderr)
        return 1
    path = credentials.save(args.host, entry)
    print(f"Logged in to {args.host} as {username} (credentials in {path})")
    return 0


def cmd_auth_logout(args) -> int:
    removed = credentials.remove(None if args.all else args.host)
    where = "every server" if args.all else args.host
    print(f"Logged out of {where}" if removed else f"Not logged in to {where}")
    return 0


def add_commands(sub, create_sub, delete_sub, show_sub, client_options) -> None:
    """Register the user and auth commands on the parsers cli.py built."""
    user = create_sub.add_parser("user", help="create a user (with --initial: the first user, an Admin)")
    user.add_argument("name", metavar="USERNAME")
    user.add_argument("--password", default=None, help="the password (default: prompted, or read from standard input)")
    user.add_argument("--display-name", default=None)
    user.add_argument("--role", action="append", default=[], metavar="ROLE", help="Admin, Auditor or Member (repeatable)")
    user.add_argument("--require-password-reset", action="store_true", help="the user must set a new password first")
    user.add_argument("--initial", action="store_true",
                      help="the first user of a server (no token needed on a new server; prints the operator token)")
    client_options(user)
    user.set_defaults(func=cmd_create_user)

    users = show_sub.add_parser("users", help="list users")
    users.add_argument("--format", choices=("pretty", "json"), default="pretty")
    client_options(users)
    users.set_defaults(func=cmd_show_users)

    update_sub = sub.add_parser("update", help="change resources on a server (user-roles)")
    update_res = update_sub.add_subparsers(dest="resource", metavar="RESOURCE")
    update_res.required = True
    roles = update_res.add_parser("user-roles", help="replace the roles of a user")
    roles.add_argument("user", metavar="USERNAME|ID")
    roles.add_argument("--role", action="append", required=True, metavar="ROLE",
                       help="Admin, Auditor or Member (repeatable; replaces the user's roles)")
    client_options(roles)
    roles.set_defaults(func=cmd_update_user_roles)

    delete = delete_sub.add_parser("user", help="delete a user (their tokens stop working)")
    delete.add_argument("user", metavar="USERNAME|ID")
    client_options(delete)
    delete.set_defaults(func=cmd_delete_user)

    auth = sub.add_parser("auth", help="log in to a server as a user, or out")
    auth_sub = auth.add_subparsers(dest="auth_command", metavar="login|logout")
    auth_sub.required = True
    login = auth_sub.add_parser("login", help="log in and keep the credentials (refreshed automatically)")
    login.add_argument("--username", "-u", default=None)
    login.add_argument("--password", default=None, help="default: prompted, or read from standard input")
    login.add_argument("--new-password", default=None, help="set this new password first (when a reset is required)")
    client_options(login)
    login.set_defaults(func=cmd_auth_login)
    logout = auth_sub.add_parser("logout", help="forget the stored credentials (tokens stay valid until they expire)")
    logout.add_argument("--all", action="store_true", help="for every server")
    client_options(logout)
    logout.set_defaults(func=cmd_auth_logout)
