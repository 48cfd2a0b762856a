"""Split a digest by forum-topic route: pure, so the job, previews and tests agree.

In a forum group, `/route N` sent inside a topic sends trend N's section there; every
section without a route stays in the digest for the chat itself, in the original order.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace

from trends.models import Digest, DigestSection

__all__ = ["RoutedDigest", "digest_key_of", "split_by_route", "topic_key", "topic_key_range"]

# A forum topic's part of a digest is a delivery of its own in the ledger, keyed
# "<digest key>@<thread id>": sent exactly once, and retried with the next run if it failed.
_TOPIC_MARK = "@"


def topic_key(digest_key: str, thread_id: int) -> str:
    """The ledger key of one forum topic's part of a digest."""
    return f"{digest_key}{_TOPIC_MARK}{thread_id}"


def digest_key_of(key: str) -> str:
    """The digest a ledger key belongs to: itself, or the digest a topic part is of."""
    return key.rsplit(_TOPIC_MARK, 1)[0]


def topic_key_range(digest_key: str) -> tuple[str, str]:
    """Bounds (exclusive) that hold every topic key of `digest_key` and nothing else, so an
    index range finds them ("A" is the character after "@")."""
    return f"{digest_key}{_TOPIC_MARK}", f"{digest_key}{chr(ord(_TOPIC_MARK) + 1)}"


@dataclass(frozen=True, slots=True)
class RoutedDigest:
    main: Digest  # the sections without a route, for the chat itself
    topics: tuple[tuple[int, Digest], ...] = ()  # (thread id, the sections routed there)


def split_by_route(digest: Digest, routes: Mapping[int, int]) -> RoutedDigest:
    """`routes` maps trend number → thread id. Topics whose sections have no stories this
    period are left out: an empty "quiet week" in every topic would be noise."""
    if not routes:
        return RoutedDigest(main=digest)
    main: list[DigestSection] = []
    by_thread: dict[int, list[DigestSection]] = {}
    for section in digest.sections:
        thread = routes.get(section.trend.number)
        if thread is None:
            main.append(section)
        else:
            by_thread.setdefault(thread, []).append(section)
    topics = tuple(
        (thread, replace(digest, sections=tuple(sections)))
        for thread, sections in by_thread.items()
        if any(section.stories for section in sections)
    )
    return RoutedDigest(main=replace(digest, sections=tuple(main)), topics=topics)
