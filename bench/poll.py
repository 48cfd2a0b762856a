"""Benchmark the poller: 1,000 feeds x 50 posts from a local server with ETags.

Run from the repo root: `.venv/bin/python bench/poll.py [--feeds 1000] [--rounds 3]`.
Between rounds 10% of the feeds gain a post. Reports the first poll and the steady-state
cycle (median of the later rounds), the share of 304 answers, CPU seconds and peak memory,
next to a naive baseline measured in the same run: sequential GETs without validators and
a full feedparser parse of every feed, every round. Uses a temporary SQLite database.
"""

from __future__ import annotations

import argparse
import asyncio
import platform
import random
import resource
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path

import feedparser
import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from tests.fakes.feed_server import FeedServer  # noqa: E402
from trends.service import TrendService  # noqa: E402

WORDS = (
    "model agent training inference compute robot pricing coding simulation trust data "
    "benchmark open weights cluster reasoning policy chip energy startup research"
).split()


def _feed(number: int, posts: int, now: datetime) -> bytes:
    rng = random.Random(number * 7919 + posts)
    items = []
    for n in range(posts):
        words = " ".join(rng.choice(WORDS) for _ in range(40))
        date = format_datetime(now - timedelta(hours=n))
        items.append(
            f"<item><title>Feed {number} post {n} {rng.choice(WORDS)}</title>"
            f"<link>https://feed{number}.example/p/{n}</link><guid>f{number}-{n}</guid>"
            f"<pubDate>{date}</pubDate><description>{words}</description></item>"
        )
    return (
        f'<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel>'
        f"<title>Feed {number}</title><link>https://feed{number}.example/</link>"
        + "".join(items)
        + "</channel></rss>"
    ).encode()


def _cpu_name() -> str:
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown"


def _cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


async def _pipeline(urls: list[str], server: FeedServer, rounds: int, now: datetime) -> dict:
    with tempfile.TemporaryDirectory() as scratch:
        feeds_file = Path(scratch) / "feeds.yaml"
        feeds_file.write_text(
            "feeds:\n" + "".join(f"  - url: {u}\n    name: Feed {i}\n" for i, u in enumerate(urls))
        )
        service = await TrendService.open(
            f"sqlite+aiosqlite:///{scratch}/bench.db", feeds_path=feeds_file
        )
        try:
            times, shares, cpu = [], [], []
            for number in range(rounds):
                if number:
                    _change_tenth(server, urls, number, now)
                started, cpu_start = time.perf_counter(), _cpu_seconds()
                report = await service.poll(only_due=False, now=now)
                times.append(time.perf_counter() - started)
                cpu.append(_cpu_seconds() - cpu_start)
                shares.append(report.count("not_modified") / len(urls))
                failed = report.count("failed")
                print(
                    f"  round {number}: {times[-1]:.2f} s, {shares[-1]:.0%} 304, "
                    f"{report.new_posts} new, {failed} failed",
                    flush=True,
                )
        finally:
            await service.close()
    return {"times": times, "shares": shares, "cpu": cpu}


def _change_tenth(server: FeedServer, urls: list[str], round_number: int, now: datetime) -> None:
    for index in range(round_number % 10, len(urls), 10):
        path = urls[index].split("/", 3)[3]
        server.set_body("/" + path, _feed(index, 50 + round_number, now))


async def _baseline(urls: list[str], rounds: int) -> dict:
    times, cpu = [], []
    async with httpx.AsyncClient() as client:
        for _ in range(rounds):
            started, cpu_start = time.perf_counter(), _cpu_seconds()
            for url in urls:  # sequential, no validators, full parse every time
                response = await client.get(url)
                feedparser.parse(response.content)
            times.append(time.perf_counter() - started)
            cpu.append(_cpu_seconds() - cpu_start)
    return {"times": times, "cpu": cpu}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--feeds", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=4, help="pipeline rounds (first + steady)")
    parser.add_argument("--baseline-rounds", type=int, default=2)
    args = parser.parse_args()
    now = datetime.now(UTC)
    print(f"machine: {platform.platform()}, {_cpu_name()}, python {platform.python_version()}")
    print(f"{args.feeds} feeds x 50 posts, 10% change between rounds")
    with FeedServer().in_thread() as server:
        urls = [
            server.add_body(f"/f/{i}.xml", _feed(i, 50, now), "application/rss+xml")
            for i in range(args.feeds)
        ]
        print("trendbot pipeline:")
        result = asyncio.run(_pipeline(urls, server, args.rounds, now))
        print("naive baseline (sequential GET + full parse of every feed):")
        base = asyncio.run(_baseline(urls, args.baseline_rounds))
    steady = statistics.median(result["times"][1:])
    steady_cpu = statistics.median(result["cpu"][1:])
    steady_share = statistics.median(result["shares"][1:])
    base_cycle = statistics.median(base["times"])
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print("results:")
    print(f"  first poll (ingest {args.feeds * 50} posts): {result['times'][0]:.1f} s")
    print(f"  steady-state cycle (median of {args.rounds - 1}): {steady:.2f} s")
    print(f"  answered 304 in steady state: {steady_share:.1%}")
    print(f"  CPU seconds per steady cycle: {steady_cpu:.2f}; first poll {result['cpu'][0]:.1f}")
    print(f"  naive baseline cycle (median of {args.baseline_rounds}): {base_cycle:.2f} s")
    print(f"  speed-up over baseline: {base_cycle / steady:.1f}x")
    print(f"  peak memory (max RSS, whole run): {peak_mb:.0f} MB")


if __name__ == "__main__":
    main()
