"""Buttons of the archive replies, and the compact, versioned data they carry.

Telegram gives a button at most 64 bytes of callback data. Each format starts with a letter
and a version digit, so a change of format can still read (or politely expire) the buttons
on old messages:

    t1:<trend>:<days>:<offset>   a page of /trend (days 0: all time)       "t1:6:30:5"
    q1:<offset>:<query>          a page of /search                         "q1:5:智能体"
    w1:<post>:<trend>            "wrong trend?" on one post of /trend      "w1:812:6"
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from trends.models import StoredPost, Trend
from trends.strings import clip

__all__ = [
    "MAX_DATA_BYTES",
    "PAGE_SIZE",
    "PERIODS",
    "SearchButton",
    "TrendButton",
    "WrongButton",
    "fit_query",
    "parse_button",
    "search_keyboard",
    "trend_choices_keyboard",
    "trend_keyboard",
]

MAX_DATA_BYTES = 64
PAGE_SIZE = 5
PERIODS = (7, 30, 90)  # the days /trend accepts as 7d, 30d, 90d
_CHOICE_LABEL_CHARS = 22
_TREND = re.compile(r"t1:(\d{1,2}):(\d{1,3}):(\d{1,6})")
_SEARCH = re.compile(r"q1:(\d{1,6}):(.+)", re.DOTALL)
_WRONG = re.compile(r"w1:(\d{1,12}):(\d{1,2})")


@dataclass(frozen=True, slots=True)
class TrendButton:
    trend: int
    days: int  # 0: all time
    offset: int

    @property
    def data(self) -> str:
        return f"t1:{self.trend}:{self.days}:{self.offset}"


@dataclass(frozen=True, slots=True)
class SearchButton:
    offset: int
    query: str

    @property
    def data(self) -> str:
        return f"q1:{self.offset}:{self.query}"


@dataclass(frozen=True, slots=True)
class WrongButton:
    post_id: int
    trend: int

    @property
    def data(self) -> str:
        return f"w1:{self.post_id}:{self.trend}"


def parse_button(data: str | None) -> TrendButton | SearchButton | WrongButton | None:
    """The button behind callback data, or None for data this version does not read."""
    data = data or ""
    if match := _TREND.fullmatch(data):
        trend, days, offset = (int(value) for value in match.groups())
        return TrendButton(trend, days, offset)
    if match := _SEARCH.fullmatch(data):
        return SearchButton(int(match.group(1)), match.group(2))
    if match := _WRONG.fullmatch(data):
        return WrongButton(int(match.group(1)), int(match.group(2)))
    return None


def fit_query(query: str) -> str:
    """`query` cut (at a word if possible) so a page button can carry it."""
    room = MAX_DATA_BYTES - len("q1:999999:")
    if len(query.encode()) <= room:
        return query
    cut = query.encode()[:room].decode(errors="ignore")
    return cut.rsplit(" ", 1)[0] if " " in cut.strip() else cut


def trend_keyboard(
    trend: Trend, posts: Sequence[StoredPost], *, days: int, offset: int, total: int
) -> InlineKeyboardMarkup | None:
    """✗ per listed post ("wrong trend?"), then ◀ ▶ where there is a page to go to."""
    rows = []
    if posts:
        rows.append(
            [
                InlineKeyboardButton(
                    f"✗ {index}", callback_data=WrongButton(post.id, trend.number).data
                )
                # Numbered as the page numbers its stories: 6–10 on page two.
                for index, post in enumerate(posts, start=offset + 1)
            ]
        )
    pages = _pages(offset, total, lambda to: TrendButton(trend.number, days, to).data)
    if pages:
        rows.append(pages)
    return InlineKeyboardMarkup(rows) if rows else None


def search_keyboard(query: str, *, offset: int, total: int) -> InlineKeyboardMarkup | None:
    pages = _pages(offset, total, lambda to: SearchButton(to, query).data)
    return InlineKeyboardMarkup([pages]) if pages else None


def trend_choices_keyboard(trends: Sequence[Trend], language: str) -> InlineKeyboardMarkup:
    """The ten trends as buttons, two a row; pressing one opens its first page."""
    buttons = [
        InlineKeyboardButton(
            clip(f"{trend.number}. {trend.name(language)}", _CHOICE_LABEL_CHARS, at_word=False),
            callback_data=TrendButton(trend.number, 0, 0).data,
        )
        for trend in trends
    ]
    return InlineKeyboardMarkup([buttons[i : i + 2] for i in range(0, len(buttons), 2)])


def _pages(offset: int, total: int, data_for: Callable[[int], str]) -> list[InlineKeyboardButton]:
    """◀ when there is a page before, ▶ when there is one after; none at the ends."""
    buttons = []
    if offset > 0:
        buttons.append(
            InlineKeyboardButton("◀", callback_data=data_for(max(0, offset - PAGE_SIZE)))
        )
    if offset + PAGE_SIZE < total:
        buttons.append(InlineKeyboardButton("▶", callback_data=data_for(offset + PAGE_SIZE)))
    return buttons
