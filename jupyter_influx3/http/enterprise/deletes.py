"""Row deletes (engine/admin/deletes.py), admin only:

* ``POST /api/v3/row_delete_requests`` ``{"db", "table", "min_time"?, "max_time"?, "all_time"?,
  "predicate"?}`` (``database``/``delete_predicate`` accepted as aliases; times in ns) -> 200
  DeleteRequestResponse (``pending``; its rows are already hidden from every read);
* ``GET /api/v3/row_delete_requests?db=&table=&disposition=&min_sequence=&max_sequence=`` -> a
  JSON array of DeleteRequestResponse;
* ``POST /api/v3/row_delete_requests/{seq}/abort`` ``{"reason"}`` -> 200 (``aborted``), 404 unknown,
  409 when no longer pending.
"""

from __future__ import annotations

from ..base import ApiError
from ..params import Field, query_struct
from .base import AdminHandler

_CREATE = [Field("db"), Field("database"), Field("table", required=True), Field("min_time", "any"),
           Field("max_time", "any"), Field("all_time", "bool", default=False), Field("predicate"),
           Field("delete_predicate")]


def _int(text, name):
    if text is None:
        return None
    try:
        return int(text)
    except ValueError:
        raise ApiError(400, f"{name} must be an integer", "json") from None


class RowDeletesHandler(AdminHandler):
    async def post(self) -> None:
        p = self.json_body(_CREATE, "struct CreateDeleteRequest")
        db = p["db"] if p["db"] is not None else p["database"]
        if db is None:
            raise ApiError(400, "serde json error: missing field `db`", "json")
        predicate = p["predicate"] if p["predicate"] is not None else p["delete_predicate"]
        self.send_json(await self.admin("create_row_delete", db, p["table"], min_time=p["min_time"],
                                        max_time=p["max_time"], all_time=p["all_time"], predicate=predicate))

    async def get(self) -> None:
        q = query_struct(self.request.query, [Field("db"), Field("table"), Field("disposition"),
                                              Field("min_sequence"), Field("max_sequence"),
                                              Field("include_progress", "bool", default=False)])
        self.send_json(await self.admin("list_row_deletes", db=q["db"], table=q["table"],
                                        disposition=q["disposition"],
                                        min_sequence=_int(q["min_sequence"], "min_sequence"),
                                        max_sequence=_int(q["max_sequence"], "max_sequence")))


class AbortRowDeleteHandler(AdminHandler):
    async def post(self, seq: str) -> None:
        sequence = _int(seq, "seq")
        p = self.json_body([Field("reason", required=True)], "struct AbortDeleteRequestBody")
        self.send_json(await self.admin("abort_row_delete", sequence, p["reason"]))


DELETE_ROUTES = [
    ("/api/v3/row_delete_requests", RowDeletesHandler),
    ("/api/v3/row_delete_requests/([^/]+)/abort", AbortRowDeleteHandler),
]
