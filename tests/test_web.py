"""`trendbot run`'s HTTP side: webhook mode with its secret, /healthz and /metrics in both modes.

The real application runs through `bot.serve.serve` (what `trendbot run` calls) against the
fake Bot API; the test talks to its HTTP server on 127.0.0.1 as Telegram and a monitor would.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import socket
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path

import aiohttp
import pytest
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy.engine import make_url
from telegram.ext import Application

from bot.app import build_application
from bot.broadcast import digest_tick
from bot.serve import serve
from bot.web import SECRET_HEADER, webhook_for
from config.settings import Settings, load_settings
from tests.fakes.bot_api import FakeBotAPI
from tests.fakes.feed_server import FeedServer
from tests.support.archives import pricing_desk_feed
from tests.support.bot import TOKEN, next_weekly_slot
from tests.support.feeds import feeds_file
from trends.errors import ConfigError
from trends.service import TrendService

ROOT = Path(__file__).resolve().parent.parent
CHAT = 4242
SECRET = "s3cret_Token-for-tests"


def no_feeds(path: Path) -> Path:
    path.write_text("feeds: []\n", encoding="utf-8")
    return path


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def bot_settings(bot_api: FakeBotAPI, **overrides: object) -> Settings:
    return load_settings(
        TELEGRAM_BOT_TOKEN=TOKEN,
        TELEGRAM_API_BASE_URL=bot_api.base_url.removesuffix("/bot"),
        DATABASE_URL="sqlite+aiosqlite:///unused.db",
        **overrides,
    )


@asynccontextmanager
async def serving(
    settings: Settings, service: TrendService, *, with_jobs: bool = False
) -> AsyncIterator[tuple[str, Application]]:
    """`serve()` in the background; yields the HTTP server's base URL and the application."""
    application = build_application(settings, service, with_jobs=with_jobs)
    stop = asyncio.Event()
    bound: asyncio.Future[tuple[str, int]] = asyncio.get_running_loop().create_future()
    task = asyncio.create_task(serve(application, settings, stop, bound=bound))
    try:
        host, port = await asyncio.wait_for(asyncio.shield(bound), 10)
        yield f"http://{host}:{port}", application
    finally:
        stop.set()
        await asyncio.wait_for(task, 15)


@pytest.fixture
async def quiet_service(tmp_path: Path) -> AsyncIterator[TrendService]:
    """An empty archive with no feeds: nothing but the HTTP side to look at."""
    service = await TrendService.open(
        f"sqlite+aiosqlite:///{tmp_path}/web.db",
        feeds_path=no_feeds(tmp_path / "feeds.yaml"),
    )
    yield service
    await service.close()


def metric(text: str, name: str, **labels: str) -> float:
    """The value of one sample in a Prometheus exposition (0 when absent)."""
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == name and all(sample.labels.get(k) == v for k, v in labels.items()):
                return sample.value
    return 0.0


async def get(url: str) -> tuple[int, str, str]:
    async with aiohttp.ClientSession() as http, http.get(url) as response:
        return response.status, response.headers.get("Content-Type", ""), await response.text()


async def get_json(url: str) -> tuple[int, dict]:
    async with aiohttp.ClientSession() as http, http.get(url) as response:
        return response.status, await response.json()


async def post_update(url: str, update: dict, secret: str | None) -> int:
    headers = {SECRET_HEADER: secret} if secret is not None else {}
    async with aiohttp.ClientSession() as http, http.post(url, json=update, headers=headers) as r:
        return r.status


# -- webhook mode --------------------------------------------------------------------


