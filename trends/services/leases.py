"""Leases between processes sharing one database: feeds claimed by one poller at a time
(`FeedsService.poll`), and the one process that sends (`SenderLease`).

A holder renews its lease every third of its length while it works, so a poll or a
broadcast may take as long as it needs; a holder that dies stops renewing, and its lease
passes to the others once it has expired (`TRENDBOT_LEASE_SECONDS`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import secrets
import socket
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import timedelta

from trends import clock
from trends.store import leases as lease_store
from trends.store.db import Database

__all__ = ["DEFAULT_LEASE_SECONDS", "SENDER", "SenderLease", "process_owner", "renewing"]

log = logging.getLogger(__name__)

DEFAULT_LEASE_SECONDS = 60.0
SENDER = "sender"  # the lease of the process that sends digests


def process_owner() -> str:
    """This process's name in a lease: host and pid for the operator, and a random tail so a
    reused pid on a restarted host is never mistaken for the old process."""
    return f"{socket.gethostname()[:60]}:{os.getpid()}:{secrets.token_hex(4)}"


@contextlib.asynccontextmanager
async def renewing(
    renew: Callable[[], Awaitable[bool]],
    every: float,
    on_lost: Callable[[], object] | None = None,
) -> AsyncIterator[None]:
    """Call `renew()` every `every` seconds while the block runs; `on_lost()` once when it
    says the lease is no longer ours. A renewal that fails (the database away for a moment)
    is logged and tried again at the next turn: the lease is still live until it expires."""

    async def loop() -> None:
        while True:
            await asyncio.sleep(every)
            try:
                held = await renew()
            except Exception:
                log.exception("lease renewal failed; trying again in %.0f s", every)
                continue
            if not held:
                if on_lost is not None:
                    on_lost()
                return

    task = asyncio.get_running_loop().create_task(loop())
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


class SenderLease:
    """The `sender` lease: exactly one process sends digests at a time.

    `hold()` waits until the lease is free (or expired: its holder died), keeps it renewed
    while the block runs and gives it up at the end. If it is lost meanwhile (this process
    stalled past the expiry and another took over), the block is cancelled rather than
    sending beside the new holder.
    """

    def __init__(self, db: Database, owner: str, seconds: float = DEFAULT_LEASE_SECONDS) -> None:
        self.db = db
        self.owner = owner
        self.seconds = seconds

    async def acquire(self) -> bool:
        """One attempt: True when this process holds the lease now."""
        now = clock.utcnow()
        async with self.db.new_session() as session, session.begin():
            return await lease_store.acquire(
                session, SENDER, self.owner, now, timedelta(seconds=self.seconds)
            )

    async def holder(self) -> str | None:
        """Who holds the lease while it is live, or None."""
        async with self.db.new_session() as session:
            return await lease_store.holder(session, SENDER, clock.utcnow())

    async def release(self) -> None:
        async with self.db.new_session() as session, session.begin():
            await lease_store.release(session, SENDER, self.owner)

    @contextlib.asynccontextmanager
    async def hold(
        self, *, wait: bool = True, on_wait: Callable[[str], object] | None = None
    ) -> AsyncIterator[bool]:
        """Hold the lease for the block; yields False (without waiting) when `wait` is off
        and another process holds it. `on_wait(holder)` is called once before waiting."""
        told = False
        while not await self.acquire():
            if not wait:
                yield False
                return
            if not told and on_wait is not None and (other := await self.holder()) is not None:
                on_wait(other)
                told = True
            await asyncio.sleep(max(self.seconds / 10, 0.1))
        work = asyncio.current_task()

        def lost() -> None:
            log.error("the sender lease was lost to another process; stopping this broadcast")
            if work is not None:
                work.cancel()

        try:
            async with renewing(self.acquire, self.seconds / 3, lost):
                yield True
        finally:
            with contextlib.suppress(Exception):
                await self.release()
