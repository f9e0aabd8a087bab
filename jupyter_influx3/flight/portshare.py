"""One port for HTTP/1.1 and gRPC, as InfluxDB 3 has: ``InfluxDBClient3(host="http://h:8181")``
writes over HTTP and queries over Flight on the same address.

:class:`SharedPortHTTPServer` is tornado's HTTPServer with one change: before a new connection
is handed to HTTP, its first bytes are peeked at (``MSG_PEEK``, nothing consumed). A connection
that starts with the HTTP/2 client preface (``PRI * HTTP/2.0``, which is how every gRPC client
over cleartext starts) is relayed byte for byte to the Flight server listening on an internal
loopback port; any other connection is tornado's as usual, with no extra hop.

The relay runs in two threads per gRPC connection with blocking sockets (they release the GIL
while waiting or copying), so a large Flight result never competes with the HTTP IOLoop.

An HTTP connection goes to tornado's ``HTTP1ServerConnection``, or with ``llhttp=True`` (what
``influx3 serve`` uses) to `http/connection.py`.

Owns: sniffing and relaying connections. Must not: look inside gRPC or HTTP beyond the preface.
"""

from __future__ import annotations

import asyncio
import logging
import socket
import threading
from typing import Optional

import tornado.httpserver

log = logging.getLogger(__name__)

PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
#: How long a new connection may stay silent before it is given to HTTP anyway (whose own
#: timeouts then apply); clients speak first in both protocols.
SNIFF_SECONDS = 10.0
RELAY_CHUNK = 1 << 20
#: gRPC connections relayed at once (each holds two threads); past it new ones are closed, so a
#: flood of connections cannot exhaust the server's threads (a gRPC client keeps one connection).
MAX_RELAYS = 256
_relays = threading.BoundedSemaphore(MAX_RELAYS)


def classify(data: bytes) -> Optional[str]:
    """``"grpc"``, ``"http"``, or None while `data` is a proper prefix of the HTTP/2 preface."""
    if data.startswith(PREFACE):
        return "grpc"
    if PREFACE.startswith(data):
        return None
    return "http"


class SharedPortHTTPServer(tornado.httpserver.HTTPServer):
    """An HTTPServer that relays HTTP/2 (gRPC) connections to ``grpc_target`` (host, port).

    Set :attr:`grpc_target` after construction; None serves HTTP only."""

    grpc_target: Optional[tuple[str, int]] = None
    #: HTTP/1.1 connections served by `http/connection.py` (llhttp) instead of tornado's own
    llhttp = False

    def handle_stream(self, stream, address) -> None:
        if self.grpc_target is None:
            self._http(stream, address)
            return
        asyncio.ensure_future(self._sniff(stream, address))

    def _http(self, stream, address) -> None:
        if not self.llhttp:
            super().handle_stream(stream, address)
            return
        from ..http.connection import serve_socket

        sock, stream.socket = stream.socket, None   # the IOStream never read: the socket is ours
        serve_socket(self, sock, address)

    async def _sniff(self, stream, address) -> None:
        sock = stream.socket
        loop = asyncio.get_running_loop()
        deadline = loop.time() + SNIFF_SECONDS
        kind = None
        try:
            while kind is None:
                data = await _peek(loop, sock, len(PREFACE), deadline - loop.time())
                if data is None:  # silent: let HTTP's own timeouts deal with it
                    kind = "http"
                elif not data:  # closed before saying anything
                    stream.close()
                    return
                else:
                    kind = classify(data)
        except OSError:
            stream.close()
            return
        if kind == "http":
            self._http(stream, address)
            return
        if not _relays.acquire(blocking=False):
            log.warning("more than %d gRPC connections at once; closing a new one", MAX_RELAYS)
            stream.close()
            return
        try:
            relay_sock = sock.dup()  # ours; closing the IOStream then closes only its own fd
        except OSError:
            _relays.release()
            stream.close()
            return
        stream.close()
        threading.Thread(target=_relay, args=(relay_sock, self.grpc_target), daemon=True,
                         name="influx3-grpc-relay").start()


async def _peek(loop, sock: socket.socket, size: int, timeout: float) -> Optional[bytes]:
    """Up to `size` bytes waiting on `sock` without consuming them; b"" at EOF; None on timeout."""
    if timeout <= 0:
        return None
    ready = loop.create_future()
    fd = sock.fileno()
    loop.add_reader(fd, lambda: ready.done() or ready.set_result(None))
    try:
        await asyncio.wait_for(ready, timeout)
    except asyncio.TimeoutError:
        return None
    finally:
        loop.remove_reader(fd)
    try:
        return sock.recv(size, socket.MSG_PEEK)
    except BlockingIOError:
        return await _peek(loop, sock, size, timeout - 0.001)


def _relay(client: socket.socket, target: tuple[str, int]) -> None:
    """Copy bytes both ways between `client` and a new connection to `target` until both close."""
    try:
        _relay_until_closed(client, target)
    finally:
        _relays.release()


def _relay_until_closed(client: socket.socket, target: tuple[str, int]) -> None:
    client.setblocking(True)
    try:
        upstream = socket.create_connection(target, timeout=10)
    except OSError as exc:
        log.error("cannot reach the Flight server at %s:%s: %s", target[0], target[1], exc)
        client.close()
        return
    upstream.settimeout(None)
    for s in (client, upstream):
        try:
            s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        except OSError:
            pass
    back = threading.Thread(target=_pump, args=(upstream, client), daemon=True, name="influx3-grpc-relay")
    back.start()
    _pump(client, upstream)
    back.join()
    client.close()
    upstream.close()


def _pump(src: socket.socket, dst: socket.socket) -> None:
    buf = bytearray(RELAY_CHUNK)
    view = memoryview(buf)
    try:
        while True:
            n = src.recv_into(buf)
            if not n:
                break
            dst.sendall(view[:n])
    except OSError:
        pass
    finally:
        # Half-close: the other direction may still be sending (gRPC ends streams that way too).
        for s, how in ((dst, socket.SHUT_WR), (src, socket.SHUT_RD)):
            try:
                s.shutdown(how)
            except OSError:
                pass


def shared_port_server(app, engine, *, auth: bool = True, **http_kwargs):
    """``(http_server, flight_server)``: an HTTP server for `app` that also answers gRPC by relaying
    it to a new Flight server of `engine` on a loopback port. Without ``pyarrow.flight`` (a pyarrow
    built without it) the HTTP server is plain and the Flight server None."""
    llhttp = http_kwargs.pop("llhttp", False)
    server = SharedPortHTTPServer(app, **http_kwargs)
    server.llhttp = llhttp
    try:
        from .server import FlightServer

        users = getattr(app.settings.get("influx3"), "users", None)  # users' JWTs, as on HTTP
        flight_server = FlightServer(engine, "grpc://127.0.0.1:0", auth=auth, users=users)
    except ImportError as exc:
        log.warning("Arrow Flight is not served: %s", exc)
        return server, None
    server.grpc_target = ("127.0.0.1", flight_server.port)
    return server, flight_server
