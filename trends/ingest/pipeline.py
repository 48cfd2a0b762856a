"""Ingest: feed → fetch → parse → normalise → dedup → summarise → tag → store.

`refresh_feed` reads top to bottom like the flow above. Whatever goes wrong with one feed is
written onto that feed's row and returned in its report; the rest of a poll goes on.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import functools
import logging
from collections.abc import Callable, Sequence
from concurrent.futures import Executor
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Literal

import httpx
import numpy as np
from sqlalchemy.ext.asyncio import AsyncSession

from trends.errors import FeedGone, RateLimited, TrendbotError
from trends.ingest import dedup, schedule, stories
from trends.ingest.fetch import CONCURRENCY, PER_HOST, TOTAL_SECONDS, FetchResult, HostLimits, fetch
from trends.ingest.llm import LLMEnricher
from trends.ingest.normalise import normalise
from trends.ingest.parse import parse
from trends.ingest.safety import refuse_entity_declarations
from trends.ingest.summarise import summarise
from trends.ingest.tag import tag
from trends.ingest.text import safe_text
from trends.models import ParsedFeed, Post
from trends.store import feeds as feed_store
from trends.store import posts as post_store
from trends.store.db import Database
from trends.store.schema import FeedRow
from trends.themes import Themes

__all__ = [
    "DIGEST_WINDOW",
    "FeedEvent",
    "FeedReport",
    "PollReport",
    "enrich",
    "poll",
    "prepare",
    "refresh_feed",
]

log = logging.getLogger(__name__)

DIGEST_WINDOW = timedelta(days=7)


@dataclass(frozen=True, slots=True)
class FeedEvent:
    """Something the admins should hear about a feed, once.

    `failing`: ALERT_AFTER_FAILURES failures in a row (with the last error); `recovered`:
    it works again after such an alert; `gone`: 410, so the feed was disabled.
    """

    kind: Literal["failing", "recovered", "gone"]
    url: str
    name: str
    error: str | None = None
    failures: int = 0


@dataclass(slots=True)
class FeedReport:
    url: str
    name: str
    status: Literal["fetched", "not_modified", "failed"]
    new_posts: int = 0
    duplicates: int = 0
    error: str | None = None
    warning: str | None = None
    moved_to: str | None = None  # the new URL after a permanent redirect
    event: FeedEvent | None = None
    error_kind: str | None = None  # the failure's TrendbotError.key, e.g. "fetch.timeout"


_Unmodified = tuple[int, FeedReport, FetchResult]  # (feed id, its report, the 304)


@dataclass(slots=True)
class PollReport:
    feeds: list[FeedReport] = field(default_factory=list)

    def count(self, status: str) -> int:
        return sum(1 for feed in self.feeds if feed.status == status)

    @property
    def events(self) -> list[FeedEvent]:
        """What the admins should be told after this poll."""
        return [feed.event for feed in self.feeds if feed.event is not None]

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
    concurrency: int = CONCURRENCY,
    per_host: int = PER_HOST,
    total_seconds: float = TOTAL_SECONDS,
    progress: Callable[[FeedReport], object] | None = None,
    parser: Executor | None = None,
    llm: LLMEnricher | None = None,
) -> PollReport:
    """Refresh `feeds` concurrently (bounded overall and per host); reports in given order."""
    gate = asyncio.Semaphore(concurrency)
    hosts = HostLimits(per_host)
    # SQLite has one writer: a transaction that read first and then writes fails at once
    # ("database is locked") when another wrote meanwhile, so a poll writes one at a time.
    writes = asyncio.Lock()
    unmodified: list[_Unmodified] = []

    async def one(feed: FeedRow) -> FeedReport:
        async with gate:
            try:
                report = await refresh_feed(
                    db,
                    client,
                    feed,
                    themes,
                    now,
                    hosts=hosts,
                    total_seconds=total_seconds,
                    llm=llm,
                    writes=writes,
                    unmodified=unmodified,
                    parser=parser,
                )
            except Exception as exc:  # a bug one feed triggers must not end everyone's poll
                report = await _unexpected_failure(db, feed, now, exc, writes)
        if progress is not None:
            progress(report)
        return report

    reports = list(await asyncio.gather(*(one(feed) for feed in feeds)))
    await _record_unmodified(db, unmodified, now)
    return PollReport(feeds=reports)


async def refresh_feed(
    db: Database,
    client: httpx.AsyncClient,
    feed: FeedRow,
    themes: Themes,
    now: datetime,
    *,
    hosts: HostLimits | None = None,
    total_seconds: float = TOTAL_SECONDS,
    llm: LLMEnricher | None = None,
    writes: asyncio.Lock | None = None,
    unmodified: list[_Unmodified] | None = None,
    parser: Executor | None = None,
) -> FeedReport:
    """Fetch one feed and store its new posts; failures are recorded on the feed."""
    first_fetch = feed.last_success_at is None
    writing = writes or contextlib.nullcontext()
    try:
        fetched = await fetch(
            client,
            feed.url,
            etag=feed.etag,
            last_modified=feed.last_modified,
            hosts=hosts,
            total_seconds=total_seconds,
        )
        if fetched.not_modified:  # costs no parse: only the schedule moves on
            report = FeedReport(feed.url, feed.name, "not_modified")
            if unmodified is not None:  # recorded with the others, in one transaction
                unmodified.append((feed.id, report, fetched))
                return report
            async with writing, db.new_session() as session, session.begin():
                report.event = await _record_success(session, feed.id, now, fetched, None)
            return report
        refuse_entity_declarations(fetched.content)
        # Parsing and cleaning HTML are CPU-bound: one call in a worker thread by default,
        # in other processes (cores) if given.
        parsed, posts = await asyncio.get_running_loop().run_in_executor(
            parser,
            functools.partial(
                prepare,
                fetched.content,
                url=fetched.url,
                content_type=fetched.content_type,
                source=feed.name,
                language=feed.language,
                fetched_at=now,
                ai_source=feed.ai_source,
            ),
        )
    except TrendbotError as exc:
        async with writing:
            event = await _record_failure(db, feed.id, now, exc)
        return FeedReport(
            feed.url, feed.name, "failed", error=_message(exc), event=event, error_kind=exc.key
        )
    posts, known = await _unseen(db, feed.id, posts)  # known posts skip the costly enrich
    prepared = await asyncio.to_thread(enrich, posts, themes)
    if llm is not None:  # the model's tags and summary where it answers; the local ones stay
        await llm.enrich(posts, now)
    async with writing, db.new_session() as session, session.begin():  # one commit per feed
        new, duplicates = await _store(session, feed.id, prepared, now, first_fetch)
        duplicates += known
        event = await _record_success(session, feed.id, now, fetched, parsed)
    if parsed.warning:
        log.warning("feed %s: %s", feed.url, parsed.warning)
    return FeedReport(
        feed.url,
        feed.name,
        "fetched",
        new,
        duplicates,
        warning=parsed.warning,
        moved_to=fetched.permanent_redirect,
        event=event,
    )


async def _unseen(db: Database, feed_id: int, posts: list[Post]) -> tuple[list[Post], int]:
    """The posts not stored yet, and how many were already known."""
    async with db.new_session() as session:  # one query per feed, not one per post
        known = await post_store.known_among(session, feed_id, posts)
    fresh = [post for index, post in enumerate(posts) if index not in known]
    return fresh, len(posts) - len(fresh)


def prepare(
    content: bytes,
    *,
    url: str,
    content_type: str | None,
    source: str,
    language: str,
    fetched_at: datetime,
    ai_source: bool,
) -> tuple[ParsedFeed, list[Post]]:
    """Parse a feed and clean its entries into posts: the feed's CPU work before dedup.

    One call for a worker thread or process. The feed comes back without its raw entries:
    the posts carry what is kept, and a worker process need not send the HTML back.
    """
    parsed = parse(content, url=url, content_type=content_type)
    posts = normalise(
        parsed.entries,
        source=source,
        language=language,
        fetched_at=fetched_at,
        ai_source=ai_source,
    )
    return dataclasses.replace(parsed, entries=[]), posts


def enrich(posts: list[Post], themes: Themes) -> list[tuple[Post, np.ndarray | None]]:
    """Summarise, tag and sign each post: the CPU-bound part, run off the event loop."""
    enriched = []
    for post in posts:
        post.summary = summarise(post.text, post.title)
        post.trends = tag(post.title, post.text, themes, ai_source=post.ai_source)
        enriched.append((post, dedup.copy_signature(post.title, post.text)))
    return enriched


async def _store(
    session: AsyncSession,
    feed_id: int,
    prepared: list[tuple[Post, np.ndarray | None]],
    now: datetime,
    first_fetch: bool,
) -> tuple[int, int]:
    """Store posts not seen before, in the caller's transaction; a near-duplicate joins the
    cluster of its first report.

    A feed's new posts go in with a few batched statements: first reports, then the copies
    that point at a first report of the same batch (an aggregator links the FT and Reuters
    on the same news). A post stored meanwhile by a concurrent poll is skipped by the insert.
    """
    fresh = _distinct(prepared)
    duplicates = len(prepared) - len(fresh)
    if not fresh:
        return 0, duplicates
    reports = [
        stories.member(
            0,
            None,
            title=post.title,
            summary=post.summary,
            canonical_link=post.canonical_link,
            published=post.published,
            signature=signature,
        )
        for post, signature in fresh
    ]
    lookups = [stories.member_lookups(report) for report in reports]
    stored = await post_store.candidates_by_band(
        session, {key for post_keys in lookups for key in post_keys}
    )
    clusters = _clusters(reports, lookups, *stored)
    rows = [
        post_store.NewPost(
            post=post,
            cluster_id=cluster if cluster is None or cluster > 0 else None,
            minhash=signature.tobytes() if signature is not None else None,
            band_keys=stories.member_keys(report),
            in_digests=_reaches_digests(post, now, first_fetch),
        )
        for (post, signature), report, cluster in zip(fresh, reports, clusters, strict=True)
    ]
    stored_rows = await _insert_in_order(session, feed_id, rows, clusters, now)
    duplicates += len(rows) - len(stored_rows)
    clustered = sum(1 for row in stored_rows if row.cluster_id is not None)
    return len(stored_rows) - clustered, duplicates + clustered


def _clusters(
    reports: list[stories.Member],
    lookups: list[list[int]],
    candidates: list[post_store.Candidate],
    by_key: dict[int, list[int]],
) -> list[int | None]:
    """Each post's cluster: a stored post's id, -(i + 1) for post i of this batch, or None.

    The stored candidates go into the index first, oldest first, then the batch in order:
    the same `StoryIndex` analyze fills with its input, so both decide alike.
    """
    keys_of: dict[int, list[int]] = {}
    for key, ids in by_key.items():
        for post_id in ids:
            keys_of.setdefault(post_id, []).append(key)
    index = stories.StoryIndex()
    for candidate in sorted(candidates, key=lambda c: c.post_id):
        earlier = stories.member(
            candidate.post_id,
            candidate.cluster_id,
            title=candidate.title,
            summary=candidate.summary,
            canonical_link=candidate.canonical_link,
            published=candidate.published_at,
            signature=candidate.minhash,
        )
        index.add(earlier, keys_of.get(candidate.post_id, ()))
    clusters: list[int | None] = []
    for position, (report, lookup) in enumerate(zip(reports, lookups, strict=True)):
        cluster = index.join(report, lookup)
        clusters.append(cluster)
        itself = -(position + 1)
        story = itself if cluster is None else cluster
        index.add(
            dataclasses.replace(report, ident=itself, story=story), stories.member_keys(report)
        )
    return clusters


async def _insert_in_order(
    session: AsyncSession,
    feed_id: int,
    rows: list[post_store.NewPost],
    clusters: list[int | None],
    now: datetime,
) -> list[post_store.NewPost]:
    """First reports, then the batch's copies of them: the posts stored, in batch order.

    A copy whose first report was stored meanwhile by another poll (and so skipped here)
    is stored on its own.
    """
    ids: dict[int, int] = {}  # batch index -> stored id
    stored: list[post_store.NewPost] = []
    firsts = [i for i, cluster in enumerate(clusters) if cluster is None or cluster > 0]
    copies = [i for i, cluster in enumerate(clusters) if cluster is not None and cluster < 0]
    for phase in (firsts, copies):
        batch = []
        for index in phase:
            row = rows[index]
            if clusters[index] is not None and clusters[index] < 0:  # type: ignore[operator]
                root = ids.get(-clusters[index] - 1)  # type: ignore[operator]
                row = dataclasses.replace(row, cluster_id=root)
            batch.append((index, row))
        new_ids = await post_store.insert_posts(
            session, feed_id, [row for _, row in batch], fetched_at=now
        )
        for position, new_id in new_ids.items():
            index, row = batch[position]
            ids[index] = new_id
            stored.append(row)
    return stored


def _distinct(
    prepared: list[tuple[Post, np.ndarray | None]],
) -> list[tuple[Post, np.ndarray | None]]:
    """Drop a feed's repeats of its own posts (same guid, canonical link or content)."""
    seen: set[str] = set()
    fresh = []
    for post, signature in prepared:
        marks = {f"g:{post.guid}", f"l:{post.canonical_link}", f"h:{post.content_hash}"}
        if seen & marks:
            continue
        seen |= marks
        fresh.append((post, signature))
    return fresh


