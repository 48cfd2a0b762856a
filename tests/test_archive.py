"""/trend with its page buttons, /trends with its chart, and /search, through the real
Application against the fake Bot API, on SQLite and PostgreSQL."""

from __future__ import annotations

import io
import re
from datetime import UTC, datetime

import pytest
from PIL import Image

from tests.conftest import OpenArchive
from tests.fakes.bot_api import FakeBotAPI
from tests.support.archives import pricing_archive
from tests.support.bot import running_bot
from tests.support.chat import (
    CHAT,
    buttons,
    edited,
    latest,
    numbered_titles,
    png_size,
    press,
    say,
)
from tests.support.sql import recorded_statements
from trends.service import TrendService


@pytest.fixture
async def service(archive: OpenArchive) -> TrendService:
    return await archive(pricing_archive(datetime.now(UTC)))


@pytest.fixture
async def empty_service(archive: OpenArchive) -> TrendService:
    return await archive()


def page_arrows(message: dict) -> set[str]:
    return {label for label in buttons(message).values() if label in ("◀", "▶")}


async def test_trend_pages_forward_and_back_with_no_arrow_past_either_end(
    bot_api: FakeBotAPI, service: TrendService
) -> None:
    async with running_bot(bot_api, service):
        first = await say(bot_api, CHAT, "/trend 6")
        assert first["text"].startswith("<b>6. Outcome-based pricing</b>: newest 1–5 of 12")
        assert page_arrows(first) == {"▶"}  # nothing before the first page
        page_one = numbered_titles(first["text"])
        assert len(page_one) == 5
        message_id = latest(bot_api)["message_id"]
        next_data = next(data for data, label in buttons(first).items() if label == "▶")
        assert next_data == "t1:6:0:5"

        edits = len(bot_api.calls_of("editMessageText"))
        answer = await press(bot_api, CHAT, message_id, next_data)
        await edited(bot_api, edits)
        assert answer["callback_query_id"]  # every press is answered
        second = latest(bot_api)
        assert second["message_id"] == message_id  # edited in place, no new message
        assert "newest 6–10 of 12" in second["text"]
        assert page_arrows(second) == {"◀", "▶"}
        assert not set(numbered_titles(second["text"])) & set(page_one)
        # Page two numbers its stories and their ✗ buttons 6–10, as its header says.
        numbers = re.findall(r"^(\d+)\. <a href", second["text"], re.MULTILINE)
        assert numbers == ["6", "7", "8", "9", "10"]
        crosses = [label for label in buttons(second).values() if label.startswith("✗")]
        assert crosses == ["✗ 6", "✗ 7", "✗ 8", "✗ 9", "✗ 10"]

        edits = len(bot_api.calls_of("editMessageText"))
        await press(bot_api, CHAT, message_id, "t1:6:0:10")
        await edited(bot_api, edits)
        last = latest(bot_api)
        assert "newest 11–12 of 12" in last["text"]
        assert page_arrows(last) == {"◀"}  # nothing after the last page
        assert "Utility company" in last["text"]  # the oldest story comes last

        edits = len(bot_api.calls_of("editMessageText"))
        back = next(data for data, label in buttons(last).items() if label == "◀")
        await press(bot_api, CHAT, message_id, back)
        await edited(bot_api, edits)
        assert numbered_titles(latest(bot_api)["text"]) == numbered_titles(second["text"])


@pytest.mark.parametrize(
    ("period", "total"), [("7d", 6), ("30d", 8), ("90d", 11), ("", 12)], ids=str
)
async def test_period_filters_the_trend(
    bot_api: FakeBotAPI, service: TrendService, period: str, total: int
) -> None:
    async with running_bot(bot_api, service):
        reply = await say(bot_api, CHAT, f"/trend 6 {period}".strip())
    assert f"of {total}" in reply["text"]
    if period:
        assert f"(last {period[:-1]} days)" in reply["text"]
        # The page buttons keep the period.
        assert all(
            data.startswith(f"t1:6:{period[:-1]}:")
            for data in buttons(reply)
            if data.startswith("t1:")
        )


@pytest.mark.parametrize("query", ["pricing", "outcome-pricing", "成果", "Outcome-based pricing"])
async def test_a_key_or_name_works_in_place_of_the_number(
    bot_api: FakeBotAPI, service: TrendService, query: str
) -> None:
    async with running_bot(bot_api, service):
        reply = await say(bot_api, CHAT, f"/trend {query} 90d")
    assert reply["text"].startswith("<b>6. Outcome-based pricing</b>")


