"""The delivery ledger: one row per (subscriber, digest), so no digest reaches a chat twice."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from trends.store.schema import DeliveryRow

__all__ = ["claim", "is_sent", "mark_failed", "mark_sent", "record_part_sent"]


async def claim(
    session: AsyncSession, subscriber_id: int, digest_key: str, now: datetime
) -> DeliveryRow | None:
    """The ledger row to send, or None when this digest already reached the subscriber."""
    row = await session.scalar(
        select(DeliveryRow).where(
            DeliveryRow.subscriber_id == subscriber_id, DeliveryRow.digest_key == digest_key
        )
    )
    if row is None:
        row = DeliveryRow(
            subscriber_id=subscriber_id,
            digest_key=digest_key,
            state="pending",
            attempts=0,
            parts_sent=0,
            created_at=now,
        )
        try:
            async with session.begin_nested():
                session.add(row)
        except IntegrityError:  # another sender claimed it first
            return None
    if row.state == "sent":
        return None
    row.attempts += 1
    return row


async def is_sent(session: AsyncSession, subscriber_id: int, digest_key: str) -> bool:
    state = await session.scalar(
        select(DeliveryRow.state).where(
            DeliveryRow.subscriber_id == subscriber_id, DeliveryRow.digest_key == digest_key
        )
    )
    return state == "sent"


async def record_part_sent(session: AsyncSession, delivery_id: int, parts_sent: int) -> None:
    row = await session.get(DeliveryRow, delivery_id)
    if row is not None:
        row.parts_sent = parts_sent


async def mark_sent(session: AsyncSession, delivery_id: int, now: datetime) -> None:
    row = await session.get(DeliveryRow, delivery_id)
    if row is not None:
        row.state, row.sent_at, row.last_error = "sent", now, None


async def mark_failed(session: AsyncSession, delivery_id: int, error: str) -> None:
    row = await session.get(DeliveryRow, delivery_id)
    if row is not None:
        row.state, row.last_error = "failed", error[:1000]
