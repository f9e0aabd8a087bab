"""HTTP/1.1 framing of `influx3 serve` (http/connection.py, llhttp) with raw sockets: pipelining,
keep-alive, 100-continue, chunked bodies, and the requests an attacker would send to desynchronise
the connection (Content-Length against Transfer-Encoding, two lengths, huge heads, upgrades)."""

from __future__ import annotations

import json
import socket

import pytest
import requests

from http_helpers import connect, read_answer, rows


def closed(sock: socket.socket) -> bool:
    """Whether the server closed `sock` (EOF within the socket's timeout)."""
    try:
        return sock.recv(1) == b""
    except (ConnectionResetError, BrokenPipeError):
        return True


def host(url: str) -> str:
    return url.rsplit("/", 1)[-1]


def answered_then_closed(url: str, data: bytes) -> tuple[int, dict]:
    """Sends `data` on a new connection: the status and headers of the one answer, which the
    server must follow by closing the connection."""
    with connect(url) as sock:
        sock.sendall(data)
        status, headers, _ = read_answer(sock, bytearray())
        assert closed(sock)
    return status, headers


def test_pipelined_requests_are_answered_in_order_on_one_connection(url, db):
    requests.post(f"{url}/api/v3/write_lp", params={"db": db}, data="cpu v=1 1\ncpu v=2 2\n", timeout=30)
    q = f"/api/v3/query_sql?db={db}&q=SELECT%20count(*)%20AS%20n%20FROM%20cpu&format=json"
    with connect(url) as sock:
        sock.sendall((f"GET /ping HTTP/1.1\r\nHost: {host(url)}\r\n\r\n"
                      f"GET {q} HTTP/1.1\r\nHost: {host(url)}\r\n\r\n"
                      f"GET /no/such HTTP/1.1\r\nHost: {host(url)}\r\n\r\n").encode())
        buf = bytearray()
        first, second, third = (read_answer(sock, buf) for _ in range(3))
    assert first[0] == 200 and json.loads(first[2])["product_name"] == "jupyter-influx3"
    assert second[0] == 200 and json.loads(second[2]) == [{"n": 2}]
    assert third[0] == 404


def test_a_keep_alive_connection_serves_many_requests(url):
    with connect(url) as sock:
        buf = bytearray()
        for _ in range(50):
            sock.sendall(f"GET /ping HTTP/1.1\r\nHost: {host(url)}\r\n\r\n".encode())
            assert read_answer(sock, buf)[0] == 200


def test_connection_close_is_honoured_and_announced(url):
    status, headers = answered_then_closed(
        url, f"GET /ping HTTP/1.1\r\nHost: {host(url)}\r\nConnection: close\r\n\r\n".encode())
    assert status == 200 and headers["connection"] == "close"


