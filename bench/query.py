"""Benchmark what a reader waits for: `/trend N` and `/search` on a large archive.

Run from the repo root: `.venv/bin/python bench/query.py [--posts 1000000] [--runs 30]`.
Fills a migrated SQLite database and a migrated database on a throwaway PostgreSQL server
(initdb/pg_ctl on 127.0.0.1, like the tests) with the synthetic posts of bench/archive.py
(a tenth Chinese, one or two trends each, sixteen weeks), then times the service calls the
bot's handlers make, page size and all:

* `/trend 6`: the trend's newest stories over all time and their count;
* `/search` for an English word, a two-character and a four-character Chinese term.

Warm: the same query repeated on an open service (p50 and p95 over `--runs`). Cold: the
first query after the database's files are evicted from the OS page cache
(posix_fadvise DONTNEED) and the service reopened; on PostgreSQL the server is restarted
too, so its shared buffers are empty (p50 and p95 over `--cold-runs`); and again with one
service kept open across those restarts, as a running bot meets a cold database. PostgreSQL's
tables are vacuumed after the fill, as autovacuum would have done to an archive that grew.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from contextlib import AsyncExitStack
from datetime import UTC, datetime
from pathlib import Path

import asyncpg
from sqlalchemy import insert

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from archive import WORDS, _post  # bench/archive.py: the same synthetic posts
from machine import cpu_name  # bench/machine.py: scripts run from bench/

from bot.paging import PAGE_SIZE
from tests.fakes.postgres import postgres_cluster
from trends.service import TrendService
from trends.store import health as store_health
from trends.store.schema import FeedRow, PostRow, PostTrendRow

Query = Callable[[TrendService], Awaitable[object]]
_BATCH = 20_000


def _queries(service: TrendService) -> dict[str, Query]:
    trend = service.themes.get(6)
    assert trend is not None
    return {
        "/trend 6": lambda s: s.archive.trend_page(trend, limit=PAGE_SIZE),
        "/search English word": lambda s: s.archive.search(WORDS[123], limit=PAGE_SIZE),
        "/search Chinese, 2 characters": lambda s: s.archive.search("模型", limit=PAGE_SIZE),
        "/search Chinese, 4 characters": lambda s: s.archive.search("智能模型", limit=PAGE_SIZE),
    }


async def _fill(service: TrendService, count: int, now: datetime) -> None:
    rng = random.Random(7)
    async with service.db.new_session() as session, session.begin():
        session.add(FeedRow(id=1, url="https://example.com/feed", name="Bench", created_at=now))
        await session.flush()
        for start in range(1, count + 1, _BATCH):
            rows = [_post(rng, n, now) for n in range(start, min(count, start + _BATCH - 1) + 1)]
            await session.execute(insert(PostRow), rows)
            tags = [
                dict(post_id=row["id"], trend=trend, score=0.9, matched=[],
                     published_at=row["published_at"])
                for row in rows
                for trend in {rng.randint(1, 10), rng.randint(1, 10)}
            ]  # fmt: skip
            await session.execute(insert(PostTrendRow), tags)


def _evict(folder: Path) -> None:
    """Drop every file under `folder` from the OS page cache (no root needed)."""
    for path in folder.rglob("*"):
        if path.is_file():
            fd = os.open(path, os.O_RDONLY)
            try:
                os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
            finally:
                os.close(fd)


def _percentiles(times: list[float]) -> str:
    ordered = sorted(times)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return f"p50 {statistics.median(ordered) * 1000:6.1f} ms  p95 {p95 * 1000:6.1f} ms"


async def _timed(query: Query, service: TrendService) -> float:
    started = time.perf_counter()
    await query(service)
    return time.perf_counter() - started


async def _warm(url: str, runs: int) -> dict[str, list[float]]:
    service = await TrendService.open(url)
    try:
        times: dict[str, list[float]] = {}
        for label, query in _queries(service).items():
            await query(service)
            times[label] = [await _timed(query, service) for _ in range(runs)]
        return times
    finally:
        await service.close()


async def _cold(url: str, runs: int, make_cold: Callable[[], None]) -> dict[str, list[float]]:
    times: dict[str, list[float]] = {}
    for _ in range(runs):
        probe = await TrendService.open(url)
        labels = list(_queries(probe))
        await probe.close()
        for label in labels:
            make_cold()
            service = await TrendService.open(url)
            try:
                times.setdefault(label, []).append(await _timed(_queries(service)[label], service))
            finally:
                await service.close()
    return times


async def _cold_running(
    url: str, runs: int, make_cold: Callable[[], None]
) -> dict[str, list[float]]:
    """Cold data, running bot: one service stays open while the server restarts with empty
    caches; its health check (what /healthz asks, untimed) reconnects it, and then the
    query is timed, with SQLAlchemy's statements compiled already."""
    times: dict[str, list[float]] = {}
    service = await TrendService.open(url)
    try:
        queries = _queries(service)
        for query in queries.values():
            await query(service)
        for _ in range(runs):
            for label, query in queries.items():
                make_cold()
                if not (checked := await store_health.check(service.db)).reachable:
                    raise SystemExit(f"PostgreSQL did not come back: {checked.error}")
                times.setdefault(label, []).append(await _timed(query, service))
    finally:
        await service.close()
    return times


