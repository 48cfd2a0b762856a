"""Feeds: the configured list, polling, and management for admins (the health list, add
after one trial fetch, remove, OPML).

The bot's admin commands, `trendbot feeds` and `trendbot poll` all call `FeedsService`.
Every URL an admin hands in passes the SSRF guard, redirect targets included.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from urllib.parse import urlsplit

from trends import clock
from trends.delivery.periods import WEEK
from trends.errors import TrendbotError
from trends.feedlist import load_feed_specs
from trends.ingest import pipeline
from trends.ingest.fetch import CONCURRENCY, TOTAL_SECONDS, fetch, new_client
from trends.ingest.llm import LLMEnricher
from trends.ingest.parse import parse
from trends.ingest.report import FeedReport, PollReport
from trends.ingest.safety import check_feed_url, refuse_entity_declarations
from trends.ingest.workers import worker_pool
from trends.models import FeedSpec
from trends.opml import read_opml, write_opml
from trends.services.leases import DEFAULT_LEASE_SECONDS, process_owner, renewing
from trends.store import feeds as feed_store
from trends.store import leases as lease_store
from trends.store.db import Database
from trends.themes import Themes

__all__ = ["AddedFeed", "FeedHealth", "FeedsService", "ImportReport", "RemovedFeed"]

PARALLEL_PARSE_FEEDS = 50  # polls of this many feeds parse in worker processes
_MAX_ID_DIGITS = 18  # below BIGINT's limit: a longer "id" can't be one of ours


@dataclass(frozen=True, slots=True)
class FeedHealth:
    """One line of `/feeds`: `id` is what `/removefeed ID` takes; it never changes, so
    removing one feed leaves every other feed's id as it was."""

    id: int
    url: str
    name: str
    language: str
    enabled: bool
    last_success_at: datetime | None
    last_error: str | None
    last_error_at: datetime | None
    consecutive_failures: int
    next_check_at: datetime | None
    posts_7d: int
    disabled_reason: str | None = None


@dataclass(frozen=True, slots=True)
class AddedFeed:
    """A feed `/addfeed` stored, or found already listed (then nothing was changed)."""

    url: str
    title: str
    items: int
    id: int
    already_listed: bool = False


@dataclass(frozen=True, slots=True)
class RemovedFeed:
    """The feed `/removefeed` named; `already` when an earlier removal took it out."""

    url: str
    name: str
    already: bool = False


@dataclass(slots=True)
class ImportReport:
    added: list[str] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (url, why)


