"""A feed that floods: thousands of look-alike entries must not hold a poll, the bot's
replies or its shutdown. Ingest takes a bounded batch per poll, the rest on the next ones."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import func, select

from tests.fakes.bot_api import FakeBotAPI
from tests.fakes.feed_server import FeedServer
from tests.support.feeds import Item, feeds_file, rss_feed
from trends.ingest.pipeline import MAX_NEW_POSTS_PER_POLL
from trends.ingest.schedule import FLOOR
from trends.ingest.story_index import (
    MAX_CANDIDATES,
    MAX_COUNTED,
    MAX_PER_KEY,
    Member,
    StoryIndex,
    member,
    member_keys,
    member_lookups,
)
from trends.service import TrendService
from trends.store.schema import FeedRow, PostRow

REPO = Path(__file__).resolve().parents[1]


def look_alike_feed(entries: int, now: datetime) -> bytes:
    """One outlet's flood: the same launch, told `entries` times with a number changed."""
    return rss_feed(
        "Flood",
        (
            Item(
                f"OpenAI ships GPT-5 update {n} for developers",
                f"OpenAI said GPT-5 update {n} improves reasoning for developers.",
                now - timedelta(minutes=n),
                link=f"https://flood.example/{n}",
                guid=f"flood-{n}",
            )
            for n in range(entries)
        ),
    )


async def _stored(service: TrendService) -> int:
    async with service.db.new_session() as session:
        return await session.scalar(select(func.count()).select_from(PostRow)) or 0


async def test_a_flood_is_taken_a_batch_per_poll_and_finished_on_the_next_polls(
    database_url: str, feed_server: FeedServer, tmp_path: Path
) -> None:
    entries = 2 * MAX_NEW_POSTS_PER_POLL + 100
    feed_server.add_body("/flood.xml", look_alike_feed(entries, datetime.now(UTC)))
    feeds = feeds_file(tmp_path / "feeds.yaml", [feed_server.url("/flood.xml")])
    service = await TrendService.open(database_url, feeds_path=feeds, allow_private_feeds=True)
    try:
        now = datetime.now(UTC)
        first = await service.feeds.poll(only_due=False, now=now)
        assert first.to_json()["failed"] == []
        assert await _stored(service) == MAX_NEW_POSTS_PER_POLL
        async with service.db.new_session() as session:
            feed = (await session.scalars(select(FeedRow))).one()
        # The rest is due again soon, and is fetched whole (not answered 304).
        assert feed.next_check_at is not None
        assert abs(feed.next_check_at.replace(tzinfo=UTC) - (now + FLOOR)) < timedelta(seconds=1)
        await service.feeds.poll(only_due=True, now=now + FLOOR)
        assert await _stored(service) == 2 * MAX_NEW_POSTS_PER_POLL
        await service.feeds.poll(only_due=True, now=now + 2 * FLOOR)
        assert await _stored(service) == entries  # nothing lost
        last = await service.feeds.poll(only_due=False, now=now + 3 * FLOOR)
        assert last.count("not_modified") == 1  # done: the validators are kept again
    finally:
        await service.close()


def _gpt5_report(now: datetime) -> Member:
    """A new report on the one story of a flood of GPT-5 updates, from an outlet of its own."""
    return member(
        -1,
        None,
        title="OpenAI ships GPT-5 update for developers",
        summary="OpenAI said GPT-5 improves reasoning.",
        canonical_link="https://other.example/x",
        published=now,
        signature=None,
    )


def test_a_story_lookup_reads_a_bounded_number_of_earlier_reports() -> None:
    """Comparing each of 30,000 look-alikes with every earlier one would never finish."""
    index = StoryIndex()
    now = datetime(2026, 11, 20, tzinfo=UTC)
    for n in range(3 * MAX_CANDIDATES):
        report = member(
            n,
            n,
            title=f"OpenAI ships GPT-5 update {n} for developers",
            summary="OpenAI said GPT-5 improves reasoning.",
            canonical_link=f"https://flood.example/{n}",
            published=now,
            signature=None,
        )
        index.add(report, member_lookups(report))
    probe = _gpt5_report(now)
    assert index.candidate_count(member_lookups(probe)) <= MAX_CANDIDATES


def test_ingest_holding_only_the_newest_reports_of_a_key_decides_as_if_it_held_all() -> None:
    """Ingest reads a busy name's newest MAX_PER_KEY stored posts and counts the others (up
    to MAX_COUNTED); the story a new report joins, and how rare its names look, must not
    change."""
    now = datetime(2026, 11, 20, tzinfo=UTC)
    reports = [
        member(
            n,
            n,
            title=f"OpenAI ships GPT-5 update {n} for developers",
            summary="OpenAI said GPT-5 improves reasoning.",
            canonical_link=f"https://outlet{n}.example/gpt-5",
            published=now,
            signature=None,
        )
        for n in range(MAX_COUNTED + MAX_PER_KEY)
    ]
    whole, newest = StoryIndex(), StoryIndex()
    keys = {report.ident: member_keys(report) for report in reports}
    holders: dict[int, list[int]] = {}
    for report in reports:
        whole.add(report, keys[report.ident])
        for key in keys[report.ident]:
            holders.setdefault(key, []).append(report.ident)
    for key, idents in holders.items():
        # What the store returns: the newest MAX_PER_KEY, and a count that stops at MAX_COUNTED.
        newest.count_unheld(key, min(len(idents), MAX_COUNTED) - len(idents[-MAX_PER_KEY:]))
    for report in reports:
        newest.add(
            report, [k for k in keys[report.ident] if report.ident in holders[k][-MAX_PER_KEY:]]
        )
    probe = _gpt5_report(now)
    lookups = member_lookups(probe)
    assert newest.join(probe, lookups) == whole.join(probe, lookups) is not None
    assert dict(newest.frequency(lookups)) == dict(whole.frequency(lookups))
    assert whole.frequency(lookups)["e:openai"] == MAX_COUNTED


async def test_the_bot_answers_and_stops_on_sigterm_while_a_flood_is_ingested(
    bot_api: FakeBotAPI, feed_server: FeedServer, tmp_path: Path
) -> None:
    feed_server.add_body("/flood.xml", look_alike_feed(3000, datetime.now(UTC)))
    feeds = feeds_file(tmp_path / "feeds.yaml", [feed_server.url("/flood.xml")])
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("TELEGRAM_", "TRENDBOT_", "DATABASE_URL"))
    }
    env |= {
        "PYTHONPATH": str(REPO),
        "TELEGRAM_BOT_TOKEN": "123:flood",
        "TELEGRAM_API_BASE_URL": bot_api.base_url.removesuffix("/bot"),
        "DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path}/run.db",
        "TRENDBOT_FEEDS": str(feeds),
        "TRENDBOT_ALLOW_PRIVATE_FEEDS": "1",
    }
    bot = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "cli.main", "run", env=env, cwd=tmp_path,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    try:
        await bot_api.wait_until(lambda: feed_server.hits["/flood.xml"] > 0, timeout=60)
        # While the flood is parsed, tagged and clustered, a reader still gets an answer.
        bot_api.push_text(4242, "/help")
        reply = await bot_api.wait_for_message(4242, timeout=60)
        assert "/trend" in reply["text"]
        bot.send_signal(signal.SIGTERM)
        _, stderr = await asyncio.wait_for(bot.communicate(), timeout=60)
    finally:
        if bot.returncode is None:
            bot.kill()
            await bot.wait()
    assert bot.returncode == 0, stderr.decode()[-2000:]
    assert b"Traceback" not in stderr
