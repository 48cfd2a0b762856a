"""Feed management in Telegram: the real Application against the fake Bot API on 127.0.0.1."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest

from bot.app import build_application
from config.settings import load_settings
from tests.fakes.bot_api import FakeBotAPI
from tests.fakes.feed_server import FeedServer
from tests.support.bot import TOKEN, running_bot
from tests.support.feeds import rss
from trends.models import FeedSpec
from trends.opml import read_opml, write_opml
from trends.service import TrendService

ADMIN = 1001
STRANGER = 2002


@pytest.fixture
async def service(database_url: str, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator:
    monkeypatch.setenv("TRENDBOT_ADMINS", f"{ADMIN}, 3003")
    monkeypatch.setenv("TRENDBOT_ALLOW_PRIVATE_FEEDS", "true")  # the feeds are on 127.0.0.1
    service = await TrendService.open(database_url, allow_private_feeds=True)
    yield service
    await service.close()


def titled(feed: bytes, old: str, new: str) -> bytes:
    """The feed with its channel title (escaped XML) replaced."""
    return feed.replace(f"<title>{old}</title>".encode(), f"<title>{new}</title>".encode(), 1)


async def ask(bot_api: FakeBotAPI, user: int, command: str) -> str:
    bot_api.push_text(user, command)
    return (await bot_api.wait_for_message(user))["text"]


async def test_an_admin_adds_lists_and_removes_feeds(
    bot_api: FakeBotAPI, service: TrendService, feed_server: FeedServer
) -> None:
    lab = rss("lab", items=4, day=datetime.now(UTC))  # published this week
    url = feed_server.add_body("/lab.xml", titled(lab, "lab", "Lab &lt;News&gt;"))
    html = feed_server.add_body("/page", b"<!doctype html><html>hi</html>", "text/html")
    async with running_bot(bot_api, service):
        added = await ask(bot_api, ADMIN, f"/addfeed {url}")
        assert "Added <b>Lab &lt;News&gt;</b> (4 items)" in added
        refused = await ask(bot_api, ADMIN, f"/addfeed {html}")
        assert refused.startswith("Can't add") and "an HTML page, not a feed" in refused
        unsafe = await ask(bot_api, ADMIN, "/addfeed javascript:alert(1)")
        assert "only http and https" in unsafe

        await service.feeds.poll(only_due=False)
        listing = await ask(bot_api, ADMIN, "/feeds")
        assert "1. <b>Lab &lt;News&gt;</b>" in listing and url in listing
        assert "4 posts in 7 days" in listing and "last success 20" in listing

        assert "Removed" in await ask(bot_api, ADMIN, "/removefeed 1")
        assert "already gone" in await ask(bot_api, ADMIN, "/removefeed 1")
        assert "No feeds yet" in await ask(bot_api, ADMIN, "/feeds")
    assert await service.feeds.health() == []


async def test_opml_import_by_document_and_export_as_document(
    bot_api: FakeBotAPI, service: TrendService, feed_server: FeedServer
) -> None:
    good = feed_server.url("/a.xml")
    document = write_opml(
        [FeedSpec(url=good, name="A feed"), FeedSpec(url="file:///etc/passwd", name="Bad")]
    )
    async with running_bot(bot_api, service):
        bot_api.push_document(ADMIN, "subscriptions.opml", document)
        reply = (await bot_api.wait_for_message(ADMIN))["text"]
        assert (
            "Imported 1 feeds" in reply and "skipped 1" in reply and "file:///etc/passwd" in reply
        )

        bot_api.push_text(ADMIN, "/exportfeeds")
        await bot_api.wait_until(lambda: bot_api.calls_of("sendDocument"))
        sent = bot_api.calls_of("sendDocument")[-1].params
        assert [(f.url, f.name) for f in read_opml(sent["document"])] == [(good, "A feed")]
        assert sent["caption"] == "1 feeds, as OPML."


async def test_a_non_admin_is_refused_politely_in_their_language(
    bot_api: FakeBotAPI, service: TrendService, feed_server: FeedServer
) -> None:
    url = feed_server.add_body("/lab.xml", rss("lab"))
    async with running_bot(bot_api, service):
        for command in ("/feeds", f"/addfeed {url}", "/removefeed 1", "/exportfeeds"):
            assert await ask(bot_api, STRANGER, command) == (
                "Sorry, only trendbot's admins can manage feeds."
            )
        bot_api.push_text(STRANGER, "/feeds", language_code="zh-hans")
        assert "管理员" in (await bot_api.wait_for_message(STRANGER))["text"]
        bot_api.push_document(STRANGER, "x.opml", write_opml([FeedSpec(url=url, name="x")]))
        assert "admins" in (await bot_api.wait_for_message(STRANGER))["text"]
    assert await service.feeds.health() == []
    assert feed_server.hits["/lab.xml"] == 0


async def test_the_poll_tick_tells_every_admin_in_their_language_when_a_feed_is_gone(
    bot_api: FakeBotAPI, service: TrendService, feed_server: FeedServer
) -> None:
    url = feed_server.add_body("/gone.xml", titled(rss("old"), "old", "Old &lt;blog&gt;"))
    await service.feeds.add(url, allow_private=True)
    feed_server.add_body("/gone.xml", b"", status=410)
    await service.subscribers.ensure_settings(
        3003, "private", language="zh"
    )  # their Telegram is Chinese
    settings = load_settings(
        TELEGRAM_BOT_TOKEN=TOKEN, TELEGRAM_API_BASE_URL=bot_api.base_url.removesuffix("/bot")
    )
    application = build_application(settings, service, with_jobs=True)
    async with application:
        assert application.post_init is not None
        await application.post_init(application)
        await application.start()
        try:
            told = [await bot_api.wait_for_message(admin, timeout=10) for admin in (ADMIN, 3003)]
        finally:
            await application.stop()
    english, chinese = (message["text"] for message in told)
    assert english.startswith("⛔ Feed <b>Old &lt;blog&gt;</b> is gone (410 Gone")
    assert chinese.startswith("⛔ 订阅源 <b>Old &lt;blog&gt;</b> 已不存在（410 Gone")
    assert url in english and url in chinese
    assert not (await service.feeds.health())[0].enabled
