"""summarise: targeted cases, real feed entries, and invariants over the whole corpus."""

from __future__ import annotations

import re
import time
from functools import cache
from pathlib import Path

import feedparser
import pytest

from trends.ingest.summarise import summarise
from trends.ingest.text import html_to_text

# Third-party feed files live next to the repository, never inside it.
FEEDS = Path(__file__).resolve().parents[3] / "shared" / "corpus" / "feeds"
TAG_RE = re.compile(r"<[A-Za-z/!][^>]*>")
ENTITY_RE = re.compile(r"&(?:[A-Za-z]{2,8}|#\d+|#x[0-9a-fA-F]+);")
SENTENCE_END_RE = re.compile(r"(?<=[.!?])\s+|(?<=[。！？；])")
ELLIPSIS = "…"

needs_corpus = pytest.mark.skipif(not FEEDS.is_dir(), reason=f"feed corpus not at {FEEDS}")


@cache
def _entries(name: str) -> list:
    return list(feedparser.parse(str(FEEDS / name)).entries)


def _body(entry) -> str:
    """The richest body a feed gives: content:encoded if present, else the summary."""
    if entry.get("content"):
        return entry.content[0].value
    return entry.get("summary", "")


def _entry(name: str, title_part: str):
    matches = [e for e in _entries(name) if title_part in e.get("title", "")]
    assert matches, f"no entry with {title_part!r} in {name}"
    return matches[0]


def _summary_of(entry, max_chars: int = 300) -> str:
    return summarise(html_to_text(_body(entry)), entry.get("title", ""), max_chars)


def _ends_cleanly(summary: str, source: str) -> bool:
    """The summary stops at a word boundary of the source, or says it was cut with "…".

    English must never be cut mid-word, even with an ellipsis; Chinese may be cut between any
    two characters, but then only with an ellipsis.
    """
    cut = summary.endswith(ELLIPSIS)
    body = summary.removesuffix(ELLIPSIS).rstrip()
    tail = body[-12:]
    if not tail:
        return False
    # Two sentences from different paragraphs are joined by " " (English) or "" (Chinese).
    for text in (source.replace("\n", " "), source.replace("\n", "")):
        for match in re.finditer(re.escape(tail), text):
            after = text[match.end() : match.end() + 1]
            if not after or not (after.isalnum() and tail[-1].isalnum()):
                return True
            if cut and not (after.isascii() and tail[-1].isascii()):
                return True  # a Chinese character boundary, marked by the ellipsis
    return False


def _sentences(summary: str) -> list[str]:
    return [s for s in SENTENCE_END_RE.split(summary.removesuffix(ELLIPSIS)) if s.strip()]


def _assert_clean(summary: str, title: str, source: str, max_chars: int) -> None:
    assert summary.strip(), "empty summary"
    assert len(summary) <= max_chars + 1, f"{len(summary)} chars: {summary!r}"
    assert not TAG_RE.search(summary), summary
    assert not ENTITY_RE.search(summary), summary
    assert _ends_cleanly(summary, title + "\n" + source), f"cut mid-word: {summary!r}"
    sentences = _sentences(summary)
    assert len(sentences) == len(set(sentences)), f"repeated sentence: {summary!r}"


# ----------------------------------------------------------------------- targeted cases


def test_lead_sentences_are_kept_whole_and_in_order() -> None:
    text = (
        "Dr. Jane Smith of the U.S. Department of Energy released version 2.5 of the model on "
        "Monday, e.g. for grid planning. The release follows a year of work.\n"
        "Unrelated trivia about the weather closes the article."
    )
    summary = summarise(text, "Energy department model")
    assert summary == (
        "Dr. Jane Smith of the U.S. Department of Energy released version 2.5 of the model on "
        "Monday, e.g. for grid planning. The release follows a year of work."
    )


def test_chinese_sentences_split_on_full_width_marks() -> None:
    text = (
        "智谱今天发布了新一代开源大模型，在多项基准测试中表现领先。"
        "该模型支持一百万个词元的上下文窗口！"
        "你会用它来写代码吗？"
        "天气不错。"
    )
    summary = summarise(text, "智谱发布新模型", max_chars=60)
    assert summary == (
        "智谱今天发布了新一代开源大模型，在多项基准测试中表现领先。该模型支持一百万个词元的上下文窗口！"
    )


