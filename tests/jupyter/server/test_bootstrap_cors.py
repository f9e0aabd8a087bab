"""The notebook port as an attacker meets it (issue 10): no operator token for a stranger, no
answers readable by (and no requests accepted from) web pages of other origins.

By default the InfluxDB-token mounts (root paths and ``influx3/``) refuse the public bootstrap
``POST /api/v3/configure/token/admin`` with a 403 that says where to get a token; Jupyter's mount
(``influx3/jupyter/``, Jupyter's credentials) creates it.  ``Influx3App.allow_token_bootstrap``
restores the standalone server's behaviour.  A request with an ``Origin`` header is refused unless
the origin is in ``Influx3App.cors_origins``, and no answer says ``Access-Control-Allow-Origin: *``.
"""

from __future__ import annotations

import json

import pytest
from conftest import BASE_URL
from tornado.httpclient import HTTPClientError

from jupyter_influx3.engine import tokens as tokenlib

EVIL = "http://evil.example"
APP = "https://grafana.example:3000"
ROOTS = [f"{BASE_URL}influx3", ""]
ROOT_IDS = ["influx3_prefix", "root"]


async def _fetch(client, url: str, **kwargs):
    try:
        return await client.fetch(url, raise_error=False, follow_redirects=False, **kwargs)
    except HTTPClientError as exc:  # pragma: no cover - raise_error=False
        return exc.response


def _bootstrap(client, prefix: str, **headers):
    """What a web page can send without a preflight: a text/plain POST."""
    return _fetch(client, f"{prefix}/api/v3/configure/token/admin", method="POST", body="{}",
                  headers={"Content-Type": "text/plain", **headers})


@pytest.mark.parametrize("prefix", ROOTS, ids=ROOT_IDS)
async def test_a_stranger_cannot_mint_the_operator_token(prefix, http_server_client, influx_app):
    r = await _bootstrap(http_server_client, prefix)
    assert r.code == 403
    message = json.loads(r.body)["error"]
    assert "%influx3 token" in message and f"{BASE_URL}influx3/jupyter/api/v3/configure/token/admin" in message
    assert "Access-Control-Allow-Origin" not in r.headers
    assert not tokenlib.has_operator_token(influx_app.engine.catalog)


@pytest.mark.parametrize("prefix", ROOTS, ids=ROOT_IDS)
async def test_a_stranger_cannot_create_the_first_user(prefix, http_server_client, influx_app):
    from jupyter_influx3.http.routes import ROUTE_TABLE

    if "/api/v3/configure/user" not in dict(ROUTE_TABLE):
        pytest.skip("no user accounts in this build")
    r = await _fetch(http_server_client, f"{prefix}/api/v3/configure/user", method="POST",
                     body=json.dumps({"username": "mallory", "password": "correct horse battery staple 1"}),
                     headers={"Content-Type": "application/json"})
    assert r.code == 403 and "%influx3 token" in json.loads(r.body)["error"]
    influx_app.engine.catalog.refresh()
    assert not influx_app.engine.catalog.users and not tokenlib.has_operator_token(influx_app.engine.catalog)


@pytest.mark.parametrize("prefix", ROOTS, ids=ROOT_IDS)
async def test_a_web_page_post_is_refused_before_it_acts(prefix, http_server_client, influx_app, admin_token):
    # The browser adds Origin; the page cannot add a token it does not have, but even with one
    # (or on a server without auth) the request must not act.
    r = await _bootstrap(http_server_client, prefix, Origin=EVIL)
    assert r.code == 403 and "cross-origin request from http://evil.example refused" in json.loads(r.body)["error"]
    r = await _fetch(http_server_client, f"{prefix}/api/v3/write_lp?db=pwned", method="POST", body="m v=1 1",
                     headers={"Content-Type": "text/plain", "Origin": EVIL, "Authorization": f"Bearer {admin_token}"})
    assert r.code == 403 and "Access-Control-Allow-Origin" not in r.headers
    assert "pwned" not in [d.name for d in influx_app.engine.catalog.live_databases()]
    r = await _fetch(http_server_client, f"{prefix}/api/v3/configure/database?format=json", method="OPTIONS",
                     headers={"Origin": EVIL, "Access-Control-Request-Method": "GET",
                              "Access-Control-Request-Headers": "authorization"})
    assert r.code == 403 and "Access-Control-Allow-Origin" not in r.headers


