"""Benchmark trends.ingest.dedup: dev-set recall and false merges, signature speed, LSH lookups.

Run from the repo root: `.venv/bin/python bench/dedup.py`. Reads /work/shared (eval data and
the feed corpus) through a path relative to the repo; nothing is copied.
"""

from __future__ import annotations

import dataclasses
import functools
import html
import json
import os
import platform
import random
import re
import statistics
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import feedparser
import numpy as np
from machine import cpu_name  # bench/machine.py: scripts run from bench/

from trends.ingest.dedup import (
    BANDS,
    NUM_PERM,
    ROWS,
    SHINGLE_SIZE,
    TEXT_CHARS,
    THRESHOLD,
    NearDuplicateIndex,
    minhash_signature,
)
from trends.ingest.normalise import normalise
from trends.ingest.parse import parse
from trends.ingest.story_index import (
    StoryIndex,
    find_duplicates,
    member,
    member_keys,
    member_lookups,
)
from trends.ingest.summarise import summarise

SHARED = Path(__file__).resolve().parents[1].parent / "shared"
RUNS = 5


def _jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]


def dev_eval() -> tuple[int, int, int, int, list[tuple[str, str]]]:
    """(found, gold, found non-cross-lingual, gold non-cross-lingual, false merges)."""
    items = _jsonl(SHARED / "eval" / "dev.jsonl")
    pos = {item["id"]: i for i, item in enumerate(items)}
    pairs = _jsonl(SHARED / "eval" / "dev-duplicates.jsonl")
    dup = find_duplicates([(d["title"], d["summary"] or "", d["link"]) for d in items])

    def root(i: int) -> int:
        while dup[i] is not None:
            i = dup[i]
        return i

    gold = {frozenset((pos[p["a"]], pos[p["b"]])) for p in pairs}
    hits = [root(pos[p["a"]]) == root(pos[p["b"]]) for p in pairs]
    mono = [hit for hit, p in zip(hits, pairs, strict=True) if not p["cross_lingual"]]
    false = [
        (items[i]["title"], items[j]["title"])
        for i, j in enumerate(dup)
        if j is not None and frozenset((i, j)) not in gold
    ]
    return sum(hits), len(hits), sum(mono), len(mono), false


_ZH_OUTLETS = ("36kr", "jike", "baoyu")


def _dev_posts() -> tuple[list, dict[tuple[str, str], str]]:
    """Every entry of the dedup-dev feeds, once per canonical link, parsed as ingest does;
    and (feed file, link or guid) -> canonical link."""
    posts: dict[str, object] = {}
    ref: dict[tuple[str, str], str] = {}
    for path in sorted((SHARED / "corpus" / "dedup-dev" / "feeds").iterdir()):
        language = "zh" if path.name.startswith(_ZH_OUTLETS) else "en"
        fetched = datetime.fromisoformat(path.name.split("_")[-1].split(".")[0]).replace(tzinfo=UTC)
        parsed = parse(
            path.read_bytes(), url=f"https://feeds.example/{path.name}", content_type=None
        )
        for post in normalise(
            parsed.entries,
            source=path.name.rsplit("_", 1)[0],
            language=language,
            fetched_at=fetched,
            ai_source=False,
        ):
            posts.setdefault(post.canonical_link, post)
            ref[(path.name, post.link)] = ref[(path.name, post.guid)] = post.canonical_link
    ordered = sorted(posts.values(), key=lambda p: (p.published, p.canonical_link))
    return ordered, ref


def story_eval(posts: list, ref: dict[tuple[str, str], str]) -> dict[str, tuple[int, int]]:
    """Cluster every dev-feed entry in time order with the ingest rule, then check the
    labelled pairs: (linked, total) per language pair, and look-alikes merged."""
    dup = find_duplicates([(p.title, p.text, p.link) for p in posts], [p.published for p in posts])
    story = [i if d is None else d for i, d in enumerate(dup)]
    position = {p.canonical_link: i for i, p in enumerate(posts)}
    counts: dict[str, list[int]] = {}
    for pair in _jsonl(SHARED / "eval" / "dedup-dev-pairs.jsonl"):
        a, b = (
            position[
                ref.get((side["feed_file"], side["link"])) or ref[(side["feed_file"], side["guid"])]
            ]
            for side in (pair["a"], pair["b"])
        )
        group = f"same {pair['langs']}" if pair["same_story"] else "look-alikes merged"
        hit = counts.setdefault(group, [0, 0])
        hit[0] += story[a] == story[b]
        hit[1] += 1
    return {group: (hit[0], hit[1]) for group, hit in sorted(counts.items())}


# 1M reports take about 3 GB and two minutes to index in memory; the lookup itself is what
# is timed, and it must cost the same at every size (the candidates of a few days' news).
STORY_ARCHIVE_SIZES = (10_000, 100_000, 1_000_000)


