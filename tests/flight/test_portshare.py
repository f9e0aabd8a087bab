"""One port, two protocols: the first bytes of each connection decide between HTTP/1.1 (tornado)
and HTTP/2 (relayed to the Flight server), however they are split across packets."""

from __future__ import annotations

import socket
import time

import pytest

from jupyter_influx3.flight.portshare import PREFACE, classify


@pytest.mark.parametrize("data, kind", [
    (b"", None), (b"P", None), (b"PRI * HTTP/2", None), (PREFACE, "grpc"), (PREFACE + b"\x00\x00", "grpc"),
    (b"POST /api/v3/write_lp", "http"), (b"GET /ping", "http"), (b"PUT", "http"), (b"PRX", "http"),
])
def test_classify(data, kind):
    assert classify(data) == kind


def connect(server) -> socket.socket:
    host, port = server.url.split("://", 1)[1].rsplit(":", 1)
    return socket.create_connection((host, int(port)), timeout=10)


def read_some(sock: socket.socket) -> bytes:
    data = b""
    while len(data) < 9:
        chunk = sock.recv(4096)
        if not chunk:
            break
        data += chunk
    return data


def test_http_request_sent_a_byte_at_a_time(server):
    request = b"GET /ping HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
    with connect(server) as s:
        s.sendall(request[:1])  # "G"... could still be anything for a moment
        time.sleep(0.05)
        s.sendall(request[1:2])
        time.sleep(0.05)
        s.sendall(request[2:])
        assert read_some(s).startswith(b"HTTP/1.1 200")


def test_http2_preface_split_across_packets_reaches_the_flight_server(server):
    with connect(server) as s:
        s.sendall(PREFACE[:2])  # "PR": both protocols still possible
        time.sleep(0.05)
        s.sendall(PREFACE[2:])
        s.sendall(b"\x00\x00\x00\x04\x00\x00\x00\x00\x00")  # an empty SETTINGS frame
        frame = read_some(s)
        assert frame[3] == 0x04  # the gRPC server answers with its own SETTINGS frame


def test_a_connection_closed_before_a_byte_does_not_disturb_the_server(server):
    connect(server).close()
    with connect(server) as s:
        s.sendall(b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
        assert read_some(s).startswith(b"HTTP/1.1 200")
