"""Preferences: what each chat chose in /settings, read and changed as `ChatSettings`."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from trends.preferences import ChatSettings, SettingsChange, apply_change
from trends.store import subscribers
from trends.store.schema import PreferencesRow, SubscriberRow

__all__ = [
    "NOT_SUBSCRIBED",
    "change_settings",
    "chat_language",
    "chosen_language",
    "ensure_settings",
    "settings_of",
]

# Why a chat that opened /settings before /subscribe has an inactive row.
NOT_SUBSCRIBED = "not subscribed yet"


async def settings_of(
    session: AsyncSession, chat_id: int, *, for_update: bool = False
) -> ChatSettings | None:
    found = await _rows(session, chat_id, for_update=for_update)
    return _as_settings(*found) if found else None


async def ensure_settings(session: AsyncSession, chat: subscribers.NewChat) -> ChatSettings:
    """The chat's settings; a chat seen for the first time gets the defaults, unsubscribed."""
    if (found := await settings_of(session, chat.chat_id)) is not None:
        return found
    row, _ = await subscribers.subscribe(session, chat)
    # Settings are kept for later, but nothing is sent until the chat subscribes.
    row.active, row.deactivated_reason = False, NOT_SUBSCRIBED
    await session.flush()
    found = await settings_of(session, chat.chat_id)
    assert found is not None
    return found


async def change_settings(
    session: AsyncSession, chat_id: int, change: SettingsChange
) -> tuple[ChatSettings, bool] | None:
    """Apply `change` (row locked where the database can); the new settings and whether
    anything changed. None when the chat has no settings."""
    found = await _rows(session, chat_id, for_update=True)
    if found is None:
        return None
    before = _as_settings(*found)
    after = apply_change(before, change)
    prefs = found[1]
    prefs.trends, prefs.alert_trends = list(after.trends), list(after.alert_trends)
    prefs.cadence, prefs.timezone, prefs.language = after.cadence, after.timezone, after.language
    prefs.digest_day, prefs.digest_hour = after.digest_day, after.digest_hour
    prefs.link_previews = after.link_previews
    return after, after != before


async def chosen_language(session: AsyncSession, chat_id: int) -> str | None:
    """The language a chat picked in /settings, or None to follow Telegram's."""
    return await session.scalar(
        select(PreferencesRow.language)
        .join(SubscriberRow, SubscriberRow.id == PreferencesRow.subscriber_id)
        .where(SubscriberRow.chat_id == chat_id)
    )


async def chat_language(session: AsyncSession, chat_id: int) -> str | None:
    """The language a chat picked in /settings, else the one its Telegram app used when it
    first wrote to the bot; None for a chat the bot has never seen."""
    found = (
        await session.execute(
            select(PreferencesRow.language, SubscriberRow.language)
            .join(SubscriberRow, SubscriberRow.id == PreferencesRow.subscriber_id)
            .where(SubscriberRow.chat_id == chat_id)
        )
    ).first()
    return None if found is None else found[0] or found[1]


async def _rows(
    session: AsyncSession, chat_id: int, *, for_update: bool
) -> tuple[SubscriberRow, PreferencesRow] | None:
    query = (
        select(SubscriberRow, PreferencesRow)
        .join(PreferencesRow, PreferencesRow.subscriber_id == SubscriberRow.id)
        .where(SubscriberRow.chat_id == chat_id)
    )
    if for_update:
        query = query.with_for_update(of=PreferencesRow)
    found = (await session.execute(query)).first()
    return (found[0], found[1]) if found else None


def _as_settings(subscriber: SubscriberRow, prefs: PreferencesRow) -> ChatSettings:
    return ChatSettings(
        subscriber_id=subscriber.id,
        chat_id=subscriber.chat_id,
        chat_type=subscriber.chat_type,
        subscribed=subscriber.active,
        trends=tuple(sorted(prefs.trends or ())),
        cadence=prefs.cadence,
        digest_day=prefs.digest_day,
        digest_hour=prefs.digest_hour,
        timezone=prefs.timezone,
        language=prefs.language,
        link_previews=prefs.link_previews,
        alert_trends=tuple(sorted(prefs.alert_trends or ())),
    )
