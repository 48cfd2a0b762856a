"""The Telegram half of a broadcast: `trends.delivery.broadcast.run_broadcast` with the bot's renderer,
its sender (ledger and pacer) and a report to the admins.

The path of a scheduled digest: `bot.app` tick → `digest_tick` here → `jobs.digests` (what is
due) → `broadcast` → `trends.delivery.broadcast` (render, fan out, record) → `bot.deliver.DigestSender`
→ `bot.pacing` → `bot.transport` → Telegram. `trendbot digest --send-now` enters at
`broadcast` with the current period's digests.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime

from telegram import Bot

from bot import metrics
from bot.admin import tell_admins
from bot.deliver import BACKOFF_SECONDS, DigestSender
from bot.pacing import PAID_BROADCAST_RATE, PRIVATE_CHAT_INTERVAL
from bot.render import render_digest
from bot.stats import render_report
from config.settings import Settings
from jobs.digests import send_due_digests
from trends.delivery.broadcast import BroadcastResult, run_broadcast
from trends.models import Digest
from trends.service import TrendService
from trends.services.digests import DueDigest

__all__ = ["BroadcastResult", "broadcast", "concurrency_for", "digest_tick"]


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
    wait: bool = True,
    on_wait: Callable[[str], object] | None = None,
) -> BroadcastResult:
    """Send `due` through the ledger and the pacer, record the run, tell the admins.

    Only the holder of the sender lease sends (`trends.services.leases.SenderLease`): with
    `wait` this waits for another sender to finish, or for its lease to expire if it died,
    and then resumes its pending deliveries where the ledger says they stopped; without,
    it sends nothing while another process holds the lease. `on_wait(holder)` says so.
    """
    if not due:
        return BroadcastResult("", {}, 0.0)
    async with service.sender.hold(wait=wait, on_wait=on_wait) as held:
        if not held:
            return BroadcastResult("", {}, 0.0)
        return await _broadcast(bot, service, settings, due, backoff)


async def _broadcast(
    bot: Bot,
    service: TrendService,
    settings: Settings,
    due: Sequence[DueDigest],
    backoff: float,
) -> BroadcastResult:
    # Every scheduled or on-demand digest opens with its chart of weekly counts.
    sender = DigestSender(
        bot, service, paid_broadcast=settings.paid_broadcast, backoff=backoff, charts=True
    )

    async def report(result: BroadcastResult) -> None:
        await tell_admins(
            bot,
            service,
            settings.admins,
            lambda language: render_report(result.key, result.counts, result.seconds, language),
        )

    result = await run_broadcast(
        service, due, _render, sender.send, report, concurrency=concurrency_for(settings)
    )
    metrics.record_broadcast(result)
    return result


async def digest_tick(
    bot: Bot, service: TrendService, settings: Settings, now: datetime | None = None
) -> BroadcastResult:
    """The scheduler's digest tick: broadcast whatever is due at `now`."""

    async def send(due: Sequence[DueDigest]) -> BroadcastResult:
        # Another process sending: its lease is renewed, or it expires and a later tick
        # resumes the pending deliveries. The tick never queues up behind it.
        return await broadcast(bot, service, settings, due, wait=False)

    return await send_due_digests(service, send, now)


def _render(digest: Digest, language: str, cadence: str) -> list[str]:
    return render_digest(digest, language, cadence=cadence)
