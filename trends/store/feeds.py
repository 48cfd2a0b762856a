"""Feeds: the configured list, their validators and their health."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from trends.models import FeedSpec
from trends.store.schema import FeedRow, PostRow

# A removed feed keeps its row (and its posts in the archive), so the feeds file can't
# bring it back at the next start-up; /addfeed can.
REMOVED = "removed by an admin"

__all__ = [
    "REMOVED",
    "add_feed",
    "all_feeds",
    "feed_by_id",
    "feed_by_url",
    "listed_feeds",
    "post_count",
    "posts_published_by_feed",
    "remove_feed",
    "sync_feeds",
]


async def sync_feeds(session: AsyncSession, specs: list[FeedSpec], now: datetime) -> int:
    """Insert configured feeds that are new; returns how many were added.

    A listed feed's `preferred` follows the file: it only orders a story's members.
    """
    rows = {row.url: row for row in await session.scalars(select(FeedRow))}
    known = set(rows)
    added = 0
    for spec in specs:
        if (row := rows.get(spec.url)) is not None and row.preferred != spec.preferred:
            row.preferred = spec.preferred
        if spec.url not in known:
            session.add(_row_from_spec(spec, now))
            known.add(spec.url)
            added += 1
    await session.flush()
    return added


async def add_feed(session: AsyncSession, spec: FeedSpec, now: datetime) -> FeedRow:
    """Insert the feed, or bring back a removed or disabled one with a clean record."""
    row = await feed_by_url(session, spec.url)
    if row is None:
        row = _row_from_spec(spec, now)
        session.add(row)
    else:
        row.enabled, row.disabled_reason, row.name = True, None, spec.name
        row.consecutive_failures, row.failure_alerted_at, row.next_check_at = 0, None, None
    await session.flush()
    return row


async def remove_feed(session: AsyncSession, url: str) -> bool:
    """Stop polling the feed and hide it from the list; False if it isn't listed."""
    row = await feed_by_url(session, url)
    if row is None or row.disabled_reason == REMOVED:
        return False
    row.enabled, row.disabled_reason = False, REMOVED
    return True


async def listed_feeds(session: AsyncSession) -> list[FeedRow]:
    """Every feed an admin manages: enabled, or disabled for a reason (410), not removed."""
    query = (
        select(FeedRow)
        .where(or_(FeedRow.disabled_reason.is_(None), FeedRow.disabled_reason != REMOVED))
        .order_by(FeedRow.id)
    )
    return list((await session.scalars(query)).all())


async def feed_by_url(session: AsyncSession, url: str) -> FeedRow | None:
    return await session.scalar(select(FeedRow).where(FeedRow.url == url))


async def feed_by_id(session: AsyncSession, feed_id: int) -> FeedRow | None:
    return await session.get(FeedRow, feed_id)


async def feeds_by_id(session: AsyncSession, ids: Iterable[int]) -> dict[int, FeedRow]:
    rows = await session.scalars(select(FeedRow).where(FeedRow.id.in_(list(ids))))
    return {row.id: row for row in rows}


async def all_feeds(session: AsyncSession) -> list[FeedRow]:
    return list((await session.scalars(select(FeedRow).order_by(FeedRow.id))).all())


async def posts_published_by_feed(
    session: AsyncSession, since: datetime, until: datetime
) -> dict[int, int]:
    """Posts each feed published in [since, until]: by publication date, so a new feed's
    back catalogue, fetched this week, does not count as this week's posts."""
    query = (
        select(PostRow.feed_id, func.count())
        .where(PostRow.published_at >= since, PostRow.published_at <= until)
        .group_by(PostRow.feed_id)
    )
    return {feed_id: count for feed_id, count in (await session.execute(query)).all()}


async def post_count(session: AsyncSession, feed_id: int) -> int:
    query = select(func.count()).select_from(PostRow).where(PostRow.feed_id == feed_id)
    return int(await session.scalar(query) or 0)


def _row_from_spec(spec: FeedSpec, now: datetime) -> FeedRow:
    return FeedRow(
        url=spec.url,
        name=spec.name,
        language=spec.language,
        poll_minutes=spec.poll_minutes,
        enabled=spec.enabled,
        ai_source=spec.ai_source,
        preferred=spec.preferred,
        consecutive_failures=0,
        created_at=now,
    )