async def test_webhook_mode_answers_updates_that_carry_the_secret_and_refuses_the_rest(
    bot_api: FakeBotAPI, quiet_service: TrendService
) -> None:
    port = free_port()
    hook = f"http://127.0.0.1:{port}/telegram/updates"
    settings = bot_settings(
        bot_api,
        TRENDBOT_WEBHOOK_URL=hook,
        TRENDBOT_WEBHOOK_SECRET=SECRET,
        PORT=str(port),
        TRENDBOT_HTTP_HOST="127.0.0.1",
    )
    async with serving(settings, quiet_service) as (base, _):
        assert base == f"http://127.0.0.1:{port}"
        # Registered with Telegram, secret included; the bot never long-polls.
        assert bot_api.webhook is not None
        assert bot_api.webhook["url"] == hook
        assert bot_api.webhook["secret_token"] == SECRET
        assert "message" in bot_api.webhook["allowed_updates"]

        _, _, before = await get(f"{base}/metrics")
        # Without the secret, or with a wrong one: 403, and the bot does nothing.
        stranger = bot_api.push_text(CHAT, "/help")
        assert await post_update(hook, stranger, None) == 403
        assert await post_update(hook, stranger, "not-the-secret") == 403
        await asyncio.sleep(0.5)
        assert bot_api.messages(CHAT) == []

        # With it, the same handlers as in polling mode answer.
        assert await post_update(hook, bot_api.push_text(CHAT, "/help"), SECRET) == 200
        reply = await bot_api.wait_for_message(CHAT)
        assert "/subscribe" in reply["text"] and "/trend" in reply["text"]
        assert len(bot_api.messages(CHAT)) == 1  # the refused /help was never handled

        # Not an update at all: 400, nothing crashes.
        async with (
            aiohttp.ClientSession() as http,
            http.post(hook, data=b"[1, 2", headers={SECRET_HEADER: SECRET}) as response,
        ):
            assert response.status == 400

        # Health and metrics share the webhook's port.
        status, body = await get_json(f"{base}/healthz")
        assert status == 200
        assert body["status"] == "ok" and body["mode"] == "webhook"
        assert body["database"] is True and body["scheduler"] is True
        status, content_type, after = await get(f"{base}/metrics")
        assert status == 200 and content_type.startswith("text/plain")
        forbidden = "trendbot_webhook_requests_total"
        assert metric(after, forbidden, outcome="forbidden") - metric(
            before, forbidden, outcome="forbidden"
        ) == pytest.approx(2)
        assert metric(after, forbidden, outcome="accepted") - metric(
            before, forbidden, outcome="accepted"
        ) == pytest.approx(1)
        # The /help reply went through the transport and was timed.
        assert metric(after, "trendbot_send_latency_seconds_count", method="sendMessage") >= 1
    assert bot_api.calls_of("getUpdates") == []
    # Stopping keeps the webhook: Telegram holds updates until the next start.
    assert bot_api.calls_of("deleteWebhook") == []


async def test_webhook_secret_is_derived_from_the_token_when_unset_and_never_logged(
    bot_api: FakeBotAPI, quiet_service: TrendService, caplog: pytest.LogCaptureFixture
) -> None:
    port = free_port()
    hook = f"http://127.0.0.1:{port}/"
    settings = bot_settings(
        bot_api, TRENDBOT_WEBHOOK_URL=hook, PORT=str(port), TRENDBOT_HTTP_HOST="127.0.0.1"
    )
    caplog.set_level(logging.INFO)  # what `trendbot run` logs (PTB logs requests at DEBUG)
    async with serving(settings, quiet_service):
        assert bot_api.webhook is not None
        secret = bot_api.webhook["secret_token"]
        assert len(secret) >= 32 and TOKEN not in secret
        # The same on every restart and replica: the token's holder can always compute it.
        hook_settings = webhook_for(settings)
        assert hook_settings is not None and hook_settings.secret == secret
        assert await post_update(hook, bot_api.push_text(CHAT, "/help"), None) == 403
        assert await post_update(hook, bot_api.push_text(CHAT, "/help"), secret) == 200
        await bot_api.wait_for_message(CHAT)
    assert secret not in caplog.text
    assert secret not in repr(hook_settings) and secret not in repr(settings)


# -- polling mode --------------------------------------------------------------------


