"""A broadcast: the due digests sent through the ledger and the pacer, many chats at once,
recorded as a `BroadcastRow`, and reported to the admins.

The scheduler's tick and `trendbot digest --send-now` both come through here.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from telegram import Bot

from bot.admin import tell_admins
from bot.deliver import BACKOFF_SECONDS, DigestSender
from bot.pacing import PAID_BROADCAST_RATE, PRIVATE_CHAT_INTERVAL
from bot.render import render_digest
from bot.stats import render_report
from config.settings import Settings
from jobs.digests import send_digests
from jobs.runtime import open_service
from trends.models import Digest
from trends.service import DueDigest, TrendService

__all__ = ["BroadcastResult", "broadcast", "concurrency_for", "send_now"]


@dataclass(frozen=True, slots=True)
class BroadcastResult:
    key: str
    counts: dict[str, int]
    seconds: float

    def count(self, outcome: str) -> int:
        return self.counts.get(outcome, 0)


def concurrency_for(settings: Settings) -> int:
    """Chats in flight: each takes one message a second at most, so the global rate is only
    reached with more chats than messages per second; the pacer holds the rate itself."""
    rate = PAID_BROADCAST_RATE if settings.paid_broadcast else settings.send_rate
    return int(rate * PRIVATE_CHAT_INTERVAL * 1.5) + 8


async def broadcast(
    bot: Bot,
    service: TrendService,
    settings: Settings,
    due: Sequence[DueDigest],
    *,
    backoff: float = BACKOFF_SECONDS,
) -> BroadcastResult:
    """Send `due`, record the run, and tell the admins what happened."""
    if not due:
        return BroadcastResult("", {}, 0.0)
    key = Counter(item.key for item in due).most_common(1)[0][0]
    started = time.monotonic()
    broadcast_id = await service.start_broadcast(key)
    # Every scheduled or on-demand digest opens with its chart of weekly counts.
    sender = DigestSender(
        bot, service, paid_broadcast=settings.paid_broadcast, backoff=backoff, charts=True
    )
    counts = await send_digests(
        service, due, _render, sender.send, concurrency=concurrency_for(settings)
    )
    await service.finish_broadcast(broadcast_id, counts)
    result = BroadcastResult(key, counts, time.monotonic() - started)
    if result.count("sent") + result.count("failed") + result.count("deactivated"):
        await _report(bot, service, settings, result)
    return result


async def _report(
    bot: Bot, service: TrendService, settings: Settings, result: BroadcastResult
) -> None:
    """The admins' note; a report that can't be sent never fails the broadcast."""
    await tell_admins(
        bot,
        service,
        settings.admins,
        lambda language: render_report(result.key, result.counts, result.seconds, language),
    )


def _render(digest: Digest, language: str, cadence: str) -> list[str]:
    return render_digest(digest, language, cadence=cadence)


async def send_now(settings: Settings, now: datetime | None = None) -> BroadcastResult:
    """`trendbot digest --send-now`: each active subscriber's digest of the current period.

    The ledger key is the one the scheduler uses for that period, so a re-run, or the
    scheduler's own tick later, skips every chat that already has it.
    """
    from bot.app import build_application  # bot.app imports this module

    service = await open_service(settings)
    try:
        application = build_application(settings, service, with_jobs=False)
        async with application:
            due = await service.current_digests(now, include_settled=True)
            return await broadcast(application.bot, service, settings, due)
    finally:
        await service.close()
