"""Split a digest by forum-topic route: pure, so the job, previews and tests agree.

In a forum group, `/route N` sent inside a topic sends trend N's section there; every
section without a route stays in the digest for the chat itself, in the original order.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace

from trends.models import Digest, DigestSection

__all__ = ["RoutedDigest", "split_by_route"]


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
