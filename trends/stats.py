"""The numbers behind /stats: subscribers, posts this week, feed health, the last broadcast."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from trends.store import broadcasts, feeds, posts, subscribers
from trends.store.db import Database

__all__ = ["BroadcastSummary", "Stats", "collect_stats"]


@dataclass(frozen=True, slots=True)
class BroadcastSummary:
    digest_key: str
    started_at: datetime
    finished_at: datetime
    sent: int
    failed: int
    deactivated: int
    skipped: int

    @property
    def seconds(self) -> float:
        return (self.finished_at - self.started_at).total_seconds()


@dataclass(frozen=True, slots=True)
class Stats:
    active: int
    inactive: int
    posts_this_week: int
    feeds_healthy: int
    feeds_failing: int
    last_broadcast: BroadcastSummary | None


async def collect_stats(db: Database, now: datetime) -> Stats:
    async with db.new_session() as session:
        active, inactive = await subscribers.count_subscribers(session)
        recent = await posts.count_posts(session, since=now - timedelta(days=7))
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
