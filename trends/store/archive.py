"""Reading the archive: stories (a post with its members, primary first) by trend, by
period and by id, and the counts behind digests, /trends and /stats."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import cast

from sqlalchemy import Table, case, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from trends.delivery.periods import WEEK
from trends.models import StoredPost, StoryMember, TrendTag
from trends.store.schema import FeedRow, PostRow, PostTrendRow

__all__ = [
    "TREND_COUNT_CAP",
    "Found",
    "count_posts",
    "load_posts",
    "newest_by_trend",
    "posts_in_window",
    "story_of",
    "trend_counts",
    "weekly_trend_counts",
]

_POSTS, _TRENDS = (cast(Table, row.__table__) for row in (PostRow, PostTrendRow))
TREND_COUNT_CAP = 1000  # a trend's stories counted before /trend says "more than"


@dataclass(frozen=True, slots=True)
class Found:
    """A page of stories, and how many stories there are in all. When there are more than
    `capped_at` they are not counted, and `total` only tells whether a page follows this
    one (it is one more than the stories up to the end of this page, if one does)."""

    posts: list[StoredPost]
    total: int
    capped_at: int | None = None


async def newest_by_trend(
    session: AsyncSession,
    trend: int,
    *,
    limit: int,
    offset: int = 0,
    since: datetime | None = None,
) -> Found:
    """The newest first reports of a trend's stories, and how many there are in all.

    Both come from the index of story leads alone: no post is read until the page's. The
    count stops at TREND_COUNT_CAP: counting a trend's 190,000 stories read the whole of
    its part of the index, more than a tenth of a second with a cold cache.
    """
    conditions = [PostTrendRow.trend == trend, PostTrendRow.story_lead]
    if since is not None:
        conditions.append(PostTrendRow.published_at >= since)
    counted = select(PostTrendRow.post_id).where(*conditions).limit(TREND_COUNT_CAP + 1)
    total = int(await session.scalar(select(func.count()).select_from(counted.subquery())) or 0)
    ids = (
        await session.scalars(
            select(PostTrendRow.post_id)
            .where(*conditions)
            .order_by(PostTrendRow.published_at.desc(), PostTrendRow.post_id.desc())
            .limit(limit + 1)  # one more: does a page follow?
            .offset(offset)
        )
    ).all()
    found = await load_posts(session, list(ids[:limit]))
    if total <= TREND_COUNT_CAP:
        return Found(found, total)
    return Found(found, offset + len(found) + (len(ids) > limit), capped_at=TREND_COUNT_CAP)


async def posts_in_window(
    session: AsyncSession, since: datetime, until: datetime, trends: Iterable[int]
) -> list[StoredPost]:
    """First reports tagged with any of `trends`, published in [since, until), for digests."""
    ids = (
        await session.scalars(
            select(PostRow.id)
            .join(PostTrendRow, PostTrendRow.post_id == PostRow.id)
            .where(
                PostTrendRow.trend.in_(list(trends)),
                PostTrendRow.published_at >= since,
                PostTrendRow.published_at < until,
                PostRow.cluster_id.is_(None),
                PostRow.in_digests,
            )
            .distinct()
        )
    ).all()
    return await load_posts(session, list(ids))


async def trend_counts(session: AsyncSession, since: datetime, until: datetime) -> dict[int, int]:
    """Stories (clusters, not copies) per trend published in [since, until)."""
    query = (
        select(PostTrendRow.trend, func.count())
        .join(PostRow, PostRow.id == PostTrendRow.post_id)
        .where(
            PostTrendRow.published_at >= since,
            PostTrendRow.published_at < until,
            PostRow.cluster_id.is_(None),
        )
        .group_by(PostTrendRow.trend)
    )
    return {trend: count for trend, count in (await session.execute(query)).all()}


async def weekly_trend_counts(
    session: AsyncSession, until: datetime, weeks: int
) -> dict[int, list[int]]:
    """Stories per trend in each of the `weeks` weeks before `until`, oldest week first.

    One grouped query: a CASE expression puts each tag in its week, so the database counts
    every trend and week in a single pass over the (trend, published_at) index.
    """
    week = WEEK
    since = until - weeks * week
    bucket = case(
        *(
            (PostTrendRow.published_at >= until - (index + 1) * week, weeks - 1 - index)
            for index in range(weeks)
        ),
        else_=0,
    ).label("week")
    # Grouped over a subquery: PostgreSQL can't match a CASE with bound parameters in
    # GROUP BY to the same CASE in SELECT, as each copy gets its own placeholders.
    tagged = (
        select(PostTrendRow.trend, bucket)
        .join(PostRow, PostRow.id == PostTrendRow.post_id)
        .where(
            PostTrendRow.published_at >= since,
            PostTrendRow.published_at < until,
            PostRow.cluster_id.is_(None),
        )
        .subquery()
    )
    query = select(tagged.c.trend, tagged.c.week, func.count()).group_by(
        tagged.c.trend, tagged.c.week
    )
    counts: dict[int, list[int]] = {}
    for trend, index, count in (await session.execute(query)).all():
        counts.setdefault(trend, [0] * weeks)[index] = count
    return counts


async def count_posts(session: AsyncSession, since: datetime | None = None) -> int:
    query = select(func.count()).select_from(PostRow)
    if since is not None:
        query = query.where(PostRow.published_at >= since)
    return int(await session.scalar(query) or 0)


async def load_posts(session: AsyncSession, ids: list[int]) -> list[StoredPost]:
    """Stories by id, in the order given, each led by its primary member, with the tags of
    its first report and every member: two queries in all.

    An id is a story's (its first stored report's); any other post's id reads as a story
    of that post alone.
    """
    if not ids:
        return []
    wanted = set(ids)
    members: dict[int, list[StoryMember]] = defaultdict(list)
    rows = await session.execute(
        select(
            PostRow.id,
            PostRow.cluster_id,
            FeedRow.name,
            PostRow.link,
            PostRow.language,
            PostRow.published_at,
            PostRow.title,
            PostRow.summary,
            FeedRow.preferred,
            PostRow.text_chars,
        )
        .join(FeedRow, FeedRow.id == PostRow.feed_id)
        .where(or_(PostRow.id.in_(ids), PostRow.cluster_id.in_(ids)))
    )
    for post_id, cluster_id, name, link, language, published, title, summary, *rest in rows:
        story = post_id if post_id in wanted or cluster_id is None else cluster_id
        preferred, text_chars = rest
        members[story].append(
            StoryMember(
                post_id=post_id,
                outlet=name,
                link=link,
                language=language,
                published=published,
                title=title,
                summary=summary,
                preferred=preferred,
                text_chars=text_chars,
            )
        )
    tags: dict[int, list[TrendTag]] = defaultdict(list)
    for tag_row in await session.scalars(select(PostTrendRow).where(PostTrendRow.post_id.in_(ids))):
        tags[tag_row.post_id].append(
            TrendTag(tag_row.trend, tag_row.score, tuple(tag_row.matched or ()))
        )
    return [
        StoredPost.of_story(
            story_id, members[story_id], tuple(sorted(tags[story_id], key=lambda t: -t.score))
        )
        for story_id in ids
        if members.get(story_id)
    ]


async def story_of(session: AsyncSession, post_id: int) -> StoredPost | None:
    """The story a post belongs to, with every member: `/story N` takes any member's id."""
    root = (
        await session.execute(
            select(func.coalesce(PostRow.cluster_id, PostRow.id)).where(PostRow.id == post_id)
        )
    ).scalar_one_or_none()
    found = await load_posts(session, [root]) if root is not None else []
    return found[0] if found else None
