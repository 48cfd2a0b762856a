"""Ingest: feed → fetch → parse → normalise → dedup → summarise → tag → store.

`refresh_feed` reads top to bottom like the flow above. Whatever goes wrong with one feed is
written onto that feed's row and returned in its report; the rest of a poll goes on.
"""

from __future__ import annotations

import asyncio
import dataclasses
import functools
import logging
from collections.abc import Callable, Sequence
from concurrent.futures import Executor
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from trends.delivery.periods import WEEK
from trends.errors import FeedGone, RateLimited, TrendbotError
from trends.ingest import cluster, dedup, health, story_index
from trends.ingest.cluster import Prepared
from trends.ingest.fetch import (
    CONCURRENCY,
    TOTAL_SECONDS,
    FeedClient,
    FetchResult,
    HostLimits,
    fetch,
)
from trends.ingest.llm import LLMEnricher
from trends.ingest.members import StoryMembers, enrich_feed, story_members
from trends.ingest.normalise import normalise
from trends.ingest.parse import parse
from trends.ingest.report import FeedEvent, FeedReport, PollReport
from trends.ingest.safety import refuse_entity_declarations
from trends.ingest.summarise import summarise
from trends.ingest.tag import tag
from trends.ingest.text import safe_text
from trends.ingest.workers import shipped
from trends.models import ParsedFeed, Post
from trends.store import feeds as feed_store
from trends.store import posts as post_store
from trends.store.db import Database
from trends.store.schema import FeedRow
from trends.themes import Themes

__all__ = ["PollRun", "enrich", "poll", "prepare", "refresh_feed"]

log = logging.getLogger(__name__)

_MAX_ERROR_CHARS = 1000
# New posts taken from one feed per poll: a bigger backlog waits for the next polls, a few
# minutes apart, so one huge feed never holds a poll (or the bot) for minutes.
MAX_NEW_POSTS_PER_POLL = 500


@dataclass(slots=True)
class PollRun:
    """What every feed of one poll shares: where to store, how to fetch, what time it is."""

    db: Database
    client: FeedClient
    themes: Themes
    now: datetime
    hosts: HostLimits = field(default_factory=HostLimits)  # PER_HOST requests at once each
    total_seconds: float = TOTAL_SECONDS
    llm: LLMEnricher | None = None
    parser: Executor | None = None  # worker processes for feedparser; a thread when None
    writes: asyncio.Lock = field(default_factory=asyncio.Lock)  # SQLite has one writer
    # 304s, recorded together in one transaction at the end; None records each at once.
    unmodified: list[tuple[int, FeedReport, FetchResult]] | None = None


async def poll(
    run: PollRun,
    feeds: Sequence[FeedRow],
    *,
    concurrency: int = CONCURRENCY,
    progress: Callable[[FeedReport], object] | None = None,
) -> PollReport:
    """Refresh `feeds` concurrently (bounded overall and per host); reports in given order."""
    gate = asyncio.Semaphore(concurrency)
    run.unmodified = []

    async def one(feed: FeedRow) -> FeedReport:
        async with gate:
            try:
                report = await refresh_feed(run, feed)
            except Exception as exc:  # a bug one feed triggers must not end everyone's poll
                report = await _unexpected_failure(run, feed, exc)
        if progress is not None:
            progress(report)
        return report

    reports = list(await asyncio.gather(*(one(feed) for feed in feeds)))
    await _record_unmodified(run)
    return PollReport(feeds=reports)


