"""A broadcast: the due digests rendered once, sent to many chats at once, recorded and reported.

Telegram-free: how a digest becomes message parts (`Render`), how parts reach a chat (`Send`)
and how admins hear of the run (`Report`) are given by the caller. The scheduler's tick
(`jobs.digests`) and `trendbot digest --send-now` both end here, through `bot.broadcast`.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Iterator, Sequence
from dataclasses import dataclass, replace

from trends.delivery.routing import split_by_route, topic_key
from trends.models import Digest
from trends.service import TrendService
from trends.services.digests import DueDigest

__all__ = ["BroadcastResult", "Render", "Report", "Send", "run_broadcast", "send_digests"]

log = logging.getLogger(__name__)

Render = Callable[[Digest, str, str], list[str]]  # digest, language, cadence → message parts
Send = Callable[[DueDigest, list[str]], Awaitable[str]]  # returns the outcome


@dataclass(frozen=True, slots=True)
class BroadcastResult:
    key: str
    counts: dict[str, int]
    seconds: float

    def count(self, outcome: str) -> int:
        return self.counts.get(outcome, 0)


Report = Callable[[BroadcastResult], Awaitable[None]]


async def run_broadcast(
    service: TrendService,
    due: Sequence[DueDigest],
    render: Render,
    send: Send,
    report: Report,
    *,
    concurrency: int = 1,
) -> BroadcastResult:
    """Send `due`, record the run, and report it when anything was attempted."""
    if not due:
        return BroadcastResult("", {}, 0.0)
    key = Counter(item.key for item in due).most_common(1)[0][0]
    started = time.monotonic()
    broadcast_id = await service.broadcasts.start(key)
    counts = await send_digests(service, due, render, send, concurrency=concurrency)
    await service.broadcasts.finish(broadcast_id, counts)
    result = BroadcastResult(key, counts, time.monotonic() - started)
    if result.count("sent") + result.count("failed") + result.count("deactivated"):
        try:
            await report(result)
        except Exception:  # a report that can't be sent never fails the broadcast
            log.exception("broadcast report failed")
    return result


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
                log.exception("digest for subscriber %s failed", item.subscriber_id)
                outcomes["failed"] += 1

    # Build and render everything first, so the broadcast itself only waits on Telegram.
    work = await _routed_work(service, due, _Renderer(service, render), render)
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

    async def digest(self, item: DueDigest) -> Digest:
        followed = item.trends
        if (item.key, followed) not in self.digests:
            # The period ends at its slot (never after the tick that found it due), so a
            # digest reads the same whenever it is sent.
            self.digests[item.key, followed] = await self.service.digests.build(
                until=item.slot,
                trends=list(followed),
                key=item.key,
                cadence=item.cadence,
            )
        return self.digests[item.key, followed]

    async def __call__(self, item: DueDigest) -> list[str]:
        followed = item.trends
        language = item.language
        cadence = item.cadence
        key = (item.key, followed, language, cadence)
        if key not in self.parts:
            self.parts[key] = self.render(await self.digest(item), language, cadence)
        return self.parts[key]


async def _routed_work(
    service: TrendService, due: Sequence[DueDigest], parts_of: _Renderer, render: Render
) -> list[tuple[DueDigest, list[str]]]:
    """(delivery, parts) for every due digest, split by topic where the chat has routes.

    A forum group with /route gets one delivery per topic (its own ledger key, see
    `trends.delivery.routing.topic_key`, so each topic gets its part exactly once) plus the rest
    for the chat; a chat without routes gets its digest unchanged.
    """
    routes = await service.subscribers.topic_routes(item.subscriber_id for item in due)
    work: list[tuple[DueDigest, list[str]]] = []
    for item in due:
        chat_routes = routes.get(item.subscriber_id)
        if not chat_routes:
            work.append((item, await parts_of(item)))
            continue
        language = item.language
        cadence = item.cadence
        split = split_by_route(await parts_of.digest(item), chat_routes)
        for thread, part in split.topics:
            topic = replace(item, key=topic_key(item.key, thread), thread_id=thread)
            # A plain list: text only, the chart stays with the chat's own digest.
            work.append((topic, list(render(part, language, cadence))))
        # All news went to topics: the chat's own delivery is recorded with nothing to send.
        quiet = split.main.is_empty and split.topics
        main = [] if quiet else render(split.main, language, cadence)
        work.append((item, main))
    return work
