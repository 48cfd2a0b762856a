"""The SSRF guard at poll time: every connection the poller makes, on the address it uses.

The feed server runs on 127.0.0.1, the address the guard exists to refuse. A second one on
127.0.0.2 plays a public publisher: the `public_stand_in` fixture lets the guard treat that
one address as public, and nothing else changes.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from cli.main import app
from tests.fakes.feed_server import FeedServer
from tests.support.feeds import NOW, feeds_file, rss
from trends.errors import FetchError, UnsafeFeedURL
from trends.ingest import safety
from trends.ingest.fetch import fetch, new_client
from trends.ingest.safety import check_feed_url, is_public_address
from trends.service import TrendService
from trends.store.schema import FeedRow, PostRow

STAND_IN = "127.0.0.2"


@pytest.fixture
def public_stand_in(monkeypatch: pytest.MonkeyPatch) -> None:
    real = safety.is_public_address
    monkeypatch.setattr(safety, "is_public_address", lambda a: a == STAND_IN or real(a))


@pytest.fixture
async def publisher() -> AsyncIterator[FeedServer]:
    async with FeedServer(host=STAND_IN) as server:
        yield server


async def stored(service: TrendService) -> tuple[list[FeedRow], list[str]]:
    async with service.db.new_session() as session:
        feeds = list(await session.scalars(select(FeedRow)))
        titles = list(await session.scalars(select(PostRow.title)))
    return feeds, titles


async def test_a_public_feed_moved_to_loopback_is_refused_and_keeps_its_url(
    database_url: str,
    public_stand_in: None,
    publisher: FeedServer,
    feed_server: FeedServer,
) -> None:
    secret = feed_server.add_body("/secret.xml", rss("secret", items=2))
    url = publisher.add_body("/feed.xml", rss("news", items=2))
    service = await TrendService.open(database_url)  # private feeds not allowed
    try:
        await service.feeds.add(url)
        first = await service.feeds.poll(only_due=False, now=NOW)
        assert (first.count("fetched"), first.new_posts) == (1, 2)

        publisher.add_body("/feed.xml", b"moved", status=301, headers={"Location": secret})
        second = await service.feeds.poll(only_due=False, now=NOW)

        (report,) = second.feeds
        assert report.status == "failed" and report.moved_to is None
        assert report.error == "127.0.0.1 is a private or local address (127.0.0.1)"
        assert feed_server.hits["/secret.xml"] == 0  # never connected to
        (feed,), titles = await stored(service)
        assert feed.url == url  # not rewritten to the loopback address
        assert feed.last_error == report.error and feed.consecutive_failures == 1
        assert len(titles) == 2 and not any("secret" in title for title in titles)
    finally:
        await service.close()


async def test_a_feed_added_while_private_feeds_were_allowed_is_refused_once_they_are_not(
    database_url: str, feed_server: FeedServer, tmp_path: Path
) -> None:
    url = feed_server.add_body("/internal.xml", rss("internal", items=3))
    allowed = await TrendService.open(database_url, allow_private_feeds=True)
    try:
        await allowed.feeds.add(url, allow_private=True)
        assert (await allowed.feeds.poll(only_due=False, now=NOW)).new_posts == 3
    finally:
        await allowed.close()
    hits = feed_server.hits["/internal.xml"]

    refused = await TrendService.open(database_url)  # restarted without the setting
    try:
        feed_server.set_body("/internal.xml", rss("internal", items=5))
        report = await refused.feeds.poll(only_due=False, now=NOW)
        assert report.to_json()["failed"] == [
            {"url": url, "error": "127.0.0.1 is a private or local address (127.0.0.1)"}
        ]
        assert feed_server.hits["/internal.xml"] == hits
        (feed,), titles = await stored(refused)
        assert len(titles) == 3 and feed.consecutive_failures == 1
    finally:
        await refused.close()


@pytest.fixture
def cli_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[FeedServer]:
    with FeedServer().in_thread() as server:
        monkeypatch.setenv("DATABASE_URL", f"sqlite+aiosqlite:///{tmp_path}/cli.db")
        url = server.add_body("/internal.xml", rss("internal", items=2))
        monkeypatch.setenv("TRENDBOT_FEEDS", str(feeds_file(tmp_path / "feeds.yaml", [url])))
        yield server


def test_poll_once_reads_the_private_feeds_setting_when_it_polls(
    cli_env: FeedServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TRENDBOT_ALLOW_PRIVATE_FEEDS", "1")
    allowed = CliRunner().invoke(app, ["poll", "--once", "--json"])
    assert allowed.exit_code == 0, allowed.output
    assert json.loads(allowed.stdout)["new_posts"] == 2

    monkeypatch.setenv("TRENDBOT_ALLOW_PRIVATE_FEEDS", "0")
    refused = CliRunner().invoke(app, ["poll", "--once", "--json"])
    assert refused.exit_code == 1, refused.output  # no feed could be fetched
    assert json.loads(refused.stdout)["failed"] == [
        {
            "url": cli_env.url("/internal.xml"),
            "error": "127.0.0.1 is a private or local address (127.0.0.1)",
        }
    ]
    assert cli_env.hits["/internal.xml"] == 1


@pytest.mark.parametrize(
    "address",
    [
        "2002:7f00:1::",  # 6to4 of 127.0.0.1
        "2002:a00:1::1",  # 6to4 of 10.0.0.1
        "::ffff:127.0.0.1",  # IPv4-mapped
        "::ffff:169.254.169.254",
        "64:ff9b::7f00:1",  # NAT64 of 127.0.0.1
        "64:ff9b::a9fe:a9fe",  # NAT64 of 169.254.169.254
        "2001:0:4136:e378:8000:63bf:80ff:fffe",  # Teredo, client 127.0.0.1
        "100.64.0.1",  # shared (carrier-grade NAT) space
        "::127.0.0.1",  # IPv4-compatible
    ],
)
async def test_ipv4_inside_ipv6_is_judged_by_the_ipv4_address(address: str) -> None:
    assert not is_public_address(address)
    host = f"[{address}]" if ":" in address else address
    with pytest.raises(UnsafeFeedURL, match="private or local"):
        await check_feed_url(f"http://{host}/feed.xml")
    async with new_client() as client:  # refused before any socket is opened
        with pytest.raises(UnsafeFeedURL, match="private or local"):
            await fetch(client, f"http://{host}:9/feed.xml")


@pytest.mark.parametrize("address", ["8.8.8.8", "2002:808:808::1", "64:ff9b::808:808"])
def test_public_ipv4_inside_ipv6_stays_public(address: str) -> None:
    assert is_public_address(address)


async def test_the_address_checked_is_the_address_connected_to(feed_server: FeedServer) -> None:
    """A name answering a public address, then loopback (DNS rebinding), is resolved once."""
    feed_server.add_body("/secret.xml", rss("secret"))
    answers: list[str] = []

    async def rebinding(host: str, port: int) -> list[str]:
        answers.append(host)
        return ["93.184.216.34"] if len(answers) == 1 else ["127.0.0.1"]

    async with new_client(resolver=rebinding) as client:
        # The connection goes to the public address checked (blocked by the tests' guard).
        with pytest.raises(FetchError, match="network error"):
            await fetch(client, f"http://rebind.example:{feed_server.port}/secret.xml")
    assert answers == ["rebind.example"]
    assert feed_server.hits["/secret.xml"] == 0


async def test_one_private_address_among_public_ones_refuses_the_name(
    feed_server: FeedServer,
) -> None:
    feed_server.add_body("/secret.xml", rss("secret"))

    async def mixed(host: str, port: int) -> list[str]:
        return ["93.184.216.34", "127.0.0.1"]

    async with new_client(resolver=mixed) as client:
        with pytest.raises(UnsafeFeedURL, match=r"mixed\.example .*\(127\.0\.0\.1\)"):
            await fetch(client, f"http://mixed.example:{feed_server.port}/secret.xml")
    assert feed_server.hits["/secret.xml"] == 0


async def test_a_pinned_connection_still_names_the_host(feed_server: FeedServer) -> None:
    """Allowed, the resolver's address is used for the socket; the request keeps the name."""
    feed_server.add_body("/feed.xml", rss("named"))

    async def loopback(host: str, port: int) -> list[str]:
        return ["127.0.0.1"]

    async with new_client(allow_private=True, resolver=loopback) as client:
        result = await fetch(client, f"http://feeds.example:{feed_server.port}/feed.xml")
    assert result.status == 200 and b"named" in result.content
    (_, headers), *_ = feed_server.requests
    assert headers["Host"] == f"feeds.example:{feed_server.port}"


async def test_a_redirect_to_another_scheme_is_refused(feed_server: FeedServer) -> None:
    url = feed_server.add_body(
        "/x.xml", b"", status=302, headers={"Location": "file:///etc/passwd"}
    )
    async with new_client(allow_private=True) as client:
        with pytest.raises(UnsafeFeedURL, match="file"):
            await fetch(client, url)