def _report(database: str, columns: dict[str, dict[str, list[float]]]) -> None:
    """One line a query: p50 and p95 of each column of times (warm, cold ...)."""
    for label in next(iter(columns.values())):
        figures = "  | ".join(
            f"{name} {_percentiles(times[label])}" for name, times in columns.items()
        )
        print(f"{database:10} {label:32} {figures}")


async def _hits(url: str) -> None:
    service = await TrendService.open(url)
    try:
        for label, query in _queries(service).items():
            page = await query(service)
            capped_at = getattr(page, "capped_at", None)
            counted = f"more than {capped_at:,}" if capped_at else f"{getattr(page, 'total', '?')}"
            print(f"  {label}: {counted} in all")
    finally:
        await service.close()


async def main(count: int, runs: int, cold_runs: int, databases: set[str]) -> None:
    print(f"platform: {platform.platform()}")
    print(f"cpu: {cpu_name()} ({platform.machine()}), {os.cpu_count()} cores, "
          f"python {platform.python_version()}")  # fmt: skip
    print(f"posts: {count:,}; warm runs {runs}, cold runs {cold_runs}; page size {PAGE_SIZE}")
    now = datetime.now(UTC)
    if "sqlite" in databases:
        await _sqlite(count, runs, cold_runs, now)
    if "postgresql" in databases:
        await _postgresql(count, runs, cold_runs, now)


async def _sqlite(count: int, runs: int, cold_runs: int, now: datetime) -> None:
    with tempfile.TemporaryDirectory(prefix="trendbot-query-") as scratch:
        folder = Path(scratch)
        sqlite = f"sqlite+aiosqlite:///{folder}/archive.db"
        started = time.perf_counter()
        async with AsyncExitStack() as stack:
            service = await TrendService.open(sqlite)
            stack.push_async_callback(service.close)
            await _fill(service, count, now)
        print(f"SQLite filled in {time.perf_counter() - started:.0f} s")
        await _hits(sqlite)
        warm = await _warm(sqlite, runs)
        cold = await _cold(sqlite, cold_runs, lambda: _evict(folder))
        _report("SQLite", {"warm": warm, "cold": cold})


async def _postgresql(count: int, runs: int, cold_runs: int, now: datetime) -> None:
    with postgres_cluster() as cluster:
        url = cluster.url
        started = time.perf_counter()
        service = await TrendService.open(url)
        try:
            await _fill(service, count, now)
        finally:
            await service.close()
        print(f"PostgreSQL filled in {time.perf_counter() - started:.0f} s")
        # What autovacuum does to a table that grew over months: statistics and the
        # visibility map, without which an index-only scan still reads every row.
        connection = await asyncpg.connect(url.replace("postgresql+asyncpg", "postgresql"))
        try:
            await connection.execute("VACUUM ANALYZE")
        finally:
            await connection.close()
        await _hits(url)
        warm = await _warm(url, runs)

        def restart_cold() -> None:
            cluster.stop_server()
            _evict(cluster.data)
            cluster.start_server()

        cold = await _cold(url, cold_runs, restart_cold)
        running = await _cold_running(url, cold_runs, restart_cold)
        _report("PostgreSQL", {"warm": warm, "cold": cold, "cold, bot running": running})


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--posts", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--cold-runs", type=int, default=5)
    parser.add_argument("--databases", default="sqlite,postgresql", help="comma-separated")
    arguments = parser.parse_args()
    databases = set(arguments.databases.split(","))
    asyncio.run(main(arguments.posts, arguments.runs, arguments.cold_runs, databases))