async def refresh_feed(run: PollRun, feed: FeedRow) -> FeedReport:
    """Fetch one feed and store its new posts; failures are recorded on the feed."""
    first_fetch = feed.last_success_at is None
    try:
        fetched = await fetch(
            run.client,
            feed.url,
            etag=feed.etag,
            last_modified=feed.last_modified,
            hosts=run.hosts,
            total_seconds=run.total_seconds,
        )
        if fetched.not_modified:  # costs no parse: only the schedule moves on
            report = FeedReport(feed.url, feed.name, "not_modified")
            if run.unmodified is not None:
                run.unmodified.append((feed.id, report, fetched))
                return report
            async with run.writes, run.db.new_session() as session, session.begin():
                report.event = await _record_success(session, feed.id, run.now, fetched, None)
            return report
        refuse_entity_declarations(fetched.content)
        # Parsing and cleaning HTML are CPU-bound: a worker thread, or processes if given.
        parsed, posts = await asyncio.get_running_loop().run_in_executor(
            run.parser,
            functools.partial(
                prepare,
                fetched.content,
                url=fetched.url,
                content_type=fetched.content_type,
                source=feed.name,
                language=feed.language,
                fetched_at=run.now,
                ai_source=feed.ai_source,
            ),
        )
    except TrendbotError as exc:
        async with run.writes:
            event = await _record_failure(run.db, feed.id, run.now, exc)
        return FeedReport(
            feed.url, feed.name, "failed", error=_message(exc), event=event, error_kind=exc.key
        )
    posts, known, backlog, stored = await _unseen(run.db, feed.id, posts)
    # Summaries, tags and story features too: in the workers, so this process only stores.
    themes = run.themes if run.parser is None else shipped(run.themes)
    prepared, members = await asyncio.get_running_loop().run_in_executor(
        run.parser,
        functools.partial(
            enrich_feed, enrich, posts, themes, members=run.llm is None, stored=stored
        ),
    )
    if run.llm is not None:  # the model's tags and summary where it answers; the local ones stay
        await run.llm.enrich([post for post, _ in prepared], run.now)
    async with run.writes, run.db.new_session() as session, session.begin():  # one commit
        new, duplicates = await _store(session, feed.id, prepared, run.now, first_fetch, members)
        duplicates += known
        event = await _record_success(session, feed.id, run.now, fetched, parsed, backlog)
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


def enrich(posts: list[Post], themes: Themes) -> list[Prepared]:
    """Summarise, tag and sign each post: the CPU-bound part, run off the event loop."""
    enriched = []
    for post in posts:
        post.summary = summarise(post.text, post.title)
        post.trends = tag(post.title, post.text, themes, ai_source=post.ai_source)
        enriched.append((post, dedup.copy_signature(post.title, post.text)))
    return enriched


async def _unseen(
    db: Database, feed_id: int, posts: list[Post]
) -> tuple[list[Post], int, bool, dict[int, post_store.Enrichment]]:
    """The posts not stored yet (at most `MAX_NEW_POSTS_PER_POLL`: feeds list their newest
    first), how many were known, whether more wait, and what another feed's stored copies
    of them were enriched to: known posts and such copies skip the costly enrich."""
    async with db.new_session() as session:  # one query per feed, not one per post
        known = await post_store.known_among(session, feed_id, posts)
        unseen = [post for index, post in enumerate(posts) if index not in known]
        fresh = unseen[:MAX_NEW_POSTS_PER_POLL]
        stored = await post_store.stored_enrichment(session, feed_id, fresh)
    return fresh, len(known), len(unseen) > len(fresh), stored


async def _store(
    session: AsyncSession,
    feed_id: int,
    prepared: list[Prepared],
    now: datetime,
    first_fetch: bool,
    members: StoryMembers | None = None,
) -> tuple[int, int]:
    """Store posts not seen before, in the caller's transaction: a report of a stored story
    joins it (one two stories accept merges them), a page another feed stored joins that
    page's story as coverage. A few batched statements: first reports, then copies of a
    first report of the same batch (an aggregator links the FT and Reuters on one news); a
    post stored meanwhile is skipped."""
    fresh = cluster.distinct(prepared)
    duplicates = len(prepared) - len(fresh)
    if not fresh:
        return 0, duplicates
    if members is None:  # CPU work: off the event loop, like enrich
        reports, lookups = await asyncio.to_thread(story_members, fresh)
    else:  # made with `prepared`, for each of its posts: those of `fresh`
        kept = {id(post) for post, _ in fresh}
        chosen = [i for i, (post, _) in enumerate(prepared) if id(post) in kept]
        reports, lookups = [members[0][i] for i in chosen], [members[1][i] for i in chosen]
    await post_store.lock_story_writes(session)  # other workers' stories first (PostgreSQL)
    stored = await post_store.candidates_by_band(
        session,
        (key for post_keys in lookups for key in post_keys),  # the store drops repeats
        per_key=story_index.MAX_PER_KEY,
        counted=story_index.MAX_COUNTED,
    )
    copies = await post_store.stories_of_copies(session, feed_id, [post for post, _ in fresh])
    decided = await asyncio.to_thread(cluster.clusters, reports, lookups, stored, copies)
    rows = [
        post_store.NewPost(
            post=post,
            cluster_id=found if found is None or found > 0 else None,
            minhash=signature.tobytes() if signature is not None else None,
            band_keys=lookup.own(),
            in_digests=_reaches_digests(post, now, first_fetch),
        )
        for (post, signature), lookup, found in zip(fresh, lookups, decided.found, strict=True)
    ]
    stored_rows = await _insert_in_order(session, feed_id, rows, decided.found, now)
    await post_store.merge_stories(session, decided.merged)
    clustered = sum(1 for row in stored_rows if row.cluster_id is not None)
    return len(stored_rows) - clustered, duplicates + len(rows) - len(stored_rows) + clustered


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
    ids: dict[int, int] = {}  # batch index -> the story its stored post leads or joins
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
            ids[index] = row.cluster_id if row.cluster_id is not None else new_id
            stored.append(row)
    return stored


