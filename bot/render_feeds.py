"""Pure rendering of feed management replies and feed events; every feed value is escaped."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from html import escape

from bot.messages import text
from bot.render import split_blocks
from trends.ingest.report import FeedEvent
from trends.services.feeds import FeedHealth, ImportReport
from trends.strings import clip

__all__ = ["render_feed_event", "render_feed_list", "render_import"]

_ERROR_CHARS = 300
_MAX_SKIPPED_LISTED = 20


def render_feed_list(feeds: Sequence[FeedHealth], language: str) -> list[str]:
    """`/feeds`: one block per feed with its health, split into messages under the limit."""
    if not feeds:
        return [text(language, "feeds_empty")]
    blocks = [text(language, "feeds_header", count=len(feeds))]
    blocks += [_feed_block(feed, language) for feed in feeds]
    blocks.append(text(language, "feeds_footer"))
    return split_blocks(blocks)


def render_feed_event(event: FeedEvent, language: str = "en") -> str:
    """The admin message for a feed that is failing, recovered, or gone."""
    return text(
        language,
        f"event_{event.kind}",
        name=escape(event.name),
        url=escape(event.url),
        error=escape(clip(event.error or "", _ERROR_CHARS)),
        failures=event.failures,
    )


def render_import(report: ImportReport, language: str) -> list[str]:
    header = text(language, "opml_imported", added=len(report.added), skipped=len(report.skipped))
    lines = [
        text(
            language,
            "opml_skipped",
            url=escape(clip(url, _ERROR_CHARS)),
            reason=escape(clip(reason, _ERROR_CHARS)),
        )
        for url, reason in report.skipped[:_MAX_SKIPPED_LISTED]
    ]
    return split_blocks([header, "\n".join(lines)] if lines else [header])


def _feed_block(feed: FeedHealth, language: str) -> str:
    never = text(language, "never")
    state = ""
    if not feed.enabled:
        reason = escape(clip(feed.disabled_reason or "", _ERROR_CHARS))
        state = text(language, "feed_disabled", reason=reason)
    block = text(
        language,
        "feed_line",
        id=feed.id,
        name=escape(feed.name),
        state=state,
        url=escape(feed.url),
        success=_when(feed.last_success_at) or never,
        posts=feed.posts_7d,
        # No next check yet: a just-added feed is polled at the next tick.
        next=(_when(feed.next_check_at) or text(language, "now")) if feed.enabled else "—",
    )
    if feed.consecutive_failures:
        error = escape(clip(feed.last_error or "", _ERROR_CHARS))
        block += text(language, "feed_failing", failures=feed.consecutive_failures, error=error)
    elif feed.last_error and feed.last_error_at:
        error = escape(clip(feed.last_error, _ERROR_CHARS))
        block += text(language, "feed_last_error", when=_when(feed.last_error_at), error=error)
    return block


def _when(moment: datetime | None) -> str:
    return moment.strftime("%Y-%m-%d %H:%M UTC") if moment else ""
