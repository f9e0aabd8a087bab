"""The HTTP suites that matter for sharing (writes and reads, caches, triggers, tokens, users,
metrics), run again against `influx3 serve --workers 2`: each module here takes the tests of one
module of tests/http that talk to a shared server, and every server a test here starts (the
session's, a module's own) has two workers. Every request opens a new connection, so the kernel
hands it to either worker: a test passes only if the two processes look like one server.

The session-scoped fixtures of tests/conftest.py and tests/http/conftest.py are defined again here:
pytest keeps one value per fixture definition, so the overrides must be definitions of their own."""

from __future__ import annotations

import itertools

import pytest

from influx3_servers import server_factory
from http_helpers import shared_server_fixtures

WORKERS = "2"


@pytest.fixture
def start_influx3(tmp_path):
    dirs = itertools.count()
    start, servers = server_factory(lambda: tmp_path / f"data{next(dirs)}", workers=WORKERS)
    yield start
    for server in servers:
        server.kill()


@pytest.fixture(scope="session")
def start_influx3_session(tmp_path_factory):
    start, servers = server_factory(lambda: tmp_path_factory.mktemp("influx3w") / "data", workers=WORKERS)
    yield start
    for server in servers:
        server.stop()


server, reader = shared_server_fixtures()

