"""What the enterprise handlers share: one admin call off the IOLoop, its errors as JSON bodies."""

from __future__ import annotations

import json
import urllib.parse

from .. import serialize
from ..base import ApiError, ApiHandler
from ..params import Field, JsonBodyError, json_content_type, json_struct
from ..query import api_error


class AdminHandler(ApiHandler):
    required = ("admin",)

    async def admin(self, method: str, *args, **kwargs):
        """`engine.admin.<method>(...)` in a worker thread; AdminError -> its status, JSON body."""
        from ...engine.admin import AdminError

        fn = getattr(self.context.engine.admin, method)
        try:
            return await self.run_blocking(fn, *args, **kwargs)
        except AdminError as exc:
            raise ApiError(exc.status, exc.message, "json") from None
        except Exception as exc:  # noqa: BLE001 - every failure has an answer
            err = api_error(exc)
            raise ApiError(err.status, err.message, "json") from None

    def json_body(self, fields: list[Field], struct: str, *, optional: bool = False) -> dict:
        """The request's JSON object (415 without a JSON Content-Type; with `optional`, an empty
        body means no fields), serde's 400 for a malformed one."""
        body = self.read_body()
        if optional and not body.strip():
            return {f.name: f.default for f in fields}
        if not json_content_type(self.request.headers.get("Content-Type")):
            raise ApiError(415, "unacceptable content-type, expected: application/json", "json")
        try:
            return json_struct(body, fields, struct)
        except JsonBodyError as exc:
            raise ApiError(400, f"serde json error: {exc}", "json") from None

    def send_json(self, doc, status: int = 200) -> None:
        self.send_body(json.dumps(doc), serialize.JSON_CONTENT_TYPE, status)

    @staticmethod
    def path_arg(value: str) -> str:
        return urllib.parse.unquote(value)
