"""A value one thread-local attribute holds for the length of a ``with`` block.

The per-thread switches of the engine (this thread's query scope in cancellation.py, "one-time
work goes elsewhere" in onetime.py, "deferred work goes to this list" in afterwards.py) are each an
attribute of a ``threading.local`` set for a block and then given back its value from before (so
blocks nest). A class, not a ``contextlib`` generator: the event loop enters three of them per
request, and a generator-based one costs several times the Python work.

Owns :class:`binding`; knows nothing of what the attributes mean.
"""

from __future__ import annotations

import threading
from typing import Any


class binding:
    """``with binding(local, name, value) as v:`` ``local.name`` is ``value`` (``v``) in the
    block, and what it was before (None when unset) after it, however the block ends."""

    __slots__ = ("local", "name", "value", "before")

    def __init__(self, local: threading.local, name: str, value: Any):
        self.local, self.name, self.value = local, name, value

    def __enter__(self) -> Any:
        self.before = getattr(self.local, self.name, None)
        setattr(self.local, self.name, self.value)
        return self.value

    def __exit__(self, *exc) -> None:
        setattr(self.local, self.name, self.before)