def _reaches_digests(post: Post, now: datetime, first_fetch: bool) -> bool:
    """A post reaches digests when it was published within the last week; a new feed's
    older back catalogue is archived for /trend only."""
    in_window = post.published is not None and post.published >= now - WEEK
    undated_on_first_fetch = first_fetch and post.published == now  # normalise dated it now
    return in_window and not undated_on_first_fetch


async def _record_success(
    session: AsyncSession,
    feed_id: int,
    now: datetime,
    fetched: FetchResult,
    parsed: ParsedFeed | None,
    backlog: bool = False,
) -> FeedEvent | None:
    feed = await session.get(FeedRow, feed_id)
    if feed is None:
        return None
    return await _succeeded(session, feed, now, fetched, parsed, backlog)


async def _record_unmodified(run: PollRun) -> None:
    """Record a poll's 304s in one transaction: one commit, not one per feed."""
    if not run.unmodified:
        return
    async with run.db.new_session() as session, session.begin():
        ids = [feed_id for feed_id, _, _ in run.unmodified]
        rows = await feed_store.feeds_by_id(session, ids)
        for feed_id, report, fetched in run.unmodified:
            if (feed := rows.get(feed_id)) is not None:
                report.event = await _succeeded(session, feed, run.now, fetched, None)


async def _succeeded(
    session: AsyncSession,
    feed: FeedRow,
    now: datetime,
    fetched: FetchResult,
    parsed: ParsedFeed | None,
    backlog: bool = False,
) -> FeedEvent | None:
    """Keep the validators, follow a permanent move, schedule from the feed's own hints."""
    moved = fetched.permanent_redirect
    if moved and await feed_store.feed_by_url(session, moved) is not None:
        moved = None  # another listed feed already has that URL
    if moved:
        log.info("feed %s moved permanently to %s", feed.url, moved)
    return health.succeeded(
        feed,
        now,
        etag=fetched.etag,
        last_modified=fetched.last_modified,
        title=parsed.title if parsed else None,
        moved_to=moved,
        cache_control=fetched.headers.get("cache-control"),
        ttl_minutes=parsed.ttl_minutes if parsed else None,
        backlog=backlog,
    )


async def _unexpected_failure(run: PollRun, feed: FeedRow, exc: Exception) -> FeedReport:
    """Record an exception no step expected as the feed's failure, so it backs off too."""
    log.exception("feed %s: unexpected error", feed.url)
    error = TrendbotError(f"unexpected error: {type(exc).__name__}: {exc}".rstrip(": "))
    event = None
    try:
        async with run.writes:
            event = await _record_failure(run.db, feed.id, run.now, error)
    except Exception:  # the database itself may be what failed; the poll still goes on
        log.exception("feed %s: the failure could not be recorded", feed.url)
    return FeedReport(
        feed.url, feed.name, "failed", error=_message(error), event=event, error_kind=error.key
    )


def _message(error: TrendbotError) -> str:
    """An error's text, safe to store and print (a feed's bytes can end up in it)."""
    return safe_text(str(error) or error.key, _MAX_ERROR_CHARS)


async def _record_failure(
    db: Database, feed_id: int, now: datetime, error: TrendbotError
) -> FeedEvent | None:
    message = _message(error)
    log.info("feed %s failed (%s): %s", feed_id, type(error).__name__, message)
    async with db.new_session() as session, session.begin():
        feed = await session.get(FeedRow, feed_id)
        if feed is None:
            return None
        return health.failed(
            feed,
            now,
            message,
            gone=isinstance(error, FeedGone),
            retry_after=error.retry_after if isinstance(error, RateLimited) else None,
        )
