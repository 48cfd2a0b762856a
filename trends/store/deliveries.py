"""The delivery ledger: one row per (subscriber, digest), so no digest reaches a chat twice.

A row is `pending` from its first claim until the last part is out (`sent`) or an attempt
ends in an error (`failed`). `parts_sent` moves after every part, so a sender that dies
half-way resumes at the next part instead of repeating the first ones. A failed row is
tried again on a later run until `MAX_ATTEMPTS` runs have tried it.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime

from sqlalchemy import insert, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from trends.store.schema import DeliveryRow

__all__ = [
    "MAX_ATTEMPTS",
    "claim",
    "claim_many",
    "mark_failed",
    "mark_sent_many",
    "record_parts_sent",
    "settled",
]

MAX_ATTEMPTS = 3  # runs that may try one digest for one subscriber before it is given up
_CHUNK = 500  # subscribers per claim query, well under every driver's parameter limit


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


async def claim_many(
    session: AsyncSession, wanted: Sequence[tuple[int, str]], now: datetime
) -> dict[tuple[int, str], tuple[int, int]]:
    """`claim` for many (subscriber id, digest key) pairs in a few statements.

    Returns (delivery id, parts sent) for each pair that is to be sent; pairs sent or given
    up are left out.
    """
    claimed: dict[tuple[int, str], tuple[int, int]] = {}
    by_key: dict[str, list[int]] = {}
    for subscriber_id, key in wanted:
        by_key.setdefault(key, []).append(subscriber_id)
    for key, ids in by_key.items():
        for start in range(0, len(ids), _CHUNK):
            chunk = ids[start : start + _CHUNK]
            try:
                async with session.begin_nested():
                    claimed.update(await _claim_chunk(session, key, chunk, now))
            except IntegrityError:  # another sender inserted some: claim them one by one
                for subscriber_id in chunk:
                    row = await claim(session, subscriber_id, key, now)
                    if row is not None:
                        claimed[subscriber_id, key] = (row.id, row.parts_sent)
    return claimed


async def _claim_chunk(
    session: AsyncSession, key: str, ids: list[int], now: datetime
) -> dict[tuple[int, str], tuple[int, int]]:
    rows = (
        await session.execute(
            select(
                DeliveryRow.subscriber_id,
                DeliveryRow.id,
                DeliveryRow.state,
                DeliveryRow.attempts,
                DeliveryRow.parts_sent,
            ).where(DeliveryRow.digest_key == key, DeliveryRow.subscriber_id.in_(ids))
        )
    ).all()
    known = {row.subscriber_id for row in rows}
    open_rows = [
        row
        for row in rows
        if row.state != "sent" and not (row.state == "failed" and row.attempts >= MAX_ATTEMPTS)
    ]
    if open_rows:
        await session.execute(
            update(DeliveryRow)
            .where(DeliveryRow.id.in_([row.id for row in open_rows]))
            .values(attempts=DeliveryRow.attempts + 1, state="pending")
        )
    claimed = {(row.subscriber_id, key): (row.id, row.parts_sent) for row in open_rows}
    new = [
        {
            "subscriber_id": sid,
            "digest_key": key,
            "state": "pending",
            "attempts": 1,
            "parts_sent": 0,
            "created_at": now,
        }
        for sid in ids
        if sid not in known
    ]
    if new:
        inserted = await session.scalars(
            insert(DeliveryRow).returning(DeliveryRow.id, sort_by_parameter_order=True), new
        )
        for values, delivery_id in zip(new, inserted.all(), strict=True):
            claimed[values["subscriber_id"], key] = (delivery_id, 0)
    return claimed


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


async def record_parts_sent(session: AsyncSession, progress: Sequence[tuple[int, int]]) -> None:
    """Record how many parts of each (delivery id, parts sent) pair are out, in one statement."""
    if progress:
        await session.execute(
            update(DeliveryRow), [{"id": d, "parts_sent": parts} for d, parts in progress]
        )


async def mark_sent_many(
    session: AsyncSession, done: Sequence[tuple[int, int]], now: datetime
) -> None:
    """Mark each (delivery id, parts sent) pair sent, in one statement."""
    if done:
        values = [
            {"id": d, "state": "sent", "sent_at": now, "last_error": None, "parts_sent": parts}
            for d, parts in done
        ]
        await session.execute(update(DeliveryRow), values)


async def mark_failed(session: AsyncSession, delivery_id: int, error: str) -> None:
    await session.execute(
        update(DeliveryRow)
        .where(DeliveryRow.id == delivery_id)
        .values(state="failed", last_error=error[:1000])
    )
