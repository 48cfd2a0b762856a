"""Fit the story matcher's weights (trends.ingest.stories.WEIGHTS) and check they generalise.

Run from the repo root: `.venv/bin/python bench/fit_stories.py`. Every entry of the
dedup-dev feeds is met in time order, as ingest and bench/dedup.py meet them; each report's
candidates and the pair features are recorded once (they do not depend on the weights), then
a logistic regression is fitted and the clustering replayed with its weights:

- labelled same-story pairs (and pairs of one labelled story) are positives; labelled
  look-alikes are negatives;
- every other candidate pair is a negative (most are other stories of those days);
- with `--candidate-labels`, candidate pairs we labelled under the same rules
  (`bench/data/candidate_pairs.jsonl`: two links and a verdict, no text) train too, and are
  never scored. Measured: they lower the held-out figures (hard pairs both ways, which a
  linear score cannot separate), so the shipped weights are fitted without them;
- held out: leave one window out (six windows), fitted on the other five, measured on it;
- the weights printed last are fitted on all windows: paste them into stories.py.
"""

from __future__ import annotations

import argparse
import dataclasses
from collections import defaultdict
from datetime import datetime
from pathlib import Path

import numpy as np
from dedup import SHARED, _dev_posts, _jsonl  # bench/dedup.py: scripts run from bench/

from trends.ingest import dedup
from trends.ingest.stories import WINDOW, pair_features
from trends.ingest.story_index import Member, StoryIndex, member, member_lookups
from trends.ingest.summarise import summarise

CANDIDATE_LABELS = Path(__file__).resolve().parent / "data" / "candidate_pairs.jsonl"
# Window starts (README of dedup-dev); first-party blog posts fall in by their dates.
WINDOWS = ("2024-12-01", "2025-02-10", "2025-04-01", "2025-06-20", "2025-07-06", "2025-11-10")
L2 = 1.0


@dataclasses.dataclass
class Record:
    """What the matcher saw when report `i` arrived."""

    forced: int | None  # an earlier report with the same link or content: joins it regardless
    copies: list[int]  # earlier reports it copies (MinHash): joined whatever the weights
    others: list[int]  # earlier reports scored by the weights, rows of `features`
    rows: list[int]


def collect(posts: list) -> tuple[list[Record], np.ndarray, list[tuple[int, int]]]:
    """Replay find_duplicates' steps over the posts; the scored pairs and their features."""
    by_link: dict[str, int] = {}
    by_hash: dict[str, int] = {}
    index = StoryIndex()
    records: list[Record] = []
    features: list[tuple[float, ...]] = []
    pairs: list[tuple[int, int]] = []
    for i, post in enumerate(posts):
        url = dedup.canonical_url(post.link) if post.link else ""
        found = by_link.setdefault(url, i) if url else i
        if found == i and dedup.normalise_for_shingles(post.text):
            found = by_hash.setdefault(dedup.content_hash(post.title, post.text), i)
        if found != i:
            records.append(Record(found, [], [], []))
            continue
        report = member(
            i,
            None,
            title=post.title,
            summary=summarise(post.text, post.title),
            canonical_link=url,
            published=post.published,
            signature=dedup.story_signature(post.title, post.text),
        )
        lookups = member_lookups(report)
        frequency = index.frequency(lookups)
        record = Record(None, [], [], [])
        for position in index._candidates(lookups):
            earlier: Member = index._members[position]
            if report.outlet and report.outlet == earlier.outlet:
                continue
            if report.signature is not None and earlier.signature is not None:
                similar = dedup.similarity(report.signature, earlier.signature)
                if dedup.same_story(similar, report.title, earlier.title):
                    record.copies.append(earlier.ident)
                    continue
            a, b = report.features, earlier.features
            if a.roundup or b.roundup:  # score() keeps digests out of every story
                continue
            if abs((a.timestamp or 0) - (b.timestamp or 0)) > WINDOW.total_seconds():
                continue
            record.others.append(earlier.ident)
            record.rows.append(len(features))
            features.append(pair_features(a, b, frequency))
            pairs.append((i, earlier.ident))
        records.append(record)
        index.add(dataclasses.replace(report, story=i), lookups.own())
    return records, np.array(features), pairs


def replay(records: list[Record], scores: np.ndarray, threshold: float) -> list[int]:
    """Each report's story under the given pair scores, as StoryIndex.join decides: a report
    joins every story it is accepted by, and those merge into the earliest."""
    merged: dict[int, int] = {}

    def story_of(report: int) -> int:
        while report in merged:
            report = merged[report]
        return report

    for i, record in enumerate(records):
        if record.forced is not None:
            merged[i] = story_of(record.forced)
            continue
        accepted = {story_of(earlier) for earlier in record.copies}
        accepted |= {
            story_of(earlier)
            for earlier, row in zip(record.others, record.rows, strict=True)
            if scores[row] >= threshold
        }
        if accepted:
            first = min(accepted)
            for other in accepted - {first}:
                merged[other] = first
            merged[i] = first
    return [story_of(i) for i in range(len(records))]


