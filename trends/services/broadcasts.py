"""Broadcasts: one record per digest period sent, for /stats and the admins' report.

The deliveries themselves are recorded by the ledger (`trends.delivery.ledger`).
"""

from __future__ import annotations

from trends import clock
from trends.store import broadcasts
from trends.store.db import Database

__all__ = ["BroadcastsService"]


class BroadcastsService:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def start(self, key: str) -> int:
        async with self.db.new_session() as session, session.begin():
            return await broadcasts.start(session, key, clock.utcnow())

    async def finish(self, broadcast_id: int, counts: dict[str, int]) -> None:
        async with self.db.new_session() as session, session.begin():
            await broadcasts.finish(session, broadcast_id, clock.utcnow(), counts)
