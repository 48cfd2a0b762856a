"""Turn a feed's bytes into `RawEntry`s with feedparser (RSS 0.9x–2.0, RSS 1.0, Atom).

feedparser is synchronous and can take seconds on a large feed, so callers run `parse`
in a worker thread. Malformed XML whose entries were recovered is a warning, not a failure.
"""

from __future__ import annotations

import calendar
import re
from datetime import UTC, datetime
from typing import Any

import feedparser

from trends.errors import ParseError
from trends.ingest.text import safe_text
from trends.models import ParsedFeed, RawEntry

__all__ = ["parse"]


def parse(content: bytes, *, url: str, content_type: str | None = None) -> ParsedFeed:
    """Parse feed bytes fetched from `url`; raise `ParseError` when no feed is there."""
    # content-location keeps relative links right; without a content-type feedparser flags
    # every feed as malformed, so a missing one is taken as generic XML.
    headers = {"content-location": url, "content-type": content_type or "application/xml"}
    # Entry HTML is never shown: normalise turns it into plain text (scripts and styles
    # dropped) and Telegram gets only escaped text. feedparser's sanitising and resolving of
    # links inside that HTML took two thirds of the ingest time and changed no text or link
    # of the corpus (bench/ingest.py); entry links are still resolved against the feed URL.
    result = feedparser.parse(
        _CHAR_REF.sub(_storable_char_ref, content),
        response_headers=headers,
        sanitize_html=False,
        resolve_relative_uris=False,
    )
    entries = [_raw_entry(entry) for entry in result.entries]
    if not result.version and not entries:
        raise ParseError(_not_a_feed_reason(content, result))
    warning = None
    if result.bozo:
        warning = f"malformed feed, {len(entries)} entries recovered: {result.bozo_exception}"
    return ParsedFeed(
        title=safe_text(result.feed.get("title") or "", 500) or None,  # the store's column
        entries=entries,
        warning=warning,
        ttl_minutes=_ttl(result.feed.get("ttl")),
    )


# `&#xD800;` (a lone surrogate) crashes feedparser's fallback parser, `&#0;` is a NUL no
# database column takes: such references become U+FFFD before any parser sees them.
_CHAR_REF = re.compile(rb"&#(?:[xX]([0-9a-fA-F]{1,16})|([0-9]{1,20}));")


def _storable_char_ref(match: re.Match[bytes]) -> bytes:
    hex_digits, digits = match.groups()
    code = int(hex_digits, 16) if hex_digits else int(digits)
    if code == 0 or 0xD800 <= code <= 0xDFFF or code > 0x10FFFF:
        return b"&#xFFFD;"
    return match.group(0)


def _ttl(value: object) -> int | None:
    """RSS <ttl> in minutes; anything that is not a positive whole number is ignored."""
    text = str(value or "").strip()
    if not (text.isascii() and text.isdigit()):  # "²".isdigit() is true too
        return None
    # The schedule waits a day at most: ten digits say as much as twenty (or 5,000).
    return int(text.lstrip("0")[:10] or "0") or None


def _raw_entry(entry: Any) -> RawEntry:
    return RawEntry(
        guid=entry.get("id") or None,
        link=entry.get("link") or None,
        title=(entry.get("title") or "").strip(),
        content_html=_best_content(entry),
        published=_published(entry),
    )


def _best_content(entry: Any) -> str:
    """The fullest body the entry offers: content:encoded / atom content, else the summary."""
    contents = entry.get("content") or []
    longest = max((item.get("value", "") for item in contents), key=len, default="")
    summary = entry.get("summary") or ""
    return longest if len(longest) > len(summary) else summary


def _published(entry: Any) -> datetime | None:
    for key in ("published_parsed", "updated_parsed", "created_parsed"):
        parsed = entry.get(key)
        if parsed and parsed.tm_year > 1970:
            return datetime.fromtimestamp(calendar.timegm(parsed), UTC)
    return None


def _not_a_feed_reason(content: bytes, result: Any) -> str:
    head = content[:2048].lower()
    if b"<html" in head or b"<!doctype html" in head:
        if b"just a moment" in head or b"cf-chl" in content[:20000].lower():
            return "an HTML page (a Cloudflare challenge), not a feed"
        return "an HTML page, not a feed"
    if not content.strip():
        return "an empty response"
    exception = result.get("bozo_exception")
    return f"not a feed ({exception})" if exception else "not a feed"
