"""The one service layer: the bot, the scheduled jobs and the CLI all call `TrendService`.

Each method opens its own session, so concurrent handlers never share one.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from trends import manage
from trends.archive import HISTORY_WEEKS, Archive
from trends.delivery.digest import build_digest, digest_key
from trends.errors import ConfigError
from trends.feedlist import load_feed_specs
from trends.ingest import pipeline, schedule
from trends.ingest.fetch import CONCURRENCY, TOTAL_SECONDS, new_client
from trends.ingest.llm import LLMConfig, LLMEnricher
from trends.ingest.pipeline import DIGEST_WINDOW, FeedReport, PollReport
from trends.ingest.workers import worker_pool
from trends.manage import AddedFeed, FeedHealth, ImportReport, RemovedFeed
from trends.models import Digest, StoredPost, Trend
from trends.preferences import ChatSettings, SettingsChange
from trends.stats import Stats, collect_stats
from trends.store import (
    alerts,
    broadcasts,
    deliveries,
    feeds,
    posts,
    preferences,
    routes,
    subscribers,
)
from trends.store.alerts import AlertPolicy, DueAlert
from trends.store.db import Database, open_database
from trends.store.schema import PreferencesRow, SubscriberRow
from trends.themes import Themes, load_themes

__all__ = ["DigestDefaults", "DueDigest", "TrendPage", "TrendService"]


@dataclass(frozen=True, slots=True)
class DigestDefaults:
    """What a new subscriber starts with."""

    weekday: int = 0  # Monday
    hour: int = 9
    timezone: str = "UTC"


@dataclass(frozen=True, slots=True)
class TrendPage:
    trend: Trend
    posts: list[StoredPost]
    total: int
    offset: int


@dataclass(frozen=True, slots=True)
class DueDigest:
    subscriber: SubscriberRow
    preferences: PreferencesRow
    key: str
    slot: datetime
    thread_id: int | None = None  # a forum topic, for the sections routed there


DAILY_WINDOW = timedelta(days=1)  # a daily digest covers the day since the one before
PARALLEL_PARSE_FEEDS = 50  # polls of this many feeds parse in worker processes


class TrendService:
    def __init__(
        self,
        db: Database,
        themes: Themes,
        *,
        feeds_path: Path | None = None,
        defaults: DigestDefaults | None = None,
        llm: LLMConfig | None = None,
        allow_private_feeds: bool = False,
    ) -> None:
        self.db = db
        # TRENDBOT_ALLOW_PRIVATE_FEEDS, applied to every connection of every poll: a feed
        # added while it was set is refused once it is not.
        self.allow_private_feeds = allow_private_feeds
        self.themes = themes
        self.feeds_path = feeds_path
        self.defaults = defaults or DigestDefaults()
        self._parsers: ProcessPoolExecutor | None = None  # see _parser_pool
        self.archive = Archive(db)  # /trends history, /search, "wrong trend?" feedback
        # Optional: an OpenAI-compatible model that tags and summarises instead (see trends.ingest.llm).
        self.llm = LLMEnricher(llm, themes, db) if llm is not None else None

    @classmethod
    async def open(
        cls,
        database_url: str,
        *,
        themes_path: Path | None = None,
        feeds_path: Path | None = None,
        defaults: DigestDefaults | None = None,
        llm: LLMConfig | None = None,
        allow_private_feeds: bool = False,
    ) -> TrendService:
        """Open (and migrate) the database, load the themes, and register configured feeds."""
        try:
            themes = load_themes(themes_path)
        except ValueError as exc:
            raise ConfigError(str(exc)) from exc
        db = await open_database(database_url)
        service = cls(
            db,
            themes,
            feeds_path=feeds_path,
            defaults=defaults,
            llm=llm,
            allow_private_feeds=allow_private_feeds,
        )
        try:
            if feeds_path is not None:
                await service.sync_configured_feeds()
        except BaseException:
            await db.close()
            raise
        return service

    async def close(self) -> None:
        if self._parsers is not None:
            self._parsers.shutdown(cancel_futures=True)
        if self.llm is not None:
            await self.llm.aclose()
        await self.db.close()

    # Feeds and polling

    async def sync_configured_feeds(self, now: datetime | None = None) -> int:
        if self.feeds_path is None:
            return 0
        specs = load_feed_specs(self.feeds_path)
        # Two processes starting at once would both insert the new feeds: one at a time.
        async with self.db.startup_lock(), self.db.new_session() as session, session.begin():
            return await feeds.sync_feeds(session, specs, now or _now())

    async def poll(
        self,
        *,
        only_due: bool = True,
        now: datetime | None = None,
        total_seconds: float = TOTAL_SECONDS,
        concurrency: int = CONCURRENCY,
        on_start: Callable[[int], object] | None = None,
        progress: Callable[[FeedReport], object] | None = None,
    ) -> PollReport:
        """Poll the feeds whose time has come (or all enabled feeds) and store new posts.

        `total_seconds` bounds each feed's download; `on_start(count)` and
        `progress(report)` let a terminal show a progress bar. With `concurrency=1` feeds
        are stored in order, so which outlet's copy of a story is its first report is fixed.
        """
        now = now or _now()
        async with self.db.new_session() as session:
            if only_due:
                due = await feeds.due_feeds(session, now)
            else:
                due = [feed for feed in await feeds.all_feeds(session) if feed.enabled]
        if on_start is not None:
            on_start(len(due))
        async with new_client(allow_private=self.allow_private_feeds) as client:
            return await pipeline.poll(
                self.db,
                client,
                due,
                self.themes,
                now,
                concurrency=concurrency,
                total_seconds=total_seconds,
                progress=progress,
                llm=self.llm,
                parser=self._parser_pool(len(due)),
            )

    def _parser_pool(self, feeds_due: int) -> ProcessPoolExecutor | None:
        """Worker processes for `pipeline.prepare` (feedparser and HTML cleaning) when a
        poll is large enough to keep every core busy.

        That work is pure CPU under the GIL; in other processes it runs beside the fetching
        and storing. Small polls (the bot's minute tick) prepare feeds in a thread instead.
        """
        cores = os.cpu_count() or 1
        if feeds_due < PARALLEL_PARSE_FEEDS or cores < 2:
            return None
        if self._parsers is None:
            self._parsers = worker_pool(cores)
        return self._parsers

    # Feed management (admins)

    async def feed_health(self, now: datetime | None = None) -> list[FeedHealth]:
        """Each managed feed: last success, last error, failures, next check, posts in 7 days."""
        return await manage.feed_health(self.db, now or _now())

    async def add_feed(
        self, url: str, *, allow_private: bool = False, name: str | None = None
    ) -> AddedFeed:
        """Fetch `url` once and add it; raise a `TrendbotError` saying why it can't be used."""
        return await manage.add_feed(self.db, url, _now(), allow_private=allow_private, name=name)

    async def remove_feed(self, url_or_id: str) -> RemovedFeed | None:
        """Stop polling a feed (by URL or `/feeds` id); None if there is no such feed."""
        return await manage.remove_feed(self.db, url_or_id)

    async def import_opml(self, content: bytes, *, allow_private: bool = False) -> ImportReport:
        return await manage.import_opml(self.db, content, _now(), allow_private=allow_private)

    async def export_opml(self) -> bytes:
        return await manage.export_opml(self.db)

    # Subscribers

    async def subscribe(
        self, chat_id: int, chat_type: str, *, title: str | None = None, language: str = "en"
    ) -> bool:
        """Subscribe a chat; False when it was already subscribed."""
        chat = self._new_chat(chat_id, chat_type, title, language)
        async with self.db.new_session() as session, session.begin():
            _, changed = await subscribers.subscribe(session, chat)
            return changed

    def _new_chat(
        self, chat_id: int, chat_type: str, title: str | None, language: str
    ) -> subscribers.NewChat:
        return subscribers.NewChat(
            chat_id=chat_id,
            chat_type=chat_type,
            title=title,
            language=language,
            now=_now(),
            digest_day=self.defaults.weekday,
            digest_hour=self.defaults.hour,
            timezone=self.defaults.timezone,
        )

    async def unsubscribe(self, chat_id: int) -> bool:
        async with self.db.new_session() as session, session.begin():
            return await subscribers.unsubscribe(session, chat_id)

    # Archive queries

    async def trend_page(
        self, trend: Trend, *, limit: int = 5, offset: int = 0, days: int | None = None
    ) -> TrendPage:
        since = _now() - timedelta(days=days) if days else None
        async with self.db.new_session() as session:
            found, total = await posts.newest_by_trend(
                session, trend.number, limit=limit, offset=offset, since=since
            )
        return TrendPage(trend=trend, posts=found, total=total, offset=offset)

    async def newest_post_time(self) -> datetime | None:
        async with self.db.new_session() as session:
            return await posts.newest_published(session)

    async def weekly_counts(
        self, now: datetime | None = None
    ) -> tuple[dict[int, int], dict[int, int]]:
        """Stories per trend in the last seven days, and in the seven days before."""
        now = now or _now()
        async with self.db.new_session() as session:
            this_week = await posts.trend_counts(session, now - DIGEST_WINDOW, now)
            last_week = await posts.trend_counts(
                session, now - 2 * DIGEST_WINDOW, now - DIGEST_WINDOW
            )
        return this_week, last_week

    # Digests

    async def digest(
        self,
        *,
        until: datetime | None = None,
        trends: list[int] | None = None,
        key: str = "preview",
        cadence: str = "weekly",
    ) -> Digest:
        """The digest of the period up to `until` (seven days, or one for a daily digest),
        for the given trends (default all); its counts compare it with the period before."""
        until = until or _now()
        window = DAILY_WINDOW if cadence == "daily" else DIGEST_WINDOW
        since = until - window
        followed = [t for t in self.themes.trends if trends is None or t.number in trends]
        async with self.db.new_session() as session:
            found = await posts.posts_in_window(session, since, until, [t.number for t in followed])
            # This week, last week and the chart's weeks before them, in one grouped query.
            weekly = await posts.weekly_trend_counts(session, until, HISTORY_WEEKS)
            if window == DIGEST_WINDOW:
                counts = {trend: weeks[-1] for trend, weeks in weekly.items()}
                previous = {trend: weeks[-2] for trend, weeks in weekly.items()}
            else:
                counts = await posts.trend_counts(session, since, until)
                previous = await posts.trend_counts(session, since - window, since)
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

    async def due_digests(self, now: datetime | None = None) -> list[DueDigest]:
        """Active subscribers whose digest time has come and who have not had this one."""
        # A chat that subscribes after this period's slot waits for the next one.
        current = await self.current_digests(now)
        return [item for item in current if item.slot >= item.subscriber.created_at]

    async def current_digests(
        self, now: datetime | None = None, *, include_settled: bool = False
    ) -> list[DueDigest]:
        """Each active subscriber's digest of the period that is current at `now`.

        The key names the subscriber's own period (local time zone, daily or weekly), so
        the scheduler and `trendbot digest --send-now` share one ledger row per period.
        Digests already sent (or given up) are left out unless `include_settled`.
        """
        now = now or _now()
        current = []
        async with self.db.new_session() as session:
            for subscriber, prefs in await subscribers.active_subscribers(session):
                slot = schedule.digest_slot(
                    now, prefs.cadence, prefs.digest_day, prefs.digest_hour, prefs.timezone
                )
                if slot is not None:
                    key = digest_key(prefs.cadence, slot)
                    current.append(DueDigest(subscriber, prefs, key, slot))
            if include_settled:
                return current
            done = await deliveries.settled(session, {item.key for item in current})
        return [item for item in current if (item.subscriber.id, item.key) not in done]

    # Broadcasts (deliveries themselves are recorded by trends/delivery/ledger.py)

    async def start_broadcast(self, key: str) -> int:
        async with self.db.new_session() as session, session.begin():
            return await broadcasts.start(session, key, _now())

    async def finish_broadcast(self, broadcast_id: int, counts: dict[str, int]) -> None:
        async with self.db.new_session() as session, session.begin():
            await broadcasts.finish(session, broadcast_id, _now(), counts)

    async def stats(self, now: datetime | None = None) -> Stats:
        """Subscribers, posts this week, feed health and the last broadcast, for /stats."""
        return await collect_stats(self.db, now or _now())

    # -- Settings, forum-topic routes and instant alerts (/settings, /route, alerts) --

    async def chat_settings(self, chat_id: int) -> ChatSettings | None:
        async with self.db.new_session() as session:
            return await preferences.settings_of(session, chat_id)

    async def ensure_settings(
        self, chat_id: int, chat_type: str, *, title: str | None = None, language: str = "en"
    ) -> ChatSettings:
        """The chat's settings, creating them (unsubscribed) the first time it opens them."""
        chat = self._new_chat(chat_id, chat_type, title, language)
        async with self.db.new_session() as session, session.begin():
            return await preferences.ensure_settings(session, chat)

    async def change_settings(
        self, chat_id: int, change: SettingsChange
    ) -> tuple[ChatSettings, bool] | None:
        """Apply one change; (new settings, whether anything changed), None if no settings.
        Raises `InvalidSetting` for a value that is not allowed."""
        async with self.db.new_session() as session, session.begin():
            return await preferences.change_settings(session, chat_id, change)

    async def chosen_language(self, chat_id: int) -> str | None:
        async with self.db.new_session() as session:
            return await preferences.chosen_language(session, chat_id)

    async def chat_language(self, chat_id: int) -> str | None:
        """For messages the bot starts (admin notices): chosen, else first seen."""
        async with self.db.new_session() as session:
            return await preferences.chat_language(session, chat_id)

    async def set_route(self, subscriber_id: int, trend: int, thread_id: int) -> None:
        async with self.db.new_session() as session, session.begin():
            await routes.set_route(session, subscriber_id, trend, thread_id)

    async def clear_route(self, subscriber_id: int, trend: int | None = None) -> int:
        async with self.db.new_session() as session, session.begin():
            return await routes.clear_route(session, subscriber_id, trend)

    async def topic_routes(self, subscriber_ids: Iterable[int]) -> dict[int, dict[int, int]]:
        """subscriber id → {trend: forum thread id}."""
        async with self.db.new_session() as session:
            return await routes.routes_of(session, subscriber_ids)

    async def due_alerts(self, policy: AlertPolicy, now: datetime | None = None) -> list[DueAlert]:
        async with self.db.new_session() as session:
            return await alerts.due_alerts(session, now or _now(), policy)

    async def claim_alert(
        self, subscriber_id: int, post_id: int, per_hour: int, now: datetime | None = None
    ) -> bool:
        async with self.db.new_session() as session, session.begin():
            return await alerts.claim_alert(
                session, subscriber_id, post_id, now or _now(), per_hour
            )


def _now() -> datetime:
    return datetime.now(UTC)
