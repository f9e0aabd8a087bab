"""How the workers of ``influx3 serve --workers N`` share out new connections.

Every worker accepts on the one listening socket the supervisor handed them. tornado's own accept
handler takes every connection waiting when its worker wakes up, so a client that opens its
connections together (a loader's two keep-alive connections, a connection pool) usually lands all
of them on one worker, which then does all the work while the others idle. Here a worker takes one
connection per wake-up, and a worker holding more open connections than the least busy sibling lets
that sibling take the next one: it stops listening for :data:`DEFER_S`, then accepts whatever is
still waiting, so a stuck or dead sibling never leaves a connection waiting longer than that.
(nginx's ``accept_mutex`` / ``ngx_accept_disabled`` serve the same purpose.)

Each worker publishes its number of open connections in its slot of a small file in the
supervisor's runtime directory (:class:`ConnectionBoard`: one int64 per worker, -1 once it stopped
serving). The counts are advice only: a stale or missing one costs at most one deferral.

Owns: accepting on a worker's listening sockets, and the connections file. Must not: read from a
connection (that is tornado's and ``flight/portshare``'s) or be used without ``--workers``.
"""

from __future__ import annotations

import mmap
import os
import socket
import struct
import weakref
from pathlib import Path

from tornado.ioloop import IOLoop, PeriodicCallback

from ..engine.fsutil import write_file_exclusive

#: how long a busier worker leaves a new connection to its idler siblings
DEFER_S = 0.1
#: how often a worker republishes its count anyway (it also does on every accept and close)
PUBLISH_MS = 250
#: a slot of a worker that does not serve (stopped)
NOT_SERVING = -1
_SLOT = struct.Struct("<q")


class ConnectionBoard:
    """Open connections per worker, in a file every worker maps (`path`, `n` slots of int64)."""

    def __init__(self, path: Path, index: int, n: int):
        if not 0 <= index < n:
            raise ValueError(f"worker index {index} out of range for {n} workers")
        self.index, self.n = index, n
        _create_once(Path(path), n)
        fd = os.open(path, os.O_RDWR)
        try:
            self._mm = mmap.mmap(fd, n * _SLOT.size)
        finally:
            os.close(fd)

    def publish(self, count: int) -> None:
        _SLOT.pack_into(self._mm, self.index * _SLOT.size, count)

    def counts(self) -> list[int]:
        return [_SLOT.unpack_from(self._mm, i * _SLOT.size)[0] for i in range(self.n)]

    def least_other(self) -> int | None:
        """The fewest open connections among the other serving workers (None: none serves)."""
        others = [c for i, c in enumerate(self.counts()) if i != self.index and c >= 0]
        return min(others) if others else None

    def close(self) -> None:
        self.publish(NOT_SERVING)
        self._mm.close()


def _create_once(path: Path, n: int) -> None:
    """The file with every slot NOT_SERVING (a worker still starting takes no connection), created
    whole (write_file_exclusive), so no worker ever maps a short one."""
    if path.exists():
        return
    try:
        write_file_exclusive(path, _SLOT.pack(NOT_SERVING) * n)
    except FileExistsError:   # a sibling was first
        pass


class BalancedAcceptor:
    """Accepts on `sockets` for `server` (a tornado TCPServer), one connection at a time, deferring
    to idler workers. Registered like ``server.add_sockets``, so ``server.stop()`` ends it."""

    def __init__(self, server, board: ConnectionBoard):
        self.server, self.board = server, board
        self.loop = IOLoop.current()
        # accepted sockets: held weakly, so that a connection's count drops (and is published)
        # as soon as tornado closes and lets go of its socket
        self._open: weakref.WeakSet[socket.socket] = weakref.WeakSet()
        self._deferred: dict[int, object] = {}  # fd -> pending call_later handle
        self._stopped = False
        self._publisher = PeriodicCallback(self._publish, PUBLISH_MS)
        # a connection of `http/connection.py` says when it closes (its socket may wait for a
        # GC cycle to be let go, and the count must drop now: a sibling decides on it)
        server.on_connection_closed = self._publish

    def add_sockets(self, sockets: list[socket.socket]) -> None:
        for sock in sockets:
            sock.setblocking(False)
            fd = sock.fileno()
            # tornado's stop() closes server._sockets and calls server._handlers (its own
            # add_sockets fills both the same way)
            self.server._sockets[fd] = sock
            self.server._handlers[fd] = lambda sock=sock: self._remove(sock)
            self.loop.add_handler(sock, self._on_readable, IOLoop.READ)
        self._publish()
        self._publisher.start()

    def open_connections(self) -> int:
        return sum(1 for c in list(self._open) if c.fileno() != -1)

    def _publish(self) -> None:
        if not self._stopped:
            self.board.publish(self.open_connections())

    def _on_readable(self, fd, events) -> None:
        sock = self.server._sockets.get(fd if isinstance(fd, int) else fd.fileno())
        if sock is None:
            return
        mine = self.open_connections()
        self.board.publish(mine)
        least = self.board.least_other()
        if least is not None and mine > least:   # an idler sibling should take this one
            self.loop.remove_handler(sock)
            self._deferred[sock.fileno()] = self.loop.call_later(DEFER_S, self._after_deferral, sock)
            return
        self._accept_one(sock)

    def _after_deferral(self, sock: socket.socket) -> None:
        self._deferred.pop(sock.fileno(), None)
        if self._stopped:
            return
        self._accept_one(sock)   # whatever is still waiting is ours now
        self.loop.add_handler(sock, self._on_readable, IOLoop.READ)

    def _accept_one(self, sock: socket.socket) -> None:
        try:
            conn, address = sock.accept()
        except (BlockingIOError, ConnectionAbortedError):   # a sibling took it, or it went away
            return
        self._open.add(conn)
        weakref.finalize(conn, self.loop.add_callback, self._publish)
        self.board.publish(self.open_connections())
        self.server._handle_connection(conn, address)

    def _remove(self, sock: socket.socket) -> None:
        self._stopped = True
        handle = self._deferred.pop(sock.fileno(), None)
        if handle is not None:
            self.loop.remove_timeout(handle)
        self.loop.remove_handler(sock)
        self._publisher.stop()
        self.board.publish(NOT_SERVING)


def add_balanced_sockets(server, sockets: list[socket.socket], runtime_dir: Path, index: int, n: int) -> BalancedAcceptor:
    """Worker `index` of `n` accepts on `sockets` for `server`, sharing connections out with its
    siblings through ``<runtime_dir>/connections``."""
    acceptor = BalancedAcceptor(server, ConnectionBoard(Path(runtime_dir) / "connections", index, n))
    acceptor.add_sockets(sockets)
    return acceptor