def fit(x: np.ndarray, y: np.ndarray, weight: np.ndarray) -> np.ndarray:
    """Weighted L2 logistic regression by Newton steps (no intercept penalty)."""
    w = np.zeros(x.shape[1])
    penalty = np.full(x.shape[1], L2)
    penalty[0] = 0.0
    for _ in range(50):
        p = 1 / (1 + np.exp(-(x @ w)))
        gradient = x.T @ (weight * (p - y)) + penalty * w
        hessian = (x * (weight * p * (1 - p))[:, None]).T @ x + np.diag(penalty + 1e-9)
        step = np.linalg.solve(hessian, gradient)
        w -= step
        if np.abs(step).max() < 1e-8:
            break
    return w


def window_of(when: datetime) -> int:
    day = when.strftime("%Y-%m-%d")
    return max(i for i, start in enumerate(WINDOWS) if day >= start) if day >= WINDOWS[0] else 0


def main(candidate_labels: bool) -> None:
    posts, ref = _dev_posts()
    position = {p.canonical_link: i for i, p in enumerate(posts)}
    labelled = []
    for pair in _jsonl(SHARED / "eval" / "dedup-dev-pairs.jsonl"):
        a, b = (
            position[ref.get((s["feed_file"], s["link"])) or ref[(s["feed_file"], s["guid"])]]
            for s in (pair["a"], pair["b"])
        )
        group = f"same {pair['langs']}" if pair["same_story"] else "look-alikes"
        labelled.append((a, b, group, window_of(posts[max(a, b)].published)))
    # One labelled story may have more members than its pairs name: union them.
    parent = list(range(len(posts)))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for a, b, group, _ in labelled:
        if group != "look-alikes":
            parent[root(a)] = root(b)
    negative = {frozenset((a, b)) for a, b, group, _ in labelled if group == "look-alikes"}
    # Our labels of other candidate pairs: training only, so they never join `labelled`.
    extra = _jsonl(CANDIDATE_LABELS) if candidate_labels else []
    for row in extra:
        a, b = position[row["a"]], position[row["b"]]
        if row["same_story"]:
            parent[root(a)] = root(b)
        else:
            negative.add(frozenset((a, b)))
    if extra:
        print(f"{len(extra)} labelled candidate pairs from {CANDIDATE_LABELS.name} (trained on)")
    records, x, pairs = collect(posts)
    # A look-alike stays a negative even where labels of other pairs chain its two ends.
    y = np.array(
        [float(root(i) == root(j) and frozenset((i, j)) not in negative) for i, j in pairs]
    )
    marked = np.array(
        [root(i) == root(j) or frozenset((i, j)) in negative for i, j in pairs], dtype=bool
    )
    windows = np.array([window_of(posts[i].published) for i, _ in pairs])
    print(f"{len(pairs)} scored candidate pairs, {int(y.sum())} of one labelled story")

    def weights_for(keep: np.ndarray) -> np.ndarray:
        # The unlabelled pairs together weigh as much as the labelled ones: they stand for
        # the many other stories of those days, without drowning the labels.
        weight = np.where(marked, 1.0, marked[keep].sum() / max((~marked[keep]).sum(), 1))
        return fit(x[keep], y[keep], weight[keep])

    def measure(story: list[int], only: set[int] | None) -> dict[str, list[int]]:
        counts: dict[str, list[int]] = defaultdict(lambda: [0, 0])
        for a, b, group, window in labelled:
            if only is None or window in only:
                counts[group][0] += story[a] == story[b]
                counts[group][1] += 1
        return counts

    def report(title: str, counts: dict[str, list[int]]) -> None:
        shown = ", ".join(
            f"{group} {hit}/{total} ({hit / total:.0%})"
            for group, (hit, total) in sorted(counts.items())
        )
        print(f"{title}: {shown}")

    def threshold_for(w: np.ndarray, windows_in: set[int]) -> float:
        # The lowest line that keeps the look-alikes of these windows at most 5% merged (the target):
        # a merged look-alike costs readers more than a missed link.
        scores = x @ w
        for line in np.arange(-1.0, 6.01, 0.125):
            counts = measure(replay(records, scores, line), windows_in)
            hit, total = counts["look-alikes"]
            if hit <= 0.05 * total:
                return float(line)
        return 6.0

    held: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for out in range(len(WINDOWS)):
        w = weights_for(windows != out)
        line = threshold_for(w, set(range(len(WINDOWS))) - {out})
        print(f"  window {WINDOWS[out]} held out: threshold {line:.2f}")
        counts = measure(replay(records, x @ w, line), {out})
        report(f"  held-out window {WINDOWS[out]}", counts)
        for group, (hit, total) in counts.items():
            held[group][0] += hit
            held[group][1] += total
    report("held out (each window fitted on the other five)", held)
    w = weights_for(np.ones(len(pairs), dtype=bool))
    line = threshold_for(w, set(range(len(WINDOWS))))
    story = replay(records, x @ w, line)
    report("dev (fitted on all windows)", measure(story, None))
    for a, b, group, _ in labelled:
        if group == "look-alikes" and story[a] == story[b]:
            print(f"  merged look-alike: {posts[a].title[:60]!r} ~ {posts[b].title[:60]!r}")
    print("WEIGHTS = (" + ", ".join(f"{v:.2f}" for v in w) + f")\nTHRESHOLD = {line:.2f}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--candidate-labels",
        action="store_true",
        help=f"also train on {CANDIDATE_LABELS.name} (our labels of other candidate pairs)",
    )
    main(parser.parse_args().candidate_labels)
