"""The processing-engine part of the ``influx3`` command, with the official ``influxdb3`` CLI's flags:

    influx3 serve ... --plugin-dir DIR [--plugin-repo URL|DIR] [--package-manager pip|uv|disabled]
    influx3 create trigger --database DB --path FILE --trigger-spec SPEC [--trigger-arguments k=v,...]
                           [--disabled] [--run-asynchronous] [--error-behavior log|retry|disable] [--upload] NAME
    influx3 enable|disable trigger --database DB NAME
    influx3 delete trigger --database DB [--force] NAME
    influx3 test wal_plugin --database DB (--lp LP | --file FILE) [--input-arguments k=v,...] FILENAME
    influx3 test schedule_plugin --database DB [--schedule CRON] [--input-arguments k=v,...] FILENAME
    influx3 install package [PACKAGE ...] [--requirements FILE]

The client commands are thin: one API call each (`cli._api_call`), answers printed as they come.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path


def add_serve_options(serve: argparse.ArgumentParser) -> None:
    serve.add_argument("--plugin-dir", default=os.environ.get("INFLUXDB3_PLUGIN_DIR"), metavar="DIR",
                       help="directory of Python plugins; enables the processing engine "
                            "(default $INFLUXDB3_PLUGIN_DIR)")
    serve.add_argument("--plugin-repo", default=os.environ.get("INFLUXDB3_PLUGIN_REPO"), metavar="URL|DIR",
                       help="where gh:<path> plugins come from (a URL serving raw files, or a local directory); "
                            "gh: plugins are refused when unset")
    serve.add_argument("--package-manager", choices=("pip", "uv", "disabled"), default="pip",
                       help="installer for install_packages/install_requirements (default pip)")
    serve.add_argument("--restrict-plugin-triggers-to", type=_trigger_types, default=None, metavar="TYPES",
                       help="comma-separated trigger types allowed: wal, schedule, request (default all)")


def _trigger_types(value: str) -> tuple:
    types = tuple(t.strip() for t in value.split(",") if t.strip())
    bad = [t for t in types if t not in ("wal", "schedule", "request")]
    if bad or not types:
        raise argparse.ArgumentTypeError(f"expected some of wal, schedule, request; got {value!r}")
    return types


def _key_values(value: str) -> dict:
    """``k=v,k2=v2`` (the official CLI's form) -> dict."""
    out = {}
    for part in value.split(","):
        if not part.strip():
            continue
        k, sep, v = part.partition("=")
        if not sep or not k.strip():
            raise argparse.ArgumentTypeError(f"expected KEY=VALUE pairs, got {part!r}")
        out[k.strip()] = v
    return out


def _call(args, method: str, path: str, body=None, params: dict | None = None) -> int:
    from urllib.parse import urlencode

    from .cli import _api_call, _answer_failed

    if params:
        path += "?" + urlencode(params)
    status, answer = _api_call(args.host, method, path, args.token, body, timeout=args.timeout)
    if _answer_failed(args.host, status, answer):
        return 1
    if answer:
        text = answer.decode("utf-8", "replace")
        try:
            text = json.dumps(json.loads(text), indent=2)
        except ValueError:
            pass
        print(text)
    return 0


def cmd_create_trigger(args) -> int:
    filename = args.path
    if args.upload:
        local = Path(args.path)
        if local.is_dir():
            files = [{"relative_path": p.relative_to(local).as_posix(), "content": p.read_text(encoding="utf-8")}
                     for p in sorted(local.rglob("*.py")) if "__pycache__" not in p.parts]
            filename = local.name
            rc = _upload_directory(args, local.name, files)
        else:
            filename = local.name
            rc = _call(args, "POST", "/api/v3/plugins/files",
                       {"plugin_name": filename, "content": local.read_text(encoding="utf-8")})
        if rc:
            return rc
    body = {"db": args.database, "plugin_filename": filename, "trigger_name": args.name,
            "trigger_specification": args.trigger_spec,
            "trigger_settings": {"run_async": args.run_asynchronous, "error_behavior": args.error_behavior},
            "trigger_arguments": args.trigger_arguments or None, "disabled": args.disabled}
    rc = _call(args, "POST", "/api/v3/configure/processing_engine_trigger", body)
    if rc == 0:
        print(f"Trigger {args.name} created successfully", file=sys.stderr)
    return rc


def _upload_directory(args, name: str, files: list) -> int:
    # A new directory plugin: each file through POST (PUT …/directory replaces a trigger's plugin).
    for f in files:
        rc = _call(args, "POST", "/api/v3/plugins/files",
                   {"plugin_name": f"{name}/{f['relative_path']}", "content": f["content"]})
        if rc:
            return rc
    return 0


def cmd_trigger_state(args) -> int:
    action = args.trigger_action
    if action == "delete":
        return _call(args, "DELETE", "/api/v3/configure/processing_engine_trigger",
                     params={"db": args.database, "trigger_name": args.name, "force": str(args.force).lower()})
    return _call(args, "POST", f"/api/v3/configure/processing_engine_trigger/{action}",
                 params={"db": args.database, "trigger_name": args.name})


def cmd_test_wal(args) -> int:
    lp = args.lp if args.lp is not None else Path(args.file).read_text(encoding="utf-8")
    body = {"filename": args.filename, "database": args.database, "input_lp": lp,
            "input_arguments": args.input_arguments or None, "cache_name": args.cache_name}
    return _call(args, "POST", "/api/v3/plugin_test/wal", body)


def cmd_test_schedule(args) -> int:
    body = {"filename": args.filename, "database": args.database, "schedule": args.schedule,
            "input_arguments": args.input_arguments or None, "cache_name": args.cache_name}
    return _call(args, "POST", "/api/v3/plugin_test/schedule", body)


def cmd_install_package(args) -> int:
    if args.requirements:
        return _call(args, "POST", "/api/v3/configure/plugin_environment/install_requirements",
                     {"requirements_location": args.requirements})
    if not args.packages:
        print("influx3: error: name packages to install, or --requirements FILE", file=sys.stderr)
        return 2
    return _call(args, "POST", "/api/v3/configure/plugin_environment/install_packages", {"packages": args.packages})


def add_client_commands(sub, create_sub, delete_sub, client_options, resource_commands) -> None:
    """`create trigger`, `enable|disable|delete trigger`, `test …_plugin`, `install package`."""
    trig = create_sub.add_parser("trigger", help="create a processing-engine trigger")
    trig.add_argument("name", metavar="TRIGGER_NAME")
    trig.add_argument("--database", "-d", required=True)
    trig.add_argument("--path", "--plugin-filename", dest="path", required=True,
                      help="plugin file under the server's plugin dir (or gh:PATH; with --upload: a local file/dir)")
    trig.add_argument("--trigger-spec", required=True,
                      help="table:T, all_tables, cron:'S M H D Mo W', every:DURATION or request:PATH")
    trig.add_argument("--trigger-arguments", type=_key_values, default=None, metavar="K=V,...")
    trig.add_argument("--disabled", action="store_true", help="create it disabled")
    trig.add_argument("--run-asynchronous", action="store_true", help="let runs overlap")
    trig.add_argument("--error-behavior", choices=("log", "retry", "disable"), default="log")
    trig.add_argument("--upload", action="store_true", help="upload the local --path first")
    client_options(trig)
    trig.set_defaults(func=cmd_create_trigger)

    d = delete_sub.add_parser("trigger", help="delete a trigger (disable it first, or --force)")
    d.add_argument("name", metavar="TRIGGER_NAME")
    d.add_argument("--database", "-d", required=True)
    d.add_argument("--force", action="store_true")
    client_options(d)
    d.set_defaults(func=cmd_trigger_state, trigger_action="delete")

    for action in ("enable", "disable"):
        res = resource_commands(sub, action, f"{action} resources on a server (trigger)")
        p = res.add_parser("trigger", help=f"{action} a trigger")
        p.add_argument("name", metavar="TRIGGER_NAME")
        p.add_argument("--database", "-d", required=True)
        client_options(p)
        p.set_defaults(func=cmd_trigger_state, trigger_action=action)

    test = resource_commands(sub, "test", "dry-run a plugin on a server (nothing is written)")
    wal = test.add_parser("wal_plugin", help="run a WAL plugin on line protocol")
    wal.add_argument("filename", metavar="FILENAME")
    wal.add_argument("--database", "-d", required=True)
    src = wal.add_mutually_exclusive_group(required=True)
    src.add_argument("--lp", default=None, help="line protocol to feed the plugin")
    src.add_argument("--file", default=None, help="file of line protocol")
    wal.add_argument("--input-arguments", type=_key_values, default=None, metavar="K=V,...")
    wal.add_argument("--cache-name", default=None)
    client_options(wal)
    wal.set_defaults(func=cmd_test_wal)
    sched = test.add_parser("schedule_plugin", help="run a schedule plugin once, at the next tick")
    sched.add_argument("filename", metavar="FILENAME")
    sched.add_argument("--database", "-d", required=True)
    sched.add_argument("--schedule", default=None, help="cron expression, seconds first (default * * * * * *)")
    sched.add_argument("--input-arguments", type=_key_values, default=None, metavar="K=V,...")
    sched.add_argument("--cache-name", default=None)
    client_options(sched)
    sched.set_defaults(func=cmd_test_schedule)

    install = resource_commands(sub, "install", "install into the server's plugin environment")
    pkg = install.add_parser("package", help="install Python packages for plugins")
    pkg.add_argument("packages", nargs="*", metavar="PACKAGE")
    pkg.add_argument("--requirements", "-r", default=None, metavar="FILE",
                     help="requirements file (path relative to the server's plugin dir)")
    client_options(pkg)
    pkg.set_defaults(func=cmd_install_package)
