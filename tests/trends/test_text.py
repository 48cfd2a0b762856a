"""html_to_text and strip_boilerplate, on small fragments and on the real feed corpus."""

from __future__ import annotations

import html
import re
import unicodedata
from functools import cache
from pathlib import Path

import feedparser
import pytest

from trends.ingest.text import html_to_text, strip_boilerplate

# Third-party feed files live next to the repository, never inside it.
FEEDS = Path(__file__).resolve().parents[3] / "shared" / "corpus" / "feeds"
# Markup that html_to_text must remove (escaped code such as "<stdio.h>" in a post is text).
SOURCE_TAG_RE = re.compile(r"</?(?:p|a|img|div|span|li|ul|br|strong|em|figure|h[1-6])\b[^>]*>")
ENTITY_RE = re.compile(r"&(?:[A-Za-z]{2,8}|#\d+|#x[0-9a-fA-F]+);")


def _corpus_available() -> bool:
    return FEEDS.is_dir()


needs_corpus = pytest.mark.skipif(not _corpus_available(), reason=f"feed corpus not at {FEEDS}")


@cache
def _entries(name: str) -> list:
    return list(feedparser.parse(str(FEEDS / name)).entries)


def _body(entry) -> str:
    """The richest body a feed gives: content:encoded if present, else the summary."""
    if entry.get("content"):
        return entry.content[0].value
    return entry.get("summary", "")


def _leftover_tags(raw: str, text: str) -> set[str]:
    """Tags in `text` that are not quoted as escaped text ("&lt;a&gt;") in the source."""
    quoted = set(SOURCE_TAG_RE.findall(html.unescape(re.sub(r"<[^>]*>", " ", raw))))
    return set(SOURCE_TAG_RE.findall(text)) - quoted


def _entry(name: str, title_part: str):
    matches = [e for e in _entries(name) if title_part in e.get("title", "")]
    assert matches, f"no entry with {title_part!r} in {name}"
    return matches[0]


# --------------------------------------------------------------------------- html_to_text


def test_script_style_and_friends_are_dropped() -> None:
    html = (
        "<p>Keep me.</p><script>var s = '<p>not me</p>';</script><style>p {color: red}</style>"
        "<noscript>Enable JS</noscript><iframe src='x'>frame text</iframe>"
        "<svg><text>svg label</text></svg><nav>Home | About</nav>"
        "<form>Search <input></form><footer>(c) 2024 Example</footer><p>And me.</p>"
    )
    assert html_to_text(html) == "Keep me.\nAnd me."


def test_image_captions_are_dropped() -> None:
    html = "<figure><img src='a.png'><figcaption>A cat on a mat</figcaption></figure><p>Text.</p>"
    assert html_to_text(html) == "Text."


def test_entities_are_decoded_and_blocks_become_lines() -> None:
    html = (
        "<h2>Head&nbsp;line</h2><p>Fish &amp; chips &lt;3 &#8230; &#x4e2d;</p>"
        "<div>one<br>two<br/>three</div><blockquote>Quoted</blockquote>"
        "<ul><li>First item</li><li>Second item</li></ul><table><tr><td>a</td><td>b</td></tr></table>"
    )
    assert html_to_text(html) == (
        "Head line\nFish & chips <3 … 中\none\ntwo\nthree\nQuoted\nFirst item\nSecond item\na b"
    )


def test_inline_whitespace_is_collapsed_but_words_stay_apart() -> None:
    html = "<p>runs on\n        <b>your</b>   laptop.\t Next</p>"
    assert html_to_text(html) == "runs on your laptop. Next"


@pytest.mark.parametrize(
    ("html", "expected"),
    [
        ("<p>Intro</p><ul><li><a href='/a'>Link A</a></li><li><a href='/b'>B</a></li></ul>", "Intro"),
        ("<table><tr><td><a href='/a'>A</a></td><td><a href='/b'>B</a></td></tr></table><p>T</p>", "T"),
        ("<ul><li>Plain item</li><li><a href='/x'>link</a> with words</li></ul>", "Plain item\nlink with words"),
        ("<ol><li><a href='/x'>Outer</a><ul><li><a href='/y'>Inner</a></li></ul></li></ol><p>End</p>", "End"),
    ],
    ids=["link-list", "link-table", "mixed-list-kept", "nested-link-list"],
)  # fmt: skip
def test_lists_and_tables_of_links_are_removed(html: str, expected: str) -> None:
    assert html_to_text(html) == expected


