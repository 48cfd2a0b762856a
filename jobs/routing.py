"""Digests for forum groups with topic routes: each routed trend's section goes to its topic.

`routed_work` turns the due digests into (delivery, parts) pairs: unchanged for a chat
without routes; for a routed chat, one delivery per topic (its own ledger key,
"<key>@<thread id>", so each topic gets its part exactly once) plus the rest for the chat.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import replace

from trends.models import Digest
from trends.routing import split_by_route
from trends.service import DueDigest, TrendService

__all__ = ["routed_work"]

Render = Callable[[Digest, str, str], list[str]]  # as jobs.digests.Render


async def routed_work(
    service: TrendService,
    due: Sequence[DueDigest],
    parts_of: Callable[[DueDigest], Awaitable[list[str]]],
    render: Render,
) -> list[tuple[DueDigest, list[str]]]:
    """(delivery, parts) for every due digest, split by topic where the chat has routes."""
    routes = await service.topic_routes(item.subscriber.id for item in due)
    work: list[tuple[DueDigest, list[str]]] = []
    for item in due:
        chat_routes = routes.get(item.subscriber.id)
        if not chat_routes:
            work.append((item, await parts_of(item)))
            continue
        followed = sorted(item.preferences.trends)
        cadence = item.preferences.cadence
        digest = await service.digest(
            until=item.slot, trends=followed, key=item.key, cadence=cadence
        )
        language = item.preferences.language or item.subscriber.language
        split = split_by_route(digest, chat_routes)
        for thread, part in split.topics:
            topic = replace(item, key=f"{item.key}@{thread}", thread_id=thread)
            # A plain list: text only, the chart stays with the chat's own digest.
            work.append((topic, list(render(part, language, cadence))))
        # All news went to topics: the chat's own delivery is recorded with nothing to send.
        quiet = split.main.is_empty and split.topics
        main = [] if quiet else render(split.main, language, cadence)
        work.append((item, main))
    return work
