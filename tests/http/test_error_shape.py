"""Every error shape the HTTP layer answers with, pinned in one place (behaviour reference §0.3, §1.6)."""

from __future__ import annotations

import gzip

import pytest
import requests

from http_helpers import write_v1, write_v2, write_v3

MAX = 10485760  # --max-http-request-size default
TOO_LARGE = f"max request size ({MAX} bytes) exceeded"


# ---- routing -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "method, path",
    [
        ("GET", "/nope"),
        ("POST", "/api/v3/nope"),
        ("GET", "/api/v3/write_lp"),
        ("PUT", "/write"),
        ("DELETE", "/api/v2/write"),
        ("POST", "/health"),
        ("PATCH", "/ping"),
        ("GET", "/ready"),
        ("GET", "/write_lp"),
        ("GET", "/health/"),
        ("PROPFIND", "/ping"),
    ],
)
def test_unknown_path_or_method_is_404_plain_not_found(url, method, path):
    r = requests.request(method, url + path)
    assert r.status_code == 404
    assert r.text == "Not found"
    assert r.headers["cluster-uuid"]
    assert "Access-Control-Allow-Origin" not in r.headers


# ---- body: size, encoding, UTF-8 ----------------------------------------------------------------


def test_body_at_the_size_limit_is_read(url, db):
    # A body of only a comment line reaches the engine (and is an empty write), not the 413.
    body = b"#" + b"x" * (MAX - 1)
    r = write_v3(url, db, body)
    assert (r.status_code, r.text) == (400, "incoming write was empty")


@pytest.mark.parametrize("write", [write_v1, write_v3], ids=["v1", "v3"])
def test_body_over_the_size_limit_is_413_plain(url, db, write):
    r = write(url, db, b"#" + b"x" * MAX)
    assert (r.status_code, r.text) == (413, TOO_LARGE)
    assert r.headers["cluster-uuid"]


def test_body_over_the_size_limit_is_413_request_too_large_on_v2(url, db):
    r = write_v2(url, db, b"#" + b"x" * MAX)
    assert r.status_code == 413
    assert r.json() == {"code": "request too large", "message": TOO_LARGE}


def test_chunked_body_over_the_size_limit_is_413(url, db):
    def chunks():
        for _ in range(11):
            yield b"#" + b"x" * (1024 * 1024 - 1)

    r = requests.post(f"{url}/api/v3/write_lp", params={"db": db}, data=chunks())
    assert (r.status_code, r.text) == (413, TOO_LARGE)


def test_decompressed_body_over_the_size_limit_is_413(url, db):
    body = gzip.compress(b"#" + b" " * MAX)
    assert len(body) < MAX
    r = requests.post(f"{url}/api/v3/write_lp", params={"db": db}, data=body, headers={"Content-Encoding": "gzip"})
    assert (r.status_code, r.text) == (413, TOO_LARGE)


def test_decompressed_body_at_the_size_limit_is_read(url, db):
    body = gzip.compress(b"#" + b" " * (MAX - 1))
    r = requests.post(f"{url}/api/v3/write_lp", params={"db": db}, data=body, headers={"Content-Encoding": "gzip"})
    assert (r.status_code, r.text) == (400, "incoming write was empty")


@pytest.mark.parametrize(
    "body, message",
    [
        (b"this is not gzip", "error decoding gzip stream: invalid gzip header"),
        (gzip.compress(b"cpu,host=a usage=1\n")[:-6], "error decoding gzip stream: unexpected end of file"),
        (gzip.compress(b"cpu,host=a usage=1\n") + b"trailing", "error decoding gzip stream: invalid gzip header"),
    ],
    ids=["not-gzip", "truncated", "trailing-garbage"],
)
def test_bad_gzip_is_400_plain(url, db, body, message):
    r = requests.post(f"{url}/api/v3/write_lp", params={"db": db}, data=body, headers={"Content-Encoding": "gzip"})
    assert (r.status_code, r.text) == (400, message)


def test_unknown_content_encoding_is_400_plain(url, db):
    r = requests.post(f"{url}/api/v3/write_lp", params={"db": db}, data=b"cpu v=1", headers={"Content-Encoding": "br"})
    assert (r.status_code, r.text) == (400, "unacceptable content-encoding: br")


def test_identity_content_encoding_is_accepted(url, db):
    r = requests.post(f"{url}/api/v3/write_lp", params={"db": db}, data=b"cpu v=1", headers={"Content-Encoding": "identity"})
    assert r.status_code == 204


