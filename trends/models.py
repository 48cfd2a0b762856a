"""Plain data shared by the pipeline stages: no I/O, no ORM, no Telegram.

The flow is feed → fetch (`FetchResult`) → parse (`ParsedFeed` of `RawEntry`) → normalise
(`Post`) → dedup → summarise → tag (`TrendTag`) → store → digest (`Digest`).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime

__all__ = [
    "BroadcastSummary",
    "Digest",
    "DigestSection",
    "DigestStory",
    "FeedSpec",
    "FeedbackEntry",
    "ParsedFeed",
    "Post",
    "RawEntry",
    "Stats",
    "StoredPost",
    "StoryMember",
    "Trend",
    "TrendTag",
    "lead_first",
]


@dataclass(frozen=True, slots=True)
class Trend:
    """One of the ten trends; `number` is part of the user interface (`/trend 6`)."""

    number: int
    key: str
    name_en: str
    name_zh: str
    definition: str = ""

    def name(self, language: str) -> str:
        return self.name_zh if language.startswith("zh") else self.name_en


@dataclass(frozen=True, slots=True)
class TrendTag:
    """A trend a post is about, how strongly, and the terms that made the tag."""

    trend: int
    score: float
    matched: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class FeedSpec:
    """A feed as configured in the feeds file."""

    url: str
    name: str
    language: str = "en"
    poll_minutes: int = 60
    enabled: bool = True
    ai_source: bool = False  # every post is about AI (a lab's blog), so the AI gate is open
    preferred: bool = False  # leads a story several feeds tell when they tie on time


@dataclass(slots=True)
class RawEntry:
    """One entry as the feed gave it, before any cleaning."""

    guid: str | None
    link: str | None
    title: str
    content_html: str
    published: datetime | None


@dataclass(slots=True)
class ParsedFeed:
    title: str | None
    entries: list[RawEntry]
    warning: str | None = None  # set when the XML was malformed but entries were recovered
    ttl_minutes: int | None = None  # RSS <ttl>: how long the publisher says to wait


@dataclass(slots=True)
class Post:
    """A normalised post, ready for dedup, summarising and tagging."""

    guid: str
    link: str
    canonical_link: str
    title: str
    text: str  # plain text of the body, HTML removed
    published: datetime | None
    content_hash: str
    source: str = ""
    language: str = "en"
    ai_source: bool = False
    summary: str = ""
    trends: list[TrendTag] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class StoryMember:
    """One outlet's report of a story: what `/story N` lists and "also covered by" links."""

    post_id: int
    outlet: str  # the feed's name
    link: str  # without tracking parameters
    language: str
    published: datetime
    title: str = ""
    summary: str = ""
    preferred: bool = False  # the feed is marked preferred in the feeds file
    text_chars: int = 0

    def precedence(self) -> tuple[datetime, bool, int, str, str]:
        """Sorts the story's primary first: first published, then a preferred feed, then
        the longest text; outlet and link make the order total, so it never depends on
        which feed was polled first."""
        return (self.published, not self.preferred, -self.text_chars, self.outlet, self.link)


def lead_first(members: Iterable[StoryMember]) -> tuple[StoryMember, ...]:
    """A story's members, its primary first (see `StoryMember.precedence`)."""
    return tuple(sorted(members, key=StoryMember.precedence))


@dataclass(frozen=True, slots=True)
class StoredPost:
    """A story as read back from the store: its primary's title, link and summary, the
    tags of its first stored report, and every member (primary first).

    `id` is the story's id, the first stored report's post id: `/story N` and the
    "wrong trend?" answers name it.
    """

    id: int
    title: str
    link: str
    summary: str
    source: str
    published: datetime
    trends: tuple[TrendTag, ...] = ()
    also_covered_by: tuple[tuple[str, str], ...] = ()  # (source name, link), primary excluded
    members: tuple[StoryMember, ...] = ()  # primary first; empty when read without them

    def tag(self, trend: int) -> TrendTag | None:
        return next((tag for tag in self.trends if tag.trend == trend), None)

    @classmethod
    def of_story(
        cls, story_id: int, members: Sequence[StoryMember], trends: tuple[TrendTag, ...]
    ) -> StoredPost:
        """The story led by its primary member, the others as its coverage."""
        ordered = lead_first(members)
        lead = ordered[0]
        return cls(
            id=story_id,
            title=lead.title,
            link=lead.link,
            summary=lead.summary,
            source=lead.outlet,
            published=lead.published,
            trends=trends,
            also_covered_by=tuple((m.outlet, m.link) for m in ordered[1:]),
            members=ordered,
        )


@dataclass(frozen=True, slots=True)
class DigestStory:
    title: str
    link: str
    source: str
    summary: str
    published: datetime | None
    also_covered_by: tuple[tuple[str, str], ...] = ()  # (source name, link)
    post_id: int | None = None  # the story's id, for /story N and "wrong trend?" answers
    members: tuple[StoryMember, ...] = ()  # primary first

    @classmethod
    def of(cls, post: StoredPost) -> DigestStory:
        return cls(
            title=post.title,
            link=post.link,
            source=post.source,
            summary=post.summary,
            published=post.published,
            also_covered_by=post.also_covered_by,
            post_id=post.id,
            members=post.members,
        )

    def for_reader(self, language: str) -> DigestStory:
        """The story as a reader of `language` sees it: led by the first member in that
        language where one exists (a Chinese reader gets the Chinese report's headline and
        link), every other member as "also covered by"."""
        lead = next((m for m in self.members if m.language == language), None)
        if lead is None or lead is self.members[0]:
            return self
        return dataclasses.replace(
            self,
            title=lead.title,
            link=lead.link,
            source=lead.outlet,
            summary=lead.summary,
            published=lead.published,
            also_covered_by=tuple((m.outlet, m.link) for m in self.members if m is not lead),
        )


@dataclass(frozen=True, slots=True)
class DigestSection:
    trend: Trend
    count: int
    previous_count: int
    stories: tuple[DigestStory, ...]
    weekly: tuple[int, ...] = ()  # stories per week, oldest first, ending with this week


@dataclass(frozen=True, slots=True)
class Digest:
    key: str  # identifies the digest period, e.g. "weekly:2026-11-30"; one delivery per chat
    since: datetime
    until: datetime
    sections: tuple[DigestSection, ...]
    total_stories: int = 0  # distinct stories in the period; a story can sit in two trends

    @property
    def is_empty(self) -> bool:
        return not any(section.stories for section in self.sections)


@dataclass(frozen=True, slots=True)
class FeedbackEntry:
    """Readers' "wrong trend?" answers on one post and trend, for the admins."""

    post_id: int
    trend: int
    count: int
    title: str
    link: str
    matched: tuple[str, ...] = ()  # the terms that made the tag


@dataclass(frozen=True, slots=True)
class BroadcastSummary:
    digest_key: str
    started_at: datetime
    finished_at: datetime
    sent: int
    failed: int
    deactivated: int
    skipped: int

    @property
    def seconds(self) -> float:
        return (self.finished_at - self.started_at).total_seconds()


@dataclass(frozen=True, slots=True)
class Stats:
    active: int
    inactive: int
    posts_this_week: int
    feeds_healthy: int
    feeds_failing: int
    last_broadcast: BroadcastSummary | None
