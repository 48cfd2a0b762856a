"""Groups, channels and forum topics: admins only, channel posts, and /route."""

from __future__ import annotations

from datetime import datetime

import pytest

from tests.conftest import OpenArchive
from tests.fakes.bot_api import FakeBotAPI
from tests.support.archives import COMPUTE, STRONG_PRICING, desk_archive
from tests.support.bot import next_weekly_slot, running_bot, send_digests_now
from tests.support.chat import bot_messages, press, say
from trends.service import TrendService

GROUP = -1001234
FORUM = -1005555
CHANNEL = -1009999
ADMIN, MEMBER = 111, 222
TOPIC = 77


@pytest.fixture
async def service(archive: OpenArchive, clock_now: datetime) -> TrendService:
    return await archive(desk_archive([*STRONG_PRICING, COMPUTE], clock_now))


def in_group(chat: int, user: int, **options: object) -> dict:
    return {"user_id": user, "chat_type": "supergroup", **options}


def forum_topic(bot_api: FakeBotAPI) -> dict:
    """FORUM made a forum with ADMIN as its admin; options for ADMIN writing in TOPIC."""
    bot_api.set_admins(FORUM, [ADMIN])
    bot_api.chat(FORUM, "supergroup")["is_forum"] = True
    return in_group(FORUM, ADMIN, message_thread_id=TOPIC)


async def test_a_non_admin_is_refused_and_an_admin_changes_settings(
    bot_api: FakeBotAPI, service: TrendService
) -> None:
    bot_api.set_admins(GROUP, [ADMIN])
    async with running_bot(bot_api, service):
        refused = await say(bot_api, GROUP, "/settings", **in_group(GROUP, MEMBER))
        refused_sub = await say(bot_api, GROUP, "/subscribe", **in_group(GROUP, MEMBER))
        opened = await say(bot_api, GROUP, "/settings", **in_group(GROUP, ADMIN))
        message_id = bot_messages(bot_api, GROUP)[-1]["message_id"]
        answer = await press(
            bot_api, GROUP, message_id, "s:cadence:daily", user_id=MEMBER, chat_type="supergroup"
        )
        unchanged = await service.subscribers.settings(GROUP)
        allowed = await press(
            bot_api, GROUP, message_id, "s:cadence:daily", user_id=ADMIN, chat_type="supergroup"
        )
        subscribed = await say(bot_api, GROUP, "/subscribe", **in_group(GROUP, ADMIN))
    assert "Only this chat's admins" in refused["text"]
    assert "Only this chat's admins" in refused_sub["text"]
    assert answer["text"] == "Only this chat's admins can change its settings."
    assert unchanged is not None and unchanged.cadence == "weekly"
    assert allowed["text"] == "Digest: daily"
    assert "<b>Settings for Chat -1001234</b>" in opened["text"]
    assert subscribed["text"].startswith("Subscribed")
    settings = await service.subscribers.settings(GROUP)
    assert settings is not None and settings.cadence == "daily" and settings.subscribed


async def test_a_channel_subscribes_with_a_channel_post(
    bot_api: FakeBotAPI, service: TrendService
) -> None:
    async with running_bot(bot_api, service):
        reply = await say(bot_api, CHANNEL, "/subscribe", chat_type="channel")
        timezone = await say(bot_api, CHANNEL, "/timezone Asia/Tokyo")
    assert reply["text"].startswith("Subscribed")
    assert timezone["text"].startswith("Time zone set to Asia/Tokyo")
    settings = await service.subscribers.settings(CHANNEL)
    assert settings is not None and settings.subscribed and settings.chat_type == "channel"


async def test_other_bots_commands_in_a_group_are_left_alone(
    bot_api: FakeBotAPI, service: TrendService
) -> None:
    async with running_bot(bot_api, service):
        bot_api.push_text(GROUP, "/weather", **in_group(GROUP, MEMBER))
        mine = await say(bot_api, GROUP, "/wether@fake_bot", **in_group(GROUP, MEMBER))
    assert "/help" in mine["text"]
    assert len(bot_messages(bot_api, GROUP)) == 1  # nothing said about /weather


