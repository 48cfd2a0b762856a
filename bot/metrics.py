"""Prometheus metrics of this process, every name starting `trendbot_`, served at /metrics.

The one place metrics are updated. The domain never imports this: the bot side records
what the domain returns (a `PollReport`, a `BroadcastResult`) and what the transport timed.
A registry of our own, not prometheus-client's global one, so /metrics holds only
`trendbot_` names.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)

if TYPE_CHECKING:  # types only: the transport imports this module, and should stay light
    from trends.delivery.broadcast import BroadcastResult
    from trends.ingest.pipeline import PollReport

__all__ = [
    "CONTENT_TYPE",
    "REGISTRY",
    "last_broadcast",
    "last_poll",
    "observe_send",
    "record_broadcast",
    "record_poll",
    "render",
    "watch_queues",
]

REGISTRY = CollectorRegistry(auto_describe=True)
CONTENT_TYPE = CONTENT_TYPE_LATEST

POLLS = Counter("trendbot_polls", "Poll rounds run by the scheduler.", registry=REGISTRY)
FEEDS_POLLED = Counter(
    "trendbot_feeds_polled",
    "Feeds checked, by status: fetched, not_modified or failed.",
    ["status"],
    registry=REGISTRY,
)
FEED_ERRORS = Counter(
    "trendbot_feed_errors",
    "Failed feed checks by kind of error (fetch.timeout, parse, feed.unsafe_url, ...).",
    ["kind"],
    registry=REGISTRY,
)
POSTS_INGESTED = Counter(
    "trendbot_posts_ingested", "New posts stored by the poller.", registry=REGISTRY
)
POSTS_DUPLICATE = Counter(
    "trendbot_posts_duplicate",
    "Posts the poller recognised as another report of a stored story.",
    registry=REGISTRY,
)
BROADCASTS = Counter(
    "trendbot_broadcasts", "Digest broadcasts that attempted at least one chat.", registry=REGISTRY
)
DELIVERIES = Counter(
    "trendbot_deliveries",
    "Digest deliveries by outcome: sent, failed, deactivated or skipped (already had it).",
    ["outcome"],
    registry=REGISTRY,
)
SEND_LATENCY = Histogram(
    "trendbot_send_latency_seconds",
    "Time for the Bot API to answer one request, by method (getUpdates' long poll excluded).",
    ["method"],
    buckets=(0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0),
    registry=REGISTRY,
)
UPDATE_QUEUE = Gauge(
    "trendbot_update_queue_depth",
    "Telegram updates received and not yet handled.",
    registry=REGISTRY,
)
SEND_QUEUE = Gauge(
    "trendbot_send_queue_depth",
    "Bot API requests waiting for their turn under the rate limit.",
    registry=REGISTRY,
)
LAST_POLL = Gauge(
    "trendbot_last_poll_timestamp_seconds",
    "Unix time the last poll round of this process finished (0: none yet).",
    registry=REGISTRY,
)
LAST_BROADCAST = Gauge(
    "trendbot_last_broadcast_timestamp_seconds",
    "Unix time the last broadcast of this process finished (0: none yet).",
    registry=REGISTRY,
)
WEBHOOK_REQUESTS = Counter(
    "trendbot_webhook_requests",
    "Requests to the webhook: accepted, forbidden (wrong or missing secret) or invalid.",
    ["outcome"],
    registry=REGISTRY,
)

# Every label shows from the start, at 0: a dashboard's rate() needs the series to exist.
for _status in ("fetched", "not_modified", "failed"):
    FEEDS_POLLED.labels(_status)
for _outcome in ("sent", "failed", "deactivated", "skipped"):
    DELIVERIES.labels(_outcome)
for _outcome in ("accepted", "forbidden", "invalid"):
    WEBHOOK_REQUESTS.labels(_outcome)

_last: dict[str, float] = {}


def record_poll(report: PollReport, finished: float | None = None) -> None:
    """Count one scheduled poll round and what it found."""
    POLLS.inc()
    for feed in report.feeds:
        FEEDS_POLLED.labels(feed.status).inc()
        if feed.status == "failed":
            FEED_ERRORS.labels(feed.error_kind or "error").inc()
    POSTS_INGESTED.inc(report.new_posts)
    POSTS_DUPLICATE.inc(report.duplicates)
    _last["poll"] = finished if finished is not None else time.time()
    LAST_POLL.set(_last["poll"])


def record_broadcast(result: BroadcastResult, finished: float | None = None) -> None:
    """Count one broadcast's deliveries by outcome (nothing when nobody was due)."""
    if not result.key:
        return
    BROADCASTS.inc()
    for outcome, count in result.counts.items():
        DELIVERIES.labels(outcome).inc(count)
    _last["broadcast"] = finished if finished is not None else time.time()
    LAST_BROADCAST.set(_last["broadcast"])


def observe_send(method: str, seconds: float) -> None:
    if method != "getUpdates":  # a long poll waits on purpose; it would drown the rest
        SEND_LATENCY.labels(method).observe(seconds)


def watch_queues(updates: Callable[[], int], sends: Callable[[], int]) -> None:
    """Read the queue depths at scrape time from the running application."""
    UPDATE_QUEUE.set_function(lambda: float(updates()))
    SEND_QUEUE.set_function(lambda: float(sends()))


def last_poll() -> float | None:
    """When this process last finished a poll round (Unix time), if it has."""
    return _last.get("poll")


def last_broadcast() -> float | None:
    return _last.get("broadcast")


def render() -> bytes:
    """The Prometheus text exposition of every trendbot_ metric."""
    return generate_latest(REGISTRY)
