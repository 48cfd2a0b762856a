"""Ingest: feed → fetch → parse → normalise → dedup → summarise → tag → store.

`refresh_feed` reads top to bottom like the flow above. Whatever goes wrong with one feed is
written onto that feed's row and returned in its report; the rest of a poll goes on.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Literal

import httpx
import numpy as np
from sqlalchemy.exc import IntegrityError

from trends import dedup, schedule
from trends.errors import RateLimited, TrendbotError
from trends.fetch import fetch
from trends.models import Post
from trends.normalise import normalise
from trends.parse import parse
from trends.store import posts as post_store
from trends.store.db import Database
from trends.store.schema import FeedRow
from trends.summarise import summarise
from trends.tag import tag
from trends.themes import Themes

__all__ = ["DIGEST_WINDOW", "FeedReport", "PollReport", "enrich", "poll", "refresh_feed"]

log = logging.getLogger(__name__)

DIGEST_WINDOW = timedelta(days=7)


@dataclass(slots=True)
class FeedReport:
    url: str
    name: str
    status: Literal["fetched", "not_modified", "failed"]
    new_posts: int = 0
    duplicates: int = 0
    error: str | None = None
    warning: str | None = None


@dataclass(slots=True)
class PollReport:
    feeds: list[FeedReport] = field(default_factory=list)

    def count(self, status: str) -> int:
        return sum(1 for feed in self.feeds if feed.status == status)

    @property
    def new_posts(self) -> int:
        return sum(feed.new_posts for feed in self.feeds)

    @property
    def duplicates(self) -> int:
        return sum(feed.duplicates for feed in self.feeds)

    def to_json(self) -> dict[str, object]:
        """The shape `trendbot poll --once --json` prints; scripts depend on it."""
        return {
            "fetched": self.count("fetched"),
            "not_modified": self.count("not_modified"),
            "failed": [
                {"url": feed.url, "error": feed.error}
                for feed in self.feeds
                if feed.status == "failed"
            ],
            "new_posts": self.new_posts,
            "duplicates": self.duplicates,
        }


async def poll(
    db: Database,
    client: httpx.AsyncClient,
    feeds: Sequence[FeedRow],
    themes: Themes,
    now: datetime,
    *,
    concurrency: int = 10,
) -> PollReport:
    """Refresh `feeds` concurrently (bounded); one report per feed, in the given order."""
    gate = asyncio.Semaphore(concurrency)

    async def one(feed: FeedRow) -> FeedReport:
        async with gate:
            return await refresh_feed(db, client, feed, themes, now)

    return PollReport(feeds=list(await asyncio.gather(*(one(feed) for feed in feeds))))


async def refresh_feed(
    db: Database, client: httpx.AsyncClient, feed: FeedRow, themes: Themes, now: datetime
) -> FeedReport:
    """Fetch one feed and store its new posts; failures are recorded on the feed."""
    first_fetch = feed.last_success_at is None
    try:
        fetched = await fetch(client, feed.url, etag=feed.etag, last_modified=feed.last_modified)
        if fetched.not_modified:
            await _record_success(db, feed.id, now, fetched.etag, fetched.last_modified, None)
            return FeedReport(feed.url, feed.name, "not_modified")
        parsed = await asyncio.to_thread(
            parse, fetched.content, url=fetched.url, content_type=fetched.content_type
        )
    except TrendbotError as exc:
        await _record_failure(db, feed.id, now, exc)
        return FeedReport(feed.url, feed.name, "failed", error=str(exc) or exc.key)
    posts = normalise(
        parsed.entries,
        source=feed.name,
        language=feed.language,
        fetched_at=now,
        ai_source=feed.ai_source,
    )
    prepared = await asyncio.to_thread(enrich, posts, themes)
    new, duplicates = await _store(db, feed.id, prepared, now, first_fetch)
    await _record_success(
        db,
        feed.id,
        now,
        fetched.etag,
        fetched.last_modified,
        parsed.title,
        cache_control=fetched.headers.get("cache-control"),
    )
    if parsed.warning:
        log.warning("feed %s: %s", feed.url, parsed.warning)
    return FeedReport(feed.url, feed.name, "fetched", new, duplicates, warning=parsed.warning)


def enrich(posts: list[Post], themes: Themes) -> list[tuple[Post, np.ndarray]]:
    """Summarise, tag and sign each post: the CPU-bound part, run off the event loop."""
    enriched = []
    for post in posts:
        post.summary = summarise(post.text, post.title)
        post.trends = tag(post.title, post.text, themes, ai_source=post.ai_source)
        enriched.append((post, dedup.story_signature(post.title, post.text)))
    return enriched


async def _store(
    db: Database,
    feed_id: int,
    prepared: list[tuple[Post, np.ndarray]],
    now: datetime,
    first_fetch: bool,
) -> tuple[int, int]:
    """Store posts not seen before; a near-duplicate joins the cluster of its first report."""
    new = duplicates = 0
    window_start = now - DIGEST_WINDOW
    async with db.new_session() as session, session.begin():
        for post, signature in prepared:
            if await post_store.is_known(session, feed_id, post):
                duplicates += 1
                continue
            keys = dedup.band_keys(signature)
            cluster_id = await _cluster_of(session, keys, signature)
            # A new feed's back catalogue is archived for /trend but kept out of digests.
            in_digests = post.published is not None and post.published >= window_start
            in_digests = in_digests and not (first_fetch and post.published == now)
            try:
                async with session.begin_nested():
                    await post_store.insert_post(
                        session,
                        post,
                        feed_id=feed_id,
                        fetched_at=now,
                        cluster_id=cluster_id,
                        minhash=signature.tobytes(),
                        band_keys=keys,
                        in_digests=in_digests,
                    )
            except IntegrityError:  # stored meanwhile by a concurrent poll of another feed
                duplicates += 1
                continue
            if cluster_id is None:
                new += 1
            else:
                duplicates += 1
    return new, duplicates


async def _cluster_of(session: object, keys: list[int], signature: np.ndarray) -> int | None:
    best_score, best_cluster = 0.0, None
    for post_id, cluster_id, stored in await post_store.candidates_by_bands(session, keys):  # type: ignore[arg-type]
        if stored is None:
            continue
        score = dedup.similarity(signature, np.frombuffer(stored, dtype=signature.dtype))
        if score >= dedup.THRESHOLD and score > best_score:
            best_score, best_cluster = score, cluster_id or post_id
    return best_cluster


async def _record_success(
    db: Database,
    feed_id: int,
    now: datetime,
    etag: str | None,
    last_modified: str | None,
    title: str | None,
    *,
    cache_control: str | None = None,
) -> None:
    async with db.new_session() as session, session.begin():
        feed = await session.get(FeedRow, feed_id)
        if feed is None:
            return
        feed.etag, feed.last_modified = etag or feed.etag, last_modified or feed.last_modified
        feed.title = title or feed.title
        feed.last_success_at = now
        feed.consecutive_failures = 0
        feed.next_check_at = schedule.next_check_after_success(
            now, feed.poll_minutes, cache_control=cache_control
        )


async def _record_failure(db: Database, feed_id: int, now: datetime, error: TrendbotError) -> None:
    retry_after = error.retry_after if isinstance(error, RateLimited) else None
    async with db.new_session() as session, session.begin():
        feed = await session.get(FeedRow, feed_id)
        if feed is None:
            return
        feed.consecutive_failures += 1
        feed.last_error = str(error) or error.key
        feed.last_error_at = now
        feed.next_check_at = schedule.next_check_after_failure(
            now, feed.poll_minutes, feed.consecutive_failures, retry_after=retry_after
        )
    log.info("feed %s failed (%s): %s", feed_id, type(error).__name__, error)
