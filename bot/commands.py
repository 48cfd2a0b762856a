"""Command handlers: parse, call the service, render, reply. Nothing else lives here.

The archive's commands (/trend, /trends, /search, /digest) are in `bot.archive`.
"""

from __future__ import annotations

import logging

from telegram import Update
from telegram.constants import ParseMode

from bot.admin import is_admin
from bot.chat import language_for, may_change_settings, telegram_language
from bot.context import TrendContext
from bot.messages import text
from bot.replies import reply

__all__ = [
    "help_command",
    "on_error",
    "start",
    "subscribe",
    "unknown",
    "unsubscribe",
]

log = logging.getLogger(__name__)


async def start(update: Update, context: TrendContext) -> None:
    """Welcome: what the bot does and how to use it."""
    await reply(update, text(await language_for(update, context), "start"))


async def help_command(update: Update, context: TrendContext) -> None:
    """List the commands."""
    language = await language_for(update, context)
    help_text = text(language, "help")
    if is_admin(update, context.settings):  # others are refused them anyway
        help_text += "\n\n" + text(language, "help_admin")
    await reply(update, help_text)


async def subscribe(update: Update, context: TrendContext) -> None:
    """Subscribe this chat to the weekly digest."""
    chat, language = update.effective_chat, await language_for(update, context)
    if chat is None:
        return
    if not await may_change_settings(update, context):
        await reply(update, text(language, "settings_admins_only"))
        return
    service = context.service
    changed = await service.subscribers.subscribe(
        chat.id, chat.type, title=chat.title, language=language
    )
    # The chat's own schedule (it may have chosen one in /settings first), not the defaults.
    settings = await service.subscribers.settings(chat.id)
    assert settings is not None  # just subscribed
    schedule = text(
        language,
        f"schedule_{settings.cadence}",
        day=text(language, f"weekday_{settings.digest_day}"),
        hour=settings.digest_hour,
    )
    key = "subscribed" if changed else "already_subscribed"
    # The date of the first digest, in the chat's zone: what the scheduler will keep to.
    first = ""
    if (slot := service.digests.next_slot(settings)) is not None:
        day = text(language, f"weekday_{slot.weekday()}")
        first = text(language, f"{key}_next", date=f"{slot:%Y-%m-%d}", day=day)
    await reply(
        update, text(language, key, schedule=schedule, timezone=settings.timezone, next=first)
    )


async def unsubscribe(update: Update, context: TrendContext) -> None:
    """Stop this chat's digests."""
    chat, language = update.effective_chat, await language_for(update, context)
    if chat is None:
        return
    if not await may_change_settings(update, context):
        await reply(update, text(language, "settings_admins_only"))
        return
    stopped = await context.service.subscribers.unsubscribe(chat.id)
    await reply(update, text(language, "unsubscribed" if stopped else "not_subscribed"))


async def unknown(update: Update, context: TrendContext) -> None:
    """Unknown commands and plain text in a private chat get a pointer to /help.

    In groups and channels only commands addressed to this bot (/cmd@bot) get one: the
    others may be meant for another bot in the same chat.
    """
    message, chat = update.effective_message, update.effective_chat
    if message is None or chat is None:
        return
    command = (message.text or "").split(maxsplit=1)[0] if message.text else ""
    mine = command.lower().endswith(f"@{context.bot.username}".lower())
    if chat.type != "private" and not mine:
        return
    key = "unknown_command" if command.startswith("/") else "unknown_text"
    await reply(update, text(await language_for(update, context), key))


async def on_error(update: object, context: TrendContext) -> None:
    """Log every handler failure once, and tell the user something went wrong."""
    log.error("handler failed", exc_info=context.error)
    if isinstance(update, Update) and update.effective_message is not None:
        await update.effective_message.reply_text(
            text(telegram_language(update), "error"), parse_mode=ParseMode.HTML
        )
