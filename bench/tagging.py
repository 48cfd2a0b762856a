"""Benchmark the trend tagger: held-out figures on labelled posts, and posts per second.

Run from the repository: `python bench/tagging.py`. Reads `../shared/eval` (beside the
repository, never copied into it). Prints the machine; the learned tagger's and the lexicon
tagger's figures cross-validated by outlet (an outlet never in both train and test) on
train-labels.jsonl + the dev set; the dev-set figures of the shipped tagger (which trained
on them, so they are not held out), of the lexicon and of a one-keyword title filter; and
throughput of the learned and the lexicon tagger.
"""

from __future__ import annotations

import json
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable, Iterable
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
EVAL_DIR = REPO.parent / "shared" / "eval"
sys.path.insert(0, str(REPO))  # run as a script, without installing the package

from machine import cpu_name  # noqa: E402  (bench/machine.py; scripts run from bench/)

from trends.ingest import labelled_posts  # noqa: E402
from trends.ingest import train as training  # noqa: E402
from trends.ingest.lexicon import lexicon_tag  # noqa: E402
from trends.ingest.tag import tag  # noqa: E402
from trends.themes import Themes, load_themes  # noqa: E402

# How keyword-filter bots work: one keyword per trend, looked for in the title.
BASELINE_KEYWORDS = {
    1: "reinforcement",
    2: "agent",
    3: "open",
    4: "GPU",
    5: "robot",
    6: "pricing",
    7: "coding",
    8: "personal",
    9: "simulation",
    10: "safety",
}
TIMING_RUNS = 3

Item = dict[str, object]
Predictor = Callable[[Item], set[int]]


def load_dev(eval_dir: Path = EVAL_DIR) -> list[tuple[Item, set[int]]]:
    """The dev items with their gold trend sets, in file order."""
    with (eval_dir / "dev-labels.jsonl").open(encoding="utf-8") as f:
        rows = [json.loads(line) for line in f if line.strip()]
    gold = {row["id"]: set(row["themes"]) for row in rows}
    with (eval_dir / "dev.jsonl").open(encoding="utf-8") as f:
        items = [json.loads(line) for line in f if line.strip()]
    return [(item, gold[item["id"]]) for item in items]


def tagger(themes: Themes, fn: Callable = tag) -> Predictor:
    """A tagger as a predictor of trend numbers from an item's title and summary."""

    def predict(item: Item) -> set[int]:
        return {t.trend for t in fn(str(item["title"]), str(item["summary"] or ""), themes)}

    return predict


def baseline() -> Predictor:
    """One keyword per trend, as a case-insensitive substring of the title.

    Substring, not word, matching is what keyword-filter bots do ("agent" also finds
    "agentic", "GPU" finds "GPUs"); it is also how ../shared/eval/README.md scored its baseline.
    """
    keywords = {n: word.lower() for n, word in BASELINE_KEYWORDS.items()}

    def predict(item: Item) -> set[int]:
        title = str(item["title"]).lower()
        return {n for n, word in keywords.items() if word in title}

    return predict


def scores(
    pairs: Iterable[tuple[set[int], set[int]]], trends: Iterable[int]
) -> tuple[dict[int, tuple[float, float, float]], float, float]:
    """Per-trend (precision, recall, F1), micro-F1 and macro-F1 of (predicted, gold) sets."""
    pairs = list(pairs)
    per: dict[int, tuple[float, float, float]] = {}
    tp_all = fp_all = fn_all = 0
    for n in trends:
        tp = sum(1 for p, g in pairs if n in p and n in g)
        fp = sum(1 for p, g in pairs if n in p and n not in g)
        fn = sum(1 for p, g in pairs if n not in p and n in g)
        tp_all, fp_all, fn_all = tp_all + tp, fp_all + fp, fn_all + fn
        precision = tp / (tp + fp) if tp + fp else 0.0
        recall = tp / (tp + fn) if tp + fn else 0.0
        per[n] = (precision, recall, _f1(precision, recall))
    micro_p = tp_all / (tp_all + fp_all) if tp_all + fp_all else 0.0
    micro_r = tp_all / (tp_all + fn_all) if tp_all + fn_all else 0.0
    macro = statistics.fmean(f for _, _, f in per.values())
    return per, _f1(micro_p, micro_r), macro


