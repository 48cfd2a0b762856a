"""Limits held, not hit: the fake Bot API answers 429 to any send that breaks Telegram's
rates, so a broadcast that gets no 429 kept to them. Times are the fake's arrival times."""

from __future__ import annotations

import asyncio
from itertools import pairwise
from pathlib import Path

import pytest

from bot.broadcast import broadcast
from tests.conftest import OpenArchive
from tests.fakes.bot_api import Call, FakeBotAPI
from tests.support.bot import running_bot
from tests.support.delivery import due_archive, expected_parts, subscribe_daily_now
from trends.service import TrendService

PRIVATE = list(range(7101, 7113))
GROUPS = [-8101, -8102]


@pytest.fixture
async def service(archive: OpenArchive) -> TrendService:
    return await archive(due_archive())


def arrivals(bot_api: FakeBotAPI, chat_id: int) -> list[Call]:
    """Everything sent to a chat, the digest's chart photo and its text parts, in order."""
    return sorted(
        (
            call
            for method in ("sendPhoto", "sendMessage")
            for call in bot_api.calls_of(method)
            if str(call.params["chat_id"]) == str(chat_id)
        ),
        key=lambda call: call.at,
    )


async def test_broadcast_holds_global_and_per_chat_rates_with_chats_in_parallel(
    bot_api: FakeBotAPI, service: TrendService
) -> None:
    bot_api.enforce_limits(global_per_second=10, per_private_chat_per_second=1)
    chats = PRIVATE + GROUPS
    await subscribe_daily_now(service, chats)
    parts = await expected_parts(service)
    async with running_bot(bot_api, service, TRENDBOT_SEND_RATE="10") as application:
        due = await service.digests.current()
        result = await broadcast(application.bot, service, application.bot_data.settings, due)
    assert result.counts == {"sent": len(chats)}
    assert bot_api.too_many_requests == 0
    for chat in chats:
        texts = bot_api.messages(chat, methods=("sendMessage",))
        assert [m["text"] for m in texts] == parts  # all parts, in order
        assert arrivals(bot_api, chat)[0].method == "sendPhoto"  # the chart on top
        times = [call.at for call in arrivals(bot_api, chat)]
        assert all(later - earlier >= 1.0 for earlier, later in pairwise(times))
    # Chats go out side by side: the last chat's first part comes before the first's last.
    assert arrivals(bot_api, chats[-1])[0].at < arrivals(bot_api, chats[0])[-1].at


async def test_a_group_gets_20_a_minute_without_holding_up_other_chats(
    bot_api: FakeBotAPI, tmp_path: Path
) -> None:
    """Takes a minute: the group's 21st message waits for the first to be a minute old."""
    bot_api.enforce_limits()  # Telegram's figures: 30/s, 1/s per chat, 20/min per group
    group, private = GROUPS[0], PRIVATE[0]
    service = await TrendService.open(f"sqlite+aiosqlite:///{tmp_path}/pacing.db")
    try:
        async with running_bot(bot_api, service) as application:
            sends = [application.bot.send_message(group, f"group {n}") for n in range(1, 23)]
            sends += [application.bot.send_message(private, f"private {n}") for n in range(1, 4)]
            await asyncio.gather(*sends)
    finally:
        await service.close()
    assert bot_api.too_many_requests == 0
    to_group = arrivals(bot_api, group)
    assert [call.params["text"] for call in to_group] == [f"group {n}" for n in range(1, 23)]
    assert to_group[20].at - to_group[0].at >= 60.0  # the 21st waited for the minute
    assert arrivals(bot_api, private)[-1].at < to_group[20].at  # the private chat did not
