"""The digest itself (/digest, the chart on top, splitting) and "wrong trend?" feedback,
through the real Application against the fake Bot API."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest

from bot.render import MAX_MESSAGE_CHARS, render_digest
from tests.conftest import OpenArchive
from tests.fakes.bot_api import FakeBotAPI
from tests.support.archives import PRICING, pricing_archive
from tests.support.bot import next_weekly_slot, running_bot, send_digests_now
from tests.support.chat import CHAT, buttons, latest, png_size, press, say
from tests.support.delivery import subscribe
from trends.models import Digest, DigestSection, DigestStory
from trends.service import TrendService
from trends.themes import load_themes

ADMIN = 777
OTHER_USER = 888


@pytest.fixture
async def service(archive: OpenArchive, clock_now: datetime) -> TrendService:
    return await archive(pricing_archive(clock_now))


async def digest_reply(bot_api: FakeBotAPI, command: str = "/digest", **options) -> list[dict]:
    """Everything the bot sent for one /digest, in order (the chart first)."""
    before = len(bot_api.messages(CHAT))
    bot_api.push_text(CHAT, command, **options)
    await bot_api.wait_until(
        lambda: any("/settings" in str(m.get("text")) for m in bot_api.messages(CHAT)[before:])
    )
    return bot_api.messages(CHAT)[before:]


async def test_digest_shows_the_chart_then_every_trend_to_a_non_subscriber(
    bot_api: FakeBotAPI, service: TrendService
) -> None:
    async with running_bot(bot_api, service):
        chart, *parts = await digest_reply(bot_api)
    assert png_size(chart["photo"])[0] > 300
    assert "trendbot weekly digest" in chart["caption"] and "12 weeks" in chart["caption"]
    body = "\n".join(part["text"] for part in parts)
    assert "<b>6. Outcome-based pricing</b>: 6 this week, 1 last week ▲5" in body
    assert "<b>2. " in body  # the Chinese agents story has its own section
    assert all(part["link_preview_options"] == {"is_disabled": True} for part in parts)
    assert "/settings" in parts[-1]["text"] and "/unsubscribe" in parts[-1]["text"]


async def test_digest_follows_the_chats_trends_and_link_preview_choice(
    bot_api: FakeBotAPI, service: TrendService
) -> None:
    await service.subscribers.subscribe(CHAT, "private")
    await subscribe(service, [CHAT], trends=[2], link_previews=True)
    async with running_bot(bot_api, service):
        _chart, *parts = await digest_reply(bot_api)
    body = "\n".join(part["text"] for part in parts)
    assert "<b>2. " in body and "智能体平台" in body
    assert "6. Outcome-based pricing" not in body  # not followed
    assert parts[0]["link_preview_options"] == {"is_disabled": False}


async def test_digest_in_chinese(bot_api: FakeBotAPI, service: TrendService) -> None:
    async with running_bot(bot_api, service):
        chart, *parts = await digest_reply(bot_api, language_code="zh-hans")
    assert "trendbot 每周简报" in chart["caption"]
    body = "\n".join(part["text"] for part in parts)
    assert "<b>6. 成果即服务：按结果付费</b>：本周 6 条，上周 1 条 ▲5" in body
    assert "分类不对？/wrong_" in body and "/unsubscribe 退订" in body


async def test_scheduled_digest_sends_the_chart_first_and_only_once(
    bot_api: FakeBotAPI, service: TrendService, clock_now: datetime
) -> None:
    await service.subscribers.subscribe(CHAT, "private")
    now = next_weekly_slot(clock_now)
    assert await send_digests_now(bot_api, service, now) == {"sent": 1}
    assert await send_digests_now(bot_api, service, now) == {}
    chart, *parts = bot_api.messages(CHAT)
    assert png_size(chart["photo"])[0] > 300 and "weekly digest" in chart["caption"]
    assert parts and all("text" in part for part in parts)


async def test_a_chart_that_meets_a_5xx_is_retried_and_sent_once(
    bot_api: FakeBotAPI, service: TrendService, clock_now: datetime
) -> None:
    await service.subscribers.subscribe(CHAT, "private")
    bot_api.fail_next("sendPhoto", 502, "Bad Gateway")
    assert await send_digests_now(bot_api, service, next_weekly_slot(clock_now)) == {"sent": 1}
    chart, *parts = bot_api.messages(CHAT)
    assert "photo" in chart and "weekly digest" in chart["caption"]
    assert parts and all("text" in part for part in parts)  # one chart, then the text


async def test_a_migrated_group_gets_its_chart_and_its_text_in_the_new_chat(
    bot_api: FakeBotAPI, service: TrendService, clock_now: datetime
) -> None:
    group, supergroup = -4001, -1004001
    await service.subscribers.subscribe(group, "group")
    bot_api.migrate_chat(group, supergroup)
    assert await send_digests_now(bot_api, service, next_weekly_slot(clock_now)) == {"sent": 1}
    chart, *parts = bot_api.messages(supergroup)
    assert "photo" in chart and parts and all("text" in part for part in parts)
    assert bot_api.messages(group) == []
    # The next tick finds the digest recorded as sent, chart included: nothing twice.
    assert await send_digests_now(bot_api, service, next_weekly_slot(clock_now)) == {}
    assert len(bot_api.messages(supergroup)) == 1 + len(parts)


async def test_wrong_trend_buttons_store_feedback_and_admins_list_it(
    bot_api: FakeBotAPI, service: TrendService
) -> None:
    async with running_bot(bot_api, service, TRENDBOT_ADMINS=str(ADMIN)):
        page = await say(bot_api, CHAT, "/trend 6")
        wrong = {label: data for data, label in buttons(page).items() if label.startswith("✗")}
        assert sorted(wrong) == [f"✗ {n}" for n in range(1, 6)]
        message_id = latest(bot_api)["message_id"]
        first = await press(bot_api, CHAT, message_id, wrong["✗ 1"])
        again = await press(bot_api, CHAT, message_id, wrong["✗ 1"])
        # The same post flagged from a digest's one-tap command, by another reader.
        post_id = int(wrong["✗ 1"].split(":")[1])
        by_command = await say(bot_api, OTHER_USER, f"/wrong_{post_id}_6")
        refused = await say(bot_api, CHAT, "/feedback")
        listing = await say(bot_api, ADMIN, "/feedback")
        to_learn = (await bot_api.wait_for_message(ADMIN))["text"]
    assert "Thanks" in first["text"] and "already" in again["text"]
    assert "Thanks" in by_command["text"]
    assert "only for the bot's admins" in refused["text"]
    line = next(line for line in listing["text"].splitlines() if "2× · trend 6" in line)
    assert PRICING[0][0] in line  # newest first: ✗ 1 is the first pricing story
    matched = listing["text"].split(line, 1)[1].splitlines()[1]
    assert matched.startswith("matched: ") and "per resol" in matched
    # Two readers flagged one post for trend 6: one pair for the tagger to learn.
    assert "the tagger can learn: 1." in to_learn and "trendbot train --with-feedback" in to_learn


@pytest.mark.parametrize(
    "command",
    ["/wrong", "/wrong x 6", "/wrong 1 99", "/wrong 99999999999999999999999 6", "/wrong ² 6"],
    ids=["bare", "word", "no-trend-99", "overflowing-id", "superscript"],
)
async def test_bad_wrong_commands_get_usage(
    bot_api: FakeBotAPI, service: TrendService, command: str
) -> None:
    async with running_bot(bot_api, service):
        reply = await say(bot_api, CHAT, command)
    assert "/wrong 123 6" in reply["text"]


def _big_digest(stories: int) -> Digest:
    now, themes = datetime.now(UTC), load_themes()
    sections = []
    for trend in range(1, 4):
        items = tuple(
            DigestStory(
                title=f"Story {trend}-{n} <b>&",
                link=f"https://example.com/{trend}/{n}",
                source="Desk",
                summary=("A long summary sentence about AI agents and pricing. " * 8).strip(),
                published=now,
                also_covered_by=tuple((f"Outlet {i}", f"https://o{i}.example/") for i in range(5)),
                post_id=trend * 100 + n,
            )
            for n in range(stories)
        )
        sections.append(
            DigestSection(
                trend=themes.trends[trend - 1],
                count=stories,
                previous_count=1,
                stories=items,
                weekly=(1,) * 11 + (stories,),
            )
        )
    return Digest(key="k", since=now - timedelta(days=7), until=now, sections=tuple(sections))


@pytest.mark.parametrize("language", ["en", "zh"])
def test_digest_parts_stay_under_the_limit_with_whole_stories_in_order(language: str) -> None:
    parts = render_digest(_big_digest(25), language)
    assert len(parts) > 2
    assert all(len(part) <= MAX_MESSAGE_CHARS for part in parts)
    seen = []
    for part in parts:
        for match in re.finditer(r"• <a href=\"[^\"]+\"><b>Story (\d+)-(\d+)", part):
            block = part[match.start() :].split("\n\n", 1)[0]
            assert f"/wrong_{int(match[1]) * 100 + int(match[2])}_{match[1]}" in block
            assert "Outlet 2" in block and ", …" in block  # the story is whole, coverage too
            seen.append((int(match[1]), int(match[2])))
    assert seen == sorted(seen) and len(seen) == 75
    assert "&lt;b&gt;&amp;" in parts[0]  # feed text escaped


async def test_a_forged_wrong_button_for_a_trend_that_does_not_exist_stores_nothing(
    bot_api: FakeBotAPI, service: TrendService
) -> None:
    async with running_bot(bot_api, service):
        page = await say(bot_api, CHAT, "/trend 6")
        post_id = next(d for d in buttons(page) if d.startswith("w1:")).split(":")[1]
        answer = await press(bot_api, CHAT, latest(bot_api)["message_id"], f"w1:{post_id}:99")
    assert "Thanks" not in answer.get("text", "")
    assert await service.archive.feedback_report() == []


def _section_tallies(body: str, count_pattern: str) -> dict[int, tuple[int, int]]:
    """Trend number → (the count its header states, stories listed plus "N more")."""
    tallies = {}
    for section in re.split(r"(?=<b>\d+\. )", body)[1:]:
        header = re.match(rf"<b>(\d+)\. [^<]*</b>{count_pattern}", section)
        if header is None:
            continue
        number, count = int(header.group(1)), int(header.group(2))
        listed = section.count("/wrong_") if "/wrong_" in section else 0
        more = re.search(rf"(\d+) (?:more|条)：?:? ?/trend {number}\b", section)
        tallies[number] = (count, listed + (int(more.group(1)) if more else 0))
    return tallies


@pytest.mark.parametrize(
    ("language_code", "count_pattern"),
    [("en", r": (\d+) this week"), ("zh-hans", r"：本周 (\d+) 条")],
)
async def test_each_digest_section_accounts_for_the_count_it_states(
    bot_api: FakeBotAPI, service: TrendService, language_code: str, count_pattern: str
) -> None:
    async with running_bot(bot_api, service):
        overview = await say(bot_api, CHAT, "/trends", language_code=language_code)
        _chart, *parts = await digest_reply(bot_api, language_code=language_code)
    body = "\n".join(part["text"] for part in parts)
    tallies = _section_tallies(body, count_pattern)
    assert tallies[6][0] == 6  # the pricing stories
    for number, (count, shown) in tallies.items():
        assert shown == count, f"trend {number}: says {count}, accounts for {shown}"
        # /trends states the same count for the same seven days.
        line = next(x for x in overview["caption"].splitlines() if x.startswith(f"{number}. "))
        assert f"<b>{count}</b>" in line
