"""Processing-engine endpoints, the 13 plugin operations (behaviour reference §6, §13.5):

* ``POST|DELETE /api/v3/configure/processing_engine_trigger``, ``POST …/enable`` and ``…/disable``;
* ``GET|POST /api/v3/engine/<path>``: request triggers (the plugin's return value mapped by
  `engine/plugins/response.py`; buffered writes committed before the answer);
* ``POST|PUT /api/v3/plugins/files`` (JSON ``{plugin_name, content}``; PUT also ``?path=`` with a
  raw body) and ``PUT /api/v3/plugins/directory``;
* ``POST /api/v3/configure/plugin_environment/install_packages`` and ``install_requirements``;
* ``POST /api/v3/plugin_test/wal`` and ``/plugin_test/schedule``: dry runs.

Every one needs an admin token (the default declaration of `ApiHandler`). Plugin code runs on the
processing engine's own thread pool, never on the IOLoop, so a plugin that calls this server back
over loopback is answered. Without ``--plugin-dir`` the operations answer §6.1's 500.
"""

from __future__ import annotations

import asyncio
import json

from ..engine.plugins import errors as perrors
from ..engine.plugins.spec import normalize_error_behavior
from . import querystring
from .base import ApiError, ApiHandler
from .params import Field, JsonBodyError, json_content_type, json_struct, query_struct
from .query import api_error


def plugin_error(exc: BaseException) -> ApiError:
    """The answer to an error of a plugin operation (plugin errors first, then the common map)."""
    if isinstance(exc, perrors.PackageManagerDisabled):
        return ApiError(403, exc.message)
    if isinstance(exc, (perrors.InvalidPluginPath, perrors.TriggerTypeRestricted)):
        return ApiError(400, exc.message)
    if isinstance(exc, perrors.PluginError):
        return ApiError(500, exc.message)
    return api_error(exc)


class PluginHandler(ApiHandler):
    """What the plugin endpoints share: the processing engine, calls off the IOLoop, error map."""

    def processing_engine(self):
        pe = getattr(self.context.engine, "plugins", None)
        if pe is None:
            raise ApiError(500, perrors.PluginDirNotSet().message)
        return pe

    async def call(self, method: str, *args, **kwargs):
        """A blocking processing-engine call, run on the plugin pool (plugins may run inside it)."""
        pe = self.processing_engine()
        fn = getattr(pe, method)
        self.context.busy += 1
        try:
            return await asyncio.wrap_future(pe.submit(fn, *args, **kwargs))
        except ApiError:
            raise
        except Exception as exc:  # noqa: BLE001 - every failure has an answer
            raise plugin_error(exc) from None
        finally:
            self.context.busy -= 1

    def json_body(self, fields: list[Field], struct_name: str) -> dict:
        if not json_content_type(self.request.headers.get("Content-Type")):
            raise ApiError(415, "unacceptable content-type, expected: application/json")
        try:
            return json_struct(self.read_body(), fields, struct_name)
        except JsonBodyError as exc:
            raise ApiError(400, f"serde json error: {exc}") from None

    def ok(self) -> None:
        self.set_status(200)
        self.finish()

    def send_json(self, doc) -> None:
        self.set_status(200)
        self.set_header("Content-Type", "application/json")
        self.finish(json.dumps(doc))


def _settings(value) -> tuple[bool, str]:
    """`trigger_settings`: run_async (bool) and error_behavior, both defaulting (a superset of the
    real server, which requires them)."""
    if value is None:
        return False, "log"
    if not isinstance(value, dict):
        raise ApiError(400, "serde json error: invalid type: expected struct TriggerSettings")
    run_async = value.get("run_async", False)
    if not isinstance(run_async, bool):
        raise ApiError(400, f"serde json error: invalid type: {json.dumps(run_async)}, expected a boolean")
    try:
        return run_async, normalize_error_behavior(value.get("error_behavior", "log"))
    except perrors.PluginError as exc:  # serde refuses an unknown variant: 400, like the real server
        raise ApiError(400, f"serde json error: {exc.message}") from None


