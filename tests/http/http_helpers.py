"""Helpers for the HTTP tests: write requests and reading rows back through an engine node."""

from __future__ import annotations

import requests

from jupyter_influx3.engine import Engine


def rows(engine: Engine, database: str, query: str) -> list[dict]:
    """Rows of a SQL query on `database`, as dicts."""
    return engine.sql(database, query).to_pylist()


def table_exists(engine: Engine, database: str, table: str) -> bool:
    engine.refresh()
    found = engine.catalog.db(database)
    return found is not None and not found.deleted and found.table(table) is not None


def write_v3(base: str, database: str, body: bytes | str, **params) -> requests.Response:
    params = {"db": database, **params}
    return requests.post(f"{base}/api/v3/write_lp", params=params, data=_bytes(body), timeout=30)


def write_v2(base: str, bucket: str, body: bytes | str, **params) -> requests.Response:
    params = {"bucket": bucket, **params}
    return requests.post(f"{base}/api/v2/write", params=params, data=_bytes(body), timeout=30)


def write_v1(base: str, database: str, body: bytes | str, **params) -> requests.Response:
    params = {"db": database, **params}
    return requests.post(f"{base}/write", params=params, data=_bytes(body), timeout=30)


def _bytes(body: bytes | str) -> bytes:
    return body.encode("utf-8") if isinstance(body, str) else body
