"""Node stop: a graceful stop of a live node of the data directory (this one or another), and
the state `system.nodes` reports for each node.

A stop is two-phase, like InfluxDB 3.11's: the node is asked (`<node>/STOP`, which a live node's
maintenance loop picks up within seconds, or at once for the node that got the request), persists
its buffer to Parquet (so its WAL needs no replay), leaves `<node>/STOPPED` and sets
`engine.stop_requested`, which `influx3 serve` answers by shutting down. A node that is not running
has nothing left to drain but its WAL, which is adopted (persisted) by the node that got the
request. `state`: ``running`` (its lock is held), ``stopping`` (asked, still up), ``stopped``
(marker, lock free) or ``unknown`` (gone without a stop).

The workers of ``influx3 serve --workers N --node-id X`` are the nodes ``X-w0`` … ``X-w<N-1>``:
stopping ``X`` stops every one of them (and ``X`` itself, if there is such a node), so the node id a
user gave the server stops the server; stopping one worker's node stops that worker only.

Owns the markers and their meaning; does not exit any process itself.
"""

from __future__ import annotations

import os
import time

from .. import persist
from ..fsutil import write_file_atomic
from .jobs import AdminError

STOP, STOPPED = "STOP", "STOPPED"


def node_dirs(engine) -> list[str]:
    return sorted(persist.node_names(engine.data_dir))


def state(engine, node: str) -> str:
    d = engine.data_dir / node
    if node == engine.node_id:
        return "stopping" if engine.stop_requested.is_set() or (d / STOP).exists() else "running"
    from ..engine import _try_lock

    fd = _try_lock(d / "LOCK")
    if fd is None:
        return "stopping" if (d / STOP).exists() or (d / STOPPED).exists() else "running"
    os.close(fd)
    return "stopped" if (d / STOPPED).exists() else "unknown"


def _workers_of(names: list[str], node_id: str) -> list[str]:
    """The worker nodes of a server started with `--node-id node_id` (``<node_id>-w<i>``)."""
    prefix = node_id + "-w"
    return [n for n in names if n.startswith(prefix) and n[len(prefix):].isdigit()]


def stop(engine, node_id: str) -> dict:
    """Stop `node_id`, or every worker of the server of that node id (see the module docstring);
    returns ``{"node_id", "state"}``: "stopping" while any of them is still up."""
    names = node_dirs(engine) if isinstance(node_id, str) else []
    targets = ([node_id] if node_id in names else []) + _workers_of(names, node_id)
    if not targets:
        raise AdminError(404, f"node not found: {node_id}")
    # this node last: once it stops itself its server begins to shut down
    states = [_stop_one(engine, n) for n in sorted(targets, key=lambda n: n == engine.node_id)]
    return {"node_id": node_id, "state": "stopping" if "stopping" in states else "stopped"}


def _stop_one(engine, node_id: str) -> str:
    d = engine.data_dir / node_id
    if node_id == engine.node_id:
        stop_self(engine)
        return "stopping"
    current = state(engine, node_id)
    if current in ("running", "stopping"):
        write_file_atomic(d / STOP, str(time.time_ns()).encode())
        return "stopping"
    engine.adopt_dead_nodes()       # its unpersisted writes go to Parquet first
    write_file_atomic(d / STOPPED, str(time.time_ns()).encode())
    return "stopped"


def stop_self(engine) -> None:
    """Drain this node (buffer to Parquet), mark it stopped and ask its server to shut down."""
    engine.snapshot()
    write_file_atomic(engine.node_dir / STOPPED, str(time.time_ns()).encode())
    (engine.node_dir / STOP).unlink(missing_ok=True)
    engine.stop_requested.set()


def check_stop_request(engine) -> None:
    """Called by the node's maintenance loop: act on a stop another node asked for."""
    if (engine.node_dir / STOP).exists() and not engine.stop_requested.is_set():
        stop_self(engine)
