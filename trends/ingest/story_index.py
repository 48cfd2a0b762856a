"""Stories over many reports: each report a `Member`, candidates found by their keys in a
`StoryIndex`, joined to the stories `stories.score` accepts. A report two stories accept
is evidence they tell one event: they merge into the earlier one.

Ingest fills the index with stored candidates then a feed's batch; `trendbot analyze` and
`bench/dedup.py` fill it with their input through `find_duplicates`. Same rule, same order.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime

import numpy as np

from trends.ingest import dedup
from trends.ingest.stories import THRESHOLD, WINDOW, Features, features, score, window_keys
from trends.ingest.summarise import summarise

__all__ = [
    "MAX_CANDIDATES",
    "MAX_COUNTED",
    "MAX_PER_KEY",
    "Lookups",
    "Member",
    "StoryIndex",
    "find_duplicates",
    "member",
    "member_keys",
    "member_lookups",
]

# Bounds on the reports one new report is compared with, so the cost per report is fixed.
# Real stories share a key with a handful of reports; these bite only on floods.
MAX_PER_KEY = 64
MAX_CANDIDATES = 128
# A key's report count stops here: past a few hundred reports a day a name is common,
# and ingest need not read further into the store to know it.
MAX_COUNTED = 256


@dataclass(frozen=True, slots=True)
class Member:
    """A report as the rule sees it: a new one, or an earlier one it may join."""

    ident: int  # a stored post's id, or a position in the input
    story: int  # the ident of the story's first member (itself for a first report)
    outlet: str  # "" when the link names none: unknown, never "the same outlet"
    title: str
    signature: np.ndarray | None  # MinHash of title and lead; None for a text too short
    features: Features


def member(
    ident: int,
    story: int | None,
    *,
    title: str,
    summary: str,
    canonical_link: str,
    published: datetime | None,
    signature: np.ndarray | bytes | None,
) -> Member:
    """A `Member` from what the store keeps of a post (or analyze reads of an input line)."""
    if isinstance(signature, bytes):
        signature = (
            np.frombuffer(signature, dedup.SIGNATURE_DTYPE)
            if len(signature) == dedup.NUM_PERM * dedup.SIGNATURE_DTYPE.itemsize
            else None
        )
    return Member(
        ident=ident,
        story=ident if story is None else story,
        outlet=dedup.outlet(canonical_link) if canonical_link else "",
        title=title,
        signature=signature,
        features=features(title, summary, published),
    )


def member_keys(report: Member) -> list[int]:
    """Keys a report is indexed under: its MinHash bands and its names of the day (where
    its `member_lookups` are at hand, their `own()` is the same, worked out already)."""
    return _lookups(report, reach=0).own()


@dataclass(frozen=True, slots=True)
class Lookups:
    """Keys to find a report's candidates by; iterating gives every key once or more.

    The keys of each name, model, figure and title word stay grouped by value, so the index
    can count how many reports of the window carry each one (rare shared names weigh more).
    """

    bands: tuple[int, ...]
    by_value: Mapping[str, tuple[int, ...]]

    def __iter__(self) -> Iterator[int]:
        yield from self.bands
        for keys in self.by_value.values():
            yield from keys

    def own(self) -> list[int]:
        """The keys the report itself is indexed under (`member_keys`): its MinHash bands and
        each value on the report's own day, the middle of the days its keys span."""
        return [*self.bands, *(keys[len(keys) // 2] for keys in self.by_value.values())]


def member_lookups(report: Member) -> Lookups:
    """Keys to find a report's candidates by: its MinHash bands and names in the window."""
    return _lookups(report, reach=WINDOW.days)


def _lookups(report: Member, *, reach: int) -> Lookups:
    bands = dedup.band_keys(report.signature) if report.signature is not None else []
    return Lookups(tuple(bands), window_keys(report.features, reach))


def _accepts(new: Member, earlier: Member, frequency: Mapping[str, int]) -> bool:
    """Whether `new` tells `earlier`'s story: a copy (MinHash), or a report the score accepts.

    One outlet never tells one story twice under two links, so its look-alikes (successive
    system cards, "Team update", yearly events, a leak and the launch) stay apart.
    """
    if new.outlet and new.outlet == earlier.outlet:
        return False
    if new.signature is not None and earlier.signature is not None:
        similar = dedup.similarity(new.signature, earlier.signature)
        if dedup.same_story(similar, new.title, earlier.title):
            return True
    return score(new.features, earlier.features, frequency) >= THRESHOLD


def _first(story: int) -> tuple[bool, int]:
    """Which of several stories came first: a stored post's (ident > 0, lowest first), then
    the input's or the batch's (ident i >= 0 in analyze, -(i + 1) in a batch)."""
    return story < 0, abs(story)


class _Frequency(Mapping[str, int]):
    """A value's report count in the window, summed over its day keys when first asked."""

    def __init__(self, count: Callable[[int], int], by_value: Mapping[str, tuple[int, ...]]):
        self._count = count
        self._by_value = by_value
        self._counted: dict[str, int] = {}

    def __getitem__(self, value: str) -> int:
        counted = self._counted.get(value)
        if counted is None:
            counted = self._counted[value] = sum(map(self._count, self._by_value[value]))
        return counted

    def __iter__(self) -> Iterator[str]:
        return iter(self._by_value)

    def __len__(self) -> int:
        return len(self._by_value)


@dataclass(slots=True)
class StoryIndex:
    """Earlier reports by key: the one rule behind ingest and `trendbot analyze`.

    Ingest fills it with the stored posts its lookup keys found, then with the batch being
    stored; analyze with the input so far. `join` returns the story of the earlier reports
    the score accepts; when they belong to several stories, those merge into the first
    (`merged`, `story`).
    """

    _by_key: dict[int, list[int]] = field(default_factory=dict)
    _members: list[Member] = field(default_factory=list)
    _unheld: dict[int, int] = field(default_factory=dict)
    # A story that a later report showed to be part of another -> that story.
    merged: dict[int, int] = field(default_factory=dict)

    def story(self, story: int) -> int:
        """The story `story` is now part of: itself, unless a join merged it."""
        while story in self.merged:
            story = self.merged[story]
        return story

    def add(self, report: Member, keys: Iterable[int]) -> None:
        position = len(self._members)
        self._members.append(report)
        for key in set(keys):
            self._by_key.setdefault(key, []).append(position)

    def count_unheld(self, key: int, reports: int) -> None:
        """Count `reports` older reports under `key` that are not added: ingest holds only
        the newest MAX_PER_KEY stored posts of a key (all a lookup compares with), and
        counts the rest (up to MAX_COUNTED) so rarity and the rarest-first order stay as
        if all were held."""
        if reports > 0:
            self._unheld[key] = self._unheld.get(key, 0) + reports

    def count(self, key: int) -> int:
        """How many reports carry `key`, held or only counted, up to MAX_COUNTED."""
        return min(len(self._by_key.get(key, ())) + self._unheld.get(key, 0), MAX_COUNTED)

    def frequency(self, lookups: Lookups) -> Mapping[str, int]:
        """For each of a report's values, how many indexed reports of its window carry it.

        Counted on demand: the score asks only about the few values a candidate shares.
        """
        return _Frequency(self.count, lookups.by_value)

    def candidate_count(self, lookups: Iterable[int]) -> int:
        """How many earlier reports a lookup reads (what the benchmark watches grow)."""
        return len(self._candidates(lookups))

    def _candidates(self, lookups: Iterable[int]) -> list[int]:
        """The newest reports under the lookup keys, at most MAX_CANDIDATES of them.

        A key shared by thousands of reports (one feed of 30,000 look-alike titles) says
        little about any one of them; reading them all would make a batch quadratic.
        """
        # Rarest keys first: the one other report naming "Ocelot" must not be crowded out
        # by the hundred newest that say "OpenAI".
        held = sorted((key for key in set(lookups) if key in self._by_key), key=self.count)
        chosen: set[int] = set()
        for key in held:
            chosen.update(self._by_key[key][-MAX_PER_KEY:])
            if len(chosen) >= MAX_CANDIDATES:
                break
        return sorted(chosen)

    def join(self, report: Member, lookups: Lookups) -> int | None:
        """The story (its first member's ident) the report belongs to, if any.

        Reports of one event are not all alike: a launch post and a Chinese write-up may
        each match a third report and not each other. When the report is accepted by
        members of several stories, they are one story: all merge into the first (`_first`).
        """
        frequency = self.frequency(lookups)
        accepted = {
            self.story(earlier.story)
            for earlier in map(self._members.__getitem__, self._candidates(lookups))
            if _accepts(report, earlier, frequency)
        }
        if not accepted:
            return None
        first = min(accepted, key=_first)
        for other in accepted - {first}:
            self.merged[other] = first
        return first


def find_duplicates(
    items: Sequence[tuple[str, str, str | None]],
    published: Sequence[datetime | None] | None = None,
) -> list[int | None]:
    """For each (title, text, link), the index of the first item of its story, or None.

    In order: same canonical link; same content hash (only with a body: equal bare titles
    like "Team update" are not one story); then `StoryIndex.join` on the title and summary,
    exactly as ingest decides. A later item that merges two stories makes the second's
    items duplicates of the first's.
    """
    by_link: dict[str, int] = {}
    by_hash: dict[str, int] = {}
    index = StoryIndex()
    stories: list[int] = []
    for i, (title, text, link) in enumerate(items):
        url = dedup.canonical_url(link) if link else ""
        found = by_link.setdefault(url, i) if url else i
        if found == i and dedup.normalise_for_shingles(text):
            found = by_hash.setdefault(dedup.content_hash(title, text), i)
        if found != i:
            stories.append(stories[found])
            continue
        report = member(
            i,
            None,
            title=title,
            summary=summarise(text, title) if title or text else "",
            canonical_link=url,
            published=published[i] if published is not None else None,
            signature=dedup.story_signature(title, text),
        )
        lookups = member_lookups(report)
        story = index.join(report, lookups)
        stories.append(i if story is None else story)
        index.add(
            Member(i, stories[i], report.outlet, title, report.signature, report.features),
            lookups.own(),
        )
    resolved = [index.story(story) for story in stories]
    return [None if story == i else story for i, story in enumerate(resolved)]
