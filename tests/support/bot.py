"""Run the real trendbot Application against the fake Bot API."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime, timedelta

from telegram.ext import Application

from bot.app import build_application
from bot.broadcast import digest_tick
from config.settings import load_settings
from tests.fakes.bot_api import FakeBotAPI
from trends.delivery.periods import WEEK
from trends.service import TrendService

TOKEN = "123456:TEST-TOKEN"


@asynccontextmanager
async def running_bot(
    bot_api: FakeBotAPI, service: TrendService, **overrides: object
) -> AsyncIterator[Application]:
    """The bot polling the fake for updates, as `trendbot run` would, minus the ticks.

    `overrides` are extra settings by variable name, e.g. TRENDBOT_ADMINS="42".
    """
    settings = load_settings(
        TELEGRAM_BOT_TOKEN=TOKEN,
        TELEGRAM_API_BASE_URL=bot_api.base_url.removesuffix("/bot"),
        DATABASE_URL="sqlite+aiosqlite:///unused.db",
        **overrides,
    )
    application = build_application(settings, service, with_jobs=False)
    async with application:
        # run_polling() would call post_init; the test drives the pieces itself.
        assert application.post_init is not None
        await application.post_init(application)
        await application.updater.start_polling(poll_interval=0.0, timeout=1)
        await application.start()
        try:
            yield application
        finally:
            await application.updater.stop()
            await application.stop()


def next_weekly_slot(now: datetime) -> datetime:
    """Five minutes past the first default digest slot (Monday 09:00 UTC) after `now`."""
    monday = (now - timedelta(days=now.weekday())).replace(
        hour=9, minute=0, second=0, microsecond=0
    )
    slot = monday if monday > now else monday + WEEK
    return slot + timedelta(minutes=5)


async def send_digests_now(bot_api: FakeBotAPI, service: TrendService, now: datetime) -> dict:
    """The scheduler's digest tick at `now`, as `trendbot run` runs it: outcome → count."""
    async with running_bot(bot_api, service) as application:
        result = await digest_tick(application.bot, service, application.bot_data.settings, now)
        return result.counts