TRIGGER_FIELDS = [Field("db", required=True), Field("plugin_filename", required=True),
                  Field("trigger_name", required=True), Field("trigger_specification", required=True),
                  Field("trigger_settings", "object"), Field("trigger_arguments", "object"),
                  Field("disabled", "bool", default=False)]


class TriggerHandler(PluginHandler):
    """``/api/v3/configure/processing_engine_trigger``."""

    def _create_request(self) -> dict:
        if self.request.query and not self._chunks:
            # all fields in the query string (settings and arguments as JSON text)
            def as_json(text):
                try:
                    return json.loads(text)
                except ValueError as exc:
                    raise ValueError(f"invalid JSON: {exc}") from None
            p = query_struct(self.request.query, TRIGGER_FIELDS,
                             parse={"trigger_settings": as_json, "trigger_arguments": as_json})
            for name in ("trigger_settings", "trigger_arguments"):
                if p[name] is not None and not isinstance(p[name], dict):
                    raise ApiError(400, f"serde error: {name} must be a JSON object")
            return p
        return self.json_body(TRIGGER_FIELDS, "struct ProcessingEngineTriggerCreateRequest")

    async def post(self) -> None:
        p = self._create_request()
        run_async, behavior = _settings(p["trigger_settings"])
        await self.call("create_trigger", p["db"], p["trigger_name"], p["plugin_filename"],
                        p["trigger_specification"], run_async=run_async, error_behavior=behavior,
                        trigger_arguments=p["trigger_arguments"], disabled=bool(p["disabled"]))
        self.ok()

    async def delete(self) -> None:
        p = query_struct(self.request.query, [Field("db", required=True), Field("trigger_name", required=True),
                                              Field("force", "bool", default=False)])
        await self.call("delete_trigger", p["db"], p["trigger_name"], force=p["force"])
        self.ok()


class _SetDisabledHandler(PluginHandler):
    disabled = False

    async def post(self) -> None:
        fields = [Field("db", required=True), Field("trigger_name", required=True)]
        if self.request.query or not self._chunks:
            p = query_struct(self.request.query, fields)
        else:
            p = self.json_body(fields, "struct ProcessingEngineTriggerIdentifier")
        await self.call("set_trigger_disabled", p["db"], p["trigger_name"], self.disabled)
        self.ok()


class TriggerEnableHandler(_SetDisabledHandler):
    """``/api/v3/configure/processing_engine_trigger/enable``."""
    disabled = False


class TriggerDisableHandler(_SetDisabledHandler):
    """``/api/v3/configure/processing_engine_trigger/disable``."""
    disabled = True


class EngineRequestHandler(PluginHandler):
    """``GET|POST /api/v3/engine/<path>``: the request trigger serving `path`."""

    async def _serve(self, path: str) -> None:
        pe = getattr(self.context.engine, "plugins", None)
        if pe is None:
            from ..engine.plugins.response import NOT_FOUND_BODY
            self.set_status(404)
            self.finish(NOT_FOUND_BODY)
            return
        # the last value wins; not kept like query_pairs(): a plugin's caller may pass a secret
        params = dict(querystring.pairs(self.request.query))
        headers = {k: v for k, v in self.request.headers.get_all()}
        resp = await self.call("handle_request", path, params, headers, self.read_body())
        try:
            if not 100 <= resp.status <= 599:
                raise ValueError(f"status {resp.status} out of range")
            self.set_status(resp.status)
            for name, value in resp.headers.items():
                self.set_header(name, value)  # refuses CR/LF (no header injection)
        except ValueError as exc:
            self.clear()
            raise ApiError(500, f"invalid response from plugin: {exc}", "json") from None
        self.finish(resp.body)

    async def get(self, path: str) -> None:
        await self._serve(path)

    async def post(self, path: str) -> None:
        await self._serve(path)


