"""Which story each of a feed's new posts joins: the dedup stage's decision for a batch.

The stored candidates go into a `StoryIndex` first, oldest first, then the batch in order:
the same index `trendbot analyze` fills with its input, so both decide alike.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache

import numpy as np

from trends.ingest import story_index
from trends.models import Post
from trends.store.posts import StoredCandidates

__all__ = ["Clusters", "Prepared", "clusters", "distinct"]

Prepared = tuple[Post, np.ndarray | None]  # a post and its MinHash signature


def distinct(prepared: list[Prepared]) -> list[Prepared]:
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


@dataclass(frozen=True, slots=True)
class Clusters:
    """What the dedup stage decided for a batch."""

    # Each post's cluster: a stored post's id, -(i + 1) for post i of this batch, or None.
    found: list[int | None]
    # Stored stories a post of the batch showed to be part of an earlier stored story.
    merged: dict[int, int]


def clusters(
    reports: list[story_index.Member],
    lookups: list[story_index.Lookups],
    stored: StoredCandidates,
    copies: Mapping[int, int] | None = None,
) -> Clusters:
    """Each post's cluster, and the stored stories the batch merges.

    `copies` maps a post of the batch that another feed stored already (same link or
    content) to that post's story: it joins it as coverage, whatever the matcher says.
    """
    keys_of: dict[int, list[int]] = {}
    index = story_index.StoryIndex()
    for key, ids in stored.newest_by_key.items():
        index.count_unheld(key, stored.count_by_key[key] - len(ids))
        for post_id in ids:
            keys_of.setdefault(post_id, []).append(key)
    for candidate in sorted(stored.posts, key=lambda c: c.post_id):
        earlier = _stored_member(
            candidate.post_id,
            candidate.cluster_id,
            candidate.title,
            candidate.summary,
            candidate.canonical_link,
            candidate.published_at,
            candidate.minhash,
        )
        index.add(earlier, keys_of.get(candidate.post_id, ()))
    stories: list[int] = []
    for position, (report, lookup) in enumerate(zip(reports, lookups, strict=True)):
        copied = (copies or {}).get(position)
        itself = -(position + 1)
        cluster = index.story(copied) if copied else index.join(report, lookup)
        stories.append(itself if cluster is None else cluster)
        index.add(
            dataclasses.replace(report, ident=itself, story=stories[-1]),
            lookup.own(),
        )
    # A later post may have merged a post's story into an earlier one: resolve at the end.
    found = [index.story(story) for story in stories]
    merged = {story: index.story(story) for story in index.merged if story > 0}
    return Clusters([None if story == -(i + 1) else story for i, story in enumerate(found)], merged)


# A stored post is a candidate of many batches of a poll (the names of the day it shares):
# its features are worked out once, not once a batch. Keyed by every input, so an edited
# row (a story merged, a summary rewritten) is worked out afresh.
@lru_cache(maxsize=8192)
def _stored_member(
    post_id: int,
    cluster_id: int | None,
    title: str,
    summary: str,
    canonical_link: str,
    published: datetime | None,
    minhash: bytes | None,
) -> story_index.Member:
    return story_index.member(
        post_id,
        cluster_id,
        title=title,
        summary=summary,
        canonical_link=canonical_link,
        published=published,
        signature=minhash,
    )
