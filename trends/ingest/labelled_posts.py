"""Labelled posts to learn from: the shapes `trendbot train` reads.

`train-labels.jsonl` ({link, guid, feed_file, themes}, the post read from its feed file),
the dev set (items {id, title, summary, link, feed_file} plus labels {id, themes}), and our
own short examples ({title, text, themes}: trained on, never scored).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlparse

from trends.ingest.normalise import normalise
from trends.ingest.parse import parse
from trends.ingest.text import html_to_text
from trends.models import Post

__all__ = ["Example", "load_all", "load_dev", "load_labelled", "load_own"]

_SNAPSHOT_DATE = re.compile(r"_\d{4}-\d{2}-\d{2}\..*$")
_SECOND_LEVEL = frozenset({"ac", "co", "com", "edu", "gov", "net", "org"})


@dataclass(slots=True)
class Example:
    """One labelled post: its text, trends, feed (the CV group), and whether it is ours."""

    title: str
    text: str
    themes: frozenset[int]
    group: str
    own: bool = False  # our own writing: trains the model, never counted in the figures
    scored: bool = True  # False: a real post that trains every fold but is not counted
    negatives: frozenset[int] = field(default_factory=frozenset)  # readers' "wrong trend"


def load_all(
    labels: list[Path], extra_labels: list[Path], feeds_dir: Path, dev: Path, dev_labels: Path
) -> list[Example]:
    """The real labelled posts `trendbot train` reads; files that do not exist are skipped.

    `extra_labels` train every fold but are not scored.
    """
    out: list[Example] = []
    for path in labels:
        if path.exists():
            out += load_labelled(path, feeds_dir)
    for path in extra_labels:
        if path.exists():
            out += load_labelled(path, feeds_dir, scored=False)
    if dev.exists() and dev_labels.exists():
        out += load_dev(dev, dev_labels)
    return out


def load_labelled(labels: Path, feeds_dir: Path, *, scored: bool = True) -> list[Example]:
    """Posts of the train-labels shape: {link, guid, feed_file, themes}, text from the feed.

    `feed_file` is a path under `feeds_dir`. Snapshots of one outlet on several dates
    (`techcrunch_2025-01-30.rss.xml`, `techcrunch_2025-02-04.rss.xml`) are one CV group:
    a fold must not test on an outlet it trained on.
    """
    rows = [json.loads(line) for line in labels.open(encoding="utf-8") if line.strip()]
    by_feed: dict[str, list[dict]] = {}
    for row in rows:
        by_feed.setdefault(row["feed_file"], []).append(row)
    out = []
    now = datetime.now(UTC)
    for feed_file, feed_rows in by_feed.items():
        parsed = parse((feeds_dir / feed_file).read_bytes(), url="https://example.invalid/")
        posts = normalise(parsed.entries, source=feed_file, language="", fetched_at=now)
        found: dict[str, Post] = {}
        for post in posts:
            found.setdefault(post.link, post)
            found.setdefault(post.guid, post)
        for row in feed_rows:
            match = found.get(row.get("link") or "") or found.get(row.get("guid") or "")
            if match is not None:
                group = _outlet(feed_file)
                out.append(
                    Example(match.title, match.text, frozenset(row["themes"]), group, False, scored)
                )
    return out


def _outlet(feed_file: str) -> str:
    """The CV group of a feed file: the outlet its name starts with.

    Every feed and dated snapshot of one outlet is one group (`openai_news_….xml` and
    `openai_research_….xml`, `hn_best_….xml` and `hn_frontpage_….xml`): two feeds of one
    outlet share authors, house style and often posts, so a fold must not test on one of
    them after training on the other.
    """
    name = _SNAPSHOT_DATE.sub("", Path(feed_file).name) or Path(feed_file).name
    return name.split("_", 1)[0].split(".", 1)[0].lower() or name


def _outlet_of_link(link: str) -> str:
    """The outlet of a page: the label before the domain suffix (`www.36kr.com` → 36kr)."""
    labels = (urlparse(link).hostname or "").split(".")
    if len(labels) >= 3 and labels[-2] in _SECOND_LEVEL:  # www.bbc.co.uk → bbc
        return labels[-3]
    return labels[-2] if len(labels) >= 2 else "host:" + ".".join(labels)


def load_dev(items: Path, labels: Path) -> list[Example]:
    """Posts of the dev shape: items {id, title, summary, link, feed_file} + labels {id, themes}."""
    gold = {}
    for line in labels.open(encoding="utf-8"):
        if line.strip():
            row = json.loads(line)
            gold[row["id"]] = frozenset(row["themes"])
    out = []
    for line in items.open(encoding="utf-8"):
        if not line.strip():
            continue
        item = json.loads(line)
        if item["id"] not in gold:
            continue
        # Items of no corpus feed are grouped by their site: one outlet, one group.
        feed_file = item.get("feed_file")
        group = _outlet(feed_file) if feed_file else _outlet_of_link(item.get("link") or "")
        text = html_to_text(item.get("summary") or "")
        out.append(Example(item.get("title") or "", text, gold[item["id"]], group))
    return out


def load_own(path: Path) -> list[Example]:
    """Our own short examples ({title, text, themes}) for thin trends."""
    if not path.exists():
        return []
    out = []
    for line in path.open(encoding="utf-8"):
        if line.strip():
            row = json.loads(line)
            out.append(
                Example(row["title"], row.get("text", ""), frozenset(row["themes"]), "own", True)
            )
    return out


# -- the matrix ---------------------------------------------------------------------------