class FeedsService:
    def __init__(
        self,
        db: Database,
        themes: Themes,
        *,
        feeds_path: Path | None = None,
        llm: LLMEnricher | None = None,
        allow_private_feeds: bool = False,
        owner: str | None = None,
        lease_seconds: float = DEFAULT_LEASE_SECONDS,
    ) -> None:
        self.db = db
        self.themes = themes
        self.feeds_path = feeds_path
        self.llm = llm
        # TRENDBOT_ALLOW_PRIVATE_FEEDS, applied to every connection of every poll: a feed
        # added while it was set is refused once it is not.
        self.allow_private_feeds = allow_private_feeds
        self._parsers: ProcessPoolExecutor | None = None  # see _parser_pool
        # Every poll claims its feeds with this owner's lease (trends/store/leases.py), so
        # the bot and any number of `trendbot worker`s never fetch one feed at once.
        self.owner = owner or process_owner()
        self.lease_seconds = lease_seconds

    def close(self) -> None:
        if self._parsers is not None:
            self._parsers.shutdown(cancel_futures=True)

    async def sync_configured(self, now: datetime | None = None) -> int:
        """Register the feeds file's feeds (TRENDBOT_FEEDS); how many were new."""
        if self.feeds_path is None:
            return 0
        specs = load_feed_specs(self.feeds_path)
        # Two processes starting at once would both insert the new feeds: one at a time.
        async with self.db.startup_lock(), self.db.new_session() as session, session.begin():
            return await feed_store.sync_feeds(session, specs, now or clock.utcnow())

    async def poll(
        self,
        *,
        only_due: bool = True,
        now: datetime | None = None,
        total_seconds: float = TOTAL_SECONDS,
        concurrency: int = CONCURRENCY,
        limit: int | None = None,
        on_start: Callable[[int], object] | None = None,
        progress: Callable[[FeedReport], object] | None = None,
    ) -> PollReport:
        """Poll the feeds whose time has come (or all enabled feeds) and store new posts.

        Only feeds no other poller holds are taken (at most `limit`), each under this
        process's lease until its poll is stored. `total_seconds` bounds each feed's
        download; `on_start(count)` and `progress(report)` let a terminal show a progress
        bar. With `concurrency=1` feeds are stored in order, so which outlet's copy of a
        story is its first report is fixed.
        """
        now = now or clock.utcnow()
        lease = timedelta(seconds=self.lease_seconds)
        # The lease runs on the real clock: `now` may be a chosen moment (the demo's).
        async with self.db.new_session() as session, session.begin():
            taken = clock.utcnow()
            due = await lease_store.claim_feeds(
                session, self.owner, taken, taken + lease, due_at=now if only_due else None,
                limit=limit,
            )  # fmt: skip
        if on_start is not None:
            on_start(len(due))
        if not due:
            return PollReport(feeds=[])
        ids = [feed.id for feed in due]

        async def renew() -> bool:
            async with self.db.new_session() as session, session.begin():
                expires = clock.utcnow() + lease
                await lease_store.renew_feeds(session, self.owner, ids, expires)
            # A lease lost meanwhile (this process stalled past its expiry and another
            # poller claimed the feed) can't be taken back: this poll still finishes.
            return True

        try:
            async with (
                renewing(renew, self.lease_seconds / 3),
                new_client(allow_private=self.allow_private_feeds) as client,
            ):
                run = pipeline.PollRun(
                    self.db,
                    client,
                    self.themes,
                    now,
                    total_seconds=total_seconds,
                    llm=self.llm,
                    # A feed with validators mostly answers 304 and needs no parse; worker
                    # processes take seconds to start (imports): only likely parses count.
                    parser=self._parser_pool(sum(not (f.etag or f.last_modified) for f in due)),
                )
                return await pipeline.poll(run, due, concurrency=concurrency, progress=progress)
        finally:
            # After the poll is stored (the 304s too, at its end): released earlier, a feed
            # could be claimed again before its next check was written.
            async with self.db.new_session() as session, session.begin():
                await lease_store.release_feeds(session, self.owner, ids)

    def _parser_pool(self, feeds_to_parse: int) -> ProcessPoolExecutor | None:
        """Worker processes for `pipeline.prepare` (feedparser and HTML cleaning) when a
        poll has enough feeds to parse to keep every core busy.

        That work is pure CPU under the GIL; in other processes it runs beside the fetching
        and storing. Small polls (the bot's minute tick) prepare feeds in a thread instead.
        """
        cores = os.cpu_count() or 1
        if feeds_to_parse < PARALLEL_PARSE_FEEDS or cores < 2:
            return None
        if self._parsers is None:
            self._parsers = worker_pool(cores)
        return self._parsers

    async def health(self, now: datetime | None = None) -> list[FeedHealth]:
        """Every managed feed with its record, by id."""
        now = now or clock.utcnow()
        async with self.db.new_session() as session:
            rows = await feed_store.listed_feeds(session)
            counts = await feed_store.posts_published_by_feed(session, now - WEEK, now)
        return [
            FeedHealth(
                id=row.id,
                url=row.url,
                name=row.name,
                language=row.language,
                enabled=row.enabled,
                last_success_at=row.last_success_at,
                last_error=row.last_error,
                last_error_at=row.last_error_at,
                consecutive_failures=row.consecutive_failures,
                next_check_at=row.next_check_at,
                posts_7d=counts.get(row.id, 0),
                disabled_reason=row.disabled_reason,
            )
            for row in rows
        ]

    async def add(
        self,
        url: str,
        *,
        allow_private: bool = False,
        name: str | None = None,
        language: str = "en",
        total_seconds: float = 30.0,
    ) -> AddedFeed:
        """Fetch `url` once; store it if it is a usable feed, else raise a `TrendbotError`.

        A feed that is already listed and polled is left as it is (`already_listed`).
        """
        url = await check_feed_url(url, allow_private=allow_private)
        if (listed := await self._listed(url)) is not None:
            return listed

        async def guard(target: str) -> None:
            await check_feed_url(target, allow_private=allow_private)

        # The guard vets each URL's name early, with a clear message; the client checks the
        # address each connection really goes to.
        async with new_client(allow_private=allow_private) as client:
            fetched = await fetch(client, url, check_url=guard, total_seconds=total_seconds)
        refuse_entity_declarations(fetched.content)
        parsed = await asyncio.to_thread(
            parse, fetched.content, url=fetched.url, content_type=fetched.content_type
        )
        final_url = fetched.permanent_redirect or url
        if final_url != url and (listed := await self._listed(final_url)) is not None:
            return listed  # the address given redirects to a feed already in the list
        title = parsed.title or urlsplit(final_url).hostname or final_url
        spec = FeedSpec(url=final_url, name=(name or title)[:200], language=language)
        async with self.db.new_session() as session, session.begin():
            row = await feed_store.add_feed(session, spec, clock.utcnow())
        return AddedFeed(url=final_url, title=title, items=len(parsed.entries), id=row.id)

    async def _listed(self, url: str) -> AddedFeed | None:
        """The feed at `url` if it is listed and polled (a removed or disabled one may come
        back)."""
        async with self.db.new_session() as session:
            row = await feed_store.feed_by_url(session, url)
            if row is None or not row.enabled:
                return None
            items = await feed_store.post_count(session, row.id)
        return AddedFeed(url=row.url, title=row.name, items=items, id=row.id, already_listed=True)

    async def remove(self, url_or_id: str) -> RemovedFeed | None:
        """Remove a feed given its URL or its `/feeds` id; None when there never was one."""
        target = url_or_id.strip()
        async with self.db.new_session() as session, session.begin():
            if target.isascii() and target.isdigit():
                if len(target) > _MAX_ID_DIGITS:
                    return None
                row = await feed_store.feed_by_id(session, int(target))
            else:
                row = await feed_store.feed_by_url(session, target)
            if row is None:
                return None
            if row.disabled_reason == feed_store.REMOVED:
                return RemovedFeed(url=row.url, name=row.name, already=True)
            await feed_store.remove_feed(session, row.url)
            return RemovedFeed(url=row.url, name=row.name)

    async def import_opml(self, content: bytes, *, allow_private: bool = False) -> ImportReport:
        """Add every safe feed the OPML lists; the others are reported with the reason."""
        report = ImportReport()
        specs = read_opml(content)
        now = clock.utcnow()
        async with self.db.new_session() as session, session.begin():
            for spec in specs:
                try:
                    await check_feed_url(spec.url, allow_private=allow_private)
                except TrendbotError as exc:
                    report.skipped.append((spec.url, str(exc)))
                    continue
                existing = await feed_store.feed_by_url(session, spec.url)
                if existing is not None and existing.disabled_reason != feed_store.REMOVED:
                    report.skipped.append((spec.url, "already in the list"))
                    continue
                await feed_store.add_feed(session, spec, now)
                report.added.append(spec.url)
        return report

    async def export_opml(self) -> bytes:
        """The managed feeds that are polled, as an OPML document."""
        async with self.db.new_session() as session:
            rows = [row for row in await feed_store.listed_feeds(session) if row.enabled]
        return write_opml([FeedSpec(url=r.url, name=r.name, language=r.language) for r in rows])
