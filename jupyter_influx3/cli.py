"""The ``influx3`` command: ``serve`` runs the engine behind the HTTP API; the rest are thin clients.

    influx3 serve [--data-dir DIR] [--http-bind 127.0.0.1:8181] [--node-id ID] ...
    influx3 write --database DB [--precision P] [--host URL] [--token T] [FILE|-]
    influx3 query --database DB [--format pretty|json|jsonl|csv|parquet] "SQL"
    influx3 create database NAME [--retention-period D]
    influx3 delete database NAME [--hard-delete-at now|never|default|RFC3339]
    influx3 show databases [--format F] [--show-deleted]
    influx3 create token --admin [--host URL | --offline --output FILE [--data-dir DIR]]
"""

from __future__ import annotations

import argparse
import asyncio
import gc
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

from . import __version__
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
    try:
        n = int(value)
    except ValueError:
        n = 0   # not a number: the same message as a non-positive one
    if n <= 0:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {value!r}")
    return n


def non_negative_int(value: str) -> int:
    n = int(value)
    if n < 0:
        raise argparse.ArgumentTypeError(f"expected 0 or a positive integer, got {value!r}")
    return n


async def _watch_node_stop(engine, stop: asyncio.Event) -> None:
    while not stop.is_set():
        if engine.stop_requested.is_set():
            stop.set()
        await asyncio.sleep(0.2)


def settle_gc() -> None:
    """Once the server is built: what exists now (modules, the engine, the route table: ~115K
    objects) lives as long as the process, so it leaves the cyclic GC's sight (``gc.freeze``). A
    full collection then walks only what requests leave behind: without it, one walked all of them,
    a 50 ms pause every few thousand requests on this hardware."""
    gc.collect()
    gc.freeze()


