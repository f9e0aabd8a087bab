"""The administration parts of the ``influx3`` command (backup, restore, import, export, node stop) (cli.py owns the rest), named as the
official ``influxdb3`` CLI names them:

    influx3 create backup [--name N] [--force] [--incremental --parent P] [--wait]
    influx3 show backups [--format pretty|json]
    influx3 status backup NAME            influx3 cancel backup NAME
    influx3 delete backup NAME [--incremental]
    influx3 create restore --backup NAME [--wait]
    influx3 show restores [--format pretty|json]
    influx3 status restore ID             influx3 cancel restore ID
    influx3 restore --backup DIR --data-dir NEW     (offline: no server, a new data directory)
    influx3 stop node --node-id ID [--no-wait]
    influx3 import upload FILE|DIR -d DB -t TABLE [--column NAME:TYPE ...]   influx3 import list [-d DB]
    influx3 export databases | tables -d DB | windows -d DB -t T | data -d DB -t T [--window D,..] --output-dir DIR

The server commands are thin callers of the HTTP API (`cli._api_call`); `--wait` polls the job
until it is no longer `in_progress` (exit 1 when it failed).
"""

from __future__ import annotations

import json
import sys
import time
import urllib.parse


def _call(args, method: str, path: str, body: dict | None = None, ok=(200,)):
    """(answer dict or None) of one API call; errors printed (None)."""
    from .cli import _answer_failed, _api_call

    status, answer = _api_call(args.host, method, path, args.token, body, timeout=args.timeout)
    if _answer_failed(args.host, status, answer, ok=ok):
        return None
    return json.loads(answer) if answer.strip() else {}


def _wait(args, path: str) -> dict | None:
    while True:
        record = _call(args, "GET", path)
        if record is None or record.get("status") != "in_progress":
            return record
        time.sleep(0.2)


def _finished(record: dict | None, what: str) -> int:
    if record is None:
        return 1
    if record.get("status") != "completed":
        print(f"{what} {record.get('status')}: {record.get('error', '')}".rstrip(": "), file=sys.stderr)
        return 1
    print(f"{what} completed: {record.get('total_files', 0)} files, {record.get('total_size_bytes', 0)} bytes")
    return 0


def cmd_create_backup(args) -> int:
    body = {"type": "incremental" if args.incremental else "full", "force": args.force}
    if args.name:
        body["name"] = args.name
    if args.parent:
        body["parent"] = args.parent
    out = _call(args, "POST", "/api/v3/enterprise/backup", body, ok=(202,))
    if out is None:
        return 1
    name = out["backup_name"]
    if not args.wait:
        print(f"Backup {name} started (influx3 status backup {name})")
        return 0
    return _finished(_wait(args, f"/api/v3/enterprise/backup/{urllib.parse.quote(name, safe='')}"), f"Backup {name}")


def cmd_create_restore(args) -> int:
    out = _call(args, "POST", "/api/v3/enterprise/restore", {"backup_name": args.backup}, ok=(202,))
    if out is None:
        return 1
    rid = out["restore_id"]
    if not args.wait:
        print(f"Restore {rid} of backup {args.backup} started (influx3 status restore {rid})")
        return 0
    return _finished(_wait(args, f"/api/v3/enterprise/restore/{rid}"), f"Restore {rid}")


def _table(rows: list[dict], columns: list[str]) -> str:
    cells = [[str(r.get(c, "")) for c in columns] for r in rows]
    widths = [max([len(c)] + [len(row[i]) for row in cells]) for i, c in enumerate(columns)]
    line = lambda vals: "  ".join(v.ljust(w) for v, w in zip(vals, widths)).rstrip()  # noqa: E731
    return "\n".join([line(columns)] + [line(row) for row in cells])


def cmd_show(args) -> int:
    key = args.kind
    out = _call(args, "GET", f"/api/v3/enterprise/{'backup' if key == 'backups' else 'restore'}")
    if out is None:
        return 1
    if args.format == "json":
        print(json.dumps(out[key], indent=2))
    elif not out[key]:
        print(f"(no {key})")
    else:
        cols = (["name", "type", "status", "created_at", "completed_at", "total_files", "total_size_bytes", "parent"]
                if key == "backups" else
                ["restore_id", "backup_name", "status", "created_at", "completed_at", "total_files"])
        print(_table(out[key], cols))
    return 0


