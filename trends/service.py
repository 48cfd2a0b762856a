"""The one service layer: the bot, the scheduled jobs and the CLI all call a `TrendService`.

It opens the database and holds one service per noun (`trends/services/`): feeds,
archive, subscribers, digests, broadcasts, alerts.
"""

from __future__ import annotations

from pathlib import Path

from trends.errors import ConfigError
from trends.ingest.llm import LLMConfig, LLMEnricher
from trends.services.alerts import AlertsService
from trends.services.archive import ArchiveService
from trends.services.broadcasts import BroadcastsService
from trends.services.digests import DigestsService
from trends.services.feeds import FeedsService
from trends.services.leases import DEFAULT_LEASE_SECONDS, SenderLease, process_owner
from trends.services.subscribers import DigestDefaults, SubscribersService
from trends.store.db import Database, open_database
from trends.themes import Themes, load_themes

__all__ = ["TrendService"]


class TrendService:
    def __init__(
        self,
        db: Database,
        themes: Themes,
        *,
        feeds_path: Path | None = None,
        defaults: DigestDefaults | None = None,
        llm: LLMConfig | None = None,
        allow_private_feeds: bool = False,
        lease_seconds: float = DEFAULT_LEASE_SECONDS,
    ) -> None:
        self.db = db
        self.themes = themes
        # This process in the leases it takes: the feeds it polls, the sender lease.
        self.owner = process_owner()
        # Optional: an OpenAI-compatible model that tags and summarises (trends.ingest.llm).
        self.llm = LLMEnricher(llm, themes, db) if llm is not None else None
        self.feeds = FeedsService(
            db,
            themes,
            feeds_path=feeds_path,
            llm=self.llm,
            allow_private_feeds=allow_private_feeds,
            owner=self.owner,
            lease_seconds=lease_seconds,
        )
        self.sender = SenderLease(db, self.owner, lease_seconds)
        self.archive = ArchiveService(db)
        self.subscribers = SubscribersService(db, defaults)
        self.digests = DigestsService(db, themes)
        self.broadcasts = BroadcastsService(db)
        self.alerts = AlertsService(db)

    @classmethod
    async def open(
        cls,
        database_url: str,
        *,
        themes_path: Path | None = None,
        feeds_path: Path | None = None,
        defaults: DigestDefaults | None = None,
        llm: LLMConfig | None = None,
        allow_private_feeds: bool = False,
        lease_seconds: float = DEFAULT_LEASE_SECONDS,
    ) -> TrendService:
        """Open (and migrate) the database, load the themes, and register configured feeds."""
        try:
            themes = load_themes(themes_path)
        except ValueError as exc:
            raise ConfigError(str(exc)) from exc
        db = await open_database(database_url)
        service = cls(
            db,
            themes,
            feeds_path=feeds_path,
            defaults=defaults,
            llm=llm,
            allow_private_feeds=allow_private_feeds,
            lease_seconds=lease_seconds,
        )
        try:
            await service.feeds.sync_configured()
        except BaseException:
            await db.close()
            raise
        return service

    async def close(self) -> None:
        self.feeds.close()
        if self.llm is not None:
            await self.llm.aclose()
        await self.db.close()