async def test_bare_trend_shows_ten_buttons_and_pressing_one_opens_it(
    bot_api: FakeBotAPI, service: TrendService
) -> None:
    async with running_bot(bot_api, service):
        reply = await say(bot_api, CHAT, "/trend", language_code="zh-hans")
        assert "要看哪个趋势" in reply["text"]
        choices = buttons(reply)
        assert sorted(choices) == sorted(f"t1:{n}:0:0" for n in range(1, 11))
        assert choices["t1:6:0:0"].startswith("6. 成果即服务")
        edits = len(bot_api.calls_of("editMessageText"))
        await press(bot_api, CHAT, latest(bot_api)["message_id"], "t1:6:0:0")
        await edited(bot_api, edits)
    opened = latest(bot_api)  # the fake's button presses come from an English user
    assert opened["text"].startswith("<b>6. Outcome-based pricing</b>: newest 1–5 of 12")
    assert "t1:6:0:5" in buttons(opened)


@pytest.mark.parametrize("command", ["/trend nonsense", "/trend 11"], ids=str)
async def test_bad_input_gets_the_list_with_buttons(
    bot_api: FakeBotAPI, service: TrendService, command: str
) -> None:
    async with running_bot(bot_api, service):
        reply = await say(bot_api, CHAT, command)
    assert "There is no trend" in reply["text"]
    assert len([data for data in buttons(reply) if data.startswith("t1:")]) == 10


async def test_an_empty_archive_says_so_without_page_buttons(
    bot_api: FakeBotAPI, empty_service: TrendService
) -> None:
    async with running_bot(bot_api, empty_service):
        everything = await say(bot_api, CHAT, "/trend 6")
        week = await say(bot_api, CHAT, "/trend 6 7d")
        found = await say(bot_api, CHAT, "/search agents")
        overview = await say(bot_api, CHAT, "/trends")
    assert "No posts on this trend yet" in everything["text"]
    assert "in the last 7 days" in week["text"]
    assert not buttons(everything) and not buttons(week)
    assert "Nothing found" in found["text"]
    assert png_size(overview["photo"])[0] > 0  # the chart still draws, all zeros
    assert "<b>0</b>" in overview["caption"]


async def test_trends_sends_a_chart_with_the_counts_as_caption(
    bot_api: FakeBotAPI, service: TrendService
) -> None:
    async with running_bot(bot_api, service):
        reply = await say(bot_api, CHAT, "/trends")
    png = reply["photo"]
    width, height = png_size(png)
    assert width >= 600 and height >= 300
    image = Image.open(io.BytesIO(png)).convert("RGB")
    colours = image.getcolors(maxcolors=width * height) or []
    assert len(colours) > 10, "a blank image, not a chart"
    # This week's bars are orange: trend 6 has six stories this week.
    assert any(r > 200 and 100 < g < 150 and b < 90 for _, (r, g, b) in colours)
    caption = reply["caption"]
    assert len(caption) <= 1024 and reply["parse_mode"] == "HTML"
    line = next(line for line in caption.splitlines() if line.startswith("6. "))
    assert "<b>6</b>" in line and "▲5" in line  # six this week, one (10 days old) before


async def test_search_finds_english_and_chinese_and_pages(
    bot_api: FakeBotAPI, service: TrendService
) -> None:
    async with running_bot(bot_api, service):
        english = await say(bot_api, CHAT, "/search resolved ticket")
        chinese = await say(bot_api, CHAT, "/search 智能体")
        many = await say(bot_api, CHAT, "/search AI agent")
        message_id = latest(bot_api)["message_id"]
        edits = len(bot_api.calls_of("editMessageText"))
        forward = next(data for data, label in buttons(many).items() if label == "▶")
        await press(bot_api, CHAT, message_id, forward)
        await edited(bot_api, edits)
        second = latest(bot_api)
    assert "Contact-centre vendor" in english["text"] and "of 1" in english["text"]
    assert "智能体平台" in chinese["text"]
    assert many["text"].startswith("<b>Search “AI agent”</b>: 1–5 of ")
    assert page_arrows(many) == {"▶"}
    assert "6–10 of" in second["text"] and "◀" in page_arrows(second)


@pytest.mark.parametrize(
    "query",
    ['AND( "agent', "NEAR(agent* OR", "' OR 1=1; DROP TABLE posts; --", "%_%", 'title:"x" ^y'],
    ids=["and-paren", "near", "sql", "wildcards", "column"],
)
async def test_hostile_search_queries_are_plain_text(
    bot_api: FakeBotAPI, service: TrendService, query: str
) -> None:
    async with running_bot(bot_api, service):
        reply = await say(bot_api, CHAT, f"/search {query}")
        again = await say(bot_api, CHAT, "/trend 6")
    assert "Nothing found" in reply["text"]
    assert "of 12" in again["text"]  # the archive is intact


async def test_missing_search_gets_help(bot_api: FakeBotAPI, service: TrendService) -> None:
    async with running_bot(bot_api, service):
        reply = await say(bot_api, CHAT, "/search")
    assert "/search words" in reply["text"]