def cmd_status(args) -> int:
    path = f"/api/v3/enterprise/{args.kind}/{urllib.parse.quote(args.id, safe='')}"
    out = _call(args, "GET", path)
    if out is None:
        return 1
    out.pop("files", None)
    print(json.dumps(out, indent=2))
    return 0


def cmd_cancel(args) -> int:
    if args.kind == "backup":
        out = _call(args, "DELETE", "/api/v3/enterprise/backup", {"name": args.id})
    else:
        out = _call(args, "DELETE", f"/api/v3/enterprise/restore/{urllib.parse.quote(args.id, safe='')}", ok=(204,))
    if out is None:
        return 1
    print(f"Cancelling {args.kind} {args.id}")
    return 0


def cmd_delete_backup(args) -> int:
    query = "?incremental=true" if args.incremental else ""
    out = _call(args, "DELETE", f"/api/v3/enterprise/backup/{urllib.parse.quote(args.name, safe='')}{query}")
    if out is None:
        return 1
    print(f"Backup {args.name} deleted")
    return 0


def cmd_stop_node(args) -> int:
    out = _call(args, "POST", "/api/v3/enterprise/configure/node/stop", {"node_id": args.node_id})
    if out is None:
        return 1
    if args.no_wait or out.get("state") == "stopped":
        print(f"Node {args.node_id}: {out.get('state')}")
        return 0
    from .cli import _api_call

    node = args.node_id.replace("'", "''")
    q = urllib.parse.urlencode({"db": "_internal", "format": "json",
                                "q": f"SELECT state FROM system.nodes WHERE node_id = '{node}'"})
    deadline = time.monotonic() + args.wait_timeout
    while time.monotonic() < deadline:
        status, answer = _api_call(args.host, "GET", f"/api/v3/query_sql?{q}", args.token, None, timeout=args.timeout)
        if status == 0:       # the node stopped was the server we talk to: it is gone
            print(f"Node {args.node_id}: stopped (the server exited)")
            return 0
        rows = json.loads(answer) if status == 200 and answer.strip() else []
        if rows and rows[0].get("state") == "stopped":
            print(f"Node {args.node_id}: stopped")
            return 0
        time.sleep(0.5)
    print(f"influx3: error: node {args.node_id} did not stop within {args.wait_timeout:g}s", file=sys.stderr)
    return 1


def _raw_call(args, method: str, path: str, data: bytes | None = None, content_type: str | None = None):
    """(status, body bytes) of a request whose body is not JSON; status 0 when unreachable."""
    import urllib.error
    import urllib.request

    token = args.token
    if token is None:
        from .credentials import stored_token

        token = stored_token(args.host, args.timeout)
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    if content_type:
        headers["Content-Type"] = content_type
    req = urllib.request.Request(args.host.rstrip("/") + path, data=data, headers=headers, method=method)
    try:
        with urllib.request.urlopen(req, timeout=args.timeout) as resp:
            return resp.status, resp.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()
    except (urllib.error.URLError, OSError) as exc:
        return 0, str(getattr(exc, "reason", exc)).encode()


def _multipart(fields: dict[str, str], filename: str, data: bytes) -> tuple[bytes, str]:
    import uuid

    boundary = f"influx3-{uuid.uuid4().hex}"
    out = []
    for name, value in fields.items():
        out.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode())
    safe = filename.replace('"', "_")
    out.append(f'--{boundary}\r\nContent-Disposition: form-data; name="file_bytes"; filename="{safe}"\r\n'
               f"Content-Type: application/octet-stream\r\n\r\n".encode() + data + b"\r\n")
    out.append(f"--{boundary}--\r\n".encode())
    return b"".join(out), f"multipart/form-data; boundary={boundary}"