def _reaches_digests(post: Post, now: datetime, first_fetch: bool) -> bool:
    """A new feed's back catalogue is archived for /trend but kept out of digests."""
    in_window = post.published is not None and post.published >= now - DIGEST_WINDOW
    undated_on_first_fetch = first_fetch and post.published == now  # normalise dated it now
    return in_window and not undated_on_first_fetch


async def _record_success(
    session: AsyncSession,
    feed_id: int,
    now: datetime,
    fetched: FetchResult,
    parsed: ParsedFeed | None,
) -> FeedEvent | None:
    feed = await session.get(FeedRow, feed_id)
    return None if feed is None else await _succeeded(session, feed, now, fetched, parsed)


async def _record_unmodified(db: Database, unmodified: list[_Unmodified], now: datetime) -> None:
    """Record a poll's 304s in one transaction: one commit, not one per feed."""
    if not unmodified:
        return
    async with db.new_session() as session, session.begin():
        ids = [feed_id for feed_id, _, _ in unmodified]
        rows = await feed_store.feeds_by_id(session, ids)
        for feed_id, report, fetched in unmodified:
            if (feed := rows.get(feed_id)) is not None:
                report.event = await _succeeded(session, feed, now, fetched, None)


async def _succeeded(
    session: AsyncSession,
    feed: FeedRow,
    now: datetime,
    fetched: FetchResult,
    parsed: ParsedFeed | None,
) -> FeedEvent | None:
    """Keep the validators, follow a permanent move, schedule from the feed's own hints."""
    feed.etag = fetched.etag or feed.etag
    feed.last_modified = fetched.last_modified or feed.last_modified
    if parsed is not None:
        feed.title = parsed.title or feed.title
    moved = fetched.permanent_redirect
    if moved and await feed_store.feed_by_url(session, moved) is None:
        log.info("feed %s moved permanently to %s", feed.url, moved)
        feed.url = moved
    feed.last_success_at = now
    feed.consecutive_failures = 0
    feed.next_check_at = schedule.next_check_after_success(
        now,
        feed.poll_minutes,
        cache_control=fetched.headers.get("cache-control"),
        ttl_minutes=parsed.ttl_minutes if parsed else None,
    )
    if feed.failure_alerted_at is None:
        return None
    feed.failure_alerted_at = None  # told once that it failed; now told once it is back
    return FeedEvent("recovered", feed.url, feed.name)


