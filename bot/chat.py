"""Who is speaking, in which chat: the reply language and the right to change settings.

Every handler asks here, so a language picked in /settings applies to every reply, and
the group-admin rule is the same for /settings, its buttons, /timezone, /route and
/subscribe.
"""

from __future__ import annotations

from telegram import Update
from telegram.constants import ChatMemberStatus, ChatType

from bot.context import TrendContext
from bot.messages import language_of
from trends.service import TrendService

__all__ = ["language_for", "may_change_settings", "telegram_language", "topic_of"]

_ADMINS = (ChatMemberStatus.ADMINISTRATOR, ChatMemberStatus.OWNER)


def telegram_language(update: Update) -> str:
    """The user's Telegram language (English when there is no user, as in channels)."""
    user = update.effective_user
    return language_of(user.language_code if user else None)


async def language_for(update: Update, context: TrendContext) -> str:
    """The language the chat picked in /settings, else the user's Telegram language."""
    chat = update.effective_chat
    if chat is not None:
        service: TrendService = context.service
        if chosen := await service.subscribers.chosen_language(chat.id):
            return chosen
    return telegram_language(update)


async def may_change_settings(update: Update, context: TrendContext) -> bool:
    """Anyone in a private chat; in a group or channel, only its administrators."""
    chat = update.effective_chat
    if chat is None:
        return False
    if chat.type == ChatType.PRIVATE:
        return True
    # Only a channel's admins can post in it, and an anonymous group admin posts as the
    # group itself: both speak for the chat.
    if update.channel_post is not None:
        return True
    message = update.message
    if message is not None and message.sender_chat is not None:
        return message.sender_chat.id == chat.id
    user = update.effective_user
    if user is None:
        return False
    member = await context.bot.get_chat_member(chat.id, user.id)
    return member.status in _ADMINS


def topic_of(update: Update) -> int | None:
    """The forum topic (thread id) a message was sent in, or None."""
    message = update.effective_message
    if message is None or not message.is_topic_message:
        return None
    return message.message_thread_id
