"""Download a feed: conditional GET, timeouts, a size cap enforced while streaming.

Every failure leaves this module as one `FetchError` subclass with a short reason; a 304 is
a result (`FetchResult.not_modified`), not an error. `file://` URLs are read from disk so
the bundled sample feeds work offline; only the operator's feeds file can name them.
"""

from __future__ import annotations

import asyncio
import codecs
import re
from collections.abc import Awaitable, Callable, Iterable
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from pathlib import Path
from urllib.parse import unquote, urlparse

import httpcore
import httpx

from trends.errors import (
    FeedGone,
    FeedTimeout,
    FeedTooLarge,
    FetchError,
    RateLimited,
    UnsafeFeedURL,
)
from trends.ingest.safety import Resolver, resolve, resolve_public

__all__ = [
    "CONCURRENCY",
    "MAX_FEED_BYTES",
    "MAX_REDIRECTS",
    "TOTAL_SECONDS",
    "FetchResult",
    "GuardedNetwork",
    "HostLimits",
    "content_type_for",
    "fetch",
    "new_client",
    "retry_after_seconds",
]

MAX_FEED_BYTES = 5 * 1024 * 1024  # feeds larger than this are hostile or broken
MAX_REDIRECTS = 5
TIMEOUT = httpx.Timeout(connect=10.0, read=20.0, write=10.0, pool=30.0)
TOTAL_SECONDS = 60.0  # a server dripping a byte every few seconds is cut off here
_REDIRECTS = frozenset({301, 302, 303, 307, 308})
_PROLOG_ENCODING = re.compile(rb"^\s*<\?xml[^>]*encoding=[\"']([\w.:-]+)[\"']", re.IGNORECASE)
_CHARSET = re.compile(r";\s*charset=[\"']?([\w.:-]+)[\"']?", re.IGNORECASE)
# A declared encoding and the superset that servers really send under its name.
_SUPERSETS = {"gb2312": "gb18030", "gbk": "gb18030", "iso-8859-1": "cp1252"}
_ACCEPT = "application/rss+xml, application/atom+xml, application/xml;q=0.9, */*;q=0.5"
USER_AGENT = "trendbot/0.1 (+https://github.com/trendbot/trendbot)"
PER_HOST = 4  # requests at once to one host: a poll must not hammer a single publisher
CONCURRENCY = 10  # requests at once in a whole poll

UrlCheck = Callable[[str], Awaitable[object]]


class HostLimits:
    """One semaphore per host, so a poll is polite to each publisher (and to each redirect)."""

    def __init__(self, per_host: int = PER_HOST) -> None:
        self.per_host = per_host
        self._gates: dict[str, asyncio.Semaphore] = {}

    def gate(self, url: str) -> asyncio.Semaphore:
        host = (urlparse(url).hostname or "").lower()
        if host not in self._gates:
            self._gates[host] = asyncio.Semaphore(self.per_host)
        return self._gates[host]


@dataclass(slots=True)
class FetchResult:
    url: str  # the final URL, after redirects
    status: int
    content: bytes = b""
    etag: str | None = None
    last_modified: str | None = None
    content_type: str | None = None
    permanent_redirect: str | None = None  # set when a 301/308 moved the feed
    headers: dict[str, str] = field(default_factory=dict)

    @property
    def not_modified(self) -> bool:
        return self.status == 304


class GuardedNetwork(httpcore.AsyncNetworkBackend):
    """Every TCP connection of a client goes through the SSRF guard, on the address used.

    The host is resolved once, every address it resolves to is checked, and the socket is
    opened to a checked address: a name that answers a public address to the check and a
    private one to the connect (DNS rebinding) cannot slip between the two. TLS still
    names the host (SNI and certificate) and so does the Host header: only the socket's
    target is pinned. Each redirect hop and each poll opens (or reuses) such a connection.
    """

    def __init__(self, *, allow_private: bool = False, resolver: Resolver | None = None) -> None:
        self.allow_private = allow_private
        self._resolve: Resolver = resolver or resolve
        self._sockets = httpcore.AnyIOBackend()

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        try:
            async with asyncio.timeout(timeout):
                if self.allow_private:
                    addresses = list(await self._resolve(host, port))
                else:
                    addresses = await resolve_public(host, port, self._resolve)
        except TimeoutError as exc:
            raise httpcore.ConnectTimeout(f"resolving {host} took too long") from exc
        except OSError as exc:
            raise httpcore.ConnectError(f"cannot resolve {host}: {exc}") from exc
        if not addresses:
            raise httpcore.ConnectError(f"{host} has no address")
        error: httpcore.ConnectError | None = None
        for address in addresses:  # the checked addresses only, in the resolver's order
            try:
                return await self._sockets.connect_tcp(
                    address, port, timeout, local_address, socket_options
                )
            except httpcore.ConnectError as exc:
                error = exc
        assert error is not None
        raise error

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        raise UnsafeFeedURL("feeds are fetched over TCP only")

    async def sleep(self, seconds: float) -> None:
        await self._sockets.sleep(seconds)


