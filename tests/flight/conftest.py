"""Fixtures for the Flight suite: real `influx3 serve` processes answering HTTP and gRPC on one
port, data written over HTTP, and tokens made through the HTTP API."""

from __future__ import annotations

import itertools

import pytest
from flight_helpers import CPU, write

_names = itertools.count()


@pytest.fixture(scope="session")
def server(start_influx3_session):
    """A server without auth shared by the Flight tests (each uses databases of its own)."""
    return start_influx3_session("--max-databases", "1000")


@pytest.fixture
def url(server) -> str:
    return server.url


@pytest.fixture
def grpc_url(server) -> str:
    return "grpc://" + server.url.split("://", 1)[1]


@pytest.fixture
def db() -> str:
    return f"fdb{next(_names)}"


@pytest.fixture
def cpu_db(url, db) -> str:
    write(url, db, CPU)
    return db