def test_http_1_0_closes_unless_keep_alive_is_asked_for(url):
    assert answered_then_closed(url, b"GET /ping HTTP/1.0\r\n\r\n")[0] == 200
    with connect(url) as sock:
        buf = bytearray()
        for _ in range(2):
            sock.sendall(b"GET /ping HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
            status, headers, _ = read_answer(sock, buf)
            assert status == 200 and headers["connection"] == "Keep-Alive"


def test_chunked_request_body_is_written(url, db, reader):
    body = b"cpu,host=a v=1 1\ncpu,host=b v=2 2\n"
    chunks = b"".join(b"%x\r\n%s\r\n" % (len(part), part) for part in (body[:10], body[10:])) + b"0\r\n\r\n"
    with connect(url) as sock:
        sock.sendall(f"POST /api/v3/write_lp?db={db} HTTP/1.1\r\nHost: {host(url)}\r\n"
                     "Transfer-Encoding: chunked\r\n\r\n".encode() + chunks)
        assert read_answer(sock, bytearray())[0] == 204
    assert rows(reader, db, "SELECT host, v FROM cpu ORDER BY host") == [{"host": "a", "v": 1.0}, {"host": "b", "v": 2.0}]


def test_expect_100_continue_gets_the_interim_answer_before_the_body_is_sent(url, db, reader):
    body = b"cpu v=7 7\n"
    with connect(url) as sock:
        sock.sendall(f"POST /api/v3/write_lp?db={db} HTTP/1.1\r\nHost: {host(url)}\r\n"
                     f"Content-Length: {len(body)}\r\nExpect: 100-continue\r\n\r\n".encode())
        buf = bytearray()
        assert read_answer(sock, buf)[0] == 100
        sock.sendall(body)
        assert read_answer(sock, buf)[0] == 204
    assert rows(reader, db, "SELECT v FROM cpu") == [{"v": 7.0}]


@pytest.mark.parametrize("head", [
    # request smuggling: a front end and this server must never disagree on where a body ends
    "POST /api/v3/write_lp?db=smuggle HTTP/1.1\r\nHost: HOST\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n",
    "POST /api/v3/write_lp?db=smuggle HTTP/1.1\r\nHost: HOST\r\nContent-Length: 4\r\nContent-Length: 5\r\n\r\n",
    "POST /api/v3/write_lp?db=smuggle HTTP/1.1\r\nHost: HOST\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
    "POST /api/v3/write_lp?db=smuggle HTTP/1.1\r\nHost: HOST\r\nContent-Length: -1\r\n\r\n",
    "GET /ping HTTP/1.1\r\nHost: HOST\r\n folded: header\r\n\r\n",
    "GET /ping HTTP/1.1\r\nHo st: h\r\n\r\n",
    "GET /ping\x00 HTTP/1.1\r\n\r\n",
    "NOT-HTTP\r\n\r\n",
    "FOO /ping HTTP/1.1\r\nHost: HOST\r\n\r\n",   # a method HTTP does not define
])
def test_ambiguous_or_malformed_requests_are_refused_and_the_connection_closed(url, head):
    assert answered_then_closed(url, head.replace("HOST", host(url)).encode("latin1") + b"cpu v=1 1\n")[0] == 400
    assert requests.get(f"{url}/api/v3/configure/database?format=json", timeout=30).ok
    assert "smuggle" not in requests.get(f"{url}/api/v3/configure/database?format=json", timeout=30).text


def test_a_malformed_request_pipelined_behind_a_good_one_waits_for_its_answer(url):
    with connect(url) as sock:
        sock.sendall(f"GET /ping HTTP/1.1\r\nHost: {host(url)}\r\n\r\nGARBAGE\r\n\r\n".encode())
        buf = bytearray()
        assert read_answer(sock, buf)[0] == 200
        assert read_answer(sock, buf)[0] == 400
        assert closed(sock)


def test_a_request_head_over_64_kib_is_refused_with_431(url):
    with connect(url) as sock:
        sock.sendall(f"GET /ping HTTP/1.1\r\nHost: {host(url)}\r\n".encode())
        try:
            for i in range(100):
                sock.sendall(f"X-Filler-{i}: {'a' * 1000}\r\n".encode())
        except (BrokenPipeError, ConnectionResetError):
            pass   # the server may close while we still send
        status, _, _ = read_answer(sock, bytearray())
        assert status == 431
        assert closed(sock)


def test_a_missing_host_header_on_http_1_1_is_refused(url):
    assert answered_then_closed(url, b"GET /ping HTTP/1.1\r\n\r\n")[0] == 400


def test_an_upgrade_request_is_answered_as_plain_http_then_closed(url):
    data = (f"GET /ping HTTP/1.1\r\nHost: {host(url)}\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n"
            "\x81\x85garbage-after-the-head").encode()
    assert answered_then_closed(url, data)[0] == 200


def test_head_answers_carry_no_body(url):
    with connect(url) as sock:
        buf = bytearray()
        sock.sendall(f"HEAD /ping HTTP/1.1\r\nHost: {host(url)}\r\n\r\nGET /ping HTTP/1.1\r\nHost: {host(url)}\r\n\r\n"
                     .encode())
        head = sock.recv(65536)
        while b"\r\n\r\n" not in head:
            head += sock.recv(65536)
        first, _, rest = head.partition(b"\r\n\r\n")
        assert first.startswith(b"HTTP/1.1 404")
        buf += rest
        length = int(next(line.split(b": ")[1] for line in first.split(b"\r\n") if line.lower().startswith(b"content-length")))
        assert length > 0   # the length a GET would have had, and no bytes of it
        assert read_answer(sock, buf)[0] == 200   # the next answer follows at once


def test_an_answer_is_sent_before_a_large_body_is_read_and_the_connection_then_closes(start_influx3):
    srv = start_influx3("--max-http-request-size", "1000")
    with connect(srv.url) as sock:
        sock.sendall(f"POST /api/v3/write_lp?db=big HTTP/1.1\r\nHost: {host(srv.url)}\r\n"
                     "Content-Length: 5000000\r\n\r\n".encode() + b"x" * 100_000)
        sock.settimeout(30)
        try:
            sock.sendall(b"x" * 4_900_000)
        except (BrokenPipeError, ConnectionResetError):
            pass
        status, _, body = read_answer(sock, bytearray())
        assert status == 413 and b"max request size" in body


def test_an_http_1_0_answer_of_unknown_length_ends_with_the_connection_not_keep_alive(url, db):
    requests.post(f"{url}/api/v3/write_lp", params={"db": db}, data="cpu v=1 1\n", timeout=30)
    q = f"/query?db={db}&q=SELECT%20*%20FROM%20cpu&chunked=true"   # streamed: no Content-Length
    status, headers = answered_then_closed(url, f"GET {q} HTTP/1.0\r\nConnection: keep-alive\r\n\r\n".encode())
    assert status == 200
    assert "content-length" not in headers and "transfer-encoding" not in headers
    assert headers.get("connection", "").lower() != "keep-alive"


def test_bodiless_requests_refused_before_their_handler_runs_keep_the_connection(start_influx3):
    # a GET is read whole before its handler starts: refusing it (no token) leaves nothing unread,
    # so the connection serves the requests pipelined behind it
    srv = start_influx3(auth=True)
    with connect(srv.url) as sock:
        sock.sendall((f"GET /query?db=x&q=SHOW%20DATABASES HTTP/1.1\r\nHost: {host(srv.url)}\r\n\r\n" * 3).encode())
        buf = bytearray()
        answers = [read_answer(sock, buf) for _ in range(3)]
    assert [status for status, _, _ in answers] == [401, 401, 401]
    assert all(headers.get("connection") != "close" for _, headers, _ in answers)


def test_a_body_refused_before_it_is_read_still_closes_the_connection(start_influx3):
    srv = start_influx3(auth=True)
    status, headers = answered_then_closed(
        srv.url, f"POST /api/v3/write_lp?db=x HTTP/1.1\r\nHost: {host(srv.url)}\r\nContent-Length: 10\r\n\r\n"
                 "cpu v=1 1\n".encode())
    assert status == 401
