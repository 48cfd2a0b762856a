"""Pure rendering to Telegram HTML: every string from a feed is escaped here.

Messages are built from blocks (one story, one section header) and split between blocks
so that no part passes Telegram's 4096-character limit and no story is cut in two.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from datetime import datetime
from html import escape, unescape

from bot.messages import text
from trends.models import Digest, DigestStory, StoredPost, Trend
from trends.service import TrendPage

__all__ = [
    "MAX_MESSAGE_CHARS",
    "render_digest",
    "render_trend_choices",
    "render_trend_page",
    "render_trends_overview",
    "split_blocks",
    "to_terminal",
]

MAX_MESSAGE_CHARS = 4096
_SUMMARY_CHARS = 320
_MAX_ALSO_LISTED = 3


def render_trend_page(page: TrendPage, language: str) -> str:
    if not page.posts:
        return text(language, "trend_empty")
    header = text(
        language,
        "trend_header",
        number=page.trend.number,
        name=escape(page.trend.name(language)),
        shown=len(page.posts),
        total=page.total,
    )
    blocks = [header, *(_story_block(_as_story(post), language) for post in page.posts)]
    return split_blocks(blocks)[0]


def render_trend_choices(trends: Sequence[Trend], language: str, *, query: str | None) -> str:
    """The reply to a bad or missing /trend argument: what went wrong, then the ten."""
    first = (
        text(language, "trend_unknown", query=escape(query[:40]))
        if query
        else text(language, "trend_usage")
    )
    lines = [f"{trend.number}. {escape(trend.name(language))}" for trend in trends]
    return "\n".join([first, *lines])


def render_trends_overview(
    trends: Sequence[Trend], counts: dict[int, int], previous: dict[int, int], language: str
) -> str:
    lines = [text(language, "trends_header")]
    for trend in trends:
        count = counts.get(trend.number, 0)
        change = _change(count, previous.get(trend.number, 0))
        lines.append(f"{trend.number}. {escape(trend.name(language))}: <b>{count}</b>{change}")
    lines.append(text(language, "trends_footer"))
    return "\n".join(lines)


def render_digest(digest: Digest, language: str, *, cadence: str = "weekly") -> list[str]:
    """The digest as message parts, in order, each under the length limit."""
    title = text(language, "digest_daily_title" if cadence == "daily" else "digest_title")
    stories = sum(len(section.stories) for section in digest.sections)
    blocks = [
        title
        + "\n"
        + text(
            language,
            "digest_range",
            since=_date(digest.since),
            until=_date(digest.until),
            stories=digest.total_stories,
        )
    ]
    if stories == 0:
        blocks.append(text(language, "digest_nothing"))
    for section in digest.sections:
        if not section.stories:
            continue
        blocks.append(
            text(
                language,
                "digest_section",
                number=section.trend.number,
                name=escape(section.trend.name(language)),
                count=section.count,
                change=_change(section.count, section.previous_count),
            )
        )
        blocks.extend(_story_block(story, language) for story in section.stories)
    blocks.append(f"<i>{text(language, 'digest_footer')}</i>")
    return split_blocks(blocks)


def split_blocks(blocks: Iterable[str], limit: int = MAX_MESSAGE_CHARS) -> list[str]:
    """Join blocks with blank lines into as few parts as fit under `limit`, in order."""
    parts: list[str] = []
    current = ""
    for block in blocks:
        block = block if len(block) <= limit else _shorten_block(block, limit)
        candidate = f"{current}\n\n{block}" if current else block
        if len(candidate) <= limit:
            current = candidate
        else:
            parts.append(current)
            current = block
    if current:
        parts.append(current)
    return parts


def to_terminal(html: str) -> str:
    """Telegram HTML as a terminal shows it: links as "text <url>", no other markup."""
    html = _LINK_TAG.sub(lambda m: f"{m.group(2)} ({m.group(1)})", html)
    return unescape(_ANY_TAG.sub("", html))


_LINK_TAG = re.compile(r'<a href="([^"]*)">(.*?)</a>', re.DOTALL)
_ANY_TAG = re.compile(r"</?[a-z][^>]*>")


def _story_block(story: DigestStory, language: str) -> str:
    title = escape(story.title)
    link = escape(story.link, quote=True)
    headline = f'• <a href="{link}"><b>{title}</b></a>' if link else f"• <b>{title}</b>"
    meta = escape(story.source)
    if story.published:
        meta += f", {_date(story.published)}"
    lines = [headline, f"<i>{meta}</i>"]
    summary = story.summary.strip()
    if summary and summary != story.title:
        lines.append(escape(_clip(summary, _SUMMARY_CHARS)))
    if story.also_covered_by:
        lines.append(_also_covered(story.also_covered_by, language))
    return "\n".join(lines)


def _also_covered(others: Sequence[tuple[str, str]], language: str) -> str:
    shown = [
        f'<a href="{escape(link, quote=True)}">{escape(name)}</a>' if link else escape(name)
        for name, link in others[:_MAX_ALSO_LISTED]
    ]
    sources = ", ".join(shown)
    if len(others) > _MAX_ALSO_LISTED:
        sources += " " + text(language, "more_sources", count=len(others) - _MAX_ALSO_LISTED)
    return text(language, "also_covered", sources=sources)


def _as_story(post: StoredPost) -> DigestStory:
    return DigestStory(
        title=post.title,
        link=post.link,
        source=post.source,
        summary=post.summary,
        published=post.published,
        also_covered_by=post.also_covered_by,
    )


def _change(count: int, previous: int) -> str:
    if count > previous:
        return f" ▲{count - previous}"
    if count < previous:
        return f" ▼{previous - count}"
    return ""


def _date(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%d")


def _clip(value: str, limit: int) -> str:
    if len(value) <= limit:
        return value
    cut = value[: limit - 1]
    if " " in cut[limit // 2 :]:
        cut = cut.rsplit(" ", 1)[0]
    return cut.rstrip() + "…"


def _shorten_block(block: str, limit: int) -> str:
    """A single block over the limit (never from our own layout) is cut at a line break."""
    lines, kept = block.split("\n"), []
    for line in lines:
        if sum(len(item) + 1 for item in kept) + len(line) > limit - 1:
            break
        kept.append(line)
    return "\n".join(kept) or block[: limit - 1] + "…"