async def test_polling_mode_serves_health_and_metrics_on_loopback_and_counts_the_work(
    bot_api: FakeBotAPI, feed_server: FeedServer, tmp_path: Path
) -> None:
    feed_server.add_body("/pricing.xml", pricing_desk_feed(datetime.now(UTC)))
    urls = [feed_server.url("/pricing.xml"), feed_server.url("/no-such-feed.xml")]
    service = await TrendService.open(
        f"sqlite+aiosqlite:///{tmp_path}/poll.db",
        feeds_path=feeds_file(tmp_path / "feeds.yaml", urls),
        allow_private_feeds=True,  # the feeds are served on 127.0.0.1
    )
    port = free_port()
    settings = bot_settings(bot_api, TRENDBOT_HTTP_PORT=str(port))
    try:
        async with serving(settings, service, with_jobs=True) as (base, application):
            assert base == f"http://127.0.0.1:{port}"  # loopback unless told otherwise
            _, _, before = await get(f"{base}/metrics")
            # The scheduler's first poll tick comes a second after start.
            deadline = asyncio.get_running_loop().time() + 20
            while True:
                _, _, now = await get(f"{base}/metrics")
                if metric(now, "trendbot_polls_total") > metric(before, "trendbot_polls_total"):
                    break
                assert asyncio.get_running_loop().time() < deadline, "no poll tick"
                await asyncio.sleep(0.2)

            def grew(name: str, **labels: str) -> float:
                return metric(now, name, **labels) - metric(before, name, **labels)

            assert grew("trendbot_feeds_polled_total", status="fetched") == 1
            assert grew("trendbot_feeds_polled_total", status="failed") == 1
            assert grew("trendbot_feed_errors_total", kind="fetch") == 1  # the 404
            assert grew("trendbot_posts_ingested_total") >= 1
            assert "trendbot_update_queue_depth" in now and "trendbot_send_queue_depth" in now
            names = {family.name for family in text_string_to_metric_families(now)}
            assert names and all(name.startswith("trendbot_") for name in names)

            status, health = await get_json(f"{base}/healthz")
            assert status == 200 and health["mode"] == "polling"
            assert health["database"] is True and health["scheduler"] is True
            assert health["last_poll"] is not None and health["last_broadcast"] is None

            # Updates still come by getUpdates, and a digest broadcast is counted.
            bot_api.push_text(CHAT, "/subscribe")
            await bot_api.wait_for_message(CHAT)
            # The scheduler's own digest tick, at the next digest time.
            result = await digest_tick(
                application.bot, service, settings, next_weekly_slot(datetime.now(UTC))
            )
            assert result.count("sent") == 1
            _, _, later = await get(f"{base}/metrics")
            assert metric(later, "trendbot_deliveries_total", outcome="sent") - metric(
                now, "trendbot_deliveries_total", outcome="sent"
            ) == pytest.approx(1)
            status, health = await get_json(f"{base}/healthz")
            assert status == 200 and health["last_broadcast"] is not None
    finally:
        await service.close()


async def test_polling_mode_has_no_http_server_unless_a_port_is_set(
    bot_api: FakeBotAPI, quiet_service: TrendService
) -> None:
    settings = bot_settings(bot_api)
    application = build_application(settings, quiet_service, with_jobs=False)
    stop = asyncio.Event()
    bound: asyncio.Future[tuple[str, int]] = asyncio.get_running_loop().create_future()
    task = asyncio.create_task(serve(application, settings, stop, bound=bound))
    bot_api.push_text(CHAT, "/help")
    await bot_api.wait_for_message(CHAT, timeout=10)
    assert not bound.done()
    assert bot_api.webhook is None
    stop.set()
    await asyncio.wait_for(task, 15)


# -- unhealthy -----------------------------------------------------------------------


async def test_healthz_is_503_when_the_database_is_gone(
    bot_api: FakeBotAPI, database_url: str, tmp_path: Path
) -> None:
    service = await TrendService.open(database_url, feeds_path=no_feeds(tmp_path / "feeds.yaml"))
    settings = bot_settings(bot_api, TRENDBOT_HTTP_PORT=str(free_port()))
    try:
        async with serving(settings, service) as (base, _):
            status, health = await get_json(f"{base}/healthz")
            assert status == 200 and health["database"] is True

            await _lose_database(service, database_url)

            status, health = await get_json(f"{base}/healthz")
            assert status == 503
            assert health["status"] == "unhealthy" and health["database"] is False
            assert any(problem.startswith("database:") for problem in health["problems"])
            assert health["scheduler"] is True
            status, _, text = await get(f"{base}/metrics")  # metrics need no database
            assert status == 200 and "trendbot_polls_total" in text
    finally:
        await service.close()


