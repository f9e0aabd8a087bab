"""Plugins from a notebook: `%%influx3_plugin` (write a plugin in a cell, dry-run it against the
kernel's engine, see its log lines, the writes it would make and its traceback) and the trigger
calls behind `%influx3 triggers | create trigger | enable|disable|delete trigger | logs`.

Thin over two back ends with the same calls: the kernel's own engine (`EngineClient`: operations
through `engine.plugins`, run with `run_triggers=False`, so the long-lived server node runs the
triggers, not the kernel) and any InfluxDB 3 server over HTTP (`HttpClient`, a real InfluxDB 3
included). Never runs plugins on a schedule or on writes itself.
"""

from __future__ import annotations

import html
import json
import os
import tempfile
from pathlib import Path
from typing import Any, Optional

import pandas as pd

from .client import EngineClient, HttpClient, Influx3Error

TRIGGER = "/api/v3/configure/processing_engine_trigger"


def kernel_plugin_dir(configured: str = "") -> Path:
    """Where the kernel keeps plugin files: the setting, else $INFLUXDB3_PLUGIN_DIR (the server's,
    so a saved cell is what a trigger runs), else a directory of this kernel's own."""
    chosen = configured or os.environ.get("INFLUXDB3_PLUGIN_DIR")
    if chosen:
        return Path(chosen).expanduser()
    return Path(tempfile.gettempdir()) / f"influx3-kernel-plugins-{os.getpid()}"


def _engine_plugins(client: EngineClient, plugin_dir: str = ""):
    eng = client.engine
    if eng.plugins is None:
        eng.configure_plugins(kernel_plugin_dir(plugin_dir), run_triggers=False)
    return eng.plugins


def _engine_call(fn, *args, **kwargs):
    from ..engine import errors

    try:
        return fn(*args, **kwargs)
    except errors.EngineError as exc:
        raise Influx3Error(exc.message) from None


class TriggerCalls:
    """The trigger operations of one client (kernel engine or HTTP server)."""

    def __init__(self, client: Any, plugin_dir: str = ""):
        self.client, self.plugin_dir = client, plugin_dir

    @property
    def _http(self) -> bool:
        return isinstance(self.client, HttpClient)

    def list(self, database: str) -> pd.DataFrame:
        return self.client.sql("SELECT * FROM system.processing_engine_triggers ORDER BY trigger_name", database,
                               format="pandas")

    def logs(self, database: str, trigger: Optional[str] = None) -> pd.DataFrame:
        where = "" if not trigger else " WHERE trigger_name = $t"
        return self.client.sql(f"SELECT * FROM system.processing_engine_logs{where} ORDER BY event_time",
                               database, params={"t": trigger} if trigger else None, format="pandas")

    def create(self, database: str, name: str, plugin_filename: str, specification: str, *,
               arguments: Optional[dict] = None, run_async: bool = False, error_behavior: str = "log",
               disabled: bool = False) -> None:
        if self._http:
            self.client._request("POST", TRIGGER, json_body={
                "db": database, "plugin_filename": plugin_filename, "trigger_name": name,
                "trigger_specification": specification, "trigger_arguments": arguments,
                "trigger_settings": {"run_async": run_async, "error_behavior": error_behavior},
                "disabled": disabled})
            return
        _engine_call(_engine_plugins(self.client, self.plugin_dir).create_trigger, database, name, plugin_filename,
                     specification, run_async=run_async, error_behavior=error_behavior,
                     trigger_arguments=arguments, disabled=disabled)

    def set_disabled(self, database: str, name: str, disabled: bool) -> None:
        if self._http:
            action = "disable" if disabled else "enable"
            self.client._request("POST", f"{TRIGGER}/{action}", query={"db": database, "trigger_name": name})
            return
        _engine_call(_engine_plugins(self.client, self.plugin_dir).set_trigger_disabled, database, name, disabled)

    def delete(self, database: str, name: str, force: bool = False) -> None:
        if self._http:
            self.client._request("DELETE", TRIGGER, query={"db": database, "trigger_name": name,
                                                           "force": "true" if force else "false"})
            return
        _engine_call(_engine_plugins(self.client, self.plugin_dir).delete_trigger, database, name, force)

    def dry_run(self, name: str, code: str, mode: str, database: str, *, lp: str = "", schedule: str = "",
                arguments: Optional[dict] = None, query: Optional[dict] = None, body: bytes = b"") -> dict:
        """Save `code` as `<name>.py` and run it once, nothing written. Over HTTP the file goes to the
        server's plugin directory (that is how a notebook deploys it) and the server runs the test."""
        filename = name if name.endswith(".py") else name + ".py"
        if self._http:
            self.client._request("POST", "/api/v3/plugins/files", json_body={"plugin_name": filename, "content": code})
            if mode == "request":
                raise Influx3Error("a request plugin can be dry-run in the kernel only (%influx3 connect --data-dir)")
            path = "/api/v3/plugin_test/wal" if mode == "wal" else "/api/v3/plugin_test/schedule"
            doc = {"filename": filename, "database": database, "input_arguments": arguments}
            doc.update({"input_lp": lp} if mode == "wal" else {"schedule": schedule or None})
            _, answer = self.client._request("POST", path, json_body=doc)
            return json.loads(answer)
        pe = _engine_plugins(self.client, self.plugin_dir)
        _engine_call(pe.create_plugin_file, filename, code)
        if mode == "wal":
            return _engine_call(pe.test_wal, filename, database, lp, input_arguments=arguments, with_traceback=True)
        if mode == "schedule":
            return _engine_call(pe.test_schedule, filename, database, schedule or None, input_arguments=arguments,
                                with_traceback=True)
        return _engine_call(pe.test_request, filename, database, query or {}, body, None, arguments)


