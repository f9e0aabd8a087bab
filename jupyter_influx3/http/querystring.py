"""A query string's (key, value) pairs, as ``urllib.parse.parse_qsl(qs, keep_blank_values=True)``
reads them, with the percent-decoding done in C.

A new InfluxQL text in a URL is ~40 percent escapes, which ``parse_qsl`` decodes in a Python loop:
~9 µs a query string, three or four times that in a server whose caches another process just used
(a dashboard whose time range moves sends a new one every time). ``binascii.a2b_qp`` (quoted-
printable) decodes ``=XX`` in C; a percent escape becomes one, and a ``=`` of the string is
escaped first so that it stays itself (so no ``=`` is ever followed by a line break, which
quoted-printable reads as a soft line break). Where a string has a ``%`` not followed by two hex
digits (``parse_qsl`` keeps it as it is) or is not ASCII (``parse_qsl`` decodes each ASCII run
alone), it is read by ``parse_qsl``. tests/http/test_querystring.py compares the two on
generated strings.

Every query string of the HTTP layer is read here. Owns nothing but that: keeping a parse for the
next identical URL is base.query_pairs_of's.
"""

from __future__ import annotations

import binascii
import re
from urllib.parse import parse_qsl

__all__ = ["pairs"]

#: what a2b_qp would read otherwise than unquote does
_OTHERWISE = re.compile(r"%(?![0-9A-Fa-f]{2})")


def pairs(query: str) -> list[tuple[str, str]]:
    """``parse_qsl(query, keep_blank_values=True)``."""
    if not query.isascii() or _OTHERWISE.search(query) is not None:
        return parse_qsl(query, keep_blank_values=True)
    out = []
    for field in query.split("&"):
        if not field:
            continue
        name, _, value = field.partition("=")
        out.append((_decoded(name), _decoded(value)))
    return out


def _decoded(part: str) -> str:
    if "%" not in part:
        return part.replace("+", " ")
    qp = part.replace("=", "=3D").replace("%", "=").replace("+", " ")
    return binascii.a2b_qp(qp).decode("utf-8", "replace")