async def test_route_in_a_forum_topic_sends_that_trends_section_there(
    bot_api: FakeBotAPI, service: TrendService, clock_now: datetime
) -> None:
    topic = forum_topic(bot_api)
    async with running_bot(bot_api, service):
        outside = await say(bot_api, FORUM, "/route 6", **in_group(FORUM, ADMIN))
        refused = await say(bot_api, FORUM, "/route 6", **in_group(FORUM, MEMBER))
        routed = await say(bot_api, FORUM, "/route pricing", **topic)
        listed = await say(bot_api, FORUM, "/route", **topic)
        await say(bot_api, FORUM, "/subscribe", **topic)
    assert "inside the topic" in outside["text"]
    assert "Only this chat's admins" in refused["text"]
    assert routed["text"].startswith("Trend 6. Outcome-based pricing now goes to this topic.")
    assert routed.get("message_thread_id") == TOPIC
    assert "6. Outcome-based pricing → topic 77" in listed["text"]

    next_monday = next_weekly_slot(clock_now)
    before = len(bot_api.messages(FORUM))
    assert (await send_digests_now(bot_api, service, next_monday))["sent"] == 2
    sent = bot_api.messages(FORUM)[before:]
    # The scheduler's path opens the chat's own digest with its chart (a photo, captioned).
    charts = [m.get("message_thread_id") for m in sent if "photo" in m]
    assert charts == [None]
    texts = [(m.get("message_thread_id"), m.get("text", m.get("caption", ""))) for m in sent]
    in_topic = "\n".join(text for thread, text in texts if thread == TOPIC)
    in_chat = "\n".join(text for thread, text in texts if thread is None)
    assert "<b>6. Outcome-based pricing</b>" in in_topic and "Compute" not in in_topic
    assert "<b>4. Compute and the new infrastructure</b>" in in_chat
    assert "Outcome-based pricing" not in in_chat
    # The tick again: the deliveries are in the ledger, nothing goes twice.
    assert await send_digests_now(bot_api, service, next_monday) == {}
    assert len(bot_api.messages(FORUM)) == before + len(sent)


async def test_a_topic_part_that_failed_is_sent_with_the_next_run(
    bot_api: FakeBotAPI, service: TrendService, clock_now: datetime
) -> None:
    topic = forum_topic(bot_api)
    async with running_bot(bot_api, service):
        await say(bot_api, FORUM, "/route pricing", **topic)
        await say(bot_api, FORUM, "/subscribe", **topic)
    next_monday = next_weekly_slot(clock_now)
    bot_api.fail_next(
        "sendMessage", 400, "Bad Request: wrong topic", chat_id=FORUM, thread_id=TOPIC
    )
    before = len(bot_api.messages(FORUM))
    assert await send_digests_now(bot_api, service, next_monday) == {"sent": 1, "failed": 1}
    first = bot_api.messages(FORUM)[before:]
    assert first and all(m.get("message_thread_id") is None for m in first)
    # The next tick sends the topic its part, and the chat's own digest not again.
    assert await send_digests_now(bot_api, service, next_monday) == {"sent": 1, "skipped": 1}
    second = bot_api.messages(FORUM)[before + len(first) :]
    assert second and all(m.get("message_thread_id") == TOPIC for m in second)
    assert "<b>6. Outcome-based pricing</b>" in "\n".join(m["text"] for m in second)
    assert await send_digests_now(bot_api, service, next_monday) == {}


async def test_route_off_sends_the_trend_back_to_the_main_chat(
    bot_api: FakeBotAPI, service: TrendService
) -> None:
    bot_api.set_admins(FORUM, [ADMIN])
    topic = in_group(FORUM, ADMIN, message_thread_id=TOPIC)
    async with running_bot(bot_api, service):
        await say(bot_api, FORUM, "/route 6", **topic)
        cleared = await say(bot_api, FORUM, "/route off 6", **topic)
        again = await say(bot_api, FORUM, "/route off 6", **topic, language_code="zh")
        plain_group = await say(bot_api, GROUP, "/route 6", **in_group(GROUP, ADMIN))
    assert cleared["text"] == "Trend 6. Outcome-based pricing goes to the main chat again."
    assert "原本就没有指定话题" in again["text"]
    assert "forum groups" in plain_group["text"]
    settings = await service.subscribers.settings(FORUM)
    assert settings is not None
    assert await service.subscribers.topic_routes([settings.subscriber_id]) == {}
