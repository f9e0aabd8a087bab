"""``POST /api/v3/enterprise/configure/node/stop`` ``{"node_id"}`` -> 200 ``{"node_id", "state"}``:
a graceful stop of a node of the data directory (engine/admin/nodes.py); 404 for an unknown node.
Admin only (unless ``--disable-authz node_stop``)."""

from __future__ import annotations

from ..params import Field
from .base import AdminHandler


class NodeStopHandler(AdminHandler):
    async def post(self) -> None:
        p = self.json_body([Field("node_id", required=True)], "struct StopNodeRequest")
        self.send_json(await self.admin("stop_node", p["node_id"]))


NODE_ROUTES = [("/api/v3/enterprise/configure/node/stop", NodeStopHandler)]
