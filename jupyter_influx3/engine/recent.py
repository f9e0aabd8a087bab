"""``Recent``: a mapping of at most ``size`` entries that lets go of the least recently used.

Owns the bookkeeping of the memos kept for the next request (parsed texts, plans, translations,
query-string parses, checked tokens...): a hit becomes the most recent entry, a new entry past
the size pushes out the oldest. It holds no lock: each user guards it with the lock that also
guards what it computes (and a memo read by one thread needs none).
"""

from __future__ import annotations

import collections
from typing import Any

_MISSING = object()


class Recent(collections.OrderedDict):
    """An ``OrderedDict`` from least to most recently used, of at most ``size`` entries. ``get``
    and ``in`` only look; ``recall`` and ``keep`` make the entry the most recent."""

    def __init__(self, size: int):
        super().__init__()
        self.size = size

    def recall(self, key: Any, default: Any = None) -> Any:
        """The value of ``key``, now the most recent entry; ``default`` if there is none."""
        value = self.get(key, _MISSING)
        if value is _MISSING:
            return default
        self.move_to_end(key)
        return value

    def keep(self, key: Any, value: Any) -> None:
        """``self[key] = value`` as the most recent entry; the least recent past ``size`` go."""
        self[key] = value
        self.move_to_end(key)
        while len(self) > self.size:
            self.popitem(last=False)

    def __reduce__(self):
        # (OrderedDict's would call Recent(items): a copy is a Recent of the same size)
        return (self.__class__, (self.size,), None, None, iter(self.items()))
