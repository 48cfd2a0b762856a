"""Storing posts: their trend tags and lookup keys (MinHash bands, story names by day), and
the stored posts a new one may join. The reads behind /trend and digests: `store.archive`."""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import cast

from sqlalchemy import Table, insert, or_, select, text, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from trends.models import Post, TrendTag
from trends.store.schema import FeedRow, PostBandRow, PostRow, PostTrendRow

__all__ = [
    "Candidate",
    "Enrichment",
    "NewPost",
    "StoredCandidates",
    "candidates_by_band",
    "insert_posts",
    "known_among",
    "lock_story_writes",
    "merge_stories",
    "stored_enrichment",
    "stories_of_copies",
]

_CHUNK = 2000  # keys per IN (...): under every driver's parameter limit
_POSTS, _TRENDS, _BANDS = (
    cast(Table, row.__table__) for row in (PostRow, PostTrendRow, PostBandRow)
)


_STORY_LOCK = 0x73746F7279  # "story": the advisory lock key of story decisions


async def lock_story_writes(session: AsyncSession) -> None:
    """Hold story decisions of other processes off until this transaction ends.

    Which story a new post joins is decided from the stories stored so far; two workers
    storing copies of one story at once would each see none and start two. Within one
    process `PollRun.writes` orders them; across processes on PostgreSQL this transaction
    lock does. (SQLite has one writer: its transactions are ordered already.)
    """
    if session.get_bind().dialect.name == "postgresql":
        await session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _STORY_LOCK})


async def known_among(session: AsyncSession, feed_id: int, posts: Sequence[Post]) -> set[int]:
    """Indices of `posts` this feed has stored already: the same guid, canonical link or
    content; one query per 300 posts. Another feed's copy is coverage (`stories_of_copies`)."""
    found: set[int] = set()
    for start in range(0, len(posts), 300):  # stays under every driver's parameter limit
        chunk = posts[start : start + 300]
        rows = await session.execute(
            select(PostRow.guid, PostRow.canonical_link, PostRow.content_hash).where(
                PostRow.feed_id == feed_id,
                or_(
                    PostRow.guid.in_({p.guid for p in chunk}),
                    PostRow.canonical_link.in_({p.canonical_link for p in chunk}),
                    PostRow.content_hash.in_({p.content_hash for p in chunk}),
                ),
            )
        )
        guids, links, hashes = set(), set(), set()
        for guid, link, content in rows.all():
            guids.add(guid)
            links.add(link)
            hashes.add(content)
        found.update(
            start + i
            for i, p in enumerate(chunk)
            if p.guid in guids or p.canonical_link in links or p.content_hash in hashes
        )
    return found


async def stories_of_copies(
    session: AsyncSession, feed_id: int, posts: Sequence[Post]
) -> dict[int, int]:
    """For each of `posts` that other feeds stored already (the same canonical link or
    content), its index and the story it joins as coverage: the earliest such post's."""
    found: dict[int, int] = {}
    for start in range(0, len(posts), 300):
        chunk = posts[start : start + 300]
        rows = await session.execute(
            select(PostRow.id, PostRow.cluster_id, PostRow.canonical_link, PostRow.content_hash)
            .where(
                PostRow.feed_id != feed_id,
                or_(
                    PostRow.canonical_link.in_({p.canonical_link for p in chunk}),
                    PostRow.content_hash.in_({p.content_hash for p in chunk}),
                ),
            )
            .order_by(PostRow.id.desc())  # the earliest stored is written last: it wins
        )
        story_of: dict[str, int] = {}
        for post_id, cluster_id, link, content in rows.all():
            story = cluster_id if cluster_id is not None else post_id
            story_of[f"l:{link}"] = story_of[f"h:{content}"] = story
        for i, post in enumerate(chunk):
            joined = story_of.get(f"l:{post.canonical_link}") or story_of.get(
                f"h:{post.content_hash}"
            )
            if joined is not None:
                found[start + i] = joined
    return found


@dataclass(frozen=True, slots=True)
class Enrichment:
    """What enriching a post made of it, as stored: its summary, tags and MinHash."""

    summary: str
    trends: list[TrendTag]
    minhash: bytes | None