class PluginRun:
    """A dry run as a notebook shows it: log lines, writes it would make, errors and traceback."""

    def __init__(self, name: str, result: dict):
        self.name, self.result = name, result

    @property
    def ok(self) -> bool:
        return not self.result.get("errors")

    def _sections(self) -> list[tuple[str, str]]:
        r = self.result
        out = [("log", "\n".join(r.get("log_lines", [])))]
        writes = r.get("database_writes") or {}
        out.append(("writes", "\n".join(f"[{db}] {line}" for db, lines in writes.items() for line in lines)
                    or "(none)"))
        if "trigger_time" in r:
            out.insert(0, ("trigger time", r["trigger_time"]))
        if "response" in r:
            resp = r["response"]
            body = resp["body"].decode("utf-8", "replace") if isinstance(resp["body"], bytes) else str(resp["body"])
            out.append(("response", f"{resp['status']} {resp['headers'].get('Content-Type', '')}\n{body}"))
        if r.get("errors"):
            out.append(("errors", "\n".join(r["errors"])))
        if r.get("traceback"):
            out.append(("traceback", r["traceback"]))
        return out

    def __repr__(self) -> str:
        head = f"plugin {self.name}: {'ok' if self.ok else 'FAILED'}"
        return head + "".join(f"\n--- {title}\n{text}" for title, text in self._sections())

    def _repr_html_(self) -> str:
        color = "#2a7" if self.ok else "#c33"
        parts = [f"<div><b style='color:{color}'>plugin {html.escape(self.name)}: "
                 f"{'ok' if self.ok else 'FAILED'}</b>"]
        for title, text in self._sections():
            parts.append(f"<div><i>{html.escape(title)}</i><pre style='margin:2px 0 6px'>{html.escape(text)}</pre></div>")
        return "".join(parts) + "</div>"


PLUGIN_MAGIC_USAGE = """%%influx3_plugin NAME [--wal [-d DB] --lp "LINES" | --schedule ["CRON"] [-d DB] |
                          --request [-d DB] [--query k=v,...] [--body TEXT]] [--args k=v,...]
Saves the cell as NAME.py in the plugin directory and runs it once against the kernel's engine
(or, after `%influx3 connect URL`, the server's plugin_test endpoint): log lines, the writes it
would make (none are applied) and any traceback. Deploy it with
`%influx3 create trigger NAME --plugin NAME.py --spec table:cpu`."""


