"""`trendbot worker` as real processes on a real PostgreSQL: three workers share the feeds,
one is killed mid-poll, and every feed is still polled once and every post stored once."""

from __future__ import annotations

import asyncio
import os
import random
import signal
import string
import sys
import time
from collections import defaultdict
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import pytest
from aiohttp import web
from sqlalchemy import func, select

from bot.app import build_application
from config.settings import load_settings
from tests.conftest import REPO_ROOT, OpenService
from tests.fakes import postgres as pg
from tests.fakes.bot_api import FakeBotAPI
from tests.fakes.feed_server import FeedServer
from tests.support.bot import TOKEN
from tests.support.feeds import Item, feeds_file, rss, rss_feed
from trends import clock
from trends.service import TrendService
from trends.store.schema import FeedRow, PostRow

pytestmark = pytest.mark.postgres  # the SQLite refusal test starts no server

FEEDS = 18
LEASE_SECONDS = 2.0
FETCH_SECONDS = 1.0  # each feed answers this late, so a kill lands mid-poll
SHARED_LINK = "https://news.example/one-story-everywhere"


@pytest.fixture
async def database_url(postgres_url: str) -> AsyncIterator[str]:
    async with pg.fresh_database(postgres_url) as url:
        yield url


def _words(rng: random.Random, count: int) -> str:
    """Made-up words, so that no two feeds' own posts look like copies of each other."""
    return " ".join(
        "".join(rng.choice(string.ascii_lowercase) for _ in range(rng.randint(4, 9)))
        for _ in range(count)
    )


def _feed(number: int) -> bytes:
    """Two posts of the feed's own and one page every feed links to: one story."""
    rng = random.Random(number)
    published = clock.utcnow() - timedelta(hours=1)
    own = [Item(f"Outlet {number} {_words(rng, 5)}", _words(rng, 30), published) for _ in range(2)]
    shared = Item(
        "Open model tops the reasoning leaderboard",
        "The lab released weights under a permissive licence and its reasoning scores lead.",
        published,
        link=SHARED_LINK,
        guid=f"shared-{number}",
    )
    return rss_feed(f"outlet{number}", [*own, shared])


class SlowFeeds:
    """Feeds that answer after FETCH_SECONDS, with each request's arrival time."""

    def __init__(self, server: FeedServer) -> None:
        self.server = server
        self.arrivals: dict[str, list[float]] = defaultdict(list)

    def add(self, number: int) -> str:
        body = _feed(number)
        path = f"/slow/{number}.xml"

        async def handler(request: web.Request) -> web.Response:
            self.arrivals[request.url.path].append(time.monotonic())
            await asyncio.sleep(FETCH_SECONDS)
            return web.Response(body=body, content_type="application/rss+xml")

        return self.server.add_route(path, handler)


def _worker_env(database_url: str, feeds_path: Path) -> dict[str, str]:
    return {
        **os.environ,
        "PYTHONPATH": str(REPO_ROOT),
        "DATABASE_URL": database_url,
        "TRENDBOT_FEEDS": str(feeds_path),
        "TRENDBOT_ALLOW_PRIVATE_FEEDS": "true",
        "TRENDBOT_LEASE_SECONDS": str(LEASE_SECONDS),
    }


async def _start_worker(env: dict[str, str], cwd: Path) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        sys.executable, "-m", "cli", "worker", "--interval", "0.3", "--batch", "3",
        env=env, cwd=cwd, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
    )  # fmt: skip


async def _feeds(service: TrendService) -> list[FeedRow]:
    async with service.db.new_session() as session:
        return list((await session.scalars(select(FeedRow).order_by(FeedRow.id))).all())


async def _wait_for(predicate: object, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if await predicate():  # type: ignore[operator]
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"not within {timeout} s")


