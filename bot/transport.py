"""The bot's HTTP client for the Bot API: PTB's `BaseRequest` on an aiohttp session.

PTB's default `HTTPXRequest` costs about 1 ms of CPU per request (httpx, httpcore and anyio;
its pool also polls every idle connection's socket on every request and every answer). That
cost, not Telegram, held a paid broadcast (up to 1,000 messages a second) to a third of its
rate in bench/fanout.py. aiohttp does the same request in about 0.15 ms: its HTTP parser is
compiled, and an idle connection closed by the server is noticed by the event loop instead
of being polled. Every Bot API call goes through here, long polling included.

Timeouts keep PTB's meaning: read, connect and pool as given per call or by default; aiohttp
has no write timeout of its own, so all four together bound the whole request.
"""

from __future__ import annotations

import time
from functools import lru_cache
from typing import TYPE_CHECKING
from urllib.parse import urlencode, urlsplit
from urllib.request import getproxies, proxy_bypass

import aiohttp
from telegram.error import NetworkError, TimedOut
from telegram.request import BaseRequest, RequestData

from bot import metrics

if TYPE_CHECKING:
    from telegram._utils.types import ODVInput

__all__ = ["AiohttpRequest"]

_FORM = {"Content-Type": "application/x-www-form-urlencoded"}
_DefaultValue = type(BaseRequest.DEFAULT_NONE)  # "not given": use this request's default


class AiohttpRequest(BaseRequest):
    """A `BaseRequest` for `ApplicationBuilder.request` and `.get_updates_request`."""

    __slots__ = (
        "_connect_timeout",
        "_media_write_timeout",
        "_pool_size",
        "_pool_timeout",
        "_read_timeout",
        "_session",
        "_write_timeout",
    )

    def __init__(
        self,
        connection_pool_size: int = 256,
        *,
        read_timeout: float | None = 5.0,
        write_timeout: float | None = 5.0,
        connect_timeout: float | None = 5.0,
        pool_timeout: float | None = 1.0,
        media_write_timeout: float | None = 20.0,
    ) -> None:
        self._pool_size = connection_pool_size
        self._read_timeout = read_timeout
        self._write_timeout = write_timeout
        self._connect_timeout = connect_timeout
        self._pool_timeout = pool_timeout
        self._media_write_timeout = media_write_timeout
        self._session: aiohttp.ClientSession | None = None

    @property
    def read_timeout(self) -> float | None:
        return self._read_timeout

    async def initialize(self) -> None:
        if self._session is None or self._session.closed:
            # Created here, not in __init__: a session belongs to the running event loop.
            self._session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(limit=self._pool_size, limit_per_host=0),
                headers={"User-Agent": self.USER_AGENT},
                # Not trust_env: aiohttp would then read ~/.netrc in a thread on every
                # request. `_env_proxy` honours HTTPS_PROXY / NO_PROXY as httpx did.
            )

    async def shutdown(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        read_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
        write_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
        connect_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
        pool_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
    ) -> tuple[int, bytes]:
        if self._session is None:
            raise RuntimeError("This AiohttpRequest is not initialized!")
        files = request_data is not None and request_data.contains_files
        default_write = self._media_write_timeout if files else self._write_timeout
        timeout = _timeout(
            _given(read_timeout, self._read_timeout),
            _given(write_timeout, default_write),
            _given(connect_timeout, self._connect_timeout),
            _given(pool_timeout, self._pool_timeout),
        )
        body: aiohttp.FormData | str | None = None
        headers = None
        if request_data is not None:
            if files:
                body = aiohttp.FormData(request_data.json_parameters)
                for name, (filename, content, mime) in request_data.multipart_data.items():
                    body.add_field(name, content, filename=filename, content_type=mime)
            else:
                body, headers = urlencode(request_data.json_parameters), _FORM
        started = time.perf_counter()
        try:
            async with self._session.request(
                method, url, data=body, headers=headers, timeout=timeout, proxy=_env_proxy(url)
            ) as response:
                answer = response.status, await response.read()
            metrics.observe_send(url.rpartition("/")[2], time.perf_counter() - started)
            return answer
        except TimeoutError as exc:  # aiohttp's own timeouts are TimeoutErrors too
            raise TimedOut from exc
        except aiohttp.ClientError as exc:
            raise NetworkError(f"aiohttp.{type(exc).__name__}: {exc}") from exc


@lru_cache(maxsize=64)  # one URL per endpoint and token; the environment is read once
def _env_proxy(url: str) -> str | None:
    parts = urlsplit(url)
    if not parts.hostname or proxy_bypass(parts.hostname):
        return None
    proxies = getproxies()
    return proxies.get(parts.scheme) or proxies.get("all")


def _given(value: ODVInput[float], default: float | None) -> float | None:
    if isinstance(value, _DefaultValue):
        return default
    return value  # type: ignore[return-value]


@lru_cache(maxsize=64)  # a handful of distinct combinations; saves building one per request
def _timeout(
    read: float | None, write: float | None, connect: float | None, pool: float | None
) -> aiohttp.ClientTimeout:
    parts = (read, write, connect, pool)
    return aiohttp.ClientTimeout(
        total=None if None in parts else sum(parts),  # type: ignore[arg-type]
        connect=None if connect is None or pool is None else connect + pool,  # pool wait too
        sock_connect=connect,
        sock_read=read,
    )
