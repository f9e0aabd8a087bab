"""The cache part of the ``influx3`` command, with the official ``influxdb3`` CLI's flags:

    influx3 serve ... [--last-cache-eviction-interval 10s] [--distinct-cache-eviction-interval 10s]
    influx3 create last_cache --database DB --table TABLE [--key-columns a,b] [--value-columns x,y]
                              [--count N] [--ttl 4h] [CACHE_NAME]
    influx3 create distinct_cache --database DB --table TABLE --columns a,b [--max-cardinality N]
                                  [--max-age 24h] [CACHE_NAME]
    influx3 delete last_cache|distinct_cache --database DB --table TABLE CACHE_NAME

One API call each (`cli._api_call`); durations (humantime, e.g. ``4h``, ``90s``) are sent in seconds.
"""

from __future__ import annotations

import argparse
import json
import sys
import urllib.parse



def _seconds(value: str) -> int:
    from .engine.catalog import parse_duration   # here, not at import: the engine is slow to import
    try:
        s = parse_duration(value) // 10**9
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    if s <= 0:
        raise argparse.ArgumentTypeError(f"expected a duration of at least 1s, got {value!r}")
    return s


def _interval(value: str) -> float:
    from .engine.catalog import parse_duration
    try:
        s = float(value)
    except ValueError:
        try:
            s = parse_duration(value) / 1e9
        except ValueError as exc:
            raise argparse.ArgumentTypeError(str(exc)) from None
    if not s > 0:
        raise argparse.ArgumentTypeError(f"expected a duration above 0, got {value!r}")
    return s


def _names(value: str) -> list[str]:
    names = [v.strip() for v in value.split(",") if v.strip()]
    if not names:
        raise argparse.ArgumentTypeError("expected comma-separated column names")
    return names


def add_serve_options(serve: argparse.ArgumentParser) -> None:
    serve.add_argument("--last-cache-eviction-interval", type=_interval, default=10.0, metavar="DURATION",
                       help="how often last-value cache rows past their ttl are dropped (default 10s); a cache "
                            "holds at most count rows per key-column combination")
    serve.add_argument("--distinct-cache-eviction-interval", type=_interval, default=10.0, metavar="DURATION",
                       help="how often distinct-value cache entries past max_age are dropped (default 10s); a "
                            "cache holds at most max_cardinality combinations")


def engine_options(args: argparse.Namespace) -> dict:
    """The Engine keyword arguments of the serve options above."""
    return {"last_cache_eviction_s": args.last_cache_eviction_interval,
            "distinct_cache_eviction_s": args.distinct_cache_eviction_interval}


def _call(args, method: str, path: str, body: dict | None = None, params: dict | None = None) -> tuple[int, bytes]:
    from .cli import _answer_failed, _api_call

    if params:
        path += "?" + urllib.parse.urlencode(params)
    status, answer = _api_call(args.host, method, path, args.token, body, timeout=args.timeout)
    if _answer_failed(args.host, status, answer, ok=(200, 201)):
        return 1, answer
    return 0, answer


def cmd_create_cache(args: argparse.Namespace) -> int:
    body: dict = {"db": args.database, "table": args.table}
    if args.cache_name:
        body["name"] = args.cache_name
    if args.kind == "last":
        for key, value in (("key_columns", args.key_columns), ("value_columns", args.value_columns),
                           ("count", args.count), ("ttl", args.ttl)):
            if value is not None:
                body[key] = value
    else:
        body["columns"] = args.columns
        for key, value in (("max_cardinality", args.max_cardinality), ("max_age", args.max_age)):
            if value is not None:
                body[key] = value
    failed, answer = _call(args, "POST", f"/api/v3/configure/{args.kind}_cache", body)
    if failed:
        return 1
    try:
        ops = json.loads(answer)["catalog_batch"]["Database"]["ops"][0]
        definition = next(iter(ops.values()))
        print(f"new cache created: {definition.get('name')}")
        print(json.dumps(definition, indent=2))
    except (ValueError, KeyError, IndexError, StopIteration, AttributeError, TypeError):
        print("new cache created")
    return 0


def cmd_delete_cache(args: argparse.Namespace) -> int:
    failed, _ = _call(args, "DELETE", f"/api/v3/configure/{args.kind}_cache",
                      params={"db": args.database, "table": args.table, "name": args.cache_name})
    if failed:
        return 1
    print(f"{args.kind} cache deleted successfully", file=sys.stdout)
    return 0


def add_client_commands(create_sub, delete_sub, client_options) -> None:
    from .cli import positive_int

    def common(p, name_required: bool):
        p.add_argument("--database", "-d", required=True, help="database of the table")
        p.add_argument("--table", "-t", required=True, help="table to cache")
        if name_required:
            p.add_argument("cache_name", metavar="CACHE_NAME", help="name of the cache")
        else:
            p.add_argument("cache_name", nargs="?", default=None, metavar="CACHE_NAME",
                           help="name of the cache (default: generated from the table and columns)")
        client_options(p)

    lvc = create_sub.add_parser("last_cache", help="create a last-value cache")
    common(lvc, False)
    lvc.add_argument("--key-columns", type=_names, default=None, metavar="A,B",
                     help="columns each row is cached under (default: the table's tags)")
    lvc.add_argument("--value-columns", type=_names, default=None, metavar="X,Y",
                     help="columns cached (default: every other column, and columns added later)")
    lvc.add_argument("--count", type=positive_int, default=None, help="rows kept per key (default 1)")
    lvc.add_argument("--ttl", type=_seconds, default=None, metavar="DURATION",
                     help="how long a row stays cached after its write (default 4h)")
    lvc.set_defaults(func=cmd_create_cache, kind="last")

    dvc = create_sub.add_parser("distinct_cache", help="create a distinct-value cache")
    common(dvc, False)
    dvc.add_argument("--columns", type=_names, required=True, metavar="A,B",
                     help="tag or string columns whose distinct values are cached, outermost first")
    dvc.add_argument("--max-cardinality", type=positive_int, default=None, metavar="N",
                     help="most combinations kept (default 100000)")
    dvc.add_argument("--max-age", type=_seconds, default=None, metavar="DURATION",
                     help="how long a combination stays without being written (default 24h)")
    dvc.set_defaults(func=cmd_create_cache, kind="distinct")

    for kind in ("last", "distinct"):
        p = delete_sub.add_parser(f"{kind}_cache", help=f"delete a {kind}-value cache")
        common(p, True)
        p.set_defaults(func=cmd_delete_cache, kind=kind)
