"""HTTP/1.1 connections of ``influx3 serve``: bytes in and out, parsed by llhttp (``httptools``).

Tornado's own connection (``HTTP1Connection`` over an ``IOStream``) costs ~80 µs of CPU per request
on this project's hardware, more than a small query answered from memory: its header parsing,
stream buffers and per-request timers are Python. This module replaces only that layer. Requests
are parsed by llhttp, the parser of Node.js, which also decides the hard questions of HTTP/1.1
framing (Content-Length against Transfer-Encoding, chunk sizes, obsolete line folding: request
smuggling). Everything above it is unchanged: each request goes to tornado's routing and
``RequestHandler`` machinery through tornado's own interfaces (``HTTPServerConnectionDelegate``,
``HTTPMessageDelegate``, ``HTTPConnection``), so handlers cannot tell the difference.

What it keeps from tornado's connection, on purpose:

* one request at a time per connection (pipelined requests wait, the socket is not read past a
  buffered backlog);
* the body reaches the handler only after its ``prepare()`` is done (authentication first);
* the header timeout (``idle_connection_timeout``: a whole header block, also an idle keep-alive
  connection) and the body timeout; the header size limit; the body size ceiling;
* ``Expect: 100-continue``; keep-alive as HTTP/1.0 and 1.1 define it; chunked answers when no
  Content-Length is known; a Content-Length that the answer does not keep is an error, never a
  desynchronised stream; no CR or LF inside a header;
* a client that goes away cancels its request (``on_connection_close``); writes to a closed
  connection fail with ``StreamClosedError``.

A request read whole without a body is first offered to the application's ``lean_answer`` (where
it has one: http/lean.py answers a few small reads without tornado's per-request objects); the
answer it returns, if any, is written as it is. When such a request is all that arrived on an idle
connection, it is offered at once, as its bytes are read, not by the connection's task a turn of
the loop later.

Owns: the connection's bytes, framing and timers. Must not: route, authenticate or look at what a
request asks for (tornado's ``Application``, the lean path and the handlers do).
"""

from __future__ import annotations

import asyncio
import collections
import logging
import socket
from typing import Any, Callable, Optional

import httptools
from tornado import httputil
from tornado.concurrent import Future
from tornado.iostream import StreamClosedError

log = logging.getLogger(__name__)

#: Largest request head (request line and headers), as tornado's default ``max_header_size``.
MAX_HEADER_BYTES = 64 * 1024
#: Body bytes buffered for a request whose handler is not reading yet (its ``prepare()`` runs) or
#: for requests pipelined behind the current one; past it the socket is not read until they drain.
MAX_BUFFERED_BYTES = 1 << 20
_BAD_REQUEST = b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
_TOO_LARGE = b"HTTP/1.1 431 Request Header Fields Too Large\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
_CONTINUE = b"HTTP/1.1 100 (Continue)\r\n\r\n"


class _Context:
    """What ``HTTPServerRequest`` reads from ``connection.context``."""

    __slots__ = ("remote_ip", "protocol", "address")

    def __init__(self, address: Any):
        self.address = address
        self.remote_ip = address[0] if isinstance(address, tuple) and address else "0.0.0.0"
        self.protocol = "http"


class _Head:
    """One request as the parser reads it: the head, then body events for the connection's task."""

    __slots__ = ("url", "headers", "size", "start_line", "keep_alive", "expects_body", "complete", "parsed",
                 "offered")

    def __init__(self) -> None:
        self.url = b""
        self.headers: list = []
        self.parsed: Optional[httputil.HTTPHeaders] = None   # `headers` as tornado's, once made
        self.offered = False   # to the lean path already
        self.size = 0
        self.start_line: Optional[httputil.RequestStartLine] = None
        self.keep_alive = False
        self.expects_body = False
        self.complete = False


