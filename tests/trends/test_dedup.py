"""Tests for trends.ingest.dedup, on hand-made cases and on the real corpus and eval set."""

from __future__ import annotations

import html
import json
import re
from pathlib import Path

import feedparser
import numpy as np
import pytest

from trends.ingest.dedup import (
    BANDS,
    NUM_PERM,
    ROWS,
    THRESHOLD,
    NearDuplicateIndex,
    band_keys,
    canonical_url,
    content_hash,
    minhash_signature,
    normalise_for_shingles,
    similarity,
    story_signature,
)
from trends.ingest.story_index import find_duplicates

SHARED = Path(__file__).resolve().parents[2].parent / "shared"
FEEDS = SHARED / "corpus" / "feeds"
EVAL = SHARED / "eval"

# Measured with bench/dedup.py: 2 of 5 non-cross-lingual dev pairs (both by link), no false
# merges. The other three are rewrites by another outlet or a second post on the same
# launch, with Jaccard 0.07-0.25, below unrelated items sharing boilerplate (0.4-0.46).
DEV_MONO_RECALL = 2 / 5
DEV_FALSE_MERGES = 0

WEIXIN = (
    "http://mp.weixin.qq.com/s?__biz=MzI3MTA0MTk1MA==&mid=2652698173&idx=1"
    "&sn=85b6ce4c7592002a2e3c538a39c3d597&chksm=f09f8ec160eee1c1e0fbc912fdfae52b03ee4c25cc0c"
    "ce0b2e2e8b00267fc6040fe86d62088c&scene=0#rd"
)
WEIXIN_CANONICAL = (
    "https://mp.weixin.qq.com/s?__biz=MzI3MTA0MTk1MA==&idx=1&mid=2652698173"
    "&sn=85b6ce4c7592002a2e3c538a39c3d597"
)


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        pytest.param("https://a.com/p?utm_source=x&utm_medium=rss", "https://a.com/p", id="utm"),
        pytest.param("https://a.com/p?fbclid=IwAR0&id=7", "https://a.com/p?id=7", id="fbclid"),
        pytest.param("https://a.com/p?gclid=1&ref=hn&ref_src=tw", "https://a.com/p", id="ads"),
        pytest.param("https://a.com/p#comments", "https://a.com/p", id="fragment"),
        pytest.param("https://a.com/news/p/", "https://a.com/news/p", id="trailing-slash"),
        pytest.param("https://a.com", "https://a.com/", id="root-keeps-slash"),
        pytest.param("HTTPS://Blog.A.COM/Post", "https://blog.a.com/Post", id="host-case"),
        pytest.param("http://a.com:80/p", "https://a.com/p", id="http-default-port"),
        pytest.param("https://a.com:8443/p", "https://a.com:8443/p", id="other-port-kept"),
        pytest.param("https://www.a.com/p", "https://www.a.com/p", id="www-kept"),
        pytest.param("https://m.a.com/p", "https://a.com/p", id="mobile-m"),
        pytest.param("https://mobile.a.com/p", "https://a.com/p", id="mobile-word"),
        pytest.param("https://amp.a.com/p", "https://a.com/p", id="amp-host"),
        pytest.param("https://a.com/p/amp/", "https://a.com/p", id="amp-path"),
        pytest.param("https://a.com/p?amp", "https://a.com/p", id="amp-flag"),
        pytest.param("https://a.com/p?outputType=amp", "https://a.com/p", id="amp-output"),
        pytest.param("https://amp.dev/docs", "https://amp.dev/docs", id="amp-is-the-site"),
        pytest.param("https://a.com/p?b=2&a=1", "https://a.com/p?a=1&b=2", id="sorted"),
        pytest.param("https://a.com/p?source=rss", "https://a.com/p?source=rss", id="source-kept"),
        pytest.param("https://a.com/s?q=a%26b", "https://a.com/s?q=a%26b", id="encoded-ampersand"),
        pytest.param(WEIXIN, WEIXIN_CANONICAL, id="weixin-chksm-rd"),
        pytest.param(
            WEIXIN.replace("#rd", "&sessionid=17&ascene=1#wechat_redirect"),
            WEIXIN_CANONICAL,
            id="weixin-only-article-keys",
        ),
        pytest.param(
            "https://www.36kr.com/p/1?spm=a2.b&from=timeline&isappinstalled=0",
            "https://www.36kr.com/p/1",
            id="cn-share-trackers",
        ),
        pytest.param(
            WEIXIN.replace("==", "%3D%3D").replace("http:", "https:"),
            WEIXIN_CANONICAL,
            id="weixin-encoded",
        ),
        pytest.param(" mailto:x@a.com ", "mailto:x@a.com", id="mailto-untouched"),
        pytest.param("ftp://a.com/p/", "ftp://a.com/p/", id="ftp-untouched"),
        pytest.param("urn:uuid:65bd19df", "urn:uuid:65bd19df", id="guid-untouched"),
    ],
)
def test_canonical_url(url: str, expected: str) -> None:
    assert canonical_url(url) == expected


