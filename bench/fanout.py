"""Benchmark the digest fan-out: 10,000 subscribers through the real delivery path.

Run from the repo root: `.venv/bin/python bench/fanout.py [--subscribers 10000]`.
A fake Bot API on 127.0.0.1 (in its own process, so it doesn't share a core with the
sender) enforces Telegram's limits and answers 429 when they are broken; 2% of the chats
have blocked the bot and 1% are groups that migrated to supergroups. Each subscriber gets
one digest message through the ledger, the pacer and the real PTB Application. Reported:
requests per second against the configured cap (overall, and the median of whole seconds),
429s received, messages lost and duplicated, and the CPU time per request in the sender and
in the fake (which, unlike the rates, other work on the machine barely changes); at
TRENDBOT_SEND_RATE (default 30/s), and at 1,000/s in paid-broadcast mode. The baseline,
measured in the same run, is PTB's own AIORateLimiter in place of our pacer, on fewer
subscribers (`--baseline-subscribers`). A full run at 30/s takes about six minutes.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import logging
import multiprocessing
import multiprocessing.connection
import os
import platform
import statistics
import sys
import tempfile
import time
from collections import Counter, deque
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from machine import cpu_name  # bench/machine.py: scripts run from bench/
from telegram.ext import AIORateLimiter, ApplicationBuilder

from bot.app import build_application
from bot.broadcast import broadcast
from bot.deliver import DigestSender
from config.settings import load_settings
from tests.fakes.bot_api import FakeBotAPI
from tests.fakes.bot_api_updates import BotAPIError
from trends.service import TrendService
from trends.store.schema import PreferencesRow, SubscriberRow

TOKEN = "123456:BENCH"


# -- the fake Bot API, in a child process -------------------------------------------


class _FastLimits(FakeBotAPI):
    """The fake's limits with the same rules, kept in per-chat queues: at 1,000/s the
    fake's own check (a scan of the last minute) would be the bottleneck being measured."""

    def _check_rate(self, chat: str) -> None:
        global_ps, private_ps, group_pm = self._limits or (0, 0, 0)
        now = time.monotonic()
        recent: deque[float] = self.__dict__.setdefault("_recent", deque())
        chats: dict[str, deque[float]] = self.__dict__.setdefault("_per_chat", {})
        while recent and now - recent[0] >= 1:
            recent.popleft()
        mine = chats.setdefault(chat, deque())
        while mine and now - mine[0] >= 60:
            mine.popleft()
        is_group = chat.startswith(("-", "@"))
        last_second = sum(1 for t in mine if now - t < 1)
        if len(recent) >= global_ps:
            wait = 1 - (now - recent[-global_ps])
        elif not is_group and last_second >= private_ps:
            wait = 1 - (now - mine[-private_ps])
        elif is_group and len(mine) >= group_pm:
            wait = 60 - (now - mine[-group_pm])
        else:
            recent.append(now)
            mine.append(now)
            return
        self.too_many_requests += 1
        retry = max(1, int(wait + 0.999))
        raise BotAPIError(429, f"Too Many Requests: retry after {retry}", retry_after=retry)


def _serve(conn: multiprocessing.connection.Connection, global_ps: int, plan: dict) -> None:
    asyncio.run(_serve_async(conn, global_ps, plan))


async def _serve_async(conn: Any, global_ps: int, plan: dict) -> None:
    # The fake keeps every call for the report, and the collector's full passes over them
    # stalled it for 0.2 s at a time at 1,000/s: a pause of the fake's, not the sender's.
    gc.disable()
    fake = _FastLimits()
    fake.enforce_limits(global_per_second=global_ps)
    for chat in plan["blocked"]:
        fake.block_chat(chat)
    for old, new in plan["migrated"].items():
        fake.migrate_chat(old, new)
    await fake.start()
    conn.send(fake.port)
    await asyncio.get_running_loop().run_in_executor(None, conn.recv)  # "report"
    sends = fake.calls_of("sendMessage")
    conn.send(
        {
            "request_times": [call.at for call in sends],
            "delivered": Counter(str(p["chat_id"]) for p in fake.messages()),
            "too_many_requests": fake.too_many_requests,
            "cpu_seconds": time.process_time(),
        }
    )
    await fake.stop()


