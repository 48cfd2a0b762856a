"""Talking to the bot through the fake Bot API: say, press, and read its messages."""

from __future__ import annotations

import re
import struct
from typing import Any

from tests.fakes.bot_api import FakeBotAPI

__all__ = [
    "CHAT",
    "bot_messages",
    "buttons",
    "edited",
    "latest",
    "numbered_titles",
    "png_size",
    "press",
    "say",
]

CHAT = 5151
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def bot_messages(bot_api: FakeBotAPI, chat: int) -> list[dict[str, Any]]:
    """The messages the bot sent to (or has since edited in) `chat`, oldest first."""
    return [
        message
        for (chat_id, _), message in sorted(bot_api.stored_messages.items(), key=lambda i: i[0][1])
        if chat_id == str(chat) and message.get("from", {}).get("is_bot")
    ]


async def say(bot_api: FakeBotAPI, chat: int, text: str, **options: Any) -> dict[str, Any]:
    """Send `text` to the bot and return its reply (the params of its sendMessage)."""
    bot_api.push_text(chat, text, **options)
    return await bot_api.wait_for_message(chat)


async def press(
    bot_api: FakeBotAPI, chat: int, message_id: int, data: str, **options: Any
) -> dict[str, Any]:
    """Press a button and wait for its answer; returns the answerCallbackQuery params."""
    before = len(bot_api.calls_of("answerCallbackQuery"))
    bot_api.push_callback(chat, data, message_id=message_id, **options)
    await bot_api.wait_until(lambda: len(bot_api.calls_of("answerCallbackQuery")) > before)
    return bot_api.calls_of("answerCallbackQuery")[before].params


def buttons(message: dict[str, Any]) -> dict[str, str]:
    """callback_data → label of every button on `message`."""
    markup = message.get("reply_markup") or {}
    return {
        button["callback_data"]: button["text"]
        for row in markup.get("inline_keyboard", [])
        for button in row
    }


def numbered_titles(html: str) -> list[str]:
    """The titles of a page's numbered stories ("1. <a href=…><b>title</b>"), in order."""
    return re.findall(r"^\d+\. <a href=\"[^\"]*\"><b>([^<]*)</b>", html, re.MULTILINE)


def latest(bot_api: FakeBotAPI, chat: int = CHAT) -> dict[str, Any]:
    """The bot's newest message in `chat`, as edits have left it."""
    return bot_messages(bot_api, chat)[-1]


async def edited(bot_api: FakeBotAPI, before: int) -> None:
    """Wait until the bot has edited a message since `before` edits."""
    await bot_api.wait_until(lambda: len(bot_api.calls_of("editMessageText")) > before)


def png_size(data: bytes) -> tuple[int, int]:
    """Width and height from a PNG's IHDR chunk (which must come first)."""
    assert data[:8] == PNG_SIGNATURE, "not a PNG"
    assert data[12:16] == b"IHDR"
    return struct.unpack(">II", data[16:24])
