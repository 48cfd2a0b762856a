"""Readers' "wrong trend?" answers, and /feedback, where admins read them.

On a /trend page each post has a ✗ button. A digest can hold dozens of stories, so instead of
a button per story each names a command, /wrong_<post>_<trend>, that one tap sends; typing
/wrong <post> [trend] works too.
"""

from __future__ import annotations

from telegram import Update

from bot.admin import is_admin
from bot.chat import language_for
from bot.context import TrendContext
from bot.messages import text
from bot.numbers import parse_count
from bot.paging import WrongButton, parse_button
from bot.render import render_feedback
from bot.replies import reply
from trends.services.archive import FeedbackOutcome

__all__ = ["feedback_command", "wrong_button", "wrong_command", "wrong_link"]

WRONG_LINK = r"^/wrong_(\d{1,12})_(\d{1,2})(@\w+)?$"
_ANSWER = {
    "recorded": "feedback_thanks",
    "repeat": "feedback_repeat",
    "unknown": "feedback_unknown",
}


async def wrong_button(update: Update, context: TrendContext) -> None:
    """✗ under a /trend page: store the answer and confirm it with a toast."""
    query = update.callback_query
    if query is None:
        return
    language = await language_for(update, context)
    button = parse_button(query.data)
    if not isinstance(button, WrongButton):
        await query.answer(text(language, "feedback_unknown"))
        return
    if context.service.themes.get(button.trend) is None:  # forged: no such trend
        await query.answer(text(language, "feedback_unknown"))
        return
    outcome = await _record(update, context, button.post_id, button.trend)
    await query.answer(text(language, _ANSWER[outcome], number=button.trend))


async def wrong_link(update: Update, context: TrendContext) -> None:
    """/wrong_<post>_<trend>, as printed under each story of a digest."""
    match = context.matches[0] if context.matches else None
    if match is not None:
        await _answer(update, context, int(match.group(1)), int(match.group(2)))


async def wrong_command(update: Update, context: TrendContext) -> None:
    """/wrong <post> [trend]: without a trend, the post's strongest one."""
    args = context.args or []
    language = await language_for(update, context)
    numbers = [parse_count(arg) for arg in args]
    if not 1 <= len(numbers) <= 2 or None in numbers:
        await reply(update, text(language, "wrong_usage"))
        return
    post_id = numbers[0] or 0
    if len(numbers) == 2:
        trend = numbers[1] or 0
    else:
        post = await context.service.archive.post(post_id)
        trend = post.trends[0].trend if post and post.trends else 0
    await _answer(update, context, post_id, trend)


async def feedback_command(update: Update, context: TrendContext) -> None:
    """/feedback, for admins: the most flagged posts, their trend and the matched terms."""
    language = await language_for(update, context)
    if not is_admin(update, context.settings):
        await reply(update, text(language, "feedback_admins_only"))
        return
    archive = context.service.archive
    entries = await archive.feedback_report()
    for part in render_feedback(entries, language):
        await reply(update, part)
    flags = await archive.flags_to_learn()
    if flags:
        await reply(update, text(language, "feedback_to_learn", count=flags))


async def _answer(update: Update, context: TrendContext, post_id: int, trend: int) -> None:
    language = await language_for(update, context)
    if context.service.themes.get(trend) is None:
        await reply(update, text(language, "wrong_usage"))
        return
    outcome = await _record(update, context, post_id, trend)
    await reply(update, text(language, _ANSWER[outcome], number=trend))


async def _record(
    update: Update, context: TrendContext, post_id: int, trend: int
) -> FeedbackOutcome:
    chat, user = update.effective_chat, update.effective_user
    return await context.service.archive.record_feedback(
        post_id, trend, chat_id=chat.id if chat else 0, user_id=user.id if user else None
    )