class ServerConnection(asyncio.Protocol):
    """One TCP connection: parses requests, hands them to ``delegate`` (tornado's HTTPServer, an
    ``HTTPServerConnectionDelegate``) one at a time, writes their answers."""

    def __init__(self, delegate: Any, address: Any, *, idle_timeout: Optional[float] = None,
                 body_timeout: Optional[float] = None, max_body_size: Optional[int] = None,
                 max_header_size: int = MAX_HEADER_BYTES,
                 on_close: Optional[Callable[["ServerConnection"], None]] = None):
        self.delegate = delegate
        # the application's answerer of whole bodiless requests (http/lean.py), asked first
        self.lean: Optional[Callable[[_Head, httputil.HTTPHeaders, str], Optional[tuple]]] = getattr(
            getattr(delegate, "request_callback", None), "lean_answer", None)
        self.context = _Context(address)
        self.idle_timeout = idle_timeout
        self.body_timeout = body_timeout
        self.max_body_size = max_body_size if max_body_size is not None else 100 * 1024 * 1024
        self.max_header_size = max_header_size
        self.on_close = on_close
        self.transport: Optional[asyncio.Transport] = None
        self.parser: Optional[httptools.HttpRequestParser] = httptools.HttpRequestParser(self)
        self.closed = False
        # parser events waiting for the connection's task: ("head", _Head) / ("body", bytes) /
        # ("end", _Head) / ("error", bytes to answer with)
        self.events: collections.deque = collections.deque()
        self.buffered = 0
        self.wakeup: Optional[asyncio.Future] = None
        self.reading_paused = False
        self.reading_stopped = False   # for good: a refused request or an upgrade
        self.writing_paused = False
        self.drained: list[Future] = []
        self.current: Optional[_Request] = None
        self.feeding = False   # in the parser: events are handed to the task after it returns
        self.head: Optional[_Head] = None
        self.timer: Optional[asyncio.TimerHandle] = None
        self.task: Optional[asyncio.Task] = None

    # ---- asyncio.Protocol ----------------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        sock = transport.get_extra_info("socket")
        if sock is not None and sock.family in (socket.AF_INET, socket.AF_INET6):
            try:   # answers are written whole or in large pieces: no reason to wait for an ACK
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            except OSError:
                pass
        self._arm(self.idle_timeout)
        self.task = asyncio.ensure_future(self._serve())

    def data_received(self, data: bytes) -> None:
        if self.closed:
            return
        self.feeding = True
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserUpgrade:
            # An upgrade (WebSocket, h2c) is not served: the request is answered as a plain one,
            # and the connection closes after it (the bytes after the head are not HTTP/1.1).
            if self.head is not None and not self.head.complete:
                self.on_message_complete()
            self._stop_reading(for_good=True)
            if self.current is not None or self.events:
                self._push(("close", None))
            else:
                self.close()
        except httptools.HttpParserError as exc:
            self._refuse(_TOO_LARGE if isinstance(exc.__context__, _HeadTooLarge) else _BAD_REQUEST)
        finally:
            self.feeding = False
        if self.events and not self._answered_now():
            self._wake()

    def _answered_now(self) -> bool:
        """Whether the one request just read, whole and without a body, to an idle connection was
        answered here by the lean path (no turn of the loop for the task to take it)."""
        events = self.events
        if self.lean is None or self.current is not None or len(events) != 2 or events[0][0] != "head":
            return False
        head = events[0][1]
        if head.expects_body or events[1][0] != "end" or events[1][1] is not head:
            return False
        try:
            headers = self._headers_of(head)
        except httputil.HTTPInputError:
            return False   # the task answers it
        if not self._offer(head, headers):
            return False
        self._taken(events.popleft())
        events.popleft()
        return True

    def _offer(self, head: _Head, headers: httputil.HTTPHeaders) -> bool:
        """Whether the lean path answered the request of `head` (its answer is written; the
        connection then waits for the next request)."""
        head.offered = True
        answer = self.lean(head, headers, self.context.remote_ip)
        if answer is None:
            return False
        data, finish = answer
        self.write(data)
        try:
            finish()   # its bookkeeping, once the client has its answer (see lean.Answer)
        except Exception:   # noqa: BLE001 - the answer is out; a metric is missed, not the request
            log.exception("lean answer's bookkeeping failed")
        if not self.closed:
            self._arm(self.idle_timeout)
        return True

    @staticmethod
    def _headers_of(head: _Head) -> httputil.HTTPHeaders:
        if head.parsed is None:
            headers = httputil.HTTPHeaders()
            for name, value in head.headers:
                headers.add(name.decode("latin1"), value.decode("latin1"))
            head.parsed = headers
        return head.parsed

    def connection_lost(self, exc: Optional[Exception]) -> None:
        self.closed = True
        self._arm(None)
        # Let go of the transport (and its socket) now, not when a GC cycle finds them: with
        # `--workers`, a worker counts its open connections by their live sockets (http/balance.py).
        self.transport = None
        for waiter in self.drained:
            if not waiter.done():
                waiter.set_result(None)
        self.drained.clear()
        if self.current is not None:
            self.current.connection_lost()
        if self.wakeup is not None and not self.wakeup.done():
            self.wakeup.set_result(None)
        # the parser holds this connection's callbacks and on_close its handle, which holds the
        # connection: let go of both, so a closed connection is freed at once, not by the cyclic GC
        self.parser = None
        on_close, self.on_close = self.on_close, None
        if on_close is not None:
            on_close(self)

    def pause_writing(self) -> None:
        self.writing_paused = True

    def resume_writing(self) -> None:
        self.writing_paused = False
        waiters, self.drained = self.drained, []
        for waiter in waiters:
            if not waiter.done():
                waiter.set_result(None)

    # ---- parser callbacks ----------------------------------------------------------------------

    def on_message_begin(self) -> None:
        self.head = _Head()

    def on_url(self, url: bytes) -> None:
        head = self.head
        head.url += url
        self._count(head, len(url), self.max_header_size)

    def on_header(self, name: bytes, value: bytes) -> None:
        head = self.head
        head.headers.append((name, value))
        self._count(head, len(name) + len(value) + 4, self.max_header_size)

    def on_headers_complete(self) -> None:
        head = self.head
        self._hold(head.size)
        parser = self.parser
        version = "HTTP/" + parser.get_http_version()
        head.start_line = httputil.RequestStartLine(parser.get_method().decode("latin1"),
                                                     head.url.decode("latin1"), version)
        head.keep_alive = parser.should_keep_alive()
        head.expects_body = any(n.lower() in (b"content-length", b"transfer-encoding") for n, _ in head.headers)
        self._push(("head", head))

    def on_body(self, body: bytes) -> None:
        self._hold(len(body))
        self._push(("body", body))

    def _hold(self, n: int) -> None:
        """Count `n` bytes waiting in the events (bodies, and the heads of pipelined requests: a
        client sending requests faster than they are answered); past MAX_BUFFERED_BYTES the
        socket is not read until the task has taken them."""
        self.buffered += n
        if self.buffered > MAX_BUFFERED_BYTES:
            self._stop_reading()

    def on_message_complete(self) -> None:
        head = self.head
        head.complete = True
        self._push(("end", head))

    @staticmethod
    def _count(head: _Head, n: int, limit: int) -> None:
        head.size += n
        if head.size > limit:
            raise _HeadTooLarge()

    # ---- the connection's task: one request at a time ------------------------------------------

    def _push(self, event: tuple) -> None:
        self.events.append(event)
        if not self.feeding:
            self._wake()

    def _wake(self) -> None:
        if self.wakeup is not None and not self.wakeup.done():
            self.wakeup.set_result(None)

    async def _next(self) -> Optional[tuple]:
        while not self.events:
            if self.closed:
                return None
            self.wakeup = asyncio.get_running_loop().create_future()
            await self.wakeup
        return self._taken(self.events.popleft())

    def _taken(self, event: tuple) -> tuple:
        """`event`, taken off the queue: its bytes no longer count as buffered."""
        kind = event[0]
        if kind == "body" or kind == "head":
            self.buffered -= len(event[1]) if kind == "body" else event[1].size
            if self.reading_paused and not self.reading_stopped and self.buffered <= MAX_BUFFERED_BYTES // 2 \
                    and not self.closed:
                self.reading_paused = False
                self.transport.resume_reading()
        return event

    async def _serve(self) -> None:
        try:
            while True:
                event = await self._next()
                if event is None:
                    return
                kind = event[0]
                if kind == "error":
                    self._write_raw(event[1])
                    self.close()
                    return
                if kind == "close":
                    self.close()
                    return
                if kind != "head":   # body bytes of a request already refused: dropped
                    continue
                if not await self._one(event[1]):
                    self.close()
                    return
        except Exception:   # a bug here must not leave the connection hanging
            log.exception("HTTP connection failed")
            self.close()

    async def _one(self, head: _Head) -> bool:
        """Serve the request whose head is `head`; whether the connection may serve another."""
        self._arm(self.body_timeout if head.expects_body else None)
        headers = self._headers_of(head)
        # A request without a body that is already whole (a GET, say) is read to its end at once:
        # its handler then runs prepare(), its method and its answer in one step of the loop,
        # instead of waking this task between them (two loop turns fewer per request)
        whole = not head.expects_body and self._take_end(head)
        if whole and self.lean is not None and not head.offered and self._offer(head, headers):
            return not self.closed
        request = self.current = _Request(self, head)
        message = self.delegate.start_request(self, request)
        try:
            ready = message.headers_received(head.start_line, headers)
            if whole:
                request.read_done = True
                message.finish()
            if ready is not None:
                await ready   # the handler's prepare(): the body waits for it
        except httputil.HTTPInputError as exc:   # a Host header tornado refuses, say
            log.info("malformed HTTP request from %s: %s", self.context.remote_ip, exc)
            self._write_raw(_BAD_REQUEST)
            self.close()
            return False
        if not whole and not await self._read_body(head, headers, request, message):
            return False
        await request.done
        if self.closed or not request.keep_alive:
            self.close()
            return False
        self.current = None
        self._arm(self.idle_timeout)
        return True

    def _take_end(self, head: _Head) -> bool:
        """Whether the end of `head`'s request is the next event (taken off the queue if so)."""
        events = self.events
        if events and events[0][0] == "end" and events[0][1] is head:
            events.popleft()
            return True
        return False

    async def _read_body(self, head: _Head, headers: httputil.HTTPHeaders, request: "_Request",
                         message: Any) -> bool:
        """Hand the request's body to its handler, up to its end; whether the request was read
        whole (else the connection is done)."""
        if head.expects_body and headers.get("Expect", "").lower() == "100-continue" and not request.started:
            self._write_raw(_CONTINUE)
        received = 0
        while True:   # the body's events up to the request's "end"
            event = await self._next()
            if event is None:
                request.abandon(message)
                return False
            if request.finished:
                # answered before its body was read (refused in prepare(), say): closing is the
                # only way not to read the rest, as tornado does
                return False
            if event[0] == "body":
                received += len(event[1])
                if received > request.max_body_size:
                    log.info("request body over %d bytes from %s; closing", request.max_body_size,
                             self.context.remote_ip)
                    request.abandon(message)
                    self.abort()
                    return False
                more = message.data_received(event[1])
                if more is not None:
                    await more
            elif event[0] == "end":
                break
            else:   # a parse error inside the body (or an upgrade): refused, if not answered yet
                request.abandon(message)
                if event[0] == "error" and not request.started:
                    self._write_raw(event[1])
                return False
        self._arm(None)
        request.read_done = True
        message.finish()
        return True

    # ---- helpers -------------------------------------------------------------------------------

    def _arm(self, seconds: Optional[float]) -> None:
        """(Re)start the one timer of the connection: past `seconds` it is closed; None: no timer."""
        if self.timer is not None:
            self.timer.cancel()
            self.timer = None
        if seconds and not self.closed:
            self.timer = asyncio.get_running_loop().call_later(seconds, self._timed_out)

    def _timed_out(self) -> None:
        self.timer = None
        log.info("HTTP connection from %s timed out", self.context.remote_ip)
        self.abort()

    def _refuse(self, answer: bytes) -> None:
        """A request the parser refused: answered (after the one being answered, if any), then the
        connection closes; nothing after it is read."""
        self._stop_reading(for_good=True)
        if self.current is None and not self.events:
            self._write_raw(answer)
            self.close()
        else:
            self._push(("error", answer))

    def _stop_reading(self, for_good: bool = False) -> None:
        self.reading_stopped = self.reading_stopped or for_good
        if not self.reading_paused and not self.closed:
            self.reading_paused = True
            self.transport.pause_reading()

    def _write_raw(self, data: bytes) -> None:
        if data and not self.closed:
            self.transport.write(data)

    def write(self, data: bytes) -> "Future[None]":
        """Send `data`; the future is done when the transport's buffer is below its high-water mark
        (a handler that awaits it does not outrun a slow client)."""
        future: Future = Future()
        if self.closed:
            future.set_exception(StreamClosedError())
            future.exception()   # retrieved: a handler that does not await it logs nothing
            return future
        self.transport.write(data)
        if self.writing_paused:
            self.drained.append(future)
        else:
            future.set_result(None)
        return future

    def close(self) -> None:
        """Close now; what was written is still sent (to a client that reads it)."""
        if not self.closed:
            self.closed = True
            self._arm(None)
            self.transport.close()

    def abort(self) -> None:
        """Close now and drop what was not sent yet: a client that stopped reading must not keep
        the connection (and what was written to it) alive."""
        self.closed = True
        self._arm(None)
        if self.transport is not None:
            self.transport.abort()

    async def close_gracefully(self) -> None:
        """For ``HTTPServer.close_all_connections`` (at shutdown: as tornado's, unsent bytes go)."""
        self.abort()
        if self.task is not None and self.task is not asyncio.current_task():
            try:
                await self.task
            except Exception:   # noqa: BLE001 - closing anyway
                pass