async def stored_enrichment(
    session: AsyncSession, feed_id: int, posts: Sequence[Post]
) -> dict[int, Enrichment]:
    """For each of `posts` that another feed stored already as the very same post (link,
    title, content and length; a feed with the same `ai_source`, which the tagger reads),
    its index and what enriching it made: a copy need not be summarised and tagged again."""
    found: dict[int, Enrichment] = {}
    for start in range(0, len(posts), 300):
        chunk = posts[start : start + 300]
        rows = await session.execute(
            select(
                PostRow.id,
                PostRow.canonical_link,
                PostRow.title,
                PostRow.content_hash,
                PostRow.text_chars,
                PostRow.summary,
                PostRow.minhash,
                FeedRow.ai_source,
            )
            .join(FeedRow, FeedRow.id == PostRow.feed_id)
            .where(
                PostRow.feed_id != feed_id,
                PostRow.canonical_link.in_({p.canonical_link for p in chunk}),
            )
            .order_by(PostRow.id)
        )
        stored: dict[tuple[str, str, str, int, bool], tuple[int, str, bytes | None]] = {}
        for post_id, link, title, content, chars, summary, minhash, ai_source in rows.all():
            stored.setdefault((link, title, content, chars, ai_source), (post_id, summary, minhash))
        matches = {
            start + i: stored[key]
            for i, p in enumerate(chunk)
            if (key := (p.canonical_link, p.title, p.content_hash, len(p.text), p.ai_source))
            in stored
        }
        tags: dict[int, list[TrendTag]] = defaultdict(list)
        if matches:
            for post_id, trend, score, matched in await session.execute(
                select(
                    PostTrendRow.post_id,
                    PostTrendRow.trend,
                    PostTrendRow.score,
                    PostTrendRow.matched,
                ).where(PostTrendRow.post_id.in_({post_id for post_id, _, _ in matches.values()}))
            ):
                tags[post_id].append(TrendTag(trend, score, tuple(matched or ())))
        for index, (post_id, summary, minhash) in matches.items():
            # Tags in the order the tagger gives them: most probable first.
            ordered = sorted(tags.get(post_id, []), key=lambda t: (-t.score, t.trend))
            found[index] = Enrichment(summary, ordered, minhash)
    return found


@dataclass(frozen=True, slots=True)
class StoredCandidates:
    """What a batch's lookup keys found: the posts, and for each key its newest post ids
    (at most `per_key`, oldest first) and how many stored posts carry it, up to `counted`."""

    posts: list[Candidate]
    newest_by_key: dict[int, list[int]]
    count_by_key: dict[int, int]


# The lookup keys travel as one parameter (a JSON array on SQLite, an array on PostgreSQL)
# and each is read by an index seek of the primary key (band_key, post_id), newest first:
# one short statement whatever the number of keys, where one SELECT per key in a compound
# statement cost three times as much, most of it building and binding the statement.
_NEWEST = {
    # A key's rows from its `per_key`-th newest post on: its newest `per_key`, or all it has.
    "sqlite": text(
        "SELECT k.value AS band_key, b.post_id FROM json_each(:keys) AS k "
        "JOIN post_bands AS b ON b.band_key = k.value AND b.post_id >= coalesce(("
        "SELECT p.post_id FROM post_bands AS p WHERE p.band_key = k.value "
        "ORDER BY p.post_id DESC LIMIT 1 OFFSET :per_key - 1), 0)"
    ),
    "postgresql": text(
        "SELECT k.band_key, b.post_id FROM unnest(CAST(:keys AS BIGINT[])) AS k(band_key) "
        "CROSS JOIN LATERAL (SELECT p.post_id FROM post_bands AS p "
        "WHERE p.band_key = k.band_key ORDER BY p.post_id DESC LIMIT :per_key) AS b"
    ),
}
_COUNT = {
    "sqlite": text(
        "SELECT k.value AS band_key, (SELECT count(*) FROM (SELECT 1 FROM post_bands AS p "
        "WHERE p.band_key = k.value LIMIT :counted)) AS posts FROM json_each(:keys) AS k"
    ),
    "postgresql": text(
        "SELECT k.band_key, (SELECT count(*) FROM (SELECT 1 FROM post_bands AS p "
        "WHERE p.band_key = k.band_key LIMIT :counted) AS counted) AS posts "
        "FROM unnest(CAST(:keys AS BIGINT[])) AS k(band_key)"
    ),
}


def _keys_param(dialect: str, keys: list[int]) -> str | list[int]:
    """Keys as the one `:keys` parameter of `_NEWEST` and `_COUNT` in `dialect`."""
    return json.dumps(keys) if dialect == "sqlite" else keys


