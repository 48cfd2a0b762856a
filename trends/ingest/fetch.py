"""Download a feed: conditional GET, timeouts, a size cap enforced while streaming.

Every failure leaves this module as one `FetchError` subclass with a short reason; a 304 is
a result (`FetchResult.not_modified`), not an error. `file://` URLs are read from disk so
the bundled sample feeds work offline; only the operator's feeds file can name them.
"""

from __future__ import annotations

import asyncio
import codecs
import ipaddress
import re
import socket
from collections.abc import Awaitable, Callable, Mapping
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from pathlib import Path
from urllib.parse import unquote, urlparse

import aiohttp
from aiohttp.abc import AbstractResolver, ResolveResult
from yarl import URL

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
    "FeedClient",
    "FetchResult",
    "GuardedResolver",
    "HostLimits",
    "content_type_for",
    "fetch",
    "new_client",
    "retry_after_seconds",
]

MAX_FEED_BYTES = 5 * 1024 * 1024  # feeds larger than this are hostile or broken
MAX_REDIRECTS = 5
# As before on httpx: 10 s to connect, 20 s between bytes read; `connect` also covers the
# wait for a free pooled connection (httpx's pool timeout, 30 s). TOTAL_SECONDS bounds it all.
TIMEOUT = aiohttp.ClientTimeout(total=None, connect=40.0, sock_connect=10.0, sock_read=20.0)
TOTAL_SECONDS = 60.0  # a server dripping a byte every few seconds is cut off here
_REDIRECTS = frozenset({301, 302, 303, 307, 308})
_CHUNK_BYTES = 64 * 1024
_PROLOG_ENCODING = re.compile(rb"^\s*<\?xml[^>]*encoding=[\"']([\w.:-]+)[\"']", re.IGNORECASE)
_CHARSET = re.compile(r";\s*charset=[\"']?([\w.:-]+)[\"']?", re.IGNORECASE)
# A declared encoding and the superset that servers really send under its name.
_SUPERSETS = {"gb2312": "gb18030", "gbk": "gb18030", "iso-8859-1": "cp1252"}
_ACCEPT = "application/rss+xml, application/atom+xml, application/xml;q=0.9, */*;q=0.5"
USER_AGENT = "trendbot/0.1 (+https://github.com/trendbot/trendbot)"
PER_HOST = 4  # requests at once to one host: a poll must not hammer a single publisher
CONCURRENCY = 10  # requests at once in a whole poll
# Short names for aiohttp's errors in a feed's recorded error (the names it had on httpx).
_ERROR_NAMES: dict[type[BaseException], str] = {
    aiohttp.ConnectionTimeoutError: "ConnectTimeout",
    aiohttp.SocketTimeoutError: "ReadTimeout",
    aiohttp.ClientConnectorError: "ConnectError",
    aiohttp.ServerDisconnectedError: "RemoteProtocolError",
    aiohttp.ClientPayloadError: "RemoteProtocolError",
}

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
    headers: dict[str, str] = field(default_factory=dict)  # names in lower case

    @property
    def not_modified(self) -> bool:
        return self.status == 304


class GuardedResolver(AbstractResolver):
    """Every TCP connection of a client goes through the SSRF guard, on the address used.

    The host is resolved once, every address it resolves to is checked, and only checked
    addresses go back to the connector, which opens the socket to one of them: a name that
    answers a public address to the check and a private one to the connect (DNS rebinding)
    cannot slip between the two. TLS and the Host header still name the host. aiohttp asks
    no resolver about address literals: `FeedClient.check_literal` judges those.
    """

    def __init__(self, *, allow_private: bool = False, resolver: Resolver | None = None) -> None:
        self.allow_private = allow_private
        self._resolve: Resolver = resolver or resolve

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        if self.allow_private:
            addresses = list(await self._resolve(host, port))
        else:
            addresses = await resolve_public(host, port, self._resolve)
        return [
            ResolveResult(
                hostname=host,
                host=address,
                port=port,
                family=socket.AF_INET6 if ":" in address else socket.AF_INET,
                proto=0,
                flags=socket.AI_NUMERICHOST,
            )
            for address in addresses  # the checked addresses only, in the resolver's order
        ]

    async def close(self) -> None:
        """Nothing to release: lookups are the event loop's."""


