"""Archive queries and readers' feedback, reached as `TrendService.archive`.

Behind /trends (twelve weeks of counts in one query), /search, and the "wrong trend?"
answers that admins read with /feedback.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Literal

from trends.models import FeedbackEntry, StoredPost
from trends.store import feedback, posts, search
from trends.store.db import Database
from trends.store.schema import PostRow

__all__ = [
    "HISTORY_WEEKS",
    "Archive",
    "FeedbackOutcome",
    "SearchPage",
    "WeeklyHistory",
    "is_searchable",
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
        return [self.until - timedelta(days=7) * (self.weeks - i) for i in range(self.weeks)]

    def this_week(self) -> dict[int, int]:
        return {trend: weeks[-1] for trend, weeks in self.counts.items()}

    def last_week(self) -> dict[int, int]:
        return {trend: weeks[-2] for trend, weeks in self.counts.items() if len(weeks) > 1}


@dataclass(frozen=True, slots=True)
class SearchPage:
    query: str
    posts: list[StoredPost]
    total: int
    offset: int


def is_searchable(query: str) -> bool:
    """True when `query` has a word: "AI" and 模型 are searches too (see trends.store.search)."""
    return bool(search.search_terms(query))


class Archive:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def weekly_history(
        self, weeks: int = HISTORY_WEEKS, now: datetime | None = None
    ) -> WeeklyHistory:
        until = now or datetime.now(UTC)
        async with self.db.new_session() as session:
            counts = await posts.weekly_trend_counts(session, until, weeks)
        return WeeklyHistory(until=until, counts=counts, weeks=weeks)

    async def search(self, query: str, *, limit: int = 5, offset: int = 0) -> SearchPage:
        async with self.db.new_session() as session:
            found, total = await search.search_posts(session, query, limit=limit, offset=offset)
        return SearchPage(query=query, posts=found, total=total, offset=offset)

    async def post(self, post_id: int) -> StoredPost | None:
        async with self.db.new_session() as session:
            found = await posts.load_posts(session, [post_id])
        return found[0] if found else None

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
                now=datetime.now(UTC),
            )
        return "recorded" if stored else "repeat"

    async def feedback_report(self, limit: int = 20) -> list[FeedbackEntry]:
        async with self.db.new_session() as session:
            return await feedback.feedback_report(session, limit=limit)

    async def flags_to_learn(self) -> int:
        """Flagged (post, trend) pairs that `trendbot train --with-feedback` would learn."""
        async with self.db.new_session() as session:
            return sum(len(trends) for _, _, trends in await feedback.flagged_posts(session))
