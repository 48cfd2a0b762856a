"""A feed's CPU-bound steps around `pipeline.enrich`, for a worker thread or process: parse and
clean the bytes into posts, and make each enriched post a story member.
"""

from __future__ import annotations

import dataclasses
from datetime import datetime

from trends.ingest import story_index
from trends.ingest.cluster import Prepared
from trends.ingest.normalise import normalise
from trends.ingest.parse import parse
from trends.models import ParsedFeed, Post

__all__ = ["StoryMembers", "prepare", "story_members"]

StoryMembers = tuple[list[story_index.Member], list[list[int]]]  # reports, their lookup keys


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
