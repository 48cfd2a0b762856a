"""One feed builder: RSS 2.0 bytes from items, and the feeds file that lists feed URLs."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from html import escape
from pathlib import Path

__all__ = ["NOW", "STORIES", "Item", "feeds_file", "rss", "rss_feed"]

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
# Distinct stories, so that near-duplicate detection never folds one into another.
STORIES = [
    ("Reinforcement learning lifts reasoning scores", "A lab trained its model with RL on maths."),
    ("GPU cluster doubles in size", "The data centre adds power and cooling for accelerators."),
    ("Robot arm folds laundry", "Physical AI reaches the home with a low-cost gripper."),
    ("Pricing per resolved ticket", "Support vendors charge for outcomes instead of seats."),
    (
        "Coding agent writes its own tests",
        "Developers let the assistant refactor a large codebase.",
    ),
]


@dataclass(frozen=True, slots=True)
class Item:
    title: str
    body: str
    published: datetime
    link: str | None = None  # default: https://example.com/<feed name>/<n>
    guid: str | None = None  # default: <feed name>-<n>


def rss_feed(name: str, items: Iterable[Item], *, ttl: int | None = None) -> bytes:
    """An RSS 2.0 feed titled `name`; items are numbered from 1 for their default links."""
    entries = "".join(
        f"<item><title>{escape(item.title)}</title>"
        f"<link>{escape(item.link or f'https://example.com/{name}/{number}')}</link>"
        f"<guid>{escape(item.guid or f'{name}-{number}')}</guid>"
        f"<pubDate>{format_datetime(item.published)}</pubDate>"
        f"<description>{escape(item.body)}</description></item>"
        for number, item in enumerate(items, 1)
    )
    ttl_tag = f"<ttl>{ttl}</ttl>" if ttl else ""
    return (
        '<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel>'
        f"<title>{escape(name)}</title><link>https://example.com/</link>"
        f"<description>t</description>{ttl_tag}{entries}</channel></rss>"
    ).encode()


def rss(title: str, items: int = 3, *, ttl: int | None = None, day: datetime = NOW) -> bytes:
    """A small feed of the first `items` STORIES, dated the day before `day`."""
    return rss_feed(
        title,
        (
            Item(
                f"{title} story {n}: {headline}",
                text,
                day - timedelta(days=1),
                link=f"https://example.com/{title}/{n}",
                guid=f"{title}-{n}",
            )
            for n, (headline, text) in enumerate(STORIES[:items])
        ),
        ttl=ttl,
    )


def feeds_file(
    path: Path, urls: list[str], *, poll_minutes: int | None = None, name: str = "Feed"
) -> Path:
    """A feeds file listing `urls`, named "<name> 0", "<name> 1", …"""
    lines = ["feeds:"]
    for number, url in enumerate(urls):
        lines += [f"  - url: {url}", f"    name: {name} {number}"]
        if poll_minutes is not None:
            lines.append(f"    poll_minutes: {poll_minutes}")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path