def new_client(
    *,
    connections: int = CONCURRENCY,
    allow_private: bool = False,
    resolver: Resolver | None = None,
) -> httpx.AsyncClient:
    """The one client a poll run shares: compressed responses, bounded connections, and
    every connection through the SSRF guard (`GuardedNetwork`) unless `allow_private`.

    No more connections than requests at once: httpcore checks every pooled connection on
    each request, so idle spares cost CPU (a third more per conditional GET with 50 kept).
    No proxy from the environment is used: through a proxy, the guard could not see where
    a connection really goes.
    """
    limits = httpx.Limits(max_connections=connections, max_keepalive_connections=connections)
    transport = httpx.AsyncHTTPTransport(limits=limits)
    # httpx builds its pool without a way to pass a network backend; the same pool with ours.
    transport._pool = httpcore.AsyncConnectionPool(
        ssl_context=httpx.create_ssl_context(),
        max_connections=limits.max_connections,
        max_keepalive_connections=limits.max_keepalive_connections,
        keepalive_expiry=limits.keepalive_expiry,
        network_backend=GuardedNetwork(allow_private=allow_private, resolver=resolver),
    )
    return httpx.AsyncClient(
        timeout=TIMEOUT,
        follow_redirects=False,  # followed by hand, to notice permanent moves
        headers={"User-Agent": USER_AGENT, "Accept-Encoding": "gzip, deflate"},
        transport=transport,
    )


async def fetch(
    client: httpx.AsyncClient,
    url: str,
    *,
    etag: str | None = None,
    last_modified: str | None = None,
    max_bytes: int = MAX_FEED_BYTES,
    total_seconds: float = TOTAL_SECONDS,
    hosts: HostLimits | None = None,
    check_url: UrlCheck | None = None,
) -> FetchResult:
    """GET `url`, sending the validators we kept; raise a `FetchError` on any failure.

    `total_seconds` bounds the whole exchange, redirects included; `hosts` bounds requests
    per host; `check_url` vets every redirect target (the SSRF guard when adding a feed).
    """
    if url.startswith("file://"):
        return await _read_file(url, max_bytes)
    request = _Request(client, etag, last_modified, max_bytes, hosts, check_url)
    try:
        async with asyncio.timeout(total_seconds):  # no extra task per request, as wait_for has
            return await request.run(url)
    except TimeoutError as exc:
        raise FeedTimeout(f"no complete answer within {total_seconds:g} s") from exc
    except httpx.TimeoutException as exc:
        raise FeedTimeout(f"timed out ({type(exc).__name__})") from exc
    except httpx.HTTPError as exc:
        raise FetchError(f"network error: {type(exc).__name__}: {exc}".rstrip(": ")) from exc