# -- the sender ------------------------------------------------------------------------


@dataclass
class Figures:
    mode: str
    subscribers: int
    cap: float
    seconds: float
    requests_per_second: float
    median_per_second: float
    too_many_requests: int
    lost: int
    duplicated: int
    counts: dict[str, int]
    sender_cpu_ms: float  # CPU per sendMessage in the sending process (robust to other load)
    fake_cpu_ms: float  # and in the fake Bot API's


def _plan(subscribers: int) -> dict:
    """Chat ids: every tenth a group; 2% blocked; 1% groups migrated to supergroups."""
    chats, blocked, migrated = [], [], {}
    for n in range(1, subscribers + 1):
        chat = -(1_000_000 + n) if n % 10 == 0 else 10_000_000 + n
        chats.append(chat)
        if n % 50 == 7:
            blocked.append(chat)
        elif n % 100 == 0:
            migrated[chat] = -1_000_000_000_000 - n
    return {"chats": chats, "blocked": blocked, "migrated": migrated}


async def _seed(database_url: str, chats: list[int]) -> TrendService:
    service = await TrendService.open(database_url)
    now = datetime.now(UTC)
    async with service.db.new_session() as session, session.begin():
        for number, chat in enumerate(chats, start=1):
            kind = "group" if chat < 0 else "private"
            session.add(SubscriberRow(id=number, chat_id=chat, chat_type=kind, created_at=now))
        await session.flush()  # no ORM relationship orders the inserts: subscribers first
        for number in range(1, len(chats) + 1):
            session.add(PreferencesRow(subscriber_id=number, trends=list(range(1, 11))))
    return service


class _WithoutRateLimitArgs:
    """The baseline's bot: AIORateLimiter takes no `rate_limit_args` dict, so drop it."""

    def __init__(self, bot: Any) -> None:
        self._bot = bot

    def __getattr__(self, name: str) -> Any:
        return getattr(self._bot, name)

    async def do_api_request(self, *args: Any, rate_limit_args: Any = None, **kwargs: Any) -> Any:
        return await self._bot.do_api_request(*args, **kwargs)


async def _run(mode: str, subscribers: int, cap: float, paid: bool) -> Figures:
    plan = _plan(subscribers)
    parent, child = multiprocessing.Pipe()
    server = multiprocessing.Process(target=_serve, args=(child, int(cap), plan), daemon=True)
    server.start()
    port = parent.recv()
    with tempfile.TemporaryDirectory(prefix="trendbot-fanout-") as scratch:
        database_url = f"sqlite+aiosqlite:///{scratch}/fanout.db"
        service = await _seed(database_url, plan["chats"])
        settings = load_settings(
            TELEGRAM_BOT_TOKEN=TOKEN,
            TELEGRAM_API_BASE_URL=f"http://127.0.0.1:{port}",
            DATABASE_URL=database_url,
            TRENDBOT_SEND_RATE=str(min(cap, 1000)),
            TRENDBOT_PAID_BROADCAST="1" if paid else "0",
        )
        try:
            due = await service.digests.current(include_settled=True)
            started, cpu = time.monotonic(), time.process_time()
            if mode == "baseline":
                counts = await _baseline(settings, service, due, port, cap)
            else:
                application = build_application(settings, service, with_jobs=False)
                async with application:
                    result = await broadcast(application.bot, service, settings, due)
                counts = result.counts
            seconds, cpu = time.monotonic() - started, time.process_time() - cpu
        finally:
            await service.close()
    parent.send("report")
    report = parent.recv()
    server.join(timeout=10)
    return _figures(mode, subscribers, cap, seconds, cpu, counts, plan, report)


