"""Instant alerts: chosen in /settings, strong posts only, a few an hour, never twice."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from bot.alerts import AlertSender
from jobs.alerts import ALERTS_PER_HOUR, POLICY, send_due_alerts
from tests.conftest import OpenArchive
from tests.fakes.bot_api import FakeBotAPI
from tests.support.archives import COMPUTE, STRONG_PRICING, WEAK_PRICING, desk_archive
from tests.support.bot import running_bot
from tests.support.chat import bot_messages, press, say
from trends.service import TrendService

CHAT, OTHER = 7170, 7171


@pytest.fixture
async def service(archive: OpenArchive) -> TrendService:
    return await archive(desk_archive([*STRONG_PRICING, COMPUTE, WEAK_PRICING], datetime.now(UTC)))


async def choose_alerts(bot_api: FakeBotAPI, chat: int, *trends: int, **options: object) -> None:
    await say(bot_api, chat, "/subscribe", **options)
    await say(bot_api, chat, "/settings", **options)
    message_id = bot_messages(bot_api, chat)[-1]["message_id"]
    await press(bot_api, chat, message_id, "s:go:alerts", **options)
    for number in trends:
        await press(bot_api, chat, message_id, f"s:alert:{number}", **options)


def alerts_in(bot_api: FakeBotAPI, chat: int) -> list[str]:
    return [m["text"] for m in bot_api.messages(chat) if m["text"].startswith("⚡")]


async def test_alerts_are_capped_per_hour_and_never_repeated(
    bot_api: FakeBotAPI, service: TrendService
) -> None:
    now = datetime.now(UTC)
    async with running_bot(bot_api, service) as application:
        await choose_alerts(bot_api, CHAT, 6)
        await say(bot_api, OTHER, "/subscribe")  # subscribed, but no alerts chosen
        send = AlertSender(application.bot, service.themes).send
        first = await send_due_alerts(service, send, now)
        again = await send_due_alerts(service, send, now + timedelta(minutes=1))
        # An hour later the cap has room again, but the rest are no longer "arriving".
        later = await send_due_alerts(service, send, now + timedelta(minutes=61))
    assert (first, again, later) == (ALERTS_PER_HOUR, 0, 0)
    sent = alerts_in(bot_api, CHAT)
    assert len(sent) == ALERTS_PER_HOUR == len(set(sent))
    assert all(text.startswith("⚡ <b>6. Outcome-based pricing</b>") for text in sent)
    assert "per resol" in sent[0]  # the most probable first: an agent paid per resolution
    assert not alerts_in(bot_api, OTHER)


async def test_the_rest_go_out_when_the_hour_has_passed_while_still_fresh(
    bot_api: FakeBotAPI, service: TrendService
) -> None:
    now = datetime.now(UTC)
    patient = replace(POLICY, fresh=timedelta(hours=3))
    async with running_bot(bot_api, service) as application:
        await choose_alerts(bot_api, CHAT, 6, language_code="zh-hans")
        send = AlertSender(application.bot, service.themes).send
        counts = [
            await send_due_alerts(service, send, now, patient),
            await send_due_alerts(service, send, now + timedelta(minutes=30), patient),
            await send_due_alerts(service, send, now + timedelta(minutes=61), patient),
            await send_due_alerts(service, send, now + timedelta(minutes=125), patient),
        ]
    # Five strong posts: three, none while the hour is full, the other two, then nothing.
    assert counts == [3, 0, 2, 0]
    sent = alerts_in(bot_api, CHAT)
    assert len(set(sent)) == 5
    assert all("成果即服务" in text for text in sent)  # the chat's language
    assert not any("roundup" in text for text in sent)  # the weak mention never alerts


async def test_only_chosen_trends_alert_and_a_routed_trend_alerts_in_its_topic(
    bot_api: FakeBotAPI, service: TrendService
) -> None:
    forum, admin, topic = -1004242, 111, 9
    bot_api.set_admins(forum, [admin])
    options = {"user_id": admin, "chat_type": "supergroup"}
    now = datetime.now(UTC)
    async with running_bot(bot_api, service) as application:
        await choose_alerts(bot_api, forum, 4, **options)
        await say(bot_api, forum, "/route 4", message_thread_id=topic, **options)
        sent = await send_due_alerts(
            service, AlertSender(application.bot, service.themes).send, now
        )
    assert sent == 1
    alert = next(m for m in bot_api.messages(forum) if m["text"].startswith("⚡"))
    assert alert["text"].startswith("⚡ <b>4. Compute and the new infrastructure</b>")
    assert alert.get("message_thread_id") == topic
    assert alert["link_preview_options"] == {"is_disabled": True}