def key_values(text: Optional[str]) -> Optional[dict]:
    if not text:
        return None
    out = {}
    for part in text.split(","):
        if part.strip():
            k, sep, v = part.partition("=")
            if not sep:
                raise Influx3Error(f"expected KEY=VALUE, got {part!r}")
            out[k.strip()] = v
    return out


# ---- the magics' side (thin: parse, call TriggerCalls, show) ------------------------------------

def trigger_command(magics, ns) -> Any:
    """`%influx3 triggers | logs | enable|disable trigger | create trigger | delete trigger`."""
    from .display import MagicError, Message

    calls = TriggerCalls(magics.client, magics.plugin_dir)
    db = magics._need_db(getattr(ns, "database", None))
    cmd = ns.command
    if cmd == "triggers":
        return calls.list(db)
    if cmd == "logs":
        return calls.logs(db, ns.trigger)
    if cmd in ("enable", "disable"):
        calls.set_disabled(db, ns.name, cmd == "disable")
        return Message(f"trigger {ns.name} {cmd}d in {db}")
    if cmd == "delete":
        calls.delete(db, ns.name, force=ns.force)
        return Message(f"trigger {ns.name} deleted from {db}")
    if not ns.plugin or not ns.spec:
        raise MagicError("create trigger needs --plugin FILE.py and --spec SPEC")
    calls.create(db, ns.name, ns.plugin, ns.spec, arguments=key_values(ns.args), run_async=ns.run_async,
                 error_behavior=ns.error_behavior, disabled=ns.disabled)
    return Message(f"trigger {ns.name} created in {db}: {ns.spec} runs {ns.plugin}")


def _plugin_parser():
    from .magics import _Parser

    p = _Parser(prog="%%influx3_plugin", add_help=False)
    p.add_argument("name")
    mode = p.add_mutually_exclusive_group()
    mode.add_argument("--wal", action="store_const", const="wal", dest="mode")
    mode.add_argument("--schedule", nargs="?", const="", default=None)
    mode.add_argument("--request", action="store_const", const="request", dest="mode")
    p.add_argument("-d", "--database")
    p.add_argument("--lp", default="")
    p.add_argument("--args")
    p.add_argument("--query")
    p.add_argument("--body", default="")
    p.add_argument("-o", "--output", dest="var")
    return p


def plugin_magic(magics, line: str, cell: str) -> Any:
    """`%%influx3_plugin NAME --wal|--schedule|--request …`: save the cell, dry-run it, show the run."""
    import shlex

    from .display import MagicError, Message
    from .magics import _ArgError

    if line.strip() in ("", "-h", "--help", "help"):
        return Message(PLUGIN_MAGIC_USAGE)
    try:
        ns = _plugin_parser().parse_args(shlex.split(line))
    except (_ArgError, ValueError) as exc:
        raise MagicError(f"{str(exc).strip()}\n{PLUGIN_MAGIC_USAGE}") from None
    mode = "schedule" if ns.schedule is not None else (ns.mode or "wal")
    db = magics._need_db(ns.database)
    if mode == "wal" and not ns.lp.strip():
        raise MagicError("--wal needs --lp \"line protocol\" to feed the plugin")
    calls = TriggerCalls(magics.client, magics.plugin_dir)
    try:
        result = calls.dry_run(ns.name, cell, mode, db, lp=ns.lp.replace("\\n", "\n"), schedule=ns.schedule or "",
                               arguments=key_values(ns.args), query=key_values(ns.query), body=ns.body.encode())
    except Influx3Error as exc:
        raise MagicError(exc.message) from None
    run = PluginRun(ns.name, result)
    if ns.var and magics.shell is not None:
        magics.shell.user_ns[ns.var] = run
    return run
