"""The one delivery path: every digest goes out through `DigestSender`.

Each (subscriber, digest) is claimed in the ledger before sending, `parts_sent` moves after
every part, and the row is marked sent after the last one. So a digest reaches a chat at
most once, and a sender killed half-way resumes at the next part. (The one window left is
the few milliseconds between Telegram accepting a part and the ledger recording it: a kill
exactly there repeats that part. Telegram has no idempotency key that could close it.)

Telegram's answers, each handled here or in `bot.pacing`:

* 429: the pacer pauses that chat (or, in a flood, every chat) for ``retry_after`` and
  retries the same message;
* 5xx and network errors: retried with exponential backoff, `MAX_ATTEMPTS` times;
* 403 (blocked, deactivated, kicked) and "chat not found": the subscriber is deactivated
  after `DEACTIVATE_AFTER_FAILURES` such answers in a row;
* a group migrated to a supergroup: the subscriber moves to the new id and the part is
  sent there;
* "can't parse entities" or "message is too long": the part is sent again as plain text,
  split under the limit, rather than dropped.
"""

from __future__ import annotations

import asyncio
import logging
import warnings
from collections.abc import Awaitable, Callable
from typing import Literal

from telegram import Bot, LinkPreviewOptions
from telegram.constants import ParseMode
from telegram.error import BadRequest, ChatMigrated, Forbidden, NetworkError, RetryAfter
from telegram.warnings import PTBUserWarning

from bot.chart import digest_chart
from bot.render import MAX_MESSAGE_CHARS, DigestParts, to_terminal
from trends.delivery.ledger import Ledger
from trends.service import TrendService
from trends.services.digests import DueDigest

__all__ = [
    "BACKOFF_SECONDS",
    "DEACTIVATE_AFTER_FAILURES",
    "MAX_ATTEMPTS",
    "DigestSender",
    "Outcome",
]

log = logging.getLogger(__name__)
warnings.filterwarnings("ignore", r"Please use 'Bot\.sendMessage' instead of", PTBUserWarning)

DEACTIVATE_AFTER_FAILURES = 3  # consecutive 403 / "chat not found" answers
MAX_ATTEMPTS = 5  # per message, for 5xx and network errors
BACKOFF_SECONDS = 1.0  # first wait after a 5xx or network error; doubles, capped at 30 s

Outcome = Literal["sent", "skipped", "failed", "deactivated"]


