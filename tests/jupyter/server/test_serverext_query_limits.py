"""Influx3App.query_timeout and query_memory_limit: a runaway query on the notebook server's port is
stopped (504) and its queries run in a pool apart from writes."""

from __future__ import annotations

import time
from urllib.parse import quote

import pytest
from conftest import BASE_URL


@pytest.fixture
def jp_server_config(influx_data_dir):
    return {
        "ServerApp": {"jpserver_extensions": {"jupyter_influx3": True, "jupyter_server_terminals": False}},
        "Influx3App": {"data_dir": str(influx_data_dir), "without_auth": True, "query_timeout": 1.0,
                       "query_memory_limit": "256MB"},
    }


async def test_runaway_query_answers_504_after_the_query_timeout(http_server_client, influx_app):
    r = await http_server_client.fetch(f"{BASE_URL}influx3/api/v3/configure/database", method="POST",
                                       body='{"db":"slow"}', headers={"Content-Type": "application/json"},
                                       raise_error=False)
    assert r.code in (200, 204)
    q = quote("select count(*) from generate_series(1, 1000000000000)")
    t0 = time.monotonic()
    r = await http_server_client.fetch(f"{BASE_URL}influx3/api/v3/query_sql?db=slow&q={q}", raise_error=False,
                                       request_timeout=30)
    assert r.code == 504
    assert r.body == b"query-timeout limit exceeded (1 s)"
    assert time.monotonic() - t0 < 5


async def test_memory_limit_and_query_pool_are_wired(influx_app):
    assert influx_app.engine.query_memory_limit == 256 * 10**6
    assert influx_app.engine.query_limits.timeout_s == 1.0
    pools = {id(c.query_executor) for c in influx_app.contexts}
    assert len(pools) == 1  # one query pool for the three mounts
    assert all(c.query_executor is not c.executor for c in influx_app.contexts)


def test_a_bad_memory_limit_is_refused():
    from traitlets import TraitError

    from jupyter_influx3.jupyter.serverext import Influx3App

    with pytest.raises(TraitError, match="query_memory_limit"):
        Influx3App(query_memory_limit="lots")
