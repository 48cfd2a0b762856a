"""The /settings screens: pure functions from settings to (HTML text, inline keyboard).

Button data is `s:<action>[:<value>]`, at most 64 bytes as Telegram requires;
`parse_button` reads it back into the screen to show and the change to make.
"""

from __future__ import annotations

from collections.abc import Sequence
from html import escape

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from bot.messages import text
from bot.numbers import parse_count
from jobs.alerts import ALERTS_PER_HOUR
from trends.models import Trend
from trends.preferences import (
    ALL_TRENDS,
    CADENCES,
    COMMON_TIMEZONES,
    LANGUAGES,
    ChatSettings,
    SettingsChange,
)

__all__ = [
    "PREFIX",
    "SCREENS",
    "describe_change",
    "digest_line",
    "parse_button",
    "settings_screen",
]

PREFIX = "s:"
SCREENS = ("main", "trends", "schedule", "zone", "language", "alerts")
# Which screen each change is made from, so the confirmation shows where it was pressed.
_SCREEN_OF = {
    "trend": "trends",
    "all_trends": "trends",
    "alert": "alerts",
    "cadence": "schedule",
    "day": "schedule",
    "hour": "schedule",
    "timezone": "zone",
    "language": "language",
    "previews": "main",
}
_INT_KINDS = ("trend", "alert", "day", "hour")
_HOURS_PER_ROW = 6
_ZONES_PER_ROW = 3


def parse_button(data: str) -> tuple[str, SettingsChange | None] | None:
    """(screen, change) for a settings button's data; None for data that isn't ours."""
    if not data.startswith(PREFIX):
        return None
    action, _, value = data.removeprefix(PREFIX).partition(":")
    if action == "go":
        return (value, None) if value in SCREENS else None
    if action not in _SCREEN_OF:
        return None
    if action in _INT_KINDS:
        number = parse_count(value, maximum=10_000)  # hours, trends, days: small numbers
        if number is None:
            return None
        return _SCREEN_OF[action], SettingsChange(action, number)
    return _SCREEN_OF[action], SettingsChange(action, value or None)


def settings_screen(
    settings: ChatSettings,
    trends: Sequence[Trend],
    language: str,
    screen: str = "main",
    *,
    notice: str | None = None,
    chat_title: str | None = None,
) -> tuple[str, InlineKeyboardMarkup]:
    """One screen of /settings; `notice` (already HTML) confirms the change just made."""
    build = _SCREENS.get(screen, _main)
    body, rows = build(settings, trends, language)
    if screen != "main":
        rows.append([_button(text(language, "btn_back"), "go:main")])
    head = [text(language, "settings_saved", what=notice)] if notice else []
    if screen == "main":
        title = (
            text(language, "settings_title_chat", chat=escape(chat_title))
            if chat_title
            else text(language, "settings_title")
        )
        body = f"{title}\n{body}"
    return "\n\n".join([*head, body]), InlineKeyboardMarkup(rows)


def digest_line(settings: ChatSettings, language: str) -> str:
    """ "Digest: weekly, Monday at 09:00 (UTC)" in the reader's language."""
    return text(
        language,
        f"settings_digest_{settings.cadence}",
        day=text(language, f"weekday_{settings.digest_day}"),
        hour=settings.digest_hour,
        timezone=escape(settings.timezone),
    )


def describe_change(
    change: SettingsChange, after: ChatSettings, trends: Sequence[Trend], language: str
) -> str:
    """What a change did, as the confirmation says it (HTML)."""
    kind = change.kind
    if kind in ("trend", "alert"):
        trend = next(t for t in trends if t.number == change.value)
        chosen = after.trends if kind == "trend" else after.alert_trends
        on = trend.number in chosen
        key = {
            "trend": ("saved_follow", "saved_unfollow"),
            "alert": ("saved_alert_on", "saved_alert_off"),
        }
        return text(
            language,
            key[kind][0 if on else 1],
            number=trend.number,
            name=escape(trend.name(language)),
        )
    if kind == "cadence":
        return text(language, f"saved_cadence_{after.cadence}")
    if kind == "day":
        return text(language, "saved_day", day=text(language, f"weekday_{after.digest_day}"))
    if kind == "hour":
        return text(language, "saved_hour", hour=after.digest_hour)
    if kind == "timezone":
        return text(language, "saved_timezone", timezone=escape(after.timezone))
    if kind == "previews":
        return text(language, "saved_previews", state=_state(after.link_previews, language))
    return text(language, f"saved_{kind}")  # all_trends, language