async def _unexpected_failure(
    db: Database, feed: FeedRow, now: datetime, exc: Exception, writes: asyncio.Lock | None
) -> FeedReport:
    """Record an exception no step expected as the feed's failure, so it backs off too."""
    log.exception("feed %s: unexpected error", feed.url)
    error = TrendbotError(f"unexpected error: {type(exc).__name__}: {exc}".rstrip(": "))
    event = None
    try:
        async with writes or contextlib.nullcontext():
            event = await _record_failure(db, feed.id, now, error)
    except Exception:  # the database itself may be what failed; the poll still goes on
        log.exception("feed %s: the failure could not be recorded", feed.url)
    return FeedReport(
        feed.url, feed.name, "failed", error=_message(error), event=event, error_kind="unexpected"
    )


_MAX_ERROR_CHARS = 1000


def _message(error: TrendbotError) -> str:
    """An error's text, safe to store and print (a feed's bytes can end up in it)."""
    return safe_text(str(error) or error.key, _MAX_ERROR_CHARS)


async def _record_failure(
    db: Database, feed_id: int, now: datetime, error: TrendbotError
) -> FeedEvent | None:
    """Count the failure and back off; a 410 disables the feed, a long run alerts once."""
    retry_after = error.retry_after if isinstance(error, RateLimited) else None
    message = _message(error)
    log.info("feed %s failed (%s): %s", feed_id, type(error).__name__, message)
    async with db.new_session() as session, session.begin():
        feed = await session.get(FeedRow, feed_id)
        if feed is None:
            return None
        feed.consecutive_failures += 1
        feed.last_error = message
        feed.last_error_at = now
        feed.next_check_at = schedule.next_check_after_failure(
            now, feed.poll_minutes, feed.consecutive_failures, retry_after=retry_after
        )
        if isinstance(error, FeedGone):
            feed.enabled = False
            feed.disabled_reason = message
            return FeedEvent("gone", feed.url, feed.name, message, feed.consecutive_failures)
        if (
            feed.consecutive_failures >= schedule.ALERT_AFTER_FAILURES
            and feed.failure_alerted_at is None
        ):
            feed.failure_alerted_at = now
            return FeedEvent("failing", feed.url, feed.name, message, feed.consecutive_failures)
        return None
