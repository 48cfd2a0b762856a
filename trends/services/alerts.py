"""Instant alerts: posts a chat asked to hear of at once, within its hourly budget."""

from __future__ import annotations

from datetime import datetime

from trends import clock
from trends.store import alerts
from trends.store.alerts import AlertPolicy, DueAlert
from trends.store.db import Database

__all__ = ["AlertsService"]


class AlertsService:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def due(self, policy: AlertPolicy, now: datetime | None = None) -> list[DueAlert]:
        async with self.db.new_session() as session:
            return await alerts.due_alerts(session, now or clock.utcnow(), policy)

    async def claim(
        self, subscriber_id: int, post_id: int, per_hour: int, now: datetime | None = None
    ) -> bool:
        """Take one alert from the chat's budget; False when it was sent or the hour is full."""
        async with self.db.new_session() as session, session.begin():
            return await alerts.claim_alert(
                session, subscriber_id, post_id, now or clock.utcnow(), per_hour
            )
