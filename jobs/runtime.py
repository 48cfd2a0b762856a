"""Build the service from settings: the one place where configuration meets the domain."""

from __future__ import annotations

from config.settings import Settings
from trends.service import DigestDefaults, TrendService

__all__ = ["open_service"]


async def open_service(settings: Settings) -> TrendService:
    return await TrendService.open(
        settings.database_url,
        themes_path=settings.themes_path,
        feeds_path=settings.feeds_path,
        defaults=DigestDefaults(
            weekday=settings.digest_weekday, hour=settings.digest_hour, timezone=settings.timezone
        ),
    )
