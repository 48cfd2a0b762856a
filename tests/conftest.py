"""Shared fixtures: real servers on 127.0.0.1 (fake Bot API, feed server, PostgreSQL).

Tests must not leave the machine: a guard refuses connections (and DNS lookups) to
anything but loopback, so a bot built without ``base_url`` fails fast instead of calling
api.telegram.org. Set TRENDBOT_ALLOW_NETWORK=1 to lift it.
"""

from __future__ import annotations

import ipaddress
import os
import socket
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from tests.fakes import postgres as pg
from tests.fakes.bot_api import FakeBotAPI
from tests.fakes.feed_server import FeedServer
from tests.support.feeds import feeds_file
from trends.service import TrendService

REPO_ROOT = Path(__file__).resolve().parents[1]
SHARED_DIR = REPO_ROOT.parent / "shared"


# -- loopback guard ------------------------------------------------------------------


class NetworkBlockedError(OSError):
    """Raised instead of reaching a non-loopback host; an OSError so clients fail normally."""


def _is_loopback(host: Any) -> bool:
    if host is None or (isinstance(host, str) and host.lower() in ("localhost", "")):
        return True
    if isinstance(host, bytes):
        host = host.decode()
    try:
        address = ipaddress.ip_address(str(host).split("%")[0])
    except ValueError:
        return False  # a hostname other than localhost
    mapped = getattr(address, "ipv4_mapped", None)
    return address.is_loopback or address.is_unspecified or bool(mapped and mapped.is_loopback)


@pytest.fixture(autouse=True, scope="session")
def _loopback_only() -> Iterator[None]:
    if os.environ.get("TRENDBOT_ALLOW_NETWORK") == "1":
        yield
        return
    real_connect, real_connect_ex = socket.socket.connect, socket.socket.connect_ex
    real_getaddrinfo = socket.getaddrinfo

    def check(sock: socket.socket, address: Any) -> None:
        if sock.family in (socket.AF_INET, socket.AF_INET6) and not _is_loopback(address[0]):
            raise NetworkBlockedError(f"tests must stay on 127.0.0.1; refused {address!r}")

    def connect(sock: socket.socket, address: Any) -> None:
        check(sock, address)
        return real_connect(sock, address)

    def connect_ex(sock: socket.socket, address: Any) -> int:
        check(sock, address)
        return real_connect_ex(sock, address)

    def getaddrinfo(host: Any, *args: Any, **kwargs: Any) -> Any:
        if not _is_loopback(host):
            raise NetworkBlockedError(f"tests must stay on 127.0.0.1; refused to resolve {host!r}")
        return real_getaddrinfo(host, *args, **kwargs)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(socket.socket, "connect", connect)
        patch.setattr(socket.socket, "connect_ex", connect_ex)
        patch.setattr(socket, "getaddrinfo", getaddrinfo)
        yield


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "postgres: needs a PostgreSQL server (deselect with -m 'not postgres')"
    )


# -- paths -------------------------------------------------------------------------


@pytest.fixture(scope="session")
def shared_dir() -> Path:
    """The team's shared directory (a sibling of the repository)."""
    return SHARED_DIR


@pytest.fixture(scope="session")
def corpus_dir(shared_dir: Path) -> Path:
    """Real feed samples and their notes: ``corpus/feeds/*``, ``corpus/SOURCES.md``."""
    return shared_dir / "corpus"


# -- the clock -----------------------------------------------------------------------

# A Monday, hours before the default digest slot (09:00 UTC): the week's posts are all still
# to be sent, in the digest due that same morning.
MONDAY_BEFORE_THE_SLOT = datetime(2026, 12, 7, 0, 30, tzinfo=UTC)


@pytest.fixture
def clock_now(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> datetime:
    """trendbot's clock stopped at one moment, so what is "this week" does not depend on
    the day the tests run: MONDAY_BEFORE_THE_SLOT, or what a test parametrizes `clock_now`
    with (indirect=True). Request it before any fixture that polls or subscribes."""
    moment: datetime = getattr(request, "param", MONDAY_BEFORE_THE_SLOT)
    monkeypatch.setattr("trends.clock.utcnow", lambda: moment)
    return moment


# -- fake servers ----------------------------------------------------------------------


@pytest.fixture
async def bot_api() -> AsyncIterator[FakeBotAPI]:
    """A started fake Bot API; pass ``.base_url``/``.base_file_url`` to ApplicationBuilder."""
    async with FakeBotAPI() as fake:
        yield fake


@pytest.fixture
async def feed_server(corpus_dir: Path) -> AsyncIterator[FeedServer]:
    """A started FeedServer with every corpus feed at ``/feeds/<filename>``."""
    async with FeedServer() as server:
        server.add_directory("/feeds", corpus_dir / "feeds")
        yield server


# -- databases ---------------------------------------------------------------------


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A PostgreSQL server for the whole session: ``postgresql+asyncpg://…/trendbot``."""
    if not pg.available():
        pytest.skip(
            "PostgreSQL server binaries (initdb, pg_ctl) not found on PATH or in "
            "/usr/lib/postgresql/*/bin; install the postgresql package to run these tests"
        )
    with pg.postgres_url() as url:
        yield url


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
async def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    """An empty database per test: a SQLite file, or a fresh database on the session server."""
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path}/trendbot.db"
        return
    # Looked up lazily so SQLite-only runs never start PostgreSQL.
    async with pg.fresh_database(request.getfixturevalue("postgres_url")) as url:
        yield url


# -- services over served feeds ------------------------------------------------------

OpenService = Callable[..., Awaitable[TrendService]]
OpenArchive = Callable[..., Awaitable[TrendService]]


@pytest.fixture
async def service_for(database_url: str, tmp_path: Path) -> AsyncIterator[OpenService]:
    """`await service_for(urls, poll_minutes=None)`: a service whose feeds file lists `urls`
    (feeds on 127.0.0.1 allowed), not polled yet; every one opened is closed afterwards."""
    opened: list[TrendService] = []

    async def open_for(urls: list[str], *, poll_minutes: int | None = None) -> TrendService:
        path = None  # no feeds file at all: an empty archive
        if urls:
            path = feeds_file(
                tmp_path / f"feeds{len(opened)}.yaml", urls, poll_minutes=poll_minutes
            )
        opened.append(
            await TrendService.open(database_url, feeds_path=path, allow_private_feeds=True)
        )
        return opened[-1]

    yield open_for
    for service in opened:
        await service.close()


@pytest.fixture
async def archive(service_for: OpenService, feed_server: FeedServer) -> OpenArchive:
    """`await archive(feeds, urls=())`: the one archive fixture. Serves `feeds` (path → RSS
    bytes, see tests/support/archives.py), opens a service over them and any other `urls`,
    and polls every feed once, as an operator's first `trendbot poll --once` would."""

    async def open_archive(
        feeds: Mapping[str, bytes] | None = None, *, urls: Sequence[str] = ()
    ) -> TrendService:
        served = [feed_server.add_body(path, body) for path, body in (feeds or {}).items()]
        service = await service_for([*urls, *served])
        if served or urls:
            await service.feeds.poll(only_due=False)
        return service

    return open_archive
