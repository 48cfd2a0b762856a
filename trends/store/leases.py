"""Leases: which poller has claimed a feed, and which process is the one sender.

A lease has an owner and an expiry. Its holder renews it while it works and releases it
when done; a holder that dies simply stops renewing, and once the expiry passes the
others may claim what it held. Every statement here is one round trip.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import cast

from sqlalchemy import Table, delete, insert, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from trends.store.schema import FeedRow, LeaseRow

__all__ = [
    "acquire",
    "claim_feeds",
    "holder",
    "release",
    "release_feeds",
    "renew_feeds",
]

_FEEDS = cast(Table, FeedRow.__table__)
_LEASES = cast(Table, LeaseRow.__table__)


async def claim_feeds(
    session: AsyncSession,
    owner: str,
    now: datetime,
    expires_at: datetime,
    *,
    due_at: datetime | None,
    limit: int | None = None,
) -> list[FeedRow]:
    """Claim enabled feeds that no live lease holds (at `now`), until `expires_at`: those
    due at `due_at`, the longest-waiting first, or every one when `due_at` is None.

    On PostgreSQL the rows are picked with `FOR UPDATE SKIP LOCKED`, so two pollers
    claiming at once get different feeds instead of waiting on each other; the chosen rows
    get this owner's lease in the same statement. SQLite ignores the locking clause: it has
    one writer, and the single UPDATE is atomic.
    """
    free = or_(_FEEDS.c.lease_expires_at.is_(None), _FEEDS.c.lease_expires_at <= now)
    wanted = select(_FEEDS.c.id).where(_FEEDS.c.enabled, free)
    if due_at is not None:
        wanted = wanted.where(
            or_(_FEEDS.c.next_check_at.is_(None), _FEEDS.c.next_check_at <= due_at)
        )
    wanted = (
        wanted.order_by(_FEEDS.c.next_check_at.asc().nulls_first(), _FEEDS.c.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    claimed = await session.execute(
        update(_FEEDS)
        .where(_FEEDS.c.id.in_(wanted.scalar_subquery()))
        .values(lease_owner=owner, lease_expires_at=expires_at)
        .returning(_FEEDS.c.id)
    )
    ids = [row.id for row in claimed.all()]
    if not ids:
        return []
    rows = await session.scalars(
        select(FeedRow)
        .where(FeedRow.id.in_(ids))
        .order_by(FeedRow.next_check_at.asc().nulls_first(), FeedRow.id)
    )
    return list(rows.all())


async def renew_feeds(
    session: AsyncSession, owner: str, ids: Sequence[int], expires_at: datetime
) -> int:
    """Move the expiry of this owner's leases on `ids`; how many it still holds."""
    if not ids:
        return 0
    result = await session.execute(
        update(_FEEDS)
        .where(_FEEDS.c.id.in_(list(ids)), _FEEDS.c.lease_owner == owner)
        .values(lease_expires_at=expires_at)
    )
    return int(result.rowcount)  # type: ignore[attr-defined]


async def release_feeds(session: AsyncSession, owner: str, ids: Sequence[int]) -> None:
    """Drop this owner's leases on `ids` (a lease another poller took after it expired
    stays that poller's)."""
    if ids:
        await session.execute(
            update(_FEEDS)
            .where(_FEEDS.c.id.in_(list(ids)), _FEEDS.c.lease_owner == owner)
            .values(lease_owner=None, lease_expires_at=None)
        )


async def acquire(
    session: AsyncSession, name: str, owner: str, now: datetime, lease: timedelta
) -> bool:
    """Take or renew the named lease: True when `owner` holds it until `now + lease`.

    It is taken when free, expired or already this owner's; a live lease of another owner
    is left alone. Of two processes racing for a free lease, the primary key lets one win.
    """
    taken = await session.execute(
        update(_LEASES)
        .where(
            _LEASES.c.name == name,
            or_(_LEASES.c.owner == owner, _LEASES.c.expires_at <= now),
        )
        .values(owner=owner, expires_at=now + lease)
    )
    if taken.rowcount == 1:  # type: ignore[attr-defined]
        return True
    if await session.scalar(select(_LEASES.c.name).where(_LEASES.c.name == name)) is not None:
        return False  # another owner's, still live
    try:
        async with session.begin_nested():
            await session.execute(
                insert(_LEASES).values(name=name, owner=owner, expires_at=now + lease)
            )
    except IntegrityError:  # another process inserted it first
        return False
    return True


async def holder(session: AsyncSession, name: str, now: datetime) -> str | None:
    """The owner of the named lease while it is live; None when it is free or expired."""
    return await session.scalar(
        select(_LEASES.c.owner).where(_LEASES.c.name == name, _LEASES.c.expires_at > now)
    )


async def release(session: AsyncSession, name: str, owner: str) -> None:
    """Give the named lease up, if `owner` still holds it."""
    await session.execute(delete(_LEASES).where(_LEASES.c.name == name, _LEASES.c.owner == owner))
