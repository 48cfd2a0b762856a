"""Every answer Telegram can give a digest, through the real Application and the fake Bot API."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest

from bot.broadcast import BroadcastResult, broadcast
from bot.deliver import DEACTIVATE_AFTER_FAILURES, MAX_ATTEMPTS
from tests.fakes.bot_api import FakeBotAPI
from tests.support.bot import running_bot
from tests.support.delivery import deliveries, subscribe, subscriber
from trends.delivery.ledger import Ledger
from trends.service import TrendService

CHAT, OTHER, GROUP, SUPERGROUP, ADMIN = 5001, 5002, -7001, -1007001, 9001


@pytest.fixture
async def service(database_url: str) -> AsyncIterator[TrendService]:
    """An empty archive: every digest is one short part ("a quiet week")."""
    service = await TrendService.open(database_url)
    yield service
    await service.close()


async def run_broadcast(
    bot_api: FakeBotAPI, service: TrendService, now: datetime | None = None, **settings: object
) -> BroadcastResult:
    """One broadcast of the current digests, as `trendbot digest --send-now` runs it."""
    async with running_bot(bot_api, service, **settings) as application:
        due = await service.digests.current(now)
        config = application.bot_data.settings
        return await broadcast(application.bot, service, config, due, backoff=0.01)


def sends_to(bot_api: FakeBotAPI, chat_id: int) -> list:
    return [c for c in bot_api.calls_of("sendMessage") if str(c.params["chat_id"]) == str(chat_id)]


async def test_429_waits_retry_after_and_pauses_only_that_chat(
    bot_api: FakeBotAPI, service: TrendService
) -> None:
    await subscribe(service, [CHAT, OTHER])
    bot_api.fail_next(
        "sendMessage", 429, "Too Many Requests: retry after 2", retry_after=2, chat_id=CHAT
    )
    result = await run_broadcast(bot_api, service)
    assert result.counts == {"sent": 2}
    assert len(bot_api.messages(CHAT)) == 1 and len(bot_api.messages(OTHER)) == 1
    refused, accepted = sends_to(bot_api, CHAT)
    assert accepted.params["text"] == refused.params["text"]  # the same message, again
    assert accepted.at - refused.at >= 2.0  # retry_after was honoured
    assert sends_to(bot_api, OTHER)[0].at < accepted.at  # the other chat did not wait


@pytest.mark.parametrize("status", [500, 502, 503], ids=["500", "502", "503"])
async def test_server_error_then_success_delivers_once(
    bot_api: FakeBotAPI, service: TrendService, status: int
) -> None:
    await subscribe(service, [CHAT])
    bot_api.fail_next("sendMessage", status, "Internal Server Error", chat_id=CHAT, times=2)
    result = await run_broadcast(bot_api, service)
    assert result.counts == {"sent": 1}
    assert len(sends_to(bot_api, CHAT)) == 3
    assert len(bot_api.messages(CHAT)) == 1


async def test_server_errors_are_retried_a_bounded_number_of_times(
    bot_api: FakeBotAPI, service: TrendService
) -> None:
    await subscribe(service, [CHAT])
    bot_api.fail_next("sendMessage", 502, "Bad Gateway", chat_id=CHAT, times=100)
    result = await run_broadcast(bot_api, service)
    assert result.counts == {"failed": 1}
    assert len(sends_to(bot_api, CHAT)) == MAX_ATTEMPTS
    [row] = await deliveries(service)
    assert row.state == "failed" and row.attempts == 1 and "Bad Gateway" in (row.last_error or "")
    assert (await subscriber(service, row.subscriber_id)).active  # not the chat's fault


def _block(bot_api: FakeBotAPI, how: str) -> None:
    if how == "blocked":
        bot_api.block_chat(CHAT)
    else:
        bot_api.fail_next("sendMessage", 400, "Bad Request: chat not found", chat_id=CHAT, times=99)


@pytest.mark.parametrize("how", ["blocked", "chat not found"])
async def test_refusing_chat_is_deactivated_after_the_documented_count_not_before(
    bot_api: FakeBotAPI, service: TrendService, how: str
) -> None:
    await subscribe(service, [CHAT])
    _block(bot_api, how)
    for run in range(1, DEACTIVATE_AFTER_FAILURES + 1):
        result = await run_broadcast(bot_api, service)
        row = await subscriber(service, 1)
        if run < DEACTIVATE_AFTER_FAILURES:
            assert result.counts == {"failed": 1} and row.active, f"deactivated after {run}"
        else:
            assert result.counts == {"deactivated": 1} and not row.active
    calls = len(sends_to(bot_api, CHAT))
    assert (await run_broadcast(bot_api, service)).counts == {}  # no longer a subscriber
    assert len(sends_to(bot_api, CHAT)) == calls


async def test_a_success_resets_the_refusal_count(
    bot_api: FakeBotAPI, service: TrendService
) -> None:
    await subscribe(service, [CHAT])
    bot_api.block_chat(CHAT)
    for _ in range(DEACTIVATE_AFTER_FAILURES - 1):
        await run_broadcast(bot_api, service)
    bot_api.blocked.clear()  # the user unblocked the bot
    assert (await run_broadcast(bot_api, service)).counts == {"sent": 1}
    assert (await subscriber(service, 1)).consecutive_failures == 0


async def test_a_refusal_then_a_success_in_one_broadcast_resets_the_count(
    service: TrendService,
) -> None:
    """A forum group's topic refused, its main chat accepted, in the same broadcast: the
    success ends the run of refusals even though the chat had none when the run began."""
    await subscribe(service, [GROUP])
    ledger = Ledger(service.db)
    topic, main = await ledger.claim(1, "week@77"), await ledger.claim(1, "week")
    assert topic is not None and main is not None
    await ledger.refusal(1, "Forbidden: bot was kicked", DEACTIVATE_AFTER_FAILURES)
    assert (await subscriber(service, 1)).consecutive_failures == 1
    await ledger.sent(main[0], 1, 1, reset_failures=False)  # none as the broadcast began
    assert (await subscriber(service, 1)).consecutive_failures == 0


async def test_migrated_group_moves_and_gets_the_digest_at_its_new_id(
    bot_api: FakeBotAPI, service: TrendService
) -> None:
    await subscribe(service, [GROUP])
    bot_api.migrate_chat(GROUP, SUPERGROUP)
    assert (await run_broadcast(bot_api, service)).counts == {"sent": 1}
    assert len(bot_api.messages(SUPERGROUP)) == 1 and bot_api.messages(GROUP) == []
    assert (await subscriber(service, 1)).chat_id == SUPERGROUP
    # Next week's digest goes straight to the new id.
    before = len(sends_to(bot_api, GROUP))
    next_week = datetime.now(UTC) + timedelta(days=7)
    assert (await run_broadcast(bot_api, service, next_week)).counts == {"sent": 1}
    assert len(sends_to(bot_api, GROUP)) == before
    assert len(bot_api.messages(SUPERGROUP)) == 2


@pytest.mark.parametrize(
    "error",
    [
        'Bad Request: can\'t parse entities: Unsupported start tag "x" at byte offset 7',
        "Bad Request: message is too long",
    ],
    ids=["cant-parse-entities", "too-long"],
)
async def test_rejected_html_falls_back_to_plain_text(
    bot_api: FakeBotAPI, service: TrendService, error: str
) -> None:
    await subscribe(service, [CHAT])
    bot_api.fail_next("sendMessage", 400, error, chat_id=CHAT)
    assert (await run_broadcast(bot_api, service)).counts == {"sent": 1}
    [message] = bot_api.messages(CHAT)
    assert "parse_mode" not in message
    assert message["text"].startswith("trendbot weekly digest")  # the digest, without tags
    assert "<b>" not in message["text"]


async def test_paid_broadcast_mode_asks_for_paid_delivery(
    bot_api: FakeBotAPI, service: TrendService
) -> None:
    await subscribe(service, [CHAT])
    await run_broadcast(bot_api, service, TRENDBOT_PAID_BROADCAST="1")
    [message] = bot_api.messages(CHAT)
    assert message.get("allow_paid_broadcast") is True


async def test_admins_get_a_report_and_stats_show_the_broadcast(
    bot_api: FakeBotAPI, service: TrendService
) -> None:
    await subscribe(service, [CHAT, OTHER])
    bot_api.block_chat(OTHER)
    await run_broadcast(bot_api, service, TRENDBOT_ADMINS=str(ADMIN))
    report = await bot_api.wait_for_message(ADMIN)
    assert "Sent: 1" in report["text"] and "failed: 1" in report["text"]
    assert "Time taken" in report["text"]
    async with running_bot(bot_api, service, TRENDBOT_ADMINS=str(ADMIN)):
        bot_api.push_text(ADMIN, "/stats")
        stats = (await bot_api.wait_for_message(ADMIN))["text"]
        bot_api.push_text(CHAT, "/stats")
        refusal = (await bot_api.wait_for_message(CHAT, predicate=_not_digest))["text"]
    assert "Subscribers: 2 active, 0 inactive" in stats
    assert "Posts this week: 0" in stats and "Feeds: 0 healthy, 0 failing" in stats
    assert "1 sent, 1 failed" in stats
    assert "admins" in refusal and "Subscribers" not in refusal


async def test_an_admin_whose_telegram_is_in_chinese_gets_the_report_in_chinese(
    bot_api: FakeBotAPI, service: TrendService
) -> None:
    await subscribe(service, [CHAT])
    await service.subscribers.ensure_settings(
        ADMIN, "private", language="zh"
    )  # opened /settings once
    await run_broadcast(bot_api, service, TRENDBOT_ADMINS=str(ADMIN))
    report = (await bot_api.wait_for_message(ADMIN))["text"]
    assert "简报推送完成" in report and "发送：1" in report and "Sent" not in report


def _not_digest(message: dict) -> bool:
    return "digest" not in message["text"]


async def test_stats_in_chinese(bot_api: FakeBotAPI, service: TrendService) -> None:
    async with running_bot(bot_api, service, TRENDBOT_ADMINS=str(ADMIN)):
        bot_api.push_text(ADMIN, "/stats", language_code="zh-hans")
        stats = (await bot_api.wait_for_message(ADMIN))["text"]
    assert "订阅者" in stats and "暂无" in stats


async def test_a_database_locked_past_busy_timeout_mid_broadcast_sends_nothing_twice(
    bot_api: FakeBotAPI, service: TrendService, database_url: str
) -> None:
    """A large ingest holds SQLite's write lock longer than busy_timeout while Telegram
    accepts messages: their records wait for the lock, so the next run sends none again."""
    if not database_url.startswith("sqlite"):
        pytest.skip("a SQLite lock")
    chats = [CHAT, OTHER]
    await subscribe(service, chats)
    path = database_url.split(":///", 1)[1]
    locked = threading.Event()

    def hold_the_write_lock() -> None:
        writer = sqlite3.connect(path, timeout=30)
        writer.execute("BEGIN IMMEDIATE")
        locked.set()
        # Past the 5 s busy_timeout of every trendbot connection, five times over.
        time.sleep(28)
        writer.rollback()
        writer.close()

    async def lock_when_telegram_first_answers() -> None:
        await bot_api.wait_until(lambda: bot_api.calls_of("sendMessage"), timeout=30)
        await asyncio.to_thread(hold_the_write_lock)

    holder = asyncio.create_task(lock_when_telegram_first_answers())
    first = await run_broadcast(bot_api, service)
    await holder
    assert locked.is_set()
    assert first.count("sent") == len(chats)
    assert {row.state for row in await deliveries(service)} == {"sent"}
    sent_first = {chat: len(sends_to(bot_api, chat)) for chat in chats}
    again = await run_broadcast(bot_api, service)
    assert again.count("sent") == 0
    assert {chat: len(sends_to(bot_api, chat)) for chat in chats} == sent_first
