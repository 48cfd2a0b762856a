"""Archive handlers: /trend with its page buttons, /trends with its chart, /search, /digest,
/story N (every outlet's report of one story).

Each parses, calls the service, renders and replies; a page button edits its own message
in place, and every button press is answered so the client stops its spinner.
"""

from __future__ import annotations

import asyncio
import re
from html import escape

from telegram import InlineKeyboardMarkup, LinkPreviewOptions, Update
from telegram.constants import ParseMode
from telegram.error import BadRequest

from bot.chart import digest_chart, trends_chart
from bot.chat import language_for
from bot.context import TrendContext
from bot.messages import text
from bot.paging import (
    PAGE_SIZE,
    PERIODS,
    SearchButton,
    TrendButton,
    fit_query,
    parse_button,
    search_keyboard,
    trend_choices_keyboard,
    trend_keyboard,
)
from bot.render import (
    MAX_CAPTION_CHARS,
    render_digest,
    render_search_page,
    render_story,
    render_trend_choices,
    render_trend_page,
    render_trends_overview,
)
from bot.replies import NO_PREVIEWS, reply
from trends.models import Trend
from trends.service import TrendService
from trends.services.archive import searched_words

__all__ = [
    "STORY_LINK",
    "digest_now",
    "page_button",
    "search",
    "story",
    "story_link",
    "trend",
    "trends_overview",
]

STORY_LINK = r"^/story_(\d{1,12})(@\w+)?$"  # as printed next to each story
_PERIOD = re.compile(r"(\d+)d")
_PERIOD_LIKE = re.compile(r"\d+[a-z]+")  # 1y, 2w: a period, not a trend's name


async def trend(update: Update, context: TrendContext) -> None:
    """/trend N [7d|30d|90d]: a trend's newest posts, five a page, with ◀ ▶ and ✗ buttons."""
    service, language = context.service, await language_for(update, context)
    if period := _unknown_period(context.args or []):
        await reply(update, text(language, "trend_unknown_period", period=escape(period)))
        return
    words, days = _period_of(context.args or [])
    found = service.themes.find(" ".join(words)) if words and days is not None else None
    if found is None or days is None:
        query = " ".join(context.args or []) or None
        choices = render_trend_choices(service.themes.trends, language, query=query)
        await reply(update, choices, trend_choices_keyboard(service.themes.trends, language))
        return
    html, keyboard = await _trend_reply(service, found, days, 0, language)
    await reply(update, html, keyboard)


async def trends_overview(update: Update, context: TrendContext) -> None:
    """/trends: each trend this week against last (▲ ▼), on a chart of twelve weeks."""
    service, language = context.service, await language_for(update, context)
    history = await service.archive.weekly_history()
    trends = service.themes.trends
    overview = render_trends_overview(
        trends, history.this_week(), history.last_week(), language, chart_weeks=history.weeks
    )
    # matplotlib takes a few hundred milliseconds: off the event loop.
    png = await asyncio.to_thread(trends_chart, trends, history.counts, history.week_starts())
    await _send_chart(update, png, overview)


async def search(update: Update, context: TrendContext) -> None:
    """/search words: stories whose title or summary has every word, newest first."""
    service, language = context.service, await language_for(update, context)
    query = " ".join(context.args or [])
    if not query:
        await reply(update, text(language, "search_usage"))
        return
    if not searched_words(query):
        await reply(update, text(language, "search_too_short"))
        return
    asked = {word.lower() for word in query.split()}
    words = searched_words(fit_query(query))  # the page buttons carry the query
    query = " ".join(words)
    page = await service.archive.search(query, limit=PAGE_SIZE)
    keyboard = search_keyboard(query, offset=0, total=page.total)
    found = render_search_page(page, language)
    if len(words) < len(asked):  # too many words, or too long for a page button
        cut = text(language, "search_cut", count=len(words), query=escape(query))
        found = f"{cut}\n{found}"
    await reply(update, found, keyboard)


async def story(update: Update, context: TrendContext) -> None:
    """/story N: every member of story N (any member's post id finds it too)."""
    args = context.args or []
    if len(args) != 1 or not args[0].isdecimal() or len(args[0]) > 12:
        await reply(update, text(await language_for(update, context), "story_usage"))
        return
    await _story_reply(update, context, int(args[0]))


async def story_link(update: Update, context: TrendContext) -> None:
    """/story_N, the tappable form digests and /trend print next to each story."""
    match = context.matches[0] if context.matches else None
    if match is not None:
        await _story_reply(update, context, int(match.group(1)))