def story_lookup_times(posts: list) -> list[tuple[int, float, float]]:
    """(archive size, seconds per post, mean candidates) of StoryIndex lookups.

    The archive is the dev posts repeated, each copy moved past the previous one in time;
    queries are posts of the last complete copy.
    """
    # Past the corpus' own span, so copies never share days: the news of a few days stays
    # what real feeds carry however large the archive grows.
    span = posts[-1].published - posts[0].published + timedelta(days=10)
    base = [
        member(
            0,
            None,
            title=p.title,
            summary=summarise(p.text, p.title),
            canonical_link=p.canonical_link,
            published=p.published,
            signature=None,
        )
        for p in posts
    ]
    out = []
    for size in STORY_ARCHIVE_SIZES:
        index = StoryIndex()
        copies = -(-size // len(base))
        added = 0
        for copy in range(copies):
            for report in base:
                if added == size:
                    break
                shifted = _shift(report, span * copy, added)
                index.add(shifted, member_keys(shifted))
                added += 1
        # From the last complete copy: a partial one (1M is 227 copies and 65 posts) would
        # leave the queries almost nothing of their own days to find.
        last_full = size // len(base) - 1
        queries = [_shift(r, span * last_full, -1) for r in base[:300]]
        lookups = [member_lookups(q) for q in queries]
        per = _median_time(functools.partial(_join_all, index, queries, lookups)) / len(queries)
        cands = float(np.mean([index.candidate_count(k) for k in lookups]))
        out.append((size, per, cands))
        del index  # before the next, larger archive is built
    return out


def _join_all(index: StoryIndex, queries: list, lookups: list[list[int]]) -> None:
    for query, keys in zip(queries, lookups, strict=True):
        index.join(query, keys)


def _shift(report, by: timedelta, ident: int):
    features = report.features
    seconds = by.total_seconds()
    moved = dataclasses.replace(
        features,
        day=(features.day or 0) + by.days,
        timestamp=(features.timestamp or 0.0) + seconds,
    )
    return dataclasses.replace(report, ident=ident, story=ident, features=moved)


def _corpus_texts() -> list[str]:
    """Plain text of every entry in the feed corpus."""
    texts = []
    for path in sorted((SHARED / "corpus" / "feeds").iterdir()):
        for entry in feedparser.parse(str(path)).entries:
            body = (entry.get("content") or [{}])[0].get("value") or entry.get("summary", "")
            text = re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", body))).strip()
            if text:
                texts.append(text)
    return texts


def _median_time(fn, runs: int = RUNS) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def signature_rate(texts: list[str], rng: random.Random) -> float:
    """Signatures per second over 1-2 KB windows of real article text."""
    long = [t for t in texts if len(t) >= 2000]
    sample = []
    for _ in range(500):
        text = rng.choice(long)
        size = rng.randint(1000, 2000)
        start = rng.randint(0, len(text) - size)
        sample.append(text[start : start + size])
    return len(sample) / _median_time(lambda: [minhash_signature(t) for t in sample])


def lookup_times(texts: list[str], rng: random.Random) -> list[tuple[int, float, float]]:
    """(indexed items, median seconds per find, mean candidates) at 1k, 10k and 100k."""
    sentences = [s for t in texts for s in re.split(r"(?<=[.!?。！？])\s*", t) if len(s) > 30]
    words = [w for s in sentences for w in s.split()]

    def doc() -> str:
        # Title-plus-lead sized (what story_signature sees): a real sentence start, then
        # real words in random order. Whole shuffled sentences would not do: ~21k of them
        # in 100k docs reuse each one ~14 times, i.e. plant real near-duplicates.
        head = rng.choice(sentences)[:60]
        return f"{head} {' '.join(rng.choices(words, k=60))}"[: TEXT_CHARS + 80]

    queries = [minhash_signature(doc()) for _ in range(300)]
    index = NearDuplicateIndex()
    out = []
    for size in (1_000, 10_000, 100_000):
        while len(index) < size:
            index.add(len(index), minhash_signature(doc()))
        per = _median_time(lambda: [index.find(q) for q in queries]) / len(queries)
        cands = float(np.mean([len(index.candidates(q)) for q in queries]))
        out.append((size, per, cands))
    return out


def main() -> None:
    rng = random.Random(20260820)
    print(f"machine: {platform.platform()}; CPU: {cpu_name()} x{os.cpu_count()}")
    print(f"python {platform.python_version()}, numpy {np.__version__}")
    print(
        f"constants: NUM_PERM={NUM_PERM} SHINGLE_SIZE={SHINGLE_SIZE} TEXT_CHARS={TEXT_CHARS} "
        f"THRESHOLD={THRESHOLD} BANDS={BANDS} ROWS={ROWS}"
    )
    posts, ref = _dev_posts()
    print(f"dedup-dev: {len(posts)} distinct entries of 190 feed snapshots, clustered at once")
    for group, (hit, total) in story_eval(posts, ref).items():
        print(f"  {group:<20} {hit:>3}/{total:<3} {hit / total:6.1%}")
    for size, per, cands in story_lookup_times(posts):
        print(
            f"StoryIndex.join at {size:>7,} archived posts: {per * 1e6:7.1f} µs/post "
            f"(median of {RUNS}), {cands:.1f} candidates on average"
        )
    found, gold, found_mono, gold_mono, false = dev_eval()
    print(f"dev recall: {found}/{gold} overall, {found_mono}/{gold_mono} non-cross-lingual")
    print(f"dev false merges: {len(false)}")
    for a, b in false:
        print(f"  {a!r} ~ {b!r}")
    texts = _corpus_texts()
    print(f"signatures/s (1-2 KB texts, median of {RUNS}): {signature_rate(texts, rng):,.0f}")
    for size, per, cands in lookup_times(texts, rng):
        print(
            f"NearDuplicateIndex.find at {size:>7,} items: {per * 1e6:7.1f} µs/lookup "
            f"(median of {RUNS}), {cands:.1f} candidates on average"
        )


if __name__ == "__main__":
    main()
