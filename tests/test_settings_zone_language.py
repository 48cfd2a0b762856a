"""/settings time zone and language, /timezone, and settings that survive a restart."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from tests.conftest import OpenArchive
from tests.fakes.bot_api import FakeBotAPI
from tests.support.archives import STRONG_PRICING, desk_archive
from tests.support.bot import running_bot, send_digests_now
from tests.support.chat import bot_messages, buttons, press, say
from trends.preferences import SettingsChange
from trends.service import TrendService

CHAT = 6160


@pytest.fixture
async def service(archive: OpenArchive, clock_now: datetime) -> TrendService:
    return await archive(desk_archive(STRONG_PRICING[:1], clock_now))


async def settings_message(bot_api: FakeBotAPI, **options: object) -> int:
    await say(bot_api, CHAT, "/settings", **options)
    return bot_messages(bot_api, CHAT)[-1]["message_id"]


def shown(bot_api: FakeBotAPI, message_id: int) -> str:
    return bot_api.stored_messages[(str(CHAT), message_id)]["text"]


async def test_time_zone_button_moves_the_digest_to_local_time(
    bot_api: FakeBotAPI, service: TrendService, clock_now: datetime
) -> None:
    async with running_bot(bot_api, service):
        await say(bot_api, CHAT, "/subscribe")
        message_id = await settings_message(bot_api)
        await press(bot_api, CHAT, message_id, "s:go:zone")
        labels = buttons(bot_api.stored_messages[(str(CHAT), message_id)])
        assert labels["s:timezone:UTC"] == "✅ UTC" and "s:timezone:Asia/Shanghai" in labels
        answer = await press(bot_api, CHAT, message_id, "s:timezone:Asia/Shanghai")
    assert answer["text"] == "Time zone: Asia/Shanghai"
    assert "Time zone</b>: Asia/Shanghai" in shown(bot_api, message_id)
    # Monday 09:00 in Shanghai is Monday 01:00 UTC: half an hour after the clock's 00:30.
    monday = clock_now.replace(hour=0, minute=0)
    assert not await service.digests.due(monday.replace(hour=0, minute=55))
    assert len(await service.digests.due(monday.replace(hour=1, minute=5))) == 1


@pytest.mark.parametrize(
    ("clock_now", "slot_utc"),
    [
        # A winter Monday: 09:00 in London is 09:00 UTC.
        (datetime(2026, 12, 7, 0, 30, tzinfo=UTC), datetime(2026, 12, 7, 9, tzinfo=UTC)),
        # The Saturday before the clocks go forward: that Monday's 09:00 BST is 08:00 UTC.
        (datetime(2027, 3, 27, 12, tzinfo=UTC), datetime(2027, 3, 29, 8, tzinfo=UTC)),
    ],
    indirect=["clock_now"],
)
async def test_a_london_digest_follows_the_clocks_across_summer_time(
    bot_api: FakeBotAPI, service: TrendService, clock_now: datetime, slot_utc: datetime
) -> None:
    async with running_bot(bot_api, service):
        await say(bot_api, CHAT, "/subscribe")
        reply = await say(bot_api, CHAT, "/timezone Europe/London")
        again = await say(bot_api, CHAT, "/subscribe", language_code="zh")
    assert "Monday at 09:00 (Europe/London)" in reply["text"]
    assert f"每周一 09:00送达（Europe/London），下一期 {slot_utc:%Y-%m-%d}（周一）" in again["text"]
    minutes = timedelta(minutes=5)
    assert not await service.digests.due(slot_utc - minutes)
    (due,) = await service.digests.due(slot_utc + minutes)
    assert due.slot == slot_utc
    assert await send_digests_now(bot_api, service, slot_utc + minutes) == {"sent": 1}
    assert "Outcome-based pricing" in "\n".join(
        m.get("text", "") for m in bot_messages(bot_api, CHAT)
    )


async def test_timezone_command_accepts_any_iana_zone(
    bot_api: FakeBotAPI, service: TrendService
) -> None:
    async with running_bot(bot_api, service):
        reply = await say(bot_api, CHAT, "/timezone america/argentina/buenos_aires")
        usage = await say(bot_api, CHAT, "/timezone")
    assert reply["text"].startswith("Time zone set to America/Argentina/Buenos_Aires.")
    assert "Monday at 09:00 (America/Argentina/Buenos_Aires)" in reply["text"]
    assert "Your time zone is America/Argentina/Buenos_Aires" in usage["text"]
    settings = await service.subscribers.settings(CHAT)
    assert settings is not None and settings.timezone == "America/Argentina/Buenos_Aires"


@pytest.mark.parametrize("zone", ["Mars/Olympus_Mons", "../../etc/passwd", "+08:00"])
async def test_a_bad_time_zone_is_refused_and_nothing_changes(
    bot_api: FakeBotAPI, service: TrendService, zone: str
) -> None:
    async with running_bot(bot_api, service):
        reply = await say(bot_api, CHAT, f"/timezone {zone}")
        reply_zh = await say(bot_api, CHAT, f"/timezone {zone}", language_code="zh")
    assert f"I don't know the time zone “{zone}”" in reply["text"]
    assert "/timezone Europe/Berlin" in reply["text"]
    assert f"无法识别时区“{zone}”" in reply_zh["text"]
    settings = await service.subscribers.settings(CHAT)
    assert settings is not None and settings.timezone == "UTC"


async def test_picking_a_language_changes_every_reply(
    bot_api: FakeBotAPI, service: TrendService
) -> None:
    async with running_bot(bot_api, service):
        before = await say(bot_api, CHAT, "/help")  # a Telegram "en" user
        message_id = await settings_message(bot_api)
        await press(bot_api, CHAT, message_id, "s:go:language")
        answer = await press(bot_api, CHAT, message_id, "s:language:zh")
        after = await say(bot_api, CHAT, "/help")
        trend = await say(bot_api, CHAT, "/trend 6")
        unknown = await say(bot_api, CHAT, "hello there")
    assert "/settings" in before["text"] and "<b>Commands</b>" in before["text"]
    assert answer["text"] == "语言：中文"
    assert shown(bot_api, message_id).startswith("✅ 语言：中文")  # confirmed in the new language
    assert "<b>命令</b>" in after["text"] and "/settings" in after["text"]
    assert "成果即服务" in trend["text"]
    assert "/help" in unknown["text"] and "我通过命令工作" in unknown["text"]


async def test_chinese_telegram_user_can_pick_english(
    bot_api: FakeBotAPI, service: TrendService
) -> None:
    async with running_bot(bot_api, service):
        start = await say(bot_api, CHAT, "/start", language_code="zh-hans")
        message_id = await settings_message(bot_api, language_code="zh-hans")
        await press(bot_api, CHAT, message_id, "s:language:en", language_code="zh-hans")
        start_after = await say(bot_api, CHAT, "/start", language_code="zh-hans")
    assert "/settings" in start["text"] and "你好" in start["text"]
    assert start_after["text"].startswith("<b>Hi, I'm trendbot.</b>")


async def test_settings_survive_reopening_the_service(
    bot_api: FakeBotAPI, database_url: str, service: TrendService
) -> None:
    async with running_bot(bot_api, service):
        message_id = await settings_message(bot_api)
        for data in ("s:trend:3", "s:cadence:daily", "s:hour:18", "s:language:zh", "s:alert:6"):
            await press(bot_api, CHAT, message_id, data)
        await say(bot_api, CHAT, "/timezone Europe/Berlin")
    before = await service.subscribers.settings(CHAT)
    reopened = await TrendService.open(database_url)
    try:
        after = await reopened.subscribers.settings(CHAT)
        async with running_bot(bot_api, reopened):
            message_id = await settings_message(bot_api)
    finally:
        await reopened.close()
    assert after == before and after is not None
    assert 3 not in after.trends and after.alert_trends == (6,)
    assert (after.cadence, after.digest_hour, after.timezone) == ("daily", 18, "Europe/Berlin")
    assert "简报：每天 18:00（Europe/Berlin）" in shown(bot_api, message_id)


async def test_unknown_command_and_plain_text_get_short_help_in_both_languages(
    bot_api: FakeBotAPI, service: TrendService
) -> None:
    async with running_bot(bot_api, service):
        command = await say(bot_api, CHAT, "/sttings")
        command_zh = await say(bot_api, CHAT, "/sttings", language_code="zh-hans")
        plain_zh = await say(bot_api, CHAT, "你好", language_code="zh-hans")
    assert "/help" in command["text"] and "don't know" in command["text"]
    assert "/help" in command_zh["text"] and "我不认识这个命令" in command_zh["text"]
    assert "/settings" in plain_zh["text"]


@pytest.mark.parametrize(
    ("language_code", "daily", "weekly"),
    [
        ("en", "every day at 07:00 (Asia/Shanghai)", "every Wednesday at 07:00 (Asia/Shanghai)"),
        ("zh-hans", "每天 07:00送达（Asia/Shanghai）", "每周三 07:00送达（Asia/Shanghai）"),
    ],
)
async def test_subscribe_states_the_schedule_the_chat_chose(
    bot_api: FakeBotAPI, service: TrendService, language_code: str, daily: str, weekly: str
) -> None:
    await service.subscribers.ensure_settings(CHAT, "private")
    for change in (SettingsChange("cadence", "daily"), SettingsChange("hour", 7)):
        await service.subscribers.change_settings(CHAT, change)
    async with running_bot(bot_api, service):
        await say(bot_api, CHAT, "/timezone Asia/Shanghai", language_code=language_code)
        first = (await say(bot_api, CHAT, "/subscribe", language_code=language_code))["text"]
        for change in (SettingsChange("cadence", "weekly"), SettingsChange("day", 2)):
            await service.subscribers.change_settings(CHAT, change)
        again = (await say(bot_api, CHAT, "/subscribe", language_code=language_code))["text"]
    assert daily in first and "Monday" not in first and "UTC" not in first
    assert weekly in again