@dataclass(slots=True)
class _Request:
    client: httpx.AsyncClient
    etag: str | None
    last_modified: str | None
    max_bytes: int
    hosts: HostLimits | None
    check_url: UrlCheck | None

    async def run(self, url: str) -> FetchResult:
        """Follow redirects by hand: count them, spot loops, notice permanent moves."""
        first_url = url
        only_permanent_moves = True
        seen = {url}
        for _ in range(MAX_REDIRECTS + 1):
            async with AsyncExitStack() as stack:
                if self.hosts is not None:
                    await stack.enter_async_context(self.hosts.gate(url))
                response = await stack.enter_async_context(
                    self.client.stream("GET", url, headers=self._headers())
                )
                # httpx counts 304 as a redirect; only real moves with a target are followed.
                if response.status_code in _REDIRECTS and "location" in response.headers:
                    target = str(response.url.join(response.headers.get("location", "")))
                    if target in seen:
                        raise FetchError("redirect loop")
                    if (scheme := urlparse(target).scheme) not in ("http", "https"):
                        raise UnsafeFeedURL(f"a redirect to a {scheme or 'relative'} URL")
                    if self.check_url is not None:
                        await self.check_url(target)
                    seen.add(target)
                    only_permanent_moves &= response.status_code in (301, 308)
                    url = target
                    continue
                _raise_for_status(response)
                # Reading even the empty body of a 304 returns the connection to the pool;
                # otherwise every conditional GET pays for a new TCP connection.
                content = await _read_capped(response, self.max_bytes)
                return FetchResult(
                    url=url,
                    status=response.status_code,
                    content=content,
                    etag=_validator(response.headers.get("etag"), 500),
                    last_modified=_validator(response.headers.get("last-modified"), 100),
                    content_type=content_type_for(content, response.headers.get("content-type")),
                    permanent_redirect=url if only_permanent_moves and url != first_url else None,
                    headers=dict(response.headers),
                )
        raise FetchError(f"more than {MAX_REDIRECTS} redirects")

    def _headers(self) -> dict[str, str]:
        headers = {"Accept": _ACCEPT}
        if self.etag:
            headers["If-None-Match"] = self.etag
        if self.last_modified:
            headers["If-Modified-Since"] = self.last_modified
        return headers


def _raise_for_status(response: httpx.Response) -> None:
    status = response.status_code
    if status == 304 or 200 <= status < 300:
        return
    if status == 410:
        raise FeedGone("410 Gone: the feed was removed")
    if status in (429, 503):
        raise RateLimited(
            f"HTTP {status}", retry_after_seconds(response.headers.get("retry-after"))
        )
    raise FetchError(f"HTTP {status} {response.reason_phrase}".strip())


async def _read_capped(response: httpx.Response, max_bytes: int) -> bytes:
    declared = response.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > max_bytes:
        raise FeedTooLarge(f"{int(declared)} bytes declared, the limit is {max_bytes}")
    chunks: list[bytes] = []
    size = 0
    async for chunk in response.aiter_bytes():
        size += len(chunk)
        if size > max_bytes:  # checked while streaming: an endless body stops here
            raise FeedTooLarge(f"more than {max_bytes} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


def _validator(value: str | None, limit: int) -> str | None:
    """An ETag or Last-Modified to send back, if it fits the store (a cut one never matches)."""
    return value if value is not None and len(value) <= limit else None


def retry_after_seconds(value: str | None) -> float | None:
    """Retry-After is either seconds or an HTTP date."""
    if not value:
        return None
    value = value.strip()
    if value.isascii() and value.isdigit():
        return float(value)  # 20 digits are fine: the schedule caps the wait
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


async def _read_file(url: str, max_bytes: int) -> FetchResult:
    path = Path(unquote(urlparse(url).path))
    try:
        content = await asyncio.to_thread(path.read_bytes)
    except OSError as exc:
        raise FetchError(f"cannot read {path}: {exc.strerror}") from exc
    if len(content) > max_bytes:
        raise FeedTooLarge(f"more than {max_bytes} bytes")
    return FetchResult(url=url, status=200, content=content)


def content_type_for(content: bytes, content_type: str | None) -> str | None:
    """The content type to parse with: a charset the body contradicts is dropped.

    Servers often label every file `charset=iso-8859-1` or `utf-8`. When the XML prolog
    names another encoding and the body decodes cleanly in it, the prolog is right, so the
    header's charset is removed and feedparser follows the prolog.
    """
    if not content_type or not (header := _CHARSET.search(content_type)):
        return content_type
    prolog = _PROLOG_ENCODING.match(content[:200])
    if not prolog:
        return content_type
    declared, labelled = prolog.group(1).decode().lower(), header.group(1).lower()
    if _codec(declared) == _codec(labelled) or _codec(declared) is None:
        return content_type
    try:
        content.decode(_SUPERSETS.get(declared, declared))
    except (UnicodeDecodeError, LookupError):
        return content_type
    # Without a charset, text/xml means us-ascii (RFC 3023); application/xml means the prolog.
    return _CHARSET.sub("", content_type).replace("text/", "application/", 1)


def _codec(name: str) -> str | None:
    try:
        return codecs.lookup(name).name
    except LookupError:
        return None
