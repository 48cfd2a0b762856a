"""`trendbot digest --send-now` as a real process: killed mid-broadcast, restarted, re-run."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.conftest import REPO_ROOT, OpenArchive
from tests.support.bot import TOKEN
from tests.support.delivery import (
    GatedBotAPI,
    due_archive,
    expected_parts,
    parts_in_ledger,
    subscribe_daily_now,
)
from trends.service import TrendService

PRIVATE = list(range(7001, 7031))
GROUPS = [-8001, -8002]

TEXT = ("sendMessage",)  # the digest's text parts; its chart photo comes first


@pytest.fixture
async def fake() -> AsyncIterator[GatedBotAPI]:
    async with GatedBotAPI() as api:
        yield api


@pytest.fixture
async def service(archive: OpenArchive) -> TrendService:
    return await archive(due_archive())


class SendNow:
    """`trendbot digest --send-now` as a real process, pointed at the fake Bot API."""

    def __init__(self, fake: GatedBotAPI, database_url: str, tmp_path: Path) -> None:
        self.env = {
            **os.environ,
            "PYTHONPATH": str(REPO_ROOT),
            "TELEGRAM_BOT_TOKEN": TOKEN,
            "TELEGRAM_API_BASE_URL": f"http://127.0.0.1:{fake.port}",
            "DATABASE_URL": database_url,
            "TRENDBOT_FEEDS": str(tmp_path / "feeds0.yaml"),  # the archive fixture's
            "TRENDBOT_SEND_RATE": "30",
        }
        self.cwd = tmp_path

    async def start(self) -> asyncio.subprocess.Process:
        return await asyncio.create_subprocess_exec(
            str(Path(sys.executable).with_name("trendbot")),
            "digest",
            "--send-now",
            env=self.env,
            cwd=self.cwd,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
        )

    async def run(self) -> str:
        """Run to the end; its output, after checking it exited cleanly."""
        process = await self.start()
        output = (await process.communicate())[0].decode()
        assert process.returncode == 0, output
        return output


async def test_killed_mid_broadcast_then_restarted_sends_the_rest_and_nothing_twice(
    fake: GatedBotAPI, service: TrendService, database_url: str, tmp_path: Path
) -> None:
    chats = PRIVATE + GROUPS
    await subscribe_daily_now(service, chats)
    parts = await expected_parts(service)
    assert len(parts) >= 3, "the archive should make a digest of several parts"

    cli = SendNow(fake, database_url, tmp_path)
    first = await cli.start()
    output = asyncio.create_task(first.communicate())
    await fake.wait_until(
        lambda: len(fake.messages(methods=TEXT)) >= len(chats) + 8 or output.done(), 60
    )
    assert not output.done(), output.result()[0].decode()
    # Hold Telegram's answers, let the ledger catch up with what was accepted, then kill.
    fake.hold()
    accepted = len(fake.messages())  # text parts and charts: each a step in the ledger
    for _ in range(200):
        if await parts_in_ledger(service) == accepted:
            break
        await asyncio.sleep(0.05)
    first.send_signal(signal.SIGKILL)
    await output
    assert first.returncode == -signal.SIGKILL
    received = {chat: len(fake.messages(chat, methods=TEXT)) for chat in chats}
    assert any(0 < count < len(parts) for count in received.values()), "killed too late"

    fake.release()
    output = await cli.run()
    assert f"Sent: {len(chats)}, failed: 0" in output
    for chat in chats:
        texts = [message["text"] for message in fake.messages(chat, methods=TEXT)]
        assert texts == parts, f"chat {chat}: {len(texts)} messages, expected {len(parts)}"
        charts = fake.messages(chat, methods=("sendPhoto",))
        assert len(charts) == 1, f"chat {chat}: {len(charts)} charts"  # on top, never twice
    assert fake.too_many_requests == 0


async def test_send_now_twice_sends_once(
    fake: GatedBotAPI, service: TrendService, database_url: str, tmp_path: Path
) -> None:
    chats = PRIVATE[:3]
    await subscribe_daily_now(service, chats)
    cli = SendNow(fake, database_url, tmp_path)
    output = await cli.run()
    assert "Sent: 3, failed: 0, deactivated: 0, skipped: 0" in output and "Time taken" in output
    delivered = len(fake.messages(methods=TEXT))
    assert delivered == 3 * len(await expected_parts(service))

    output = await cli.run()
    assert "Sent: 0, failed: 0, deactivated: 0, skipped: 3" in output
    assert len(fake.messages(methods=TEXT)) == delivered
