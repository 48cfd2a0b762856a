"""Hostile and broken feeds: each is one feed's clear error while the rest of the poll ingests."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest
from aiohttp import web
from sqlalchemy import select
from typer.testing import CliRunner

from cli.main import app
from tests.fakes.feed_server import FeedServer
from tests.support.feeds import NOW, feeds_file, rss
from trends.ingest import pipeline, schedule
from trends.ingest.fetch import MAX_FEED_BYTES
from trends.service import TrendService
from trends.store.schema import FeedRow, PostRow

BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE rss [<!ENTITY lol "lol"><!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;"><!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;"><!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;"><!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;"><!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;"><!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;"><!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;"><!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;"><!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">]>
<rss version="2.0"><channel><title>Bomb</title><item><title>&lol9;</title><link>https://example.com/bomb</link></item></channel></rss>
"""

XXE = """<?xml version="1.0"?>
<!DOCTYPE rss [<!ENTITY xxe SYSTEM "file://{path}">]>
<rss version="2.0"><channel><title>XXE</title><item><title>Leak &xxe;</title>
<link>https://example.com/xxe</link><description>Leak: &xxe;</description></item></channel></rss>
"""

HTML_PAGE = b"<!DOCTYPE html><html><head><title>Blog</title></head><body><p>Hi</p></body></html>"

HOSTILE_LINK_FEED = b"""<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0"><channel><title>Links</title>
<item><title>Click &lt;b&gt;me&lt;/b&gt; &amp; see</title><link>javascript:alert(1)</link>
<guid isPermaLink="false">js-1</guid>
<description>&lt;script&gt;alert(2)&lt;/script&gt;&lt;a href="javascript:alert(3)"&gt;x&lt;/a&gt;
A model is post-trained with reinforcement learning from verifiable rewards to reason.</description></item>
<item><title>Data link</title><link>data:text/html,hi</link><guid>https://example.com/data-ok</guid>
<description>About models.</description></item>
</channel></rss>
"""


async def _drip(request: web.Request) -> web.StreamResponse:
    response = web.StreamResponse(headers={"Content-Type": "application/rss+xml"})
    await response.prepare(request)
    for byte in rss("drip"):
        await response.write(bytes([byte]))
        await asyncio.sleep(1.0)
    return response


async def _endless(request: web.Request) -> web.StreamResponse:
    response = web.StreamResponse(headers={"Content-Type": "application/rss+xml"})
    await response.prepare(request)
    await response.write(b'<?xml version="1.0"?><rss version="2.0"><channel><title>x</title>')
    chunk = b"<item><title>more</title></item>" * 2048
    while True:  # the client must hang up
        await response.write(chunk)


async def _loop_a(request: web.Request) -> web.StreamResponse:
    raise web.HTTPFound(location="/loop-b.xml")


async def _loop_b(request: web.Request) -> web.StreamResponse:
    raise web.HTTPFound(location="/loop-a.xml")