@pytest.mark.parametrize(
    ("html", "expected"),
    [
        ("<p>Unclosed <b>bold <i>italic<p>next para<div>tail", "Unclosed bold italic\nnext para\ntail"),
        ("<p>a</p><form>unclosed form <p>rest of the page</p>", "a\nunclosed form\nrest of the page"),
        ("<<<>>> </p> stray", "<<<>>>\nstray"),
        ("<p>5 < 6 and 7 > 3</p>", "5 < 6 and 7 > 3"),
        ("", ""),
    ],
    ids=["unclosed-inline", "unclosed-form", "stray-brackets", "bare-less-than", "empty"],
)  # fmt: skip
def test_broken_html_survives(html: str, expected: str) -> None:
    assert html_to_text(html) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Just a sentence.", "Just a sentence."),
        ("  Double  spaces\tand tabs  ", "Double spaces and tabs"),
        ("Para one.\n\n\nPara two.", "Para one.\nPara two."),
        ("R&D at AT&T, 3 < 4, &copy without semicolon", "R&D at AT&T, 3 < 4, &copy without semicolon"),
        ("中文，没有标签。", "中文，没有标签。"),
        ("Vec<String> is a type", "Vec<String> is a type"),
    ],
    ids=["sentence", "spaces", "blank-lines", "ampersands", "chinese", "generic-angle"],
)  # fmt: skip
def test_plain_text_is_unchanged_except_whitespace(text: str, expected: str) -> None:
    assert html_to_text(text) == expected


def test_output_is_nfc() -> None:
    decomposed = "<p>Cafe\u0301 re\u0301sume\u0301</p>"
    result = html_to_text(decomposed)
    assert result == "Café résumé"
    assert unicodedata.is_normalized("NFC", result)


def test_pre_lines_stay_separate() -> None:
    assert html_to_text("<pre>x = 1\ny = 2</pre><p>After.</p>") == "x = 1\ny = 2\nAfter."


@needs_corpus
def test_substack_html_heavy_post_is_clean() -> None:
    entry = _entries("simonw_newsletter_substack_2024-08-06.rss.xml")[0]
    raw = _body(entry)
    assert "<img" in raw and "&#8230;" in raw  # the fixture really is HTML-heavy
    text = html_to_text(raw)
    assert not _leftover_tags(raw, text)
    assert "&#8230;" not in text and "&amp;" not in text
    # Paragraphs survive as lines, with the link text kept in the sentence.
    assert any(
        line.startswith("Released today: Datasette 1.0a14. This") for line in text.split("\n")
    )


@needs_corpus
def test_wechat_image_markup_is_removed_from_chinese_post() -> None:
    entry = _entry("jiqizhixin_zh_2026-05-07.rss.xml", "EVE")
    text = html_to_text(_body(entry))
    assert "image.jiqizhixin.com" not in text and "<img" not in text
    assert "\n本周四，Google DeepMind 宣布他们又要开始打游戏了。" in text


@needs_corpus
def test_digg_link_list_is_removed_but_prose_kept() -> None:
    entry = _entries("digg_ai_stories_from_x_2026-07-25.rss.xml")[0]
    raw = _body(entry)
    assert "Teortaxes" in raw  # only inside the "Top authors" list of links
    text = html_to_text(raw)
    assert "Teortaxes" not in text
    assert "Online speculation followed a perceived change in his X profile bio." in text


@needs_corpus
@pytest.mark.parametrize(
    "name", sorted(p.name for p in FEEDS.glob("*")) if _corpus_available() else [], ids=str
)
def test_every_corpus_entry_converts_without_source_markup(name: str) -> None:
    for index, entry in enumerate(_entries(name)):
        raw = _body(entry)
        text = html_to_text(raw)
        leftover = _leftover_tags(raw, text)
        assert not leftover, f"{name}[{index}]: {sorted(leftover)}"
        assert "\n\n" not in text and text == text.strip()


