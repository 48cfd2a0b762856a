"""Group commit for the delivery ledger, so a broadcast's bookkeeping keeps up with its sends.

Each caller awaits its own write, exactly as with one transaction per write, but every write
queued while a transaction commits goes into the next one together. At 30 messages a second
that is one or two writes per transaction; at 1,000 (paid broadcast) it is dozens, and the
database does one commit where it would otherwise do hundreds. Claims are batched the same
way, with one query per digest key instead of one per subscriber.

Two rules keep a fast broadcast's bookkeeping cheap. When writes come in bunches (the last
transaction carried `BUSY_BATCH` or more), the next starts `COMMIT_INTERVAL` after it at the
earliest: committing as soon as the last one ended only made transactions smaller and more
frequent as they got cheaper, at a fixed cost each. A trickle of writes (30 messages a
second) is still committed at once. And claims, which cost several statements and which a
broadcast can wait for (its tasks claim well ahead of their turn to send), join a
transaction only when nothing else is queued, when `CLAIM_BATCH` are waiting, or after
`CLAIM_WAIT`; the records of what Telegram accepted never wait behind them.

The window in which a killed sender would repeat a message (Telegram has answered, the
record is not committed) is one commit at a trickle, as before, and `COMMIT_INTERVAL` plus
one commit at most when busy, which is no longer than before: at 1,000 messages a second in
bench/fanout.py it measured about 20 ms typically and under 90 ms at worst, where
back-to-back commits gave 20 ms typically and over 300 ms at worst, as the busier event loop
fell behind.
"""

from __future__ import annotations

import asyncio
import itertools
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.exc import OperationalError

from trends.store import deliveries, subscribers
from trends.store.db import Database

__all__ = ["Ledger"]

LOCKED_PATIENCE = 300.0  # seconds a write waits out a locked SQLite database
CLAIM_BATCH = 100  # claims that join the next transaction even while records are queued
CLAIM_WAIT = 0.05  # seconds a claim waits at most for others to join it
COMMIT_INTERVAL = 0.02  # seconds from one busy transaction's start to the next's, at least
BUSY_BATCH = 4  # writes in a transaction that make the next one wait for COMMIT_INTERVAL


@dataclass(slots=True)
class _Write:
    kind: str  # claim | progress | sent | failed | refusal | move
    args: tuple[Any, ...]
    done: asyncio.Future[Any] = field(
        default_factory=lambda: asyncio.get_running_loop().create_future()
    )