async def _lose_database(service: TrendService, database_url: str) -> None:
    url = make_url(database_url)
    if url.get_backend_name() == "sqlite":
        await service.db.engine.dispose()
        assert url.database is not None
        for suffix in ("", "-wal", "-shm"):
            Path(url.database + suffix).unlink(missing_ok=True)
        return
    import asyncpg

    admin = await asyncpg.connect(
        host=url.host, port=url.port, user=url.username, database="postgres"
    )
    try:
        await admin.execute(f'DROP DATABASE "{url.database}" WITH (FORCE)')
    finally:
        await admin.close()


# -- the command itself ----------------------------------------------------------------


async def test_python_m_bot_in_webhook_mode_serves_updates_and_stops_cleanly_on_sigterm(
    bot_api: FakeBotAPI, tmp_path: Path
) -> None:
    """The Procfile's `web:` process, as a platform runs it: $PORT set, SIGTERM to stop."""
    port = free_port()
    hook = f"http://127.0.0.1:{port}/telegram"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TRENDBOT_", "DATABASE_"))}
    env |= {
        "TELEGRAM_BOT_TOKEN": TOKEN,
        "TELEGRAM_API_BASE_URL": bot_api.base_url.removesuffix("/bot"),
        "DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path}/bot.db",
        "TRENDBOT_FEEDS": str(no_feeds(tmp_path / "feeds.yaml")),  # nothing to fetch
        "TRENDBOT_WEBHOOK_URL": hook,
        "TRENDBOT_WEBHOOK_SECRET": SECRET,
        "PORT": str(port),
        "TRENDBOT_HTTP_HOST": "127.0.0.1",
    }
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", cwd=ROOT, env=env,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    try:
        deadline = asyncio.get_running_loop().time() + 60
        while bot_api.webhook is None:  # registered once the server listens
            assert process.returncode is None, (await process.communicate())[1].decode()
            assert asyncio.get_running_loop().time() < deadline, "the bot did not start"
            await asyncio.sleep(0.2)
        status, health = await get_json(f"http://127.0.0.1:{port}/healthz")
        assert status == 200 and health["mode"] == "webhook"
        assert await post_update(hook, bot_api.push_text(CHAT, "/help"), SECRET) == 200
        assert "/subscribe" in (await bot_api.wait_for_message(CHAT, timeout=10))["text"]
        process.send_signal(signal.SIGTERM)
        _, err = await asyncio.wait_for(process.communicate(), 30)
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    assert process.returncode == 0, err.decode()[-2000:]
    assert SECRET not in err.decode()
    assert bot_api.calls_of("getUpdates") == []


async def test_a_webhook_telegram_refuses_or_a_taken_port_stops_start_up_with_one_line(
    bot_api: FakeBotAPI, quiet_service: TrendService
) -> None:
    port = free_port()
    settings = bot_settings(
        bot_api,
        TRENDBOT_WEBHOOK_URL=f"http://127.0.0.1:{port}/hook",
        PORT=str(port),
        TRENDBOT_HTTP_HOST="127.0.0.1",
    )
    bot_api.fail_next(
        "setWebhook", 400, "Bad Request: bad webhook: HTTPS url must be provided for webhook"
    )
    application = build_application(settings, quiet_service, with_jobs=False)
    with pytest.raises(
        ConfigError, match=r"TRENDBOT_WEBHOOK_URL=.*refused it:.*https url must be provided"
    ):
        await asyncio.wait_for(serve(application, settings, asyncio.Event()), 15)

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        busy = bot_settings(bot_api, TRENDBOT_HTTP_PORT=str(taken.getsockname()[1]))
        application = build_application(busy, quiet_service, with_jobs=False)
        with pytest.raises(
            ConfigError, match=r"cannot listen on 127\.0\.0\.1:.*TRENDBOT_HTTP_PORT"
        ):
            await asyncio.wait_for(serve(application, busy, asyncio.Event()), 15)


async def test_healthz_is_503_when_the_scheduler_has_stopped(
    bot_api: FakeBotAPI, quiet_service: TrendService
) -> None:
    settings = bot_settings(bot_api, TRENDBOT_HTTP_PORT=str(free_port()))
    async with serving(settings, quiet_service) as (base, application):
        assert (await get_json(f"{base}/healthz"))[0] == 200
        assert application.job_queue is not None
        await application.job_queue.stop()  # no more polls, digests or alerts
        status, health = await get_json(f"{base}/healthz")
        assert status == 503
        assert health["scheduler"] is False and health["database"] is True
        assert health["problems"] == ["scheduler: not running"]
