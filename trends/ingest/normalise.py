"""Clean raw entries into `Post`s: plain text, canonical link, a dedup key, a date.

The dedup key falls back in a fixed order: the feed's guid, then the canonical link, then
the content hash. Entries with neither a title nor a web link are dropped.
"""

from __future__ import annotations

from datetime import datetime
from urllib.parse import urlparse

from trends.ingest.dedup import canonical_url, content_hash, without_tracking
from trends.ingest.text import html_to_text, safe_text
from trends.models import Post, RawEntry
from trends.strings import clip

__all__ = ["normalise", "safe_link"]

_MAX_TEXT_CHARS = 20_000  # enough for summary and tags; full articles can be 200 KB
_MAX_HTML_CHARS = 4 * _MAX_TEXT_CHARS  # markup-heavy HTML still yields the text we keep
_FUTURE_SLACK_SECONDS = 6 * 3600
MAX_LINK_CHARS = 2048  # the store's column; a longer link is dropped, since a cut one is wrong


def normalise(
    entries: list[RawEntry],
    *,
    source: str,
    language: str,
    fetched_at: datetime,
    ai_source: bool = False,
) -> list[Post]:
    """Turn one feed's entries into posts, dropping the unusable ones."""
    posts = []
    for entry in entries:
        post = _normalise_entry(entry, source=source, language=language, fetched_at=fetched_at)
        if post is not None:
            post.ai_source = ai_source
            posts.append(post)
    return posts


def safe_link(link: str | None) -> str | None:
    """The link if it is a web link; `javascript:`, `data:` and the like are dropped."""
    if not link:
        return None
    link = link.strip()
    if len(link) > MAX_LINK_CHARS or safe_text(link) != link:
        return None
    try:
        parsed = urlparse(link)
    except ValueError:  # e.g. "http://[::1"
        return None
    if parsed.scheme not in ("http", "https") or not parsed.netloc:
        return None
    return link


def _normalise_entry(
    entry: RawEntry, *, source: str, language: str, fetched_at: datetime
) -> Post | None:
    title = " ".join(safe_text(html_to_text(entry.title)).split())
    # Only the start of a long article is read: tags and summary use its first pages.
    text = safe_text(html_to_text(entry.content_html[:_MAX_HTML_CHARS]), _MAX_TEXT_CHARS)
    link = safe_link(entry.link) or safe_link(entry.guid)
    if not title and not link:  # nothing to show a reader and nothing to point them to
        return None
    title = title or _first_words(text)
    if not title:
        return None
    canonical = canonical_url(link) if link else ""
    # Without a body, two posts titled "Team update" differ only by their link.
    digest = content_hash(title, text or canonical)
    guid = safe_text((entry.guid or "").strip()) or canonical or digest
    return Post(
        guid=guid[:2048],
        link=without_tracking(link) if link else "",  # what readers are shown
        canonical_link=canonical[:MAX_LINK_CHARS] or f"urn:sha1:{digest}",
        title=title[:500],
        text=text,
        published=_plausible_date(entry.published, fetched_at),
        content_hash=digest,
        source=source,
        language=language,
    )


def _plausible_date(published: datetime | None, fetched_at: datetime) -> datetime:
    """Missing or future dates become the fetch time, so a post can't sit atop forever."""
    if published is None:
        return fetched_at
    if (published - fetched_at).total_seconds() > _FUTURE_SLACK_SECONDS:
        return fetched_at
    return published


def _first_words(text: str, limit: int = 80) -> str:
    first_line = text.strip().split("\n", 1)[0]
    return clip(first_line, limit)
