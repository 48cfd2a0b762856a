"""What a poll tells its caller: one report per feed, and the events admins should hear of."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

__all__ = ["FeedEvent", "FeedReport", "PollReport"]


@dataclass(frozen=True, slots=True)
class FeedEvent:
    """Something the admins should hear about a feed, once.

    `failing`: ALERT_AFTER_FAILURES failures in a row (with the last error); `recovered`:
    it works again after such an alert; `gone`: 410, so the feed was disabled.
    """

    kind: Literal["failing", "recovered", "gone"]
    url: str
    name: str
    error: str | None = None
    failures: int = 0


@dataclass(slots=True)
class FeedReport:
    url: str
    name: str
    status: Literal["fetched", "not_modified", "failed"]
    new_posts: int = 0
    duplicates: int = 0
    error: str | None = None
    warning: str | None = None
    moved_to: str | None = None  # the new URL after a permanent redirect
    event: FeedEvent | None = None
    error_kind: str | None = None  # the failure's TrendbotError.key, e.g. "fetch.timeout"


@dataclass(slots=True)
class PollReport:
    feeds: list[FeedReport] = field(default_factory=list)

    def count(self, status: str) -> int:
        return sum(1 for feed in self.feeds if feed.status == status)

    @property
    def events(self) -> list[FeedEvent]:
        """What the admins should be told after this poll."""
        return [feed.event for feed in self.feeds if feed.event is not None]

    @property
    def new_posts(self) -> int:
        return sum(feed.new_posts for feed in self.feeds)

    @property
    def duplicates(self) -> int:
        return sum(feed.duplicates for feed in self.feeds)

    def to_json(self) -> dict[str, object]:
        """The shape `trendbot poll --once --json` prints; scripts depend on it."""
        return {
            "fetched": self.count("fetched"),
            "not_modified": self.count("not_modified"),
            "failed": [
                {"url": feed.url, "error": feed.error}
                for feed in self.feeds
                if feed.status == "failed"
            ],
            "new_posts": self.new_posts,
            "duplicates": self.duplicates,
        }
