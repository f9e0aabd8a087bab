"""Trigger specifications and settings: parsing, validation, next fire times, and the JSON shape
`system.processing_engine_triggers` prints (behaviour reference §6.2, §6.8).

Owns the five specification forms (`table:<t>`, `all_tables`, `cron:<6|7 fields, seconds first>`,
`every:<humantime>`, `request:<path>`) and the `error_behavior` spellings. Does not run anything.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import datetime, timezone

from croniter import croniter

from ..catalog import parse_duration
from .errors import PluginError

SPEC_FORMS = ("'table:<TABLE_NAME>', 'all_tables', 'cron:<CRON_EXPRESSION>', 'every:<DURATION>', "
              "or 'request:<PATH>'")
MAX_EVERY_NS = 365 * 86400 * 10**9
ERROR_BEHAVIORS = ("log", "retry", "disable")
_REQUEST_PATH = re.compile(r"^[A-Za-z0-9_.~\-]+(/[A-Za-z0-9_.~\-]+)*$")


@dataclass(frozen=True)
class Spec:
    """A parsed trigger specification. `kind`: table | all_tables | cron | every | request."""
    kind: str
    value: str = ""          # table name, cron expression, request path
    every_ns: int = 0

    @property
    def is_wal(self) -> bool:
        return self.kind in ("table", "all_tables")

    @property
    def is_schedule(self) -> bool:
        return self.kind in ("cron", "every")

    @property
    def plugin_type(self) -> str:
        """`wal` | `schedule` | `request` (the --restrict-plugin-triggers-to vocabulary)."""
        return "wal" if self.is_wal else "schedule" if self.is_schedule else "request"

    def serde_json(self) -> str:
        """The spec as the real server's `system.processing_engine_triggers` prints it."""
        if self.kind == "all_tables":
            return json.dumps("all_tables_wal_write")
        if self.kind == "table":
            return json.dumps({"single_table_wal_write": {"table_name": self.value}}, separators=(",", ":"))
        if self.kind == "cron":
            return json.dumps({"schedule": {"schedule": self.value}}, separators=(",", ":"))
        if self.kind == "every":
            secs, nanos = divmod(self.every_ns, 10**9)
            return json.dumps({"every": {"duration": {"secs": secs, "nanos": nanos}}}, separators=(",", ":"))
        return json.dumps({"request_path": {"path": self.value}}, separators=(",", ":"))

    def next_fire(self, after: datetime) -> datetime:
        """The first scheduled time strictly after `after` (aware UTC datetimes)."""
        if self.kind == "cron":
            return croniter(self.value, after, second_at_beginning=True).get_next(datetime)
        if self.kind == "every":
            # Aligned to the epoch, like the real server's interval: every node agrees on the ticks.
            ns = int(after.timestamp() * 10**9)
            nxt = (ns // self.every_ns + 1) * self.every_ns
            return datetime.fromtimestamp(nxt / 10**9, tz=timezone.utc)
        raise ValueError(f"{self.kind} triggers are not scheduled")


def parse_spec(text: str) -> Spec:
    """`text` as a Spec; PluginError (the real server's message) when it is none of the forms."""
    s = text.strip() if isinstance(text, str) else ""
    bad = PluginError(f"failed to parse trigger from {text}: expect one of the following forms: {SPEC_FORMS}")
    if s == "all_tables":
        return Spec("all_tables")
    kind, sep, rest = s.partition(":")
    rest = rest.strip()
    if not sep or not rest:
        raise bad
    if kind == "table":
        return Spec("table", rest)
    if kind == "cron":
        return Spec("cron", validate_cron(rest))
    if kind == "every":
        try:
            ns = parse_duration(rest)
        except ValueError:
            raise bad from None
        if ns <= 0 or ns > MAX_EVERY_NS:
            raise PluginError(f"invalid duration in trigger specification {text}: must be above zero "
                              "and at most 1 year")
        return Spec("every", rest, ns)
    if kind == "request":
        if not _REQUEST_PATH.match(rest) or any(seg in (".", "..") for seg in rest.split("/")):
            raise PluginError(f"invalid request path {rest!r}: letters, digits, '_', '-', '.', '~' and '/'")
        return Spec("request", rest)
    raise bad


def validate_cron(expr: str) -> str:
    """A 6-field (seconds first) or 7-field (plus year) cron expression; PluginError otherwise."""
    fields = expr.split()
    if len(fields) not in (6, 7) or not croniter.is_valid(" ".join(fields), second_at_beginning=True):
        raise PluginError(f"invalid cron expression {expr!r}: expected 6 fields (seconds first) "
                          "or 7 (with a year), e.g. '0 */5 * * * *'")
    return " ".join(fields)


def normalize_error_behavior(value) -> str:
    """`log` | `retry` | `disable`; the OpenAPI spec's `Log`/`Retry`/`Disable` are accepted too."""
    if isinstance(value, str) and value.lower() in ERROR_BEHAVIORS and (value.islower() or value.istitle()):
        return value.lower()
    shown = json.dumps(value) if not isinstance(value, str) else f"`{value}`"
    raise PluginError(f"unknown variant {shown}, expected one of `log`, `retry`, `disable`")
