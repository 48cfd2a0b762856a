"""Benchmark `trendbot worker` on PostgreSQL: feeds per second with one, two, three workers.

Run from the repo root: `.venv/bin/python bench/workers.py [--feeds 200] [--workers 1,2,3]`.
Starts a throwaway PostgreSQL server on 127.0.0.1 (tests/fakes/postgres.py: initdb and
pg_ctl must be installed) and bench/poll.py's feed server (50 loopback hosts, 50 posts a
feed). For each worker count, a fresh database lists the feeds disabled; the workers start
and settle, then every feed is enabled at once and the clock runs until each feed's first
poll (fetch, parse, dedup, tag, store) is recorded. Workers are real `python -m cli worker`
processes, so the figure includes their leases and their sharing of one database.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import os
import platform
import signal
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from machine import cpu_name  # bench/machine.py: scripts run from bench/
from poll import _serve, _url  # the feed server and the feed addresses of bench/poll.py
from sqlalchemy import func, select, update

from tests.fakes import postgres as pg
from trends.service import TrendService
from trends.store.schema import FeedRow

ROOT = Path(__file__).resolve().parents[1]


async def _worker(env: dict[str, str], cwd: str, batch: int) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        sys.executable, "-m", "cli", "worker", "--interval", "0.2", "--batch", str(batch),
        env=env, cwd=cwd, stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip


async def _run(server_url: str, port: int, feeds: int, workers: int, batch: int) -> float:
    """Feeds per second of `workers` workers polling `feeds` feeds for the first time."""
    async with pg.fresh_database(server_url, prefix="bench") as url:
        with tempfile.TemporaryDirectory() as scratch:
            path = Path(scratch) / "feeds.yaml"
            path.write_text(
                "feeds:\n"
                + "".join(f"  - url: {_url(port, i)}\n    name: Feed {i}\n" for i in range(feeds))
            )
            service = await TrendService.open(url, feeds_path=path, allow_private_feeds=True)
            async with service.db.new_session() as session, session.begin():
                await session.execute(update(FeedRow).values(enabled=False))
            env = {
                **os.environ,
                "PYTHONPATH": str(ROOT),
                "DATABASE_URL": url,
                "TRENDBOT_FEEDS": str(path),
                "TRENDBOT_ALLOW_PRIVATE_FEEDS": "true",
            }
            processes = [await _worker(env, scratch, batch) for _ in range(workers)]
            try:
                for process in processes:  # each has opened the database and is looking
                    assert process.stderr is not None
                    while b"polling due feeds" not in await process.stderr.readline():
                        pass
                async with service.db.new_session() as session, session.begin():
                    await session.execute(update(FeedRow).values(enabled=True))
                started = time.perf_counter()
                while True:
                    async with service.db.new_session() as session:
                        done = await session.scalar(
                            select(func.count()).where(FeedRow.last_success_at.is_not(None))
                        )
                    if done == feeds:
                        break
                    await asyncio.sleep(0.05)
                return feeds / (time.perf_counter() - started)
            finally:
                for process in processes:
                    process.send_signal(signal.SIGTERM)
                for process in processes:
                    await process.wait()
                await service.close()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--feeds", type=int, default=200)
    parser.add_argument("--workers", default="1,2,3", help="worker counts, comma-separated")
    parser.add_argument("--batch", type=int, default=20, help="trendbot worker --batch")
    args = parser.parse_args()
    counts = [int(part) for part in args.workers.split(",")]
    cores = os.cpu_count() or 1
    print(f"machine: {platform.platform()}, {cpu_name()}, {cores} cores")
    print(f"{args.feeds} feeds x 50 posts, first poll, PostgreSQL on 127.0.0.1")
    print("load average at start: " + ", ".join(f"{v:.2f}" for v in os.getloadavg()))
    receive, send = multiprocessing.Pipe(duplex=False)
    server = multiprocessing.Process(target=_serve, args=(send, datetime.now(UTC), 50), daemon=True)
    server.start()
    try:
        port = receive.recv()
        with pg.postgres_url() as server_url:
            rates = {}
            for count in counts:
                rates[count] = asyncio.run(_run(server_url, port, args.feeds, count, args.batch))
                print(
                    f"  {count} worker{'s' if count > 1 else ' '}: {rates[count]:6.1f} feeds/s"
                    f"  ({rates[count] / rates[counts[0]]:.2f}x {counts[0]} worker)",
                    flush=True,
                )
    finally:
        server.terminate()
        server.join()
    print("load average at end: " + ", ".join(f"{v:.2f}" for v in os.getloadavg()))


if __name__ == "__main__":
    main()
