"""The delivery ledger: one row per (subscriber, digest), so no digest reaches a chat twice.

A row is `pending` from its first claim until the last part is out (`sent`) or an attempt
ends in an error (`failed`). `parts_sent` moves after every part, so a sender that dies
half-way resumes at the next part instead of repeating the first ones. A failed row is
tried again on a later run until `MAX_ATTEMPTS` runs have tried it.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from trends.store.schema import DeliveryRow

__all__ = [
    "MAX_ATTEMPTS",
    "claim",
    "is_sent",
    "mark_failed",
    "mark_sent",
    "record_part_sent",
    "settled",
]

MAX_ATTEMPTS = 3  # runs that may try one digest for one subscriber before it is given up


async def claim(
    session: AsyncSession, subscriber_id: int, digest_key: str, now: datetime
) -> DeliveryRow | None:
    """The ledger row to send, or None when this digest is sent or given up."""
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
    if row.state == "sent" or (row.state == "failed" and row.attempts >= MAX_ATTEMPTS):
        return None
    # Compare-and-set on attempts: of two senders racing for one row, only one wins it.
    won = await session.execute(
        update(DeliveryRow)
        .where(DeliveryRow.id == row.id, DeliveryRow.attempts == row.attempts)
        .values(attempts=row.attempts + 1, state="pending")
    )
    if won.rowcount != 1:  # type: ignore[attr-defined]
        return None
    await session.refresh(row)
    return row


async def settled(session: AsyncSession, keys: Iterable[str]) -> set[tuple[int, str]]:
    """(subscriber id, digest key) pairs under `keys` that are sent or given up."""
    wanted = sorted(set(keys))
    if not wanted:
        return set()
    query = select(DeliveryRow.subscriber_id, DeliveryRow.digest_key).where(
        DeliveryRow.digest_key.in_(wanted),
        or_(
            DeliveryRow.state == "sent",
            (DeliveryRow.state == "failed") & (DeliveryRow.attempts >= MAX_ATTEMPTS),
        ),
    )
    return {(sid, key) for sid, key in (await session.execute(query)).all()}


async def is_sent(session: AsyncSession, subscriber_id: int, digest_key: str) -> bool:
    state = await session.scalar(
        select(DeliveryRow.state).where(
            DeliveryRow.subscriber_id == subscriber_id, DeliveryRow.digest_key == digest_key
        )
    )
    return state == "sent"


async def record_part_sent(session: AsyncSession, delivery_id: int, parts_sent: int) -> None:
    await session.execute(
        update(DeliveryRow).where(DeliveryRow.id == delivery_id).values(parts_sent=parts_sent)
    )


async def mark_sent(
    session: AsyncSession, delivery_id: int, now: datetime, parts_sent: int | None = None
) -> None:
    values: dict[str, object] = {"state": "sent", "sent_at": now, "last_error": None}
    if parts_sent is not None:
        values["parts_sent"] = parts_sent
    await session.execute(update(DeliveryRow).where(DeliveryRow.id == delivery_id).values(**values))


async def mark_failed(session: AsyncSession, delivery_id: int, error: str) -> None:
    await session.execute(
        update(DeliveryRow)
        .where(DeliveryRow.id == delivery_id)
        .values(state="failed", last_error=error[:1000])
    )