def _main(
    settings: ChatSettings, trends: Sequence[Trend], language: str
) -> tuple[str, list[list[InlineKeyboardButton]]]:
    lines = [digest_line(settings, language), _trends_line(settings, language)]
    if settings.alert_trends:
        numbers = ", ".join(map(str, settings.alert_trends))
        lines.append(text(language, "settings_alerts_on", numbers=numbers))
    else:
        lines.append(text(language, "settings_alerts_off"))
    name = text(language, f"language_name_{language}")
    lines.append(
        text(
            language,
            "settings_language" if settings.language else "settings_language_auto",
            name=name,
        )
    )
    lines.append(
        text(language, "settings_previews", state=_state(settings.link_previews, language))
    )
    if not settings.subscribed:
        lines.append(f"<i>{text(language, 'settings_not_subscribed')}</i>")
    previews = text(language, "btn_previews", state=_state(settings.link_previews, language))
    rows = [
        [
            _button(text(language, "btn_trends"), "go:trends"),
            _button(text(language, "btn_schedule"), "go:schedule"),
        ],
        [
            _button(text(language, "btn_timezone"), "go:zone"),
            _button(text(language, "btn_language"), "go:language"),
        ],
        [_button(text(language, "btn_alerts"), "go:alerts"), _button(previews, "previews")],
    ]
    return "\n".join(lines), rows


def _trends(
    settings: ChatSettings, trends: Sequence[Trend], language: str
) -> tuple[str, list[list[InlineKeyboardButton]]]:
    rows = [
        [
            _button(
                _checked(t.number in settings.trends, f"{t.number}. {t.name(language)}"),
                f"trend:{t.number}",
            )
        ]
        for t in trends
    ]
    if tuple(settings.trends) != ALL_TRENDS:
        rows.append([_button(text(language, "btn_all_trends"), "all_trends")])
    return text(language, "settings_trends_help"), rows


def _alerts(
    settings: ChatSettings, trends: Sequence[Trend], language: str
) -> tuple[str, list[list[InlineKeyboardButton]]]:
    rows = [
        [
            _button(
                ("🔔 " if t.number in settings.alert_trends else "🔕 ")
                + f"{t.number}. {t.name(language)}",
                f"alert:{t.number}",
            )
        ]
        for t in trends
    ]
    return text(language, "settings_alerts_help", per_hour=ALERTS_PER_HOUR), rows


def _schedule(
    settings: ChatSettings, trends: Sequence[Trend], language: str
) -> tuple[str, list[list[InlineKeyboardButton]]]:
    rows = [
        [
            _button(
                _checked(settings.cadence == c, text(language, f"btn_cadence_{c}")), f"cadence:{c}"
            )
            for c in CADENCES
        ]
    ]
    if settings.cadence == "weekly":
        rows.append(
            [
                _button(
                    _checked(
                        settings.digest_day == d, text(language, f"weekday_short_{d}"), mark="•"
                    ),
                    f"day:{d}",
                )
                for d in range(7)
            ]
        )
    if settings.cadence != "off":
        hours = [
            _button(_checked(settings.digest_hour == h, f"{h:02d}", mark="•"), f"hour:{h}")
            for h in range(24)
        ]
        rows.extend(hours[i : i + _HOURS_PER_ROW] for i in range(0, 24, _HOURS_PER_ROW))
    body = "\n".join(
        [
            text(language, "settings_schedule_help", timezone=escape(settings.timezone)),
            digest_line(settings, language),
        ]
    )
    return body, rows


def _zone(
    settings: ChatSettings, trends: Sequence[Trend], language: str
) -> tuple[str, list[list[InlineKeyboardButton]]]:
    buttons = [
        _button(
            _checked(settings.timezone == zone, zone.split("/")[-1].replace("_", " ")),
            f"timezone:{zone}",
        )
        for zone in COMMON_TIMEZONES
    ]
    rows = [buttons[i : i + _ZONES_PER_ROW] for i in range(0, len(buttons), _ZONES_PER_ROW)]
    return text(language, "settings_timezone_help", timezone=escape(settings.timezone)), rows


def _language(
    settings: ChatSettings, trends: Sequence[Trend], language: str
) -> tuple[str, list[list[InlineKeyboardButton]]]:
    row = [
        _button(
            _checked(settings.language == code, text(code, f"language_name_{code}")),
            f"language:{code}",
        )
        for code in LANGUAGES
    ]
    return text(language, "settings_language_help"), [row]


_SCREENS = {
    "main": _main,
    "trends": _trends,
    "alerts": _alerts,
    "schedule": _schedule,
    "zone": _zone,
    "language": _language,
}


def _trends_line(settings: ChatSettings, language: str) -> str:
    if tuple(settings.trends) == ALL_TRENDS:
        return text(language, "settings_trends_all")
    if not settings.trends:
        return text(language, "settings_trends_none")
    numbers = ", ".join(map(str, settings.trends))
    return text(language, "settings_trends_some", count=len(settings.trends), numbers=numbers)


def _checked(on: bool, label: str, *, mark: str = "✅") -> str:
    return f"{mark} {label}" if on else label


def _state(on: bool, language: str) -> str:
    return text(language, "state_on" if on else "state_off")


def _button(label: str, action: str) -> InlineKeyboardButton:
    return InlineKeyboardButton(label, callback_data=PREFIX + action)
