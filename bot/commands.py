"""Command handlers: parse, call the service, render, reply. Nothing else lives here.

The archive's commands (/trend, /trends, /search, /digest) are in `bot.archive`.
"""

from __future__ import annotations

import logging

from telegram import Update
from telegram.constants import ParseMode
from telegram.ext import ContextTypes

from bot.chat import language_for, may_change_settings, telegram_language
from bot.messages import text
from bot.stats import is_admin
from trends.service import TrendService

__all__ = [
    "help_command",
    "on_error",
    "start",
    "subscribe",
    "unknown",
    "unsubscribe",
]

log = logging.getLogger(__name__)


def service_of(context: ContextTypes.DEFAULT_TYPE) -> TrendService:
    return context.bot_data["service"]


async def _reply(update: Update, html: str) -> None:
    if update.effective_message is not None:
        await update.effective_message.reply_html(html, disable_web_page_preview=True)


async def start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Welcome: what the bot does and how to use it."""
    await _reply(update, text(await language_for(update, context), "start"))


async def help_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """List the commands."""
    language = await language_for(update, context)
    reply = text(language, "help")
    if is_admin(update, context.bot_data["settings"]):  # others are refused them anyway
        reply += "\n\n" + text(language, "help_admin")
    await _reply(update, reply)


async def subscribe(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Subscribe this chat to the weekly digest."""
    chat, language = update.effective_chat, await language_for(update, context)
    if chat is None:
        return
    if not await may_change_settings(update, context):
        await _reply(update, text(language, "settings_admins_only"))
        return
    service = service_of(context)
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
    await _reply(update, text(language, key, schedule=schedule, timezone=settings.timezone))


async def unsubscribe(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Stop this chat's digests."""
    chat, language = update.effective_chat, await language_for(update, context)
    if chat is None:
        return
    if not await may_change_settings(update, context):
        await _reply(update, text(language, "settings_admins_only"))
        return
    stopped = await service_of(context).subscribers.unsubscribe(chat.id)
    await _reply(update, text(language, "unsubscribed" if stopped else "not_subscribed"))


async def unknown(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
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
    await _reply(update, text(await language_for(update, context), key))


async def on_error(update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Log every handler failure once, and tell the user something went wrong."""
    log.error("handler failed", exc_info=context.error)
    if isinstance(update, Update) and update.effective_message is not None:
        await update.effective_message.reply_text(
            text(telegram_language(update), "error"), parse_mode=ParseMode.HTML
        )