@pytest.mark.parametrize(
    "body, message",
    [
        (b"cpu,host=a\xff usage=1", "body content is not valid utf8: invalid utf-8 sequence of 1 bytes from index 10"),
        (b"cpu,host=a usage=1 \xe2\x82", "body content is not valid utf8: incomplete utf-8 byte sequence from index 19"),
    ],
)
def test_body_that_is_not_utf8_is_400_plain(url, db, body, message):
    r = write_v3(url, db, body)
    assert (r.status_code, r.text) == (400, message)


def test_gzip_body_that_is_not_utf8_is_400_after_decompressing(url, db):
    body = gzip.compress(b"cpu,host=a\xff usage=1")
    r = requests.post(f"{url}/api/v3/write_lp", params={"db": db}, data=body, headers={"Content-Encoding": "gzip"})
    assert (r.status_code, r.text) == (400, "body content is not valid utf8: invalid utf-8 sequence of 1 bytes from index 10")


# ---- query string ------------------------------------------------------------------------------


def test_v3_without_query_string_is_400_missing_db(url):
    r = requests.post(f"{url}/api/v3/write_lp", data=b"cpu v=1")
    assert (r.status_code, r.text) == (400, "missing query parameter 'db'")


def test_v3_query_string_without_db_is_400_serde_error(url):
    r = requests.post(f"{url}/api/v3/write_lp?precision=second", data=b"cpu v=1")
    assert (r.status_code, r.text) == (400, "serde error: missing field `db`")


@pytest.mark.parametrize(
    "query, message",
    [
        ("db=x&precision=minute", "serde error: unknown variant `minute`, expected one of `auto`, `second`, `millisecond`, `microsecond`, `nanosecond`"),
        ("db=x&accept_partial=yes", "serde error: provided string was not `true` or `false`"),
        ("db=x&no_sync=1", "serde error: provided string was not `true` or `false`"),
        ("db=x&db=y", "serde error: duplicate field `db`"),
    ],
)
def test_v3_bad_parameters_are_400_serde_errors(url, query, message):
    r = requests.post(f"{url}/api/v3/write_lp?{query}", data=b"cpu v=1")
    assert (r.status_code, r.text) == (400, message)


def test_unknown_query_parameters_are_ignored(url, db):
    r = requests.post(f"{url}/api/v3/write_lp", params={"db": db, "org": "x", "whatever": "1"}, data=b"cpu v=1")
    assert r.status_code == 204


@pytest.mark.parametrize("path", ["/query", "/api/v3/query_sql", "/api/v3/write_lp"])
def test_a_query_string_of_more_than_1000_fields_is_400_json(url, path):
    fields = "&".join(["db=x", "q=SELECT%201"] + [f"f{i}=" for i in range(1000)])
    r = requests.get(f"{url}{path}?{fields}", timeout=30)
    assert r.status_code == 400
    assert r.json() == {"error": "invalid query string: more than 1000 fields"}
    at_the_limit = requests.get(f"{url}{path}?" + "&".join(f"f{i}=" for i in range(998)) + "&db=x&q=SELECT%201",
                                timeout=30)
    assert b"invalid query string" not in at_the_limit.content


def test_v1_without_query_string_is_400_no_db_destination(url):
    r = requests.post(f"{url}/write", data=b"cpu v=1")
    assert r.status_code == 400
    assert r.json() == {"error": "no db destination provided"}


def test_v1_query_string_without_db_is_400_missing_field(url):
    r = requests.post(f"{url}/write?rp=autogen", data=b"cpu v=1")
    assert r.status_code == 400
    assert r.json() == {"error": "failed to deserialize db/rp/precision in request: missing field `db`"}


def test_v1_bad_precision_is_400_failed_to_deserialize(url, db):
    r = write_v1(url, db, "cpu v=1", precision="auto")
    assert r.status_code == 400
    assert r.json() == {
        "error": "failed to deserialize db/rp/precision in request: unknown variant `auto`, "
                 "expected one of `second`, `millisecond`, `microsecond`, `nanosecond`"
    }


def test_v1_database_name_longer_than_64_characters_is_400(url):
    name = "a" * 65
    r = write_v1(url, name, "cpu v=1")
    assert r.status_code == 400
    assert r.json() == {"error": f"namespace name {name} length must be between 1 and 64 characters"}


@pytest.mark.parametrize(
    "query, message",
    [
        ("", "no org/bucket destination provided"),
        ("org=x", "missing bucket value"),
        ("bucket=", "missing bucket value"),
        ("bucket=x&precision=auto", "failed to deserialize org/bucket/precision in request: unknown variant `auto`, "
                                    "expected one of `second`, `millisecond`, `microsecond`, `nanosecond`"),
        ("bucket=_x", "db name did not start with a number or letter"),
        ("bucket=a%27b", "namespace name 'a'b' contains invalid character, character number 1 is not whitelisted"),
    ],
)
def test_v2_request_errors_are_400_code_invalid(url, query, message):
    r = requests.post(f"{url}/api/v2/write" + (f"?{query}" if query else ""), data=b"cpu v=1")
    assert r.status_code == 400
    assert r.json() == {"code": "invalid", "message": message}


