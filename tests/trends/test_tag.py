"""The lexicon tagger and the themes file, as a user of `/trend N` would notice them.

The lexicon's per-trend scores are features of the learned tagger (tests/trends/test_tagger.py)
and `lexicon_tag` is the baseline `trendbot train` compares it with, so its matching is pinned here.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import yaml

import trends.ingest.lexicon
import trends.ingest.tag
import trends.themes
from trends.ingest.lexicon import about_ai
from trends.ingest.lexicon import lexicon_tag as tag
from trends.models import TrendTag
from trends.themes import Themes, load_themes

REPO = Path(__file__).resolve().parents[2]
SHARED = REPO.parent / "shared"
SHIPPED = REPO / "config" / "themes.yaml"


@pytest.fixture(scope="module")
def themes() -> Themes:
    return load_themes()


def trend_numbers(title: str, text: str, themes: Themes) -> list[int]:
    return [t.trend for t in tag(title, text, themes)]


def tag_for(number: int, title: str, text: str, themes: Themes) -> TrendTag:
    found = [t for t in tag(title, text, themes) if t.trend == number]
    assert found, f"trend {number} not tagged: {tag(title, text, themes)}"
    return found[0]


# --- outcome-based pricing (trend 6), the user's own example ---------------------------------


def test_per_resolution_pricing_post_gets_trend_6_with_the_matched_term(themes: Themes) -> None:
    result = tag_for(
        6,
        "Support startup prices its AI agent at $0.99 per resolved ticket",
        "Customers pay only when the agent closes a ticket without a human: per-resolution "
        "pricing instead of per-seat licences.",
        themes,
    )
    assert "per resolved" in result.matched
    assert result.score > 0


@pytest.mark.parametrize(
    ("title", "text"),
    [
        (
            "Copilot adds a $39 per-user subscription tier",
            "Microsoft's new AI subscription tier costs $39 per user per month and comes with "
            "higher rate limits.",
        ),
        (
            "Price cut: Agentforce drops to $1 per conversation",
            "Salesforce's AI agents now cost $1 per conversation, half the old price; the price "
            "cut makes the platform cheaper.",
        ),
        (
            "ChatGPT launches ads, billed per conversation to advertisers",
            "OpenAI starts advertising in the AI chatbot: ads appear below answers and "
            "advertisers pay for each conversation that shows one.",
        ),
    ],
    ids=["subscription-tier", "price-cut", "ad-launch"],
)
def test_price_cuts_tiers_and_ads_are_not_outcome_pricing(
    title: str, text: str, themes: Themes
) -> None:
    assert 6 not in trend_numbers(title, text, themes)


# --- the AI gate --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("title", "text"),
    [
        (
            "Wheat inositol pyrophosphate kinase (TaVIH2-3B) interacts with Fasciclin-like "
            "arabinogalactan (FLA6) protein",
            "Inositol pyrophosphates are of key interest, since they are known to participate "
            "in plant signalling and phosphate homeostasis; we show the kinase binds FLA6.",
        ),
        (
            "出南京泰山5盒，原盒看图",
            "半天了也没有上传成功，一会儿让朋友帮忙上传，原盒品相号19.1/枚，江浙沪包邮",
        ),
        (
            "Should drug contracts be tied to outcomes? Insurers try outcome-based pricing",
            "Outcome-based contracts pay drug makers more when patients recover; hospitals "
            "track results per patient.",
        ),
    ],
    ids=["plant-biology-paper", "coin-forum-post", "outcome-pricing-outside-ai"],
)
def test_posts_not_about_ai_get_no_trend(title: str, text: str, themes: Themes) -> None:
    assert tag(title, text, themes) == []
    assert not about_ai(title, text, themes)
    assert about_ai(title, text, themes, ai_source=True)


def test_an_ai_post_about_none_of_the_trends_gets_nothing(themes: Themes) -> None:
    assert tag("OpenAI names a new chief financial officer", "The AI company said…", themes) == []
    # ...but it passes the AI gate, which is what tells it apart from a post not about AI.
    assert about_ai("OpenAI names a new chief financial officer", "The AI company said…", themes)


# --- Chinese ------------------------------------------------------------------------------


def test_chinese_post_is_tagged(themes: Themes) -> None:
    numbers = trend_numbers(
        "谷歌推出智能体支付协议AP2",
        "AP2 让 AI 智能体与商家用共同的语言完成交易，是 A2A 与 MCP 协议的延伸。",
        themes,
    )
    assert numbers[0] == 2


def test_traditional_chinese_matches_simplified_terms(themes: Themes) -> None:
    result = tag_for(3, "騰訊再開源混元3D世界模型", "人工智慧模型可以生成3D世界。", themes)
    assert "开源" in result.matched
    assert 9 in trend_numbers("騰訊再開源混元3D世界模型", "人工智慧模型可以生成3D世界。", themes)


def test_chinese_term_counts_once_inside_a_longer_term(themes: Themes) -> None:
    result = tag_for(5, "人形机器人公司发布新模型", "大模型让人形机器人更聪明。", themes)
    assert result.matched == ("人形机器人",)


# --- English matching ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "phrase",
    [
        "outcome-based pricing",
        "outcome based pricing",
        "Outcome–based pricing",
        "OUTCOME-BASED PRICING",
    ],
)
def test_hyphen_space_dash_and_case_variants_match(phrase: str, themes: Themes) -> None:
    result = tag_for(6, f"AI vendors move to {phrase}", "", themes)
    assert "outcome-based pricing" in result.matched


@pytest.mark.parametrize("spelling", ["multi-agent", "multi agent", "multiagent"])
def test_joined_spelling_matches_the_hyphenated_term(spelling: str, themes: Themes) -> None:
    assert "multi-agent" in tag_for(2, f"A {spelling} framework for AI", "", themes).matched


@pytest.mark.parametrize(
    ("title", "number", "term"),
    [
        ("Humanoid robots learn chores with AI", 5, "robot"),
        ("Nvidia ships more GPUs to AI labs", 4, "GPU"),
        ("New AI regulations take effect", 10, "regulation"),
        ("AI companions for lonely teenagers", 8, "AI companion"),
    ],
)
def test_plurals_match_the_singular_term(
    title: str, number: int, term: str, themes: Themes
) -> None:
    assert term in tag_for(number, title, "", themes).matched


def test_terms_match_whole_words_only(themes: Themes) -> None:
    # "coding" is inside "decoding", but not as a word.
    assert 7 not in trend_numbers("Speculative decoding makes LLM inference faster", "", themes)


def test_a_term_inside_a_longer_term_is_not_counted_twice(themes: Themes) -> None:
    # "coding" (trend 7) and "agent" (trend 2) are only parts of "coding agent" here.
    result = tag("Google ships a coding agent for its AI models", "", themes)
    assert [(t.trend, t.matched) for t in result] == [(7, ("coding agent",))]


def test_matched_terms_are_written_as_in_the_themes_file(themes: Themes) -> None:
    raw = yaml.safe_load(SHIPPED.read_text(encoding="utf-8"))
    written = {
        term for trend in raw["trends"] for block in trend["terms"].values() for term in block
    }
    result = tag(
        "OpenAI fine-tunes reasoning models with RLHF; open-weights agents pay per resolution",
        "Humanoid robots train in simulators; safety evaluations find fewer hallucinations.",
        themes,
    )
    assert len(result) >= 4
    assert all(term in written for t in result for term in t.matched)


# --- scoring ------------------------------------------------------------------------------


def test_title_outweighs_body(themes: Themes) -> None:
    in_title = tag_for(5, "AI humanoid robot unveiled", "The company showed a demo.", themes)
    in_body = tag_for(5, "The company showed a demo", "AI humanoid robot unveiled.", themes)
    assert in_title.score > in_body.score


def test_a_weak_term_tags_from_the_title_but_not_from_the_body(themes: Themes) -> None:
    assert 8 in trend_numbers("ChatGPT memory gets an update", "", themes)
    assert 8 not in trend_numbers("ChatGPT gets an update", "It now has memory.", themes)


def test_tags_are_sorted_by_score_with_rounded_float_scores(themes: Themes) -> None:
    result = tag(
        "Humanoid robot trained in simulation with reinforcement learning",
        "The robot learnt in a simulator, then transferred sim-to-real to a humanoid body.",
        themes,
    )
    assert len(result) >= 2
    scores = [t.score for t in result]
    assert scores == sorted(scores, reverse=True)
    assert all(isinstance(s, float) and round(s, 3) == s for s in scores)


def test_repeating_a_word_does_not_outscore_a_post_about_the_trend(themes: Themes) -> None:
    stuffed = tag_for(4, "AI news", "GPU " * 40, themes)
    on_topic = tag_for(4, "AI news", "A gigawatt AI data center full of GPUs.", themes)
    assert stuffed.score < on_topic.score


def test_a_passing_mention_does_not_tag(themes: Themes) -> None:
    text = (
        "Our AI model for protein design cuts the time to find binders from weeks to days. "
        "It was trained on public structures from the Protein Data Bank, then checked in the "
        "wet lab, where two of three designs bound their target; training took a day on one "
        "GPU cloud. Chemists can now screen ideas before they synthesise anything."
    )
    assert 4 not in trend_numbers("AI designs protein binders", text, themes)


def test_long_article_is_tagged_by_what_it_is_about(themes: Themes) -> None:
    paragraph = (
        "The AI lab's humanoid robot folded laundry and loaded a dishwasher, a small step "
        "towards a physical Turing test. Embodied AI still lacks data. "
    )
    article = paragraph * 800  # ~100 KB
    assert len(article) > 100_000
    assert trend_numbers("A year with a household robot", article, themes) == [5]


# --- Themes -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "query",
    ["6", " 6 ", "outcome-pricing", "Outcome-Pricing", "pricing", "成果", "Outcome-based pricing"],
)
def test_find_accepts_number_key_fragment_and_name_words(query: str, themes: Themes) -> None:
    found = themes.find(query)
    assert found is not None and found.number == 6


@pytest.mark.parametrize("query", ["abc", "11", "0", "", "  ", "ai"])
def test_find_rejects_unknown_and_ambiguous_queries(query: str, themes: Themes) -> None:
    assert themes.find(query) is None


def test_get_by_number(themes: Themes) -> None:
    trend = themes.get(7)
    assert trend is not None and trend.key == "ai-coding"
    assert themes.get(11) is None


def test_themes_file_has_exactly_trends_1_to_10(themes: Themes) -> None:
    assert [t.number for t in themes.trends] == list(range(1, 11))


def test_names_and_keys_equal_themes_md(themes: Themes) -> None:
    table = re.findall(
        r"^\| (\d+) \| (.+?) \| (.+?) \| ([a-z-]+) \|$",
        (SHARED / "THEMES.md").read_text(encoding="utf-8"),
        flags=re.MULTILINE,
    )
    expected = [(int(n), en, zh, key) for n, en, zh, key in table]
    assert len(expected) == 10
    assert [(t.number, t.name_en, t.name_zh, t.key) for t in themes.trends] == expected
    assert all(t.definition for t in themes.trends)


def test_default_path_is_the_shipped_file(themes: Themes) -> None:
    assert load_themes(SHIPPED) == themes


# --- bad themes files ---------------------------------------------------------------------

_GOOD_TREND = """
  - number: 1
    key: post-training
    name_en: Post-training
    name_zh: 后训练
    terms:
      en: {reinforcement learning: 3}
