"""A feed's new posts enriched and made story members: the CPU work after dedup's first
look, done where `pipeline.enrich` runs (a worker process when a poll has them).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

import numpy as np

from trends.ingest import dedup, story_index
from trends.ingest.cluster import Prepared
from trends.models import Post
from trends.store.posts import Enrichment
from trends.themes import Themes

__all__ = ["StoryMembers", "enrich_feed", "story_members"]

StoryMembers = tuple[list[story_index.Member], list[story_index.Lookups]]  # reports, their keys
Enrich = Callable[[list[Post], Themes], list[Prepared]]


def enrich_feed(
    enrich: Enrich,
    posts: list[Post],
    themes: Themes,
    *,
    members: bool,
    stored: Mapping[int, Enrichment],
) -> tuple[list[Prepared], StoryMembers | None]:
    """`enrich` the posts, except those another feed stored already (`stored`, by index),
    which take the summary, tags and MinHash enriching made of them then; and each post as a
    story member when its summary is final (`members`: no LLM rewrites it)."""
    fresh = enrich([post for i, post in enumerate(posts) if i not in stored], themes)
    made = iter(fresh)
    prepared: list[Prepared] = []
    for i, post in enumerate(posts):
        if (known := stored.get(i)) is None:
            prepared.append(next(made))
            continue
        post.summary, post.trends = known.summary, list(known.trends)
        signature = None
        if known.minhash is not None:
            signature = np.frombuffer(known.minhash, dedup.SIGNATURE_DTYPE).copy()
        prepared.append((post, signature))
    return prepared, story_members(prepared) if members else None


def story_members(fresh: list[Prepared]) -> StoryMembers:
    """Each new post as a story member, and the keys to look its story up by."""
    reports = [
        story_index.member(
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
    return reports, [story_index.member_lookups(report) for report in reports]
