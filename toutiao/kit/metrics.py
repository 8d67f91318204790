"""Prometheus metrics of every process, and their exposition.

Several gunicorn workers each count on their own: with ``PROMETHEUS_MULTIPROC_DIR`` set (an
empty directory, cleared before the server starts) prometheus-client writes every process's
values to files there and :func:`render` merges them, so any worker answers ``/metrics`` for
all. A process manager calls :func:`mark_process_dead` when a worker exits (gunicorn's
``child_exit`` hook). Without the variable each process exposes its own values.

Hooks other code calls: :func:`cache_lookup`, :func:`dependency_error`, :func:`reco_call`,
:func:`observe_task`, :func:`set_queue_depth`, :data:`SOCKETIO_CONNECTIONS`, :data:`GC_PAUSES`.
"""

from __future__ import annotations

import os
from typing import Any

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
)

LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
TASK_BUCKETS = (0.01, 0.05, 0.1, 0.5, 1.0, 5.0, 15.0, 60.0, 300.0, 1800.0)

HTTP_LATENCY = Histogram(
    "toutiao_http_request_duration_seconds",
    "HTTP request latency by route template.",
    ["method", "route"],
    buckets=LATENCY_BUCKETS,
)
HTTP_RESPONSES = Counter(
    "toutiao_http_responses_total",
    "HTTP responses by route template and status.",
    ["method", "route", "status"],
)
CACHE_LOOKUPS = Counter(
    "toutiao_cache_lookups_total",
    "Cache lookups by cache, level (l1: in-process, redis) and result (hit, miss).",
    ["cache", "level", "result"],
)
DEPENDENCY_ERRORS = Counter(
    "toutiao_dependency_errors_total",
    "Failed calls to a dependency (redis, database, ...), by where they were noticed.",
    ["dependency", "where"],
)
RECO_CALLS = Counter(
    "toutiao_recommender_calls_total",
    "Calls to the recommendation service by method and outcome (ok, failed).",
    ["method", "outcome"],
)
RECO_FALLBACKS = Counter(
    "toutiao_recommender_fallbacks_total",
    "Requests served by the local recall because the recommender failed, by reason.",
    ["method", "reason"],
)
FEED_BATCHES = Counter(
    "toutiao_feed_batches_total",
    "Feed batches served, by where they came from: replay (a recorded batch asked for again), "
    "queue (the reader's wait queue, no recommender call), recommender (called inline), local "
    "(the local recall), redis (database down: Redis alone).",
    ["source"],
)
TASK_DURATION = Histogram(
    "toutiao_task_duration_seconds",
    "Background task run time by task and outcome.",
    ["task", "outcome"],
    buckets=TASK_BUCKETS,
)
TASK_QUEUE_DEPTH = Gauge(
    "toutiao_task_queue_depth",
    "Messages waiting in a task queue (last value any process reported).",
    ["queue"],
    multiprocess_mode="mostrecent",
)
GC_PAUSES = Histogram(
    "toutiao_gc_pause_seconds",
    "The garbage collector's pauses by generation (2: full collections), in processes that "
    "settled their heap (kit/heap.py).",
    ["generation"],
    buckets=(0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0),
)
LOOP_LAG = Histogram(
    "toutiao_event_loop_lag_seconds",
    "How much later than due the event loop ran a timer (kit/loop_lag.py): the time it spent "
    "on work that did not yield, or waiting for a CPU; by process (api, rpc).",
    ["process"],
    buckets=(0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 1.0),
)
SOCKETIO_CONNECTIONS = Gauge(
    "toutiao_socketio_connections",
    "Open Socket.IO connections (summed over live processes).",
    multiprocess_mode="livesum",
)


# The labelled children the hot paths count with, looked up once (``labels()`` validates
# and locks on every call: more than half of the cost of counting).
_children: dict[tuple[int, tuple[str, ...]], Any] = {}  # by (id of the metric, labels)


def _child(metric: Any, *labels: str) -> Any:
    key = (id(metric), labels)
    child = _children.get(key)
    if child is None:
        child = _children[key] = metric.labels(*labels)
    return child


def cache_lookup(cache: str, level: str, *, hits: int = 0, misses: int = 0) -> None:
    if hits:
        _child(CACHE_LOOKUPS, cache, level, "hit").inc(hits)
    if misses:
        _child(CACHE_LOOKUPS, cache, level, "miss").inc(misses)


def dependency_error(dependency: str, where: str) -> None:
    DEPENDENCY_ERRORS.labels(dependency, where).inc()


def reco_call(method: str, failure: str | None = None) -> None:
    """One recommender call; ``failure`` names why it failed (the caller then falls back)."""
    RECO_CALLS.labels(method, "ok" if failure is None else "failed").inc()
    if failure is not None:
        RECO_FALLBACKS.labels(method, failure).inc()


def feed_batch(source: str) -> None:
    _child(FEED_BATCHES, source).inc()


def observe_task(task: str, seconds: float, *, ok: bool = True) -> None:
    """For the task tier: one finished run of ``task``."""
    TASK_DURATION.labels(task, "ok" if ok else "failed").observe(seconds)


def set_queue_depth(queue: str, depth: int) -> None:
    """For the task tier: how many messages wait in ``queue``."""
    TASK_QUEUE_DEPTH.labels(queue).set(depth)


def cache_family(key: str) -> str:
    """A bounded label for a cache key: its non-numeric segments (``art:1:detail`` -> ``art:detail``)."""
    return ":".join(part for part in key.split(":") if not part.lstrip("-").isdigit())[:40]


def multiprocess_dir() -> str | None:
    return os.environ.get("PROMETHEUS_MULTIPROC_DIR") or None


def render() -> tuple[bytes, str]:
    """The exposition text and its content type: every process's values in multiprocess mode."""
    if multiprocess_dir():
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
        return generate_latest(registry), CONTENT_TYPE_LATEST
    return generate_latest(REGISTRY), CONTENT_TYPE_LATEST


def mark_process_dead(pid: int) -> None:
    """Forget an exited worker's live gauges (gunicorn: ``child_exit``)."""
    if multiprocess_dir():
        multiprocess.mark_process_dead(pid)  # type: ignore[no-untyped-call]
