"""One way to answer a command: HTML, in the chat (and forum topic) it came from."""

from __future__ import annotations

from telegram import InlineKeyboardMarkup, LinkPreviewOptions, Update

__all__ = ["NO_PREVIEWS", "reply"]

NO_PREVIEWS = LinkPreviewOptions(is_disabled=True)


async def reply(
    update: Update,
    html: str,
    keyboard: InlineKeyboardMarkup | None = None,
    *,
    previews: LinkPreviewOptions = NO_PREVIEWS,
) -> None:
    """Reply where the update came from; link previews off unless asked for."""
    if update.effective_message is not None:
        await update.effective_message.reply_html(
            html, reply_markup=keyboard, link_preview_options=previews
        )
