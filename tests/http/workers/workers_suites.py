"""What a module of tests/workers/ takes from the tests/http module it runs again (see conftest.py)."""

from __future__ import annotations

import inspect


def rerun(module, skip: dict[str, str] | None = None) -> dict:
    """The names a module here takes from `module`: its fixtures and helpers, and the tests that use
    the servers its fixtures share -- not the ones that start servers of their own (they are about
    one server's life, and would double the suite's time) nor those in `skip` (name -> why: a test
    about a single process)."""
    skip = skip or {}
    out = {}
    for name, obj in vars(module).items():
        if name.startswith("_") or name in skip:
            continue
        if name.startswith("test_") and callable(obj) and "start_influx3" in inspect.signature(obj).parameters:
            continue
        out[name] = obj
    return out
