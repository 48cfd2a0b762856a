"""Benchmark `trendbot db copy`: a synthetic SQLite archive into a local PostgreSQL server.

Run from the repo root: `.venv/bin/python bench/dbcopy.py [--posts 50000] [--batch 5000]`.
Needs the PostgreSQL server binaries (initdb, pg_ctl), like the tests: a throwaway server
is started on 127.0.0.1 and deleted afterwards. The archive holds `--posts` posts (a tenth
Chinese), one or two trend tags and eight LSH band keys each, and 1,000 subscribers with
their preferences. Prints the rows copied and the rate for a full copy, for a copy
interrupted halfway through the posts and resumed, and for a re-run with nothing missing.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import platform
import random
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import asyncpg
from sqlalchemy import insert
from sqlalchemy.engine import make_url

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from archive import _post  # bench/archive.py: the same synthetic posts
from machine import cpu_name  # bench/machine.py: scripts run from bench/

from tests.fakes.postgres import postgres_url
from trends.store.db import open_database
from trends.store.maintenance import copy_database
from trends.store.schema import (
    FeedRow,
    PostBandRow,
    PostRow,
    PostTrendRow,
    PreferencesRow,
    SubscriberRow,
)


class _Stop(Exception):
    pass


async def _fill(url: str, count: int, now: datetime) -> None:
    rng = random.Random(7)
    database = await open_database(url)
    try:
        async with database.new_session() as session, session.begin():
            session.add(FeedRow(id=1, url="https://example.com/feed", name="Bench", created_at=now))
            await session.flush()
            for start in range(1, count + 1, 10_000):
                numbers = range(start, min(count, start + 9_999) + 1)
                rows = [_post(rng, number, now) for number in numbers]
                await session.execute(insert(PostRow), rows)
                tags = [
                    dict(post_id=row["id"], trend=trend, score=5.0, matched=["x"],
                         published_at=row["published_at"])
                    for row in rows
                    for trend in {rng.randint(1, 10), rng.randint(1, 10)}
                ]  # fmt: skip
                await session.execute(insert(PostTrendRow), tags)
                bands = {(rng.getrandbits(62), row["id"]) for row in rows for _ in range(8)}
                await session.execute(
                    insert(PostBandRow), [dict(band_key=b, post_id=p) for b, p in bands]
                )
            subs = [
                dict(id=n, chat_id=10_000 + n, chat_type="private", created_at=now)
                for n in range(1, 1001)
            ]
            await session.execute(insert(SubscriberRow), subs)
            await session.execute(
                insert(PreferencesRow), [dict(subscriber_id=n, trends=list(range(1, 11)))
                                          for n in range(1, 1001)]
            )  # fmt: skip
    finally:
        await database.close()


async def _fresh_database(server: str, name: str) -> str:
    url = make_url(server)
    admin = await asyncpg.connect(
        host=url.host, port=url.port, user=url.username, database="postgres"
    )
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    return url.set(database=name).render_as_string(hide_password=False)


async def main(count: int, batch: int) -> None:
    print(f"platform: {platform.platform()}")
    print(f"cpu: {cpu_name()} ({platform.machine()}), python {platform.python_version()}")
    now = datetime.now(UTC)
    with tempfile.TemporaryDirectory(prefix="trendbot-copy-") as scratch, postgres_url() as pg:
        source = f"sqlite+aiosqlite:///{scratch}/source.db"
        started = time.perf_counter()
        await _fill(source, count, now)
        print(f"filled the SQLite source in {time.perf_counter() - started:.1f} s")

        target = await _fresh_database(pg, "full")
        started = time.perf_counter()
        report = await copy_database(source, target, batch=batch)
        seconds = time.perf_counter() - started
        print(
            f"full copy, batch {batch}: {report.copied:,} rows in {seconds:.1f} s "
            f"({report.copied / seconds:,.0f} rows/s), counts match: {report.ok}"
        )
        for table in report.tables:
            if table.source:
                print(f"  {table.table}: {table.source:,}")

        started = time.perf_counter()
        report = await copy_database(source, target, batch=batch)
        print(
            f"re-run with nothing missing: {report.copied} rows in "
            f"{time.perf_counter() - started:.2f} s, counts match: {report.ok}"
        )

        target = await _fresh_database(pg, "interrupted")

        def halfway(table: str, done: int, total: int) -> None:
            if table == "posts" and done >= total // 2:
                raise _Stop

        started = time.perf_counter()
        with contextlib.suppress(_Stop):
            await copy_database(source, target, batch=batch, progress=halfway)
        first = time.perf_counter() - started
        started = time.perf_counter()
        report = await copy_database(source, target, batch=batch)
        print(
            f"interrupted halfway through posts after {first:.1f} s; the resumed run copied "
            f"{report.copied:,} rows in {time.perf_counter() - started:.1f} s, "
            f"counts match: {report.ok}"
        )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--posts", type=int, default=50_000)
    parser.add_argument("--batch", type=int, default=5000)
    args = parser.parse_args()
    asyncio.run(main(args.posts, args.batch))
