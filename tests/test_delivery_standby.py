"""A standby sender on PostgreSQL: two `trendbot digest --send-now` processes, one holding the
sender lease and killed mid-broadcast, the other waiting and then finishing the broadcast."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.conftest import REPO_ROOT, OpenArchive
from tests.fakes import postgres as pg
from tests.support.bot import TOKEN
from tests.support.delivery import (
    GatedBotAPI,
    due_archive,
    expected_parts,
    parts_in_ledger,
    subscribe_daily_now,
)
from trends.service import TrendService

pytestmark = pytest.mark.postgres

CHATS = [*range(9001, 9025), -9501]
LEASE_SECONDS = 2.0
SENDS = ("sendMessage", "sendPhoto")


@pytest.fixture
async def database_url(postgres_url: str) -> AsyncIterator[str]:
    async with pg.fresh_database(postgres_url) as url:
        yield url


@pytest.fixture
async def fake() -> AsyncIterator[GatedBotAPI]:
    async with GatedBotAPI() as api:
        yield api


@pytest.fixture
async def service(archive: OpenArchive) -> TrendService:
    return await archive(due_archive())


async def _send_now(
    fake: GatedBotAPI, database_url: str, tmp_path: Path
) -> asyncio.subprocess.Process:
    env = {
        **os.environ,
        "PYTHONPATH": str(REPO_ROOT),
        "TELEGRAM_BOT_TOKEN": TOKEN,
        "TELEGRAM_API_BASE_URL": f"http://127.0.0.1:{fake.port}",
        "DATABASE_URL": database_url,
        "TRENDBOT_FEEDS": str(tmp_path / "feeds0.yaml"),  # the archive fixture's
        "TRENDBOT_SEND_RATE": "30",
        "TRENDBOT_LEASE_SECONDS": str(LEASE_SECONDS),
    }
    return await asyncio.create_subprocess_exec(
        sys.executable, "-m", "cli", "digest", "--send-now", env=env, cwd=tmp_path,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip


def _send_times(fake: GatedBotAPI) -> list[float]:
    return [call.at for call in fake.calls if call.method in SENDS]


async def test_standby_sender_takes_over_from_a_killed_one_and_sends_nothing_twice(
    fake: GatedBotAPI, service: TrendService, database_url: str, tmp_path: Path
) -> None:
    await subscribe_daily_now(service, CHATS)
    parts = await expected_parts(service)
    assert len(parts) >= 3, "the archive should make a digest of several parts"

    first = await _send_now(fake, database_url, tmp_path)
    first_done = asyncio.create_task(first.communicate())
    await fake.wait_until(
        lambda: len(fake.messages(methods=("sendMessage",))) >= 10 or first_done.done(), 60
    )
    assert not first_done.done(), first_done.result()
    # Hold Telegram's answers: the first sender stalls mid-broadcast, its lease still live.
    fake.hold()
    # The standby starts meanwhile: it says whom it waits for, and sends nothing.
    standby = await _send_now(fake, database_url, tmp_path)
    assert standby.stderr is not None
    line = (await asyncio.wait_for(standby.stderr.readline(), 30)).decode()
    assert "holds the sender lease: waiting" in line and f":{first.pid}:" in line
    await asyncio.sleep(LEASE_SECONDS)  # longer than a renewal: the live lease holds
    assert standby.returncode is None and fake.held > 0

    # Let the ledger catch up with what Telegram accepted, then kill the first sender.
    accepted = len(fake.messages())
    for _ in range(200):
        if await parts_in_ledger(service) == accepted:
            break
        await asyncio.sleep(0.05)
    first.send_signal(signal.SIGKILL)
    killed_at = time.monotonic()
    await first_done
    received = {chat: len(fake.messages(chat, methods=("sendMessage",))) for chat in CHATS}
    assert any(count < len(parts) for count in received.values()), "killed too late"
    fake.release()

    out, err = await asyncio.wait_for(standby.communicate(), 120)
    assert standby.returncode == 0, err.decode()
    assert "failed: 0" in out.decode()
    # The standby sent its first message only once the dead sender's lease had run out.
    resumed = [at for at in _send_times(fake) if at > killed_at]
    assert resumed and min(resumed) >= killed_at + LEASE_SECONDS / 2
    for chat in CHATS:  # every digest message once: the dead sender's, then the rest
        texts = [message["text"] for message in fake.messages(chat, methods=("sendMessage",))]
        assert texts == parts, f"chat {chat}: {len(texts)} messages, expected {len(parts)}"
        assert len(fake.messages(chat, methods=("sendPhoto",))) == 1
    assert fake.too_many_requests == 0
