"""Scheduled work: push instant alerts for strongly tagged new posts.

A post counts when one of the trends a subscriber chose for alerts tags it with at least
`ALERT_MIN_SCORE`. Each subscriber gets at most `ALERTS_PER_HOUR` in any hour, and each post
once (the alerts table's primary key); the rest wait for the digest.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta

from trends.service import TrendService
from trends.store.alerts import AlertPolicy, DueAlert

__all__ = ["ALERTS_PER_HOUR", "ALERT_MIN_SCORE", "POLICY", "SendAlert", "send_due_alerts"]

log = logging.getLogger(__name__)

# Tag scores are the tagger's calibrated probabilities: an alert needs the tagger to be
# nine-in-ten sure, not a passing mention.
ALERT_MIN_SCORE = 0.9
ALERTS_PER_HOUR = 3
POLICY = AlertPolicy(
    min_score=ALERT_MIN_SCORE,
    per_hour=ALERTS_PER_HOUR,
    # The tick runs every minute; the margin covers a restart or a slow poll.
    fresh=timedelta(minutes=30),
    max_age=timedelta(days=1),
)

SendAlert = Callable[[DueAlert], Awaitable[bool]]  # True when Telegram took it


async def send_due_alerts(
    service: TrendService,
    send: SendAlert,
    now: datetime | None = None,
    policy: AlertPolicy = POLICY,
) -> int:
    """Send every alert that is due now; returns how many were sent."""
    sent = 0
    for alert in await service.alerts.due(policy, now):
        # Claimed before sending: a crash in between loses one alert, never repeats one.
        if await service.alerts.claim(alert.subscriber_id, alert.post.id, policy.per_hour, now):
            sent += bool(await send(alert))
    if sent:
        log.info("alerts: %d sent", sent)
    return sent