async def test_three_workers_one_killed_mid_poll_poll_each_feed_once_and_store_each_post_once(
    database_url: str, tmp_path: Path
) -> None:
    async with FeedServer() as server:
        slow = SlowFeeds(server)
        urls = [slow.add(number) for number in range(FEEDS)]
        path = feeds_file(tmp_path / "feeds.yaml", urls, poll_minutes=60)
        service = await TrendService.open(database_url, feeds_path=path, allow_private_feeds=True)
        env = _worker_env(database_url, path)
        workers = [await _start_worker(env, tmp_path) for _ in range(3)]
        victim, survivors = workers[0], workers[1:]
        try:
            # Kill the victim while it holds feeds whose answers it is still waiting for.
            async def victim_mid_poll() -> bool:
                return any(
                    feed.lease_owner and f":{victim.pid}:" in feed.lease_owner
                    for feed in await _feeds(service)
                    if feed.last_success_at is None and slow.arrivals[_path(feed.url)]
                )

            await _wait_for(victim_mid_poll, 60)
            victim.send_signal(signal.SIGKILL)
            killed_at = time.monotonic()
            await victim.wait()
            orphans = {
                feed.url
                for feed in await _feeds(service)
                if feed.lease_owner and f":{victim.pid}:" in feed.lease_owner
            }
            assert orphans, "the victim held no feed when it was killed"

            async def all_polled() -> bool:
                return all(feed.last_success_at for feed in await _feeds(service))

            await _wait_for(all_polled, 60)
            for worker in survivors:
                worker.send_signal(signal.SIGTERM)
            outputs = [(await worker.communicate())[0].decode() for worker in survivors]
            for worker, output in zip(survivors, outputs, strict=True):
                assert worker.returncode == 0, output
        finally:
            for worker in workers:
                if worker.returncode is None:
                    worker.kill()
                    await worker.wait()

        feeds = await _feeds(service)
        for feed in feeds:
            arrivals = slow.arrivals[_path(feed.url)]
            if feed.url in orphans:
                # The victim's fetch (if it got that far), then one more by a survivor, and
                # only once the victim's lease had run out.
                assert 1 <= len(arrivals) <= 2, (feed.url, arrivals)
                assert arrivals[-1] >= killed_at + LEASE_SECONDS / 2, (feed.url, arrivals)
            else:
                assert len(arrivals) == 1, (feed.url, arrivals)  # one poll per cycle
            assert feed.lease_owner is None and feed.lease_expires_at is None
            assert feed.last_error is None

        async with service.db.new_session() as session:
            per_feed = dict(
                (
                    await session.execute(
                        select(PostRow.feed_id, func.count()).group_by(PostRow.feed_id)
                    )
                ).all()
            )
            shared = (
                await session.scalars(select(PostRow).where(PostRow.canonical_link == SHARED_LINK))
            ).all()
        assert per_feed == {feed.id: 3 for feed in feeds}  # every post once
        # The page every outlet linked to is one story, whichever workers stored it.
        assert len(shared) == FEEDS
        assert len({post.cluster_id or post.id for post in shared}) == 1
        await service.close()


def _path(url: str) -> str:
    return "/" + url.split("/", 3)[3]


async def test_worker_refuses_sqlite_with_one_line(tmp_path: Path) -> None:
    env = {
        **os.environ,
        "PYTHONPATH": str(REPO_ROOT),
        "DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path}/trendbot.db",
    }
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "cli", "worker", env=env, cwd=tmp_path,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    out, err = await process.communicate()
    assert process.returncode == 2
    assert out == b""
    lines = err.decode().strip().splitlines()
    assert len(lines) == 1 and "needs PostgreSQL" in lines[0] and "bot polls" in lines[0]
    assert not (tmp_path / "trendbot.db").exists()  # refused before touching the database


async def test_the_bot_leaves_polling_to_the_workers_when_told_and_polls_by_default(
    bot_api: FakeBotAPI, feed_server: FeedServer, service_for: OpenService
) -> None:
    url = feed_server.add_body("/lab.xml", rss("lab"))
    service = await service_for([url])
    base = bot_api.base_url.removesuffix("/bot")
    for poll_in_bot, hits in (("false", 0), ("true", 1)):
        settings = load_settings(
            TELEGRAM_BOT_TOKEN=TOKEN, TELEGRAM_API_BASE_URL=base, TRENDBOT_POLL_IN_BOT=poll_in_bot
        )
        application = build_application(settings, service, with_jobs=True)
        async with application:
            assert application.post_init is not None
            await application.post_init(application)
            await application.start()
            try:
                await asyncio.sleep(2.5)  # the poll tick's first run is due after 1 s
            finally:
                await application.stop()
        assert feed_server.hits["/lab.xml"] == hits, poll_in_bot
    assert (await service.feeds.health())[0].last_success_at is not None