class _HeadTooLarge(Exception):
    """Raised inside a parser callback: the request head passed MAX_HEADER_BYTES."""


class _Request(httputil.HTTPConnection):
    """One request/answer exchange on a :class:`ServerConnection` (what tornado's handlers see as
    ``request.connection``)."""

    stream = None   # no tornado IOStream underneath (http/base.py tunes one when there is)

    def __init__(self, conn: ServerConnection, head: _Head):
        self.conn = conn
        self.context = conn.context
        self.head = head
        self.keep_alive = head.keep_alive
        self.max_body_size = conn.max_body_size
        self.close_callback: Optional[Callable[[], None]] = None
        self.started = False
        self.finished = False
        self.read_done = False
        self.chunked = False
        self.remaining: Optional[int] = None
        self.done: asyncio.Future = asyncio.get_running_loop().create_future()

    # ---- what handlers call --------------------------------------------------------------------

    def set_close_callback(self, callback: Optional[Callable[[], None]]) -> None:
        self.close_callback = callback

    def set_max_body_size(self, max_body_size: int) -> None:
        self.max_body_size = max_body_size

    def set_body_timeout(self, timeout: float) -> None:
        self.conn._arm(timeout)

    def detach(self) -> Any:
        raise NotImplementedError("influx3 serve does not hand over connections (no WebSockets)")

    def close(self) -> None:
        # what handlers call to cut a client off (one that stopped reading, say): nothing more is sent
        self.conn.abort()

    def write_headers(self, start_line: Any, headers: httputil.HTTPHeaders,
                      chunk: Optional[bytes] = None) -> "Future[None]":
        self.started = True
        version = self.head.start_line.version
        method = self.head.start_line.method
        code = start_line.code
        bodiless = method == "HEAD" or code in (204, 304) or 100 <= code < 200
        self.chunked = version == "HTTP/1.1" and not bodiless and "Content-Length" not in headers
        if method == "HEAD" or code == 304:
            self.remaining = 0
        elif "Content-Length" in headers:
            self.remaining = int(headers["Content-Length"])
        elif not self.chunked and not bodiless:
            self.keep_alive = False   # an HTTP/1.0 answer of unknown length ends with the connection
        if version == "HTTP/1.1" and not self.keep_alive:
            headers["Connection"] = "close"
        elif version == "HTTP/1.0" and self.keep_alive:
            headers["Connection"] = "Keep-Alive"
        if self.chunked:
            headers["Transfer-Encoding"] = "chunked"
        pairs = list(headers.get_all())
        fields = "\0".join([start_line.reason, *(part for pair in pairs for part in pair)])
        if "\r" in fields or "\n" in fields:   # a header of its own, or an answer of its own
            raise ValueError("Illegal characters (CR or LF) in header: %r" % fields)
        text = "HTTP/1.1 %d %s\r\n" % (code, start_line.reason)
        text += "".join(["%s: %s\r\n" % pair for pair in pairs])
        data = text.encode("latin1") + b"\r\n"
        if chunk:
            data += self._frame(chunk)
        return self.conn.write(data)

    def write(self, chunk: bytes) -> "Future[None]":
        return self.conn.write(self._frame(chunk))

    def finish(self) -> None:
        if self.remaining:   # fewer bytes than the Content-Length promised
            self.conn.abort()
            self._done()
            raise httputil.HTTPOutputError(f"Tried to write {self.remaining} bytes less than Content-Length")
        if self.chunked:
            self.conn.write(b"0\r\n\r\n")
        self.finished = True
        if not self.read_done:
            # answered before the body was read: closing is the only way not to read the rest
            self.keep_alive = False
        self._done()

    # ---- for the connection --------------------------------------------------------------------

    def _frame(self, chunk: bytes) -> bytes:
        if self.remaining is not None:
            self.remaining -= len(chunk)
            if self.remaining < 0:
                self.conn.abort()
                raise httputil.HTTPOutputError("Tried to write more data than Content-Length")
        if self.chunked and chunk:
            return b"%x\r\n%b\r\n" % (len(chunk), chunk)
        return chunk

    def _done(self) -> None:
        self.close_callback = None
        if not self.done.done():
            self.done.set_result(None)

    def abandon(self, message: Any) -> None:
        """The request's body will not come (the connection closes): tell its handler."""
        if self.finished:
            return
        self.keep_alive = False
        try:
            message.on_connection_close()
        except Exception:   # noqa: BLE001 - closing anyway
            log.exception("on_connection_close failed")
        self.connection_lost()

    def connection_lost(self) -> None:
        callback, self.close_callback = self.close_callback, None
        if callback is not None:
            try:
                callback()
            except Exception:   # noqa: BLE001 - the connection is gone either way
                log.exception("close callback failed")
        if not self.done.done():
            self.done.set_result(None)