# ---------------------------------------------------------------------- strip_boilerplate


@pytest.mark.parametrize(
    "line",
    [
        "Read more",
        "Read more »",
        "Continue reading →",
        "Read the full story",
        "12 comments",
        "Comments",
        "Share this",
        "Subscribe now",
        "Share",
        "Points: 12 | Comments: 3",
        "Article URL: https://example.com/a",
        "Comments URL: https://news.ycombinator.com/item?id=1",
        "The post Something happened appeared first on Example Blog.",
        "点击阅读原文",
        "阅读原文",
        "关注我们",
        "点击上方蓝字关注我们",
        "编辑：犀牛",
        "新智元报道",
    ],
)
def test_boilerplate_lines_are_removed(line: str) -> None:
    assert strip_boilerplate(f"A real sentence stays.\n{line}\nAnother one too.") == (
        "A real sentence stays.\nAnother one too."
    )


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "Big news today. The post Big news appeared first on Example Blog.",
            "Big news today.",
        ),
        (
            "Article URL: https://a.example/x Comments URL: https://news.ycombinator.com/item?id=9 "
            "Points: 31 # Comments: 4",
            "",
        ),
        ("The model is faster […]", "The model is faster"),
        ("It ships today. Read more…", "It ships today."),
        ("想了解更多，点击「阅读原文」，即可立即试用。", "想了解更多，"),
    ],
    ids=["appeared-first-on", "hn-metadata", "bracket-ellipsis", "read-more-tail", "zh-inline"],
)
def test_inline_boilerplate_is_removed(text: str, expected: str) -> None:
    assert strip_boilerplate(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "You can read more about our K-12 data privacy standards for Claude for Teachers here.",
        "Thanks to its new architecture, the model is fast.",
        "Share prices rose 5% after the launch.",
        "Comments from users were mostly positive.",
        "我们关注我们的用户。",
    ],
    ids=["read-more-mid-sentence", "thanks-to", "share-prices", "comments-from", "zh-guanzhu"],
)
def test_real_sentences_are_kept(text: str) -> None:
    assert strip_boilerplate(text) == text


def test_xinzhiyuan_lead_label_splits_byline_from_lead() -> None:
    text = "新智元报道\n编辑：犀牛【新智元导读】1000亿美元砸向AWS算力。\n正文。"
    assert strip_boilerplate(text) == "1000亿美元砸向AWS算力。\n正文。"


@needs_corpus
def test_hn_best_metadata_is_all_boilerplate() -> None:
    for entry in _entries("hn_best_stories_2026-04-30.atom.xml"):
        text = html_to_text(_body(entry))
        assert text.startswith("Score:")
        assert strip_boilerplate(text) == "", entry.title


@needs_corpus
def test_hn_fulltext_comments_link_is_removed() -> None:
    entries = _entries("hn_frontpage_fulltext_2026-08-22.rss.xml")
    texts = [html_to_text(_body(entry)) for entry in entries]
    assert sum("Comments on Hacker News" in text for text in texts) >= 40
    assert not any("Comments on Hacker News" in strip_boilerplate(text) for text in texts)


@needs_corpus
def test_wechat_footer_and_byline_are_removed() -> None:
    entry = _entry("xinzhiyuan_ai_era_zh_2026-05-07.rss.xml", "全球医疗榜第一")
    text = html_to_text(_body(entry))
    assert "阅读原文" in text and "文章原文" in text and "新智元报道" in text
    cleaned = strip_boilerplate(text)
    for junk in ("阅读原文", "文章原文", "新智元报道", "编辑：", "【新智元导读】"):
        assert junk not in cleaned
    assert cleaned.startswith("火爆全网的Harness架构，终于在最难的医疗圈落地了！")


@needs_corpus
def test_digg_source_links_and_counters_are_removed() -> None:
    entry = _entries("digg_ai_stories_from_x_2026-07-25.rss.xml")[0]
    cleaned = strip_boilerplate(html_to_text(_body(entry)))
    assert "Original source:" not in cleaned and "Digg story:" not in cleaned
    assert "Views:" not in cleaned and "Likes:" not in cleaned
    assert cleaned.startswith("Online speculation followed")
