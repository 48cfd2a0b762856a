"""Which story each of a feed's new posts joins: the dedup stage's decision for a batch.

The stored candidates go into a `StoryIndex` first, oldest first, then the batch in order:
the same index `trendbot analyze` fills with its input, so both decide alike.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from datetime import datetime
from functools import lru_cache

import numpy as np

from trends.ingest import story_index
from trends.models import Post
from trends.store.posts import StoredCandidates

__all__ = ["Prepared", "clusters", "distinct"]

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


def clusters(
    reports: list[story_index.Member],
    lookups: list[story_index.Lookups],
    stored: StoredCandidates,
    copies: Mapping[int, int] | None = None,
) -> list[int | None]:
    """Each post's cluster: a stored post's id, -(i + 1) for post i of this batch, or None.

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
    found: list[int | None] = []
    for position, (report, lookup) in enumerate(zip(reports, lookups, strict=True)):
        cluster = (copies or {}).get(position) or index.join(report, lookup)
        found.append(cluster)
        itself = -(position + 1)
        story = itself if cluster is None else cluster
        index.add(
            dataclasses.replace(report, ident=itself, story=story), story_index.member_keys(report)
        )
    return found


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