async def candidates_by_band(
    session: AsyncSession, band_keys: Iterable[int], *, per_key: int, counted: int
) -> StoredCandidates:
    """Stored posts sharing a band key with a new post: index seeks, not a scan.

    Each key is read newest first as far as its `per_key` newest posts, all the matcher
    compares with; a key that has that many is counted on, up to `counted` (a name in
    every headline of a busy day weighs little). A lookup costs the same however large
    the archive grows.
    """
    dialect = session.get_bind().dialect.name
    found: dict[int, list[int]] = defaultdict(list)
    if keys := sorted(set(band_keys)):  # in index order, each once
        params = {"keys": _keys_param(dialect, keys), "per_key": per_key}
        rows = await session.execute(_NEWEST[dialect], params)
        for key, post_id in rows:
            found[key].append(post_id)
    newest = {key: sorted(post_ids) for key, post_ids in found.items()}
    counts = {key: len(post_ids) for key, post_ids in newest.items()}
    if busy := [key for key, count in counts.items() if count >= per_key]:
        query = _COUNT[dialect]
        params = {"keys": _keys_param(dialect, busy), "counted": counted}
        for key, count in await session.execute(query, params):
            counts[key] = count
    ids = sorted({post_id for post_ids in newest.values() for post_id in post_ids})
    candidates: list[Candidate] = []
    for start in range(0, len(ids), _CHUNK):
        details = select(
            PostRow.id,
            PostRow.cluster_id,
            PostRow.minhash,
            PostRow.canonical_link,
            PostRow.title,
            PostRow.summary,
            PostRow.published_at,
        ).where(PostRow.id.in_(ids[start : start + _CHUNK]))
        candidates.extend(Candidate(*row) for row in (await session.execute(details)).all())
    return StoredCandidates(candidates, newest, counts)


@dataclass(frozen=True, slots=True)
class Candidate:
    """A stored post that may tell the same story as a new one."""

    post_id: int
    cluster_id: int | None
    minhash: bytes | None
    canonical_link: str
    title: str
    summary: str
    published_at: datetime


@dataclass(frozen=True, slots=True)
class NewPost:
    """A post ready to store, with what dedup decided about it."""

    post: Post
    cluster_id: int | None
    minhash: bytes | None
    band_keys: Sequence[int]
    in_digests: bool


async def insert_posts(
    session: AsyncSession, feed_id: int, rows: Sequence[NewPost], *, fetched_at: datetime
) -> dict[int, int]:
    """Insert posts with their tags and band keys: three statements, whatever the count.

    A post already stored (since it was checked, by a concurrent poll) is skipped,
    not an error. Returns the position in `rows` and the new id of each post stored. The
    posts' canonical links must differ (the table's unique key; `_distinct` sees to it).
    """
    if not rows:
        return {}
    values = [
        {
            "feed_id": feed_id,
            "guid": row.post.guid,
            "link": row.post.link,
            "canonical_link": row.post.canonical_link,
            "title": row.post.title,
            "summary": row.post.summary,
            "content_hash": row.post.content_hash,
            "language": row.post.language,
            "published_at": row.post.published or fetched_at,
            "fetched_at": fetched_at,
            "cluster_id": row.cluster_id,
            "minhash": row.minhash,
            "in_digests": row.in_digests,
            "text_chars": len(row.post.text),
        }
        for row in rows
    ]
    # Core inserts on the tables: the ORM's bulk path costs more per row than the database.
    # RETURNING in parameter order made SQLAlchemy send SQLite one INSERT per post; the
    # canonical link is unique within a feed, so unordered rows of one batched INSERT map
    # back by it. ON CONFLICT DO NOTHING skips a post stored meanwhile (same guid, link or
    # content in this feed: the unique keys) and returns no row for it; no savepoint.
    dialect = sqlite if session.get_bind().dialect.name == "sqlite" else postgresql
    inserted = await session.execute(
        dialect.insert(_POSTS)
        .on_conflict_do_nothing()
        .returning(_POSTS.c.id, _POSTS.c.canonical_link),
        values,
    )
    id_of = {link: post_id for post_id, link in inserted.all()}
    ids = {
        position: id_of[value["canonical_link"]]
        for position, value in enumerate(values)
        if value["canonical_link"] in id_of
    }
    kept = [(post_id, rows[position], values[position]) for position, post_id in ids.items()]
    tags = [
        {
            "post_id": post_id,
            "trend": tag.trend,
            "score": tag.score,
            "matched": list(tag.matched),
            "published_at": value["published_at"],
            "story_lead": row.cluster_id is None,
        }
        for post_id, row, value in kept
        for tag in row.post.trends
    ]
    bands = [
        {"band_key": key, "post_id": post_id}
        for post_id, row, _ in kept
        for key in set(row.band_keys)
    ]
    if tags:
        await session.execute(insert(_TRENDS), tags)
    if bands:
        await session.execute(insert(_BANDS), bands)
    return ids


async def merge_stories(session: AsyncSession, merged: dict[int, int]) -> None:
    """Make each stored story `merged` names part of the earlier story it maps to: its
    first report and its members join that story, and it no longer leads in /trend."""
    for story, into in merged.items():
        await session.execute(
            update(PostRow)
            .where(or_(PostRow.id == story, PostRow.cluster_id == story))
            .values(cluster_id=into)
        )
        await session.execute(
            update(PostTrendRow).where(PostTrendRow.post_id == story).values(story_lead=False)
        )
