"""The context every handler and tick gets: python-telegram-bot's CallbackContext, typed.

`context.settings` and `context.service` instead of string keys in `bot_data`, so a typo
is a type error, not a KeyError in front of a user.
"""

from __future__ import annotations

from typing import Any

from telegram.ext import Application, CallbackContext, ContextTypes, ExtBot

from config.settings import Settings
from trends.service import TrendService

__all__ = ["CONTEXT_TYPES", "BotData", "TrendApplication", "TrendContext"]


class BotData:
    """What the whole application shares; python-telegram-bot creates it empty."""

    def __init__(self) -> None:
        self._settings: Settings | None = None
        self._service: TrendService | None = None
        self.with_jobs = True  # the poll, digest and alert ticks run in this process
        self.owns_service = False  # opened in post_init, so closed at shutdown

    @property
    def settings(self) -> Settings:
        if self._settings is None:
            raise RuntimeError("the application was built without settings")
        return self._settings

    @settings.setter
    def settings(self, settings: Settings) -> None:
        self._settings = settings

    @property
    def service(self) -> TrendService:
        if self._service is None:
            raise RuntimeError("the service is opened in post_init, before any update")
        return self._service

    @service.setter
    def service(self, service: TrendService) -> None:
        self._service = service

    @property
    def has_service(self) -> bool:
        return self._service is not None


class TrendContext(CallbackContext[ExtBot[None], dict[Any, Any], dict[Any, Any], BotData]):
    @property
    def settings(self) -> Settings:
        return self.bot_data.settings

    @property
    def service(self) -> TrendService:
        return self.bot_data.service


CONTEXT_TYPES = ContextTypes(context=TrendContext, bot_data=BotData)

# The bot's and the job queue's own type parameters say nothing the handlers use.
TrendApplication = Application[Any, TrendContext, dict[Any, Any], dict[Any, Any], BotData, Any]
