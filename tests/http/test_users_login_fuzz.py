"""A login fuzz against a real server with `--user-auth-type basic`: random user names, passwords,
JSON and raw bodies and headers on the three login routes never give a 5xx, and never a token."""

from __future__ import annotations

import json

import pytest
import requests
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

PW = "fuzz-user-password"
LOGIN_PATHS = ["/api/v3/authorize", "/api/v3/authorize/refresh", "/api/v3/authorize/reset-password"]

# header values requests accepts: no leading/trailing whitespace
printable = st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=126), max_size=60).map(str.strip)
json_values = st.recursive(st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=40),
                           lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=10), inner, max_size=3),
                           max_leaves=8)
login_bodies = st.fixed_dictionaries({}, optional={
    "username": st.one_of(st.text(max_size=80), st.just("fuzzer"), json_values),
    "password": st.one_of(st.text(max_size=80), st.just(PW + "x"), json_values),
    "refreshToken": st.one_of(st.text(max_size=200), st.just("eyJhbGciOiJub25lIn0.e30."), json_values),
    "newPassword": st.one_of(st.text(max_size=80), json_values),
})
headers = st.dictionaries(st.sampled_from(["Authorization", "Content-Type", "Content-Encoding", "X-Forwarded-For",
                                           "X-Real-IP", "Origin"]), printable, max_size=3)


@pytest.fixture(scope="module")
def url(start_influx3_session):
    srv = start_influx3_session("--user-auth-type", "basic", "--max-login-failures-per-address", "100000", auth=True)
    r = requests.post(f"{srv.url}/api/v3/configure/user", json={"username": "fuzzer", "password": PW}, timeout=30)
    assert r.status_code == 201
    return srv.url


def check(r: requests.Response) -> None:
    assert r.status_code < 500, (r.status_code, r.text)
    assert "accessToken" not in r.text and "apiv3_" not in r.text and "eyJ" not in r.text.replace(
        "eyJhbGciOiJub25lIn0", "")


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(path=st.sampled_from(LOGIN_PATHS), body=login_bodies, extra=headers)
def test_random_json_logins_never_fail_or_give_a_token(url, path, body, extra):
    sent = {"Content-Type": "application/json", **extra}
    check(requests.post(f"{url}{path}", data=json.dumps(body).encode(), headers=sent, timeout=30))


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(path=st.sampled_from(LOGIN_PATHS), body=st.binary(max_size=300), extra=headers)
def test_random_raw_bodies_never_fail_or_give_a_token(url, path, body, extra):
    check(requests.post(f"{url}{path}", data=body, headers=extra, timeout=30))


def test_the_fuzzed_user_can_still_log_in(url):
    # user-name throttling may have locked "fuzzer"; the server itself must still answer sanely
    r = requests.post(f"{url}/api/v3/authorize", json={"username": "fuzzer", "password": PW}, timeout=30)
    assert r.status_code in (200, 429)