@pytest.mark.parametrize("prefix", ROOTS, ids=ROOT_IDS)
async def test_answers_carrying_data_have_no_wildcard_origin(prefix, http_server_client, admin_token):
    auth = {"Authorization": f"Bearer {admin_token}"}
    for url, kw in [(f"{prefix}/api/v3/write_lp?db=cors", {"method": "POST", "body": "m v=1 1"}),
                    (f"{prefix}/api/v3/query_sql?db=cors&q=select+v+from+m", {}),
                    (f"{prefix}/ping", {})]:
        r = await _fetch(http_server_client, url, headers=auth, **kw)
        assert r.code in (200, 204), (url, r.code, r.body)
        assert "Access-Control-Allow-Origin" not in r.headers, url
    r = await _fetch(http_server_client, f"{prefix}/ping", method="OPTIONS")
    assert r.code == 204 and "Access-Control-Allow-Origin" not in r.headers


async def test_jupyter_login_creates_the_operator_token(jp_fetch, http_server_client, influx_app):
    r = await jp_fetch("influx3", "jupyter", "api", "v3", "configure", "token", "admin", method="POST",
                       body="", allow_nonstandard_methods=True)
    assert r.code == 201
    token = json.loads(r.body)["token"]
    r = await _fetch(http_server_client, "/api/v3/configure/database?format=json",
                     headers={"Authorization": f"Bearer {token}"})
    assert r.code == 200
    # ... and only once: a second request is the real server's 409
    with pytest.raises(HTTPClientError) as err:
        await jp_fetch("influx3", "jupyter", "api", "v3", "configure", "token", "admin", method="POST", body="")
    assert err.value.code == 409


async def test_without_jupyter_credentials_the_jupyter_mount_refuses(http_server_client, influx_app):
    r = await _bootstrap(http_server_client, f"{BASE_URL}influx3/jupyter")
    assert r.code == 403
    assert not tokenlib.has_operator_token(influx_app.engine.catalog)


@pytest.mark.parametrize("ext_config", [{"allow_token_bootstrap": True}], indirect=True)
async def test_an_administrator_may_open_the_bootstrap(http_server_client, ext_config, influx_app):
    r = await _bootstrap(http_server_client, "")
    assert r.code == 201 and json.loads(r.body)["name"] == "_admin"
    # still not from a foreign web page
    r = await _bootstrap(http_server_client, f"{BASE_URL}influx3", Origin=EVIL)
    assert r.code == 403


@pytest.mark.parametrize("ext_config", [{"cors_origins": [APP + "/"]}], indirect=True)
@pytest.mark.parametrize("prefix", ROOTS, ids=ROOT_IDS)
async def test_allowed_origins_get_their_own_origin_back(prefix, http_server_client, ext_config, admin_token):
    r = await _fetch(http_server_client, f"{prefix}/api/v3/query_sql?db=x&q=select+1", method="OPTIONS",
                     headers={"Origin": APP, "Access-Control-Request-Method": "GET",
                              "Access-Control-Request-Headers": "authorization"})
    assert r.code == 204
    assert r.headers["Access-Control-Allow-Origin"] == APP and r.headers["Vary"] == "Origin"
    assert "Authorization" in r.headers["Access-Control-Allow-Headers"]
    r = await _fetch(http_server_client, f"{prefix}/ping", headers={"Origin": APP, "Authorization": f"Bearer {admin_token}"})
    assert r.code == 200 and r.headers["Access-Control-Allow-Origin"] == APP
    r = await _fetch(http_server_client, f"{prefix}/ping", headers={"Origin": EVIL, "Authorization": f"Bearer {admin_token}"})
    assert r.code == 403


def test_a_bad_origin_setting_is_refused(jp_configurable_serverapp, influx_data_dir):
    from traitlets import TraitError

    from jupyter_influx3.jupyter.serverext import Influx3App

    app = Influx3App()
    with pytest.raises(TraitError, match="not an origin"):
        app.cors_origins = ["https://ok.example", "evil.example/path"]
