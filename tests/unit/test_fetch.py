"""fetch's edge cases on httpx.MockTransport: no sockets, milliseconds each.

The real-server tests (tests/test_feeds_poll.py, test_feeds_hostile.py, test_feeds_ssrf.py)
keep what needs a wire: dripping bodies, gzip from aiohttp, addresses actually connected to.
"""

from __future__ import annotations

from collections.abc import Callable

import httpx
import pytest

from trends.errors import FeedGone, FeedTooLarge, FetchError, RateLimited, UnsafeFeedURL
from trends.ingest.fetch import MAX_REDIRECTS, fetch

FEED = b'<?xml version="1.0"?><rss version="2.0"><channel><title>t</title></channel></rss>'
Handler = Callable[[httpx.Request], httpx.Response]


def client(handler: Handler) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.MockTransport(handler))


async def test_validators_are_sent_and_a_304_comes_back_without_a_body() -> None:
    seen: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(304, headers={"ETag": '"v1"'})

    async with client(answer) as http:
        result = await fetch(http, "https://a.example/feed", etag='"v1"', last_modified="Mon")
    assert result.not_modified and result.content == b""
    assert seen[0].headers["If-None-Match"] == '"v1"'
    assert seen[0].headers["If-Modified-Since"] == "Mon"


async def test_a_permanent_move_is_reported_and_a_temporary_one_is_not() -> None:
    def answer(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/old":
            return httpx.Response(301, headers={"Location": "/new"})
        if request.url.path == "/hop":
            return httpx.Response(302, headers={"Location": "/new"})
        return httpx.Response(200, content=FEED, headers={"Content-Type": "application/rss+xml"})

    async with client(answer) as http:
        moved = await fetch(http, "https://a.example/old")
        hopped = await fetch(http, "https://a.example/hop")
    assert moved.permanent_redirect == "https://a.example/new"
    assert hopped.permanent_redirect is None and hopped.content == FEED


async def test_redirect_loops_and_chains_are_errors() -> None:
    def loop(request: httpx.Request) -> httpx.Response:
        target = "/b" if request.url.path == "/a" else "/a"
        return httpx.Response(302, headers={"Location": target})

    def chain(request: httpx.Request) -> httpx.Response:
        return httpx.Response(302, headers={"Location": f"{request.url.path}x"})

    async with client(loop) as http:
        with pytest.raises(FetchError, match="redirect loop"):
            await fetch(http, "https://a.example/a")
    async with client(chain) as http:
        with pytest.raises(FetchError, match=f"more than {MAX_REDIRECTS} redirects"):
            await fetch(http, "https://a.example/")


async def test_a_redirect_off_http_is_refused() -> None:
    def answer(request: httpx.Request) -> httpx.Response:
        return httpx.Response(302, headers={"Location": "file:///etc/passwd"})

    async with client(answer) as http:
        with pytest.raises(UnsafeFeedURL):
            await fetch(http, "https://a.example/feed")


@pytest.mark.parametrize(
    ("status", "headers", "error"),
    [
        (410, {}, FeedGone),
        (429, {"Retry-After": "120"}, RateLimited),
        (503, {"Retry-After": "999999999999999"}, RateLimited),
        (500, {}, FetchError),
        (404, {}, FetchError),
    ],
)
async def test_http_errors_become_the_feed_s_recorded_error(
    status: int, headers: dict[str, str], error: type[Exception]
) -> None:
    async with client(lambda request: httpx.Response(status, headers=headers)) as http:
        with pytest.raises(error) as raised:
            await fetch(http, "https://a.example/feed")
    if isinstance(raised.value, RateLimited):
        assert raised.value.retry_after is not None and raised.value.retry_after >= 120


async def test_the_size_cap_holds_for_declared_and_undeclared_lengths() -> None:
    big = b"x" * 2048

    def declared(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=big)

    def streamed(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, stream=httpx.ByteStream(big))  # no Content-Length

    for handler in (declared, streamed):
        async with client(handler) as http:
            with pytest.raises(FeedTooLarge):
                await fetch(http, "https://a.example/feed", max_bytes=1024)


async def test_a_network_error_is_a_fetch_error_naming_it() -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    async with client(refuse) as http:
        with pytest.raises(FetchError, match="ConnectError"):
            await fetch(http, "https://a.example/feed")
