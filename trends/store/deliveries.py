"""The delivery ledger: one row per (subscriber, digest), so no digest reaches a chat twice.

A row is `pending` from its first claim until the last part is out (`sent`) or an attempt
ends in an error (`failed`). `parts_sent` moves after every part, so a sender that dies
half-way resumes at the next part instead of repeating the first ones. A failed row is
tried again on a later run until `MAX_ATTEMPTS` runs have tried it.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import cast

from sqlalchemy import Table, bindparam, insert, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from trends.delivery.routing import digest_key_of, topic_key_range
from trends.store.schema import DeliveryRow

# The broadcast's statements (claims, progress, sent) run on the table, not the ORM class:
# they touch dozens of rows a transaction at up to 1,000 messages a second, and the ORM's
# bulk paths cost several times the CPU of Core's executemany for the same SQL.
_T = cast(Table, DeliveryRow.__table__)

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
            select(_T.c.subscriber_id, _T.c.id, _T.c.state, _T.c.attempts, _T.c.parts_sent).where(
                _T.c.digest_key == key, _T.c.subscriber_id.in_(ids)
            )
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
            update(_T)
            .where(_T.c.id.in_([row.id for row in open_rows]))
            .values(attempts=_T.c.attempts + 1, state="pending")
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
        # Matched by subscriber id, not by order: RETURNING in parameter order would make
        # SQLite insert one row per statement.
        inserted = await session.execute(insert(_T).returning(_T.c.subscriber_id, _T.c.id), new)
        for subscriber_id, delivery_id in inserted.all():
            claimed[subscriber_id, key] = (delivery_id, 0)
    return claimed


_SETTLED = or_(  # sent, or given up after MAX_ATTEMPTS runs
    DeliveryRow.state == "sent",
    (DeliveryRow.state == "failed") & (DeliveryRow.attempts >= MAX_ATTEMPTS),
)


async def settled(session: AsyncSession, keys: Iterable[str]) -> set[tuple[int, str]]:
    """(subscriber id, digest key) pairs under `keys` that are sent or given up, with every
    forum-topic part of it (`trends.delivery.routing.topic_key`) sent or given up too:
    a topic part that failed is tried again with the next run, like a whole digest."""
    wanted = sorted(set(keys))
    if not wanted:
        return set()
    query = select(DeliveryRow.subscriber_id, DeliveryRow.digest_key).where(
        DeliveryRow.digest_key.in_(wanted), _SETTLED
    )
    done = {(sid, key) for sid, key in (await session.execute(query)).all()}
    # Topic keys as an index range, so the digest_key index serves it on every scheduler
    # tick; LIKE would scan the whole ledger on SQLite.
    topic_ranges = (
        (DeliveryRow.digest_key > low) & (DeliveryRow.digest_key < high)
        for low, high in map(topic_key_range, wanted)
    )
    open_topics = select(DeliveryRow.subscriber_id, DeliveryRow.digest_key).where(
        or_(*topic_ranges), ~_SETTLED
    )
    for sid, topic_key in (await session.execute(open_topics)).all():
        done.discard((sid, digest_key_of(topic_key)))
    return done


_PARTS_SENT = update(_T).where(_T.c.id == bindparam("delivery")).values(parts_sent=bindparam("n"))
_SENT = (
    update(_T)
    .where(_T.c.id == bindparam("delivery"))
    .values(state="sent", sent_at=bindparam("at"), last_error=None, parts_sent=bindparam("n"))
)


async def record_parts_sent(session: AsyncSession, progress: Sequence[tuple[int, int]]) -> None:
    """Record how many parts of each (delivery id, parts sent) pair are out, in one statement."""
    if progress:
        await session.execute(_PARTS_SENT, [{"delivery": d, "n": parts} for d, parts in progress])


async def mark_sent_many(
    session: AsyncSession, done: Sequence[tuple[int, int]], now: datetime
) -> None:
    """Mark each (delivery id, parts sent) pair sent, in one statement."""
    if done:
        await session.execute(_SENT, [{"delivery": d, "n": parts, "at": now} for d, parts in done])


async def mark_failed(session: AsyncSession, delivery_id: int, error: str) -> None:
    await session.execute(
        update(DeliveryRow)
        .where(DeliveryRow.id == delivery_id)
        .values(state="failed", last_error=error[:1000])
    )
