"""/settings through the real Application and the fake Bot API: buttons, in place edits,
both languages, and settings that outlive the service."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from tests.conftest import OpenArchive
from tests.fakes.bot_api import FakeBotAPI
from tests.support.archives import COMPUTE, STRONG_PRICING, desk_archive
from tests.support.bot import running_bot
from tests.support.chat import bot_messages, buttons, press, say
from trends.service import TrendService

CHAT = 5150


@pytest.fixture
async def service(archive: OpenArchive) -> TrendService:
    return await archive(desk_archive([*STRONG_PRICING, COMPUTE], datetime.now(UTC)))


async def open_settings(bot_api: FakeBotAPI, **options: object) -> tuple[int, dict]:
    """Send /settings; (message id, message) of the settings screen."""
    await say(bot_api, CHAT, "/settings", **options)
    message = bot_messages(bot_api, CHAT)[-1]
    return message["message_id"], message


def screen(bot_api: FakeBotAPI, message_id: int) -> dict:
    return bot_api.stored_messages[(str(CHAT), message_id)]


async def test_settings_shows_the_defaults_with_buttons(
    bot_api: FakeBotAPI, service: TrendService
) -> None:
    async with running_bot(bot_api, service):
        _, message = await open_settings(bot_api)
    assert "Digest: weekly, Monday at 09:00 (UTC)" in message["text"]
    assert "Trends: all ten" in message["text"]
    assert "Not subscribed yet" in message["text"]
    assert {"s:go:trends", "s:go:schedule", "s:go:zone", "s:go:language", "s:go:alerts"} <= set(
        buttons(message)
    )


async def test_chinese_user_gets_chinese_settings_and_trend_names(
    bot_api: FakeBotAPI, service: TrendService
) -> None:
    async with running_bot(bot_api, service):
        message_id, message = await open_settings(bot_api, language_code="zh-hans")
        assert "简报：每周" in message["text"] and "跟随 Telegram" in message["text"]
        await press(bot_api, CHAT, message_id, "s:go:trends", language_code="zh-hans")
    labels = buttons(screen(bot_api, message_id))
    assert labels["s:trend:6"] == "✅ 6. 成果即服务：按结果付费"
    assert labels["s:go:main"] == "« 返回"


async def test_unfollowing_a_trend_drops_its_section_from_the_next_digest(
    bot_api: FakeBotAPI, service: TrendService
) -> None:
    async with running_bot(bot_api, service):
        await say(bot_api, CHAT, "/subscribe")
        message_id, _ = await open_settings(bot_api)
        await press(bot_api, CHAT, message_id, "s:go:trends")
        answer = await press(bot_api, CHAT, message_id, "s:trend:6")
    shown = screen(bot_api, message_id)
    assert answer["text"] == "No longer following 6. Outcome-based pricing"
    assert shown["text"].startswith("✅ No longer following 6. Outcome-based pricing")
    assert buttons(shown)["s:trend:6"] == "6. Outcome-based pricing"  # tick gone
    settings = await service.subscribers.settings(CHAT)
    assert settings is not None and 6 not in settings.trends
    digest = await service.digests.build(trends=list(settings.trends))
    numbers = [section.trend.number for section in digest.sections if section.stories]
    assert 6 not in numbers and 4 in numbers  # outcome pricing is gone; compute stays


async def test_following_again_brings_the_section_back(
    bot_api: FakeBotAPI, service: TrendService
) -> None:
    async with running_bot(bot_api, service):
        message_id, _ = await open_settings(bot_api)
        await press(bot_api, CHAT, message_id, "s:trend:6")
        await press(bot_api, CHAT, message_id, "s:trend:4")
        answer = await press(bot_api, CHAT, message_id, "s:trend:6")
    assert answer["text"] == "Following 6. Outcome-based pricing"
    settings = await service.subscribers.settings(CHAT)
    assert settings is not None
    digest = await service.digests.build(trends=list(settings.trends))
    assert [s.trend.number for s in digest.sections if s.stories] == [6]


async def test_every_press_is_answered_and_a_press_that_changes_nothing_edits_nothing(
    bot_api: FakeBotAPI, service: TrendService
) -> None:
    async with running_bot(bot_api, service):
        message_id, _ = await open_settings(bot_api)
        await press(bot_api, CHAT, message_id, "s:go:schedule")
        edits = len(bot_api.calls_of("editMessageText"))
        answer = await press(bot_api, CHAT, message_id, "s:cadence:weekly")  # already weekly
        assert answer["text"] == "Already set."
        assert len(bot_api.calls_of("editMessageText")) == edits
        answer = await press(bot_api, CHAT, message_id, "s:bogus:1")
        assert answer["text"] == "That option is not available."
    presses = 3
    assert len(bot_api.calls_of("answerCallbackQuery")) == presses


async def test_daily_cadence_at_seven_makes_the_daily_digest_due(
    bot_api: FakeBotAPI, service: TrendService
) -> None:
    # The first 07:00 after the chat subscribes, whatever hour the test runs at: a slot
    # before the subscription is never owed, one after it stays due until it is sent.
    now = datetime.now(UTC)
    first_slot = now.replace(hour=7, minute=0, second=0, microsecond=0)
    if first_slot <= now:
        first_slot += timedelta(days=1)
    at_seven_thirty = first_slot + timedelta(minutes=30)
    async with running_bot(bot_api, service):
        await say(bot_api, CHAT, "/subscribe")
        assert not [d for d in await service.digests.due(at_seven_thirty) if d.key[:5] == "daily"]
        message_id, _ = await open_settings(bot_api)
        await press(bot_api, CHAT, message_id, "s:go:schedule")
        assert "s:day:0" in buttons(screen(bot_api, message_id))  # weekly: days shown
        await press(bot_api, CHAT, message_id, "s:cadence:daily")
        assert "s:day:0" not in buttons(screen(bot_api, message_id))  # daily: no days
        answer = await press(bot_api, CHAT, message_id, "s:hour:7")
    assert answer["text"] == "Digest time: 07:00"
    assert "Digest: daily at 07:00 (UTC)" in screen(bot_api, message_id)["text"]
    due = await service.digests.due(at_seven_thirty)
    assert [d.key for d in due] == [f"daily:{at_seven_thirty:%Y-%m-%d}T07"]
    assert not await service.digests.due(first_slot - timedelta(minutes=30))
    # Missed at 07:00, it is still owed the next morning before that day's slot.
    missed = await service.digests.due(first_slot + timedelta(hours=23))
    assert [d.key for d in missed] == [f"daily:{first_slot:%Y-%m-%d}T07"]


async def test_cadence_off_sends_nothing(bot_api: FakeBotAPI, service: TrendService) -> None:
    async with running_bot(bot_api, service):
        await say(bot_api, CHAT, "/subscribe")
        message_id, _ = await open_settings(bot_api)
        await press(bot_api, CHAT, message_id, "s:cadence:off")
    assert "Digest: off" in screen(bot_api, message_id)["text"]
    assert not await service.digests.due(datetime.now(UTC) + timedelta(days=8))


@pytest.mark.parametrize("data", ["s:hour:²", "s:trend:³", "s:hour:99999999999999999999"])
async def test_forged_settings_buttons_change_nothing_and_break_nothing(
    bot_api: FakeBotAPI, service: TrendService, data: str
) -> None:
    async with running_bot(bot_api, service):
        message_id, shown = await open_settings(bot_api)
        await press(bot_api, CHAT, message_id, data)
        # The bot still answers, and nothing went wrong on its side.
        after = await say(bot_api, CHAT, "/settings")
    assert screen(bot_api, message_id)["text"] == shown["text"]
    assert "Something went wrong" not in after["text"]
    assert after["text"] == shown["text"]
