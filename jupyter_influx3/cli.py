"""The ``influx3`` command: ``serve`` runs the engine behind the HTTP API; the rest are thin clients.

    influx3 serve [--data-dir DIR] [--http-bind 127.0.0.1:8181] [--node-id ID] ...
    influx3 write --database DB [--precision P] [--host URL] [--token T] [FILE|-]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import socket
import sys
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Optional, Sequence

from .http import DEFAULT_MAX_REQUEST_BYTES

DEFAULT_BIND = "127.0.0.1:8181"
DEFAULT_HOST = "http://127.0.0.1:8181"


# ---- data directory --------------------------------------------------------------------------


def jupyter_data_dir() -> Path:
    """Jupyter's data directory, computed without needing Jupyter installed."""
    if os.environ.get("JUPYTER_DATA_DIR"):
        return Path(os.environ["JUPYTER_DATA_DIR"])
    try:
        from jupyter_core.paths import jupyter_data_dir as _jupyter_data_dir
    except ImportError:
        pass
    else:
        return Path(_jupyter_data_dir())
    home = Path.home()
    if sys.platform == "darwin":
        return home / "Library" / "Jupyter"
    if os.name == "nt":
        appdata = os.environ.get("APPDATA")
        return Path(appdata) / "jupyter" if appdata else home / "AppData" / "Roaming" / "jupyter"
    xdg = os.environ.get("XDG_DATA_HOME")
    return (Path(xdg) if xdg else home / ".local" / "share") / "jupyter"


def default_data_dir() -> Path:
    """``$INFLUX3_DATA_DIR``, else ``<jupyter data dir>/influx3`` (where kernels look too)."""
    env = os.environ.get("INFLUX3_DATA_DIR")
    return Path(env) if env else jupyter_data_dir() / "influx3"


# ---- serve -----------------------------------------------------------------------------------


def parse_bind(value: str) -> tuple[str, int]:
    """``host:port``, ``[v6]:port`` or ``:port`` (all interfaces)."""
    host, sep, port = value.rpartition(":")
    if not sep or not port.isdigit():
        raise argparse.ArgumentTypeError(f"expected HOST:PORT, got {value!r}")
    host = host.strip("[]")
    return host, int(port)


def positive_int(value: str) -> int:
    n = int(value)
    if n <= 0:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {value!r}")
    return n


async def _serve(args: argparse.Namespace) -> int:
    import tornado.httpserver
    import tornado.netutil

    from .engine import Engine, errors
    from .engine.catalog import Limits
    from .http.routes import make_app

    limit_args = {
        "max_databases": args.max_databases,
        "max_tables": args.max_tables,
        "max_columns_per_table": args.max_columns_per_table,
    }
    limits = Limits(**{k: v for k, v in limit_args.items() if v is not None})
    data_dir = Path(args.data_dir).expanduser()
    data_dir.mkdir(parents=True, exist_ok=True)
    try:
        engine = Engine(str(data_dir), node_id=args.node_id, limits=limits)
    except errors.EngineError as exc:
        print(f"influx3: error: cannot open {data_dir}: {exc}", file=sys.stderr)
        return 1
    try:
        host, port = args.http_bind
        try:
            sockets = tornado.netutil.bind_sockets(port, address=host or None)
        except OSError as exc:
            print(f"influx3: error: cannot listen on {host}:{port}: {exc.strerror}", file=sys.stderr)
            return 1
        app = make_app(engine, max_request_bytes=args.max_http_request_size)
        # The handlers stream bodies and enforce the request size themselves (so the 413 is ours).
        server = tornado.httpserver.HTTPServer(app)
        server.add_sockets(sockets)
        bound = sockets[0].getsockname()
        shown_host = f"[{bound[0]}]" if ":" in bound[0] else bound[0]
        print(f"influx3: listening on http://{shown_host}:{bound[1]} (data dir {data_dir})",
              file=sys.stderr, flush=True)

        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            try:
                loop.add_signal_handler(sig, stop.set)
            except (NotImplementedError, RuntimeError):  # pragma: no cover - Windows
                signal.signal(sig, lambda *_: loop.call_soon_threadsafe(stop.set))
        await stop.wait()
        print("influx3: shutting down", file=sys.stderr, flush=True)
        server.stop()  # no new connections
        await _drain(app.settings["influx3"], server)
    finally:
        engine.close()
    return 0


