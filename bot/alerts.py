"""Instant alerts on Telegram: render one post and send it to the subscriber's chat (or to
the forum topic its trend is routed to). A refused send is logged and dropped: the post
still reaches the chat in its digest, and the digest path handles blocked chats."""

from __future__ import annotations

import logging
from html import escape

from telegram import Bot, LinkPreviewOptions
from telegram.constants import ParseMode
from telegram.error import TelegramError

from bot.messages import text
from trends.store.alerts import DueAlert
from trends.strings import clip
from trends.themes import Themes

__all__ = ["AlertSender", "render_alert"]

log = logging.getLogger(__name__)

_SUMMARY_CHARS = 400


def render_alert(alert: DueAlert, themes: Themes, language: str) -> str:
    """The alert's HTML: trend, linked title, source and summary, every feed string escaped."""
    trend = themes.get(alert.trend)
    name = trend.name(language) if trend else str(alert.trend)
    post = alert.post
    title = f"<b>{escape(post.title)}</b>"
    if post.link:
        title = f'<a href="{escape(post.link, quote=True)}">{title}</a>'
    lines = [
        text(language, "alert_title", number=alert.trend, name=escape(name)),
        title,
        f"<i>{escape(post.source)}, {post.published:%Y-%m-%d}</i>",
    ]
    summary = post.summary.strip()
    if summary and summary != post.title:
        lines.append(escape(clip(summary, _SUMMARY_CHARS + 1)))
    return "\n".join(lines)


class AlertSender:
    def __init__(self, bot: Bot, themes: Themes) -> None:
        self.bot = bot
        self.themes = themes

    async def send(self, alert: DueAlert) -> bool:
        """Send one alert; False when Telegram refused it."""
        try:
            await self.bot.send_message(
                alert.chat_id,
                render_alert(alert, self.themes, alert.language),
                parse_mode=ParseMode.HTML,
                message_thread_id=alert.thread_id,
                link_preview_options=LinkPreviewOptions(is_disabled=not alert.link_previews),
            )
        except TelegramError as exc:
            log.warning("alert to chat %s not sent: %s", alert.chat_id, exc)
            return False
        return True
