"""A subscriber's settings as plain data, and the pure rules for changing them.

The bot's /settings screens, /timezone and the tests all go through `apply_change`, so a
value that is not allowed (an unknown zone, hour 25, trend 11) is refused in one place.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from functools import cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from trends.errors import TrendbotError

__all__ = [
    "ALL_TRENDS",
    "CADENCES",
    "COMMON_TIMEZONES",
    "LANGUAGES",
    "ChatSettings",
    "InvalidSetting",
    "SettingsChange",
    "apply_change",
    "parse_timezone",
]

ALL_TRENDS = tuple(range(1, 11))  # the ten trends' numbers: an interface (/trend 6)
CADENCES = ("weekly", "daily", "off")
LANGUAGES = ("en", "zh")
# Offered as buttons; any other IANA zone is one `/timezone Area/City` away.
COMMON_TIMEZONES = (
    "UTC",
    "Europe/London",
    "Europe/Berlin",
    "America/New_York",
    "America/Chicago",
    "America/Los_Angeles",
    "America/Sao_Paulo",
    "Asia/Kolkata",
    "Asia/Singapore",
    "Asia/Shanghai",
    "Asia/Tokyo",
    "Australia/Sydney",
)
_ZONE_NAME = re.compile(r"[A-Za-z]+(?:/[A-Za-z0-9_+\-]+){1,2}")


class InvalidSetting(TrendbotError, ValueError):
    """A settings value that is not allowed; `key` names the message that explains it."""

    key = "settings.invalid"

    def __init__(self, message: str, key: str = "settings.invalid") -> None:
        super().__init__(message)
        self.key = key


@dataclass(frozen=True, slots=True)
class ChatSettings:
    """What one chat (private, group or channel) has chosen."""

    subscriber_id: int
    chat_id: int
    chat_type: str
    subscribed: bool
    trends: tuple[int, ...] = ALL_TRENDS
    cadence: str = "weekly"
    digest_day: int = 0  # 0 = Monday
    digest_hour: int = 9
    timezone: str = "UTC"
    language: str | None = None  # None: follow the user's Telegram language
    link_previews: bool = False
    alert_trends: tuple[int, ...] = ()


@dataclass(frozen=True, slots=True)
class SettingsChange:
    """One change, as a button or command asks for it.

    `kind` is one of: "trend" and "alert" (toggle trend `value`), "all_trends" (follow all),
    "cadence", "day", "hour", "timezone", "language", "previews" (toggle; value ignored).
    """

    kind: str
    value: int | str | None = None


def apply_change(settings: ChatSettings, change: SettingsChange) -> ChatSettings:
    """The settings after `change`; raises `InvalidSetting` for a value out of range."""
    kind, value = change.kind, change.value
    if kind == "trend":
        return replace(settings, trends=_toggle(settings.trends, _trend(value)))
    if kind == "alert":
        return replace(settings, alert_trends=_toggle(settings.alert_trends, _trend(value)))
    if kind == "all_trends":
        return replace(settings, trends=ALL_TRENDS)
    if kind == "cadence" and value in CADENCES:
        return replace(settings, cadence=str(value))
    if kind == "day" and isinstance(value, int) and 0 <= value <= 6:
        return replace(settings, digest_day=value)
    if kind == "hour" and isinstance(value, int) and 0 <= value <= 23:
        return replace(settings, digest_hour=value)
    if kind == "timezone":
        return replace(settings, timezone=parse_timezone(str(value or "")))
    if kind == "language" and value in LANGUAGES:
        return replace(settings, language=str(value))
    if kind == "previews":
        return replace(settings, link_previews=not settings.link_previews)
    raise InvalidSetting(f"settings: {kind}={value!r} is not allowed")


def parse_timezone(name: str) -> str:
    """An IANA zone name as zoneinfo spells it ("asia/shanghai" → "Asia/Shanghai")."""
    name = name.strip()
    if name.upper() in ("UTC", "GMT", "Z"):
        return "UTC"
    known = _known_zones()
    if name.lower() in known:
        return known[name.lower()]
    # No zone list on this system (no tzdata): ask zoneinfo itself, for Area/City names only.
    if not known and _ZONE_NAME.fullmatch(name):
        try:
            ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError):
            pass
        else:
            return name
    raise InvalidSetting(f"settings: unknown time zone {name!r}", key="bad_timezone")


@cache
def _known_zones() -> dict[str, str]:
    return {zone.lower(): zone for zone in available_timezones()}


def _trend(value: object) -> int:
    if isinstance(value, int) and value in ALL_TRENDS:
        return value
    raise InvalidSetting(f"settings: no trend {value!r}")


def _toggle(chosen: tuple[int, ...], number: int) -> tuple[int, ...]:
    return tuple(sorted(set(chosen) ^ {number}))
