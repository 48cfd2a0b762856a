"""`trendbot db upgrade` and `trendbot db copy --to URL`, run as an operator runs them."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path

import asyncpg
import pytest
import sqlalchemy as sa
from alembic import command
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import create_async_engine

from tests.fakes import postgres as pg
from tests.fakes.feed_server import FeedServer
from tests.support.archives import pricing_desk_feed
from tests.support.feeds import feeds_file
from trends.service import TrendService
from trends.store.db import alembic_config
from trends.store.maintenance import copy_database
from trends.store.schema import UTCDateTime

ROOT = Path(__file__).resolve().parent.parent

# The newest migration: what `db upgrade` must reach.
HEAD = max(
    path.name.split("_", 1)[0] for path in (ROOT / "trends/store/migrations/versions").glob("0*.py")
)


def trendbot(*args: str, database_url: str, feeds: Path) -> subprocess.CompletedProcess[str]:
    """The `trendbot` command in a process of its own, on `database_url`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TRENDBOT_", "DATABASE_"))}
    env |= {"DATABASE_URL": database_url, "TRENDBOT_FEEDS": str(feeds)}
    return subprocess.run(
        [sys.executable, "-c", "from cli.main import main; main()", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


# -- upgrade ----------------------------------------------------------------------------

# The tables as revision 0001 made them: what a database from the first release holds.
_V1 = sa.MetaData()
_FEEDS = sa.Table(
    "feeds", _V1,
    sa.Column("id", sa.Integer, primary_key=True), sa.Column("url", sa.String),
    sa.Column("name", sa.String), sa.Column("language", sa.String),
    sa.Column("poll_minutes", sa.Integer), sa.Column("enabled", sa.Boolean),
    sa.Column("consecutive_failures", sa.Integer), sa.Column("created_at", UTCDateTime),
    sa.Column("last_success_at", UTCDateTime),
)  # fmt: skip
_POSTS = sa.Table(
    "posts", _V1,
    sa.Column("id", sa.Integer, primary_key=True), sa.Column("feed_id", sa.Integer),
    sa.Column("guid", sa.String), sa.Column("link", sa.String),
    sa.Column("canonical_link", sa.String), sa.Column("title", sa.Text),
    sa.Column("summary", sa.Text), sa.Column("content_hash", sa.String),
    sa.Column("language", sa.String), sa.Column("published_at", UTCDateTime),
    sa.Column("fetched_at", UTCDateTime), sa.Column("in_digests", sa.Boolean),
)  # fmt: skip
_POST_TRENDS = sa.Table(
    "post_trends", _V1,
    sa.Column("post_id", sa.Integer), sa.Column("trend", sa.SmallInteger),
    sa.Column("score", sa.Float), sa.Column("matched", sa.JSON),
    sa.Column("published_at", UTCDateTime),
)  # fmt: skip
_SUBSCRIBERS = sa.Table(
    "subscribers", _V1,
    sa.Column("id", sa.Integer, primary_key=True), sa.Column("chat_id", sa.BigInteger),
    sa.Column("chat_type", sa.String), sa.Column("language", sa.String),
    sa.Column("active", sa.Boolean), sa.Column("consecutive_failures", sa.Integer),
    sa.Column("created_at", UTCDateTime),
)  # fmt: skip
_PREFERENCES = sa.Table(
    "preferences", _V1,
    sa.Column("subscriber_id", sa.Integer), sa.Column("trends", sa.JSON),
    sa.Column("cadence", sa.String), sa.Column("digest_day", sa.SmallInteger),
    sa.Column("digest_hour", sa.SmallInteger), sa.Column("timezone", sa.String),
    sa.Column("language", sa.String), sa.Column("link_previews", sa.Boolean),
)  # fmt: skip

FEED_URL = "https://lab.example/blog.xml"


async def fill_first_release(database_url: str, now: datetime) -> None:
    """Migrate to revision 0001 only and store what its bot would have stored (ids from the
    sequences, as the bot took them: 1 in an empty database)."""
    engine = create_async_engine(database_url)
    try:
        async with engine.begin() as connection:
            await connection.run_sync(lambda sync: command.upgrade(alembic_config(sync), "0001"))
        async with engine.begin() as connection:
            await connection.execute(
                _FEEDS.insert(),
                [dict(url=FEED_URL, name="Lab blog", language="en", poll_minutes=60,
                      enabled=True, consecutive_failures=0, created_at=now - timedelta(days=9),
                      last_success_at=now - timedelta(hours=1))],
            )  # fmt: skip
            await connection.execute(
                _POSTS.insert(),
                [dict(feed_id=1, guid="p1", link="https://lab.example/pricing",
                      canonical_link="https://lab.example/pricing",
                      title="Pay per resolved ticket: AI outcome-based pricing arrives",
                      summary="Vendors now charge per outcome. 按结果付费。",
                      content_hash="a" * 64,
                      language="en", published_at=now - timedelta(days=1),
                      fetched_at=now - timedelta(hours=1), in_digests=True)],
            )  # fmt: skip
            await connection.execute(
                _POST_TRENDS.insert(),
                [dict(post_id=1, trend=6, score=14.5, matched=["outcome-based pricing"],
                      published_at=now - timedelta(days=1))],
            )  # fmt: skip
            await connection.execute(
                _SUBSCRIBERS.insert(),
                [dict(chat_id=777, chat_type="private", language="zh", active=True,
                      consecutive_failures=0, created_at=now - timedelta(days=8))],
            )  # fmt: skip
            await connection.execute(
                _PREFERENCES.insert(),
                [dict(subscriber_id=1, trends=[6, 7], cadence="daily", digest_day=2,
                      digest_hour=7, timezone="Asia/Shanghai", language="zh",
                      link_previews=False)],
            )  # fmt: skip
    finally:
        await engine.dispose()


async def test_db_upgrade_takes_a_first_release_database_to_the_last_revision_with_its_data(
    database_url: str, tmp_path: Path
) -> None:
    now = datetime.now(UTC).replace(microsecond=0)
    await fill_first_release(database_url, now)
    feeds = feeds_file(tmp_path / "feeds.yaml", [FEED_URL])

    done = trendbot("db", "upgrade", database_url=database_url, feeds=feeds)
    assert done.returncode == 0, done.stderr
    assert f"upgraded from revision 0001 to {HEAD}" in done.stdout
    again = trendbot("db", "upgrade", database_url=database_url, feeds=feeds)
    assert again.returncode == 0 and f"already at revision {HEAD}" in again.stdout

    # What the readers had is all there, read through the current code.
    service = await TrendService.open(database_url, feeds_path=feeds)
    try:
        trend = service.themes.get(6)
        assert trend is not None
        page = await service.archive.trend_page(trend)
        assert [post.title for post in page.posts] == [
            "Pay per resolved ticket: AI outcome-based pricing arrives"
        ]
        assert page.posts[0].published == now - timedelta(days=1)
        # Posts stored before the short-terms index are found by one- and two-character
        # words as well as by longer ones.
        for query in ("AI", "付费", "resolved ticket", "按结果"):
            assert (await service.archive.search(query)).total == 1, query
        chat = await service.subscribers.settings(777)
        assert chat is not None
        assert chat.trends == (6, 7) or list(chat.trends) == [6, 7]
        assert chat.cadence == "daily" and chat.timezone == "Asia/Shanghai"
        assert (await service.archive.stats()).active == 1
        [feed] = await service.feeds.health()
        assert feed.url == FEED_URL
        # The columns later revisions added start at their defaults, and new rows fit.
        assert await service.subscribers.subscribe(778, "private")
        assert (await service.archive.stats()).active == 2
    finally:
        await service.close()


# -- copy -------------------------------------------------------------------------------


@pytest.fixture
async def postgres_target(postgres_url: str) -> AsyncIterator[str]:
    """An empty database on the session's PostgreSQL server (skipped when there is none)."""
    async with pg.fresh_database(postgres_url, "copy") as url:
        yield url


PRICING = """<?xml version="1.0"?>
<rss version="2.0"><channel><title>Pricing desk</title><link>https://pricing.example/</link>
{items}</channel></rss>"""
ITEM = """<item><title>{title}</title><link>https://pricing.example/{n}</link>
<guid>pricing-{n}</guid><pubDate>{date}</pubDate>
<description>{body}</description></item>"""


def many_posts_feed(now: datetime, count: int) -> bytes:
    """`count` distinct posts, so the copy needs many batches."""
    items = "".join(
        ITEM.format(
            n=n,
            title=f"Story {n}: agents {n} and outcome-based pricing, case {n * 7919 % 1000}",
            date=format_datetime(now - timedelta(hours=n)),
            body=f"Report {n} on {n % 13} agent swarms and {n % 7} GPU clusters, number {n}.",
        )
        for n in range(count)
    )
    return PRICING.format(items=items).encode()


class Interrupted(Exception):
    pass


async def _sqlite_rows(url: str, query: str) -> list[tuple]:
    engine = create_async_engine(url)
    try:
        async with engine.connect() as connection:
            return [tuple(row) for row in (await connection.execute(sa.text(query))).all()]
    finally:
        await engine.dispose()


async def test_db_copy_moves_sqlite_into_postgresql_and_resumes_after_an_interruption(
    postgres_target: str, feed_server: FeedServer, tmp_path: Path
) -> None:
    now = datetime.now(UTC)
    feed_server.add_body("/pricing.xml", pricing_desk_feed(now))
    feed_server.add_body("/many.xml", many_posts_feed(now, 120))
    urls = [
        feed_server.url("/feeds/openai_research_fulltext_2026-08-18.rss.xml"),
        feed_server.url("/pricing.xml"),
        feed_server.url("/many.xml"),
    ]
    feeds = feeds_file(tmp_path / "feeds.yaml", urls)
    source_url = f"sqlite+aiosqlite:///{tmp_path}/trendbot.db"
    source = await TrendService.open(source_url, feeds_path=feeds, allow_private_feeds=True)
    try:
        await source.feeds.poll(only_due=False)
        for chat in (101, 102, -1003):
            await source.subscribers.subscribe(chat, "private" if chat > 0 else "supergroup")
    finally:
        await source.close()
    [(posts,)] = await _sqlite_rows(source_url, "SELECT count(*) FROM posts")
    assert posts > 100
    # A reference to a later row, which a copy in key order meets before its target exists.
    engine = create_async_engine(source_url)
    async with engine.begin() as connection:
        await connection.execute(sa.text("UPDATE posts SET cluster_id = :last WHERE id = 1"),
                                 {"last": posts})  # fmt: skip
    await engine.dispose()
    source = await TrendService.open(source_url, feeds_path=feeds, allow_private_feeds=True)
    try:
        trend = source.themes.get(6)
        assert trend is not None
        expected = await source.archive.trend_page(trend, limit=20)
    finally:
        await source.close()

    # Interrupted in the middle of the posts.
    seen: list[tuple[str, int]] = []

    def stop_in_posts(table: str, done: int, total: int) -> None:
        seen.append((table, done))
        if table == "posts" and done >= 50:
            raise Interrupted

    with pytest.raises(Interrupted):
        await copy_database(source_url, postgres_target, batch=25, progress=stop_in_posts)
    target = await asyncpg.connect(make_url(postgres_target).render_as_string(False).replace(
        "postgresql+asyncpg", "postgresql"))  # fmt: skip
    try:
        assert await target.fetchval("SELECT count(*) FROM posts") == 50
        assert await target.fetchval("SELECT count(*) FROM post_trends") == 0
    finally:
        await target.close()

    # The operator runs it again: only what is missing is copied, and the counts agree.
    done = trendbot("db", "copy", "--to", postgres_target, database_url=source_url, feeds=feeds)
    assert done.returncode == 0, done.stderr
    assert "all counts match" in done.stdout
    posts_line = next(line for line in done.stdout.splitlines() if line.startswith("posts "))
    source_count, target_count, copied_now = (
        int(n.replace(",", "")) for n in re.findall(r"[\d,]+", posts_line)[:3]
    )
    assert source_count == target_count == posts and copied_now == posts - 50
    feeds_line = next(line for line in done.stdout.splitlines() if line.startswith("feeds "))
    assert feeds_line.split()[3] == "0"  # copied before the interruption, not again

    # A third run has nothing left to do.
    again = trendbot("db", "copy", "--to", postgres_target, database_url=source_url, feeds=feeds)
    assert again.returncode == 0 and "0 rows copied; all counts match" in again.stdout

    # The bot on PostgreSQL reads the same archive and keeps writing new rows.
    assert expected.posts
    moved = await TrendService.open(postgres_target, feeds_path=feeds, allow_private_feeds=True)
    try:
        page = await moved.archive.trend_page(trend, limit=20)
        assert [(p.id, p.title, p.published) for p in page.posts] == [
            (p.id, p.title, p.published) for p in expected.posts
        ]
        assert page.total == expected.total
        assert (await moved.archive.stats()).active == 3
        assert await moved.subscribers.subscribe(
            104, "private"
        )  # ids continue after the copied ones
        async with moved.db.engine.connect() as connection:
            cluster = await connection.scalar(sa.text("SELECT cluster_id FROM posts WHERE id = 1"))
        assert cluster == posts  # the forward reference was filled in after its row arrived
    finally:
        await moved.close()


async def test_db_copy_refuses_a_target_that_holds_another_installation(
    postgres_target: str, tmp_path: Path
) -> None:
    source_url = f"sqlite+aiosqlite:///{tmp_path}/trendbot.db"
    mine = feeds_file(tmp_path / "mine.yaml", ["https://a.example/feed.xml"])
    theirs = feeds_file(tmp_path / "theirs.yaml", ["https://b.example/feed.xml"])
    for url, feeds in ((source_url, mine), (postgres_target, theirs)):
        service = await TrendService.open(url, feeds_path=feeds)
        await service.close()

    done = trendbot("db", "copy", "--to", postgres_target, database_url=source_url, feeds=mine)
    assert done.returncode == 1
    assert "table feeds: the target holds rows that are not the source's" in done.stderr


def test_db_copy_names_a_target_it_cannot_use_without_printing_its_password(
    tmp_path: Path,
) -> None:
    feeds = feeds_file(tmp_path / "feeds.yaml", [])
    source_url = f"sqlite+aiosqlite:///{tmp_path}/trendbot.db"
    done = trendbot(
        "db", "copy", "--to", "mysql://me:hunter2@db.example/trendbot",
        database_url=source_url, feeds=feeds,
    )  # fmt: skip
    assert done.returncode == 2
    assert "expected a postgresql://" in done.stderr
    assert "hunter2" not in done.stderr + done.stdout
