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
from trends.models import Digest, DigestStory, FeedbackEntry, StoredPost, Trend, TrendTag
from trends.services.archive import SearchPage, TrendPage
from trends.strings import clip

__all__ = [
    "MAX_CAPTION_CHARS",
    "MAX_MESSAGE_CHARS",
    "DigestParts",
    "digest_caption",
    "render_digest",
    "render_feedback",
    "render_search_page",
    "render_story",
    "render_trend_choices",
    "render_trend_page",
    "render_trends_overview",
    "split_blocks",
    "to_terminal",
]

MAX_MESSAGE_CHARS = 4096
MAX_CAPTION_CHARS = 1024
_SUMMARY_CHARS = 320
_MAX_ALSO_LISTED = 3


class DigestParts(list[str]):
    """A digest's message parts, in order, plus what its chart needs: the digest they came
    from, and the chart's caption in the same language."""

    def __init__(self, parts: Iterable[str], digest: Digest, caption: str) -> None:
        super().__init__(parts)
        self.digest = digest
        self.caption = caption


def render_trend_page(
    page: TrendPage, language: str, *, days: int | None = None, suggest: int | None = None
) -> str:
    """One page of a trend: numbered stories, so the ✗ buttons can name them.

    An empty period suggests `suggest`: the shortest longer period with posts (0: all
    time), or nothing when the trend has none at all.
    """
    if not page.posts:
        if days and page.offset == 0:
            empty = text(language, "trend_empty_period", days=days)
            number = page.trend.number
            if suggest:
                return (
                    f"{empty} {text(language, 'trend_try_period', number=number, period=suggest)}"
                )
            if suggest == 0:
                return f"{empty} {text(language, 'trend_try_all_time', number=number)}"
            return empty
        return text(language, "trend_empty")
    key, total = _counted("trend_header", page.total, page.capped_at)
    header = text(
        language,
        key,
        number=page.trend.number,
        name=escape(page.trend.name(language)),
        first=page.offset + 1,
        last=page.offset + len(page.posts),
        total=total,
        period=text(language, "period_days", days=days) if days else "",
    )
    stories = [
        _story_block(
            DigestStory.of(post), language, marker=f"{index}.", why=post.tag(page.trend.number)
        )
        for index, post in enumerate(page.posts, start=page.offset + 1)
    ]
    return split_blocks([header, *stories, text(language, "trend_feedback_hint")])[0]


def render_search_page(page: SearchPage, language: str) -> str:
    query = escape(page.query)
    if not page.posts:
        return text(language, "search_empty", query=query)
    key, total = _counted("search_header", page.total, page.capped_at)
    header = text(
        language,
        key,
        query=query,
        first=page.offset + 1,
        last=page.offset + len(page.posts),
        total=total,
    )
    stories = [
        _story_block(DigestStory.of(post), language, marker=f"{index}.")
        for index, post in enumerate(page.posts, start=page.offset + 1)
    ]
    return split_blocks([header, *stories])[0]


def render_story(story: StoredPost, language: str) -> list[str]:
    """/story N: every member of a story, its primary first: outlet, language, time, link."""
    blocks = [text(language, "story_header", story=story.id, count=len(story.members))]
    for number, member in enumerate(story.members, start=1):
        title = escape(clip(member.title, 200))
        if member.link:
            title = f'<a href="{escape(member.link, quote=True)}">{title}</a>'
        blocks.append(
            text(
                language,
                "story_member",
                number=number,
                outlet=escape(member.outlet),
                tongue=text(language, f"language_name_{member.language}")
                if member.language in ("en", "zh")
                else escape(member.language),
                time=member.published.strftime("%Y-%m-%d %H:%M UTC"),
                title=title,
            )
        )
    return split_blocks(blocks)


def render_feedback(entries: Sequence[FeedbackEntry], language: str) -> list[str]:
    """Flagged posts for the admins: how often, which trend, the title and matched terms."""
    if not entries:
        return [text(language, "feedback_none")]
    blocks = [text(language, "feedback_header")]
    for entry in entries:
        title = escape(clip(entry.title, 120))
        if entry.link:
            title = f'<a href="{escape(entry.link, quote=True)}">{title}</a>'
        terms = ", ".join(escape(term) for term in entry.matched)
        blocks.append(
            text(
                language,
                "feedback_line",
                count=entry.count,
                number=entry.trend,
                title=title,
                terms=terms or text(language, "feedback_no_terms"),
            )
        )
    return split_blocks(blocks)


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
    trends: Sequence[Trend],
    counts: dict[int, int],
    previous: dict[int, int],
    language: str,
    *,
    chart_weeks: int | None = None,
) -> str:
    lines = [text(language, "trends_header")]
    for trend in trends:
        count = counts.get(trend.number, 0)
        change = _change(count, previous.get(trend.number, 0))
        lines.append(f"{trend.number}. {escape(trend.name(language))}: <b>{count}</b>{change}")
    lines.append(text(language, "trends_footer"))
    if chart_weeks:
        lines.append(text(language, "trends_chart_note", weeks=chart_weeks))
    return "\n".join(lines)


