"""Benchmark the archive queries behind /search, /trends and the digest chart.

Run from the repo root: `.venv/bin/python bench/archive.py [--posts 20000] [--runs 15]`.
Fills a temporary SQLite database (migrated, so the FTS5 table and its triggers are real)
with synthetic posts, a tenth of them Chinese, tagged with one or two trends over the last
16 weeks. Prints medians next to a baseline measured in the same run:

* /search: the whole search (FTS5 trigram MATCH, the count, and loading the first five
  stories) against only the ids from LIKE on title and summary (the scan the PostgreSQL
  fallback does), for an English word and a Chinese one;
* twelve weekly counts: one grouped query against twelve `trend_counts` calls;
* the chart: one /trends PNG drawn with matplotlib.
"""

from __future__ import annotations

import argparse
import asyncio
import platform
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import insert, or_, select

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from machine import cpu_name  # bench/machine.py: scripts run from bench/

from bot.chart import trends_chart
from trends.service import TrendService
from trends.services.archive import HISTORY_WEEKS
from trends.store import archive, search
from trends.store.schema import FeedRow, PostRow, PostTrendRow

_SYLLABLES = ["ka", "lo", "mi", "ne", "ru", "ta", "vo", "zi", "pe", "su", "da", "go", "hi", "jo"]
WORDS = [a + b + c for a in _SYLLABLES for b in _SYLLABLES for c in _SYLLABLES]
HANZI = "智能体模型算力推理训练开源芯片数据机器人模拟信任定价编程物理世界"


def _post(rng: random.Random, number: int, now: datetime) -> dict:
    if number % 10 == 0:
        title = "".join(rng.choice(HANZI) for _ in range(14))
        summary = "".join(rng.choice(HANZI) for _ in range(80))
    else:
        title = " ".join(rng.choice(WORDS) for _ in range(8))
        summary = " ".join(rng.choice(WORDS) for _ in range(40))
    published = now - timedelta(minutes=rng.randrange(16 * 7 * 24 * 60))
    return dict(
        id=number,
        feed_id=1,
        guid=f"g{number}",
        link=f"https://example.com/{number}",
        canonical_link=f"https://example.com/{number}",
        title=title,
        summary=summary,
        content_hash=f"h{number}",
        language="zh" if number % 10 == 0 else "en",
        published_at=published,
        fetched_at=now,
        in_digests=True,
    )


async def _fill(service: TrendService, count: int, now: datetime) -> None:
    rng = random.Random(7)
    rows = [_post(rng, number, now) for number in range(1, count + 1)]
    tags = [
        dict(
            post_id=row["id"], trend=trend, score=5.0, matched=[], published_at=row["published_at"]
        )
        for row in rows
        for trend in {rng.randint(1, 10), rng.randint(1, 10)}
    ]
    async with service.db.new_session() as session, session.begin():
        session.add(FeedRow(id=1, url="https://example.com/feed", name="Bench", created_at=now))
        await session.flush()
        await session.execute(insert(PostRow), rows)
        await session.execute(insert(PostTrendRow), tags)


async def _median(work: Callable[[], Awaitable[object]], runs: int) -> float:
    await work()  # warm the caches once
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        await work()
        times.append(time.perf_counter() - started)
    return statistics.median(times) * 1000


async def main(count: int, runs: int) -> None:
    print(f"platform: {platform.platform()}")
    print(f"cpu: {cpu_name()} ({platform.machine()}), python {platform.python_version()}")
    print(f"posts: {count}, runs per figure: {runs} (medians, ms)")
    now = datetime.now(UTC)
    with tempfile.TemporaryDirectory() as folder:
        service = await TrendService.open(f"sqlite+aiosqlite:///{folder}/bench.db")
        try:
            await _fill(service, count, now)
            for label, query in (("English word", WORDS[123]), ("Chinese word", "智能体")):

                async def fts(query: str = query) -> archive.Found:
                    async with service.db.new_session() as session:
                        return await search.search_posts(session, query, limit=5)

                async def like(query: str = query) -> object:
                    pattern = f"%{query}%"
                    async with service.db.new_session() as session:
                        found = select(PostRow.id).where(
                            or_(PostRow.title.like(pattern), PostRow.summary.like(pattern))
                        )
                        return (await session.scalars(found)).all()

                found = await fts()
                hits = (
                    f"more than {found.capped_at:,} posts"
                    if found.capped_at
                    else f"{found.total} stories"
                )
                print(
                    f"/search {label} ({hits}): FTS5 {await _median(fts, runs):.1f}"
                    f" | baseline LIKE scan {await _median(like, runs):.1f}"
                )

            async def grouped() -> object:
                async with service.db.new_session() as session:
                    return await archive.weekly_trend_counts(session, now, HISTORY_WEEKS)

            async def one_by_one() -> object:
                week = timedelta(days=7)
                async with service.db.new_session() as session:
                    return [
                        await archive.trend_counts(session, now - (i + 1) * week, now - i * week)
                        for i in range(HISTORY_WEEKS)
                    ]

            print(
                f"12 weekly counts: one grouped query {await _median(grouped, runs):.1f}"
                f" | baseline 12 queries {await _median(one_by_one, runs):.1f}"
            )
            history = await service.archive.weekly_history(now=now)
            starts = history.week_starts()

            async def chart() -> object:
                return trends_chart(service.themes.trends, history.counts, starts)

            png = trends_chart(service.themes.trends, history.counts, starts)
            print(f"/trends chart ({len(png)} bytes PNG): {await _median(chart, runs):.1f}")
        finally:
            await service.close()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--posts", type=int, default=20_000)
    parser.add_argument("--runs", type=int, default=15)
    arguments = parser.parse_args()
    asyncio.run(main(arguments.posts, arguments.runs))
