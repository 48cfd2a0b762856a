"""fetch's edge cases against a tiny aiohttp server on 127.0.0.1: milliseconds each.

Each test answers with one handler; the client resolves `a.example` to loopback (private
addresses allowed here: the SSRF guard has its own tests). The feed-server tests
(tests/test_feeds_poll.py, test_feeds_hostile.py, test_feeds_ssrf.py) keep the rest:
dripping bodies, gzip, addresses actually connected to.
"""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

import pytest
from aiohttp import web

from tests.fakes.loopback import serve
from trends.errors import FeedGone, FeedTooLarge, FetchError, RateLimited, UnsafeFeedURL
from trends.ingest.fetch import MAX_REDIRECTS, FeedClient, fetch, new_client

FEED = b'<?xml version="1.0"?><rss version="2.0"><channel><title>t</title></channel></rss>'
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


async def _loopback(host: str, port: int) -> list[str]:
    return ["127.0.0.1"]


@asynccontextmanager
async def serving(handler: Handler) -> AsyncIterator[tuple[FeedClient, str]]:
    """A client and the base URL (`http://a.example:PORT`) of a server answering `handler`."""
    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", handler)
    runner, port = await serve(app)
    try:
        async with new_client(allow_private=True, resolver=_loopback) as http:
            yield http, f"http://a.example:{port}"
    finally:
        await runner.cleanup()


async def test_validators_are_sent_and_a_304_comes_back_without_a_body() -> None:
    seen: list[web.Request] = []

    async def answer(request: web.Request) -> web.Response:
        seen.append(request)
        return web.Response(status=304, headers={"ETag": '"v1"'})

    async with serving(answer) as (http, base):
        result = await fetch(http, f"{base}/feed", etag='"v1"', last_modified="Mon")
    assert result.not_modified and result.content == b""
    assert result.etag == '"v1"'
    assert seen[0].headers["If-None-Match"] == '"v1"'
    assert seen[0].headers["If-Modified-Since"] == "Mon"


async def test_conditional_gets_reuse_one_connection() -> None:
    """A 304's (empty) body is read, so the next poll of the host needs no new connection."""
    peers: set[object] = set()

    async def answer(request: web.Request) -> web.Response:
        peers.add(request.transport.get_extra_info("peername") if request.transport else None)
        return web.Response(status=304)

    async with serving(answer) as (http, base):
        for _ in range(5):
            assert (await fetch(http, f"{base}/feed", etag='"v1"')).not_modified
    assert len(peers) == 1


async def test_a_permanent_move_is_reported_and_a_temporary_one_is_not() -> None:
    async def answer(request: web.Request) -> web.Response:
        if request.path == "/old":
            raise web.HTTPMovedPermanently(location="/new")
        if request.path == "/hop":
            raise web.HTTPFound(location="/new")
        return web.Response(body=FEED, headers={"Content-Type": "application/rss+xml"})

    async with serving(answer) as (http, base):
        moved = await fetch(http, f"{base}/old")
        hopped = await fetch(http, f"{base}/hop")
    assert moved.permanent_redirect == f"{base}/new"
    assert hopped.permanent_redirect is None and hopped.content == FEED


async def test_redirect_loops_and_chains_are_errors() -> None:
    async def loop(request: web.Request) -> web.Response:
        raise web.HTTPFound(location="/b" if request.path == "/a" else "/a")

    async def chain(request: web.Request) -> web.Response:
        raise web.HTTPFound(location=f"{request.path}x")

    async with serving(loop) as (http, base):
        with pytest.raises(FetchError, match="redirect loop"):
            await fetch(http, f"{base}/a")
    async with serving(chain) as (http, base):
        with pytest.raises(FetchError, match=f"more than {MAX_REDIRECTS} redirects"):
            await fetch(http, f"{base}/")


async def test_a_redirect_off_http_is_refused() -> None:
    async def answer(request: web.Request) -> web.Response:
        return web.Response(status=302, headers={"Location": "file:///etc/passwd"})

    async with serving(answer) as (http, base):
        with pytest.raises(UnsafeFeedURL):
            await fetch(http, f"{base}/feed")


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
    async def answer(request: web.Request) -> web.Response:
        return web.Response(status=status, headers=headers)

    async with serving(answer) as (http, base):
        with pytest.raises(error) as raised:
            await fetch(http, f"{base}/feed")
    if isinstance(raised.value, RateLimited):
        assert raised.value.retry_after is not None and raised.value.retry_after >= 120
    if status == 404:
        assert str(raised.value) == "HTTP 404 Not Found"


async def test_the_size_cap_holds_for_declared_and_undeclared_lengths() -> None:
    big = b"x" * 2048

    async def declared(request: web.Request) -> web.Response:
        return web.Response(body=big)

    async def streamed(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse()
        response.enable_chunked_encoding()  # no Content-Length
        await response.prepare(request)
        for start in range(0, len(big), 256):
            await response.write(big[start : start + 256])
        await response.write_eof()
        return response

    for handler, message in ((declared, "2048 bytes declared"), (streamed, "more than 1024")):
        async with serving(handler) as (http, base):
            with pytest.raises(FeedTooLarge, match=message):
                await fetch(http, f"{base}/feed", max_bytes=1024)


async def test_a_network_error_is_a_fetch_error_naming_it() -> None:
    closed = socket.socket()
    closed.bind(("127.0.0.1", 0))
    port = closed.getsockname()[1]
    closed.close()  # nothing listens there: the connection is refused

    async with new_client(allow_private=True, resolver=_loopback) as http:
        with pytest.raises(FetchError, match="network error: ConnectError"):
            await fetch(http, f"http://a.example:{port}/feed")