def cmd_import_upload(args) -> int:
    """One import job per Parquet file (a directory is walked recursively), with progress."""
    from pathlib import Path

    from .cli import _answer_failed

    src = Path(args.source).expanduser()
    files = sorted(src.rglob("*.parquet")) if src.is_dir() else [src]
    if not files or not all(f.is_file() for f in files):
        print(f"influx3: error: no Parquet file at {src}", file=sys.stderr)
        return 1
    mapping = {}
    for item in args.column:
        name, _, typ = item.rpartition(":")
        if not name:
            print(f"influx3: error: --column wants NAME:TYPE, got {item!r}", file=sys.stderr)
            return 1
        mapping[name] = typ
    fields = {"database": args.database, "table": args.table}
    if mapping:
        fields["column_metadata"] = json.dumps({"column_mapping": mapping})
    failed, rows, t0 = 0, 0, time.monotonic()
    for i, f in enumerate(files, 1):
        body, ctype = _multipart(fields, f.name, f.read_bytes())
        status, answer = _raw_call(args, "POST", "/api/v3/enterprise/import", body, ctype)
        if _answer_failed(args.host, status, answer):
            print(f"[{i}/{len(files)}] {f}: failed", file=sys.stderr)
            failed += 1
            continue
        info = json.loads(answer)
        rows += info.get("row_count", 0)
        rate = rows / max(time.monotonic() - t0, 1e-9)
        print(f"[{i}/{len(files)}] {f}: {info.get('row_count', 0):,} rows {info.get('status')} "
              f"({rows:,} rows so far, {rate:,.0f} rows/s)", flush=True)
    return 1 if failed else 0


def cmd_import_list(args) -> int:
    query = f"?{urllib.parse.urlencode({'database': args.database})}" if args.database else ""
    out = _call(args, "GET", f"/api/v3/enterprise/import{query}")
    if out is None:
        return 1
    if args.format == "json":
        print(json.dumps(out, indent=2))
    else:
        print(_table(out, ["upload_uuid", "database", "table", "filename", "status", "row_count", "last_message"])
              if out else "(no imports)")
    return 0


def cmd_export(args) -> int:
    """`export databases|tables|windows` print lists; `export data` unpacks the tar into --output-dir."""
    params = {"db": getattr(args, "database", None), "table": getattr(args, "table", None)}
    params = {k: v for k, v in params.items() if v}
    if args.what != "data":
        out = _call(args, "GET", f"/api/v3/export/{args.what}?{urllib.parse.urlencode(params)}")
        if out is None:
            return 1
        print("\n".join(out[args.what]) if out[args.what] else f"(no {args.what})")
        return 0
    import io
    import tarfile
    from pathlib import Path

    from .cli import _answer_failed

    if args.window:
        params["windows"] = args.window
    status, body = _raw_call(args, "GET", f"/api/v3/export/window_data?{urllib.parse.urlencode(params)}")
    if _answer_failed(args.host, status, body):
        return 1
    dest = Path(args.output_dir).expanduser()
    dest.mkdir(parents=True, exist_ok=True)
    with tarfile.open(fileobj=io.BytesIO(body)) as tar:
        members = [m for m in tar.getmembers() if m.isfile() and not m.name.startswith("/") and ".." not in m.name]
        tar.extractall(dest, members=members, filter="data")
    for m in members:
        print(dest / m.name)
    return 0


def cmd_restore_offline(args) -> int:
    from .engine.admin import AdminError, restore_offline

    try:
        record = restore_offline(args.backup, args.data_dir)
    except AdminError as exc:
        print(f"influx3: error: {exc.message}", file=sys.stderr)
        return 1
    return _finished(record, f"Restore of {args.backup} into {args.data_dir}")


