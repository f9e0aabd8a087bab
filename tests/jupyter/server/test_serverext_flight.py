"""Arrow Flight in the Jupyter server: its own loopback port (`Influx3App.flight_bind`), the
InfluxDB tokens of the API mounts, its address at ``influx3/jupyter/flight``."""

from __future__ import annotations

import asyncio
import json
import pyarrow.flight as flight
import pytest


async def blocking(fn, *args):
    """Flight calls block; the Jupyter server under test runs on this event loop."""
    return await asyncio.get_running_loop().run_in_executor(None, fn, *args)


async def test_flight_listens_on_its_own_loopback_port_with_tokens(jp_fetch, influx_app, admin_token):
    influx_app.engine.write_lp("fj", "m,t=a v=1 1\nm,t=b v=2 2\n")
    location = influx_app.flight_location
    assert location.startswith("grpc://127.0.0.1:") and not location.endswith(":0")
    r = await jp_fetch("influx3", "jupyter", "flight")
    assert json.loads(r.body) == {"location": location}

    from influxdb_client_3 import InfluxDBClient3

    def query():
        with InfluxDBClient3(host="http://" + location.split("://", 1)[1], token=admin_token, database="fj") as c:
            return c.query("SELECT t, v FROM m ORDER BY time").to_pylist()

    assert await blocking(query) == [{"t": "a", "v": 1.0}, {"t": "b", "v": 2.0}]

    def without_token():
        ticket = flight.Ticket(json.dumps({"database": "fj", "sql_query": "SELECT 1"}).encode())
        flight.connect(location).do_get(ticket).read_all()

    with pytest.raises(flight.FlightUnauthenticatedError, match="no token"):
        await blocking(without_token)


@pytest.mark.parametrize("ext_config", [{"flight_bind": ""}], indirect=True)
async def test_flight_can_be_turned_off(jp_fetch, influx_app):
    assert influx_app.flight_server is None
    r = await jp_fetch("influx3", "jupyter", "flight")
    assert json.loads(r.body) == {"location": None}


def test_a_bad_flight_bind_is_refused(jp_configurable_serverapp, influx_data_dir):
    from traitlets import TraitError

    from jupyter_influx3.jupyter.serverext import Influx3App

    with pytest.raises(TraitError, match="expected HOST:PORT"):
        Influx3App().flight_bind = "8815"


async def test_status_finds_the_flight_address_of_the_server(jp_serverapp, jp_http_port, jp_base_url, influx_app,
                                                              http_server_client):
    """What `%influx3 status` shows in a kernel of this server (`server_info.flight_location`)."""
    from jupyter_influx3.jupyter.server_info import NotebookServer, flight_location

    token = jp_serverapp.identity_provider.token
    server = NotebookServer(f"http://127.0.0.1:{jp_http_port}/", jp_base_url, token)
    assert await blocking(flight_location, server) == influx_app.flight_location
    stranger = NotebookServer(f"http://127.0.0.1:{jp_http_port}/", jp_base_url, "wrong-token")
    assert await blocking(flight_location, stranger) is None
