"""A small HTTP server on 127.0.0.1 serving feeds, with ETag/Last-Modified and hit counts.

    async with FeedServer() as feeds:
        feeds.add_file("/feeds/a.xml", corpus / "a.xml")
        feeds.add_body("/b.xml", b"<rss/>")
        httpx.get(feeds.url("/b.xml"))

From synchronous code (or a script with its own event loop), run it on a thread:

    with FeedServer().in_thread() as feeds: ...
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import threading
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from email.utils import formatdate, parsedate_to_datetime
from pathlib import Path

from aiohttp import web

from tests.fakes.loopback import serve

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

CONTENT_TYPES = {
    ".rss.xml": "application/rss+xml",
    ".atom.xml": "application/atom+xml",
    ".rdf": "application/rdf+xml",
    ".xml": "application/xml",
    ".json": "application/json",
    ".html": "text/html; charset=utf-8",
}


def _rss(name: str, item: str, channel: str = "") -> bytes:
    return (
        '<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel>'
        f"<title>{name}</title><link>https://{name}.example/</link>{channel}"
        f'<item>{item}<guid isPermaLink="false">{name}-1</guid>'
        "<pubDate>Thu, 19 Nov 2026 12:00:00 GMT</pubDate></item></channel></rss>"
    ).encode()


# Feeds that once crashed a whole poll (issue 11): (body, headers, status) by path. Each must
# end as its feed's recorded error or a clean ingest; their stories are distinct.
HOSTILE_FEEDS: dict[str, tuple[bytes, dict[str, str], int]] = {
    "/hostile/surrogate.xml": (
        _rss("surrogate", "<title>Lone &#xD800; surrogate in a chip story</title>"
             "<link>https://surrogate.example/1</link><description>Fabs and wafers.</description>"),
        {}, 200,
    ),
    "/hostile/nul.xml": (
        _rss("nul", "<title>NUL &#0; inside a robotics title</title>"
             "<link>https://nul.example/1</link><description>Grippers and arms.</description>"),
        {}, 200,
    ),
    "/hostile/ttl.xml": (
        _rss("ttl", "<title>Twenty-digit ttl on a pricing feed</title>"
             "<link>https://ttl.example/1</link><description>Seats and tickets.</description>",
             channel="<ttl>99999999999999999999</ttl>"),
        {}, 200,
    ),
    "/hostile/max-age.xml": (
        _rss("maxage", "<title>Cache forever says the agents blog</title>"
             "<link>https://maxage.example/1</link><description>Tools and tasks.</description>"),
        {"Cache-Control": "public, max-age=99999999999999999999"}, 200,
    ),
    "/hostile/retry-after.xml": (b"slow down", {"Retry-After": "999999999999999"}, 429),
    "/hostile/long-link.xml": (
        _rss("longlink", "<title>A link longer than any column</title>"
             f"<link>https://longlink.example/{'a' * 2100}</link>"
             "<description>Benchmarks and evals.</description>"),
        {}, 200,
    ),
}  # fmt: skip


def guess_content_type(name: str) -> str:
    """Feed-aware content type (mimetypes knows neither .rss.xml nor .atom.xml)."""
    return next((t for ext, t in CONTENT_TYPES.items() if name.endswith(ext)), "text/plain")


@dataclass
class _Resource:
    body: bytes
    content_type: str
    headers: dict[str, str]
    status: int
    last_modified: float = field(default_factory=time.time)

    @property
    def etag(self) -> str:
        return '"' + hashlib.sha1(self.body).hexdigest() + '"'


class FeedServer:
    """Serves registered paths; unknown paths answer 404. Paths can be added while running."""

    def __init__(self, host: str = "127.0.0.1") -> None:
        self.host = host  # another loopback address can play a second machine
        self._resources: dict[str, _Resource] = {}
        self._routes: dict[str, Handler] = {}
        self.hits: Counter[str] = Counter()
        self.requests: list[tuple[str, dict[str, str]]] = []  # (path, request headers)
        self._runner: web.AppRunner | None = None
        self.port = 0

    # -- content -------------------------------------------------------------------

    def add_body(
        self,
        path: str,
        body: bytes,
        content_type: str = "application/rss+xml; charset=utf-8",
        headers: dict[str, str] | None = None,
        status: int = 200,
    ) -> str:
        """Serve ``body`` at ``path``; returns the full URL."""
        self._resources[path] = _Resource(body, content_type, dict(headers or {}), status)
        return self.url(path)

    def add_file(self, path: str, file_path: str | Path, content_type: str | None = None) -> str:
        """Serve a file's current bytes at ``path``, with its mtime as Last-Modified."""
        file_path = Path(file_path)
        resource = _Resource(
            file_path.read_bytes(), content_type or guess_content_type(file_path.name), {}, 200
        )
        resource.last_modified = file_path.stat().st_mtime
        self._resources[path] = resource
        return self.url(path)

    def add_hostile_feeds(self) -> dict[str, str]:
        """Serve every `HOSTILE_FEEDS` case; their URLs by path."""
        return {
            path: self.add_body(path, body, headers=headers, status=status)
            for path, (body, headers, status) in HOSTILE_FEEDS.items()
        }

    def add_directory(self, prefix: str, directory: str | Path) -> list[str]:
        """Serve every file of ``directory`` at ``prefix/<name>``; returns the URL paths."""
        paths = []
        for file_path in sorted(Path(directory).iterdir()):
            if file_path.is_file():
                paths.append(f"{prefix.rstrip('/')}/{file_path.name}")
                self.add_file(paths[-1], file_path)
        return paths

    def set_body(self, path: str, body: bytes, **changes: object) -> None:
        """Change what ``path`` serves (e.g. a feed gaining items between polls)."""
        resource = self._resources[path]
        resource.body = body
        for name, value in changes.items():
            setattr(resource, name, value)
        # HTTP dates have 1 s resolution: move on by at least a second so
        # If-Modified-Since can't mistake the new body for the old one.
        resource.last_modified = max(time.time(), resource.last_modified + 1)

    def add_route(self, path: str, handler: Handler) -> str:
        """Serve ``path`` with a custom ``async handler(request)`` (slow, huge, broken...)."""
        self._routes[path] = handler
        return self.url(path)

    def url(self, path: str) -> str:
        return f"http://{self.host}:{self.port}{path}"

    # -- lifecycle -----------------------------------------------------------------

    async def start(self) -> FeedServer:
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self._handle)
        self._runner, self.port = await serve(app, shutdown_timeout=1.0, host=self.host)
        return self

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> FeedServer:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    @contextlib.contextmanager
    def in_thread(self) -> Iterator[FeedServer]:
        """Run the server on its own event loop in a daemon thread (for sync callers)."""
        loop = asyncio.new_event_loop()
        thread = threading.Thread(target=loop.run_forever, name="FeedServer", daemon=True)
        thread.start()
        try:
            asyncio.run_coroutine_threadsafe(self.start(), loop).result(timeout=10)
            yield self
        finally:
            asyncio.run_coroutine_threadsafe(self.stop(), loop).result(timeout=10)
            loop.call_soon_threadsafe(loop.stop)
            thread.join(timeout=10)
            loop.close()

    # -- HTTP ----------------------------------------------------------------------

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        path = request.path
        self.hits[path] += 1
        self.requests.append((path, dict(request.headers)))
        if path in self._routes:
            return await self._routes[path](request)
        resource = self._resources.get(path)
        if resource is None:
            return web.Response(status=404, text="not found")
        headers = {
            "ETag": resource.etag,
            "Last-Modified": formatdate(resource.last_modified, usegmt=True),
            **resource.headers,
        }
        if resource.status == 200 and _not_modified(request, resource):
            return web.Response(status=304, headers=headers)
        return web.Response(
            status=resource.status,
            body=resource.body,
            headers={**headers, "Content-Type": resource.content_type},
        )


def _not_modified(request: web.Request, resource: _Resource) -> bool:
    """RFC 9110 §13.2.2: If-None-Match wins over If-Modified-Since when both are sent."""
    if (inm := request.headers.get("If-None-Match")) is not None:
        tags = {t.strip().removeprefix("W/") for t in inm.split(",")}
        return "*" in tags or resource.etag in tags
    if (ims := request.headers.get("If-Modified-Since")) is not None:
        try:
            since = parsedate_to_datetime(ims).timestamp()
        except (TypeError, ValueError):
            return False  # an unparsable date is ignored, as the RFC says
        return int(resource.last_modified) <= since
    return False