class DigestSender:
    """Sends one digest to one subscriber through the ledger and the bot's pacer."""

    def __init__(
        self,
        bot: Bot,
        service: TrendService,
        *,
        paid_broadcast: bool = False,
        backoff: float = BACKOFF_SECONDS,
        charts: bool = False,
        ledger: Ledger | None = None,
    ) -> None:
        self.bot = bot
        self.service = service
        self.ledger = ledger or Ledger(service.db)  # shared by a broadcast's tasks
        self.paid_broadcast = paid_broadcast
        self.backoff = backoff
        self.charts = charts  # send the digest's chart (bot/chart.py) before its text

    async def send(self, due: DueDigest, parts: list[str]) -> Outcome:
        """Send the parts not yet sent, in order; returns what became of this delivery."""
        claim = await self.ledger.claim(due.subscriber_id, due.key)
        if claim is None:
            return "skipped"
        delivery_id, done = claim
        chat_id = due.chat_id
        previews = LinkPreviewOptions(is_disabled=not due.link_previews)
        # The chart counts as the first step in the ledger, so a resumed digest never
        # sends it twice; the text parts follow in order.
        with_chart = self.charts and isinstance(parts, DigestParts) and not parts.digest.is_empty
        steps: list[str | None] = [None, *parts] if with_chart else list(parts)
        try:
            for index in range(done, len(steps)):
                step = steps[index]
                if step is None:
                    chat_id = await self._send_chart(chat_id, parts, due)  # type: ignore[arg-type]
                else:
                    chat_id = await self._send_part(chat_id, step, previews, due)
                if index + 1 < len(steps):
                    await self.ledger.progress(delivery_id, index + 1)
        except (Forbidden, BadRequest) as exc:
            await self.ledger.failed(delivery_id, str(exc))
            if not _chat_is_gone(exc):
                return "failed"
            deactivated = await self.ledger.refusal(
                due.subscriber_id, str(exc), DEACTIVATE_AFTER_FAILURES
            )
            return "deactivated" if deactivated else "failed"
        except (NetworkError, RetryAfter) as exc:
            await self.ledger.failed(delivery_id, f"gave up: {exc}")
            return "failed"
        had_refusals = due.refused_before
        await self.ledger.sent(
            delivery_id, due.subscriber_id, len(steps), reset_failures=had_refusals
        )
        return "sent"

    async def _send_part(
        self, chat_id: int, part: str, previews: LinkPreviewOptions, due: DueDigest
    ) -> int:
        """Send one part, retrying what can be retried; returns the chat id it went to."""

        async def send(chat: int) -> None:
            try:
                await self._post(chat, part, ParseMode.HTML, previews, due.thread_id)
            except BadRequest as exc:
                if not _is_markup_problem(exc):
                    raise
                log.warning("chat %s: %s; sending plain text instead", chat, exc)
                for plain in _plain_parts(part):
                    await self._post(chat, plain, None, previews, due.thread_id)

        return await self._retrying(chat_id, due, send)

    async def _retrying(
        self, chat_id: int, due: DueDigest, send: Callable[[int], Awaitable[object]]
    ) -> int:
        """`send(chat_id)` until it goes through: after a 5xx or a timeout (a few times, with
        backoff), and to the new chat after a group's migration. Returns the chat it went to."""
        attempt = 0
        while True:
            attempt += 1
            try:
                await send(chat_id)
                return chat_id
            except ChatMigrated as exc:
                await self.ledger.move(due.subscriber_id, exc.new_chat_id)
                chat_id = exc.new_chat_id
            except (BadRequest, RetryAfter):
                raise  # the pacer has waited out a 429 already; a 400 is not retried
            except NetworkError:  # 5xx, timeouts, connection errors
                if attempt >= MAX_ATTEMPTS:
                    raise
                await asyncio.sleep(min(self.backoff * 2 ** (attempt - 1), 30.0))

    # -- The chart on top (bot/chart.py): a photo before the first part. ---------------

    async def _send_chart(self, chat_id: int, parts: DigestParts, due: DueDigest) -> int:
        """The chart is a part like the others: retried, moved with the chat, and recorded
        only once sent. A chart that cannot be drawn, or that Telegram refuses as a photo,
        is left out rather than holding the text back."""
        try:
            png = await asyncio.to_thread(digest_chart, parts.digest)  # cached per digest
        except Exception:
            log.exception("digest chart could not be drawn; sending the text without it")
            return chat_id

        async def send(chat: int) -> None:
            await self.bot.send_photo(
                chat,
                png,
                caption=parts.caption,
                parse_mode=ParseMode.HTML,
                message_thread_id=due.thread_id,
                allow_paid_broadcast=self.paid_broadcast or None,
                rate_limit_args={"bulk": True},  # type: ignore[call-arg]
            )

        try:
            return await self._retrying(chat_id, due, send)
        except BadRequest as exc:
            if _chat_is_gone(exc):
                raise
            log.warning("chat %s: digest chart left out: %s", chat_id, exc)
            return chat_id

    async def _post(
        self,
        chat_id: int,
        text: str,
        mode: str | None,
        previews: LinkPreviewOptions,
        thread_id: int | None = None,  # a forum topic (/route), see trends.delivery.broadcast
    ) -> None:
        # sendMessage through the same Bot, pacer and error handling as `send_message`, but
        # without building a Message from each answer: nothing reads it, and at 1,000
        # messages a second that was over a tenth of the sender's CPU. (PTB would warn
        # that `send_message` exists; the filter below silences just that advice.)
        await self.bot.do_api_request(
            "sendMessage",
            {
                "chat_id": chat_id,
                "text": text,
                "parse_mode": mode,
                "link_preview_options": previews,
                "message_thread_id": thread_id,
                "allow_paid_broadcast": self.paid_broadcast or None,
            },
            rate_limit_args={"bulk": True},  # type: ignore[call-arg]
        )


def _chat_is_gone(exc: Exception) -> bool:
    return isinstance(exc, Forbidden) or "chat not found" in str(exc).lower()


def _is_markup_problem(exc: BadRequest) -> bool:
    message = str(exc).lower()
    return "parse entities" in message or "message is too long" in message


def _plain_parts(part: str, limit: int = MAX_MESSAGE_CHARS) -> list[str]:
    """The part as plain text (links written out), split at line ends under `limit`."""
    chunks: list[str] = []
    current = ""
    for line in to_terminal(part).splitlines():
        while len(line) > limit:  # one overlong line: cut it, nothing better is safe
            chunks, current = [*chunks, current] if current else chunks, ""
            chunks.append(line[:limit])
            line = line[limit:]
        candidate = f"{current}\n{line}" if current else line
        if len(candidate) > limit:
            chunks.append(current)
            candidate = line
        current = candidate
    if current.strip():
        chunks.append(current)
    return chunks or ["…"]
