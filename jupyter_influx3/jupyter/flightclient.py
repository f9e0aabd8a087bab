"""Queries of the Python client (`client.HttpClient`) over Arrow Flight, when the server offers it.

InfluxDB 3 (and ``influx3 serve``) answer gRPC on their HTTP port, so a client made with
``connect(url="http://host:8181")`` asks there first: the result arrives as Arrow record batches,
with no Parquet encoding on the server and decoding here. A server that does not speak gRPC on
that address (the Jupyter server's port, a URL with a path prefix, a proxy) is remembered as such
and queried over HTTP from then on.

Owns: the Flight connection of one client and the mapping of Flight errors to `Influx3Error`.
Must not: import the server side (`jupyter_influx3.flight`) or IPython.
"""

from __future__ import annotations

import json
import re
import threading
import urllib.parse
from typing import Any, Callable, Optional

import pyarrow as pa

_DETAIL = re.compile(r"\. (Detail: |gRPC client debug context: ).*", re.S)


def flight_location(url: str) -> Optional[str]:
    """``grpc[+tls]://host:port`` for an http(s) URL without a path prefix, else None."""
    parts = urllib.parse.urlsplit(url)
    if parts.path.strip("/") or parts.query:
        return None
    port = parts.port or (443 if parts.scheme == "https" else 80)
    host = parts.hostname or ""
    host = f"[{host}]" if ":" in host else host
    return f"{'grpc+tls' if parts.scheme == 'https' else 'grpc+tcp'}://{host}:{port}"


class FlightQueries:
    """One client's Flight connection; :meth:`query` returns None when Flight is not offered."""

    def __init__(self, url: str, timeout: float):
        self.location = flight_location(url)
        self.timeout = timeout
        self.offered: Optional[bool] = None if self.location else False
        self._client = None
        self._lock = threading.Lock()

    def query(self, language: str, database: str, query: str, params: Optional[dict], token: Optional[str],
              run: Callable[[Callable[[], Any], Callable[[], None]], Any]) -> Optional[pa.Table]:
        """The result of one query (SQL or InfluxQL), run through `run(work, cancel)`; None when the
        server does not offer Flight (then it is not asked again)."""
        if self.offered is False:
            return None
        try:
            import pyarrow.flight as flight
        except ImportError:
            self.offered = False
            return None
        ticket = {"database": database, "sql_query": query, "query_type": language}
        if params:
            ticket["params"] = params
        headers = [(b"authorization", f"Bearer {token}".encode())] if token else []
        options = flight.FlightCallOptions(headers=headers, timeout=self.timeout)
        state: dict[str, Any] = {}

        def work() -> pa.Table:
            reader = self._connection(flight).do_get(flight.Ticket(json.dumps(ticket).encode()), options)
            state["reader"] = reader
            return reader.read_all()

        def cancel() -> None:
            reader = state.get("reader")
            if reader is not None:
                reader.cancel()

        try:
            table = run(work, cancel)
        except (flight.FlightUnavailableError, flight.FlightTimedOutError, pa.ArrowNotImplementedError) as exc:
            if self.offered:  # it worked before: a real outage, say so
                raise _error(exc, 503) from None
            self.offered = False
            return None
        except flight.FlightUnauthenticatedError as exc:
            raise _error(exc, 401) from None
        except flight.FlightUnauthorizedError as exc:
            raise _error(exc, 403) from None
        except pa.ArrowKeyError as exc:
            raise _error(exc, 404) from None
        except (pa.ArrowInvalid, flight.FlightError, pa.ArrowException) as exc:
            raise _error(exc, 400 if isinstance(exc, pa.ArrowInvalid) else 500) from None
        self.offered = True
        return table

    def _connection(self, flight):
        with self._lock:
            if self._client is None:
                self._client = flight.connect(self.location)
            return self._client

    def close(self) -> None:
        with self._lock:
            client, self._client = self._client, None
        if client is not None:
            client.close()


def _error(exc: BaseException, status: int):
    from .client import Influx3Error

    message = _DETAIL.sub("", str(exc)).strip()
    return Influx3Error(message or exc.__class__.__name__, status)
