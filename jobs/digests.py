"""Scheduled work: send each subscriber's digest when its time has come.

The tick asks the service what is due and hands it to one broadcast function; the caller
(`bot.broadcast.digest_tick`) gives the Telegram half. `trendbot digest --send-now` takes
the same broadcast with the current period's digests.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime

from trends.delivery.broadcast import BroadcastResult
from trends.service import TrendService
from trends.services.digests import DueDigest

__all__ = ["Broadcast", "send_due_digests"]

Broadcast = Callable[[Sequence[DueDigest]], Awaitable[BroadcastResult]]


async def send_due_digests(
    service: TrendService, broadcast: Broadcast, now: datetime | None = None
) -> BroadcastResult:
    """Broadcast every digest that is due now (nothing when none is)."""
    return await broadcast(await service.digests.due(now))
