"""What a piece of work leaves for the cyclic GC: the unreachable objects of this project's types
(or code) that reference counting alone did not free. Shared by the engine's and the HTTP
layer's reference-cycle tests."""

from __future__ import annotations

import gc
from typing import Callable


def ours(o) -> str | None:
    """The name of ``o`` if its type, or its function's code, is this project's."""
    t = type(o)
    if (getattr(t, "__module__", "") or "").startswith("jupyter_influx3"):
        return t.__qualname__
    if t.__name__ in ("function", "method"):
        f = getattr(o, "__func__", o)
        if (getattr(f, "__module__", "") or "").startswith("jupyter_influx3"):
            return f"{t.__name__} {f.__qualname__}"
    if t.__name__ == "frame" and "jupyter_influx3" in o.f_code.co_filename:
        return f"frame {o.f_code.co_name}"
    return None


def cyclic_garbage_of(run: Callable[[], object], everything: bool = False) -> list[str]:
    """Our objects among what ``run()`` leaves unreachable (``everything``: all of them, by type,
    for work no other thread of the process does meanwhile). Everything alive before is frozen
    out of the collector's sight (``gc.freeze``), so only what ``run`` made is looked at; the
    collector is off meanwhile, so nothing is collected before it is counted."""
    gc.collect()
    gc.freeze()
    gc.disable()
    gc.set_debug(gc.DEBUG_SAVEALL)
    try:
        run()
        gc.collect()
        if everything:
            return sorted({ours(o) or type(o).__qualname__ for o in gc.garbage})
        return sorted({n for n in map(ours, gc.garbage) if n})
    finally:
        gc.set_debug(0)
        gc.garbage.clear()
        gc.enable()
        gc.unfreeze()
