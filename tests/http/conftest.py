"""Fixtures for the HTTP suite: one shared server for the session, a reader node, write helpers."""

from __future__ import annotations

import itertools

import pytest

from http_helpers import shared_server_fixtures

_names = itertools.count()


server, reader = shared_server_fixtures()   # the session's shared server and a second node on it


@pytest.fixture
def db() -> str:
    """A database name no other test uses."""
    return f"db{next(_names)}"


@pytest.fixture
def url(server) -> str:
    return server.url
