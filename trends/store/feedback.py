"""Readers' "wrong trend?" answers, and the summary admins read to tune the themes file."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import and_, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from trends.models import FeedbackEntry
from trends.store.schema import FeedbackRow, PostRow, PostTrendRow

__all__ = ["feedback_report", "flagged_posts", "record_feedback"]


async def record_feedback(
    session: AsyncSession,
    *,
    post_id: int,
    trend: int,
    chat_id: int,
    user_id: int | None,
    now: datetime,
    verdict: str = "wrong",
) -> bool:
    """Store one answer; False when this reader already gave it for this post and trend."""
    reader = (
        FeedbackRow.user_id == user_id if user_id is not None else FeedbackRow.chat_id == chat_id
    )
    seen = await session.scalar(
        select(FeedbackRow.id)
        .where(FeedbackRow.post_id == post_id, FeedbackRow.trend == trend, reader)
        .limit(1)
    )
    if seen is not None:
        return False
    session.add(
        FeedbackRow(
            post_id=post_id,
            trend=trend,
            chat_id=chat_id,
            user_id=user_id,
            verdict=verdict,
            created_at=now,
        )
    )
    await session.flush()
    return True


async def feedback_report(session: AsyncSession, *, limit: int = 20) -> list[FeedbackEntry]:
    """Posts readers flagged, most flagged first, with the terms that made each tag."""
    flagged = (
        select(
            FeedbackRow.post_id,
            FeedbackRow.trend,
            func.count().label("count"),
            func.max(FeedbackRow.created_at).label("last_at"),
        )
        .group_by(FeedbackRow.post_id, FeedbackRow.trend)
        .subquery()
    )
    query = (
        select(
            flagged.c.post_id,
            flagged.c.trend,
            flagged.c.count,
            PostRow.title,
            PostRow.link,
            PostTrendRow.matched,
        )
        .join(PostRow, PostRow.id == flagged.c.post_id)
        .outerjoin(
            PostTrendRow,
            and_(PostTrendRow.post_id == flagged.c.post_id, PostTrendRow.trend == flagged.c.trend),
        )
        .order_by(flagged.c.count.desc(), flagged.c.last_at.desc(), flagged.c.post_id.desc())
        .limit(limit)
    )
    return [
        FeedbackEntry(
            post_id=post_id,
            trend=trend,
            count=count,
            title=title,
            link=link,
            matched=tuple(matched or ()),
        )
        for post_id, trend, count, title, link, matched in (await session.execute(query)).all()
    ]


async def flagged_posts(session: AsyncSession) -> list[tuple[str, str, frozenset[int]]]:
    """Every post readers flagged "wrong", as (title, summary, the trends flagged wrong).

    `trendbot train --with-feedback` learns each flag as a negative for that trend.
    """
    rows = await session.execute(
        select(PostRow.id, PostRow.title, PostRow.summary, FeedbackRow.trend)
        .join(PostRow, PostRow.id == FeedbackRow.post_id)
        .where(FeedbackRow.verdict == "wrong")
        .order_by(PostRow.id)
    )
    posts: dict[int, tuple[str, str, set[int]]] = {}
    for post_id, title, summary, trend in rows:
        posts.setdefault(post_id, (title, summary, set()))[2].add(trend)
    return [(title, summary, frozenset(trends)) for title, summary, trends in posts.values()]
