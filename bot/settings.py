"""/settings with its buttons, /timezone and /route: parse, call the service, render, reply.

Every button press is answered (Telegram shows a spinner until it is) and confirmed by
editing the settings message in place; a press that changes nothing edits nothing, since
Telegram refuses an edit to identical content.
"""

from __future__ import annotations

from html import escape

from telegram import CallbackQuery, InlineKeyboardMarkup, Update
from telegram.constants import ChatType, ParseMode
from telegram.error import BadRequest

from bot.chat import language_for, may_change_settings, telegram_language, topic_of
from bot.context import TrendContext
from bot.keyboards import describe_change, digest_line, parse_button, settings_screen
from bot.messages import text
from bot.render import to_terminal
from trends.models import Trend
from trends.preferences import ChatSettings, InvalidSetting, SettingsChange
from trends.service import TrendService

__all__ = ["route_command", "settings_button", "settings_command", "timezone_command"]

_GROUPS = (ChatType.GROUP, ChatType.SUPERGROUP)


async def settings_command(update: Update, context: TrendContext) -> None:
    """/settings: the settings screen, with buttons."""
    message, language = update.effective_message, await language_for(update, context)
    if message is None or not await _allowed(update, context, language):
        return
    settings = await _ensure(update, context)
    body, markup = _screen(update, context, settings, language, "main")
    await message.reply_html(body, reply_markup=markup, disable_web_page_preview=True)


async def settings_button(update: Update, context: TrendContext) -> None:
    """A press on a /settings button: make the change, then show it in place."""
    query = update.callback_query
    if query is None:
        return
    language, toast = await language_for(update, context), None
    try:
        parsed = parse_button(query.data or "")
        if parsed is None or update.effective_chat is None:
            toast = text(language, "settings_invalid")
            return
        if not await may_change_settings(update, context):
            toast = text(language, "settings_admins_only")
            return
        screen, change = parsed
        settings, notice = await _ensure(update, context), None
        if change is not None:
            result = await _change(context, settings.chat_id, change)
            if result is None:
                toast = text(language, "settings_invalid")
                return
            settings, changed = result
            if not changed:
                toast = text(language, "settings_unchanged")
                return
            # After a language switch, the confirmation already speaks the new language.
            language = settings.language or language
            notice = describe_change(change, settings, context.service.themes.trends, language)
            toast = notice
        body, markup = _screen(update, context, settings, language, screen, notice=notice)
        await _edit(query, body, markup)
    finally:
        await query.answer(_plain(toast) if toast else None)


async def timezone_command(update: Update, context: TrendContext) -> None:
    """/timezone Area/City: set the digest's time zone (any IANA name)."""
    message, language = update.effective_message, await language_for(update, context)
    if message is None or not await _allowed(update, context, language):
        return
    settings = await _ensure(update, context)
    zone = " ".join(context.args or []).strip()
    if not zone:
        reply = text(language, "timezone_usage", timezone=escape(settings.timezone))
    else:
        result = await _change(context, settings.chat_id, SettingsChange("timezone", zone))
        if result is None:
            reply = text(language, "bad_timezone", zone=escape(zone[:64]))
        else:
            settings = result[0]
            reply = text(
                language,
                "timezone_set",
                timezone=escape(settings.timezone),
                digest=digest_line(settings, language),
            )
    await message.reply_html(reply)


async def route_command(update: Update, context: TrendContext) -> None:
    """/route N inside a forum topic: trend N's posts go to that topic; /route off [N] undoes."""
    chat, message = update.effective_chat, update.effective_message
    language = await language_for(update, context)
    if chat is None or message is None:
        return
    if chat.type not in _GROUPS or not chat.is_forum:
        await message.reply_html(text(language, "route_forum_only"))
        return
    if not await _allowed(update, context, language):
        return
    service, settings = context.service, await _ensure(update, context)
    args = [arg for arg in context.args or [] if arg]
    clearing = bool(args) and args[0].lower() in ("off", "clear", "none")
    query = " ".join(args[1:] if clearing else args)
    trend = service.themes.find(query) if query else None
    if query and trend is None:
        reply = text(language, "route_unknown", query=escape(query[:40]))
    elif clearing:
        dropped = await service.subscribers.clear_route(
            settings.subscriber_id, trend.number if trend else None
        )
        reply = _route_cleared(trend, dropped, language)
    elif trend is None:
        reply = await _route_list(service, settings, language)
    elif (thread := topic_of(update)) is None:
        reply = text(language, "route_in_topic", number=trend.number)
    else:
        await service.subscribers.set_route(settings.subscriber_id, trend.number, thread)
        name = escape(trend.name(language))
        reply = text(language, "route_set", number=trend.number, name=name)
        if not settings.subscribed:
            reply += "\n" + text(language, "route_subscribe_hint")
    await message.reply_html(reply)


def _route_cleared(trend: Trend | None, dropped: int, language: str) -> str:
    if trend is None:
        return text(language, "route_cleared_all" if dropped else "route_none")
    values = {"number": trend.number, "name": escape(trend.name(language))}
    return text(language, "route_cleared" if dropped else "route_not_routed", **values)


async def _route_list(service: TrendService, settings: ChatSettings, language: str) -> str:
    routes = (await service.subscribers.topic_routes([settings.subscriber_id])).get(
        settings.subscriber_id
    )
    if not routes:
        return text(language, "route_none") + "\n" + text(language, "route_usage")
    lines = [text(language, "route_list_header")]
    for number, thread in sorted(routes.items()):
        trend = service.themes.get(number)
        name = escape(trend.name(language)) if trend else str(number)
        lines.append(text(language, "route_list_line", number=number, name=name, thread=thread))
    return "\n".join([*lines, text(language, "route_usage")])


async def _allowed(update: Update, context: TrendContext, language: str) -> bool:
    """True for admins (and anyone in a private chat); others get a polite refusal."""
    if await may_change_settings(update, context):
        return True
    if update.effective_message is not None:
        await update.effective_message.reply_html(text(language, "settings_admins_only"))
    return False


async def _ensure(update: Update, context: TrendContext) -> ChatSettings:
    chat = update.effective_chat
    assert chat is not None
    return await context.service.subscribers.ensure_settings(
        chat.id, chat.type, title=chat.title, language=telegram_language(update)
    )


async def _change(
    context: TrendContext, chat_id: int, change: SettingsChange
) -> tuple[ChatSettings, bool] | None:
    try:
        return await context.service.subscribers.change_settings(chat_id, change)
    except InvalidSetting:
        return None


def _screen(
    update: Update,
    context: TrendContext,
    settings: ChatSettings,
    language: str,
    screen: str,
    *,
    notice: str | None = None,
) -> tuple[str, InlineKeyboardMarkup]:
    chat = update.effective_chat
    title = chat.title if chat is not None and chat.type != ChatType.PRIVATE else None
    trends = context.service.themes.trends
    return settings_screen(settings, trends, language, screen, notice=notice, chat_title=title)


async def _edit(query: CallbackQuery, body: str, markup: InlineKeyboardMarkup) -> None:
    try:
        await query.edit_message_text(
            body, parse_mode=ParseMode.HTML, reply_markup=markup, disable_web_page_preview=True
        )
    except BadRequest as exc:
        # Two quick presses on the same button: the second asks for what is already shown.
        if "not modified" not in str(exc).lower():
            raise


def _plain(html: str) -> str:
    """Toasts are plain text, at most 200 characters."""
    return to_terminal(html)[:200]
