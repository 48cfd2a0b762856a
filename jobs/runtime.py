"""Build the service from settings: the one place where configuration meets the domain."""

from __future__ import annotations

from config.settings import Settings
from trends.ingest.llm import LLMConfig
from trends.service import TrendService
from trends.services.subscribers import DigestDefaults

__all__ = ["llm_config", "open_service"]


async def open_service(settings: Settings) -> TrendService:
    return await TrendService.open(
        settings.database_url,
        themes_path=settings.themes_path,
        feeds_path=settings.feeds_path,
        defaults=DigestDefaults(
            weekday=settings.digest_weekday, hour=settings.digest_hour, timezone=settings.timezone
        ),
        llm=llm_config(settings),
        allow_private_feeds=settings.allow_private_feeds,
        lease_seconds=settings.lease_seconds,
    )


def llm_config(settings: Settings) -> LLMConfig | None:
    """The LLM settings, or None (the default): no URL means no model is ever called."""
    if settings.llm_url is None or settings.llm_model is None:
        return None
    return LLMConfig(
        url=settings.llm_url,
        model=settings.llm_model,
        api_key=settings.llm_api_key,
        daily_tokens=settings.llm_daily_tokens,
    )
