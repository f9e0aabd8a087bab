"""Shared fixtures: a real `influx3 serve` subprocess on a free port of 127.0.0.1 (see influx3_servers.py)."""

from __future__ import annotations

import itertools

import pytest

from influx3_servers import TEST_WORKERS, Influx3Server, server_env, server_factory  # noqa: F401 - re-exported


@pytest.fixture
def start_influx3(tmp_path):
    """Factory: `start_influx3(*flags, data_dir=None, auth=False)` starts a server, killed at teardown."""
    dirs = itertools.count()
    start, servers = server_factory(lambda: tmp_path / f"data{next(dirs)}")
    yield start
    for server in servers:
        server.kill()


@pytest.fixture(scope="session")
def start_influx3_session(tmp_path_factory):
    """Like `start_influx3`, for servers shared by the whole session (stopped with SIGTERM)."""
    start, servers = server_factory(lambda: tmp_path_factory.mktemp("influx3") / "data")
    yield start
    for server in servers:
        server.stop()
