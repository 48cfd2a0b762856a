"""Admin-only handlers: list, add and remove feeds, OPML import and export; feed alerts.

Admins are the Telegram user ids in TRENDBOT_ADMINS; anyone else gets a polite refusal.
Handlers parse, call the service, render and reply, like those in `bot/commands.py`.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable, Iterable
from html import escape

from telegram import Bot, InputFile, Update
from telegram.error import TelegramError

from bot.context import TrendContext
from bot.messages import language_of, text
from bot.render_feeds import render_feed_event, render_feed_list, render_import
from bot.replies import reply
from config.settings import Settings
from trends.errors import TrendbotError
from trends.ingest.report import FeedEvent
from trends.opml import MAX_OPML_BYTES
from trends.service import TrendService
from trends.strings import clip

__all__ = [
    "add_feed",
    "announce_feed_events",
    "export_feeds",
    "import_feeds",
    "is_admin",
    "list_feeds",
    "remove_feed",
    "tell_admins",
]

OPML_FILENAME = "trendbot-feeds.opml"
_URL_SHOWN = 300  # a refused URL is echoed cut: a long one would pass Telegram's 4,096 chars

log = logging.getLogger(__name__)


def is_admin(update: Update, settings: Settings) -> bool:
    """Admins are the Telegram user ids in TRENDBOT_ADMINS."""
    user = update.effective_user
    return user is not None and user.id in settings.admins


async def _admin_language(update: Update, context: TrendContext) -> str | None:
    """The admin's language, or None after refusing a user who is not an admin."""
    user = update.effective_user
    language = language_of(user.language_code if user else None)
    if not is_admin(update, context.settings):
        await reply(update, text(language, "admin_only"))
        return None
    return language


async def list_feeds(update: Update, context: TrendContext) -> None:
    """/feeds: every feed with its health."""
    if (language := await _admin_language(update, context)) is None:
        return
    for part in render_feed_list(await context.service.feeds.health(), language):
        await reply(update, part)


async def add_feed(update: Update, context: TrendContext) -> None:
    """/addfeed URL: fetch it once, then add it or say why not."""
    if (language := await _admin_language(update, context)) is None:
        return
    url = " ".join(context.args or []).strip()
    if not url:
        await reply(update, text(language, "addfeed_usage"))
        return
    allow_private = context.settings.allow_private_feeds
    try:
        added = await context.service.feeds.add(url, allow_private=allow_private)
    except TrendbotError as exc:
        reason = escape(str(exc) or exc.key)
        shown = clip(url, _URL_SHOWN, at_word=False)
        await reply(update, text(language, "addfeed_failed", url=escape(shown), reason=reason))
        return
    done = text(
        language,
        "addfeed_listed" if added.already_listed else "addfeed_done",
        title=escape(added.title),
        items=added.items,
        url=escape(added.url),
        id=added.id,
    )
    await reply(update, done)


async def remove_feed(update: Update, context: TrendContext) -> None:
    """/removefeed ID-or-URL: stop polling a feed."""
    if (language := await _admin_language(update, context)) is None:
        return
    query = " ".join(context.args or []).strip()
    if not query:
        await reply(update, text(language, "removefeed_usage"))
        return
    removed = await context.service.feeds.remove(query)
    if removed is None:
        await reply(update, text(language, "removefeed_unknown", query=escape(query)))
        return
    key = "removefeed_already" if removed.already else "removefeed_done"
    await reply(update, text(language, key, url=escape(removed.url), name=escape(removed.name)))


async def import_feeds(update: Update, context: TrendContext) -> None:
    """An .opml or .xml document sent to the bot: import the feeds it lists."""
    if (language := await _admin_language(update, context)) is None:
        return
    message = update.effective_message
    if message is None or message.document is None:
        return
    if (message.document.file_size or 0) > MAX_OPML_BYTES:
        reason = f"larger than {MAX_OPML_BYTES // 1024 // 1024} MB"
        await reply(update, text(language, "opml_failed", reason=reason))
        return
    content = bytes(await (await message.document.get_file()).download_as_bytearray())
    allow_private = context.settings.allow_private_feeds
    try:
        report = await context.service.feeds.import_opml(content, allow_private=allow_private)
    except TrendbotError as exc:
        await reply(update, text(language, "opml_failed", reason=escape(str(exc))))
        return
    for part in render_import(report, language):
        await reply(update, part)


async def export_feeds(update: Update, context: TrendContext) -> None:
    """/exportfeeds: the feeds as an OPML document."""
    if (language := await _admin_language(update, context)) is None:
        return
    service = context.service
    document = await service.feeds.export_opml()
    count = sum(1 for feed in await service.feeds.health() if feed.enabled)
    if update.effective_message is not None:
        await update.effective_message.reply_document(
            InputFile(document, filename=OPML_FILENAME),
            caption=text(language, "opml_exported", count=count),
        )


async def announce_feed_events(
    bot: Bot, service: TrendService, admins: Iterable[int], events: list[FeedEvent]
) -> int:
    """Tell every admin about each feed event; returns how many messages went out."""
    sent = 0
    for event in events:
        sent += await tell_admins(bot, service, admins, functools.partial(render_feed_event, event))
    return sent


async def tell_admins(
    bot: Bot, service: TrendService, admins: Iterable[int], render: Callable[[str], str]
) -> int:
    """Send each admin `render(language)` (HTML) in their chat's language (chosen in
    /settings, else their Telegram app's, English for an admin never seen); returns how
    many messages went out."""
    sent = 0
    for admin in sorted(admins):
        language = await service.subscribers.chat_language(admin) or "en"
        try:
            await bot.send_message(admin, render(language), parse_mode="HTML")
            sent += 1
        except TelegramError as exc:  # an admin who never opened the bot can't be told
            log.warning("could not send admin %s a notice: %s", admin, exc)
    return sent
