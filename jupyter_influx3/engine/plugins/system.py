"""The processing engine's system tables (behaviour reference §6.8): triggers and their arguments
(from the catalog, so every node lists them), the plugin logs of this process (with tracebacks),
and `_internal`'s `plugin_files`.

Owns only their rows; the tables are published through `engine/sql/system.py`'s registry.
"""

from __future__ import annotations

import pyarrow as pa

from ..sql.system import register_system_table
from .logs import LOGS
from .spec import parse_spec

_s = pa.string()
TRIGGERS_SCHEMA = pa.schema([("trigger_name", _s), ("plugin_filename", _s), ("trigger_specification", _s),
                             ("disabled", pa.bool_()), ("error_behavior", _s)])
ARGUMENTS_SCHEMA = pa.schema([("trigger_name", _s), ("argument_key", _s), ("argument_value", _s)])
LOGS_SCHEMA = pa.schema([("event_time", pa.timestamp("ns")), ("trigger_name", _s), ("log_level", _s),
                         ("log_text", _s)])
FILES_SCHEMA = pa.schema([("plugin_name", _s), ("file_name", _s), ("file_path", _s), ("size_bytes", pa.uint64()),
                          ("last_modified", pa.int64())])


def _spec_json(text: str) -> str:
    try:
        return parse_spec(text).serde_json()
    except Exception:  # noqa: BLE001 - a record written by a newer version: show it as it is
        return text


def _triggers(engine, database):
    return [{"trigger_name": t.name, "plugin_filename": t.plugin_filename,
             "trigger_specification": _spec_json(t.specification), "disabled": t.disabled,
             "error_behavior": t.error_behavior}
            for t in sorted(database.triggers.values(), key=lambda t: t.name)]


def _arguments(engine, database):
    return [{"trigger_name": t.name, "argument_key": k, "argument_value": v}
            for t in sorted(database.triggers.values(), key=lambda t: t.name)
            for k, v in sorted((t.arguments or {}).items())]


def _logs(engine, database):
    # one ring buffer per process, like the real server's; each database sees its own triggers'
    # lines (the real server shows every database's: plugin logs may hold another database's data)
    return [line.as_row() for line in LOGS.lines(database=database.name)]


def _plugin_files(engine, database):
    pe = getattr(engine, "plugins", None)
    return pe.plugin_files() if pe is not None else []


def register() -> None:
    register_system_table("processing_engine_triggers", TRIGGERS_SCHEMA, _triggers)
    register_system_table("processing_engine_trigger_arguments", ARGUMENTS_SCHEMA, _arguments)
    register_system_table("processing_engine_logs", LOGS_SCHEMA, _logs)
    register_system_table("plugin_files", FILES_SCHEMA, _plugin_files, internal_only=True)
