"""Broadcasts: one row per digest run over many subscribers, for admin reports and /stats."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from trends.store.schema import BroadcastRow

__all__ = ["finish", "latest", "start"]


async def start(session: AsyncSession, digest_key: str, now: datetime) -> int:
    row = BroadcastRow(
        digest_key=digest_key[:64], started_at=now, sent=0, failed=0, deactivated=0, skipped=0
    )
    session.add(row)
    await session.flush()
    return row.id


async def finish(
    session: AsyncSession, broadcast_id: int, now: datetime, counts: dict[str, int]
) -> None:
    await session.execute(
        update(BroadcastRow)
        .where(BroadcastRow.id == broadcast_id)
        .values(
            finished_at=now,
            sent=counts.get("sent", 0),
            failed=counts.get("failed", 0),
            deactivated=counts.get("deactivated", 0),
            skipped=counts.get("skipped", 0),
        )
    )


async def latest(session: AsyncSession) -> BroadcastRow | None:
    """The newest finished broadcast that sent (or tried to send) something."""
    tried = BroadcastRow.sent + BroadcastRow.failed + BroadcastRow.deactivated
    return await session.scalar(
        select(BroadcastRow)
        .where(BroadcastRow.finished_at.is_not(None), tried > 0)
        .order_by(BroadcastRow.finished_at.desc(), BroadcastRow.id.desc())
        .limit(1)
    )
