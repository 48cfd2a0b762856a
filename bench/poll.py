"""Benchmark the poller: 1,000 feeds x 50 posts (or `--posts`) from a local server with ETags.

Run from the repo root: `.venv/bin/python bench/poll.py [--feeds 1000] [--posts 50] [--rounds 3]`.
Between rounds 10% of the feeds gain a post. Reports the first poll and the steady-state
cycle (median of the later rounds), the share of 304 answers, CPU seconds and peak memory,
next to a naive baseline measured in the same run: sequential GETs without validators and
a full feedparser parse of every feed, every round. Last, the CPU floor of a steady cycle
on this stack, to read the figures against: httpx's conditional GETs alone, feedparser on
the changed feeds alone, and the feed server's own CPU. Uses a temporary SQLite database.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import multiprocessing.connection
import os
import platform
import random
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path

import feedparser
import httpx
from aiohttp import web

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from machine import cpu_name  # bench/machine.py: scripts run from bench/

from trends.service import TrendService

# Words of random letters at English letter frequencies, a hundred of them common: unrelated
# posts then look as alike as unrelated real posts do (mean estimated Jaccard about 0.03;
# 0.014 in ../shared/corpus). A small syllable alphabet made every post resemble every
# other (0.17) and measured thousands of near-duplicate candidates per post instead.
_LETTERS = "etaoinshrdlucmfwypvbgkqjxz"
_FREQUENCIES = [12, 9, 8, 7.5, 7, 6.7, 6.3, 6, 6, 4.3, 4, 2.8, 2.8, 2.4, 2.2, 2, 2, 1.9, 1.5]
_FREQUENCIES += [1, 0.8, 0.2, 0.2, 0.15, 0.1, 0.07]
_vocabulary = random.Random(7)
WORDS = [
    "".join(_vocabulary.choices(_LETTERS, _FREQUENCIES, k=_vocabulary.randint(2, 10)))
    for _ in range(30_000)
]
COMMON_WORDS = WORDS[:100]


def _words(rng: random.Random, count: int) -> str:
    return " ".join(
        rng.choice(COMMON_WORDS) if rng.random() < 0.3 else rng.choice(WORDS) for _ in range(count)
    )


HOSTS = 50  # 20 feeds per host at 1,000 feeds; the per-host limit applies to each


def _feed(number: int, posts: int, now: datetime) -> bytes:
    """Feed `number` with `posts` posts, newest first; a post never changes once published."""
    items = []
    for post in reversed(range(posts)):
        rng = random.Random(number * 100_003 + post)
        words = _words(rng, 40)
        date = format_datetime(now - timedelta(hours=100 - post))
        items.append(
            f"<item><title>Feed {number} post {post} {rng.choice(WORDS)}</title>"
            f"<link>https://feed{number}.example/p/{post}</link><guid>f{number}-{post}</guid>"
            f"<pubDate>{date}</pubDate><description>{words}</description></item>"
        )
    return (
        f'<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel>'
        f"<title>Feed {number}</title><link>https://feed{number}.example/</link>"
        + "".join(items)
        + "</channel></rss>"
    ).encode()


def _cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _host(number: int) -> str:
    return f"127.0.0.{number + 1}"


def _url(port: int, feed: int, hosts: int = HOSTS) -> str:
    """Feeds spread over `hosts` loopback addresses, as real feeds are over publishers."""
    return f"http://{_host(feed % hosts)}:{port}/f/{feed}.xml"


def _version(feed: int, round_number: int) -> int:
    """How many times feed `feed` changed by round `round_number` (10% change per round)."""
    return sum(1 for r in range(1, round_number + 1) if feed % 10 == r % 10)


def _serve(port_out: multiprocessing.connection.Connection, now: datetime, posts: int) -> None:
    """The feed server, in its own process so it doesn't share the poller's GIL: each feed
    holds `posts` posts at first and gains one each time it changes."""
    state = {"round": 0}
    cache: dict[tuple[int, int], tuple[bytes, str]] = {}

    async def feed(request: web.Request) -> web.Response:
        number = int(request.match_info["number"])
        version = _version(number, state["round"])
        if (number, version) not in cache:
            body = _feed(number, posts + version, now)
            cache[(number, version)] = (body, f'"{number}-{version}"')
        body, etag = cache[(number, version)]
        if request.headers.get("If-None-Match") == etag:
            return web.Response(status=304, headers={"ETag": etag})
        return web.Response(
            body=body, headers={"ETag": etag, "Content-Type": "application/rss+xml"}
        )

    async def set_round(request: web.Request) -> web.Response:
        state["round"] = int(request.match_info["number"])
        return web.Response(text=str(time.process_time()))  # the server's own CPU so far

    async def run() -> None:
        app = web.Application()
        app.router.add_get("/f/{number}.xml", feed)
        app.router.add_post("/round/{number}", set_round)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, _host(0), 0, backlog=1024)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        for number in range(1, HOSTS):  # the same port on other loopback addresses
            await web.TCPSite(runner, _host(number), port, backlog=1024).start()
        port_out.send(port)
        await asyncio.Event().wait()

    asyncio.run(run())


async def _pipeline(port: int, count: int, rounds: int, now: datetime) -> dict:
    urls = [_url(port, i) for i in range(count)]
    with tempfile.TemporaryDirectory() as scratch:
        feeds_file = Path(scratch) / "feeds.yaml"
        feeds_file.write_text(
            "feeds:\n" + "".join(f"  - url: {u}\n    name: Feed {i}\n" for i, u in enumerate(urls))
        )
        service = await TrendService.open(
            f"sqlite+aiosqlite:///{scratch}/bench.db",
            feeds_path=feeds_file,
            allow_private_feeds=True,  # the feeds are served on 127.0.0.1
        )
        try:
            times, shares, cpu, server_cpu = [], [], [], []
            for number in range(rounds):
                server_start = await _set_round(port, number)
                started, cpu_start = time.perf_counter(), _cpu_seconds()
                report = await service.feeds.poll(only_due=False, now=now)
                times.append(time.perf_counter() - started)
                cpu.append(_cpu_seconds() - cpu_start)
                server_cpu.append(await _set_round(port, number) - server_start)
                shares.append(report.count("not_modified") / count)
                failed = report.count("failed")
                print(
                    f"  round {number}: {times[-1]:.2f} s, {shares[-1]:.0%} 304, "
                    f"{report.new_posts} new, {failed} failed",
                    flush=True,
                )
        finally:
            await service.close()
    return {"times": times, "shares": shares, "cpu": cpu, "server_cpu": server_cpu}


async def _set_round(port: int, number: int) -> float:
    """Move the server to round `number`; returns the CPU seconds the server used so far."""
    async with httpx.AsyncClient() as client:
        response = await client.post(f"http://{_host(0)}:{port}/round/{number}")
        response.raise_for_status()
        return float(response.text)


async def _baseline(
    port: int, count: int, rounds: int, first_round: int, hosts: int = HOSTS
) -> dict:
    times, cpu = [], []
    async with httpx.AsyncClient() as client:
        for number in range(rounds):
            await _set_round(port, first_round + number)
            started, cpu_start = time.perf_counter(), _cpu_seconds()
            for index in range(count):  # sequential, no validators, full parse every time
                response = await client.get(_url(port, index, hosts))
                feedparser.parse(response.content)
            times.append(time.perf_counter() - started)
            cpu.append(_cpu_seconds() - cpu_start)
    return {"times": times, "cpu": cpu}


async def _floor(port: int, count: int, round_number: int) -> dict[str, float]:
    """CPU that no poller on this stack avoids in a steady cycle: a conditional GET with httpx
    for every feed (10 at once, one client) and feedparser on the feeds that changed."""
    changed = [i for i in range(count) if _changed(i, round_number)]
    async with httpx.AsyncClient(limits=httpx.Limits(max_connections=10)) as client:
        gate = asyncio.Semaphore(10)

        async def conditional_get(index: int) -> None:
            etag = f'"{index}-{_version(index, round_number)}"'
            async with gate:
                await client.get(_url(port, index), headers={"If-None-Match": etag})

        await _set_round(port, round_number)
        cpu_start = _cpu_seconds()
        await asyncio.gather(*(conditional_get(i) for i in range(count)))
        requests_cpu = _cpu_seconds() - cpu_start
        bodies = [(await client.get(_url(port, i))).content for i in changed]
    cpu_start = _cpu_seconds()
    for body in bodies:
        feedparser.parse(body)
    return {"requests": requests_cpu, "parse": _cpu_seconds() - cpu_start, "changed": len(changed)}


def _changed(feed: int, round_number: int) -> bool:
    return _version(feed, round_number) != _version(feed, round_number - 1)


REPO = Path(__file__).resolve().parents[1]


def _operator(port: int, count: int, hosts: int, first_round: int, repeats: int) -> dict:
    """`trendbot poll --once` as an operator runs it: a new process each time, timed whole.

    A first run ingests every feed; then `repeats` runs with nothing changed (every feed
    answers 304) and `repeats` runs with 10% of the feeds changed (the server moves on a
    round before each), then the naive poller on the same feeds and hosts.
    """
    with tempfile.TemporaryDirectory() as scratch:
        feeds_file = Path(scratch) / "feeds.yaml"
        feeds_file.write_text(
            "feeds:\n"
            + "".join(
                f"  - url: {_url(port, i, hosts)}\n    name: Feed {i}\n" for i in range(count)
            )
        )
        # An installed trendbot has its bytecode: a shell that forbids writing it would time
        # every run's imports from source.
        skip = ("TRENDBOT_", "TELEGRAM_", "PYTHONDONTWRITEBYTECODE")
        env = {k: v for k, v in os.environ.items() if not k.startswith(skip)}
        env |= {
            "DATABASE_URL": f"sqlite+aiosqlite:///{scratch}/cli.db",
            "TRENDBOT_FEEDS": str(feeds_file),
            "TRENDBOT_ALLOW_PRIVATE_FEEDS": "true",  # the feeds are served on 127.0.0.x
        }

        def run_once(label: str) -> float:
            started = time.perf_counter()
            done = subprocess.run(
                [sys.executable, "-m", "cli", "poll", "--once", "--json"],
                cwd=REPO,
                env=env,
                capture_output=True,
                text=True,
                check=True,
            )
            seconds = time.perf_counter() - started
            out = json.loads(done.stdout)
            counts = f"{out['fetched']} fetched, {out['not_modified']} 304, "
            counts += f"{len(out['failed'])} failed, {out['new_posts']} new posts"
            print(f"    {label}: {seconds:.2f} s, {counts}", flush=True)
            return seconds

        asyncio.run(_set_round(port, first_round))
        first = run_once("first run (ingests every feed)")
        unchanged = [run_once("nothing changed") for _ in range(repeats)]
        changed = []
        for number in range(1, repeats + 1):
            asyncio.run(_set_round(port, first_round + number))
            changed.append(run_once("10% changed"))
    naive = asyncio.run(_baseline(port, count, repeats, first_round + repeats + 1, hosts))
    print(f"    naive poller: {', '.join(f'{t:.2f} s' for t in naive['times'])}", flush=True)
    return {
        "first": first,
        "unchanged": statistics.median(unchanged),
        "changed": statistics.median(changed),
        "naive": statistics.median(naive["times"]),
    }


def _report_operator(count: int, hosts: int, result: dict, repeats: int) -> None:
    speedup = result["naive"] / result["changed"]
    print(
        f"  trendbot poll --once, {count} feeds on {hosts} host(s), whole process, median of "
        f"{repeats}: nothing changed {result['unchanged']:.2f} s (target <= 1.5 s); 10% changed "
        f"{result['changed']:.2f} s against the naive poller's {result['naive']:.2f} s: "
        f"{speedup:.1f}x (target >= 10x); first run {result['first']:.1f} s"
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--feeds", type=int, default=1000)
    parser.add_argument("--posts", type=int, default=50, help="posts in each feed at first")
    parser.add_argument("--rounds", type=int, default=4, help="pipeline rounds (first + steady)")
    parser.add_argument("--baseline-rounds", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=3, help="runs of the CLI per case")
    parser.add_argument(
        "--operator-only", action="store_true", help="only `trendbot poll --once` and naive"
    )
    args = parser.parse_args()
    now = datetime.now(UTC)
    print(f"machine: {platform.platform()}, {cpu_name()}, python {platform.python_version()}")
    print(f"{args.feeds} feeds x {args.posts} posts, 10% change between rounds")
    receive, send = multiprocessing.Pipe(duplex=False)
    server = multiprocessing.Process(target=_serve, args=(send, now, args.posts), daemon=True)
    server.start()
    try:
        port = receive.recv()
        print("trendbot poll --once, a new process per run:")
        operator = {}
        for number, hosts in enumerate((1, HOSTS)):
            print(f"  {args.feeds} feeds on {hosts} host(s):", flush=True)
            first_round = 100 * (number + 1)  # after the in-process rounds, apart
            operator[hosts] = _operator(port, args.feeds, hosts, first_round, args.repeats)
        if args.operator_only:
            print("results:")
            for hosts, result in operator.items():
                _report_operator(args.feeds, hosts, result, args.repeats)
            return
        print(f"trendbot pipeline ({HOSTS} hosts on 127.0.0.x):")
        result = asyncio.run(_pipeline(port, args.feeds, args.rounds, now))
        print("naive baseline (sequential GET + full parse of every feed):")
        base = asyncio.run(_baseline(port, args.feeds, args.baseline_rounds, args.rounds))
        floor = asyncio.run(_floor(port, args.feeds, args.rounds - 1))
    finally:
        server.terminate()
        server.join()
    steady = statistics.median(result["times"][1:])
    steady_cpu = statistics.median(result["cpu"][1:])
    steady_share = statistics.median(result["shares"][1:])
    base_cycle = statistics.median(base["times"])
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print("results:")
    print(f"  first poll (ingest {args.feeds * args.posts} posts): {result['times'][0]:.1f} s")
    print(f"  steady-state cycle (median of {args.rounds - 1}): {steady:.2f} s")
    print(f"  answered 304 in steady state: {steady_share:.1%}")
    print(f"  CPU seconds per steady cycle: {steady_cpu:.2f}; first poll {result['cpu'][0]:.1f}")
    print(f"  naive baseline cycle (median of {args.baseline_rounds}): {base_cycle:.2f} s")
    print(f"  speed-up over baseline: {base_cycle / steady:.1f}x")
    print(f"  peak memory (max RSS of the poller process): {peak_mb:.0f} MB")
    for hosts, operator_result in operator.items():
        _report_operator(args.feeds, hosts, operator_result, args.repeats)
    server_cpu = statistics.median(result["server_cpu"][1:])
    floor_cpu = floor["requests"] + floor["parse"] + server_cpu
    cores = os.cpu_count() or 1
    print(
        f"  CPU floor of a steady cycle on this stack: {args.feeds} conditional GETs with httpx "
        f"{floor['requests']:.2f} s + feedparser on the {floor['changed']:.0f} changed feeds "
        f"{floor['parse']:.2f} s + the feed server {server_cpu:.2f} s = {floor_cpu:.2f} s, "
        f"so at least {floor_cpu / cores:.2f} s on {cores} cores; 10x the baseline needs "
        f"{base_cycle / 10:.2f} s"
    )
    # Other work on a shared machine moves these figures; say how busy it was.
    print(
        "  load average (1, 5, 15 min) at the end: "
        + ", ".join(f"{v:.2f}" for v in os.getloadavg())
    )


if __name__ == "__main__":
    main()