async def test_each_hostile_feed_fails_alone_and_the_good_ones_ingest(
    database_url: str, feed_server: FeedServer, corpus_dir: Path, tmp_path: Path
) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET-TOKEN", encoding="utf-8")
    gb2312 = (
        corpus_dir / "feeds" / "kc0011_forum_zh_gb2312_nonstandard_dates.rss.xml"
    ).read_bytes()
    cases = {
        "/good.xml": feed_server.add_body("/good.xml", rss("good")),
        "/bomb.xml": feed_server.add_body("/bomb.xml", BILLION_LAUGHS),
        "/xxe.xml": feed_server.add_body("/xxe.xml", XXE.format(path=secret).encode()),
        "/endless.xml": feed_server.add_route("/endless.xml", _endless),
        "/drip.xml": feed_server.add_route("/drip.xml", _drip),
        "/page.html": feed_server.add_body("/page.html", HTML_PAGE, "text/html; charset=utf-8"),
        "/loop-a.xml": feed_server.add_route("/loop-a.xml", _loop_a),
        "/wrong-charset.xml": feed_server.add_body(
            "/wrong-charset.xml", gb2312, "text/xml; charset=iso-8859-1"
        ),
        "/no-charset.xml": feed_server.add_body("/no-charset.xml", gb2312, "text/xml"),
        "/broken.xml": feed_server.add_body("/broken.xml", b"boom", status=500),
        "/links.xml": feed_server.add_body("/links.xml", HOSTILE_LINK_FEED),
        # Cut off mid-document: malformed XML, but its entries are usable.
        "/truncated.xml": feed_server.add_body("/truncated.xml", rss("cut", items=3)[:-40]),
    }
    feed_server.add_route("/loop-b.xml", _loop_b)
    path = feeds_file(tmp_path / "feeds.yaml", list(cases.values()))
    service = await TrendService.open(
        database_url,
        feeds_path=path,
        allow_private_feeds=True,  # feeds on 127.0.0.1
    )
    try:
        report = await service.feeds.poll(only_due=False, now=NOW, total_seconds=2.0)
        outcome = {
            feed.url.removeprefix(feed_server.url("")): (feed.status, feed.error)
            for feed in report.feeds
        }
        assert outcome["/good.xml"] == ("fetched", None)
        assert outcome["/bomb.xml"] == (
            "failed",
            "the feed declares external or nested XML entities (refused)",
        )
        assert outcome["/xxe.xml"][0] == "failed"
        assert outcome["/endless.xml"] == ("failed", f"more than {MAX_FEED_BYTES} bytes")
        assert outcome["/drip.xml"] == ("failed", "no complete answer within 2 s")
        assert outcome["/page.html"] == ("failed", "an HTML page, not a feed")
        assert outcome["/loop-a.xml"] == ("failed", "redirect loop")
        assert outcome["/broken.xml"] == ("failed", "HTTP 500 Internal Server Error")
        for charset_case in ("/wrong-charset.xml", "/no-charset.xml"):
            assert outcome[charset_case][0] == "fetched"
        assert outcome["/links.xml"][0] == "fetched"
        assert outcome["/truncated.xml"] == ("fetched", None)
        truncated = next(feed for feed in report.feeds if feed.url.endswith("/truncated.xml"))
        # Its stories are the good feed's too, so some join those clusters as duplicates.
        assert truncated.new_posts + truncated.duplicates == 3
        assert "malformed feed, 3 entries recovered" in (truncated.warning or "")

        async with service.db.new_session() as session:
            posts = (await session.execute(select(PostRow.title, PostRow.link))).all()
            failing = (
                await session.scalars(select(FeedRow).where(FeedRow.consecutive_failures > 0))
            ).all()
        titles = [title for title, _ in posts]
        assert sum(title.startswith("good story") for title in titles) == 3
        # The gb2312 feed reads as Chinese whatever the server said about its charset.
        assert "建国35周年纪念，华表，和平鸽" in titles
        assert not any("TOP-SECRET" in title for title in titles)
        assert all(link == "" or link.startswith(("http://", "https://")) for _, link in posts)
        assert len(failing) == 7 and all(row.last_error for row in failing)
    finally:
        await service.close()


async def test_feed_text_reaches_telegram_escaped_and_without_script_links(
    database_url: str, feed_server: FeedServer, tmp_path: Path
) -> None:
    from bot.render import render_trend_page

    url = feed_server.add_body("/links.xml", HOSTILE_LINK_FEED)
    service = await TrendService.open(
        database_url,
        feeds_path=feeds_file(tmp_path / "feeds.yaml", [url]),
        allow_private_feeds=True,  # the feed is served on 127.0.0.1
    )
    try:
        await service.feeds.poll(only_due=False, now=NOW)
        async with service.db.new_session() as session:
            links = set((await session.scalars(select(PostRow.link))).all())
        assert links == {"", "https://example.com/data-ok"}
        trend = service.themes.get(1)
        assert trend is not None
        page = await service.archive.trend_page(trend)
        html = render_trend_page(page, "en")
        assert "javascript:" not in html and "<script" not in html and "data:text" not in html
        # The feed's markup is gone from the title and its "&" is escaped for Telegram.
        assert "<b>Click me &amp; see</b>" in html
    finally:
        await service.close()


