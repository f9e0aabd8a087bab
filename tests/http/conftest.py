"""Fixtures for the HTTP suite: one shared server for the session, a reader node, write helpers."""

from __future__ import annotations

import itertools

import pytest

from jupyter_influx3.engine import Engine

_names = itertools.count()


@pytest.fixture(scope="session")
def server(start_influx3_session):
    """The server shared by the session. Tests use databases of their own, hence the higher
    database limit (limits themselves are tested on servers of their own)."""
    return start_influx3_session("--max-databases", "1000")


@pytest.fixture(scope="session")
def reader(server) -> Engine:
    """A second node on the shared server's data directory, to read back what the server wrote."""
    eng = Engine(server.data_dir, node_id="test-reader")
    yield eng
    eng.close()


@pytest.fixture
def db() -> str:
    """A database name no other test uses."""
    return f"db{next(_names)}"


@pytest.fixture
def url(server) -> str:
    return server.url
