"""Backup and restore (the 9 operations of the spec's "Backup and restore" tag):

* ``POST /api/v3/enterprise/backup`` ``{"type"?: "full"|"incremental", "name"?, "force"?,
  "parent"?}`` -> 202 ``{"backup_name", "status": "in_progress"}``; 409 duplicate name / running
  backup; ``GET`` -> ``{"backups": [...]}``; ``DELETE`` ``{"name"}`` (or ``?name=``) cancels a
  running backup -> 200 ``{"backup_name"}``, 404 when none runs under that name;
* ``GET /api/v3/enterprise/backup/{name}`` -> the manifest (file list included);
  ``DELETE …/{name}[?incremental=true]`` -> 200 ``{"backup_name", "type"}`` (409 while running,
  or when it has incremental children and `incremental` is not set);
* ``POST /api/v3/enterprise/restore`` ``{"backup_name"}`` -> 202 ``{"restore_id", "status"}``
  (409 while another restore runs); ``GET`` -> ``{"restores": [...]}`` newest first;
* ``GET /api/v3/enterprise/restore/{id}``; ``DELETE …/{id}`` cancels -> 204.

Admin only. The work is `engine.admin` (engine/admin/); this module only reads and answers.
"""

from __future__ import annotations

from ..params import Field, query_struct
from .base import AdminHandler

_CREATE = [Field("type"), Field("name"), Field("force", "bool", default=False), Field("parent")]


class BackupsHandler(AdminHandler):
    """``/api/v3/enterprise/backup``."""

    async def post(self) -> None:
        p = self.json_body(_CREATE, "struct CreateBackupRequest", optional=True)
        kind = p["type"] or ("incremental" if p["parent"] else "full")
        out = await self.admin("create_backup", p["name"], force=bool(p["force"]), kind=kind, parent=p["parent"])
        self.send_json(out, 202)

    async def get(self) -> None:
        self.send_json({"backups": await self.admin("list_backups")})

    async def delete(self) -> None:
        if self.request.query:
            name = query_struct(self.request.query, [Field("name", required=True)])["name"]
        else:
            name = self.json_body([Field("name", required=True)], "struct CancelBackupRequest")["name"]
        self.send_json(await self.admin("cancel_backup", name))


class BackupHandler(AdminHandler):
    """``/api/v3/enterprise/backup/{name}``."""

    async def get(self, name: str) -> None:
        self.send_json(await self.admin("get_backup", self.path_arg(name)))

    async def delete(self, name: str) -> None:
        p = query_struct(self.request.query, [Field("incremental", "bool", default=False)])
        self.send_json(await self.admin("delete_backup", self.path_arg(name), incremental=p["incremental"]))


class RestoresHandler(AdminHandler):
    """``/api/v3/enterprise/restore``."""

    async def post(self) -> None:
        p = self.json_body([Field("backup_name", required=True)], "struct CreateRestoreRequest")
        self.send_json(await self.admin("create_restore", p["backup_name"]), 202)

    async def get(self) -> None:
        self.send_json({"restores": await self.admin("list_restores")})


class RestoreHandler(AdminHandler):
    """``/api/v3/enterprise/restore/{id}``."""

    async def get(self, rid: str) -> None:
        from ...engine.admin.restore import summary

        self.send_json(summary(await self.admin("get_restore", self.path_arg(rid))))

    async def delete(self, rid: str) -> None:
        await self.admin("cancel_restore", self.path_arg(rid))
        self.send_no_content()


BACKUP_ROUTES = [
    ("/api/v3/enterprise/backup", BackupsHandler),
    ("/api/v3/enterprise/backup/([^/]+)", BackupHandler),
    ("/api/v3/enterprise/restore", RestoresHandler),
    ("/api/v3/enterprise/restore/([^/]+)", RestoreHandler),
]
