"""The one delivery path: every digest goes out through `DigestSender`.

Each (subscriber, digest) is claimed in the ledger before sending and marked sent after the
last part, so a digest reaches a chat at most once, even across restarts. Telegram's answers
are handled here: 429 waits and retries, a blocked chat is deactivated after a few refusals
in a row, a migrated group is followed to its new id, and HTML Telegram rejects falls back
to plain text rather than losing the digest.
"""

from __future__ import annotations

import asyncio
import logging
import re
from dataclasses import dataclass, field
from html import unescape
from typing import Literal

from telegram import Bot, LinkPreviewOptions
from telegram.constants import ParseMode
from telegram.error import BadRequest, ChatMigrated, Forbidden, NetworkError, RetryAfter, TimedOut

from trends.service import DueDigest, TrendService

__all__ = ["DEACTIVATE_AFTER_FAILURES", "BroadcastReport", "DigestSender", "Outcome"]

log = logging.getLogger(__name__)

DEACTIVATE_AFTER_FAILURES = 3  # consecutive 403 / "chat not found" answers
MAX_ATTEMPTS = 5  # per message, for 429, 5xx and network errors
_TAG = re.compile(r"<[^>]+>")

Outcome = Literal["sent", "skipped", "failed", "deactivated"]


@dataclass(slots=True)
class BroadcastReport:
    sent: int = 0
    skipped: int = 0
    failed: int = 0
    deactivated: int = 0
    errors: list[str] = field(default_factory=list)

    def add(self, outcome: Outcome) -> None:
        setattr(self, outcome, getattr(self, outcome) + 1)


class DigestSender:
    def __init__(self, bot: Bot, service: TrendService) -> None:
        self.bot = bot
        self.service = service

    async def send(self, due: DueDigest, parts: list[str]) -> Outcome:
        """Send one digest to one subscriber through the ledger."""
        delivery_id = await self.service.claim_delivery(due.subscriber.id, due.key)
        if delivery_id is None:
            return "skipped"
        chat_id = due.subscriber.chat_id
        previews = LinkPreviewOptions(is_disabled=not due.preferences.link_previews)
        try:
            for part in parts:
                chat_id = await self._send_part(chat_id, part, previews, due)
        except (Forbidden, BadRequest) as exc:
            if _chat_is_gone(exc):
                deactivated = await self.service.record_refusal(
                    due.subscriber.id, str(exc), DEACTIVATE_AFTER_FAILURES
                )
                await self.service.delivery_failed(delivery_id, str(exc))
                return "deactivated" if deactivated else "failed"
            await self.service.delivery_failed(delivery_id, str(exc))
            return "failed"
        except (NetworkError, RetryAfter) as exc:
            await self.service.delivery_failed(delivery_id, f"gave up: {exc}")
            return "failed"
        await self.service.delivery_sent(delivery_id, due.subscriber.id)
        return "sent"

    async def _send_part(
        self, chat_id: int, part: str, previews: LinkPreviewOptions, due: DueDigest
    ) -> int:
        """Send one part, retrying what can be retried; returns the chat id it went to."""
        html = True
        for attempt in range(1, MAX_ATTEMPTS + 1):
            try:
                await self.bot.send_message(
                    chat_id,
                    part if html else _plain(part),
                    parse_mode=ParseMode.HTML if html else None,
                    link_preview_options=previews,
                )
                return chat_id
            except RetryAfter as exc:
                await asyncio.sleep(_seconds(exc.retry_after) + 0.1)
            except ChatMigrated as exc:
                await self.service.move_chat(due.subscriber.id, exc.new_chat_id)
                chat_id = exc.new_chat_id
            except BadRequest as exc:
                if html and _is_markup_problem(exc):
                    html = False  # degrade to plain text rather than drop the digest
                    continue
                raise
            except (TimedOut, NetworkError):
                if attempt == MAX_ATTEMPTS:
                    raise
                await asyncio.sleep(min(2**attempt, 30))
        raise NetworkError(f"no success after {MAX_ATTEMPTS} attempts")


def _chat_is_gone(exc: Exception) -> bool:
    message = str(exc).lower()
    return isinstance(exc, Forbidden) or "chat not found" in message


def _is_markup_problem(exc: BadRequest) -> bool:
    message = str(exc).lower()
    return "parse entities" in message or "message is too long" in message


def _plain(part: str) -> str:
    plain = unescape(_TAG.sub("", part))
    return plain if len(plain) <= 4096 else plain[:4095] + "…"


def _seconds(value: object) -> float:
    return value.total_seconds() if hasattr(value, "total_seconds") else float(value)  # type: ignore[arg-type,union-attr]