def render_digest(
    digest: Digest, language: str, *, cadence: str = "weekly", feedback: bool = True
) -> DigestParts:
    """The digest as message parts, in order, each under the length limit.

    Parts break only between blocks (a section header, one story), so no story is cut.
    With `feedback`, each story names its "wrong trend?" command, /wrong_<post>_<trend>:
    one tap sends it, and a digest needs no button per story.
    """
    title = _digest_title(language, cadence)
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
        blocks.append(
            text(language, "digest_daily_nothing" if cadence == "daily" else "digest_nothing")
        )
    for section in digest.sections:
        if not section.stories:
            continue
        blocks.append(
            text(
                language,
                "digest_daily_section" if cadence == "daily" else "digest_section",
                number=section.trend.number,
                name=escape(section.trend.name(language)),
                count=section.count,
                previous=section.previous_count,
                change=_change(section.count, section.previous_count),
            )
        )
        for story in section.stories:
            wrong = section.trend.number if feedback and story.post_id is not None else None
            blocks.append(_story_block(story, language, wrong_trend=wrong))
        # The count covers every story tagged with the trend (as /trends and /trend do);
        # those not listed here (past the cap, or filed under a stronger trend) are one
        # command away.
        if (more := section.count - len(section.stories)) > 0:
            blocks.append(text(language, "digest_more", more=more, number=section.trend.number))
    blocks.append(f"<i>{text(language, 'digest_footer')}</i>")
    return DigestParts(
        split_blocks(blocks), digest, digest_caption(digest, language, cadence=cadence)
    )


def digest_caption(digest: Digest, language: str, *, cadence: str = "weekly") -> str:
    """The caption of the digest's chart: which digest, and how to read the chart."""
    weeks = max((len(section.weekly) for section in digest.sections), default=0) or 2
    return f"{_digest_title(language, cadence)}\n{text(language, 'digest_chart', weeks=weeks)}"


def _counted(key: str, total: int, capped_at: int | None) -> tuple[str, int | str]:
    """A page header's message and count: "of 12", or "of more than 1,000" when the
    archive stopped counting at `capped_at`."""
    return (key, total) if capped_at is None else (f"{key}_many", f"{capped_at:,}")


def _digest_title(language: str, cadence: str) -> str:
    return text(language, "digest_daily_title" if cadence == "daily" else "digest_title")


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


def _story_block(
    story: DigestStory,
    language: str,
    *,
    marker: str = "•",
    wrong_trend: int | None = None,
    why: TrendTag | None = None,
) -> str:
    story = story.for_reader(language)
    title = escape(story.title)
    link = escape(story.link, quote=True)
    headline = f'<a href="{link}"><b>{title}</b></a>' if link else f"<b>{title}</b>"
    headline = f"{marker} {headline}"
    meta = escape(story.source)
    if story.published:
        meta += f", {_date(story.published)}"
    meta = f"<i>{meta}</i>"
    if story.post_id is not None:  # every outlet's report, one tap away
        meta += " · " + text(language, "story_link", story=story.post_id)
    lines = [headline, meta]
    summary = story.summary.strip()
    if summary and summary != story.title:
        lines.append(escape(clip(summary, _SUMMARY_CHARS)))
    if story.also_covered_by:
        lines.append(_also_covered(story.also_covered_by, language, shown=story.link))
    if why is not None and why.matched:
        # Readers see why a post sits under a trend: the words that made the tag.
        terms = ", ".join(escape(term) for term in why.matched[:_MAX_WHY_TERMS])
        # Scores are the tagger's calibrated probabilities (0 to 1). Shown from 1% to
        # 99%: a tagger right on most held-out posts is never certain of one.
        likely = f"{min(max(why.score, 0.01), 0.99):.0%}"
        lines.append(text(language, "why_tagged", terms=terms, score=likely))
    if wrong_trend is not None:
        lines.append(text(language, "wrong_hint", post=story.post_id, trend=wrong_trend))
    return "\n".join(lines)


_MAX_WHY_TERMS = 4


def _also_covered(others: Sequence[tuple[str, str]], language: str, *, shown: str) -> str:
    """The other outlets, each linked to its own report; one that carried the headline's
    own page (the same URL through another feed) is named without a second copy of it."""
    names = [
        f'<a href="{escape(link, quote=True)}">{escape(name)}</a>'
        if link and link != shown
        else escape(name)
        for name, link in others[:_MAX_ALSO_LISTED]
    ]
    sources = ", ".join(names)
    if len(others) > _MAX_ALSO_LISTED:
        sources += ", …"
    return text(language, "also_covered", count=len(others), sources=sources)


def _change(count: int, previous: int) -> str:
    if count > previous:
        return f" ▲{count - previous}"
    if count < previous:
        return f" ▼{previous - count}"
    return ""


def _date(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%d")


def _shorten_block(block: str, limit: int) -> str:
    """A single block over the limit (never from our own layout) is cut at a line break."""
    lines, kept = block.split("\n"), list[str]()
    for line in lines:
        if sum(len(item) + 1 for item in kept) + len(line) > limit - 1:
            break
        kept.append(line)
    return "\n".join(kept) or block[: limit - 1] + "…"