"""


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("trends: [unclosed", "not valid YAML"),
        ("- just a list", "top level"),
        ("ai_terms: {en: [AI]}\n", "'trends'"),
        ("ai_terms: {en: [AI]}\ntrends:" + _GOOD_TREND * 2, "appears twice"),
        ("trends:" + _GOOD_TREND, "ai_terms"),
        ("ai_terms: {en: [AI]}\ntrends:" + _GOOD_TREND.replace("3}", "high}"), "weight"),
        (
            "ai_terms: {en: [AI]}\ntrends:" + _GOOD_TREND.replace("reinforcement learning", "yes"),
            "quoted",
        ),
        (
            "ai_terms: {en: [AI]}\ntrends:" + _GOOD_TREND.replace("3}", "3, RL: 2, rl: 1}"),
            "repeats",
        ),
        ("ai_terms: {en: [AI]}\ntrends:" + _GOOD_TREND + "    colour: red\n", "unknown"),
    ],
    ids=[
        "invalid-yaml",
        "not-a-mapping",
        "no-trends",
        "duplicate-number",
        "no-ai-terms",
        "weight-not-a-number",
        "yaml-boolean-term",
        "term-listed-twice",
        "unknown-field",
    ],
)
def test_bad_themes_file_raises_value_error(content: str, message: str, tmp_path: Path) -> None:
    path = tmp_path / "themes.yaml"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(ValueError, match=message) as info:
        load_themes(path)
    assert str(path) in str(info.value)


def test_a_minimal_valid_file_loads(tmp_path: Path) -> None:
    path = tmp_path / "themes.yaml"
    path.write_text("ai_terms: {en: [AI]}\ntrends:" + _GOOD_TREND, encoding="utf-8")
    loaded = load_themes(path)
    assert loaded.find("post") == loaded.get(1)
    assert [t.trend for t in tag("AI and reinforcement learning", "", loaded)] == [1]


def test_public_names() -> None:
    assert trends.ingest.tag.__all__ == ["tag"]
    assert sorted(trends.ingest.lexicon.__all__) == ["about_ai", "lexicon_scores", "lexicon_tag"]
    assert sorted(trends.themes.__all__) == ["Term", "Themes", "load_themes"]


# --- quality on the labelled dev set ------------------------------------------------------


def test_macro_f1_on_the_dev_set_stays_at_least_0_75(themes: Themes) -> None:
    eval_dir = SHARED / "eval"
    with (eval_dir / "dev-labels.jsonl").open(encoding="utf-8") as f:
        gold = {row["id"]: set(row["themes"]) for row in map(json.loads, f)}
    with (eval_dir / "dev.jsonl").open(encoding="utf-8") as f:
        items = [json.loads(line) for line in f]
    assert len(items) == len(gold) > 100
    predicted = {
        item["id"]: {t.trend for t in tag(item["title"], item["summary"] or "", themes)}
        for item in items
    }
    f1s = []
    for n in range(1, 11):
        tp = sum(1 for i in gold if n in predicted[i] and n in gold[i])
        fp = sum(1 for i in gold if n in predicted[i] and n not in gold[i])
        fn = sum(1 for i in gold if n not in predicted[i] and n in gold[i])
        f1s.append(2 * tp / (2 * tp + fp + fn) if tp else 0.0)
    macro = sum(f1s) / len(f1s)
    assert macro >= 0.75, f"macro-F1 {macro:.3f}; per trend {[round(f, 2) for f in f1s]}"