def test_v2_errors_in_the_body_are_400_code_invalid(url, db):
    r = requests.post(f"{url}/api/v2/write", params={"bucket": db}, data=b"x", headers={"Content-Encoding": "br"})
    assert r.status_code == 400
    assert r.json() == {"code": "invalid", "message": "unacceptable content-encoding: br"}


# ---- engine answers ----------------------------------------------------------------------------


def test_empty_write_is_400_plain_on_v1_and_v3(url, db):
    for write in (write_v1, write_v3):
        r = write(url, db, "\n# only a comment\n\n")
        assert (r.status_code, r.text) == (400, "incoming write was empty")


def test_invalid_database_name_is_400_json_on_v1(url):
    r = write_v1(url, "_x", "cpu v=1")
    assert r.status_code == 400
    assert r.json() == {"error": "db name did not start with a number or letter"}


def test_partial_write_body_lists_every_rejected_line(url, db):
    body = "cpu v=1 1\ncpu v= 2\n\n# comment\ncpu v=3 3\ncpu,host v=4 4\ncpu v=5 5"
    r = write_v3(url, db, body)
    assert r.status_code == 400
    doc = r.json()
    assert list(doc) == ["error", "data"]
    assert doc["error"] == "partial write of line protocol occurred"
    assert [e["line_number"] for e in doc["data"]] == [2, 4]
    assert all(list(e) == ["error_message", "line_number", "original_line"] for e in doc["data"])


def test_non_partial_write_body_is_the_first_rejected_line(url, db):
    r = write_v3(url, db, "cpu v=1 1\ncpu v= 2\ncpu,host v=4 4", accept_partial="false")
    assert r.status_code == 400
    doc = r.json()
    assert list(doc) == ["error", "data"]
    assert doc["error"] == "line protocol parsing error"
    assert doc["data"]["line_number"] == 2
    assert list(doc["data"]) == ["error_message", "line_number", "original_line"]


def test_v1_write_error_body_is_the_non_partial_one(url, db):
    r = write_v1(url, db, "cpu v=1 1\ncpu v= 2")
    assert r.status_code == 400
    assert r.json() == {
        "error": "line protocol parsing error",
        "data": {"error_message": "No fields were provided", "line_number": 2, "original_line": "cpu v= 2"},
    }


@pytest.mark.parametrize(
    "line, shown",
    [
        ("cpu,host=abcdefghijklmnopqrstuvwxyz v= 1", "cpu,host=abcdefghijk"),  # 20 ASCII bytes
        ("\u00e9" * 15 + " v= 1", "\u00e9" * 10),  # 2-byte characters: exactly 20 bytes
        ("a" + "\u00e9" * 15 + " v= 1", "a" + "\u00e9" * 9),  # the 10th é would end at byte 21
        ("ab" + "\u20ac" * 10 + " v= 1", "ab" + "\u20ac" * 6),  # 3-byte characters: 2 + 18 bytes
        ("a" + "\U0001f600" * 6 + " v= 1", "a" + "\U0001f600" * 4),  # 4-byte characters: 1 + 16 bytes
    ],
)
def test_original_line_is_cut_to_20_bytes_on_a_character_boundary(url, db, line, shown):
    r = write_v3(url, db, line)
    assert r.status_code == 400
    original = r.json()["data"][0]["original_line"]
    assert original == shown
    assert len(original.encode("utf-8")) <= 20


def test_errors_carry_cluster_uuid_but_not_cors(url, server):
    ok = requests.get(f"{url}/health")
    bad = write_v3(url, "_bad", "cpu v=1")
    assert bad.headers["cluster-uuid"] == ok.headers["cluster-uuid"]
    assert "Access-Control-Allow-Origin" not in bad.headers


# ---- query and configure requests (§2.1, §3) ------------------------------------------------------

FORMAT_VARIANTS = "expected one of `parquet`, `csv`, `pretty`, `json`, `json_lines`, `jsonl`"