async def _baseline(settings: Any, service: TrendService, due: list, port: int, cap: float):
    from bot.broadcast import concurrency_for
    from bot.render import render_digest
    from trends.delivery.broadcast import send_digests

    limiter = AIORateLimiter(overall_max_rate=cap, overall_time_period=1)
    application = (
        ApplicationBuilder()
        .token(TOKEN)
        .base_url(f"http://127.0.0.1:{port}/bot")
        .rate_limiter(limiter)
        .build()
    )
    async with application:
        sender = DigestSender(_WithoutRateLimitArgs(application.bot), service)  # type: ignore[arg-type]
        return await send_digests(
            service,
            due,
            lambda digest, language, cadence: render_digest(digest, language, cadence=cadence),
            sender.send,
            concurrency=concurrency_for(settings),
        )


def _figures(mode, subscribers, cap, seconds, cpu, counts, plan, report) -> Figures:
    times = sorted(report["request_times"])
    span = times[-1] - times[0] if len(times) > 1 else 0.0
    per_second = Counter(int(t - times[0]) for t in times)
    whole = [per_second[s] for s in range(int(span))] or [len(times)]
    delivered = report["delivered"]
    lost = duplicated = 0
    blocked = set(plan["blocked"])
    for chat in plan["chats"]:
        if chat in blocked:
            continue
        got = delivered.get(str(plan["migrated"].get(chat, chat)), 0)
        lost += got == 0
        duplicated += max(0, got - 1)
    return Figures(
        mode=mode,
        subscribers=subscribers,
        cap=cap,
        seconds=seconds,
        requests_per_second=(len(times) - 1) / span if span else 0.0,
        median_per_second=statistics.median(whole),
        too_many_requests=report["too_many_requests"],
        lost=lost,
        duplicated=duplicated,
        counts=counts,
        sender_cpu_ms=1000 * cpu / max(1, len(times)),
        fake_cpu_ms=1000 * report["cpu_seconds"] / max(1, len(times)),
    )


# -- output ------------------------------------------------------------------------------


def _load() -> str:
    return " ".join(f"{value:.2f}" for value in os.getloadavg())


def _print(figures: Figures) -> None:
    share = 100 * figures.requests_per_second / figures.cap
    print(
        f"{figures.mode:<22} {figures.subscribers:>6} subs  cap {figures.cap:>6.0f}/s  "
        f"sent {figures.requests_per_second:>7.1f}/s ({share:5.1f}% of cap), "
        f"median second {figures.median_per_second:>5.0f}  429s {figures.too_many_requests:>4}  "
        f"lost {figures.lost:>4}  duplicated {figures.duplicated:>3}  "
        f"time {figures.seconds:>6.1f} s  outcomes {dict(sorted(figures.counts.items()))}  "
        f"CPU ms/request: sender {figures.sender_cpu_ms:.2f}, fake {figures.fake_cpu_ms:.2f}"
    )


def main() -> None:
    logging.disable(logging.ERROR)  # the baseline's 429s would fill the screen with tracebacks
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--subscribers", type=int, default=10_000)
    parser.add_argument("--rate", type=float, default=30.0, help="TRENDBOT_SEND_RATE")
    parser.add_argument("--baseline-subscribers", type=int, default=1_000)
    parser.add_argument("--skip-free", action="store_true", help="only the paid-broadcast run")
    args = parser.parse_args()
    print(
        f"{platform.platform()}, {cpu_name()} x{multiprocessing.cpu_count()}, "
        f"Python {platform.python_version()}"
    )
    print(f"load average at start (other work on this machine): {_load()}")
    print(
        "requests/s counts every sendMessage the fake received (refused ones too), from "
        "the first to the last; 'median second' is the median count of whole seconds"
    )
    runs = [("baseline AIORateLimiter", args.baseline_subscribers, args.rate, False)]
    if not args.skip_free:
        runs.append(("pacer", args.subscribers, args.rate, False))
    runs.append(("pacer, paid broadcast", args.subscribers, 1000.0, True))
    for label, subscribers, cap, paid in runs:
        mode = "baseline" if label.startswith("baseline") else "pacer"
        figures = asyncio.run(_run(mode, subscribers, cap, paid))
        figures.mode = label
        _print(figures)
    print(f"load average at end: {_load()}")


if __name__ == "__main__":
    main()
