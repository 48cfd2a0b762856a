"""Forum-topic routes: in a forum group, trend N's posts go to the topic chosen with /route."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from trends.store.schema import TopicRouteRow

__all__ = ["clear_route", "routes_of", "set_route"]


async def set_route(session: AsyncSession, subscriber_id: int, trend: int, thread_id: int) -> None:
    row = await session.get(TopicRouteRow, (subscriber_id, trend))
    if row is None:
        session.add(TopicRouteRow(subscriber_id=subscriber_id, trend=trend, thread_id=thread_id))
    else:
        row.thread_id = thread_id
    await session.flush()


async def clear_route(session: AsyncSession, subscriber_id: int, trend: int | None) -> int:
    """Drop one trend's route, or every route of the subscriber; how many were dropped."""
    query = delete(TopicRouteRow).where(TopicRouteRow.subscriber_id == subscriber_id)
    if trend is not None:
        query = query.where(TopicRouteRow.trend == trend)
    result = await session.execute(query)
    return int(getattr(result, "rowcount", 0) or 0)


async def routes_of(
    session: AsyncSession, subscriber_ids: Iterable[int]
) -> dict[int, dict[int, int]]:
    """subscriber id → {trend: thread id}, for the given subscribers (absent when none)."""
    ids = list(subscriber_ids)
    if not ids:
        return {}
    found: dict[int, dict[int, int]] = defaultdict(dict)
    rows = await session.scalars(select(TopicRouteRow).where(TopicRouteRow.subscriber_id.in_(ids)))
    for row in rows:
        found[row.subscriber_id][row.trend] = row.thread_id
    return dict(found)