@pytest.mark.parametrize(
    "query, message",
    [
        (None, "missing query parameters 'db' and 'q'"),
        ("format=json", "serde error: missing field `db`"),
        ("format=xml", f"serde error: unknown variant `xml`, {FORMAT_VARIANTS}"),
        ("db=x", "serde error: missing field `q`"),
        ("q=SELECT+1", "serde error: missing field `db`"),
        ("db=x&q=SELECT+1&format=xml", f"serde error: unknown variant `xml`, {FORMAT_VARIANTS}"),
        ("db=x&db=y&q=SELECT+1", "serde error: duplicate field `db`"),
        ("db=x&q=SELECT+1&params=nope", "serde json error: expected ident at line 1 column 2"),
        ("db=x&q=SELECT+1&params=%7B%22a%22%3A%5B1%5D%7D",
         "serde json error: JSON arrays are not supported as query parameters. Expected null, boolean, number, or string. at line 1 column "),
    ],
)
def test_query_sql_get_parameter_errors_are_400_plain(url, query, message):
    target = f"{url}/api/v3/query_sql" + ("" if query is None else f"?{query}")
    r = requests.get(target)
    assert r.status_code == 400
    assert r.text == message if not message.endswith("column ") else r.text.startswith(message)


@pytest.mark.parametrize(
    "body, message",
    [
        (b"", "serde json error: EOF while parsing a value at line 1 column 0"),
        (b'{"q":"SELECT 1"}', "serde json error: missing field `db` at line 1 column 16"),
        (b'{"db":"x"}', "serde json error: missing field `q` at line 1 column 10"),
        (b'{"db":"x","q":"SELECT 1","format":"xml"}', f"serde json error: unknown variant `xml`, {FORMAT_VARIANTS}"),
        (b'{"db":"x","q":1}', "serde json error: invalid type: integer `1`, expected a string at line 1 column 15"),
        (b'{"db":"x","q":"SELECT 1","params":{"a":{}}}',
         "serde json error: JSON objects are not supported as query parameters. Expected null, boolean, number, or string at line 1 column "),
    ],
)
def test_query_sql_post_body_errors_are_400_plain(url, body, message):
    r = requests.post(f"{url}/api/v3/query_sql", data=body)
    assert r.status_code == 400
    assert r.text == message if not message.endswith("column ") else r.text.startswith(message)


@pytest.mark.parametrize("accept", ["application/jsonl", "text/csv; charset=utf-8", "application/xml"])
@pytest.mark.parametrize("method", ["GET", "POST"])
def test_unsupported_accept_is_400_even_with_a_format(url, accept, method):
    params = {"db": "x", "q": "SELECT 1", "format": "json"}
    if method == "GET":
        r = requests.get(f"{url}/api/v3/query_sql", params=params, headers={"Accept": accept})
    else:
        r = requests.post(f"{url}/api/v3/query_sql", json=params, headers={"Accept": accept})
    assert (r.status_code, r.text) == (400, f"invalid mime type ({accept})")


def test_accept_is_checked_before_the_missing_query_string(url):
    r = requests.get(f"{url}/api/v3/query_sql", headers={"Accept": "application/xml"})
    assert (r.status_code, r.text) == (400, "invalid mime type (application/xml)")


@pytest.mark.parametrize("method", ["PUT", "DELETE", "PATCH"])
def test_query_sql_other_methods_are_404(url, method):
    r = requests.request(method, f"{url}/api/v3/query_sql?db=x&q=SELECT+1")
    assert (r.status_code, r.text) == (404, "Not found")


def test_query_of_an_unknown_database_is_404_json(url):
    r = requests.get(f"{url}/api/v3/query_sql", params={"db": "no_such_db_here", "q": "SELECT 1"})
    assert r.status_code == 404
    assert r.text == '{"error":"query error: database not found: no_such_db_here"}'


def test_sql_syntax_error_is_400_plain(url, db):
    assert write_v3(url, db, "cpu v=1").status_code == 204
    r = requests.get(f"{url}/api/v3/query_sql", params={"db": db, "q": "SELEC * FROM cpu"})
    assert r.status_code == 400
    assert not r.text.startswith("{")


def test_configure_errors_by_kind(url, db):
    r = requests.post(f"{url}/api/v3/configure/database", json={"db": db})
    assert (r.status_code, r.text) == (200, "")
    r = requests.post(f"{url}/api/v3/configure/database", json={"db": db})
    assert (r.status_code, r.text) == (409, "attempted to create a resource that already exists")
    r = requests.post(f"{url}/api/v3/configure/database", json={"db": "bad name"})
    assert r.status_code == 400
    assert r.json() == {"error": "invalid character in database or rp name: must be ASCII, containing only "
                                 "letters, numbers, underscores, or hyphens"}
    r = requests.post(f"{url}/api/v3/configure/database", data=b'{"db":"x"}')
    assert (r.status_code, r.text) == (415, "unacceptable content-type, expected: application/json")
    r = requests.delete(f"{url}/api/v3/configure/database", params={"db": "nosuchdb"})
    assert (r.status_code, r.text) == (404, "the requested resource was not found: nosuchdb")
    r = requests.delete(f"{url}/api/v3/configure/database", params={"db": "_internal"})
    assert (r.status_code, r.text) == (500, "cannot delete internal db")
    r = requests.get(f"{url}/api/v3/configure/database")
    assert (r.status_code, r.text) == (400, "serde error: missing field `format`")


