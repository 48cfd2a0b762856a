"""SSRF guard and OPML: what an admin may add, and subscription lists in and out."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiohttp import web

from tests.fakes.feed_server import FeedServer
from tests.support.feeds import rss
from trends.errors import ParseError, UnsafeFeedURL
from trends.ingest.safety import check_feed_url
from trends.models import FeedSpec
from trends.opml import read_opml, write_opml
from trends.service import TrendService


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("http://127.0.0.1:8080/feed.xml", "private or local"),
        ("http://10.1.2.3/feed.xml", "private or local"),
        ("http://169.254.169.254/latest/meta-data/", "private or local"),
        ("http://[::1]/feed.xml", "private or local"),
        ("http://192.168.0.10/rss", "private or local"),
        ("http://localhost/rss", "private or local"),
        ("file:///etc/passwd", "only http and https"),
        ("javascript:alert(1)", "only http and https"),
        ("ftp://example.com/feed.xml", "only http and https"),
        ("http:///nohost", "no host"),
    ],
    ids=["loopback", "10.x", "link-local", "ipv6-loopback", "192.168", "localhost", "file",
         "javascript", "ftp", "no-host"],
)  # fmt: skip
async def test_unsafe_urls_are_refused(url: str, reason: str) -> None:
    with pytest.raises(UnsafeFeedURL, match=reason):
        await check_feed_url(url)


async def test_private_addresses_pass_when_allowed_but_schemes_never_do() -> None:
    assert await check_feed_url(" http://127.0.0.1/x ", allow_private=True) == "http://127.0.0.1/x"
    assert await check_feed_url("http://8.8.8.8/rss") == "http://8.8.8.8/rss"
    with pytest.raises(UnsafeFeedURL):
        await check_feed_url("file:///etc/passwd", allow_private=True)


@pytest.fixture
async def service(database_url: str) -> AsyncIterator[TrendService]:
    service = await TrendService.open(database_url)
    yield service
    await service.close()


async def test_addfeed_refuses_a_local_feed_unless_private_feeds_are_allowed(
    service: TrendService, feed_server: FeedServer
) -> None:
    url = feed_server.add_body("/ok.xml", rss("ok", items=4))
    with pytest.raises(UnsafeFeedURL):
        await service.feeds.add(url)
    assert feed_server.hits["/ok.xml"] == 0  # refused before any request
    added = await service.feeds.add(url, allow_private=True)
    assert (added.title, added.items) == ("ok", 4)
    assert [feed.url for feed in await service.feeds.health()] == [url]


async def test_addfeed_checks_where_a_redirect_leads(
    service: TrendService, feed_server: FeedServer
) -> None:
    async def to_metadata(request: web.Request) -> web.StreamResponse:
        raise web.HTTPFound(location="http://169.254.169.254/latest/meta-data/")

    url = feed_server.add_route("/sneaky.xml", to_metadata)

    # Private feeds are allowed only for the first hop here: the guard is called per target.
    async def guard_allowing_loopback(target: str) -> None:
        await check_feed_url(target, allow_private=target.startswith("http://127.0.0.1"))

    from trends.ingest.fetch import fetch, new_client

    async with new_client(allow_private=True) as client:  # only the per-target guard here
        with pytest.raises(UnsafeFeedURL, match=r"169\.254\.169\.254"):
            await fetch(client, url, check_url=guard_allowing_loopback)


async def test_addfeed_explains_why_a_page_is_not_a_feed(
    service: TrendService, feed_server: FeedServer
) -> None:
    url = feed_server.add_body("/blog", b"<!doctype html><html><body>hi</body></html>", "text/html")
    with pytest.raises(ParseError, match="an HTML page, not a feed"):
        await service.feeds.add(url, allow_private=True)
    assert await service.feeds.health() == []


def test_opml_round_trip_keeps_every_feed() -> None:
    feeds = [
        FeedSpec(url="https://openai.com/news/rss.xml", name="OpenAI News", language="en"),
        FeedSpec(url="https://www.jiqizhixin.com/rss", name="机器之心 & <co>", language="zh"),
    ]
    assert read_opml(write_opml(feeds)) == feeds


def test_opml_reads_nested_outlines_and_refuses_entities() -> None:
    nested = b"""<?xml version="1.0"?><opml version="1.0"><head/><body>
    <outline text="AI"><outline text="Lab" type="rss" xmlUrl="https://lab.example/rss"/>
    <outline title="News" xmlUrl="https://news.example/feed"/></outline></body></opml>"""
    assert [(f.url, f.name) for f in read_opml(nested)] == [
        ("https://lab.example/rss", "Lab"),
        ("https://news.example/feed", "News"),
    ]
    bomb = b'<?xml version="1.0"?><!DOCTYPE opml [<!ENTITY a "aaaa">]><opml><body/></opml>'
    with pytest.raises(ParseError, match="DTD"):
        read_opml(bomb)
    with pytest.raises(ParseError, match="not an OPML"):
        read_opml(b"<rss/>")


async def test_opml_import_skips_unsafe_and_known_feeds_and_export_lists_the_rest(
    service: TrendService, tmp_path: Path
) -> None:
    document = write_opml(
        [
            FeedSpec(url="https://8.8.8.8/a.xml", name="A"),
            FeedSpec(url="http://10.0.0.1/b.xml", name="B"),
            FeedSpec(url="javascript:alert(1)", name="C"),
        ]
    )
    report = await service.feeds.import_opml(document)
    assert report.added == ["https://8.8.8.8/a.xml"]
    assert [url for url, _ in report.skipped] == ["http://10.0.0.1/b.xml", "javascript:alert(1)"]
    again = await service.feeds.import_opml(document)
    assert again.added == [] and ("https://8.8.8.8/a.xml", "already in the list") in again.skipped
    exported = read_opml(await service.feeds.export_opml())
    assert [(f.url, f.name) for f in exported] == [("https://8.8.8.8/a.xml", "A")]
    removed = await service.feeds.remove("https://8.8.8.8/a.xml")
    assert removed is not None and removed.url == "https://8.8.8.8/a.xml" and not removed.already
    assert read_opml(await service.feeds.export_opml()) == []