async def _drain(context, server, timeout: float = 30.0) -> None:
    """Let running engine calls finish and answer, then close every connection."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while context.busy and loop.time() < deadline:
        await asyncio.sleep(0.02)
    await asyncio.sleep(0.02)  # the handlers of the last calls write their answers
    try:
        await asyncio.wait_for(server.close_all_connections(), timeout=max(1.0, deadline - loop.time()))
    except asyncio.TimeoutError:
        print("influx3: gave up waiting for open connections", file=sys.stderr, flush=True)


def cmd_serve(args: argparse.Namespace) -> int:
    import logging

    logging.basicConfig(level=logging.WARNING, format="influx3: %(levelname)s %(name)s: %(message)s")
    # A client's bad request is the client's business; only server errors (5xx) are worth a line.
    logging.getLogger("tornado.access").setLevel(logging.ERROR)
    return asyncio.run(_serve(args))


# ---- write (a client of a running server) ----------------------------------------------------


def _read_input(source: str) -> bytes:
    if source == "-":
        return sys.stdin.buffer.read()
    return Path(source).read_bytes()


def _describe_error(status: int, body: bytes) -> list[str]:
    """Human lines for an error answer of a write endpoint."""
    text = body.decode("utf-8", errors="replace")
    try:
        doc = json.loads(text)
    except ValueError:
        return [f"error ({status}): {text}" if text else f"error: HTTP {status}"]
    if not isinstance(doc, dict):
        return [f"error ({status}): {text}"]
    lines = [f"error ({status}): {doc.get('error') or doc.get('message') or text}"]
    data = doc.get("data")
    for item in data if isinstance(data, list) else [data] if isinstance(data, dict) else []:
        lines.append(
            f"  line {item.get('line_number')}: {item.get('error_message')}"
            f" (line starts: {item.get('original_line')!r})"
        )
    return lines


def cmd_write(args: argparse.Namespace) -> int:
    try:
        body = _read_input(args.file)
    except OSError as exc:
        print(f"error: cannot read {args.file}: {exc.strerror}", file=sys.stderr)
        return 1
    params = {"db": args.database}
    if args.precision:
        params["precision"] = args.precision
    if args.no_sync:
        params["no_sync"] = "true"
    if args.no_partial:
        params["accept_partial"] = "false"
    url = f"{args.host.rstrip('/')}/api/v3/write_lp?{urllib.parse.urlencode(params)}"
    headers = {"Content-Type": "text/plain; charset=utf-8"}
    if args.token:
        headers["Authorization"] = f"Bearer {args.token}"
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=args.timeout) as response:
            response.read()
    except urllib.error.HTTPError as exc:
        for line in _describe_error(exc.code, exc.read()):
            print(line, file=sys.stderr)
        return 1
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        print(f"error: cannot reach {args.host}: {reason}", file=sys.stderr)
        return 1
    return 0


# ---- entry point -----------------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="influx3",
        description="A time-series database that speaks the InfluxDB 3 HTTP API.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True

    serve = sub.add_parser("serve", help="run the HTTP API server")
    serve.add_argument("--data-dir", default=None,
                       help="storage directory (default: $INFLUX3_DATA_DIR, else <jupyter data dir>/influx3)")
    serve.add_argument("--http-bind", type=parse_bind, default=parse_bind(DEFAULT_BIND), metavar="HOST:PORT",
                       help=f"address to listen on (default {DEFAULT_BIND}; port 0 picks a free one)")
    serve.add_argument("--node-id", default=f"serve-{socket.gethostname()}",
                       help="this node's id in the data directory (default: serve-<hostname>, stable across restarts)")
    serve.add_argument("--max-http-request-size", type=positive_int, default=DEFAULT_MAX_REQUEST_BYTES,
                       metavar="BYTES", help=f"largest request body, raw or decompressed (default {DEFAULT_MAX_REQUEST_BYTES})")
    serve.add_argument("--max-databases", type=positive_int, default=None, metavar="N",
                       help="database limit (default 100)")
    serve.add_argument("--max-tables", type=positive_int, default=None, metavar="N",
                       help="table limit across all databases (default 4000)")
    serve.add_argument("--max-columns-per-table", type=positive_int, default=None, metavar="N",
                       help="column limit per table, time excluded (default 500)")
    serve.set_defaults(func=cmd_serve)

    write = sub.add_parser("write", help="write line protocol to a running server")
    write.add_argument("--database", "-d", required=True, help="database to write to")
    write.add_argument("--precision", default=None,
                       help="timestamp precision: auto (server default), s, ms, us, ns")
    write.add_argument("--host", default=os.environ.get("INFLUX3_HOST", DEFAULT_HOST),
                       help=f"server URL (default $INFLUX3_HOST, else {DEFAULT_HOST})")
    write.add_argument("--token", default=os.environ.get("INFLUX3_TOKEN"), help="auth token (default $INFLUX3_TOKEN)")
    write.add_argument("--no-sync", action="store_true", help="do not wait for the WAL to be durable")
    write.add_argument("--no-partial", action="store_true",
                       help="reject the whole write if any line is bad (default: write the good lines)")
    write.add_argument("--timeout", type=float, default=60.0, help="seconds to wait for the server")
    write.add_argument("file", nargs="?", default="-", metavar="FILE|-",
                       help="line protocol file, or - for standard input (default)")
    write.set_defaults(func=cmd_write)
    return parser


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if getattr(args, "data_dir", "unset") is None:
        args.data_dir = str(default_data_dir())
    return args.func(args)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