def _f1(precision: float, recall: float) -> float:
    return 2 * precision * recall / (precision + recall) if precision + recall else 0.0


def _report(name: str, predict: Predictor, dev: list[tuple[Item, set[int]]], themes: Themes):
    per, micro, macro = scores(((predict(item), gold) for item, gold in dev), range(1, 11))
    print(f"\n{name}")
    print(f"  {'#':>2}  {'key':<16} {'P':>5} {'R':>5} {'F1':>5}  gold")
    for n, (p, r, f) in per.items():
        trend = themes.get(n)
        support = sum(1 for _, gold in dev if n in gold)
        key = trend.key if trend else "?"
        print(f"  {n:>2}  {key:<16} {p:5.2f} {r:5.2f} {f:5.2f}  {support}")
    print(f"  micro-F1 {micro:.3f}   macro-F1 {macro:.3f}")
    return micro, macro


def _throughput(
    themes: Themes, posts: list[tuple[str, str]], fn: Callable = tag
) -> tuple[float, float]:
    """Posts per second, and ms per ~100 KB article; medians of runs."""
    tag = fn
    rates = []
    for _ in range(TIMING_RUNS):
        start = time.perf_counter()
        for title, text in posts:
            tag(title, text, themes)
        rates.append(len(posts) / (time.perf_counter() - start))
    article = " ".join(text for _, text in posts)
    article = (article * (100_000 // max(len(article), 1) + 1))[:100_000]
    long_ms = []
    for _ in range(TIMING_RUNS):
        start = time.perf_counter()
        tag("A long article", article, themes)
        long_ms.append((time.perf_counter() - start) * 1000)
    return statistics.median(rates), statistics.median(long_ms)


def main() -> None:
    """Print the machine, held-out and dev-set figures, and throughput."""
    themes = load_themes()
    dev = load_dev()
    print(f"machine: {platform.platform()}; CPU: {cpu_name()} ({os.cpu_count()} logical)")
    print(f"python: {platform.python_implementation()} {platform.python_version()}")
    labelled = labelled_posts.load_labelled(
        EVAL_DIR / "train-labels.jsonl", REPO.parent / "shared" / "corpus" / "feeds"
    ) + labelled_posts.load_dev(EVAL_DIR / "dev.jsonl", EVAL_DIR / "dev-labels.jsonl")
    data = REPO / "trends" / "ingest" / "data"
    own = labelled_posts.load_own(data / "own_examples.jsonl")
    # More outlets' posts, as `trendbot train` reads them: they train every fold, unscored.
    own += labelled_posts.load_labelled(
        data / "outlet_labels.jsonl", REPO.parent / "shared" / "corpus" / "feeds", scored=False
    )
    print(f"\nheld out: {len(labelled)} labelled posts, {training.FOLDS} folds grouped by outlet")
    learned, lexicon = training.cross_validate(labelled + own, themes)
    for figures in (learned, lexicon):
        print("\n".join(figures.lines()))
    print(f"\ndev set: {len(dev)} items from {EVAL_DIR} (the shipped model trained on them)")
    _report(
        "learned tagger (trends/ingest/tagger.py, shipped weights)", tagger(themes), dev, themes
    )
    _report("lexicon tagger (trends/ingest/lexicon.py)", tagger(themes, lexicon_tag), dev, themes)
    _report("baseline (one keyword per trend, substring of the title)", baseline(), dev, themes)
    full = [(e.title, e.text) for e in labelled]
    print(f"\nthroughput (median of {TIMING_RUNS} runs, {len(full)} labelled posts, full text):")
    for name, fn in (("learned", tag), ("lexicon", lexicon_tag)):
        rate, long_ms = _throughput(themes, full, fn)
        print(
            f"  {name}: {rate:,.0f} posts/s ({1000 / rate:.3f} ms per post); "
            f"{long_ms:.2f} ms for one 100 KB article"
        )
    met = (
        learned.macro >= 0.80
        and min(f for _, _, f in learned.per_trend.values()) >= 0.60
        and learned.per_trend[6][1] >= 0.80
        and learned.false_alarms <= 0.10
    )
    print(
        f"\ntargets (held out: macro-F1 >= 0.80, every F1 >= 0.60, trend 6 recall >= 0.80, "
        f"false alarms <= 10%): {'met' if met else 'NOT met'}"
    )


if __name__ == "__main__":
    main()
