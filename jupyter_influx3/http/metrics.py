"""``GET /metrics``: Prometheus text exposition of what this server has done (behaviour reference §9).

One :class:`Metrics` (its own ``prometheus_client`` registry, so two apps in one process never
share or clash) per :class:`~.base.ServerContext`, created on first use. Series:

* ``influxdb3_write_lines_total{db}``, ``influxdb3_write_lines_rejected_total{db}``,
  ``influxdb3_write_bytes_total{db}`` -- recorded by the write endpoints after the engine call;
* ``influxdb3_queries_total{type,result}`` and ``influxdb3_query_duration_seconds{type}`` --
  recorded by the query endpoints when a query's answer is complete;
* ``http_requests_total{method,path,status}`` and ``http_request_duration_seconds{method,path}``
  -- recorded for every request when it finishes (``ApiHandler.on_finish``); ``path`` is the route
  (``/api/v3/query_sql``), or ``other`` for paths outside the route table;
* ``influxdb3_caches{kind}``, ``influxdb3_cache_entries{kind}``, ``influxdb3_cache_memory_bytes{kind}``
  -- the node's last-value / distinct-value caches, read from the engine when scraped.

Under ``influx3 serve --workers N`` (``PROMETHEUS_MULTIPROC_DIR`` set by the supervisor) the
counters are prometheus_client's multiprocess files, and ``/metrics`` sums every worker's.

The body ends with the OpenMetrics ``# EOF`` marker line, like the real server's.
"""

from __future__ import annotations

import os
import threading
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Histogram, multiprocess
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.exposition import generate_latest

from .base import ApiHandler, handler_class

METRICS_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"

#: Seconds; queries and requests from sub-millisecond to minutes.
LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0)

#: Label value for requests to paths that are not routes (keeps the label set small).
OTHER_PATH = "other"

_lock = threading.Lock()


#: labelled children a `Metrics` keeps at most (see `Metrics.child`)
CHILDREN_KEPT = 1024


