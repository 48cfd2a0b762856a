"""Feed management for admins: the health list, add (after one trial fetch), remove, OPML.

`TrendService` exposes these; the bot's admin commands and `trendbot feeds` both call it.
Every URL an admin hands in passes the SSRF guard, redirect targets included.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from urllib.parse import urlsplit

from trends.errors import TrendbotError
from trends.ingest.fetch import fetch, new_client
from trends.ingest.parse import parse
from trends.ingest.safety import check_feed_url, refuse_entity_declarations
from trends.models import FeedSpec
from trends.opml import read_opml, write_opml
from trends.store import feeds as feed_store
from trends.store.db import Database

__all__ = [
    "AddedFeed",
    "FeedHealth",
    "ImportReport",
    "RemovedFeed",
    "add_feed",
    "export_opml",
    "feed_health",
    "import_opml",
    "remove_feed",
]

HEALTH_WINDOW = timedelta(days=7)
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


async def feed_health(db: Database, now: datetime) -> list[FeedHealth]:
    """Every managed feed with its record, by id."""
    async with db.new_session() as session:
        rows = await feed_store.listed_feeds(session)
        counts = await feed_store.posts_published_by_feed(session, now - HEALTH_WINDOW, now)
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


async def add_feed(
    db: Database,
    url: str,
    now: datetime,
    *,
    allow_private: bool,
    name: str | None = None,
    language: str = "en",
    total_seconds: float = 30.0,
) -> AddedFeed:
    """Fetch `url` once; store it if it is a usable feed, else raise a `TrendbotError`.

    A feed that is already listed and polled is left as it is (`already_listed`).
    """
    url = await check_feed_url(url, allow_private=allow_private)
    if (listed := await _listed(db, url)) is not None:
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
    if final_url != url and (listed := await _listed(db, final_url)) is not None:
        return listed  # the address given redirects to a feed already in the list
    title = parsed.title or urlsplit(final_url).hostname or final_url
    spec = FeedSpec(url=final_url, name=(name or title)[:200], language=language)
    async with db.new_session() as session, session.begin():
        row = await feed_store.add_feed(session, spec, now)
    return AddedFeed(url=final_url, title=title, items=len(parsed.entries), id=row.id)


async def _listed(db: Database, url: str) -> AddedFeed | None:
    """The feed at `url` if it is listed and polled (a removed or disabled one may come back)."""
    async with db.new_session() as session:
        row = await feed_store.feed_by_url(session, url)
        if row is None or not row.enabled:
            return None
        items = await feed_store.post_count(session, row.id)
    return AddedFeed(url=row.url, title=row.name, items=items, id=row.id, already_listed=True)


async def remove_feed(db: Database, url_or_id: str) -> RemovedFeed | None:
    """Remove a feed given its URL or its `/feeds` id; None when there never was one."""
    target = url_or_id.strip()
    async with db.new_session() as session, session.begin():
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


async def import_opml(
    db: Database, content: bytes, now: datetime, *, allow_private: bool
) -> ImportReport:
    """Add every safe feed the OPML lists; the others are reported with the reason."""
    report = ImportReport()
    specs = read_opml(content)
    async with db.new_session() as session, session.begin():
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


async def export_opml(db: Database) -> bytes:
    """The managed feeds that are polled, as an OPML document."""
    async with db.new_session() as session:
        rows = [row for row in await feed_store.listed_feeds(session) if row.enabled]
    return write_opml([FeedSpec(url=r.url, name=r.name, language=r.language) for r in rows])