async def test_one_and_two_character_searches_find_whole_words(
    bot_api: FakeBotAPI, service: TrendService
) -> None:
    async with running_bot(bot_api, service):
        ai = await say(bot_api, CHAT, "/search AI")
        lower = await say(bot_api, CHAT, "/search ai")
        chinese = await say(bot_api, CHAT, "/search 智能")
        one = await say(bot_api, CHAT, "/search 多")
        inside_words = await say(bot_api, CHAT, "/search ic")  # in "ticket", "pricing"
    # Every sample story says "AI": the twelve pricing stories and the Chinese one.
    assert ai["text"].startswith("<b>Search “AI”</b>: 1–5 of 13")
    assert lower["text"].startswith("<b>Search “ai”</b>: 1–5 of 13")
    assert "智能体平台" in chinese["text"] and "of 1" in chinese["text"]
    assert "智能体平台" in one["text"]
    assert "Nothing found" in inside_words["text"]  # a short Latin word stands alone


@pytest.mark.parametrize("query", ["AI", "智能", "resolution", "智能体平台", "AI agent"])
async def test_searches_use_the_token_index(
    database_url: str, service: TrendService, query: str
) -> None:
    """What /search runs, explained: an index, not a scan of every post, for short and long
    words in English and Chinese; on SQLite the matches' stories come from a narrow index,
    not from the posts' rows (close to a second per common word at a million posts, cold)."""
    with recorded_statements(service.db.engine.sync_engine) as statements:
        page = await service.archive.search(query)
    assert page.total >= 1
    grouped, parameters = next((s, p) for s, p in statements if "GROUP BY" in s)
    async with service.db.engine.connect() as connection:
        if database_url.startswith("postgresql"):
            await connection.exec_driver_sql("SET enable_seqscan = off")  # tiny tables
        explain = "EXPLAIN" if database_url.startswith("postgresql") else "EXPLAIN QUERY PLAN"
        plan = (await connection.exec_driver_sql(f"{explain} {grouped}", parameters)).all()
    steps = "\n".join(" ".join(str(value) for value in row) for row in plan)
    if database_url.startswith("postgresql"):
        # A Chinese term of three characters or more by its runs of three, which meet in
        # about the posts that have it; its pairs would meet in many more.
        index = "ix_posts_cjk_triples" if query == "智能体平台" else "ix_posts_search_tokens"
        assert index in steps, steps
    else:
        assert "posts_tokens VIRTUAL TABLE INDEX" in steps, steps
        assert "SCAN posts" not in steps.replace("SCAN posts_tokens", ""), steps
        # Five Chinese characters too: a phrase of the index, not read in the rows.
        assert "COVERING INDEX ix_posts_story_newest" in steps, steps


async def test_why_this_trend_gives_the_tagger_s_probability(
    bot_api: FakeBotAPI, service: TrendService
) -> None:
    async with running_bot(bot_api, service):
        page = await say(bot_api, CHAT, "/trend 6")
    reasons = re.findall(r"Why this trend: [^<]*\((\d{1,3})% likely\)", page["text"])
    # A probability, and never certainty: the tagger is wrong on some posts it is sure of.
    assert reasons and all(0 < int(percent) < 100 for percent in reasons)


async def test_a_search_that_is_cut_says_what_it_searched_for(
    bot_api: FakeBotAPI, service: TrendService
) -> None:
    words = "AI agent per resolution ticket pricing outcome seat vendor billing"
    async with running_bot(bot_api, service):
        cut = await say(bot_api, CHAT, f"/search {words}")
        whole = await say(bot_api, CHAT, "/search AI agent")
    searched = " ".join(words.split()[:8])
    assert cut["text"].startswith(f"<i>Searched for the first 8 words only: “{searched}”.</i>")
    assert "Searched for the first" not in whole["text"]


@pytest.mark.parametrize(
    ("language_code", "unknown"), [("en", "There is no period “1y”"), ("zh-hans", "没有“1y”")]
)
async def test_trend_hints_name_only_periods_that_exist(
    bot_api: FakeBotAPI, service: TrendService, language_code: str, unknown: str
) -> None:
    async with running_bot(bot_api, service):
        empty = await say(bot_api, CHAT, "/trend 10 7d", language_code=language_code)
        wrong_period = await say(bot_api, CHAT, "/trend 6 1y", language_code=language_code)
        not_offered = await say(bot_api, CHAT, "/trend 6 45d", language_code=language_code)
    # Trend 10 has no posts in any period: no period to suggest.
    assert "7" in empty["text"] and "90d" not in empty["text"] and "/trend 10" not in empty["text"]
    assert unknown in wrong_period["text"]
    assert all(period in wrong_period["text"] for period in ("7d", "30d", "90d"))
    assert unknown.replace("1y", "45d") in not_offered["text"]
