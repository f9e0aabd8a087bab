"""Writing line protocol (SELECT INTO, DataFrames): the escapes the parsers undo.

Owns the three escaping rules of line protocol's writing side: measurement names, keys and tag
values, and string field values.  Must not parse anything, and must stay the exact inverse of the
unescaping in ``exact.py`` (what these write must read back as the same text).
"""

from __future__ import annotations


def escape_measurement(name: str) -> str:
    """A measurement name: backslash before comma and space."""
    return name.replace("\\", "\\\\").replace(",", "\\,").replace(" ", "\\ ")


def escape_key(text: str) -> str:
    """Tag keys, tag values and field keys: backslash before comma, equals sign and space."""
    return text.replace("\\", "\\\\").replace(",", "\\,").replace("=", "\\=").replace(" ", "\\ ")


def escape_string_field(text: str) -> str:
    """A string field's text (without its quotes): backslash before backslash and double quote."""
    return text.replace("\\", "\\\\").replace('"', '\\"')
