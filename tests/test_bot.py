"""The real Application, driven by real updates through the fake Bot API on 127.0.0.1."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest

from bot.app import BOT_COMMANDS
from tests.conftest import MONDAY_BEFORE_THE_SLOT, OpenArchive
from tests.fakes.bot_api import FakeBotAPI
from tests.fakes.feed_server import FeedServer
from tests.support.archives import pricing_desk_feed
from tests.support.bot import next_weekly_slot, running_bot, send_digests_now
from trends.service import TrendService

CHAT = 4242


@pytest.fixture
async def service(
    archive: OpenArchive, feed_server: FeedServer, clock_now: datetime
) -> TrendService:
    """A service whose archive holds real corpus feeds and a fresh outcome-pricing feed."""
    return await archive(
        {"/pricing.xml": pricing_desk_feed(clock_now)},
        urls=[
            feed_server.url("/feeds/openai_research_fulltext_2026-08-18.rss.xml"),
            feed_server.url("/feeds/anthropic_news_fulltext_2026-08-14.rss.xml"),
        ],
    )


def text_of(message: dict) -> str:
    """A message's text, or a photo's caption (/trends answers with a chart)."""
    return str(message.get("text") or message.get("caption") or "")


async def ask(bot_api: FakeBotAPI, text: str, **options: object) -> str:
    bot_api.push_text(CHAT, text, **options)
    reply = await bot_api.wait_for_message(CHAT)
    assert reply.get("parse_mode") == "HTML"
    return text_of(reply)


async def test_start_welcomes_and_commands_are_registered(
    bot_api: FakeBotAPI, service: TrendService
) -> None:
    async with running_bot(bot_api, service):
        reply = await ask(bot_api, "/start")
    assert "trendbot" in reply and "/trend 6" in reply and "/subscribe" in reply
    registered = bot_api.calls_of("setMyCommands")
    assert registered, "the bot must register its command list"
    names = {command["command"] for command in registered[0].params["commands"]}
    assert names == {name for name, _ in BOT_COMMANDS}


async def test_trend_6_lists_outcome_pricing_posts_with_summaries(
    bot_api: FakeBotAPI, service: TrendService
) -> None:
    async with running_bot(bot_api, service):
        reply = await ask(bot_api, "/trend 6")
    assert reply.startswith("<b>6. Outcome-based pricing</b>")
    assert "per resolved ticket" in reply
    assert 'href="https://example.com/per-resolution"' in reply
    assert "customers pay only for tickets" in reply  # the summary, not just the title
    why = next(line for line in reply.splitlines() if line.startswith("<i>Why this trend:"))
    assert "per resolved ticket" in why or "outcome-based pricing" in why  # the matched terms
    assert "Pricing Desk" in reply or "Feed 2" in reply  # the source


@pytest.mark.parametrize(
    "command",
    ["/trend 0", "/trend 11", "/trend abc", "/trend"],
    ids=["zero", "eleven", "word", "bare"],
)
async def test_bad_trend_arguments_get_the_list_of_ten(
    bot_api: FakeBotAPI, service: TrendService, command: str
) -> None:
    async with running_bot(bot_api, service):
        reply = await ask(bot_api, command)
    assert "/trend N" in reply
    for number in range(1, 11):
        assert re.search(rf"^{number}\. \S", reply, re.MULTILINE), f"trend {number} not listed"
    if command != "/trend":
        assert command.split()[1] in reply  # says what it did not understand


async def test_trends_shows_this_weeks_counts(bot_api: FakeBotAPI, service: TrendService) -> None:
    async with running_bot(bot_api, service):
        reply = await ask(bot_api, "/trends")
    line = next(line for line in reply.splitlines() if line.startswith("6. "))
    assert "<b>2</b>" in line  # the two fresh pricing posts


async def test_chinese_users_get_chinese_replies(
    bot_api: FakeBotAPI, service: TrendService
) -> None:
    async with running_bot(bot_api, service):
        reply = await ask(bot_api, "/trend 6", language_code="zh-hans")
    assert "成果即服务" in reply and "最新" in reply


async def test_feed_text_is_escaped(bot_api: FakeBotAPI, service: TrendService) -> None:
    async with running_bot(bot_api, service):
        reply = await ask(bot_api, "/trend 6")
    # Only our own tags remain: every < from a feed arrives as &lt;.
    assert set(re.findall(r"</?([a-z]+)", reply)) <= {"b", "a", "i", "code"}


@pytest.mark.parametrize(
    "clock_now",
    [
        MONDAY_BEFORE_THE_SLOT,  # the slot is hours away, that same morning
        datetime(2027, 6, 17, 18, 0, tzinfo=UTC),  # a Thursday evening, months later
        datetime(2027, 10, 31, 23, 59, tzinfo=UTC),  # a Sunday night, as Europe's clocks went back
    ],
    indirect=True,
)
async def test_subscribe_then_the_weekly_digest_arrives_exactly_once(
    bot_api: FakeBotAPI, service: TrendService, clock_now: datetime
) -> None:
    async with running_bot(bot_api, service):
        reply = await ask(bot_api, "/subscribe")
    # Time passes to the Monday 09:00 UTC that /subscribe named: not a minute before, then once.
    next_monday = next_weekly_slot(clock_now)
    assert (
        "Subscribed. Your digest arrives every Monday at 09:00 (UTC), "
        f"the first on Monday {next_monday:%Y-%m-%d}." in reply
    )
    assert await send_digests_now(bot_api, service, next_monday - timedelta(minutes=10)) == {}
    before = len(bot_api.messages(CHAT))
    assert await send_digests_now(bot_api, service, next_monday) == {"sent": 1}
    digest = [text_of(m) for m in bot_api.messages(CHAT)[before:]]
    assert digest and "weekly digest" in digest[0]
    assert "<b>6. Outcome-based pricing</b>" in "\n".join(digest)
    assert all(len(part) <= 4096 for part in digest)
    # The tick runs again (and again after a restart): the ledger sends nothing twice.
    assert await send_digests_now(bot_api, service, next_monday + timedelta(minutes=1)) == {}
    assert len(bot_api.messages(CHAT)) == before + len(digest)


async def test_unsubscribe_stops_digests(
    bot_api: FakeBotAPI, service: TrendService, clock_now: datetime
) -> None:
    async with running_bot(bot_api, service):
        await ask(bot_api, "/subscribe")
        reply = await ask(bot_api, "/unsubscribe")
    assert "Unsubscribed" in reply
    now = clock_now + timedelta(days=8)
    before = len(bot_api.messages(CHAT))
    assert await send_digests_now(bot_api, service, now) == {}
    assert len(bot_api.messages(CHAT)) == before


async def test_unknown_command_gets_help(bot_api: FakeBotAPI, service: TrendService) -> None:
    async with running_bot(bot_api, service):
        reply = await ask(bot_api, "/trned 6")
    assert "/help" in reply


@pytest.mark.parametrize(
    ("language_code", "wrong", "admin_heading"),
    [("en", "/wrong POST TREND", "Admin commands"), ("zh-hans", "/wrong 文章编号", "管理员命令")],
)
async def test_help_lists_wrong_and_shows_admin_commands_only_to_admins(
    bot_api: FakeBotAPI, service: TrendService, language_code: str, wrong: str, admin_heading: str
) -> None:
    async with running_bot(bot_api, service, TRENDBOT_ADMINS="1"):
        reader = await ask(bot_api, "/help", language_code=language_code)
    async with running_bot(bot_api, service, TRENDBOT_ADMINS=str(CHAT)):
        admin = await ask(bot_api, "/help", language_code=language_code)
    assert wrong in reader and wrong in admin
    assert admin_heading not in reader and "/addfeed" not in reader
    assert admin_heading in admin
    for command in ("/feeds", "/addfeed", "/removefeed", "/exportfeeds", "/stats", "/feedback"):
        assert command in admin, command
