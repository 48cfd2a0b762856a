"""Build the Telegram application: every handler, the error handler and the jobs, in one place."""

from __future__ import annotations

from datetime import timedelta

from telegram import BotCommand
from telegram.ext import (
    ApplicationBuilder,
    CallbackQueryHandler,
    CommandHandler,
    MessageHandler,
    filters,
)

from bot import admin, archive, commands, feedback, metrics
from bot.alerts import AlertSender
from bot.broadcast import digest_tick
from bot.context import CONTEXT_TYPES, TrendApplication, TrendContext
from bot.pacing import MAX_IN_FLIGHT, Pacer
from bot.settings import route_command, settings_button, settings_command, timezone_command
from bot.stats import stats_command
from bot.transport import AiohttpRequest
from config.settings import Settings
from jobs.alerts import send_due_alerts
from jobs.poll import poll_due_feeds
from jobs.runtime import open_service
from trends.service import TrendService

__all__ = ["BOT_COMMANDS", "build_application"]

TICK = timedelta(seconds=60)

BOT_COMMANDS = [
    ("start", "What trendbot does"),
    ("subscribe", "Weekly digest of the ten AI trends"),
    ("unsubscribe", "Stop the digest"),
    ("trend", "Newest posts on a trend: /trend 6"),
    ("trends", "The ten trends with this week's counts"),
    ("search", "Search the archive: /search agents"),
    ("story", "Every outlet's report of a story: /story 12"),
    ("digest", "Your digest now"),
    ("settings", "Trends, schedule, time zone, language, alerts"),
    ("help", "All commands"),
]
BOT_COMMANDS_ZH = [
    ("start", "trendbot 能做什么"),
    ("subscribe", "订阅十大 AI 趋势每周简报"),
    ("unsubscribe", "退订简报"),
    ("trend", "某个趋势的最新文章：/trend 6"),
    ("trends", "十大趋势及本周文章数"),
    ("search", "搜索存档：/search 智能体"),
    ("story", "一个故事的全部报道：/story 12"),
    ("digest", "立即查看你的简报"),
    ("settings", "趋势、发送时间、时区、语言、即时提醒"),
    ("help", "全部命令"),
]