class Metrics:
    """The counters and histograms of one mounted route table."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.cache_collector = None
        r = self.registry
        self.write_lines = Counter("influxdb3_write_lines", "Lines of line protocol written", ["db"], registry=r)
        self.write_lines_rejected = Counter(
            "influxdb3_write_lines_rejected", "Lines of line protocol rejected", ["db"], registry=r)
        self.write_bytes = Counter("influxdb3_write_bytes", "Bytes of line protocol received", ["db"], registry=r)
        self.queries = Counter("influxdb3_queries", "Queries answered", ["type", "result"], registry=r)
        self.query_duration = Histogram(
            "influxdb3_query_duration_seconds", "Time to answer a query, result streamed",
            ["type"], buckets=LATENCY_BUCKETS, registry=r)
        self.http_requests = Counter(
            "http_requests", "HTTP requests answered", ["method", "path", "status"], registry=r)
        self.http_duration = Histogram(
            "http_request_duration_seconds", "Time to answer an HTTP request",
            ["method", "path"], buckets=LATENCY_BUCKETS, registry=r)
        #: the families this node counts (the cache gauges are read when scraped, not counted)
        self.counted = (self.write_lines, self.write_lines_rejected, self.write_bytes, self.queries,
                        self.query_duration, self.http_requests, self.http_duration)
        self._children: dict[tuple, Any] = {}

    def child(self, metric: Any, *values: str) -> Any:
        """`metric.labels(*values)`, kept: prometheus_client checks and locks on every `labels()`
        (~5 µs, and every request counts in three series). The label sets in use are few (routes,
        statuses, query kinds, databases), but a client can send any method name: past
        `CHILDREN_KEPT` sets the children are not kept here (prometheus_client keeps its own)."""
        key = (id(metric), values)
        found = self._children.get(key)
        if found is None:
            found = metric.labels(*values)
            if len(self._children) < CHILDREN_KEPT:
                self._children[key] = found
        return found

    def render(self) -> bytes:
        directory = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
        if directory:
            # `influx3 serve --workers N`: every worker's counters live in files there; one view of
            # the server is their sum (caches are the same in every worker: this worker's are shown)
            registry = CollectorRegistry(auto_describe=True)
            counted = list(multiprocess.MultiProcessCollector(None, path=directory).collect())
            if self.cache_collector is not None:   # this worker's caches: the same in every worker
                counted += list(self.cache_collector.collect())
            registry.register(_Families(counted + _declared_only(self.counted, counted)))
            return generate_latest(registry) + b"# EOF\n"
        return generate_latest(_WithoutCreated(self.registry)) + b"# EOF\n"


class _WithoutCreated:
    """A registry view without prometheus_client's `*_created` timestamp series (the real server
    has none, and they double the size of the answer)."""

    def __init__(self, registry: CollectorRegistry):
        self.registry = registry

    def collect(self):
        for metric in self.registry.collect():
            metric.samples = [s for s in metric.samples if not s.name.endswith("_created")]
            yield metric


class _Families:
    """Families already collected, as a collector."""

    def __init__(self, families: list):
        self.families = families

    def collect(self):
        return iter(self.families)


def _declared_only(metrics: tuple, counted: list) -> list:
    """The families of `metrics` that no worker has a sample of yet, without samples
    (``describe()``): the multiprocess files hold only what was counted, and a scraper must see
    every family (its HELP and TYPE) from the first scrape, as with one process."""
    have = {family.name for family in counted}
    return [f for m in metrics for f in m.describe() if f.name not in have]


class _CacheCollector:
    """Gauges of the engine's caches (entries are rows of a last-value cache, combinations of a
    distinct-value cache; memory is an estimate of what they hold)."""

    def __init__(self, engine: Any):
        self.engine = engine

    def collect(self):
        registry = getattr(self.engine, "caches", None)
        if registry is None:
            return
        stats = registry.stats()
        families = [GaugeMetricFamily("influxdb3_caches", "Caches defined", labels=["kind"]),
                    GaugeMetricFamily("influxdb3_cache_entries", "Entries held by the caches", labels=["kind"]),
                    GaugeMetricFamily("influxdb3_cache_memory_bytes", "Approximate memory of the caches",
                                      labels=["kind"])]
        for kind, values in sorted(stats.items()):
            for family, value in zip(families, values):
                family.add_metric([kind], value)
        yield from families


def metrics_for(context: Any) -> Metrics:
    """The Metrics of a ServerContext (made on first use)."""
    found = getattr(context, "metrics", None)
    if isinstance(found, Metrics):
        return found
    with _lock:
        found = getattr(context, "metrics", None)
        if not isinstance(found, Metrics):
            found = Metrics()
            if getattr(context, "engine", None) is not None:
                found.cache_collector = _CacheCollector(context.engine)
                found.registry.register(found.cache_collector)
            context.metrics = found
    return found


def record_write(context: Any, db: str, lines: int, rejected: int, nbytes: int) -> None:
    m = metrics_for(context)
    m.child(m.write_lines, db).inc(lines)
    m.child(m.write_lines_rejected, db).inc(rejected)
    m.child(m.write_bytes, db).inc(nbytes)


def record_query(context: Any, kind: str, ok: bool, seconds: float) -> None:
    m = metrics_for(context)
    m.child(m.queries, kind, "success" if ok else "error").inc()
    m.child(m.query_duration, kind).observe(seconds)


_route_paths: dict[type, list[str]] = {}


#: the method names request metrics count by name; any other is counted as OTHER_METHOD
COUNTED_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
OTHER_METHOD = "other"


def route_path(handler: ApiHandler) -> str:
    """The route-table path a request was served by (mount prefix removed), else ``other``."""
    cls = handler_class(handler)
    paths = _route_paths.get(cls)
    if paths is None:
        from .routes import ROUTE_TABLE  # late: routes imports the handlers

        # A subclass of a route's handler (the Jupyter mounts derive their own) serves its paths.
        owner = next((k for k in cls.__mro__ if any(c is k for _, c in ROUTE_TABLE)), cls)
        paths = sorted((p for p, c in ROUTE_TABLE if c is owner), key=len, reverse=True)
        _route_paths[cls] = paths
    request_path = handler.request.path
    for path in paths:
        if request_path.endswith(path):
            return path
    return OTHER_PATH


def observe_request(handler: ApiHandler) -> None:
    """Count one finished request (called from ``ApiHandler.on_finish``)."""
    context = getattr(handler, "context", None)
    if context is None:
        return
    count_request(context, handler.request.method, route_path(handler), handler.get_status(),
                  handler.request.request_time())


def count_request(context: Any, method: str, path: str, status: int, seconds: float) -> None:
    """Count one finished request to route `path` (http/lean.py's answers come here directly)."""
    m = metrics_for(context)
    if method not in COUNTED_METHODS:
        # any token is a method name to HTTP: counted apart, every invented one would be a series
        # of its own that /metrics keeps forever (`curl -X FOO1`, `-X FOO2`, ... grows it unbounded)
        method = OTHER_METHOD
    m.child(m.http_requests, method, path, str(status)).inc()
    m.child(m.http_duration, method, path).observe(seconds)


class MetricsHandler(ApiHandler):
    """``GET /metrics``."""

    required = ("system", "metrics")

    def get(self) -> None:
        self.send_body(metrics_for(self.context).render(), METRICS_CONTENT_TYPE)
