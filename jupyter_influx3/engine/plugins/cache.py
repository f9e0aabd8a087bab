"""`influxdb3_local.cache`: an in-memory key/value store with TTLs, one namespace per trigger plus
a global one (behaviour reference §6.4, plugins reference §A.3 item 5).

Owns the stored values (any Python object) and their expiry. Process-local and not persisted, like
the real server's. Not related to the last/distinct value caches of `engine/caches/`.
"""

from __future__ import annotations

import math
import threading
import time
from typing import Any

GLOBAL = "\x00global"


class CacheStore:
    """Every namespace of one process."""

    def __init__(self):
        self._lock = threading.Lock()
        self._data: dict[str, dict[str, tuple[Any, float | None]]] = {}

    def put(self, namespace: str, key: str, value: Any, ttl: float | None) -> None:
        if ttl is not None:
            ttl = float(ttl)
            if math.isnan(ttl) or ttl < 0:
                raise ValueError("ttl must be a non-negative number of seconds")
        expires = None if ttl is None else time.monotonic() + ttl
        with self._lock:
            self._data.setdefault(namespace, {})[key] = (value, expires)

    def get(self, namespace: str, key: str, default: Any = None) -> Any:
        with self._lock:
            hit = self._data.get(namespace, {}).get(key)
            if hit is None:
                return default
            value, expires = hit
            if expires is not None and expires <= time.monotonic():
                del self._data[namespace][key]
                return default
            return value

    def delete(self, namespace: str, key: str) -> bool:
        with self._lock:
            hit = self._data.get(namespace, {}).pop(key, None)
            return hit is not None and (hit[1] is None or hit[1] > time.monotonic())

    def sweep(self) -> None:
        now = time.monotonic()
        with self._lock:
            for ns in self._data.values():
                for k in [k for k, (_, e) in ns.items() if e is not None and e <= now]:
                    del ns[k]

    def drop_namespace(self, namespace: str) -> None:
        with self._lock:
            self._data.pop(namespace, None)


class PluginCache:
    """The object a plugin sees as `influxdb3_local.cache`, bound to its trigger's namespace."""

    def __init__(self, store: CacheStore, namespace: str, default_ttl: float | None = None):
        self._store, self._ns, self._default_ttl = store, namespace, default_ttl

    def _space(self, use_global) -> str:
        return GLOBAL if use_global else self._ns

    def put(self, key: str, value: Any, ttl: float | None = None, use_global: bool | None = False) -> None:
        self._store.put(self._space(use_global), key, value, self._default_ttl if ttl is None else ttl)

    def get(self, key: str, default: Any = None, use_global: bool | None = False) -> Any:
        return self._store.get(self._space(use_global), key, default)

    def delete(self, key: str, use_global: bool | None = False) -> bool:
        return self._store.delete(self._space(use_global), key)