def test_mistral_trailing_slash_copies_canonicalise_equal() -> None:
    feed = feedparser.parse(str(FEEDS / "mistral_news_fulltext_2026-08-20.rss.xml"))
    links = {entry.link for entry in feed.entries if "devstral-2-vibe-cli" in entry.link}
    assert len(links) == 2  # one with and one without the slash
    assert len({canonical_url(link) for link in links}) == 1
    # The feed has the same slip for three posts; all three must collapse, and nothing else.
    raw = [entry.link for entry in feed.entries]
    assert len(set(raw)) - len({canonical_url(link) for link in raw}) == 3


def test_content_hash_ignores_case_punctuation_and_spacing() -> None:
    a = content_hash("GPT-5 is out!", "OpenAI  released\nGPT-5 today.")
    assert a == content_hash("gpt 5 is out", "openai released gpt5 today")
    assert a != content_hash("GPT-5 is out!", "OpenAI released GPT-6 today.")
    assert len(a) == 40


def test_normalise_keeps_cjk_and_drops_punctuation() -> None:
    assert normalise_for_shingles("Ｇｐｔ-5，发布了！ A b") == "gpt5发布了ab"


def test_signature_shape_and_determinism() -> None:
    sig = minhash_signature("the same text")
    assert sig.shape == (NUM_PERM,)
    assert sig.dtype == np.uint32
    assert np.array_equal(sig, minhash_signature("The same, text!"))
    assert similarity(sig, minhash_signature("a completely different sentence")) < 0.2


def test_band_keys_fit_bigint_and_include_band_index() -> None:
    keys = band_keys(minhash_signature("some story"), BANDS, ROWS)
    assert len(keys) == BANDS
    assert all(0 <= key < 2**63 for key in keys)
    # Identical rows in every band must still give a distinct key per band.
    flat = band_keys(np.full(NUM_PERM, 7, dtype=np.uint32), BANDS, ROWS)
    assert len(set(flat)) == BANDS
    # Stable across processes: keys are stored in the database.
    assert band_keys(np.arange(NUM_PERM, dtype=np.uint32), 2, 2) == band_keys(
        np.arange(NUM_PERM, dtype=np.uint32), 2, 2
    )


ARTICLE = (
    "Mistral AI released Devstral 2, a 123B coding model, and Devstral Small 2 with 24B "
    "parameters. Devstral 2 ships under a modified MIT license while the small model uses "
    "Apache 2.0. The company also launched Mistral Vibe, a command-line coding agent that "
    "edits files, runs tests and explains code across a whole repository."
)
REWORDED = (
    "Mistral AI has released Devstral 2, a 123B coding model, plus Devstral Small 2 with 24B "
    "parameters. Devstral 2 comes under a modified MIT license while the small model uses "
    "Apache 2.0. The company also launched Mistral Vibe, a command-line coding agent that "
    "edits files, runs tests and explains code across an entire repository."
)
OTHER_STORY = (
    "Mistral AI introduced Magistral, its first reasoning model, in a 24B open version and "
    "a larger enterprise version. Magistral reasons step by step in many languages and is "
    "available in Le Chat and through the API for developers building agents and tools."
)


def test_near_duplicate_finds_reworded_copy() -> None:
    index = NearDuplicateIndex()
    index.add("original", story_signature("Devstral 2 is here", ARTICLE))
    index.add("other", story_signature("Meet Magistral", OTHER_STORY))
    assert index.find(story_signature("Mistral releases Devstral 2", REWORDED)) == "original"


def test_near_duplicate_rejects_other_story_on_same_topic() -> None:
    index = NearDuplicateIndex()
    index.add("original", story_signature("Devstral 2 is here", ARTICLE))
    assert index.find(story_signature("Meet Magistral", OTHER_STORY)) is None


def test_same_outlet_template_posts_are_not_merged() -> None:
    """OpenAI's two data-residency posts share their whole description (real feed)."""
    feed = feedparser.parse(str(FEEDS / "openai_news_official_2025-07-28.rss.xml"))
    posts = [e for e in feed.entries if e.title.startswith("Introducing data residency in")]
    assert len(posts) == 2
    a, b = (story_signature(e.title, e.summary) for e in posts)
    assert similarity(a, b) >= THRESHOLD  # MinHash alone would merge them
    assert find_duplicates([(e.title, e.summary, e.link) for e in posts]) == [None, None]