async def test_feeds_that_once_crashed_a_poll_are_each_recorded_and_the_rest_ingest(
    database_url: str, feed_server: FeedServer, tmp_path: Path
) -> None:
    hostile = feed_server.add_hostile_feeds()
    good = [feed_server.add_body("/good.xml", rss("good")), feed_server.add_body("/fine.xml", rss("fine", items=2))]  # fmt: skip
    service = await TrendService.open(
        database_url,
        feeds_path=feeds_file(tmp_path / "feeds.yaml", [*good, *hostile.values()]),
        allow_private_feeds=True,  # feeds on 127.0.0.1
    )
    try:
        report = await service.feeds.poll(only_due=False, now=NOW)
        outcome = {
            feed.url.removeprefix(feed_server.url("")): (feed.status, feed.error)
            for feed in report.feeds
        }
        assert outcome.pop("/hostile/retry-after.xml") == ("failed", "HTTP 429")
        assert all(status == "fetched" for status, _ in outcome.values()), outcome
        async with service.db.new_session() as session:
            posts = dict((await session.execute(select(PostRow.title, PostRow.link))).all())
            feeds = {row.url: row for row in await session.scalars(select(FeedRow))}
        titles = list(posts)
        assert sum(title.startswith("good story") for title in titles) == 3
        assert sum(title.startswith("fine story") for title in titles) == 2
        assert "Lone \ufffd surrogate in a chip story" in titles
        assert any(title.startswith("NUL") and "robotics" in title for title in titles)
        assert all("\x00" not in title for title in titles)
        assert posts["A link longer than any column"] == ""  # a cut link would be wrong
        # Huge hints and Retry-After wait the longest a feed ever waits: a day.
        for path in ("/hostile/ttl.xml", "/hostile/max-age.xml", "/hostile/retry-after.xml"):
            assert feeds[hostile[path]].next_check_at == NOW + schedule.CEILING
        assert feeds[hostile["/hostile/retry-after.xml"]].last_error == "HTTP 429"
    finally:
        await service.close()


async def test_an_unexpected_error_in_one_feed_is_that_feeds_recorded_failure(
    database_url: str, feed_server: FeedServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_enrich = pipeline.enrich

    def enrich(posts: list, themes: object) -> list:
        if any(post.title.startswith("bad") for post in posts):
            raise RuntimeError("a bug only this feed reaches")
        return real_enrich(posts, themes)

    monkeypatch.setattr(pipeline, "enrich", enrich)
    urls = [feed_server.add_body("/good.xml", rss("good")), feed_server.add_body("/bad.xml", rss("bad"))]  # fmt: skip
    service = await TrendService.open(
        database_url,
        feeds_path=feeds_file(tmp_path / "feeds.yaml", urls),
        allow_private_feeds=True,  # feeds on 127.0.0.1
    )
    try:
        report = await service.feeds.poll(only_due=False, now=NOW)
        assert report.to_json()["failed"] == [
            {
                "url": urls[1],
                "error": "unexpected error: RuntimeError: a bug only this feed reaches",
            }
        ]
        assert report.new_posts == 3
        async with service.db.new_session() as session:
            bad = await session.scalar(select(FeedRow).where(FeedRow.url == urls[1]))
        assert bad is not None and bad.consecutive_failures == 1
        assert bad.last_error == "unexpected error: RuntimeError: a bug only this feed reaches"
        assert bad.next_check_at is not None and bad.next_check_at > NOW  # backs off
    finally:
        await service.close()


def test_poll_once_json_prints_its_report_beside_every_hostile_feed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with FeedServer().in_thread() as server:
        urls = [server.add_body("/good.xml", rss("good")), *server.add_hostile_feeds().values()]
        monkeypatch.setenv("DATABASE_URL", f"sqlite+aiosqlite:///{tmp_path}/cli.db")
        monkeypatch.setenv("TRENDBOT_FEEDS", str(feeds_file(tmp_path / "feeds.yaml", urls)))
        monkeypatch.setenv("TRENDBOT_ALLOW_PRIVATE_FEEDS", "1")
        result = CliRunner().invoke(app, ["poll", "--once", "--json"])
    assert result.exit_code == 0, result.output
    printed = json.loads(result.stdout)
    assert printed["fetched"] == len(urls) - 1 and printed["new_posts"] >= 3 + 5
    assert printed["failed"] == [
        {"url": server.url("/hostile/retry-after.xml"), "error": "HTTP 429"}
    ]