class Ledger:
    """The ledger calls of `TrendService`, group-committed; safe to share between tasks."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self._queue: list[_Write] = []  # everything but claims
        self._claims: list[_Write] = []
        self._claims_since = 0.0  # when the oldest waiting claim came
        self._refused: set[int] = set()  # subscribers with a refusal counted by this ledger
        self._last_commit = 0.0  # when the last transaction started
        self._busy = False  # the last transaction had BUSY_BATCH writes or more
        self._flusher: asyncio.Task[None] | None = None

    async def claim(self, subscriber_id: int, key: str) -> tuple[int, int] | None:
        """(delivery id, parts already sent), or None if this digest is sent or given up."""
        return await self._submit("claim", subscriber_id, key)

    async def progress(self, delivery_id: int, parts_sent: int) -> None:
        await self._submit("progress", delivery_id, parts_sent)

    async def sent(
        self, delivery_id: int, subscriber_id: int, parts_sent: int, *, reset_failures: bool = True
    ) -> None:
        """Mark the delivery sent. A success ends a run of refusals: pass `reset_failures`
        False when the subscriber had none as the broadcast began, to spare the statement
        (one it refused since, through this ledger, is reset all the same)."""
        await self._submit("sent", delivery_id, subscriber_id, parts_sent, reset_failures)

    async def failed(self, delivery_id: int, error: str) -> None:
        await self._submit("failed", delivery_id, error)

    async def refusal(self, subscriber_id: int, reason: str, limit: int) -> bool:
        """Count a "blocked" or "chat not found" answer; True when it deactivates now."""
        return await self._submit("refusal", subscriber_id, reason, limit)

    async def move(self, subscriber_id: int, new_chat_id: int) -> None:
        """A group became a supergroup: its digests follow it to the new id."""
        await self._submit("move", subscriber_id, new_chat_id)

    async def _submit(self, kind: str, *args: Any) -> Any:
        write = _Write(kind, args)
        if kind == "claim":
            if not self._claims:
                self._claims_since = time.monotonic()
            self._claims.append(write)
        else:
            self._queue.append(write)
        if self._flusher is None or self._flusher.done():
            self._flusher = asyncio.get_running_loop().create_task(self._flush())
        return await write.done

    def _next_batch(self) -> list[_Write]:
        batch, self._queue = self._queue, []
        if (
            not batch
            or len(self._claims) >= CLAIM_BATCH
            or time.monotonic() - self._claims_since >= CLAIM_WAIT
        ):
            batch, self._claims = batch + self._claims, []
        return batch

    async def _flush(self) -> None:
        """Commit what is queued, then what queued meanwhile, until nothing is left."""
        while self._queue or self._claims:
            wait = self._last_commit + COMMIT_INTERVAL - time.monotonic()
            if self._busy and wait > 0:
                await asyncio.sleep(wait)  # let more writes join this transaction
            self._last_commit = time.monotonic()
            batch = self._next_batch()
            self._busy = len(batch) >= BUSY_BATCH
            try:
                results = await self._commit_with_retries(batch)
            except Exception as exc:  # every waiter of this batch sees the failure
                for write in batch:
                    if not write.done.done():
                        write.done.set_exception(exc)
                continue
            for write, result in zip(batch, results, strict=True):
                if not write.done.done():
                    write.done.set_result(result)

    async def _commit_with_retries(self, batch: list[_Write]) -> list[Any]:
        # SQLite refuses a transaction that read before another connection wrote ("database
        # is locked") at once, without waiting: the batch is all-or-nothing, so run it again.
        # The batch may record messages Telegram has already accepted: giving up would leave
        # them pending and the next run would send them again. So a busy database (a large
        # ingest holding the write lock past busy_timeout) is waited out, however long.
        started = time.monotonic()
        for attempt in itertools.count():
            try:
                return await self._commit(batch)
            except OperationalError as exc:
                if "locked" not in str(exc) or time.monotonic() - started > LOCKED_PATIENCE:
                    raise
                await asyncio.sleep(min(0.02 * 2**attempt, 1.0))
        raise AssertionError("unreachable")

    async def _commit(self, batch: list[_Write]) -> list[Any]:
        now = datetime.now(UTC)
        by_kind: dict[str, list[tuple[Any, ...]]] = {}
        for write in batch:
            by_kind.setdefault(write.kind, []).append(write.args)
        async with self.db.new_session() as session, session.begin():
            claimed = await deliveries.claim_many(session, by_kind.get("claim", []), now)
            progress = by_kind.get("progress", [])
            sent = by_kind.get("sent", [])
            await deliveries.record_parts_sent(session, progress)
            await deliveries.mark_sent_many(session, [(d, n) for d, _, n, _ in sent], now)
            resets = [sid for _, sid, _, reset in sent if reset or sid in self._refused]
            await subscribers.reset_failures_many(session, resets)
            for delivery_id, error in by_kind.get("failed", []):
                await deliveries.mark_failed(session, delivery_id, error)
            results: list[Any] = []
            for write in batch:
                if write.kind == "claim":
                    results.append(claimed.get(write.args))
                elif write.kind == "refusal":
                    self._refused.add(write.args[0])
                    results.append(await subscribers.record_refusal(session, *write.args))
                else:
                    if write.kind == "move":
                        await subscribers.move_chat(session, *write.args)
                    results.append(None)
        return results