def test_a_sentence_repeating_the_title_is_skipped() -> None:
    title = "OpenAI announces GPT-5 for everyone"
    text = (
        "OpenAI announces GPT-5 for everyone.\n"
        "The model is available today to free and paid users in ChatGPT and the API."
    )
    assert summarise(text, title) == (
        "The model is available today to free and paid users in ChatGPT and the API."
    )


def test_no_sentence_is_repeated() -> None:
    sentence = "The new chip doubles inference throughput at the same power budget."
    text = f"{sentence}\n{sentence}\n{sentence} Analysts expect shipments to begin next year."
    summary = summarise(text, "New chip")
    assert summary.count(sentence) == 1
    assert "Analysts expect shipments to begin next year." in summary


def test_long_english_sentence_is_cut_at_a_word_boundary_with_ellipsis() -> None:
    text = "Researchers " + "carefully " * 60 + "trained an extraordinarily capable model today."
    summary = summarise(text, "Title", max_chars=80)
    assert summary.endswith(ELLIPSIS) and len(summary) <= 80
    assert summary.removesuffix(ELLIPSIS).split()[-1] in {"Researchers", "carefully"}


def test_long_chinese_sentence_is_cut_with_ellipsis() -> None:
    text = "这是一个非常长的句子" * 20 + "。"
    summary = summarise(text, "标题", max_chars=50)
    assert summary.endswith(ELLIPSIS) and len(summary) <= 50


@pytest.mark.parametrize(
    "text",
    [
        "",
        "   \n  ",
        "desc",
        "Research",
        "Company",
        "Too short.",
        "Read more\nShare this\n12 comments",
    ],
    ids=["empty", "whitespace", "desc", "research", "company", "two-words", "only-boilerplate"],
)
def test_no_usable_text_falls_back_to_the_title(text: str) -> None:
    assert summarise(text, "A title worth reading") == "A title worth reading"


def test_long_title_fallback_is_shortened_cleanly() -> None:
    title = "An exceptionally long headline " * 20
    summary = summarise("", title, max_chars=100)
    assert summary.endswith(ELLIPSIS) and len(summary) <= 100
    assert summary.startswith("An exceptionally long headline An")


def test_appeared_first_on_line_is_removed() -> None:
    # No corpus feed carries this WordPress footer, so the text is written here.
    text = (
        "Meta released a new family of open-weight models on Tuesday.\n"
        "The post Meta releases new models appeared first on AI Weekly."
    )
    summary = summarise(text, "Meta releases new models")
    assert summary == "Meta released a new family of open-weight models on Tuesday."


def test_html_passed_by_mistake_is_still_cleaned() -> None:
    html = "<p>The lab released a smaller model that runs on a laptop &amp; a phone.</p>"
    summary = summarise(html, "Small model")
    assert summary == "The lab released a smaller model that runs on a laptop & a phone."


def test_summaries_are_deterministic() -> None:
    text = "Alpha beta gamma delta epsilon. Zeta eta theta iota kappa. Lambda mu nu xi omicron."
    assert len({summarise(text, "Greek", 40) for _ in range(5)}) == 1


