"""Helpers for the delivery tests: an archive big enough for multi-part digests,
subscribers with chosen preferences, and a fake Bot API that can hold its answers."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

from aiohttp import web
from sqlalchemy import func, select, update

from bot.render import render_digest
from tests.fakes.bot_api import FakeBotAPI
from tests.support.archives import every_trend_archive
from trends.delivery.periods import digest_slot
from trends.service import TrendService
from trends.store.schema import DeliveryRow, PreferencesRow, SubscriberRow


def due_archive() -> dict[str, bytes]:
    """An archive whose daily digest, at this hour's slot, runs to several parts."""
    now = datetime.now(UTC)
    slot = digest_slot(now, "daily", 0, now.hour, "UTC")
    assert slot is not None
    return every_trend_archive(slot)


async def subscribe_daily_now(service: TrendService, chat_ids: list[int]) -> None:
    """Subscribe chats to the daily digest whose slot is this hour (so it is due now)."""
    hour = datetime.now(UTC).hour
    await subscribe(service, chat_ids, cadence="daily", digest_hour=hour, timezone="UTC")


async def expected_parts(service: TrendService) -> list[str]:
    """The daily digest every subscriber should receive, as the broadcast renders it."""
    item = (await service.digests.current(include_settled=True))[0]
    digest = await service.digests.build(
        until=item.slot, trends=list(range(1, 11)), key=item.key, cadence="daily"
    )
    return render_digest(digest, "en", cadence="daily")


async def subscribe(service: TrendService, chat_ids: list[int], **preferences: Any) -> None:
    """Subscribe chats (negative ids are groups) and set their preferences."""
    for chat_id in chat_ids:
        await service.subscribers.subscribe(chat_id, "group" if chat_id < 0 else "private")
    if preferences:
        async with service.db.new_session() as session, session.begin():
            ids = select(SubscriberRow.id).where(SubscriberRow.chat_id.in_(chat_ids))
            await session.execute(
                update(PreferencesRow)
                .where(PreferencesRow.subscriber_id.in_(ids))
                .values(**preferences)
            )


async def backdate_subscribers(service: TrendService, when: datetime) -> None:
    """Pretend every subscriber joined at `when`, so earlier digest periods count."""
    async with service.db.new_session() as session, session.begin():
        await session.execute(update(SubscriberRow).values(created_at=when))


async def subscriber(service: TrendService, subscriber_id: int) -> SubscriberRow:
    async with service.db.new_session() as session:
        row = await session.get(SubscriberRow, subscriber_id)
        assert row is not None
        return row


async def deliveries(service: TrendService) -> list[DeliveryRow]:
    async with service.db.new_session() as session:
        return list((await session.scalars(select(DeliveryRow).order_by(DeliveryRow.id))).all())


async def parts_in_ledger(service: TrendService) -> int:
    """Parts the ledger says went out: parts_sent over every row."""
    async with service.db.new_session() as session:
        return int(await session.scalar(select(func.sum(DeliveryRow.parts_sent))) or 0)


class GatedBotAPI(FakeBotAPI):
    """A fake whose sends can be held: held requests are never recorded, then get 502.

    Holding the sends before killing a sender makes the kill land where Telegram has
    accepted nothing that the sender does not know about.
    """

    def __init__(self) -> None:
        super().__init__()
        self._open = asyncio.Event()
        self._open.set()
        self.held = 0

    def hold(self) -> None:
        self._open.clear()

    def release(self) -> None:
        self._open.set()

    async def _dispatch(self, request: web.Request) -> web.Response:
        if request.match_info["method"].startswith("send") and not self._open.is_set():
            self.held += 1
            await self._open.wait()
            return web.json_response(
                {"ok": False, "error_code": 502, "description": "Bad Gateway"}, status=502
            )
        return await super()._dispatch(request)
