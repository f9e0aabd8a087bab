"""``/api/v3/configure/query_concurrency_limit`` (behaviour reference §C.7), admin only:

* ``GET`` -> ``{"max_concurrent_queries": N}``, the key left out while the limit is unlimited;
* ``PUT`` (``POST`` too: the 3.10 release notes say POST) ``{"max_concurrent_queries": N|null}``
  [``?force=true``] -> 204; ``null`` is the startup value; below 16 needs ``force=true``; 0, a
  value above InfluxDB 3's maximum or not an unsigned integer -> 400;
* ``DELETE`` -> 204, back to the startup value (``influx3 serve --max-concurrent-queries``).

The limit itself is `engine/concurrency.py`.
"""

from __future__ import annotations

from ...engine.concurrency import FORCE_BELOW, MAX_LIMIT, slots_for
from ..base import ApiError
from ..params import Field, _describe, query_struct
from .base import AdminHandler


class QueryConcurrencyHandler(AdminHandler):
    async def get(self) -> None:
        limit = slots_for(self.context.engine).limit
        self.send_json({} if limit is None or limit >= MAX_LIMIT else {"max_concurrent_queries": limit})

    async def put(self) -> None:
        force = query_struct(self.request.query, [Field("force", "bool", default=False)])["force"]
        value = self.json_body([Field("max_concurrent_queries", "any")],
                               "struct QueryConcurrencyLimitRequest")["max_concurrent_queries"]
        if value is not None:
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise ApiError(400, f"serde json error: invalid type: {_describe(value)}, expected u64", "json")
            if value == 0 or value > MAX_LIMIT:
                raise ApiError(400, f"max_concurrent_queries must be between 1 and {MAX_LIMIT}", "json")
            if value < FORCE_BELOW and not force:
                raise ApiError(400, f"max_concurrent_queries below {FORCE_BELOW} can starve the server: "
                                    "set force=true to use it", "json")
        slots_for(self.context.engine).set(value)
        self.send_no_content()

    post = put

    async def delete(self) -> None:
        slots_for(self.context.engine).set(None)
        self.send_no_content()


CONCURRENCY_ROUTES = [("/api/v3/configure/query_concurrency_limit", QueryConcurrencyHandler)]
