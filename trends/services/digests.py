"""Digests: which chats are due one, and the digest of a period."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from trends import clock
from trends.delivery import periods
from trends.delivery.digest import build_digest
from trends.models import Digest
from trends.preferences import ChatSettings
from trends.services.archive import HISTORY_WEEKS, WeeklyHistory
from trends.store import archive, deliveries, subscribers
from trends.store.db import Database
from trends.themes import Themes

__all__ = ["DigestsService", "DueDigest"]


@dataclass(frozen=True, slots=True)
class DueDigest:
    """One chat's digest of one period: who gets it, what it follows, its ledger key."""

    subscriber_id: int
    chat_id: int
    language: str
    cadence: str
    trends: tuple[int, ...]
    link_previews: bool
    refused_before: bool  # the chat's last delivery failed: a success resets its count
    subscribed_at: datetime
    key: str
    slot: datetime
    thread_id: int | None = None  # a forum topic, for the sections routed there


class DigestsService:
    def __init__(self, db: Database, themes: Themes) -> None:
        self.db = db
        self.themes = themes

    async def build(
        self,
        *,
        until: datetime | None = None,
        trends: list[int] | None = None,
        key: str = "preview",
        cadence: str = "weekly",
    ) -> Digest:
        """The digest of the period up to `until` (seven days, or one for a daily digest),
        for the given trends (default all); its counts compare it with the period before."""
        until = until or clock.utcnow()
        window = periods.window(cadence)
        since = until - window
        followed = [t for t in self.themes.trends if trends is None or t.number in trends]
        async with self.db.new_session() as session:
            found = await archive.posts_in_window(
                session, since, until, [t.number for t in followed]
            )
            # This week, last week and the chart's weeks before them, in one grouped query.
            weekly = await archive.weekly_trend_counts(session, until, HISTORY_WEEKS)
            if window == periods.WEEK:
                history = WeeklyHistory(until=until, counts=weekly)
                counts, previous = history.this_week(), history.last_week()
            else:
                counts = await archive.trend_counts(session, since, until)
                previous = await archive.trend_counts(session, since - window, since)
        return build_digest(
            key=key,
            since=since,
            until=until,
            trends=followed,
            posts=found,
            counts=counts,
            previous_counts=previous,
            weekly_counts=weekly,
        )

    def next_slot(self, chat: ChatSettings, now: datetime | None = None) -> datetime | None:
        """When `chat`'s next digest is due, in its own zone; None while it is off. A chat
        subscribing now is owed no earlier one (`due`), so this is its first."""
        return periods.next_digest_slot(
            now or clock.utcnow(), chat.cadence, chat.digest_day, chat.digest_hour, chat.timezone
        )

    async def due(self, now: datetime | None = None) -> list[DueDigest]:
        """Active subscribers whose digest time has come and who have not had this one."""
        # A chat that subscribes after this period's slot waits for the next one.
        return [item for item in await self.current(now) if item.slot >= item.subscribed_at]

    async def current(
        self, now: datetime | None = None, *, include_settled: bool = False
    ) -> list[DueDigest]:
        """Each active subscriber's digest of the period that is current at `now`.

        The key names the subscriber's own period (local time zone, daily or weekly), so
        the scheduler and `trendbot digest --send-now` share one ledger row per period.
        Digests already sent (or given up) are left out unless `include_settled`.
        """
        now = now or clock.utcnow()
        current = []
        async with self.db.new_session() as session:
            for chat in await subscribers.active_subscribers(session):
                slot = periods.digest_slot(
                    now, chat.cadence, chat.digest_day, chat.digest_hour, chat.timezone
                )
                if slot is not None:
                    current.append(
                        DueDigest(
                            subscriber_id=chat.subscriber_id,
                            chat_id=chat.chat_id,
                            language=chat.language,
                            cadence=chat.cadence,
                            trends=chat.trends,
                            link_previews=chat.link_previews,
                            refused_before=chat.consecutive_failures > 0,
                            subscribed_at=chat.created_at,
                            key=periods.digest_key(chat.cadence, slot),
                            slot=slot,
                        )
                    )
            if include_settled:
                return current
            done = await deliveries.settled(session, {item.key for item in current})
        return [item for item in current if (item.subscriber_id, item.key) not in done]
