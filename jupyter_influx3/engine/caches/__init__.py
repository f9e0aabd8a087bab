"""Last-value and distinct-value caches (behaviour reference §5).

`definitions.py` commits cache definitions to the catalog, `last_value.py` / `distinct_value.py`
hold the cached values, `registry.py` keeps a node's caches in step with the catalog and fed by the
write path, `sql.py` publishes `last_cache()`, `distinct_cache()` and the `system.*` tables.
The engine facade (`Engine.create_last_cache` …) is the API adapters call.
"""

from __future__ import annotations

from .definitions import create_distinct_cache, create_last_cache, delete_cache
from .registry import CacheRegistry
from .sql import register as _register_sql

_register_sql()


def registry_for(engine) -> CacheRegistry:
    """The engine's cache registry (made on first use if the engine has none yet)."""
    reg = engine.__dict__.get("caches")
    if reg is None:
        reg = engine.__dict__.setdefault("caches", CacheRegistry(engine))
    return reg


__all__ = ["CacheRegistry", "create_last_cache", "create_distinct_cache", "delete_cache", "registry_for"]
