"""Scheduled work: send each subscriber's digest when its time has come.

The digest for one period and one set of followed trends is built once and shared by every
subscriber who reads it; sending goes through the caller's `Send` (the bot's delivery path),
for many chats at once so that the global send rate, not one chat's pace, sets the speed.
"""

from __future__ import annotations

import asyncio
import gc
import logging
from collections import Counter
from collections.abc import Awaitable, Callable, Iterator, Sequence
from datetime import datetime

from jobs.routing import routed_work
from trends.models import Digest
from trends.service import DueDigest, TrendService

__all__ = ["Render", "Send", "send_digests", "send_due_digests"]

log = logging.getLogger(__name__)

Render = Callable[[Digest, str, str], list[str]]  # digest, language, cadence → message parts
Send = Callable[[DueDigest, list[str]], Awaitable[str]]  # returns the outcome


async def send_due_digests(
    service: TrendService,
    render: Render,
    send: Send,
    now: datetime | None = None,
    *,
    concurrency: int = 1,
) -> dict[str, int]:
    """Send every digest that is due now; returns how many ended in each outcome."""
    due = await service.due_digests(now)
    return await send_digests(service, due, render, send, concurrency=concurrency)


async def send_digests(
    service: TrendService,
    due: Sequence[DueDigest],
    render: Render,
    send: Send,
    *,
    concurrency: int = 1,
) -> dict[str, int]:
    """Send `due` with up to `concurrency` chats in flight; outcome → count."""
    outcomes: Counter[str] = Counter()

    async def worker(queue: Iterator[tuple[DueDigest, list[str]]]) -> None:
        for item, parts in queue:  # shared by the workers: each delivery is taken once
            try:
                outcomes[await send(item, parts)] += 1
            except Exception:  # the ledger row stays pending: the next run resumes it
                log.exception("digest for subscriber %s failed", item.subscriber.id)
                outcomes["failed"] += 1

    # Build and render everything first, so the broadcast itself only waits on Telegram.
    parts_of = _Renderer(service, render)
    # Forum groups with /route: each routed trend's section goes to its topic.
    work = await routed_work(service, due, parts_of, render)
    # `concurrency` workers, not a task per delivery: 10,000 tasks made up front were
    # mostly waiting, and kept the garbage collector busy.
    queue = iter(work)
    # The subscribers, digests and parts loaded above live until the end: frozen, the
    # garbage collector's full passes skip them (unfrozen, each stalled a paid broadcast
    # for up to 0.2 s). Only a performance setting: cycles among them wait till unfreeze.
    gc.freeze()
    try:
        workers = max(1, min(concurrency, len(work)))
        await asyncio.gather(*(worker(queue) for _ in range(workers)))
    finally:
        gc.unfreeze()
    if due:
        log.info("digests: %s", dict(outcomes))
    return dict(outcomes)


class _Renderer:
    """One digest per (period, followed trends), one rendering per language and cadence."""

    def __init__(self, service: TrendService, render: Render) -> None:
        self.service, self.render = service, render
        self.digests: dict[tuple[str, tuple[int, ...]], Digest] = {}
        self.parts: dict[tuple[str, tuple[int, ...], str, str], list[str]] = {}

    async def __call__(self, item: DueDigest) -> list[str]:
        followed = tuple(sorted(item.preferences.trends))
        language = item.preferences.language or item.subscriber.language
        cadence = item.preferences.cadence
        key = (item.key, followed, language, cadence)
        if key not in self.parts:
            if (item.key, followed) not in self.digests:
                # The period ends at its slot (never after the tick that found it due),
                # so a digest reads the same whenever it is sent.
                self.digests[item.key, followed] = await self.service.digest(
                    until=item.slot,
                    trends=list(followed),
                    key=item.key,
                    cadence=item.preferences.cadence,
                )
            self.parts[key] = self.render(self.digests[item.key, followed], language, cadence)
        return self.parts[key]
