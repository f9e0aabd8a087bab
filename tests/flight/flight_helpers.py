"""Helpers of the Flight suite (a module of its own: every test folder has a `conftest`)."""

from __future__ import annotations

import pyarrow.flight as flight
import requests


def write(url: str, db: str, lp: str, token: str | None = None) -> None:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    r = requests.post(f"{url}/api/v3/write_lp", params={"db": db}, data=lp.encode(), headers=headers, timeout=60)
    assert r.status_code == 204, r.text


CPU = ("cpu,host=a,region=us usage=0.5,n=1i 1000000000\n"
       "cpu,host=b,region=eu usage=0.25,n=2i 2000000000\n"
       "cpu,host=a,region=us usage=0.75,n=3i 3000000000\n")


def http_rows(url: str, db: str, q: str, token: str | None = None) -> list[dict]:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    r = requests.get(f"{url}/api/v3/query_sql", params={"db": db, "q": q, "format": "json"}, headers=headers,
                     timeout=60)
    assert r.status_code == 200, r.text
    return r.json()


def call_options(db: str | None = None, token: str | None = None) -> flight.FlightCallOptions:
    headers = []
    if db is not None:
        headers.append((b"database", db.encode()))
    if token is not None:
        headers.append((b"authorization", f"Bearer {token}".encode()))
    return flight.FlightCallOptions(headers=headers)
