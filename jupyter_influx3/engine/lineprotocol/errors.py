"""The messages of a rejected line, and the exception that carries one out of the exact parser.

Owns InfluxDB 3's error messages (from ``influxdb_line_protocol::Error``'s Display, verbatim: the
HTTP API returns them and clients match on them), ours where we are stricter than InfluxDB 3
(duplicate tag keys, control characters in names; see the package docstring), the 64 KiB string
limit they speak of, and :class:`_LPError` (a message plus a detail for people).  Owns wording
only: must not decide whether a line is wrong -- the parsers do.
"""

from __future__ import annotations


_E_MEASUREMENT = "Invalid measurement was provided"
_E_NO_FIELDS = "No fields were provided"
_E_BACKSLASH = "Measurements, tag keys and values, and field keys may not end with a backslash"
_E_TOO_LARGE = "String is greater than 64KB"
_STRING_LIMIT = 65_536


def _truncate_context(s: str) -> str:
    # Rust: if message.len() (bytes) > 10 { first 10 chars + "..." }
    if len(s.encode("utf-8")) > 10:
        return s[:10] + "..."
    return s


def _e_trailing(rest: str) -> str:
    return f"Could not parse entire line. Found trailing content: `{_truncate_context(rest)}`"


def _e_expected_space(rest: str) -> str:
    got = "end of input" if not rest else f"`{rest}`"
    return f"Expected at least one space character, got {got}"


def _e_expected_tag_key(rest: str) -> str:
    got = "end of input" if not rest else f"`{_truncate_context(rest)}`"
    return f"Expected tag key, got {got}"


def _e_expected_tag_value(rest: str) -> str:
    got = "end of input" if not rest else f"`{_truncate_context(rest)}`"
    return f"Expected tag value, got {got}"


def _e_tag_equals(rest: str) -> str:
    return f"Tag set malformed: could not find equals sign in `{_truncate_context(rest)}`"


def _e_dup_field(name: str) -> str:
    return f"invalid line protocol - multiple instances of '{name}' field found"


def _e_dup_tag(name: str) -> str:
    return f"invalid line protocol - multiple instances of '{name}' tag found"


def _e_control(ch: str, place: str) -> str:
    return f"invalid line protocol - control character U+{ord(ch):04X} in {place}"


class _LPError(Exception):
    def __init__(self, message: str, detail: str = ""):
        super().__init__(message)
        self.detail = detail
