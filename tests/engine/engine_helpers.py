"""Helpers for the engine tests (importable by name: pytest puts this folder on sys.path)."""

from __future__ import annotations

import time
from typing import Any, Callable


def eventually(cond: Callable[[], Any], seconds: float = 20.0) -> Any:
    """`cond()`'s first truthy value within `seconds` (background work catching up), else its last
    value (falsy)."""
    deadline = time.monotonic() + seconds
    while not (value := cond()) and time.monotonic() < deadline:
        time.sleep(0.02)
    return value
