"""Processes starting together on a fresh database: each migrates and syncs the feeds safely."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

import pytest

from trends.service import TrendService

ROOT = Path(__file__).resolve().parent.parent
FEEDS = ROOT / "config" / "feeds.yaml"
START = """
import asyncio, sys
from pathlib import Path
from trends.service import TrendService

async def main() -> None:
    service = await TrendService.open(sys.argv[1], feeds_path=Path(sys.argv[2]))
    await service.close()

asyncio.run(main())
print("started")
"""


@pytest.mark.parametrize("attempt", range(3))
async def test_three_processes_start_at_once_on_a_fresh_database(
    database_url: str, attempt: int
) -> None:
    starts = [
        await asyncio.create_subprocess_exec(
            sys.executable,
            "-c",
            START,
            database_url,
            str(FEEDS),
            cwd=ROOT,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        for _ in range(3)
    ]
    results = [await process.communicate() for process in starts]
    for (out, err), process in zip(results, starts, strict=True):
        assert process.returncode == 0, err.decode()[-2000:]
        assert out.decode().strip() == "started"
    service = await TrendService.open(database_url, feeds_path=FEEDS)
    try:
        listed = await service.feeds.health()
    finally:
        await service.close()
    urls = [feed.url for feed in listed]
    assert urls and len(urls) == len(set(urls))  # every configured feed, each once
