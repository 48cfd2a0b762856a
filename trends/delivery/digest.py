"""Build a digest from stored posts: pure, so previews, sends and tests agree.

Each story appears once, under the strongest of the reader's trends it is tagged with;
stories covered by more outlets rank first, then by tag score, then by date.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime

from trends.models import Digest, DigestSection, DigestStory, StoredPost, Trend

__all__ = ["STORIES_PER_TREND", "build_digest"]

STORIES_PER_TREND = 3


def build_digest(
    *,
    key: str,
    since: datetime,
    until: datetime,
    trends: Sequence[Trend],
    posts: Iterable[StoredPost],
    counts: dict[int, int],
    previous_counts: dict[int, int],
    weekly_counts: dict[int, list[int]] | None = None,
    stories_per_trend: int = STORIES_PER_TREND,
) -> Digest:
    """Sections for `trends` in their order; `weekly_counts` (oldest week first) feeds the chart."""
    posts = list(posts)
    followed = {trend.number for trend in trends}
    by_trend: dict[int, list[StoredPost]] = {number: [] for number in followed}
    for post in posts:
        primary = max(
            (tag for tag in post.trends if tag.trend in followed),
            key=lambda tag: tag.score,
            default=None,
        )
        if primary is not None:
            by_trend[primary.trend].append(post)
    sections = []
    for trend in trends:
        ranked = sorted(by_trend[trend.number], key=lambda post: _rank(post, trend.number))
        sections.append(
            DigestSection(
                trend=trend,
                count=counts.get(trend.number, 0),
                previous_count=previous_counts.get(trend.number, 0),
                stories=tuple(DigestStory.of(post) for post in ranked[:stories_per_trend]),
                weekly=tuple((weekly_counts or {}).get(trend.number, ())),
            )
        )
    return Digest(
        key=key, since=since, until=until, sections=tuple(sections), total_stories=len(posts)
    )


def _rank(post: StoredPost, trend: int) -> tuple[float, float, float]:
    tag = post.tag(trend)
    return (-len(post.also_covered_by), -(tag.score if tag else 0.0), -post.published.timestamp())
