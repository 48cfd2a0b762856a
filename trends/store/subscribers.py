"""Subscribers (private chats, groups, channels) and their preferences."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import cast

from sqlalchemy import Table, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from trends.preferences import ALL_TRENDS
from trends.store.schema import PreferencesRow, SubscriberRow

__all__ = [
    "ActiveChat",
    "NewChat",
    "active_subscribers",
    "count_subscribers",
    "move_chat",
    "record_refusal",
    "reset_failures_many",
    "subscribe",
    "subscriber_by_chat",
    "unsubscribe",
]


@dataclass(frozen=True, slots=True)
class NewChat:
    """A chat as it is first seen, and the operator's default digest time for it."""

    chat_id: int
    chat_type: str
    title: str | None
    language: str
    now: datetime
    digest_day: int
    digest_hour: int
    timezone: str


async def subscribe(session: AsyncSession, chat: NewChat) -> tuple[SubscriberRow, bool]:
    """Subscribe a chat, or reactivate it; returns the row and whether it was inactive before."""
    row = await subscriber_by_chat(session, chat.chat_id)
    if row is not None:
        was_inactive = not row.active
        row.active, row.consecutive_failures, row.deactivated_reason = True, 0, None
        row.title = chat.title or row.title
        return row, was_inactive
    row = SubscriberRow(
        chat_id=chat.chat_id,
        chat_type=chat.chat_type,
        title=chat.title,
        language=chat.language,
        active=True,
        consecutive_failures=0,
        created_at=chat.now,
    )
    session.add(row)
    await session.flush()
    session.add(
        PreferencesRow(
            subscriber_id=row.id,
            trends=list(ALL_TRENDS),
            cadence="weekly",
            digest_day=chat.digest_day,
            digest_hour=chat.digest_hour,
            timezone=chat.timezone,
            language=None,
            link_previews=False,
            alert_trends=[],
        )
    )
    await session.flush()
    return row, True


async def unsubscribe(session: AsyncSession, chat_id: int) -> bool:
    """Stop digests for a chat; returns False when it was not subscribed."""
    row = await subscriber_by_chat(session, chat_id)
    if row is None or not row.active:
        return False
    row.active = False
    row.deactivated_reason = "unsubscribed"
    return True


async def record_refusal(
    session: AsyncSession, subscriber_id: int, reason: str, limit: int
) -> bool:
    """Count one refusal in a row; deactivate at `limit`. True when deactivated now."""
    row = await session.get(SubscriberRow, subscriber_id)
    if row is None:
        return False
    row.consecutive_failures += 1
    if row.consecutive_failures >= limit and row.active:
        row.active, row.deactivated_reason = False, reason[:500]
        return True
    return False


async def reset_failures_many(session: AsyncSession, subscriber_ids: Sequence[int]) -> None:
    """`reset_failures` for many subscribers in one statement (a broadcast's successes)."""
    if subscriber_ids:
        table = cast(
            Table, SubscriberRow.__table__
        )  # Core: no ORM session sync to pay for on a broadcast
        await session.execute(
            update(table)
            .where(table.c.id.in_(subscriber_ids), table.c.consecutive_failures != 0)
            .values(consecutive_failures=0)
        )


async def move_chat(session: AsyncSession, subscriber_id: int, new_chat_id: int) -> None:
    row = await session.get(SubscriberRow, subscriber_id)
    existing = await subscriber_by_chat(session, new_chat_id)
    if row is None or (existing is not None and existing.id != subscriber_id):
        return
    row.chat_id, row.chat_type = new_chat_id, "supergroup"


async def subscriber_by_chat(session: AsyncSession, chat_id: int) -> SubscriberRow | None:
    return await session.scalar(select(SubscriberRow).where(SubscriberRow.chat_id == chat_id))


@dataclass(frozen=True, slots=True)
class ActiveChat:
    """An active subscriber and what its digests follow: what the scheduler needs."""

    subscriber_id: int
    chat_id: int
    language: str  # chosen in /settings, else the one Telegram first reported
    cadence: str
    trends: tuple[int, ...]
    digest_day: int
    digest_hour: int
    timezone: str
    link_previews: bool
    consecutive_failures: int
    created_at: datetime


async def active_subscribers(session: AsyncSession) -> list[ActiveChat]:
    query = (
        select(SubscriberRow, PreferencesRow)
        .join(PreferencesRow, PreferencesRow.subscriber_id == SubscriberRow.id)
        .where(SubscriberRow.active)
        .order_by(SubscriberRow.id)
    )
    return [
        ActiveChat(
            subscriber_id=sub.id,
            chat_id=sub.chat_id,
            language=prefs.language or sub.language,
            cadence=prefs.cadence,
            trends=tuple(sorted(prefs.trends)),
            digest_day=prefs.digest_day,
            digest_hour=prefs.digest_hour,
            timezone=prefs.timezone,
            link_previews=prefs.link_previews,
            consecutive_failures=sub.consecutive_failures,
            created_at=sub.created_at,
        )
        for sub, prefs in (await session.execute(query)).all()
    ]


async def count_subscribers(session: AsyncSession) -> tuple[int, int]:
    """(active, inactive)."""
    rows = (await session.scalars(select(SubscriberRow.active))).all()
    active = sum(1 for flag in rows if flag)
    return active, len(rows) - active
