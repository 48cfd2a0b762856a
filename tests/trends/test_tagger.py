"""The learned tagger as shipped, and `trendbot train` rebuilding it from labelled posts."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from trends.ingest.tag import tag
from trends.ingest.tagger import load_model
from trends.themes import Themes, load_themes

REPO = Path(__file__).resolve().parents[2]
DEV = REPO.parent / "shared" / "eval" / "dev.jsonl"


@pytest.fixture(scope="module")
def themes() -> Themes:
    return load_themes()


def _squash(text: str) -> str:
    # Lexicon terms match across spaces and hyphens ("3D 世界", "outcome based").
    return re.sub(r"[\s\-\u2010-\u2013_]+", "", text.lower())


def _occurs(word: str, title: str, text: str) -> bool:
    return _squash(word) in _squash(title + " " + text)


# Our own writing, not the corpus's.
ENGLISH = (
    "Support agent billed per resolved ticket",
    "The vendor's AI agent is paid only when it resolves a customer's ticket: outcome-based "
    "pricing instead of seats. Customers pay per resolution.",
)
CHINESE = (
    "开源大模型发布：权重全部公开",
    "这家实验室发布了开源权重的大模型，开发者可以下载权重并在本地部署，与闭源模型竞争。",
)


def test_the_shipped_model_tags_an_english_outcome_pricing_post(themes: Themes) -> None:
    tags = tag(*ENGLISH, themes)
    assert 6 in [t.trend for t in tags]
    for t in tags:
        assert 0.0 <= t.score <= 1.0
        assert t.matched, "every tag says why"
        assert all(_occurs(word, *ENGLISH) for word in t.matched), t.matched


def test_the_shipped_model_tags_a_chinese_open_weights_post(themes: Themes) -> None:
    tags = tag(*CHINESE, themes)
    assert 3 in [t.trend for t in tags]
    assert all(_occurs(word, *CHINESE) for t in tags for word in t.matched)


def test_a_post_about_none_of_the_trends_gets_none(themes: Themes) -> None:
    assert tag("Our bakery opens on Sunday", "Fresh bread and cakes from 8 am.", themes) == []
    assert tag("", "", themes) == []


def test_the_ai_gate_holds_unless_the_feed_is_about_ai(themes: Themes) -> None:
    # No AI word: from a general feed this is not tagged, from a lab's blog it is.
    title = "Support desk billed per resolved ticket"
    text = (
        "The vendor's agent is paid only when it resolves a customer's ticket: "
        "outcome-based pricing instead of seats. Customers pay per resolution."
    )
    assert tag(title, text, themes) == []
    assert 6 in [t.trend for t in tag(title, text, themes, ai_source=True)]


def test_a_long_article_is_tagged_by_its_title_and_lead_not_its_passing_mentions(
    themes: Themes,
) -> None:
    title = "Our humanoid robot learns to fold laundry"
    lead = (
        "The robot foundation model lets the humanoid fold towels and load a dishwasher "
        "in homes it has never seen. "
    )
    rest = "We thank our team and partners for their work over many months. " * 40
    tail = "Safety, trust, evaluation, alignment, regulation and hallucination came up too."
    tags = tag(title, lead + rest + tail, themes)
    assert [t.trend for t in tags] == [5]
    named = {word for term in tags[0].matched for word in term.lower().split()}
    assert {"humanoid", "robot"} <= named, tags[0].matched


def test_scores_are_probabilities_and_reasons_are_words_of_the_post(themes: Themes) -> None:
    items = [json.loads(line) for line in DEV.read_text(encoding="utf-8").splitlines()]
    tagged = 0
    for item in items[:60]:
        title, text = item["title"], item["summary"] or ""
        for t in tag(title, text, themes):
            tagged += 1
            assert 0.0 <= t.score <= 1.0
            assert t.matched and all(_occurs(w, title, text) for w in t.matched), t.matched
    assert tagged > 20


def test_reasons_do_not_repeat_a_term_they_already_name(themes: Themes) -> None:
    # Our own writing, in the shape of the demo's SaaS pricing posts.
    title = "Why seat-based SaaS pricing breaks when agents do the work"
    text = (
        "Seat-based saas assumes one human per login. When an AI agent closes the tickets, "
        "vendors charge per resolution and per resolved ticket: outcome-based pricing."
    )
    tags = tag(title, text, themes)
    assert tags and tags[0].trend == 6
    for t in tags:
        words = [w.lower() for w in t.matched]
        assert len(words) == len(set(words)), t.matched
        phrases = [w for w in words if " " in w or "-" in w]
        single = [w for w in words if w not in phrases]
        repeated = [w for w in single if any(w in re.split(r"[\s-]+", p) for p in phrases)]
        assert not repeated, t.matched


def _rss(items: list[tuple[str, str, str]]) -> str:
    entries = "".join(
        f"<item><title>{t}</title><link>{link}</link><description>{d}</description></item>"
        for link, t, d in items
    )
    return f'<?xml version="1.0"?><rss version="2.0"><channel><title>t</title>{entries}</channel></rss>'


def _small_labelled_set(tmp_path: Path) -> str:
    """Three small feeds of our own writing, labelled trend 7 (AI coding) or none."""
    labels = []
    for feed in ("a", "b", "c"):
        items = []
        for i in range(8):
            link = f"https://{feed}.example/{i}"
            is_coding = i % 2 == 0
            items.append((link, f"Post {i} of {feed}", CODING if is_coding else OTHER))
            labels.append(
                {
                    "link": link,
                    "guid": link,
                    "feed_file": f"{feed}.xml",
                    "themes": [7] if is_coding else [],
                }
            )
        (tmp_path / f"{feed}.xml").write_text(_rss(items), encoding="utf-8")
    (tmp_path / "labels.jsonl").write_text(
        "".join(json.dumps(row) + "\n" for row in labels), encoding="utf-8"
    )
    return str(tmp_path / "labels.jsonl")


CODING = "The AI coding assistant writes code, fixes bugs and opens pull requests for developers."
OTHER = "Weather, sport and recipes for the weekend: nothing about artificial intelligence."


def _train(tmp_path: Path, *extra: str, env: dict[str, str] | None = None):
    none = str(tmp_path / "none.jsonl")
    return subprocess.run(
        [
            sys.executable, "-c", "from cli.main import main; main()", "train",
            "--labels", _small_labelled_set(tmp_path), "--feeds-dir", str(tmp_path),
            "--dev", none, "--own", none, "--output", str(tmp_path / "weights.npz"),
            "--folds", "3", *extra,
        ],
        cwd=REPO, capture_output=True, text=True, timeout=300, env=env,
    )  # fmt: skip


def test_train_writes_weights_and_prints_held_out_figures(tmp_path: Path) -> None:
    result = _train(tmp_path)
    assert result.returncode == 0, result.stderr
    assert "24 posts" in result.stdout
    assert re.search(r"learned tagger.*\n(.*\n)*.*macro-F1 \d\.\d{3}", result.stdout)
    assert "lexicon tagger" in result.stdout
    model = load_model(tmp_path / "weights.npz")
    themes = load_themes()
    assert [t.trend for t in model.tag("Post 9", CODING, themes)] == [7]
    assert model.tag("Post 9", OTHER, themes) == []
    assert np.all((model.threshold > 0) & (model.threshold < 1))


def test_train_with_feedback_reads_the_database(tmp_path: Path) -> None:
    env = dict(os.environ, DATABASE_URL=f"sqlite+aiosqlite:///{tmp_path / 'bot.db'}")
    result = _train(tmp_path, "--with-feedback", env=env)
    assert result.returncode == 0, result.stderr
    assert "24 posts (0 our own, 0 flagged by readers)" in result.stdout
    assert (tmp_path / "weights.npz").exists()


def test_extra_labels_train_but_are_not_scored_and_an_outlet_is_one_group(
    tmp_path: Path, themes: Themes
) -> None:
    from trends.ingest import labelled_posts
    from trends.ingest import train as training

    # Two feeds of one outlet (one of them a dated snapshot), and one of another.
    snapshots = {
        "wire_news_2025-01-30.rss.xml": ("Robotaxi fleet expands", "https://wire.example/a"),
        "wire_research.rss.xml": ("Humanoid robot folds laundry", "https://wire.example/b"),
        "daily_2025-02-04.rss.xml": ("A new sourdough recipe", "https://daily.example/c"),
    }
    rows = []
    for name, (title, link) in snapshots.items():
        (tmp_path / name).write_text(_rss([(link, title, title + " with AI.")]), encoding="utf-8")
        rows.append(
            {"link": link, "guid": None, "feed_file": name, "themes": [5] * ("wire" in name)}
        )
    labels = tmp_path / "labels.jsonl"
    labels.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")

    extra = labelled_posts.load_labelled(labels, tmp_path, scored=False)
    scored = labelled_posts.load_labelled(labels, tmp_path)
    assert [e.group for e in scored] == ["wire", "wire", "daily"]
    assert [e.themes for e in scored] == [frozenset({5}), frozenset({5}), frozenset()]
    learned, _ = training.cross_validate(scored + extra, themes, folds=2, inner_folds=2)
    assert learned.posts == 3  # the unscored copies trained folds but were never counted


def test_a_fold_never_trains_on_unscored_posts_of_the_outlet_it_tests(
    tmp_path: Path, themes: Themes
) -> None:
    # The held-out figures are what an operator is told to expect on a new outlet: a fold
    # that trained on another labelled copy of the outlet it tests would flatter them.
    from trends.ingest import labelled_posts
    from trends.ingest import train as training

    def feed(name: str, posts: list[tuple[str, str]], trend: list[int]) -> list[dict]:
        items = [(f"https://{name}.example/{i}", t, d) for i, (t, d) in enumerate(posts)]
        (tmp_path / f"{name}.rss.xml").write_text(_rss(items), encoding="utf-8")
        return [
            {"link": link, "guid": None, "feed_file": f"{name}.rss.xml", "themes": trend}
            for link, _, _ in items
        ]

    def posts(word: str) -> list[tuple[str, str]]:
        return [
            (f"{word.title()} arm {i} ships", f"The {word} arm {i} moves with AI.")
            for i in range(6)
        ]

    zorblax = posts("zorblax")
    other = [(f"Quarterly note {i}", f"A note on spreadsheets {i} with AI.") for i in range(6)]
    scored = tmp_path / "scored.jsonl"
    extra = tmp_path / "extra.jsonl"
    rows = feed("wire_news", zorblax, [5]) + feed("gazette", posts("quintex"), [5])
    rows += feed("daily", other, [])
    scored.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    # The same outlet's second feed, unscored: the only other posts that say "zorblax".
    extra_rows = feed("wire_research", zorblax, [5])
    extra.write_text("".join(json.dumps(r) + "\n" for r in extra_rows), encoding="utf-8")

    examples = labelled_posts.load_labelled(scored, tmp_path) + labelled_posts.load_labelled(
        extra, tmp_path, scored=False
    )
    learned, _ = training.cross_validate(examples, themes, folds=3, inner_folds=2)
    assert learned.posts == 18
    # Each outlet's trend-5 posts share a word with no other outlet: only the wire feed
    # it tests could teach "zorblax", so a fold that never sees that outlet misses them all.
    assert learned.per_trend[5][1] == 0.0


def test_thresholds_rise_until_few_posts_about_nothing_get_a_trend() -> None:
    # Each trend's cut alone tags 6% of the posts about none of the ten, different posts:
    # a subscriber would see 12% wrongly tagged. The cuts rise, where that costs the least
    # F1, until at most the budget's share does.
    from trends.ingest import train as training

    none_posts, tagged = 100, 20
    n = none_posts + 2 * tagged
    probs = np.zeros((n, 2))
    y = np.zeros((n, 2))
    probs[0:6, 0] = 0.55  # trend 0's false alarms sit below every real post of trend 0
    probs[6:12, 1] = 0.55  # trend 1's sit among its real posts: raising its cut loses some
    probs[none_posts : none_posts + tagged, 0] = 0.9
    probs[none_posts + tagged :, 1] = np.linspace(0.5, 0.9, tagged)
    y[none_posts : none_posts + tagged, 0] = 1
    y[none_posts + tagged :, 1] = 1
    none = np.arange(n) < none_posts
    known = np.ones((n, 2), dtype=bool)
    cuts = np.array([0.5, 0.5])

    raised = training._within_budget(cuts, probs, y, known, none)

    alarmed = (probs[none] >= raised).any(1).mean()
    assert alarmed <= training.FALSE_ALARM_BUDGET
    assert (raised >= cuts).all()
    assert raised[0] > 0.55  # the cheap trend gave up its false alarms
    assert raised[1] == cuts[1]  # and the one that would lose real posts kept its cut
    assert (probs[~none, 0][y[~none, 0] > 0] >= raised[0]).all()  # no real post was lost