# ---- issue 10: what error bodies must not say, and the shapes of the refusals it added ----------

MALFORMED_AUTH = ("{\"error\": \"Authorization header was malformed, the request was not in the form of "
                  "'Authorization: <auth-scheme> <token>', supported auth-schemes are Bearer, Token and Basic\"}")


@pytest.fixture(scope="module")
def auth_server(start_influx3_session):
    return start_influx3_session(auth=True)


def test_basic_credential_without_a_colon_is_400_malformed(auth_server):
    import base64

    token = requests.post(f"{auth_server.url}/api/v3/configure/token/admin", timeout=30).json()["token"]
    for path in ("/ping", "/api/v3/configure/database?format=json"):
        r = requests.get(auth_server.url + path, timeout=30,
                         headers={"Authorization": "Basic " + base64.b64encode(token.encode()).decode()})
        assert (r.status_code, r.text) == (400, MALFORMED_AUTH)
        assert token not in r.text
        r = requests.get(auth_server.url + path, timeout=30,
                         headers={"Authorization": "Basic " + base64.b64encode(f"u:{token}".encode()).decode()})
        assert r.status_code == 200


def test_cross_origin_refusal_is_403_json(url):
    r = requests.post(f"{url}/api/v3/write_lp?db=x", data="m v=1 1", headers={"Origin": "http://evil.example"})
    assert r.status_code == 403 and r.headers["Content-Type"].startswith("application/json")
    assert r.json() == {"error": "cross-origin request from http://evil.example refused: add the origin to the "
                                 "server's allow-list (influx3 serve --cors-origins, or Influx3App.cors_origins "
                                 "in Jupyter)"}


def test_host_refusal_is_403_json(url):
    r = requests.get(f"{url}/ping", headers={"Host": "rebound.example:8181"})
    assert r.status_code == 403 and r.headers["Content-Type"].startswith("application/json")
    assert r.json() == {"error": "Host 'rebound.example:8181' not allowed: this server listens on a loopback "
                                 "address and answers only local names (add others with influx3 serve "
                                 "--allowed-hosts)"}


@pytest.mark.parametrize("spelling", [
    'SELECT * FROM "{d}/catalog/nope.json"',
    "SELECT * FROM read_parquet('{d}/nope/*.parquet')",
    "SELECT * FROM '{d}/nope.csv'",
    "SELECT 1 FROM m WHERE x = '{d}' AND nope_column = 1",
])
def test_error_bodies_never_carry_the_data_directory(url, server, db, spelling):
    assert write_v3(url, db, "m v=1 1").status_code == 204
    data_dir = str(server.data_dir)
    r = requests.get(f"{url}/api/v3/query_sql", params={"db": db, "q": spelling.format(d=data_dir)})
    assert r.status_code >= 400, r.text
    assert data_dir not in r.text and data_dir.encode() not in r.content


def test_an_unexpected_exception_is_a_generic_500_with_the_detail_in_the_log(tmp_path, caplog):
    # A handler that fails the way a bug would, on a real tornado server with the real base class.
    import logging

    from http_helpers import serving

    from jupyter_influx3.engine import Engine
    from jupyter_influx3.http.auth import AuthSettings
    from jupyter_influx3.http.base import ApiHandler
    from jupyter_influx3.http.routes import make_app

    engine = Engine(str(tmp_path / "d"), node_id="n")
    secret = f"{engine.data_dir}/catalog/0001.json: the operator token hash is abcdef"

    class Broken(ApiHandler):
        required = ("any",)

        def get(self):
            raise RuntimeError(secret)

    app = make_app(engine, auth=AuthSettings(enabled=False))
    app.wildcard_router.add_rules([("/broken", Broken, {"context": app.settings["influx3"]})])
    caplog.set_level(logging.ERROR)
    try:
        with serving(app) as base:
            r = requests.get(f"{base}/broken", timeout=30)
    finally:
        engine.close()
    assert (r.status_code, r.text) == (500, "internal error (see the server log)")
    assert "RuntimeError" in caplog.text and "the operator token hash" in caplog.text