def test_cross_outlet_copies_are_merged() -> None:
    text = ARTICLE
    items = [
        ("Devstral 2 is here", text, "https://mistral.ai/news/devstral-2-vibe-cli"),
        ("Meet Magistral", OTHER_STORY, "https://mistral.ai/news/magistral"),
        ("Mistral releases Devstral 2", REWORDED, "https://news.example.org/devstral-2"),
        ("Devstral 2 is here", text, "https://m.mistral.ai/news/devstral-2-vibe-cli/?utm_x=1"),
        ("Team update", "", "https://openai.com/index/team-update"),
        ("Team update", "", "https://openai.com/index/team-update-august"),
    ]
    assert find_duplicates(items) == [None, None, 0, 0, None, None]


ZH = (
    "就在刚刚，马斯克正式对外确认，xAI将被解散。xAI及其旗下的大语言模型Grok将被整合进SpaceX的一个"
    "全新子部门，统一命名为SpaceXAI。这一解散动作的伏笔其实在2026年2月初就已埋下，当时SpaceX以全资"
    "收购的方式收购了xAI，合并后的实体估值高达1.25万亿美元。"
)
ZH_REWORDED = (
    "刚刚，马斯克正式对外确认，xAI将被解散！xAI以及旗下的大语言模型Grok将被整合进SpaceX的一个"
    "全新部门，统一命名为SpaceXAI。这次解散的伏笔其实在2026年2月初就已埋下：当时SpaceX以全资"
    "收购的方式收购了xAI，合并后实体估值高达1.25万亿美元。"
)
ZH_SAME_TOPIC = (  # another 新智元 story on Musk, xAI and GPUs the same week
    "当OpenAI还在抢模型话语权时，马斯克已经一手把xAI变成「算力包租公」，砸下数万张GPU为Cursor"
    "提供算力，一手推进Tesla AI5、AI6与Dojo芯片，联手Cursor反杀OpenAI。"
)


def test_chinese_near_duplicates() -> None:
    index = NearDuplicateIndex()
    index.add("xai", story_signature("马斯克官宣xAI解散", ZH))
    assert index.find(story_signature("突发：马斯克xAI解散", ZH_REWORDED)) == "xai"
    assert index.find(story_signature("马斯克变身「算力包租公」", ZH_SAME_TOPIC)) is None


def test_empty_texts_are_never_near_duplicates() -> None:
    index = NearDuplicateIndex()
    index.add("empty", minhash_signature(""))
    assert len(index) == 0
    assert index.find(minhash_signature("")) is None


def _jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]


def test_dev_duplicates_recall_and_false_merges() -> None:
    items = _jsonl(EVAL / "dev.jsonl")
    pos = {item["id"]: i for i, item in enumerate(items)}
    pairs = [p for p in _jsonl(EVAL / "dev-duplicates.jsonl") if not p["cross_lingual"]]
    dup = find_duplicates([(d["title"], d["summary"] or "", d["link"]) for d in items])

    def root(i: int) -> int:
        while dup[i] is not None:
            i = dup[i]
        return i

    found = sum(root(pos[p["a"]]) == root(pos[p["b"]]) for p in pairs)
    assert found / len(pairs) >= DEV_MONO_RECALL - 0.01
    gold = {frozenset((pos[p["a"]], pos[p["b"]])) for p in pairs}
    false = [(i, j) for i, j in enumerate(dup) if j is not None and frozenset((i, j)) not in gold]
    assert len(false) <= DEV_FALSE_MERGES, [
        (items[i]["title"], items[j]["title"]) for i, j in false
    ]


def _plain(html_text: str) -> str:
    return re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", html_text))).strip()


def test_hn_same_story_under_other_urls_despite_shared_boilerplate() -> None:
    """Every HN summary is "Score: N Comments: M By: ..."; only the real pairs may merge."""
    feed = feedparser.parse(str(FEEDS / "hn_best_stories_2026-04-30.atom.xml"))
    items = [(e.title, _plain(e.get("summary", "")), e.link) for e in feed.entries]
    merged = {
        (items[j][0], items[i][0]) for i, j in enumerate(find_duplicates(items)) if j is not None
    }
    # FT vs Reuters needs the title signal (0.47 < THRESHOLD); Warp is blog vs GitHub.
    assert merged == {
        ("UAE to leave OPEC", "UAE Leaves OPEC"),
        ("Warp is now open-source", "Warp is now open-source"),
    }
