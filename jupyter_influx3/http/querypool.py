"""Running a request's query work: the query thread pool, the request's deadline and its cancellation.

Queries (SQL and InfluxQL, parsing included) run in a pool of their own, never in the pool that
writes and configure calls use, so a write is not queued behind a burst of slow queries. Each
query request gets one `engine.cancellation.QueryScope`; every call the request makes into the
engine runs inside it, so the DuckDB cursors it opens are interrupted when

* the query timeout passes (``influx3 serve --query-timeout``; the request answers 504
  ``query-timeout limit exceeded`` at the deadline even if the thread is still busy),
* the client closes the connection (``ApiHandler.on_connection_close``),
* the server shuts down (:func:`cancel_all`; the request answers 503).

Owns the pool's default size and how engine failures of a cancelled or too complex query become
answers; does not parse requests or format results.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import os
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Callable

from tornado.ioloop import IOLoop

from ..engine import cancellation
from ..engine.querylimits import limits_for, too_complex
from .base import ApiError

log = logging.getLogger(__name__)

#: threads that run queries (DuckDB parallelises each query on its own threads as well)
DEFAULT_QUERY_THREADS = max(4, (os.cpu_count() or 2) * 2)


def make_query_executor(threads: int = DEFAULT_QUERY_THREADS) -> ThreadPoolExecutor:
    return ThreadPoolExecutor(max_workers=threads, thread_name_prefix="influx3-query")


def query_executor(context: Any) -> ThreadPoolExecutor:
    """The context's query pool (made on first use when whoever built the context gave none)."""
    if context.query_executor is None:
        context.query_executor = make_query_executor()
    return context.query_executor


class ClientGone(ApiError):
    """The client closed the connection: there is nobody to answer (nothing is logged)."""

    def __init__(self):
        super().__init__(499, "query interrupted: the client closed the connection")


def scope_for(handler: Any) -> cancellation.QueryScope:
    """The request's QueryScope (one per request, made on first use)."""
    scope = getattr(handler, "_query_scope", None)
    if scope is None:
        scope = cancellation.QueryScope(limits_for(handler.context.engine).timeout_s)
        handler._query_scope = scope
        handler._query_stopped = asyncio.get_running_loop().create_future()
        handler.context.scopes.add(handler)
    return scope


def stop(handler: Any, reason: str) -> None:
    """Cancel the request's query (client gone, shutdown): interrupts DuckDB, wakes the handler."""
    scope = getattr(handler, "_query_scope", None)
    if scope is None:
        return
    scope.cancel(reason)
    stopped = handler._query_stopped
    if not stopped.done():
        stopped.set_result(reason)


def release(handler: Any) -> None:
    """The request is over: forget its scope."""
    if getattr(handler, "_query_scope", None) is not None:
        handler.context.scopes.discard(handler)


#: per context: the scopes of the query calls executing in a pool thread right now
_running: dict[int, list] = {}
_running_lock = threading.Lock()


def _enter(context: Any, scope: cancellation.QueryScope) -> None:
    with _running_lock:
        _running.setdefault(id(context), []).append(scope)


def _leave(context: Any, scope: cancellation.QueryScope) -> None:
    with _running_lock:
        _running[id(context)].remove(scope)


def running(context: Any) -> int:
    """Query calls of `context` executing in a pool thread right now (including those whose
    request already answered: an interrupted query's Python work may still be finishing)."""
    with _running_lock:
        return len(_running.get(id(context), ()))


def held_by_stopped(context: Any) -> tuple[int, int]:
    """(query threads still busy with a query that was already stopped, threads in the pool):
    when the first reaches the second, no query can run (Python work DuckDB cannot interrupt)."""
    pool = query_executor(context)
    with _running_lock:
        stopped = sum(1 for scope in _running.get(id(context), ()) if scope.cancelled)
    return stopped, getattr(pool, "_max_workers", 0)


def cancel_all(context: Any, reason: str = cancellation.SHUTDOWN) -> int:
    """Cancel every query request of `context` (a server shutting down): their DuckDB work is
    interrupted and each answers at once (503), even while Python work of its query runs on.
    Call on the IOLoop; returns how many."""
    handlers = list(context.scopes)
    for handler in handlers:
        stop(handler, reason)
    return len(handlers)


async def run(handler: Any, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """Run ``fn(*args, **kwargs)`` in the query pool under the request's scope; a cancelled call
    raises the ApiError of the scope's `QueryCancelled` (504 timeout, 503 shutdown), a parser's
    RecursionError the 400 of `StatementTooComplex`."""
    scope = scope_for(handler)
    call = functools.partial(fn, *args, **kwargs)

    def work() -> Any:
        _enter(context, scope)
        try:
            with scope.active():  # raises at once if cancelled while it waited for a thread
                return call()
        finally:
            _leave(context, scope)

    context = handler.context
    context.busy += 1
    fut = IOLoop.current().run_in_executor(query_executor(context), work)
    try:
        done, _ = await asyncio.wait([fut, handler._query_stopped], timeout=scope.remaining(),
                                     return_when=asyncio.FIRST_COMPLETED)
        if fut not in done:
            # past the deadline, or cancelled by a disconnect/shutdown while Python work runs on:
            # answer now, the thread ends on its own (interrupted DuckDB work ends at once)
            scope.cancel(cancellation.TIMEOUT)
            fut.cancel()
            _raise_stopped(scope)
        try:
            return fut.result()
        except RecursionError as exc:
            err = too_complex(exc)
            raise ApiError(err.status, err.message) from None
        except Exception:
            if scope.cancelled:
                _raise_stopped(scope)
            raise
    finally:
        context.busy -= 1


def _raise_stopped(scope: cancellation.QueryScope) -> None:
    """The answer of a stopped query, as an ApiError every endpoint renders in its own shape
    (plain text on v3, ``{"error": …}`` on /query)."""
    if scope.reason == cancellation.DISCONNECT:
        raise ClientGone()
    err = scope.error()
    raise ApiError(err.status, err.message) from None


async def flush_in_time(handler: Any) -> bool:
    """Flush what a query handler wrote; a client that stops reading is not waited for past the
    query's deadline: its connection is closed (the query's cursor is not held forever). False if
    closed."""
    try:
        await asyncio.wait_for(handler.flush(), scope_for(handler).remaining())
    except asyncio.TimeoutError:
        log.warning("a client stopped reading its query answer until the query timeout; closing the connection")
        handler.request.connection.close()
        return False
    return True
