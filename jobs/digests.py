"""Scheduled work: send each subscriber's digest when its time has come.

The digest for one period and one set of followed trends is built once and shared by every
subscriber who reads it; sending goes through the caller's `Send` (the bot's delivery path).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime

from trends.models import Digest
from trends.service import DueDigest, TrendService

__all__ = ["Render", "Send", "send_digests", "send_due_digests"]

log = logging.getLogger(__name__)

Render = Callable[[Digest, str, str], list[str]]  # digest, language, cadence → message parts
Send = Callable[[DueDigest, list[str]], Awaitable[str]]  # returns the outcome


async def send_due_digests(
    service: TrendService, render: Render, send: Send, now: datetime | None = None
) -> dict[str, int]:
    """Send every digest that is due now; returns how many ended in each outcome."""
    due = await service.due_digests(now)
    return await send_digests(service, due, render, send)


async def send_digests(
    service: TrendService, due: Sequence[DueDigest], render: Render, send: Send
) -> dict[str, int]:
    outcomes: dict[str, int] = {}
    built: dict[tuple[str, tuple[int, ...]], Digest] = {}
    for item in due:
        followed = tuple(sorted(item.preferences.trends))
        cache_key = (item.key, followed)
        if cache_key not in built:
            until = item.slot if item.slot <= datetime.now(UTC) else datetime.now(UTC)
            built[cache_key] = await service.digest(
                until=until, trends=list(followed), key=item.key
            )
        language = item.preferences.language or item.subscriber.language
        parts = render(built[cache_key], language, item.preferences.cadence)
        outcome = await send(item, parts)
        outcomes[outcome] = outcomes.get(outcome, 0) + 1
    if due:
        log.info("digests: %s", outcomes)
    return outcomes