async def _serve(args: argparse.Namespace) -> int:
    import tornado.netutil

    from .engine import Engine, errors
    from .cli_caches import engine_options as cache_options
    from .engine.catalog import Limits
    from .flight.portshare import shared_port_server
    from .http.routes import make_app

    limit_args = {
        "max_databases": args.max_databases,
        "max_tables": args.max_tables,
        "max_columns_per_table": args.max_columns_per_table,
    }
    limits = Limits(**{k: v for k, v in limit_args.items() if v is not None})
    data_dir = Path(args.data_dir).expanduser()
    data_dir.mkdir(parents=True, exist_ok=True)
    worker = _worker_spec(args)   # (index, ready fd, listening fds) in a worker of --workers N
    try:
        cache = None if args.series_cache_mb is None else args.series_cache_mb * 2**20
        query_memory = args.query_memory_limit
        if worker is not None:   # memory budgets are the server's, shared out among workers
            from .engine.querylimits import total_memory
            from .engine.sql.seriescache import default_budget
            cache = (default_budget() if cache is None else cache) // args.workers
            query_memory = max(2**26, (query_memory or total_memory() // 4) // args.workers)
        snapshot = {} if args.snapshot_rows is None else {"snapshot_rows": args.snapshot_rows}
        engine = Engine(str(data_dir), node_id=args.node_id, limits=limits, series_cache_bytes=cache,
                        query_memory_limit=query_memory, **snapshot, **cache_options(args))
    except errors.EngineError as exc:
        print(f"influx3: error: cannot open {data_dir}: {exc}", file=sys.stderr)
        if worker is not None and isinstance(exc, errors.NodeInUse):
            from .supervisor import NODE_BUSY_EXIT

            return NODE_BUSY_EXIT   # the supervisor tries again: a sibling may be adopting our WAL
        return 1
    context = None
    try:
        host, port = args.http_bind
        if worker is not None:
            sockets = [socket.socket(fileno=fd) for fd in worker[2]]   # the supervisor's listener
        else:
            try:
                sockets = tornado.netutil.bind_sockets(port, address=host or None)
            except OSError as exc:
                print(f"influx3: error: cannot listen on {host}:{port}: {exc.strerror}", file=sys.stderr)
                return 1
        auth = _auth_settings(args, engine)
        if auth is None:
            return 1
        if args.plugin_dir:  # the processing engine (engine/plugins/); its operations need it
            engine.configure_plugins(Path(args.plugin_dir).expanduser(), plugin_repo=args.plugin_repo,
                                     package_manager=args.package_manager,
                                     restrict_to=args.restrict_plugin_triggers_to)
        from .cli_users import open_user_auth

        users = open_user_auth(args, engine, auth)  # --user-auth-type basic: logins and JWTs
        if users is False:
            return 1
        from .engine.querylimits import QueryLimits

        engine.query_limits = QueryLimits(timeout_s=args.query_timeout or None)
        for flag, field in (("max_select_buckets", "max_select_buckets"), ("max_select_point", "max_select_points")):
            if getattr(args, flag) is not None:  # 0: unlimited, as in InfluxDB 1.x
                setattr(engine.query_limits, field, getattr(args, flag))
        if args.max_held_result:
            engine.query_limits.max_materialized_bytes = args.max_held_result
        from .engine.concurrency import QuerySlots

        engine.query_slots = QuerySlots(args.max_concurrent_queries)   # None: unlimited
        if worker is not None:
            _share_with_workers(engine, args, users)
        app = make_app(engine, max_request_bytes=args.max_http_request_size, auth=auth,
                       cors_origins=args.cors_origins, allowed_hosts=_allowed_hosts(args))
        app.settings["influx3"].users = users
        # The handlers stream bodies and enforce the request size themselves (so the 413 is ours).
        # HTTP/1.1 is read by http/connection.py (llhttp), not by tornado's IOStream.
        # gRPC (Arrow Flight) on the same port: relayed to a Flight server on a loopback port.
        # A connection that has not sent a whole header (slowloris, or idle keep-alive) within the
        # idle timeout is closed, and so is one whose body does not arrive within the body timeout.
        server, flight_server = shared_port_server(app, engine, auth=auth.enabled, llhttp=True,
                                                   idle_connection_timeout=args.http_idle_timeout,
                                                   body_timeout=args.http_body_timeout)
        if worker is None:
            server.add_sockets(sockets)
        else:   # one connection at a time, left to an idler sibling when there is one
            from .http.balance import add_balanced_sockets
            from .supervisor import WORKERS_DIR_ENV

            add_balanced_sockets(server, sockets, Path(os.environ[WORKERS_DIR_ENV]), worker[0], args.workers)
        bound = sockets[0].getsockname()
        shown_host = f"[{bound[0]}]" if ":" in bound[0] else bound[0]
        if worker is None:
            print(f"influx3: listening on http://{shown_host}:{bound[1]} (data dir {data_dir})",
                  file=sys.stderr, flush=True)
        else:   # the supervisor prints the listening line once every worker serves
            from .supervisor import notify_ready

            notify_ready(worker[1])
        if worker is None or worker[0] == 0:
            _print_auth_status(auth, engine, f"http://{shown_host}:{bound[1]}")
        if flight_server is not None and (worker is None or worker[0] == 0):
            print(f"influx3: Arrow Flight / Flight SQL (gRPC) on the same port, grpc://{shown_host}:{bound[1]}",
                  file=sys.stderr, flush=True)

        settle_gc()
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            try:
                loop.add_signal_handler(sig, stop.set)
            except (NotImplementedError, RuntimeError):  # pragma: no cover - Windows
                signal.signal(sig, lambda *_: loop.call_soon_threadsafe(stop.set))
        # a node stop (POST /api/v3/enterprise/configure/node/stop) ends the server like SIGTERM
        stop_watch = asyncio.ensure_future(_watch_node_stop(engine, stop))  # noqa: F841 - tasks are held weakly
        await stop.wait()
        print("influx3: shutting down", file=sys.stderr, flush=True)
        server.stop()  # no new connections
        context = app.settings["influx3"]
        _interrupt_queries(context, engine)  # a runaway query must not hold the shutdown
        await _drain(context, server)
        if flight_server is not None:
            await loop.run_in_executor(None, flight_server.shutdown)
    finally:
        engine.close()
    from .http import querypool

    stuck = querypool.running(context) if context is not None else 0
    if stuck or (context is not None and context.busy):
        # Python work of an interrupted query that is still running would keep the interpreter
        # from exiting (pool threads are joined at exit); the WAL is closed, nothing is lost.
        print(f"influx3: {max(stuck, context.busy)} interrupted queries still running; exiting without them",
              file=sys.stderr, flush=True)
        sys.stdout.flush()
        os._exit(0)
    return 0


def _interrupt_queries(context, engine) -> None:
    """Cancel every query request (they answer 503) and interrupt every DuckDB query of the node."""
    from .http import querypool

    cancelled = querypool.cancel_all(context)
    interrupted = engine.interrupt_queries()
    if cancelled or interrupted:
        print(f"influx3: interrupted {max(cancelled, interrupted)} running queries", file=sys.stderr, flush=True)


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


def _auth_settings(args: argparse.Namespace, engine):
    """The server's AuthSettings from --without-auth / --disable-authz / --admin-token-file
    (the operator token is created from the file if there is none yet); None after an error."""
    from .engine import tokens as tokenlib
    from .http.auth import AuthSettings

    if args.admin_token_file:
        path = Path(args.admin_token_file).expanduser()
        try:
            token = tokenlib.read_token_file(path.read_text(encoding="utf-8"))
        except OSError as exc:
            print(f"influx3: error: cannot read admin token file {path}: {exc.strerror}", file=sys.stderr)
            return None
        except tokenlib.InvalidTokenRequest as exc:
            print(f"influx3: error: admin token file {path}: {exc}", file=sys.stderr)
            return None
        if tokenlib.ensure_admin_token(engine.catalog, token) == "different":
            print(f"influx3: warning: an operator token already exists; the one in {path} is not it and "
                  "is ignored (regenerate the operator token to replace it)", file=sys.stderr, flush=True)
    return AuthSettings(enabled=not args.without_auth, open_paths=args.disable_authz or frozenset())


def _print_auth_status(auth, engine, url: str) -> None:
    from .engine import tokens as tokenlib

    if not auth.enabled:
        print("influx3: authentication is OFF (--without-auth): anyone who can reach this port can "
              "read, write and delete data", file=sys.stderr, flush=True)
    elif not tokenlib.has_operator_token(engine.catalog):
        print(f"influx3: authentication is on and there is no operator token yet: create it with "
              f"`influx3 create token --admin --host {url}`", file=sys.stderr, flush=True)


def _hosts(value: str):
    from .http.cors import parse_hosts

    try:
        return parse_hosts(value)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _allowed_hosts(args: argparse.Namespace):
    """The Host names the server answers besides loopback ones (None: any). Listening on a
    loopback address, only local names unless --allowed-hosts adds some (DNS rebinding); listening
    on a network, any (clients reach it by whatever name)."""
    from .http.cors import loopback_only

    if args.allowed_hosts is None:
        return None
    if args.allowed_hosts or loopback_only(args.http_bind[0]):
        return args.allowed_hosts
    return None


def _cors_origins(value: str) -> tuple:
    from .http.cors import parse_origins

    try:
        return parse_origins(value)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _non_negative_float(value: str) -> float:
    try:
        n = float(value)
    except ValueError:
        n = -1.0
    if not n >= 0 or n == float("inf"):
        raise argparse.ArgumentTypeError(f"expected a number of seconds (0 or more), got {value!r}")
    return n


def _positive_float(value: str) -> float:
    n = _non_negative_float(value)
    if n == 0:
        raise argparse.ArgumentTypeError(f"expected a number of seconds above 0, got {value!r}")
    return n


def _memory_size(value: str) -> int:
    from .engine.querylimits import parse_memory_size

    try:
        return parse_memory_size(value)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _disable_authz(value: str) -> frozenset:
    from .http.auth import parse_disable_authz

    try:
        return parse_disable_authz(value)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _share_with_workers(engine, args: argparse.Namespace, users) -> None:
    """What the workers of `serve --workers N` share through the supervisor's runtime directory."""
    from .engine.changesignal import ChangeSignal
    from .engine.concurrency import SharedQuerySlots
    from .engine.plugins.logs import LOGS
    from .engine.sql.peerlog import PeerQueryLogs
    from .supervisor import WORKERS_DIR_ENV

    shared = Path(os.environ[WORKERS_DIR_ENV])
    engine.query_slots = SharedQuerySlots(shared / "slots", args.max_concurrent_queries)   # one limit
    engine.peer_query_logs = PeerQueryLogs(engine, shared / "queries")   # one system.queries
    LOGS.share(shared / "plugin-logs", args.node_id)   # one system.processing_engine_logs
    engine.catalog.signal = ChangeSignal(shared / "catalog.signal")   # a revoked token is revoked at once
    if users:
        users.throttle.share(shared / "logins.sqlite")   # failed logins counted for the server


def _worker_spec(args: argparse.Namespace):
    """(index, ready fd, [listening fds]) when this process is a worker of `--workers N`, else None."""
    if not args.worker_spec:
        return None
    numbers = [int(x) for x in args.worker_spec.split(",")]
    return numbers[0], numbers[1], numbers[2:]


def _workers(value: str) -> int:
    if value == "auto":   # the cores this process may run on (a container or taskset may allow fewer)
        try:
            return len(os.sched_getaffinity(0)) or 1
        except AttributeError:  # pragma: no cover - not Linux
            return os.cpu_count() or 1
    return positive_int(value)


def _supervise(args: argparse.Namespace) -> int:
    """`serve --workers N` (N > 1): bind, then run N worker processes on the socket (supervisor.py)."""
    import tornado.netutil

    from . import supervisor

    host, port = args.http_bind
    try:
        sockets = tornado.netutil.bind_sockets(port, address=host or None)
    except OSError as exc:
        print(f"influx3: error: cannot listen on {host}:{port}: {exc.strerror}", file=sys.stderr)
        return 1
    bound = sockets[0].getsockname()
    shown_host = f"[{bound[0]}]" if ":" in bound[0] else bound[0]
    Path(args.data_dir).expanduser().mkdir(parents=True, exist_ok=True)
    # the workers get the user's flags, then their own (argparse: the last one wins)
    return supervisor.run(args.argv, args.workers, args.node_id, sockets, f"http://{shown_host}:{bound[1]}",
                          str(Path(args.data_dir).expanduser()))


def cmd_serve(args: argparse.Namespace) -> int:
    import logging

    logging.basicConfig(level=logging.WARNING, format="influx3: %(levelname)s %(name)s: %(message)s")
    # A client's bad request is the client's business; only server errors (5xx) are worth a line.
    logging.getLogger("tornado.access").setLevel(logging.ERROR)
    if args.workers > 1 and not args.worker_spec:
        return _supervise(args)
    return _event_loop_runner()(_serve(args))


def _event_loop_runner():
    """``uvloop.run`` where uvloop is installed (Linux and macOS: its C event loop and transports
    cost a request ~15-55 µs less CPU than asyncio's under http/connection.py), else
    ``asyncio.run``."""
    try:
        import uvloop
    except ImportError:
        return asyncio.run
    return uvloop.run


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
    token = args.token
    if token is None:
        from .credentials import stored_token

        token = stored_token(args.host, args.timeout)  # `influx3 auth login`
    if token:
        headers["Authorization"] = f"Bearer {token}"
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=args.timeout) as response:
            response.read()
    except urllib.error.HTTPError as exc:
        answer = exc.read()
        rejected = _rejected_lines(exc.code, answer)
        if rejected is None:
            for line in _describe_error(exc.code, answer):
                print(line, file=sys.stderr)
        else:
            _report_write(args.database, body, rejected, partial=not args.no_partial)
        return 1
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        print(f"error: cannot reach {args.host}: {reason}", file=sys.stderr)
        return 1
    _report_write(args.database, body, [], partial=True)
    return 0


def _rejected_lines(status: int, body: bytes) -> Optional[list[dict]]:
    """The per-line errors of a 400 write answer (`data`: a list, or one line with
    accept_partial=false); None for any other error."""
    if status != 400:
        return None
    try:
        data = json.loads(body).get("data")
    except (ValueError, AttributeError):
        return None
    data = [data] if isinstance(data, dict) else data
    if not isinstance(data, list) or not data or not all(isinstance(d, dict) for d in data):
        return None
    return data


def _report_write(database: str, body: bytes, rejected: list[dict], partial: bool) -> None:
    """`N lines written to DB` on stdout; each rejected line (number, InfluxDB 3's message, the
    line, and what exactly is wrong with it) on stderr, as %%lp shows them."""
    from .engine.lineprotocol import counted_lines, line_detail

    lines = counted_lines(body)
    written = len(lines) - len(rejected) if partial else 0
    summary = f"{written} line{'s' if written != 1 else ''} written to {database}"
    if rejected:
        summary += f", {len(rejected)} line{'s' if len(rejected) != 1 else ''} rejected"
    print(summary, flush=True)
    for item in rejected:
        number = item.get("line_number")
        line = str(item.get("original_line", ""))
        if isinstance(number, int) and 0 < number <= len(lines) and lines[number - 1].startswith(line):
            line = lines[number - 1]  # the server shortens it; the whole line is in the file
        print(f"  line {number}: {item.get('error_message')}: {line}", file=sys.stderr)
        detail = line_detail(line)
        if detail:
            print(f"    {detail}", file=sys.stderr)


# ---- create token (against a running server, or offline) -------------------------------------


def _api_call(host: str, method: str, path: str, token: Optional[str], body: Optional[dict] = None,
              timeout: float = 60.0) -> tuple[int, bytes]:
    """(status, body) of one API request; status 0 when the server cannot be reached."""
    data = None
    headers = {}
    if body is not None:
        data = json.dumps(body).encode("utf-8")
        headers["Content-Type"] = "application/json"
    if token is None:
        from .credentials import stored_token

        token = stored_token(host, timeout)  # `influx3 auth login`, refreshed when about to expire
    if token:
        headers["Authorization"] = f"Bearer {token}"
    request = urllib.request.Request(host.rstrip("/") + path, data=data, headers=headers, method=method)
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()
    except (urllib.error.URLError, OSError) as exc:
        return 0, str(getattr(exc, "reason", exc)).encode()


def _write_token_file(path: Path, info: dict) -> None:
    """Write a token file readable by its owner only; never overwrite one."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        out.write(json.dumps(info, indent=2) + "\n")


def _show_token(info: dict, fmt: str) -> None:
    if fmt == "json":
        print(json.dumps(info, indent=2))
        return
    print("New token created successfully!\n")
    print(f"Token: {info['token']}")
    print(f"HTTP Requests Header: Authorization: Bearer {info['token']}\n")
    print("IMPORTANT: Store this token securely, as it will not be shown again.")


def _expiry_secs(value: Optional[str]) -> Optional[int]:
    if value is None:
        return None
    if value.isdigit():
        return int(value)
    from .engine.catalog import parse_duration

    return parse_duration(value) // 1_000_000_000


def cmd_create_token(args: argparse.Namespace) -> int:
    from .engine import tokens as tokenlib

    try:
        expiry = _expiry_secs(args.expiry)
        permissions = [tokenlib.parse_permission(p) for p in args.permission]
    except (ValueError, tokenlib.InvalidTokenRequest) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if args.admin == bool(permissions):
        print("error: give --admin, or --name with one or more --permission", file=sys.stderr)
        return 2
    if permissions and not args.name:
        print("error: a resource token needs --name", file=sys.stderr)
        return 2
    if args.offline:
        if not args.admin or args.name or args.regenerate:
            print("error: --offline creates the operator token only (--admin)", file=sys.stderr)
            return 2
        if not args.output:
            print("error: --offline needs --output FILE", file=sys.stderr)
            return 2
        return _create_offline_admin_token(args)
    if args.regenerate:
        if not args.admin or args.name:
            print("error: --regenerate applies to the operator token (--admin)", file=sys.stderr)
            return 2
        status, body = _api_call(args.host, "POST", "/api/v3/configure/token/admin/regenerate", args.token,
                                 timeout=args.timeout)
    elif args.admin and args.name:
        status, body = _api_call(args.host, "POST", "/api/v3/configure/token/named_admin", args.token,
                                 {"token_name": args.name, "expiry_secs": expiry}, timeout=args.timeout)
    elif args.admin:
        status, body = _api_call(args.host, "POST", "/api/v3/configure/token/admin", None, timeout=args.timeout)
    else:
        status, body = _api_call(args.host, "POST", "/api/v3/enterprise/configure/token", args.token,
                                 {"token_name": args.name, "permissions": permissions, "expiry_secs": expiry},
                                 timeout=args.timeout)
    if _answer_failed(args.host, status, body, ok=(201,)):
        if status == 409 and args.admin and not args.name:
            print("hint: the operator token exists already; rotate it with --regenerate --token <admin token>",
                  file=sys.stderr)
        return 1
    info = json.loads(body)
    if args.output:
        try:
            _write_token_file(Path(args.output).expanduser(), info)
        except OSError as exc:
            print(f"error: cannot write {args.output}: {exc.strerror} (the token is printed below)", file=sys.stderr)
            _show_token(info, args.format)
            return 1
    _show_token(info, args.format)
    return 0


def _create_offline_admin_token(args: argparse.Namespace) -> int:
    """Write a new operator token to --output (for `serve --admin-token-file`); with --data-dir,
    also store it in that data directory's catalog right away."""
    from .engine import tokens as tokenlib
    from .engine.catalog import Catalog

    issued = tokenlib.offline_admin_token()
    out = Path(args.output).expanduser()
    try:
        _write_token_file(out, issued.info())
    except OSError as exc:
        print(f"error: cannot write {out}: {exc.strerror}", file=sys.stderr)
        return 1
    if args.offline_data_dir:
        try:
            catalog = Catalog(Path(args.offline_data_dir).expanduser())
            issued = tokenlib.create_admin_token(catalog, issued.token)
        except (OSError, tokenlib.TokenNameExists) as exc:
            out.unlink(missing_ok=True)
            reason = "an operator token already exists there" if isinstance(exc, tokenlib.TokenNameExists) else exc
            print(f"error: cannot store the token in {args.offline_data_dir}: {reason}", file=sys.stderr)
            return 1
        print(f"Operator token stored in {args.offline_data_dir} and written to {out}.", file=sys.stderr)
    else:
        print(f"Operator token written to {out}; start the server with "
              f"`influx3 serve --admin-token-file {out}`.", file=sys.stderr)
    return 0


# ---- query, databases (clients of a running server) ------------------------------------------

QUERY_FORMATS = ("pretty", "json", "jsonl", "csv", "parquet")
#: InfluxDB 3's pretty answer for a result without rows (Arrow's table of no batches).
EMPTY_PRETTY = b"++\n++"


def _print_body(body: bytes, fmt: str, output: Optional[str]) -> int:
    """Print a query-format answer (pretty gets the newline the server leaves off), or save it."""
    if output:
        try:
            Path(output).expanduser().write_bytes(body)
        except OSError as exc:
            print(f"error: cannot write {output}: {exc.strerror}", file=sys.stderr)
            return 1
        return 0
    if fmt == "parquet":
        if sys.stdout.isatty():
            print("error: parquet output is binary: give --output FILE (or redirect standard output)",
                  file=sys.stderr)
            return 1
        sys.stdout.buffer.write(body)
        sys.stdout.flush()
        return 0
    sys.stdout.buffer.write(body if not body or body.endswith(b"\n") else body + b"\n")
    sys.stdout.flush()
    return 0


def _answer_failed(host: str, status: int, body: bytes, ok: tuple[int, ...] = (200,)) -> bool:
    """Report an unreachable server or an error answer on stderr; True if the call failed."""
    if status == 0:
        print(f"error: cannot reach {host}: {body.decode(errors='replace')}", file=sys.stderr)
        return True
    if status not in ok:
        for line in _describe_error(status, body):
            print(line, file=sys.stderr)
        return True
    return False


def cmd_query(args: argparse.Namespace) -> int:
    query = args.query
    if query == "-":
        query = sys.stdin.read()
    elif args.file:
        try:
            query = Path(args.file).expanduser().read_text(encoding="utf-8")
        except OSError as exc:
            print(f"error: cannot read {args.file}: {exc.strerror}", file=sys.stderr)
            return 1
    if not query:
        print("error: no query given (an argument, --file FILE, or - for standard input)", file=sys.stderr)
        return 2
    path = "/api/v3/query_sql" if args.language == "sql" else "/api/v3/query_influxql"
    status, body = _api_call(args.host, "POST", path, args.token,
                             {"db": args.database, "q": query, "format": args.format}, timeout=args.timeout)
    if status not in (0, 200):
        from .engine.messages import body_message, error_line

        print(f"error: {error_line(body_message(body), database=args.database, query=query)}", file=sys.stderr)
        return 1
    if _answer_failed(args.host, status, body):
        return 1
    if args.format == "pretty" and not args.output and body.strip() == EMPTY_PRETTY:
        print("(0 rows)")  # the server's empty table (`++` / `++`) says nothing to a person
        return 0
    return _print_body(body, args.format, args.output)


# The database commands, one /api/v3/configure/database call each: the HTTP method (POST sends the
# parameters as a JSON body, the others in the query string), the parameters always sent and those
# sent only when their option is given (a flag as "true"), each as parameter -> option, and what
# success prints (None: the answer itself, in --format).
_DATABASE_CALLS: dict[str, tuple[str, dict[str, str], dict[str, str], Optional[str]]] = {
    "create": ("POST", {"db": "name"}, {"retention_period": "retention_period"},
               'Database "{}" created successfully'),
    "delete": ("DELETE", {"db": "name"}, {"hard_delete_at": "hard_delete_at", "data_only": "data_only"},
               'Database "{}" deleted successfully'),
    "show": ("GET", {"format": "format"}, {"show_deleted": "show_deleted"}, None),
}


def cmd_database(args: argparse.Namespace) -> int:
    """`create database`, `delete database` and `show databases` (args.database_call says which)."""
    method, always, optional, success = _DATABASE_CALLS[args.database_call]
    params = {param: getattr(args, option) for param, option in always.items()}
    for param, option in optional.items():
        value = getattr(args, option)
        if value:
            params[param] = "true" if value is True else value
    path, body = "/api/v3/configure/database", None
    if method == "POST":
        body = params
    else:
        path += f"?{urllib.parse.urlencode(params)}"
    status, answer = _api_call(args.host, method, path, args.token, body, timeout=args.timeout)
    if _answer_failed(args.host, status, answer):
        return 1
    if success is None:
        return _print_body(answer, args.format, getattr(args, "output", None))
    print(success.format(args.name))
    return 0


def _client_options(parser: argparse.ArgumentParser, token_help: str = "auth token (default $INFLUX3_TOKEN)") -> None:
    """--host, --token, --timeout of the commands that talk to a running server."""
    parser.add_argument("--host", default=os.environ.get("INFLUX3_HOST", DEFAULT_HOST),
                        help=f"server URL (default $INFLUX3_HOST, else {DEFAULT_HOST})")
    parser.add_argument("--token", default=os.environ.get("INFLUX3_TOKEN"), help=token_help)
    parser.add_argument("--timeout", type=float, default=60.0, help="seconds to wait for the server")


def _resource_commands(sub, name: str, help: str):
    """`influx3 NAME RESOURCE ...`: a command whose subcommands are the kinds of resource it acts on."""
    command = sub.add_parser(name, help=help)
    resources = command.add_subparsers(dest="resource", metavar="RESOURCE")
    resources.required = True
    return resources


def _add_client_commands(sub, create_sub) -> None:
    query = sub.add_parser("query", help="run a SQL (or InfluxQL) query on a running server")
    query.add_argument("--database", "-d", required=True, help="database to query")
    query.add_argument("--format", choices=QUERY_FORMATS, default="pretty", help="output format (default pretty)")
    query.add_argument("--language", "-l", choices=("sql", "influxql"), default="sql", help="query language")
    query.add_argument("--file", default=None, metavar="FILE", help="read the query from FILE")
    query.add_argument("--output", "-o", default=None, metavar="FILE", help="write the answer to FILE")
    _client_options(query)
    query.add_argument("query", nargs="?", default="", metavar="QUERY", help="the query, or - for standard input")
    query.set_defaults(func=cmd_query)

    database = create_sub.add_parser("database", help="create a database")
    database.add_argument("name", metavar="NAME")
    database.add_argument("--retention-period", default=None, metavar="DURATION",
                          help="keep data this long, e.g. 30d (default: forever)")
    _client_options(database)
    database.set_defaults(func=cmd_database, database_call="create")

    delete_sub = _resource_commands(sub, "delete", "delete resources on a server (database, ...)")
    database = delete_sub.add_parser("database", help="delete a database (soft delete: renamed, then hard deleted)")
    database.add_argument("name", metavar="NAME")
    database.add_argument("--hard-delete-at", default=None, metavar="WHEN",
                          help="now, never, default (in 72 hours) or an RFC 3339 time")
    database.add_argument("--data-only", action="store_true", help="delete the data, keep the schema")
    _client_options(database)
    database.set_defaults(func=cmd_database, database_call="delete")

    show_sub = _resource_commands(sub, "show", "list resources on a server (databases, ...)")
    databases = show_sub.add_parser("databases", help="list databases")
    databases.add_argument("--format", choices=QUERY_FORMATS, default="pretty", help="output format (default pretty)")
    databases.add_argument("--show-deleted", action="store_true", help="include soft-deleted databases")
    databases.add_argument("--output", "-o", default=None, metavar="FILE", help="write the answer to FILE")
    _client_options(databases)
    databases.set_defaults(func=cmd_database, database_call="show")

    from .cli_users import add_commands as add_user_commands

    add_user_commands(sub, create_sub, delete_sub, show_sub, _client_options)

    from .cli_admin import add_commands as add_admin_commands

    add_admin_commands(sub, create_sub, delete_sub, show_sub, _client_options, _resource_commands)

    from .cli_caches import add_client_commands as add_cache_commands

    add_cache_commands(create_sub, delete_sub, _client_options)

    from .cli_plugins import add_client_commands as add_plugin_commands

    add_plugin_commands(sub, create_sub, delete_sub, _client_options, _resource_commands)


# ---- entry point -----------------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="influx3",
        description="A time-series database that speaks the InfluxDB 3 HTTP API.",
    )
    parser.add_argument("--version", action="version", version=f"influx3 (jupyter-influx3) {__version__}")
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
    from .cli_caches import add_serve_options as add_cache_serve_options

    add_cache_serve_options(serve)
    serve.add_argument("--series-cache-mb", type=non_negative_int, default=None, metavar="MB",
                       help="memory for series-ordered copies of tables that speed up queries about a few "
                            "series (default: 1/8 of RAM, at most 2048; 0 turns it off)")
    serve.add_argument("--snapshot-rows", type=positive_int, default=None, metavar="N",
                       help="buffered rows that start a snapshot to Parquet (default 500000; the buffer also "
                            "snapshots at 512 MiB, after 10 minutes and on shutdown)")
    serve.add_argument("--without-auth", action="store_true",
                       help="accept every request without a token (local use only; the token endpoints are disabled)")
    serve.add_argument("--disable-authz", type=_disable_authz, default=None, metavar="NAMES",
                       help="comma-separated paths that need no token: health, ping, metrics, ready, pprof, node_stop")
    serve.add_argument("--admin-token-file", default=None, metavar="FILE",
                       help="operator token to create at start if there is none (JSON with \"token\", or the bare token)")
    serve.add_argument("--query-timeout", type=_non_negative_float, default=300.0, metavar="SECONDS",
                       help="stop a query (SQL or InfluxQL) that runs longer; 504 'query-timeout limit exceeded' "
                            "(default 300, 0: never)")
    serve.add_argument("--query-memory-limit", type=_memory_size, default=None, metavar="SIZE",
                       help="memory DuckDB may use for queries, e.g. 4GB, 512MiB or 25%% of RAM (default 25%%; "
                            "the server's, shared out among its workers)")
    serve.add_argument("--max-held-result", type=_memory_size, default=None,
                       metavar="SIZE", help="largest result a format that must hold every row before it writes one "
                                            "(pretty) may hold; past it the query answers 400 (default 256MiB)")
    serve.add_argument("--max-select-buckets", type=non_negative_int, default=None, metavar="N",
                       help="InfluxQL: GROUP BY time() buckets a SELECT over a time range may create, as InfluxDB "
                            "1.x's max-select-buckets (default 1000000, 0: unlimited)")
    serve.add_argument("--max-select-point", type=non_negative_int, default=None, metavar="N",
                       help="InfluxQL: points a SELECT may answer or fill, as InfluxDB 1.x's max-select-point "
                            "(default 1000000, 0: unlimited)")
    serve.add_argument("--http-idle-timeout", type=_positive_float, default=60.0, metavar="SECONDS",
                       help="close a connection that has not sent a complete request header within this time, "
                            "idle keep-alive connections included (default 60)")
    serve.add_argument("--http-body-timeout", type=_positive_float, default=300.0, metavar="SECONDS",
                       help="close a connection whose request body takes longer than this to arrive (default 300)")
    serve.add_argument("--cors-origins", type=_cors_origins, default=os.environ.get("INFLUX3_CORS_ORIGINS", ""),
                       metavar="ORIGINS", help="comma-separated browser origins (scheme://host[:port]) allowed to call the "
                                               "API, or * for any; default none: requests with another Origin get 403")
    serve.add_argument("--allowed-hosts", type=_hosts, default=os.environ.get("INFLUX3_ALLOWED_HOSTS", ""),
                       metavar="NAMES", help="Host names answered besides localhost and loopback addresses when listening "
                                             "on a loopback address (e.g. behind a reverse proxy), or * for any; others get "
                                             "403 (DNS rebinding)")
    from .cli_users import add_serve_options as add_user_serve_options

    add_user_serve_options(serve)
    serve.add_argument("--max-concurrent-queries", type=positive_int, default=None, metavar="N",
                       help="queries (SQL, InfluxQL, plugins) run at once; more wait for a slot (default: no limit)")
    from .cli_plugins import add_serve_options
    add_serve_options(serve)
    serve.add_argument("--workers", type=_workers, default="auto", metavar="N",
                       help="server processes sharing the port, nodes <node-id>-w0 ... of the data directory "
                            "(default auto: one per core; 1: a single process, node <node-id>)")
    serve.add_argument("--worker-spec", default=None, help=argparse.SUPPRESS)   # set by the supervisor
    serve.set_defaults(func=cmd_serve)

    write = sub.add_parser("write", help="write line protocol to a running server")
    write.add_argument("--database", "-d", required=True, help="database to write to")
    write.add_argument("--precision", default=None,
                       help="timestamp precision: auto (server default), s, ms, us, ns")
    _client_options(write)
    write.add_argument("--no-sync", action="store_true", help="do not wait for the WAL to be durable")
    write.add_argument("--no-partial", action="store_true",
                       help="reject the whole write if any line is bad (default: write the good lines)")
    write.add_argument("file", nargs="?", default="-", metavar="FILE|-",
                       help="line protocol file, or - for standard input (default)")
    write.set_defaults(func=cmd_write)

    create_sub = _resource_commands(sub, "create", "create resources on a server (token, ...)")
    token = create_sub.add_parser("token", help="create an API token")
    token.add_argument("--admin", action="store_true",
                       help="the operator token (with --name: a named admin token)")
    token.add_argument("--name", default=None, help="token name (named admin or resource token)")
    token.add_argument("--permission", action="append", default=[], metavar="TYPE:NAMES:ACTIONS",
                       help="resource token permission, e.g. db:mydb:read,write or system:health:read (repeatable)")
    token.add_argument("--expiry", default=None, help="lifetime: seconds or a duration like 30d (default: never)")
    token.add_argument("--regenerate", action="store_true", help="give the operator token a new value (needs --token)")
    token.add_argument("--offline", action="store_true",
                       help="create the operator token without a server (writes --output; with --data-dir also stores it)")
    token.add_argument("--data-dir", dest="offline_data_dir", default=None, metavar="DIR",
                       help="with --offline: store the operator token in this data directory's catalog")
    token.add_argument("--output", "--output-file", default=None, metavar="FILE",
                       help="also write the token as JSON to FILE (mode 0600; never overwritten)")
    token.add_argument("--format", choices=("text", "json"), default="text", help="how to print the token")
    _client_options(token, token_help="admin token for the request (default $INFLUX3_TOKEN)")
    token.set_defaults(func=cmd_create_token)
    _add_client_commands(sub, create_sub)
    return parser


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    args.argv = list(sys.argv[1:] if argv is None else argv)   # what `serve --workers N` hands its workers
    if getattr(args, "data_dir", "unset") is None:
        args.data_dir = str(default_data_dir())
    return args.func(args)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
