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
    "add_feed",
    "export_opml",
    "feed_health",
    "import_opml",
    "remove_feed",
]

HEALTH_WINDOW = timedelta(days=7)


@dataclass(frozen=True, slots=True)
class FeedHealth:
    """One line of `/feeds`: `number` is what `/removefeed N` takes."""

    number: int
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
    url: str
    title: str
    items: int


@dataclass(slots=True)
class ImportReport:
    added: list[str] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (url, why)


async def feed_health(db: Database, now: datetime) -> list[FeedHealth]:
    """Every managed feed with its record, numbered in the order `/removefeed N` uses."""
    async with db.new_session() as session:
        rows = await feed_store.listed_feeds(session)
        counts = await feed_store.posts_since_by_feed(session, now - HEALTH_WINDOW)
    return [
        FeedHealth(
            number=number,
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
        for number, row in enumerate(rows, start=1)
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
    """Fetch `url` once; store it if it is a usable feed, else raise a `TrendbotError`."""
    url = await check_feed_url(url, allow_private=allow_private)

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
    title = parsed.title or urlsplit(final_url).hostname or final_url
    spec = FeedSpec(url=final_url, name=(name or title)[:200], language=language)
    async with db.new_session() as session, session.begin():
        await feed_store.add_feed(session, spec, now)
    return AddedFeed(url=final_url, title=title, items=len(parsed.entries))


async def remove_feed(db: Database, url_or_number: str, now: datetime) -> str | None:
    """Remove a feed given its URL or its `/feeds` number; its URL, or None if not found."""
    target = url_or_number.strip()
    if target.isdigit():
        listed = await feed_health(db, now)
        found = next((feed for feed in listed if feed.number == int(target)), None)
        if found is None:
            return None
        target = found.url
    async with db.new_session() as session, session.begin():
        return target if await feed_store.remove_feed(session, target) else None


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