def serve_socket(server: Any, sock: socket.socket, address: Any) -> None:
    """Serve the accepted `sock` with a :class:`ServerConnection` for tornado HTTPServer `server`
    (its timeouts and connection set; ``server.close_all_connections()`` closes these too)."""
    params = server.conn_params
    if params.decompress:
        raise ValueError("decompress_request is not supported here (the handlers decompress bodies)")

    def on_close(conn: ServerConnection) -> None:
        server._connections.discard(handle)
        closed = getattr(server, "on_connection_closed", None)   # http/balance.py counts them
        if closed is not None:   # (soon: asyncio closes the socket after connection_lost)
            asyncio.get_running_loop().call_soon(closed)

    conn = ServerConnection(server, address, idle_timeout=params.header_timeout,
                            body_timeout=params.body_timeout, max_body_size=params.max_body_size,
                            max_header_size=params.max_header_size or MAX_HEADER_BYTES, on_close=on_close)
    handle = _Handle(conn, server._connections)
    server._connections.add(handle)
    loop = asyncio.get_running_loop()

    async def start() -> None:
        try:
            await loop.connect_accepted_socket(lambda: conn, sock)
        except OSError:
            server._connections.discard(handle)
            sock.close()

    asyncio.ensure_future(start())


class _Handle:
    """What ``HTTPServer.close_all_connections`` awaits ``close()`` of."""

    __slots__ = ("conn", "members")

    def __init__(self, conn: ServerConnection, members: set):
        self.conn, self.members = conn, members

    async def close(self) -> None:
        self.members.discard(self)   # (close_all_connections loops until the set is empty)
        await self.conn.close_gracefully()
