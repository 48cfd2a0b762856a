"""An archive for the /trend, /trends, /search, /digest and feedback tests: twelve
outcome-pricing stories of known ages, an English and a Chinese story to search for."""

from __future__ import annotations

import struct
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from html import escape
from pathlib import Path
from typing import Any

from tests.chat_helpers import bot_messages
from tests.fakes.bot_api import FakeBotAPI
from tests.fakes.feed_server import FeedServer
from tests.test_ingest import write_feeds_file
from trends.service import TrendService

CHAT = 5151
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"

# Twelve trend-6 stories worded apart so dedup keeps each, and how many days old each is:
# six in the last week, eleven in the last 90 days, twelve in all.
PRICING = [
    ("Contact-centre vendor bills per resolved ticket instead of per seat",
     "Its AI agent is priced per resolution, charging only when a support ticket is closed."),
    ("Legal AI firm moves to outcome-based pricing per contract review",
     "Law firms pay per task completed by the AI agent as services-as-software spreads."),
    ("Accounting startup adopts outcome-based pricing for closed books",
     "Bookkeeping is done by an AI agent paid per outcome delivered, replacing per-seat licences."),
    ("Recruiting platform switches to pay-per-outcome per hire",
     "The AI agent sources candidates; the vendor charges per successful hire, not seat-based fees."),
    ("Insurer pays its AI claims agent per resolution",
     "Claims settled by the AI agent are billed one by one in a per-resolution model."),
    ("Logistics broker charges per delivered shipment booked by its AI agent",
     "Freight dispatch agents are paid per outcome: outcome-based pricing for trucking."),
    ("Hospital network buys AI coding of medical records on outcome-based pricing",
     "Each coded chart accepted by the payer is billed; no per-seat licence remains."),
    ("Marketing agency prices its AI agent per qualified lead",
     "Pay-per-outcome lead generation replaces the monthly seat-based SaaS subscription."),
    ("Bank tests outcome-based pricing for AI fraud agents",
     "The vendor is paid per confirmed fraud case caught, services-as-software in finance."),
    ("Tax software maker bills its AI agent per filed return",
     "Outcome-based pricing: customers pay per accepted tax return rather than per user seat."),
    ("Translation service charges per approved document from its AI agent",
     "Per-outcome billing for localisation; seat-based pricing is dropped entirely."),
    ("Utility company pays AI maintenance agents per repaired fault",
     "Field-service agents are paid per resolution, outcome-based pricing for grids."),
]  # fmt: skip
PRICING_AGES = [1, 2, 3, 4, 5, 6, 10, 20, 40, 50, 60, 120]
CHINESE = (
    "多家公司发布 AI 智能体平台",
    "新一代 AI 智能体可以自主调用工具，多个智能体组成集群协同完成复杂任务。",
)


def feed_xml(items: list[tuple[str, str, int]], now: datetime, name: str) -> bytes:
    """An RSS feed of (title, body, days old) items."""
    entries = [
        f"<item><title>{escape(title)}</title><link>https://example.com/{name}/{number}</link>"
        f"<guid>{name}-{number}</guid>"
        f"<pubDate>{format_datetime(now - timedelta(days=days, hours=1))}</pubDate>"
        f"<description>{escape(body)}</description></item>"
        for number, (title, body, days) in enumerate(items, 1)
    ]
    return (
        '<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel>'
        f"<title>{name}</title><link>https://example.com/</link><description>t</description>"
        + "".join(entries)
        + "</channel></rss>"
    ).encode()


@asynccontextmanager
async def open_archive(
    database_url: str, feed_server: FeedServer, tmp_path: Path, *, empty: bool = False
) -> AsyncIterator[TrendService]:
    """A service over the archive above (or over no feeds at all), closed afterwards."""
    feeds_path = None
    if not empty:
        now = datetime.now(UTC)
        pricing = [(t, b, d) for (t, b), d in zip(PRICING, PRICING_AGES, strict=True)]
        feed_server.add_body("/pricing.xml", feed_xml(pricing, now, "pricing"))
        feed_server.add_body("/zh.xml", feed_xml([(*CHINESE, 1)], now, "zh"))
        urls = [feed_server.url("/pricing.xml"), feed_server.url("/zh.xml")]
        feeds_path = write_feeds_file(tmp_path / "feeds.yaml", urls)
    service = await TrendService.open(
        database_url,
        feeds_path=feeds_path,
        allow_private_feeds=True,  # feeds on 127.0.0.1
    )
    try:
        if not empty:
            await service.feeds.poll(only_due=False)
        yield service
    finally:
        await service.close()


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
