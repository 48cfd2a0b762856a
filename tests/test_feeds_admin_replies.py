"""What `/feeds`, `/addfeed`, `/removefeed` and an OPML import tell an admin is true.

The real Application against the fake Bot API and a feed server, both on 127.0.0.1.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest

from tests.fakes.bot_api import FakeBotAPI
from tests.fakes.feed_server import FeedServer
from tests.support.bot import running_bot
from tests.support.feeds import rss
from tests.test_feeds_bot import ADMIN, ask, titled
from trends.models import FeedSpec
from trends.opml import write_opml
from trends.service import TrendService

LONG_HOST = "http://" + "a" * 3000 + ".example/feed.xml"


@pytest.fixture
async def service(database_url: str, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator:
    monkeypatch.setenv("TRENDBOT_ADMINS", str(ADMIN))
    monkeypatch.setenv("TRENDBOT_ALLOW_PRIVATE_FEEDS", "true")  # the feeds are on 127.0.0.1
    service = await TrendService.open(database_url, allow_private_feeds=True)
    yield service
    await service.close()


def feed_ids(listing: str) -> dict[str, int]:
    """Feed name → the id `/feeds` shows before it."""
    return {
        name: int(number) for number, name in re.findall(r"^(\d+)\. <b>(.*?)</b>", listing, re.M)
    }


async def test_removefeed_takes_a_stable_id_and_a_second_removal_says_it_is_gone(
    bot_api: FakeBotAPI, service: TrendService, feed_server: FeedServer
) -> None:
    urls = [feed_server.add_body(f"/{name}.xml", rss(name)) for name in ("alpha", "beta", "gamma")]
    async with running_bot(bot_api, service):
        for url in urls:
            assert "Added" in await ask(bot_api, ADMIN, f"/addfeed {url}")
        ids = feed_ids(await ask(bot_api, ADMIN, "/feeds"))
        assert set(ids) == {"alpha", "beta", "gamma"}

        first = await ask(bot_api, ADMIN, f"/removefeed {ids['alpha']}")
        assert first.startswith("Removed") and urls[0] in first
        # Sent twice: the same feed, already gone; beta (next in the list) is untouched.
        again = await ask(bot_api, ADMIN, f"/removefeed {ids['alpha']}")
        assert "already gone" in again and urls[0] in again
        after = feed_ids(await ask(bot_api, ADMIN, "/feeds"))
        assert after == {"beta": ids["beta"], "gamma": ids["gamma"]}

        by_url = await ask(bot_api, ADMIN, f"/removefeed {urls[2]}")
        assert by_url.startswith("Removed") and urls[2] in by_url
        assert "already gone" in await ask(bot_api, ADMIN, f"/removefeed {urls[2]}")
        assert "There is no feed" in await ask(bot_api, ADMIN, "/removefeed 99999999999999999999")
    assert [feed.url for feed in await service.feeds.health()] == [urls[1]]


async def test_feeds_tells_the_truth_about_a_new_feed_and_a_repeated_add(
    bot_api: FakeBotAPI, service: TrendService, feed_server: FeedServer
) -> None:
    now = datetime.now(UTC)
    fresh = rss("fresh", items=2, day=now).replace(b"</channel>", b"", 1)
    old = rss("fresh", items=5, day=now - timedelta(days=400)).split(b"<item>", 1)[1]
    # Two posts of this week, then a back catalogue from last year: fetched today, all of it.
    url = feed_server.add_body("/fresh.xml", fresh + b"<item>" + old)
    async with running_bot(bot_api, service):
        assert "Added <b>fresh</b>" in await ask(bot_api, ADMIN, f"/addfeed {url}")
        listing = await ask(bot_api, ADMIN, "/feeds")
        assert "next check now" in listing  # not polled yet: not a blank

        again = await ask(bot_api, ADMIN, f"/addfeed {url}")
        assert "already in the list" in again and "polled from now on" not in again

        await service.feeds.poll(only_due=False)
        listing = await ask(bot_api, ADMIN, "/feeds")
        assert "2 posts in 7 days" in listing, listing  # published this week, not fetched
        assert re.search(r"next check 20\d\d-", listing)


@pytest.mark.parametrize(
    ("command", "reason"),
    [
        ("/addfeed not a url", "that is not a URL: use http(s)://"),
        ("/addfeed http://[::1", "Invalid IPv6 URL"),
        ("/addfeed http://example.com:99999/feed.xml", "Port out of range"),
        (f"/addfeed {LONG_HOST}", "the host name is 3,008 characters long"),
    ],
    ids=["not-a-url", "open-bracket", "port", "long-host"],
)
async def test_addfeed_says_what_is_wrong_with_a_url_that_cannot_be_used(
    bot_api: FakeBotAPI, service: TrendService, command: str, reason: str
) -> None:
    async with running_bot(bot_api, service):
        reply = await ask(bot_api, ADMIN, command)
    assert reply.startswith("Can't add") and reason in reply, reply
    assert "Something went wrong" not in reply
    assert await service.feeds.health() == []


async def test_an_opml_import_skips_a_broken_url_and_names_untitled_feeds_by_their_title(
    bot_api: FakeBotAPI, service: TrendService, feed_server: FeedServer
) -> None:
    untitled = feed_server.add_body("/untitled.xml", titled(rss("x"), "x", "Lab Notes"))
    named = feed_server.add_body("/named.xml", titled(rss("y"), "y", "Its Own Title"))
    document = write_opml(
        [
            FeedSpec(url="http://[::1", name="Broken"),
            FeedSpec(url=untitled, name=""),
            FeedSpec(url="http://example.com:99999/", name="Far port"),
            FeedSpec(url=named, name="Chosen name"),
            FeedSpec(url=LONG_HOST, name="Long"),
        ]
    )
    # An outline with neither title nor text, as many readers export them.
    document = document.replace(b'text="" title="" ', b"")
    async with running_bot(bot_api, service):
        bot_api.push_document(ADMIN, "subscriptions.opml", document)
        reply = (await bot_api.wait_for_message(ADMIN))["text"]
        assert "Imported 2 feeds" in reply and "skipped 3" in reply, reply
        assert "Invalid IPv6 URL" in reply and "Port out of range" in reply
        assert "host name is 3,008 characters" in reply

        await service.feeds.poll(only_due=False)
        names = feed_ids(await ask(bot_api, ADMIN, "/feeds"))
    assert set(names) == {"Lab Notes", "Chosen name"}  # a name someone gave is kept