def build_application(
    settings: Settings, service: TrendService | None = None, *, with_jobs: bool = True
) -> TrendApplication:
    """The bot, wired to `settings`; `service` is opened in post_init unless one is given.

    `with_jobs=False` leaves the poll and digest ticks out, for callers that drive them.
    """
    if not settings.telegram_bot_token:
        raise ValueError("TELEGRAM_BOT_TOKEN is not set")
    base = settings.telegram_api_base_url
    application = (
        ApplicationBuilder()
        .context_types(CONTEXT_TYPES)
        .token(settings.telegram_bot_token)
        .base_url(f"{base}/bot")
        .base_file_url(f"{base}/file/bot")
        # Our pacer replaces AIORateLimiter: one limiter, which also holds 1 msg/s per chat.
        .rate_limiter(Pacer(settings.send_rate))
        # aiohttp, not PTB's httpx client: a fifth of the CPU per request (bot/transport.py).
        .request(AiohttpRequest(MAX_IN_FLIGHT + 8))  # the pacer never has more in flight
        .get_updates_request(AiohttpRequest(1))
        .post_init(_post_init)
        .post_shutdown(_post_shutdown)
        .build()
    )
    application.bot_data.settings = settings
    application.bot_data.with_jobs = with_jobs
    if service is not None:
        application.bot_data.service = service

    application.add_handler(CommandHandler("start", commands.start))
    application.add_handler(CommandHandler("help", commands.help_command))
    # A channel's commands arrive as channel posts; these make sense there too.
    channel_too = filters.UpdateType.MESSAGES | filters.UpdateType.CHANNEL_POST
    application.add_handler(CommandHandler("subscribe", commands.subscribe, channel_too))
    application.add_handler(CommandHandler("unsubscribe", commands.unsubscribe, channel_too))
    application.add_handler(CommandHandler("settings", settings_command, channel_too))
    application.add_handler(CommandHandler("timezone", timezone_command, channel_too))
    application.add_handler(CommandHandler("route", route_command))
    application.add_handler(CallbackQueryHandler(settings_button, pattern=r"^s:"))
    application.add_handler(CommandHandler("trend", archive.trend))
    application.add_handler(CommandHandler("trends", archive.trends_overview))
    application.add_handler(CommandHandler("search", archive.search))
    application.add_handler(CommandHandler("story", archive.story))
    application.add_handler(MessageHandler(filters.Regex(archive.STORY_LINK), archive.story_link))
    application.add_handler(CommandHandler("digest", archive.digest_now))
    application.add_handler(CallbackQueryHandler(archive.page_button, pattern=r"^[tq]1:"))
    application.add_handler(CallbackQueryHandler(feedback.wrong_button, pattern=r"^w1:"))
    application.add_handler(CommandHandler("wrong", feedback.wrong_command))
    application.add_handler(MessageHandler(filters.Regex(feedback.WRONG_LINK), feedback.wrong_link))
    application.add_handler(CommandHandler("feedback", feedback.feedback_command))
    application.add_handler(CommandHandler("stats", stats_command))
    application.add_handler(CommandHandler("feeds", admin.list_feeds))
    application.add_handler(CommandHandler("addfeed", admin.add_feed))
    application.add_handler(CommandHandler("removefeed", admin.remove_feed))
    application.add_handler(CommandHandler("exportfeeds", admin.export_feeds))
    application.add_handler(
        MessageHandler(
            filters.Document.FileExtension("opml") | filters.Document.FileExtension("xml"),
            admin.import_feeds,
        )
    )
    application.add_handler(MessageHandler(filters.COMMAND, commands.unknown))
    application.add_handler(
        MessageHandler(filters.ChatType.PRIVATE & filters.TEXT & ~filters.COMMAND, commands.unknown)
    )
    application.add_error_handler(commands.on_error)
    return application


async def _post_init(application: TrendApplication) -> None:
    if not application.bot_data.has_service:
        application.bot_data.service = await open_service(application.bot_data.settings)
        application.bot_data.owns_service = True
    await application.bot.set_my_commands([BotCommand(*pair) for pair in BOT_COMMANDS])
    await application.bot.set_my_commands(
        [BotCommand(*pair) for pair in BOT_COMMANDS_ZH], language_code="zh"
    )
    jobs = application.job_queue
    if jobs is not None and application.bot_data.with_jobs:
        options = {"misfire_grace_time": 30, "coalesce": True, "max_instances": 1}
        if application.bot_data.settings.poll_in_bot:  # else `trendbot worker`s poll
            jobs.run_repeating(_poll_tick, TICK, first=1, name="poll", job_kwargs=options)
        jobs.run_repeating(_digest_tick, TICK, first=5, name="digests", job_kwargs=options)
        jobs.run_repeating(_alert_tick, TICK, first=10, name="alerts", job_kwargs=options)


async def _post_shutdown(application: TrendApplication) -> None:
    if application.bot_data.owns_service:
        await application.bot_data.service.close()


async def _poll_tick(context: TrendContext) -> None:
    report = await poll_due_feeds(context.service)
    metrics.record_poll(report)
    if report.events:  # failing, recovered, gone: each told to the admins once
        settings: Settings = context.settings
        await admin.announce_feed_events(
            context.bot, context.service, settings.admins, report.events
        )


async def _digest_tick(context: TrendContext) -> None:
    service = context.service
    settings: Settings = context.settings
    await digest_tick(context.bot, service, settings)


async def _alert_tick(context: TrendContext) -> None:
    service = context.service
    await send_due_alerts(service, AlertSender(context.bot, service.themes).send)