class FeedClient:
    """The one HTTP client a poll run shares: an aiohttp session whose every connection
    goes through `GuardedResolver` unless `allow_private`. Use as `async with`."""

    def __init__(
        self,
        *,
        connections: int = CONCURRENCY,
        allow_private: bool = False,
        resolver: Resolver | None = None,
    ) -> None:
        self.allow_private = allow_private
        self._connections = connections
        self._resolver = GuardedResolver(allow_private=allow_private, resolver=resolver)
        self._session: aiohttp.ClientSession | None = None

    @property
    def session(self) -> aiohttp.ClientSession:
        assert self._session is not None, "use the feed client inside `async with`"
        return self._session

    async def __aenter__(self) -> FeedClient:
        # Made here, not in __init__: aiohttp's connector belongs to the running loop.
        connector = aiohttp.TCPConnector(limit=self._connections, resolver=self._resolver)
        self._session = aiohttp.ClientSession(
            connector=connector,
            timeout=TIMEOUT,
            headers={"User-Agent": USER_AGENT, "Accept-Encoding": "gzip, deflate"},
            # No proxy or netrc from the environment: through a proxy, the guard could not
            # see where a connection really goes.
            trust_env=False,
        )
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def check_literal(self, url: URL) -> None:
        """Refuse an address literal that is private: aiohttp connects to it unresolved."""
        host = url.raw_host or ""
        try:
            ipaddress.ip_address(host.split("%", 1)[0])
        except ValueError:
            return  # a name: the resolver checks it
        if not self.allow_private:
            await resolve_public(host, url.port or 0, resolve)  # a literal resolves to itself


def new_client(
    *,
    connections: int = CONCURRENCY,
    allow_private: bool = False,
    resolver: Resolver | None = None,
) -> FeedClient:
    """The one client a poll run shares: compressed responses, at most `connections` at
    once (kept alive between polls of one run), every connection through the SSRF guard."""
    return FeedClient(connections=connections, allow_private=allow_private, resolver=resolver)


async def fetch(
    client: FeedClient,
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
    except aiohttp.ServerTimeoutError as exc:  # before TimeoutError: it is one too
        raise FeedTimeout(f"timed out ({_error_name(exc)})") from exc
    except TimeoutError as exc:
        raise FeedTimeout(f"no complete answer within {total_seconds:g} s") from exc
    except (aiohttp.ClientError, ValueError) as exc:  # ValueError: a URL yarl can't read
        raise FetchError(f"network error: {_error_name(exc)}: {exc}".rstrip(": ")) from exc


def _error_name(exc: BaseException) -> str:
    for kind in type(exc).__mro__:
        if kind in _ERROR_NAMES:
            return _ERROR_NAMES[kind]
    return type(exc).__name__


@dataclass(slots=True)
class _Request:
    client: FeedClient
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
            target_url = URL(url)
            await self.client.check_literal(target_url)
            async with AsyncExitStack() as stack:
                if self.hosts is not None:
                    await stack.enter_async_context(self.hosts.gate(url))
                response = await stack.enter_async_context(
                    self.client.session.get(
                        target_url, headers=self._headers(), allow_redirects=False
                    )
                )
                if response.status in _REDIRECTS and "location" in response.headers:
                    target = str(response.url.join(URL(response.headers["location"])))
                    if target in seen:
                        raise FetchError("redirect loop")
                    if (scheme := urlparse(target).scheme) not in ("http", "https"):
                        raise UnsafeFeedURL(f"a redirect to a {scheme or 'relative'} URL")
                    if self.check_url is not None:
                        await self.check_url(target)
                    seen.add(target)
                    only_permanent_moves &= response.status in (301, 308)
                    url = target
                    continue
                _raise_for_status(response)
                # Reading even the empty body of a 304 returns the connection to the pool;
                # otherwise every conditional GET pays for a new TCP connection.
                content = await _read_capped(response, self.max_bytes)
                return FetchResult(
                    url=url,
                    status=response.status,
                    content=content,
                    etag=_validator(response.headers.get("etag"), 500),
                    last_modified=_validator(response.headers.get("last-modified"), 100),
                    content_type=content_type_for(content, response.headers.get("content-type")),
                    permanent_redirect=url if only_permanent_moves and url != first_url else None,
                    headers=_lower_case(response.headers),
                )
        raise FetchError(f"more than {MAX_REDIRECTS} redirects")

    def _headers(self) -> dict[str, str]:
        headers = {"Accept": _ACCEPT}
        if self.etag:
            headers["If-None-Match"] = self.etag
        if self.last_modified:
            headers["If-Modified-Since"] = self.last_modified
        return headers


def _lower_case(headers: Mapping[str, str]) -> dict[str, str]:
    """Header names in lower case; a repeated header's values joined with commas."""
    merged: dict[str, str] = {}
    for name, value in headers.items():
        key = name.lower()
        merged[key] = f"{merged[key]}, {value}" if key in merged else value
    return merged


def _raise_for_status(response: aiohttp.ClientResponse) -> None:
    status = response.status
    if status == 304 or 200 <= status < 300:
        return
    if status == 410:
        raise FeedGone("410 Gone: the feed was removed")
    if status in (429, 503):
        raise RateLimited(
            f"HTTP {status}", retry_after_seconds(response.headers.get("retry-after"))
        )
    raise FetchError(f"HTTP {status} {response.reason or ''}".strip())


async def _read_capped(response: aiohttp.ClientResponse, max_bytes: int) -> bytes:
    declared = response.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > max_bytes:
        raise FeedTooLarge(f"{int(declared)} bytes declared, the limit is {max_bytes}")
    chunks: list[bytes] = []
    size = 0
    async for chunk in response.content.iter_chunked(_CHUNK_BYTES):  # decompressed bytes
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
