"""When to check a feed next: pure policy, so it can be tested without a clock or a server.

A healthy feed is checked at its own interval, or later when it says so (Cache-Control
max-age, RSS ttl, Retry-After). A failing feed is slowed down step by step, but never
dropped: the backoff is capped, so a feed that comes back is noticed within a day.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta

__all__ = [
    "ALERT_AFTER_FAILURES",
    "CEILING",
    "FLOOR",
    "next_check_after_failure",
    "next_check_after_success",
]

FLOOR = timedelta(minutes=5)
CEILING = timedelta(hours=24)
ALERT_AFTER_FAILURES = 5  # admins hear about a feed after this many failures in a row

_MAX_AGE = re.compile(r"max-age=(\d+)")


def next_check_after_success(
    now: datetime,
    poll_minutes: int,
    *,
    cache_control: str | None = None,
    ttl_minutes: int | None = None,
) -> datetime:
    """The feed's own interval, stretched by its hints, clamped to [FLOOR, CEILING]."""
    interval = _minutes(poll_minutes)
    if cache_control and (match := _MAX_AGE.search(cache_control)):
        interval = max(interval, _seconds(int(match.group(1))))
    if ttl_minutes:
        interval = max(interval, _minutes(ttl_minutes))
    return now + _clamp(interval)


def next_check_after_failure(
    now: datetime, poll_minutes: int, failures: int, *, retry_after: float | None = None
) -> datetime:
    """Graded backoff: the interval doubles with each failure in a row, up to CEILING."""
    interval = _minutes(poll_minutes) * (2 ** min(max(failures - 1, 0), 10))
    if retry_after is not None:
        interval = max(interval, _seconds(retry_after))
    return now + _clamp(interval)


def _clamp(interval: timedelta) -> timedelta:
    return min(max(interval, FLOOR), CEILING)


# A feed's hints are its own numbers: 20 digits would overflow timedelta (and NaN compare
# false everywhere), so each is cut to CEILING before it becomes a duration.
def _seconds(value: float) -> timedelta:
    if not value > 0:  # also NaN
        return timedelta(0)
    return timedelta(seconds=min(value, CEILING.total_seconds()))


def _minutes(value: float) -> timedelta:
    return _seconds(min(value, CEILING.total_seconds()) * 60.0)
