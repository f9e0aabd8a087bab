"""Cross-origin policy of the InfluxDB-token API: which web pages may talk to it from a browser.

The real server answers every success and every ``OPTIONS`` with ``Access-Control-Allow-Origin: *``.
For a database that also runs next to a browser (the notebook port, ``localhost:8181``) that lets
any web page the user opens read answers, and a ``text/plain`` POST needs no preflight at all, so a
page could write, delete or mint the operator token (issue 10).  Here, by default, no page may:

* a request that carries an ``Origin`` header (browsers send one on every cross-origin fetch and on
  every POST) is refused with a 403 unless the origin is on the allow-list -- refused before
  authentication and before any work, so a "simple" request cannot act either;
* an allowed origin gets ``Access-Control-Allow-Origin: <that origin>`` (``Vary: Origin``) on
  successes and on its preflights; ``*`` in the list restores the real server's ``*`` for all.

Requests without ``Origin`` (curl, Telegraf, the client libraries, Grafana's backend) are not
cross-origin requests and are unaffected.  The allow-list is ``influx3 serve --cors-origins`` or
``Influx3App.cors_origins``.

DNS rebinding is the other way a web page reaches a server on ``127.0.0.1``: its own name is made
to resolve to the loopback address, so its requests are "same-origin" and a GET carries no
``Origin``.  They do carry the page's name in ``Host``, so a standalone server listening on a
loopback address answers only ``Host`` names that are loopback addresses, ``localhost`` or on
``influx3 serve --allowed-hosts`` (the extension applies Jupyter's own check).

This module owns both lists' syntax and the headers; it never looks at tokens (authentication
stays in ``auth.py``).
"""

from __future__ import annotations

import functools
import ipaddress
import re
from typing import Iterable, Optional

ANY = "*"
#: ``scheme://host[:port]`` as browsers send it (no path, no trailing slash), or the opaque ``null``.
_ORIGIN = re.compile(r"^(null|[a-z][a-z0-9+.-]*://(\[[0-9a-f:.]+\]|[a-z0-9.-]+)(:\d{1,5})?)$")
ALLOW_HEADERS = "Authorization, Content-Type, Content-Encoding, Accept, *"
EXPOSE_HEADERS = "cluster-uuid, Request-Id, X-Request-Id, X-Influxdb-Build, X-Influxdb-Version"


def parse_origins(values: str | Iterable[str]) -> tuple[str, ...]:
    """``"https://a.example, http://localhost:3000"`` (or a list) -> the normalized allow-list.

    Raises ValueError for an entry that is not ``*``, ``null`` or ``scheme://host[:port]``."""
    items = values.split(",") if isinstance(values, str) else list(values)
    out: list[str] = []
    for item in items:
        origin = str(item).strip().rstrip("/").lower()
        if not origin:
            continue
        if origin != ANY and not _ORIGIN.match(origin):
            raise ValueError(f"not an origin: {item.strip()!r} (expected scheme://host[:port], null or *)")
        if origin not in out:
            out.append(origin)
    return tuple(out)


def allows(origins: tuple[str, ...], origin: Optional[str]) -> bool:
    """Whether a request with this ``Origin`` header value may be served."""
    if origin is None:
        return True  # not a cross-origin request from a browser
    return ANY in origins or origin.strip().rstrip("/").lower() in origins


def refusal_message(origin: str) -> str:
    shown = origin if len(origin) <= 200 else origin[:200] + "..."
    return (f"cross-origin request from {shown} refused: add the origin to the server's allow-list "
            "(influx3 serve --cors-origins, or Influx3App.cors_origins in Jupyter)")


def allow_origin_headers(origins: tuple[str, ...], origin: Optional[str]) -> dict[str, str]:
    """Headers of a successful answer: who may read it."""
    if ANY in origins:
        return {"Access-Control-Allow-Origin": ANY, "Access-Control-Expose-Headers": EXPOSE_HEADERS}
    if origin is not None and allows(origins, origin):
        return {"Access-Control-Allow-Origin": origin.strip(), "Vary": "Origin",
                "Access-Control-Expose-Headers": EXPOSE_HEADERS}
    return {}


def preflight_headers(origins: tuple[str, ...], origin: Optional[str]) -> dict[str, str]:
    """Headers of the 204 answer to ``OPTIONS`` (none unless the origin is allowed)."""
    headers = allow_origin_headers(origins, origin)
    if not headers:
        return {}
    headers.pop("Access-Control-Expose-Headers", None)
    # "*" alone does not cover Authorization (Fetch standard), hence the explicit names.
    headers.update({"Access-Control-Allow-Methods": "GET, POST, PUT, PATCH, DELETE, OPTIONS",
                    "Access-Control-Allow-Headers": ALLOW_HEADERS, "Access-Control-Max-Age": "86400"})
    return headers


# ---- Host names (DNS rebinding) -----------------------------------------------------------------

_HOSTNAME = re.compile(r"^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*\.?$")
LOOPBACK_NAMES = ("localhost",)


def parse_hosts(values: str | Iterable[str]) -> Optional[tuple[str, ...]]:
    """``"influx.example, db.internal"`` -> the extra Host names to answer; ``*`` -> None (any).
    Raises ValueError for something that is not a host name or an IP address."""
    items = values.split(",") if isinstance(values, str) else list(values)
    out: list[str] = []
    for item in items:
        name = str(item).strip().lower()
        if not name:
            continue
        if name == ANY:
            return None
        if not (_HOSTNAME.match(name) or _ip(name.strip("[]")) is not None):
            raise ValueError(f"not a host name: {str(item).strip()!r} (expected a name, an IP address or *)")
        out.append(name.strip("[]"))
    return tuple(out)


def loopback_only(bind_host: str) -> bool:
    """Whether a server listening on ``bind_host`` can only be reached through the loopback."""
    if bind_host in LOOPBACK_NAMES:
        return True
    ip = _ip(bind_host.strip("[]"))
    return ip is not None and ip.is_loopback


def host_allowed(allowed: Optional[tuple[str, ...]], host_header: str) -> bool:
    """Whether a request's ``Host`` (port ignored) is a name this server answers: any when
    ``allowed`` is None, else loopback addresses, ``localhost`` and the names in ``allowed``."""
    if allowed is None:
        return True
    host = (host_header or "").strip().lower()
    if not host:
        return True  # no Host at all (HTTP/1.0 tools): not a browser, which always names the host
    if host.startswith("["):
        host = host[1:].split("]", 1)[0]
    elif host.count(":") == 1:
        host = host.split(":", 1)[0]
    host = host.rstrip(".")
    return _is_loopback(host) or host in allowed


@functools.lru_cache(maxsize=256)
def _is_loopback(host: str) -> bool:
    # every request asks about the same few names; parsing an address costs ~10 µs
    if host in LOOPBACK_NAMES:
        return True
    ip = _ip(host)
    return ip is not None and ip.is_loopback


def host_refusal_message(host_header: str) -> str:
    shown = host_header if len(host_header) <= 200 else host_header[:200] + "..."
    return (f"Host {shown!r} not allowed: this server listens on a loopback address and answers only local "
            "names (add others with influx3 serve --allowed-hosts)")


def _ip(text: str):
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        return None
