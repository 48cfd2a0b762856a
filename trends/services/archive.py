"""The archive: what readers and admins ask of the stored posts.

Behind /trend (a page of a trend's newest posts), /trends (twelve weeks of counts in one
query), /search, /stats, and the "wrong trend?" answers that admins read with /feedback.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from trends import clock
from trends.delivery.periods import WEEK
from trends.models import BroadcastSummary, FeedbackEntry, Stats, StoredPost, Trend
from trends.store import archive, broadcasts, feedback, feeds, search, subscribers
from trends.store.db import Database
from trends.store.schema import PostRow

__all__ = [
    "HISTORY_WEEKS",
    "ArchiveService",
    "FeedbackOutcome",
    "SearchPage",
    "TrendPage",
    "WeeklyHistory",
    "searched_words",
]

HISTORY_WEEKS = 12

FeedbackOutcome = Literal["recorded", "repeat", "unknown"]


@dataclass(frozen=True, slots=True)
class WeeklyHistory:
    """Stories per trend in each of the last weeks, oldest first; the last week ends `until`."""

    until: datetime
    counts: dict[int, list[int]]
    weeks: int = HISTORY_WEEKS

    def series(self, trend: int) -> list[int]:
        return self.counts.get(trend, [0] * self.weeks)

    def week_starts(self) -> list[datetime]:
        """The first moment of each week, oldest first."""
        return [self.until - WEEK * (self.weeks - i) for i in range(self.weeks)]

    def this_week(self) -> dict[int, int]:
        return {trend: weeks[-1] for trend, weeks in self.counts.items()}

    def last_week(self) -> dict[int, int]:
        return {trend: weeks[-2] for trend, weeks in self.counts.items() if len(weeks) > 1}


@dataclass(frozen=True, slots=True)
class TrendPage:
    """A page of a trend's stories. When it has more than `capped_at` they are not all
    counted, and `total` only says whether another page follows."""

    trend: Trend
    posts: list[StoredPost]
    total: int
    offset: int
    capped_at: int | None = None


@dataclass(frozen=True, slots=True)
class SearchPage:
    """A page of matching stories. When more than `capped_at` posts match they are not all
    counted, and `total` only says whether another page follows."""

    query: str
    posts: list[StoredPost]
    total: int
    offset: int
    capped_at: int | None = None


def searched_words(query: str) -> list[str]:
    """The words a search for `query` really looks for: repeats dropped, at most eight.

    Empty for a query with no word; "AI" and 模型 are searches too (see trends.store.search).
    """
    return search.search_terms(query)


class ArchiveService:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def trend_page(
        self, trend: Trend, *, limit: int = 5, offset: int = 0, days: int | None = None
    ) -> TrendPage:
        """A page of the trend's newest posts, over the last `days` or all time."""
        since = clock.utcnow() - timedelta(days=days) if days else None
        async with self.db.new_session() as session:
            found = await archive.newest_by_trend(
                session, trend.number, limit=limit, offset=offset, since=since
            )
        return TrendPage(trend, found.posts, found.total, offset, capped_at=found.capped_at)

    async def stats(self, now: datetime | None = None) -> Stats:
        """Subscribers, posts this week, feed health and the last broadcast, for /stats."""
        now = now or clock.utcnow()
        async with self.db.new_session() as session:
            active, inactive = await subscribers.count_subscribers(session)
            recent = await archive.count_posts(session, since=now - WEEK)
            enabled = [feed for feed in await feeds.all_feeds(session) if feed.enabled]
            last = await broadcasts.latest(session)
        failing = sum(1 for feed in enabled if feed.consecutive_failures > 0)
        summary = None
        if last is not None and last.finished_at is not None:
            summary = BroadcastSummary(
                digest_key=last.digest_key,
                started_at=last.started_at,
                finished_at=last.finished_at,
                sent=last.sent,
                failed=last.failed,
                deactivated=last.deactivated,
                skipped=last.skipped,
            )
        return Stats(
            active=active,
            inactive=inactive,
            posts_this_week=recent,
            feeds_healthy=len(enabled) - failing,
            feeds_failing=failing,
            last_broadcast=summary,
        )

    async def weekly_history(
        self, weeks: int = HISTORY_WEEKS, now: datetime | None = None
    ) -> WeeklyHistory:
        until = now or clock.utcnow()
        async with self.db.new_session() as session:
            counts = await archive.weekly_trend_counts(session, until, weeks)
        return WeeklyHistory(until=until, counts=counts, weeks=weeks)

    async def search(self, query: str, *, limit: int = 5, offset: int = 0) -> SearchPage:
        async with self.db.new_session() as session:
            found = await search.search_posts(session, query, limit=limit, offset=offset)
        return SearchPage(query, found.posts, found.total, offset, capped_at=found.capped_at)

    async def post(self, post_id: int) -> StoredPost | None:
        async with self.db.new_session() as session:
            found = await archive.load_posts(session, [post_id])
        return found[0] if found else None

    async def story(self, post_id: int) -> StoredPost | None:
        """The story `post_id` leads or belongs to, with every member; None if unknown."""
        async with self.db.new_session() as session:
            return await archive.story_of(session, post_id)

    async def record_feedback(
        self, post_id: int, trend: int, *, chat_id: int, user_id: int | None
    ) -> FeedbackOutcome:
        """Store a "wrong trend?" answer on a post that exists."""
        async with self.db.new_session() as session, session.begin():
            if await session.get(PostRow, post_id) is None:
                return "unknown"
            stored = await feedback.record_feedback(
                session,
                post_id=post_id,
                trend=trend,
                chat_id=chat_id,
                user_id=user_id,
                now=clock.utcnow(),
            )
        return "recorded" if stored else "repeat"

    async def feedback_report(self, limit: int = 20) -> list[FeedbackEntry]:
        async with self.db.new_session() as session:
            return await feedback.feedback_report(session, limit=limit)

    async def flags_to_learn(self) -> int:
        """Flagged (post, trend) pairs that `trendbot train --with-feedback` would learn."""
        async with self.db.new_session() as session:
            return sum(len(trends) for _, _, trends in await feedback.flagged_posts(session))