async def _story_reply(update: Update, context: TrendContext, story_id: int) -> None:
    language = await language_for(update, context)
    found = await context.service.archive.story(story_id)
    if found is None:
        await reply(update, text(language, "story_unknown", story=story_id))
        return
    for part in render_story(found, language):
        await reply(update, part)


async def digest_now(update: Update, context: TrendContext) -> None:
    """/digest: this chat's digest now, with the chart on top.

    A subscribed chat reads its followed trends with its link-preview choice; anyone else
    reads all ten, previews off.
    """
    service, chat = context.service, update.effective_chat
    if chat is None:
        return
    language = await language_for(update, context)
    chosen = await service.subscribers.settings(chat.id)
    reader = chosen if chosen is not None and chosen.subscribed else None
    built = await service.digests.build(trends=list(reader.trends) if reader else None)
    parts = render_digest(built, language)
    if not built.is_empty:
        png = await asyncio.to_thread(digest_chart, built)
        await _send_chart(update, png, parts.caption)
    previews = LinkPreviewOptions(is_disabled=not (reader and reader.link_previews))
    for part in parts:
        await reply(update, part, previews=previews)


async def page_button(update: Update, context: TrendContext) -> None:
    """◀ ▶ on /trend and /search, and the ten trend buttons: the page, edited in place."""
    query = update.callback_query
    if query is None:
        return
    await query.answer()
    service, language = context.service, await language_for(update, context)
    button = parse_button(query.data)
    if isinstance(button, TrendButton) and (found := service.themes.get(button.trend)):
        days = button.days if button.days in PERIODS else 0
        html, keyboard = await _trend_reply(service, found, days, button.offset, language)
    elif isinstance(button, SearchButton) and searched_words(button.query):
        page = await service.archive.search(button.query, limit=PAGE_SIZE, offset=button.offset)
        keyboard = search_keyboard(button.query, offset=button.offset, total=page.total)
        html = render_search_page(page, language)
    else:  # a button of an older format: show the ten to start again
        html = render_trend_choices(service.themes.trends, language, query=None)
        keyboard = trend_choices_keyboard(service.themes.trends, language)
    try:
        await query.edit_message_text(
            html,
            parse_mode=ParseMode.HTML,
            reply_markup=keyboard,
            link_preview_options=NO_PREVIEWS,
        )
    except BadRequest as exc:
        if "not modified" not in str(exc).lower():  # a double tap shows the same page
            raise


async def _trend_reply(
    service: TrendService, found: Trend, days: int, offset: int, language: str
) -> tuple[str, InlineKeyboardMarkup | None]:
    page = await service.archive.trend_page(
        found, limit=PAGE_SIZE, offset=offset, days=days or None
    )
    suggest = None
    if days and not page.posts and offset == 0:
        suggest = await _period_with_posts(service, found, days)
    html = render_trend_page(page, language, days=days or None, suggest=suggest)
    keyboard = trend_keyboard(found, page.posts, days=days, offset=offset, total=page.total)
    return html, keyboard


async def _send_chart(update: Update, png: bytes, html: str) -> None:
    """The chart with `html` as its caption, or after it when too long for a caption."""
    message = update.effective_message
    if message is None:
        return
    if len(html) <= MAX_CAPTION_CHARS:  # HTML is never shorter than the text it shows
        await message.reply_photo(png, caption=html, parse_mode=ParseMode.HTML)
        return
    await message.reply_photo(png)
    await reply(update, html)


async def _period_with_posts(service: TrendService, trend: Trend, days: int) -> int | None:
    """The shortest period longer than `days` with posts on `trend`; 0 for all time; None."""
    for longer in [*(p for p in PERIODS if p > days), 0]:
        if (await service.archive.trend_page(trend, limit=1, days=longer or None)).total:
            return longer
    return None


def _unknown_period(args: list[str]) -> str | None:
    """A word that looks like a period we don't offer ("1y", "2w", "5d"), if any."""
    return next(
        (
            arg
            for arg in args
            if _PERIOD_LIKE.fullmatch(arg.lower())
            and not ((match := _PERIOD.fullmatch(arg.lower())) and int(match.group(1)) in PERIODS)
        ),
        None,
    )


def _period_of(args: list[str]) -> tuple[list[str], int | None]:
    """The words naming a trend, and the period in days (0: all time; None: not one we offer)."""
    words, days = [], 0
    for arg in args:
        if match := _PERIOD.fullmatch(arg.lower()):
            days = int(match.group(1)) if int(match.group(1)) in PERIODS else -1
        else:
            words.append(arg)
    return words, (days if days >= 0 else None)
