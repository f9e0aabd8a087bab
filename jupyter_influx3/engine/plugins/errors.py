"""Errors of the processing engine, as the HTTP layer tells them apart (behaviour reference §6).

Owns their names and messages; the statuses are the http layer's (`http/plugins.py`).
"""

from __future__ import annotations

from ..errors import EngineError


class PluginError(EngineError):
    """A plugin operation the real server refuses with its catch-all 500 (`Plugin error: …` and
    trigger-spec parse errors), unless a subclass says otherwise."""


class PluginDirNotSet(PluginError):
    def __init__(self):
        super().__init__("Plugin error: Node not configured with plugin directory")


class PluginNotFound(PluginError):
    """The plugin file a trigger or test names does not exist."""


class InvalidPluginPath(PluginError):
    """A plugin path that leaves the plugin directory (traversal) or is otherwise unusable: 400."""


class TriggerRunning(PluginError):
    def __init__(self, name: str):
        super().__init__(f"Cannot delete running plugin {name}. Disable it first or use --force.")


class TriggerTypeRestricted(PluginError):
    """`--restrict-plugin-triggers-to` refuses this kind of trigger: 400."""


class PackageManagerDisabled(PluginError):
    """`--package-manager disabled`: 403."""


class InstallFailed(PluginError):
    """pip/uv failed; the message holds its output."""
