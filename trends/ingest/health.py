"""A feed's health: what one success or one failure does to its row. No I/O.

Beside `schedule` (when to check next): a success keeps the validators and resets the
failure count; a failure counts, backs off, disables a feed that is gone (410), and
alerts the admins once after ALERT_AFTER_FAILURES in a row, then once when it is back.
"""

from __future__ import annotations

from datetime import datetime

from trends.ingest import schedule
from trends.ingest.report import FeedEvent
from trends.ingest.text import safe_text
from trends.store.schema import FeedRow

__all__ = ["FEED_NAME_CHARS", "failed", "succeeded"]

FEED_NAME_CHARS = 200  # feeds.name's column width


def succeeded(
    feed: FeedRow,
    now: datetime,
    *,
    etag: str | None,
    last_modified: str | None,
    title: str | None,
    moved_to: str | None,
    cache_control: str | None,
    ttl_minutes: int | None,
    backlog: bool = False,
) -> FeedEvent | None:
    """Record a fetch that worked; the event is "recovered" after a failure alert.

    With a `backlog` (more new posts than one poll takes) the old validators stay, so the
    next poll gets the whole feed again, and it comes soon.
    """
    if not backlog:
        feed.etag = etag or feed.etag
        feed.last_modified = last_modified or feed.last_modified
    feed.title = title or feed.title
    if title and title.strip() and feed.name == feed.url:
        # Named by nobody (an OPML outline without a title): the feed's own <title> reads
        # better in digests than its address. A name someone gave is kept.
        feed.name = safe_text(" ".join(title.split()), FEED_NAME_CHARS)
    if moved_to:
        feed.url = moved_to
    feed.last_success_at = now
    feed.consecutive_failures = 0
    feed.next_check_at = (
        now + schedule.FLOOR
        if backlog
        else schedule.next_check_after_success(
            now, feed.poll_minutes, cache_control=cache_control, ttl_minutes=ttl_minutes
        )
    )
    if feed.failure_alerted_at is None:
        return None
    feed.failure_alerted_at = None  # told once that it failed; now told once it is back
    return FeedEvent("recovered", feed.url, feed.name)


def failed(
    feed: FeedRow, now: datetime, message: str, *, gone: bool, retry_after: float | None
) -> FeedEvent | None:
    """Count the failure and back off; a 410 disables the feed, a long run alerts once."""
    feed.consecutive_failures += 1
    feed.last_error = message
    feed.last_error_at = now
    feed.next_check_at = schedule.next_check_after_failure(
        now, feed.poll_minutes, feed.consecutive_failures, retry_after=retry_after
    )
    if gone:
        feed.enabled = False
        feed.disabled_reason = message
        return FeedEvent("gone", feed.url, feed.name, message, feed.consecutive_failures)
    if (
        feed.consecutive_failures >= schedule.ALERT_AFTER_FAILURES
        and feed.failure_alerted_at is None
    ):
        feed.failure_alerted_at = now
        return FeedEvent("failing", feed.url, feed.name, message, feed.consecutive_failures)
    return None
