"""Subscribers: chats that subscribe, their /settings, and their forum-topic routes."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from trends import clock
from trends.preferences import ChatSettings, SettingsChange
from trends.store import preferences, routes, subscribers
from trends.store.db import Database

__all__ = ["DigestDefaults", "SubscribersService"]


@dataclass(frozen=True, slots=True)
class DigestDefaults:
    """What a new subscriber starts with."""

    weekday: int = 0  # Monday
    hour: int = 9
    timezone: str = "UTC"


class SubscribersService:
    def __init__(self, db: Database, defaults: DigestDefaults | None = None) -> None:
        self.db = db
        self.defaults = defaults or DigestDefaults()

    async def subscribe(
        self, chat_id: int, chat_type: str, *, title: str | None = None, language: str = "en"
    ) -> bool:
        """Subscribe a chat; False when it was already subscribed."""
        chat = self._new_chat(chat_id, chat_type, title, language)
        async with self.db.new_session() as session, session.begin():
            _, changed = await subscribers.subscribe(session, chat)
            return changed

    async def unsubscribe(self, chat_id: int) -> bool:
        async with self.db.new_session() as session, session.begin():
            return await subscribers.unsubscribe(session, chat_id)

    async def settings(self, chat_id: int) -> ChatSettings | None:
        async with self.db.new_session() as session:
            return await preferences.settings_of(session, chat_id)

    async def ensure_settings(
        self, chat_id: int, chat_type: str, *, title: str | None = None, language: str = "en"
    ) -> ChatSettings:
        """The chat's settings, creating them (unsubscribed) the first time it opens them."""
        chat = self._new_chat(chat_id, chat_type, title, language)
        async with self.db.new_session() as session, session.begin():
            return await preferences.ensure_settings(session, chat)

    async def change_settings(
        self, chat_id: int, change: SettingsChange
    ) -> tuple[ChatSettings, bool] | None:
        """Apply one change; (new settings, whether anything changed), None if no settings.
        Raises `InvalidSetting` for a value that is not allowed."""
        async with self.db.new_session() as session, session.begin():
            return await preferences.change_settings(session, chat_id, change)

    async def chosen_language(self, chat_id: int) -> str | None:
        async with self.db.new_session() as session:
            return await preferences.chosen_language(session, chat_id)

    async def chat_language(self, chat_id: int) -> str | None:
        """For messages the bot starts (admin notices): chosen, else first seen."""
        async with self.db.new_session() as session:
            return await preferences.chat_language(session, chat_id)

    async def set_route(self, subscriber_id: int, trend: int, thread_id: int) -> None:
        async with self.db.new_session() as session, session.begin():
            await routes.set_route(session, subscriber_id, trend, thread_id)

    async def clear_route(self, subscriber_id: int, trend: int | None = None) -> int:
        async with self.db.new_session() as session, session.begin():
            return await routes.clear_route(session, subscriber_id, trend)

    async def topic_routes(self, subscriber_ids: Iterable[int]) -> dict[int, dict[int, int]]:
        """subscriber id → {trend: forum thread id}."""
        async with self.db.new_session() as session:
            return await routes.routes_of(session, subscriber_ids)

    def _new_chat(
        self, chat_id: int, chat_type: str, title: str | None, language: str
    ) -> subscribers.NewChat:
        return subscribers.NewChat(
            chat_id=chat_id,
            chat_type=chat_type,
            title=title,
            language=language,
            now=clock.utcnow(),
            digest_day=self.defaults.weekday,
            digest_hour=self.defaults.hour,
            timezone=self.defaults.timezone,
        )