def add_commands(sub, create_sub, delete_sub, show_sub, client_options, resource_commands) -> None:
    """Register the backup and restore commands on the parsers cli.py built."""
    backup = create_sub.add_parser("backup", help="start a backup of the server's data directory")
    backup.add_argument("--name", default=None, help="backup name (default: backup-<UTC time>)")
    backup.add_argument("--force", action="store_true", help="overwrite a backup of the same name")
    backup.add_argument("--incremental", action="store_true", help="only what --parent does not hold")
    backup.add_argument("--parent", default=None, help="the backup an incremental one builds on")
    backup.add_argument("--wait", action="store_true", help="wait until it completed (or failed)")
    client_options(backup)
    backup.set_defaults(func=cmd_create_backup)

    restore = create_sub.add_parser("restore", help="roll the server's data back to a backup")
    restore.add_argument("--backup", required=True, metavar="NAME")
    restore.add_argument("--wait", action="store_true", help="wait until it completed (or failed)")
    client_options(restore)
    restore.set_defaults(func=cmd_create_restore)

    for kind in ("backups", "restores"):
        show = show_sub.add_parser(kind, help=f"list {kind}")
        show.add_argument("--format", choices=("pretty", "json"), default="pretty")
        client_options(show)
        show.set_defaults(func=cmd_show, kind=kind)

    status_sub = resource_commands(sub, "status", "the state of a backup or restore")
    cancel_sub = resource_commands(sub, "cancel", "cancel a running backup or restore")
    for kind, meta in (("backup", "NAME"), ("restore", "RESTORE_ID")):
        for parent_sub, func in ((status_sub, cmd_status), (cancel_sub, cmd_cancel)):
            p = parent_sub.add_parser(kind, help=f"{func.__name__[4:]} a {kind}")
            p.add_argument("id", metavar=meta)
            client_options(p)
            p.set_defaults(func=func, kind=kind)

    delete = delete_sub.add_parser("backup", help="delete a backup")
    delete.add_argument("name", metavar="NAME")
    delete.add_argument("--incremental", action="store_true", help="also delete its incremental children")
    client_options(delete)
    delete.set_defaults(func=cmd_delete_backup)

    stop_sub = resource_commands(sub, "stop", "stop a node of the server's data directory")
    node = stop_sub.add_parser("node", help="persist a node's writes and stop it (waits until stopped)")
    node.add_argument("--node-id", required=True)
    node.add_argument("--no-wait", action="store_true", help="do not wait until it is stopped")
    node.add_argument("--wait-timeout", type=float, default=300.0, metavar="SECONDS", help="default 300")
    client_options(node)
    node.set_defaults(func=cmd_stop_node)

    imp = resource_commands(sub, "import", "bulk-import Parquet files into an existing table")
    upload = imp.add_parser("upload", help="import a Parquet file, or every *.parquet under a directory")
    upload.add_argument("source", metavar="FILE|DIR")
    upload.add_argument("--database", "-d", required=True)
    upload.add_argument("--table", "-t", required=True)
    upload.add_argument("--column", action="append", default=[], metavar="NAME:TYPE",
                        help="tag, time, i64, u64, f64, bool or string (repeatable; other columns become fields)")
    client_options(upload)
    upload.set_defaults(func=cmd_import_upload)
    listing = imp.add_parser("list", help="list import jobs")
    listing.add_argument("--database", "-d", default=None)
    listing.add_argument("--format", choices=("pretty", "json"), default="pretty")
    client_options(listing)
    listing.set_defaults(func=cmd_import_list)

    exp = resource_commands(sub, "export", "export persisted data by UTC day windows")
    for what, needs in (("databases", ()), ("tables", ("database",)), ("windows", ("database", "table")),
                        ("data", ("database", "table"))):
        p = exp.add_parser(what, help=f"list {what}" if what != "data" else "download windows as Parquet files")
        if "database" in needs:
            p.add_argument("--database", "-d", required=True)
        if "table" in needs:
            p.add_argument("--table", "-t", required=True)
        if what == "data":
            p.add_argument("--window", default=None, metavar="DAY[,DAY...]", help="UTC dates (default: all)")
            p.add_argument("--output-dir", required=True, metavar="DIR")
        client_options(p)
        p.set_defaults(func=cmd_export, what=what)

    offline = sub.add_parser("restore", help="restore a backup folder into a new data directory (no server)")
    offline.add_argument("--backup", required=True, metavar="DIR", help="<data-dir>/backups/<name> (or a copy of it)")
    offline.add_argument("--data-dir", required=True, metavar="NEW", help="an empty or new directory")
    offline.set_defaults(func=cmd_restore_offline)
