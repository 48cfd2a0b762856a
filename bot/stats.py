"""Admin-only views: /stats, and the short report admins get after each broadcast."""

from __future__ import annotations

from collections.abc import Mapping

from telegram import Update

from bot.admin import is_admin
from bot.context import TrendContext
from bot.messages import language_of, text
from trends.models import BroadcastSummary, Stats

__all__ = ["render_report", "render_stats", "stats_command"]


async def stats_command(update: Update, context: TrendContext) -> None:
    """/stats: subscribers, posts this week, feed health and the last broadcast (admins)."""
    user, message = update.effective_user, update.effective_message
    if message is None:
        return
    language = language_of(user.language_code if user else None)
    if not is_admin(update, context.settings):
        await message.reply_html(text(language, "admins_only"))
        return
    stats = await context.service.archive.stats()
    await message.reply_html(render_stats(stats, language), disable_web_page_preview=True)


def render_stats(stats: Stats, language: str) -> str:
    last = stats.last_broadcast
    return text(
        language,
        "stats",
        active=stats.active,
        inactive=stats.inactive,
        posts=stats.posts_this_week,
        healthy=stats.feeds_healthy,
        failing=stats.feeds_failing,
        last=_broadcast(last, language) if last else text(language, "stats_no_broadcast"),
    )


def render_report(key: str, counts: Mapping[str, int], seconds: float, language: str) -> str:
    """The admins' note after a broadcast: sent, failed, deactivated, skipped, time taken."""
    return text(
        language, "broadcast_report", digest=key, seconds=_duration(seconds), **_counts(counts)
    )


def _broadcast(last: BroadcastSummary, language: str) -> str:
    counts = {
        "sent": last.sent,
        "failed": last.failed,
        "deactivated": last.deactivated,
        "skipped": last.skipped,
    }
    return text(
        language,
        "stats_broadcast",
        digest=last.digest_key,
        finished=last.finished_at.strftime("%Y-%m-%d %H:%M"),
        seconds=_duration(last.seconds),
        **counts,
    )


def _counts(counts: Mapping[str, int]) -> dict[str, int]:
    return {name: counts.get(name, 0) for name in ("sent", "failed", "deactivated", "skipped")}


def _duration(seconds: float) -> str:
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, rest = divmod(round(seconds), 60)
    return f"{minutes} min {rest:02d} s"