def test_a_100kb_article_is_summarised_fast() -> None:
    paragraph = (
        "The company said the new accelerator cuts training costs by half for large models. "
        "Engineers measured 2.5 times the throughput of the previous generation in tests.\n"
    )
    text = paragraph * (100_000 // len(paragraph))
    assert len(text) > 95_000
    summarise(text, "Accelerator")  # warm up regex caches
    best = min(_timed(summarise, text, "Accelerator") for _ in range(5))
    assert best < 0.005, f"{best * 1000:.2f} ms"


def _timed(func, *args) -> float:
    start = time.perf_counter()
    func(*args)
    return time.perf_counter() - start


# ------------------------------------------------------------------- real feed entries


@needs_corpus
def test_substack_post_gives_a_clean_short_summary() -> None:
    entry = _entry("simonw_newsletter_substack_2024-08-06.rss.xml", "Datasette 1.0a14")
    summary = _summary_of(entry)
    assert summary.startswith("Released today: Datasette 1.0a14.")
    assert not summary.startswith("In this newsletter")
    assert "Plus 34 links" not in summary
    _assert_clean(summary, entry.title, html_to_text(_body(entry)), 300)


@needs_corpus
def test_jiqizhixin_post_gives_chinese_sentences() -> None:
    entry = _entry("jiqizhixin_zh_2026-05-07.rss.xml", "EVE")
    summary = _summary_of(entry)
    assert summary.endswith(("。", ELLIPSIS))
    assert "DeepMind" in summary and "EVE Online" in summary
    assert "编辑" not in summary and "image.jiqizhixin.com" not in summary
    _assert_clean(summary, entry.title, html_to_text(_body(entry)), 300)


@needs_corpus
def test_xinzhiyuan_summary_is_the_lead_not_the_byline() -> None:
    entry = _entry("xinzhiyuan_ai_era_zh_2026-05-07.rss.xml", "全球医疗榜第一")
    summary = _summary_of(entry)
    assert summary.startswith("火爆全网的Harness架构")
    assert "编辑" not in summary and "新智元" not in summary


@needs_corpus
def test_mistral_research_description_falls_back_to_title() -> None:
    # The trailing-slash copies of a post carry only a category as description.
    entries = _entries("mistral_news_fulltext_2026-08-20.rss.xml")
    labelled = [e for e in entries if e.get("summary") in ("Research", "Company")]
    assert any("Devstral 2" in e.title and e.summary == "Research" for e in labelled)
    assert len(labelled) == 3
    for entry in labelled:
        assert summarise(html_to_text(entry.summary), entry.title) == entry.title


@needs_corpus
def test_openai_empty_and_placeholder_descriptions_fall_back_to_title() -> None:
    entries = _entries("openai_news_official_2025-07-28.rss.xml")
    empty = [e for e in entries if not e.get("summary", "").strip()]
    placeholder = _entry("openai_news_official_2025-07-28.rss.xml", "Prover-Verifier Games")
    assert len(empty) > 10 and placeholder.summary == "desc"
    for entry in [*empty, placeholder]:
        assert _summary_of(entry) == entry.title


@needs_corpus
def test_openai_description_equal_to_title_is_not_doubled() -> None:
    entry = _entry("openai_news_official_2025-07-28.rss.xml", "Nubank elevates")
    assert entry.summary == entry.title
    assert _summary_of(entry) == entry.title


@needs_corpus
def test_hn_items_drop_comment_and_points_boilerplate() -> None:
    best = _entries("hn_best_stories_2026-04-30.atom.xml")
    for entry in best:  # "Score: N / Comments: N / By: … / Discussion: URL" only
        assert _summary_of(entry) == entry.title
    fulltext = _entries("hn_frontpage_fulltext_2026-08-22.rss.xml")
    z80 = _entry("hn_frontpage_fulltext_2026-08-22.rss.xml", "Z80")
    assert _summary_of(z80) == z80.title
    for entry in fulltext:
        summary = _summary_of(entry)
        assert "Comments on Hacker News" not in summary
        assert "news.ycombinator.com" not in summary


@needs_corpus
def test_digg_summary_has_no_source_links() -> None:
    entry = _entries("digg_ai_stories_from_x_2026-07-25.rss.xml")[0]
    summary = _summary_of(entry)
    assert summary.startswith("Online speculation followed a perceived change")
    assert "x.com" not in summary and "Original source" not in summary


# ------------------------------------------------------------ invariants on every entry


def _corpus_cases() -> list[tuple[str, int]]:
    if not FEEDS.is_dir():
        return []
    return [
        (path.name, index)
        for path in sorted(FEEDS.iterdir())
        for index in range(len(_entries(path.name)))
    ]


_CASES = _corpus_cases()


@needs_corpus
@pytest.mark.parametrize(
    ("name", "index"), _CASES, ids=[f"{name.split('.')[0]}-{index}" for name, index in _CASES]
)
def test_every_corpus_entry_has_a_clean_summary(name: str, index: int) -> None:
    entry = _entries(name)[index]
    title = " ".join(html_to_text(entry.get("title", "")).split())
    text = html_to_text(_body(entry))
    for max_chars in (300, 120):
        summary = summarise(text, entry.get("title", ""), max_chars)
        _assert_clean(summary, title, text, max_chars)


@needs_corpus
def test_author_credits_are_not_a_summary() -> None:
    entry = _entry("jiqizhixin_zh_2026-05-07.rss.xml", "OrthoReg")
    assert "为本文第一作者" in html_to_text(_body(entry))
    summary = _summary_of(entry)
    assert "作者" not in summary
    assert summary.startswith("在大模型时代，微调是我们让基础模型适配下游任务的常规操作。")
