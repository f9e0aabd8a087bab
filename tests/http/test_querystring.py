"""The query string's pairs (http/querystring.py) are parse_qsl's for every string: generated
ones (escapes valid and broken, `=`, `+`, line breaks, non-ASCII, empty fields) and real URLs of
InfluxQL texts; the C decoding is used where it may be."""

from __future__ import annotations

from urllib.parse import parse_qsl, urlencode

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from jupyter_influx3.http import querystring

_PIECES = st.sampled_from(["%", "%2", "%2B", "%3d", "%3D", "%zz", "%C3%A9", "%E9", "%00", "%0A", "=", "==", "&", "&&",
                           "+", " ", "a", "q", "SELECT", "é", "\n", "\r\n", "\t", "%25", "=3D", "_", ";"])


@settings(max_examples=3000, deadline=None)
@given(st.lists(st.one_of(_PIECES, st.text(max_size=3)), max_size=30).map("".join))
def test_the_pairs_are_parse_qsl_s(query):
    assert querystring.pairs(query) == parse_qsl(query, keep_blank_values=True)


@pytest.mark.parametrize("params", [
    {"db": "bench", "q": "SELECT max(usage_user) FROM cpu WHERE hostname = 'host_8' AND time >= 1700003780s", "epoch": "ns"},
    {"q": "SELECT \"v\" FROM \"m\" WHERE h =~ /^a+b$/ AND x = 'é=&%'", "pretty": "true", "empty": ""},
])
def test_a_url_of_an_influxql_text_is_read_in_c(params, monkeypatch):
    query = urlencode(params)
    expect = parse_qsl(query, keep_blank_values=True)

    def refuse(*a, **k):
        raise AssertionError("parse_qsl used")

    monkeypatch.setattr(querystring, "parse_qsl", refuse)
    assert querystring.pairs(query) == expect == list(params.items())