class PluginFilesHandler(PluginHandler):
    """``/api/v3/plugins/files``: POST creates a file; PUT overwrites a trigger's file."""

    FIELDS = [Field("plugin_name", required=True), Field("content", required=True)]

    async def post(self) -> None:
        p = self.json_body(self.FIELDS, "struct PluginFileRequest")
        await self.call("create_plugin_file", p["plugin_name"], p["content"])
        self.ok()

    async def put(self) -> None:
        path = query_struct(self.request.query, [Field("path")])["path"]
        if path is not None and not json_content_type(self.request.headers.get("Content-Type")):
            # the documented upload: PUT …/plugins/files?path=plugin.py, raw body
            await self.call("create_plugin_file", path, self.read_body())
        else:
            p = self.json_body(self.FIELDS, "struct PluginFileRequest")
            await self.call("replace_trigger_file", p["plugin_name"], p["content"])
        self.ok()


class PluginDirectoryHandler(PluginHandler):
    """``PUT /api/v3/plugins/directory``: replace a trigger's directory plugin as a whole."""

    async def put(self) -> None:
        p = self.json_body([Field("plugin_name", required=True), Field("files", "list", required=True)],
                           "struct PluginDirectoryRequest")
        if not isinstance(p["files"], list):
            raise ApiError(400, "serde json error: invalid type: expected a sequence")
        await self.call("replace_trigger_directory", p["plugin_name"], p["files"])
        self.ok()


class InstallPackagesHandler(PluginHandler):
    """``POST /api/v3/configure/plugin_environment/install_packages`` ``{"packages": [...]}``."""

    async def post(self) -> None:
        p = self.json_body([Field("packages", "string_list", required=True)], "struct PackageInstallRequest")
        await self.call("install_packages", p["packages"])
        self.ok()


class InstallRequirementsHandler(PluginHandler):
    """``POST /api/v3/configure/plugin_environment/install_requirements``."""

    async def post(self) -> None:
        p = self.json_body([Field("requirements_location", required=True)], "struct RequirementsInstallRequest")
        await self.call("install_requirements", p["requirements_location"])
        self.ok()


class PluginTestWalHandler(PluginHandler):
    """``POST /api/v3/plugin_test/wal``: a dry run of a WAL plugin on `input_lp`."""

    async def post(self) -> None:
        p = self.json_body([Field("filename", required=True), Field("database", required=True),
                            Field("input_lp", required=True), Field("cache_name"),
                            Field("input_arguments", "object")], "struct WalPluginTestRequest")
        self.send_json(await self.call("test_wal", p["filename"], p["database"], p["input_lp"],
                                       cache_name=p["cache_name"], input_arguments=p["input_arguments"]))


class PluginTestScheduleHandler(PluginHandler):
    """``POST /api/v3/plugin_test/schedule``: a dry run of a schedule plugin at the next cron tick."""

    async def post(self) -> None:
        p = self.json_body([Field("filename", required=True), Field("database", required=True),
                            Field("schedule"), Field("cache_name"), Field("input_arguments", "object")],
                           "struct SchedulePluginTestRequest")
        self.send_json(await self.call("test_schedule", p["filename"], p["database"], p["schedule"],
                                       cache_name=p["cache_name"], input_arguments=p["input_arguments"]))


PLUGIN_ROUTES = [
    ("/api/v3/configure/processing_engine_trigger", TriggerHandler),
    ("/api/v3/configure/processing_engine_trigger/enable", TriggerEnableHandler),
    ("/api/v3/configure/processing_engine_trigger/disable", TriggerDisableHandler),
    ("/api/v3/engine/(.+)", EngineRequestHandler),
    ("/api/v3/plugins/files", PluginFilesHandler),
    ("/api/v3/plugins/directory", PluginDirectoryHandler),
    ("/api/v3/configure/plugin_environment/install_packages", InstallPackagesHandler),
    ("/api/v3/configure/plugin_environment/install_requirements", InstallRequirementsHandler),
    ("/api/v3/plugin_test/wal", PluginTestWalHandler),
    ("/api/v3/plugin_test/schedule", PluginTestScheduleHandler),
]
