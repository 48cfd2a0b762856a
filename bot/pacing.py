"""Pacing: every request the bot makes to a chat waits its turn, so Telegram's limits hold.

`Pacer` is plugged into the Application as its rate limiter (it replaces PTB's
`AIORateLimiter`, so nothing throttles twice). It holds, for every request with a chat id:

* a global rate, `TRENDBOT_SEND_RATE` messages per second (the paid-broadcast lane, for
  requests with ``allow_paid_broadcast``, runs at up to 1000 per second instead);
* at most one message per second to one chat (AIORateLimiter does not do this one);
* at most 20 messages a minute to one group or channel.

Telegram counts requests when they reach it, and a request can reach it late (a busy event
loop, a slow network) and then arrive right next to a later one. So each limit is measured
from the *answer* to an earlier request, never from its sending: a request may go once the
request `rate` turns before it was answered a full second ago (one second after the last
answer in the same chat; a minute after the 20th-last answer in a group). Telegram saw the
earlier request before it answered and sees the new one after it is sent, so the two are
always at least the limit apart at Telegram's end, whatever the jitter. Within that, turns
are spread evenly, `1 / rate` apart. Replies to users jump ahead of a digest broadcast in
the global queue; broadcast sends mark themselves with ``rate_limit_args={"bulk": True}``.

A 429 pauses what it must: the chat that got it, for its ``retry_after``; when several chats
are told to wait within a second, the whole bot is being throttled and the global lane
pauses too. The same request is then retried, a bounded number of times.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import deque
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any

from telegram.error import RetryAfter
from telegram.ext import BaseRateLimiter

__all__ = [
    "GROUP_PER_MINUTE",
    "MAX_IN_FLIGHT",
    "PAID_BROADCAST_RATE",
    "PRIVATE_CHAT_INTERVAL",
    "Pacer",
    "retry_seconds",
]

PAID_BROADCAST_RATE = 1000.0  # messages per second with allow_paid_broadcast
PRIVATE_CHAT_INTERVAL = 1.0  # seconds between two messages to one chat
GROUP_PER_MINUTE = 20  # messages per minute to one group or channel
# Requests sent and not yet answered, at most: enough for 1,000/s at 32 ms round trips.
# More would only queue inside the HTTP client (bot/transport.py), one connection each.
MAX_IN_FLIGHT = 32
MAX_RETRIES = 5  # 429 answers retried per request before the caller sees RetryAfter
_FLOOD_WINDOW = 1.0  # 429s for two different chats within this many seconds: a bot-wide flood
_LATE = 0.01  # how far a busy lane may catch up on its schedule after waking late
_SWEEP_AT = 4096  # chats remembered before idle ones are forgotten

Callback = Callable[..., Coroutine[Any, Any, Any]]


def retry_seconds(error: RetryAfter) -> float:
    """`retry_after` in seconds, whether PTB gives an int or a timedelta."""
    value: Any = error.retry_after
    return value.total_seconds() if hasattr(value, "total_seconds") else float(value)


def is_group(chat_id: object) -> bool:
    """Groups, supergroups and channels have negative ids, or are addressed by @username."""
    text = str(chat_id)
    return text.startswith(("-", "@"))


@dataclass(slots=True)
class _Turn:
    answered: float | None = None  # when the request's answer came back


class _Lane:
    """A global queue: turns `1 / rate` apart, and never more than `rate` within a second of
    answers; urgent waiters go first."""

    def __init__(self, rate: float) -> None:
        self.interval = 1.0 / rate
        self.paused_until = 0.0
        self._next = 0.0
        self._window: deque[_Turn] = deque(maxlen=max(1, int(rate)))
        self._urgent: deque[asyncio.Future[_Turn]] = deque()
        self._bulk: deque[asyncio.Future[_Turn]] = deque()
        self._wake = asyncio.Event()
        self._answered = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._in_flight = 0

    async def acquire(self, urgent: bool) -> _Turn:
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self._run())
        waiter: asyncio.Future[_Turn] = asyncio.get_running_loop().create_future()
        (self._urgent if urgent else self._bulk).append(waiter)
        self._wake.set()
        return await waiter

    @property
    def waiting(self) -> int:
        return sum(not w.done() for q in (self._urgent, self._bulk) for w in q)

    def answered(self, turn: _Turn) -> None:
        turn.answered = time.monotonic()
        self._in_flight -= 1
        self._answered.set()

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    def _ready_at(self) -> float | None:
        """When the next turn may start; None while the turn `rate` back awaits its answer,
        or while `MAX_IN_FLIGHT` requests do."""
        if self._in_flight >= MAX_IN_FLIGHT:
            return None
        at = max(self._next, self.paused_until)
        if len(self._window) == self._window.maxlen:
            oldest = self._window[0]
            if oldest.answered is None:
                return None
            at = max(at, oldest.answered + 1.0)
        return at

    def _pop(self) -> asyncio.Future[_Turn] | None:
        for queue in (self._urgent, self._bulk):
            while queue:
                waiter = queue.popleft()
                if not waiter.done():  # a cancelled waiter gives its turn away
                    return waiter
        return None

    async def _run(self) -> None:
        while True:
            if not self._urgent and not self._bulk:
                self._wake.clear()
                await self._wake.wait()
                # An idle lane does not save up turns for a burst later.
                self._next = max(self._next, time.monotonic())
                continue
            at = self._ready_at()
            if at is None:
                self._answered.clear()
                await self._answered.wait()
                continue
            if (wait := at - time.monotonic()) > 0:
                await asyncio.sleep(wait)
                continue  # re-check: an answer or a pause may have come meanwhile
            waiter = self._pop()
            if waiter is None:
                continue
            turn = _Turn()
            self._window.append(turn)
            self._in_flight += 1
            waiter.set_result(turn)
            # Keep to the schedule when woken a little late, but never bank more than _LATE.
            self._next = max(at, time.monotonic() - _LATE) + self.interval


@dataclass(slots=True)
class _Chat:
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    answered: deque[float] = field(default_factory=lambda: deque(maxlen=GROUP_PER_MINUTE))
    paused_until: float = 0.0

    def ready_at(self, group: bool) -> float:
        at = self.paused_until
        if self.answered:
            at = max(at, self.answered[-1] + PRIVATE_CHAT_INTERVAL)
        if group and len(self.answered) == GROUP_PER_MINUTE:
            at = max(at, self.answered[0] + 60.0)
        return at


class Pacer(BaseRateLimiter[dict[str, Any]]):
    """The bot's rate limiter: global, per-chat and per-group pacing, and 429 handling."""

    def __init__(
        self,
        rate: float,
        *,
        paid_rate: float = PAID_BROADCAST_RATE,
        max_retries: int = MAX_RETRIES,
    ) -> None:
        self.rate, self.paid_rate, self.max_retries = rate, paid_rate, max_retries
        self.retried = 0  # 429 answers seen, for reports and the benchmark
        self._lanes: dict[bool, _Lane] = {}
        self._chats: dict[str, _Chat] = {}
        self._floods: deque[tuple[float, str]] = deque(maxlen=8)
        self._sweep_at = _SWEEP_AT

    def waiting(self) -> int:
        """Requests queued for a turn, across lanes (the queue depth in /metrics)."""
        return sum(lane.waiting for lane in self._lanes.values())

    async def initialize(self) -> None:
        """Lanes are created on first use, inside the running event loop."""

    async def shutdown(self) -> None:
        for lane in self._lanes.values():
            await lane.close()
        self._lanes.clear()

    async def process_request(
        self,
        callback: Callback,
        args: Any,
        kwargs: dict[str, Any],
        endpoint: str,
        data: dict[str, Any],
        rate_limit_args: dict[str, Any] | None,
    ) -> Any:
        chat_id = data.get("chat_id")
        if chat_id is None:  # getMe, setMyCommands, answerCallbackQuery: not chat traffic
            return await callback(*args, **kwargs)
        paid = bool(data.get("allow_paid_broadcast"))
        urgent = not (rate_limit_args or {}).get("bulk")
        chat = str(chat_id)
        state = self._chats.get(chat)
        if state is None:
            state = self._chats[chat] = _Chat()
            self._forget_idle_chats()
        # One request at a time per chat: a digest's parts stay in order, and each waits
        # for the answer to the one before.
        async with state.lock:
            for attempt in range(self.max_retries + 1):
                try:
                    return await self._send(
                        state, is_group(chat), paid, urgent, callback, args, kwargs
                    )
                except RetryAfter as error:
                    self.retried += 1
                    if attempt == self.max_retries:
                        raise
                    self._pause(chat, paid, retry_seconds(error))
        raise AssertionError("unreachable")

    async def _send(
        self,
        state: _Chat,
        group: bool,
        paid: bool,
        urgent: bool,
        callback: Callback,
        args: Any,
        kwargs: dict[str, Any],
    ) -> Any:
        """Wait for the chat's turn, then a global one; send; note when the answer came."""
        while (wait := state.ready_at(group) - time.monotonic()) > 0:
            await asyncio.sleep(wait)
        lane = self._lane(paid)
        turn = await lane.acquire(urgent)
        try:
            return await callback(*args, **kwargs)
        finally:
            lane.answered(turn)
            state.answered.append(turn.answered or time.monotonic())

    def _lane(self, paid: bool) -> _Lane:
        if paid not in self._lanes:
            self._lanes[paid] = _Lane(self.paid_rate if paid else self.rate)
        return self._lanes[paid]

    def _pause(self, chat: str, paid: bool, seconds: float) -> None:
        now = time.monotonic()
        self._chats[chat].paused_until = max(self._chats[chat].paused_until, now + seconds)
        self._floods.append((now, chat))
        recent = {other for at, other in self._floods if now - at < _FLOOD_WINDOW}
        if len(recent) > 1:  # not one chat's limit: Telegram is throttling the whole bot
            lane = self._lane(paid)
            lane.paused_until = max(lane.paused_until, now + seconds)

    def _forget_idle_chats(self) -> None:
        """Drop chats idle for over a minute, so a broadcast to 100k chats doesn't pile up."""
        if len(self._chats) < self._sweep_at:
            return
        horizon = time.monotonic() - 60.0
        for chat, state in list(self._chats.items()):
            idle = not state.answered or state.answered[-1] < horizon
            if idle and not state.lock.locked() and state.paused_until < horizon:
                del self._chats[chat]
        self._sweep_at = max(_SWEEP_AT, 2 * len(self._chats))  # sweeps stay O(1) amortised
