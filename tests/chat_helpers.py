"""Helpers for the settings, groups and alerts tests: an archive of fresh posts, button
presses through the fake Bot API, and the bot's own messages in a chat."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from html import escape
from pathlib import Path
from typing import Any

from tests.fakes.bot_api import FakeBotAPI
from tests.fakes.feed_server import FeedServer
from tests.test_ingest import write_feeds_file
from trends.service import TrendService

# (title, body): five strongly tagged trend-6 posts (scores 13–24), one strong trend-4 post
# and one weak trend-6 mention (score 3), each worded apart so dedup keeps them all.
STRONG_PRICING = [
    (
        "Contact-centre vendor bills per resolved ticket instead of per seat",
        "Its AI agent is priced per resolution: outcome-based pricing that charges only when "
        "a ticket is resolved, replacing seat-based licences.",
    ),
    (
        "Legal AI firm moves to outcome-based pricing per contract review",
        "Customers pay per task completed by the AI agent, not per seat, as "
        "services-as-software spreads through law firms.",
    ),
    (
        "Accounting startup adopts outcome-based pricing for closed books",
        "The AI agent does the bookkeeping and is paid per outcome delivered under "
        "outcome-based pricing, replacing per-seat SaaS licences and seat-based fees.",
    ),
    (
        "Recruiting platform switches to outcome-based pricing per hire",
        "Pay-per-outcome: the AI agent sources candidates and the vendor charges per "
        "successful hire instead of per-seat fees, services-as-software for HR.",
    ),
    (
        "Insurer pays its AI claims agent per resolution",
        "Outcome-based pricing reaches insurance: the AI agent is paid per claim settled, a "
        "per-resolution model replacing per-seat SaaS fees.",
    ),
]
COMPUTE = (
    "Hyperscaler signs gigawatt data centre deal for AI GPUs",
    "The AI data center will house 500,000 Nvidia GPUs and draw a gigawatt from a new "
    "nuclear power purchase agreement, as compute capex climbs.",
)
WEAK_PRICING = (
    "This week in AI: a roundup",
    "Models, chips, and a note that outcome-based pricing is discussed.",
)


def feed_xml(items: list[tuple[str, str]], now: datetime, name: str = "Desk") -> bytes:
    """An RSS feed of `items`, published in the last hours before `now`."""
    entries = []
    for number, (title, body) in enumerate(items, 1):
        date = format_datetime(now - timedelta(hours=number))
        entries.append(
            f"<item><title>{escape(title)}</title><link>https://example.com/{name}/{number}</link>"
            f"<guid>{name}-{number}</guid><pubDate>{date}</pubDate>"
            f"<description>{escape(body)}</description></item>"
        )
    return (
        '<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel>'
        f"<title>{name}</title><link>https://example.com/</link><description>t</description>"
        + "".join(entries)
        + "</channel></rss>"
    ).encode()


async def open_archive(
    database_url: str,
    feed_server: FeedServer,
    tmp_path: Path,
    items: list[tuple[str, str]],
) -> TrendService:
    """A service whose archive holds `items`, fetched now."""
    feed_server.add_body("/desk.xml", feed_xml(items, datetime.now(UTC)))
    feeds = write_feeds_file(tmp_path / "feeds.yaml", [feed_server.url("/desk.xml")])
    service = await TrendService.open(
        database_url,
        feeds_path=feeds,
        allow_private_feeds=True,  # feeds on 127.0.0.1
    )
    await service.feeds.poll(only_due=False)
    return service


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
