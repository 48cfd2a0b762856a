"""One story, however many outlets tell it: ingest stores each outlet's report as a member,
digests, /trend and /story show it once with its coverage, through the real Application
against the fake Bot API, on SQLite and PostgreSQL."""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from html import escape
from pathlib import Path

import pytest

from tests.fakes.bot_api import FakeBotAPI
from tests.fakes.feed_server import FeedServer
from tests.support.bot import running_bot
from tests.support.chat import say
from trends.analyze import analyze_lines
from trends.models import Trend
from trends.service import TrendService

CHAT = 6262
LAB_LINK = "https://northstar.example.com/blog/orbis-5"
WIRE_LINK = "https://wire.example.org/2026/orbis-5-inside"
CHINESE_LINK = "https://xinghe.example.cn/news/orbis-5"
LAB_TITLE = (
    "Orbis-5: a 70B reasoning model trained with reinforcement learning from verifiable rewards"
)
WIRE_TITLE = "Inside Orbis-5, the 70B reasoning model Northstar trained on verifiable rewards"
CHINESE_TITLE = "Northstar 发布 70B 推理模型 Orbis-5：用 RLVR 与 GRPO 做后训练"
GPU_TITLE = "Port Aster opens a gigawatt data centre for GPU clusters"


@dataclass(frozen=True)
class Item:
    title: str
    body: str
    link: str
    hours_old: float


@dataclass(frozen=True)
class Outlet:
    path: str
    name: str
    language: str
    items: tuple[Item, ...]
    preferred: bool = False


# Four outlets: the lab's blog (preferred), a magazine's reworded report, a Chinese report,
# and an aggregator that carries the lab's own page with tracking parameters, at the same
# moment and with a longer text (the preferred feed still leads).
OUTLETS = (
    Outlet(
        "/lab.xml",
        "Northstar Blog",
        "en",
        (
            Item(
                LAB_TITLE,
                "Orbis-5 is Northstar's first 70B reasoning model built almost entirely in "
                "post-training. We ran reinforcement learning from verifiable rewards (RLVR) "
                "with GRPO on maths and code, so the model learnt when to call a calculator "
                "or a search tool instead of guessing.",
                LAB_LINK,
                30,
            ),
        ),
        preferred=True,
    ),
    Outlet(
        "/wire.xml",
        "The Wire",
        "en",
        (
            Item(
                WIRE_TITLE,
                "Northstar trained its new 70B reasoning model, Orbis-5, mostly after "
                "pretraining: reinforcement learning from verifiable rewards (RLVR, with "
                "GRPO) on maths and code, plus tool use such as calling a calculator.",
                WIRE_LINK,
                27,
            ),
            Item(
                GPU_TITLE,
                "Port Aster switched on a gigawatt AI data centre with 100,000 GPUs, fed by "
                "a nuclear power deal: compute is now limited by the grid, not by chips.",
                "https://wire.example.org/2026/port-aster-gigawatt",
                50,
            ),
        ),
    ),
    Outlet(
        "/zh.xml",
        "星河日报",
        "zh",
        (
            Item(
                CHINESE_TITLE,
                "Northstar 今天发布 70B 推理模型 Orbis-5，在后训练阶段使用基于可验证奖励的"
                "强化学习（RLVR）和 GRPO，让模型学会调用计算器与搜索工具，而不是去猜。",
                CHINESE_LINK,
                26,
            ),
        ),
    ),
    Outlet(
        "/aggregator.xml",
        "AI Roundup",
        "en",
        (
            Item(
                LAB_TITLE,
                "Orbis-5 is Northstar's first 70B reasoning model built almost entirely in "
                "post-training. We ran reinforcement learning from verifiable rewards (RLVR) "
                "with GRPO on maths and code, so the model learnt when to call a calculator "
                "or a search tool instead of guessing. The roundup adds a long note of its "
                "own on what the release means for the reasoning race this winter.",
                LAB_LINK + "?utm_source=roundup&utm_medium=rss&fbclid=abc",
                30,
            ),
        ),
    ),
)


def feed_xml(outlet: Outlet, now: datetime) -> bytes:
    entries = "".join(
        f"<item><title>{escape(item.title)}</title><link>{escape(item.link)}</link>"
        f"<guid>{outlet.path}-{number}</guid>"
        f"<pubDate>{format_datetime(now - timedelta(hours=item.hours_old))}</pubDate>"
        f"<description>{escape(item.body)}</description></item>"
        for number, item in enumerate(outlet.items, 1)
    )
    return (
        '<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel>'
        f"<title>{escape(outlet.name)}</title><link>https://example.com/</link>"
        f"<description>t</description>{entries}</channel></rss>"
    ).encode()


def write_feeds(path: Path, feed_server: FeedServer, outlets: tuple[Outlet, ...]) -> Path:
    lines = ["feeds:"]
    for outlet in outlets:
        lines += [
            f"  - url: {feed_server.url(outlet.path)}",
            f"    name: {outlet.name}",
            f"    language: {outlet.language}",
            "    ai_source: true",
            f"    preferred: {'true' if outlet.preferred else 'false'}",
        ]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


async def open_outlets(
    database_url: str, feed_server: FeedServer, feeds_file: Path, outlets: tuple[Outlet, ...]
) -> TrendService:
    """A service over `outlets`, polled one feed at a time in the feeds file's order."""
    now = datetime.now(UTC)
    for outlet in outlets:
        feed_server.add_body(outlet.path, feed_xml(outlet, now))
    service = await TrendService.open(
        database_url,
        feeds_path=write_feeds(feeds_file, feed_server, outlets),
        allow_private_feeds=True,  # feeds on 127.0.0.1
    )
    await service.feeds.poll(only_due=False, concurrency=1)
    return service


@pytest.fixture
async def service(
    database_url: str, feed_server: FeedServer, tmp_path: Path
) -> AsyncIterator[TrendService]:
    service = await open_outlets(database_url, feed_server, tmp_path / "feeds.yaml", OUTLETS)
    try:
        yield service
    finally:
        await service.close()


async def digest_text(bot_api: FakeBotAPI, language_code: str = "en") -> str:
    before = len(bot_api.messages(CHAT))
    bot_api.push_text(CHAT, "/digest", language_code=language_code)
    await bot_api.wait_until(
        lambda: any("/settings" in str(m.get("text")) for m in bot_api.messages(CHAT)[before:])
    )
    return "\n".join(str(m.get("text", "")) for m in bot_api.messages(CHAT)[before:])


def story_ids(html: str) -> list[int]:
    return [int(n) for n in re.findall(r"/story_(\d+)", html)]


async def test_a_digest_from_several_outlets_lists_each_story_once_with_its_coverage(
    bot_api: FakeBotAPI, service: TrendService
) -> None:
    async with running_bot(bot_api, service):
        body = await digest_text(bot_api)
    # The lab leads (first published; preferred over the roundup's copy at the same time).
    assert body.count(LAB_TITLE) == 1, body
    assert WIRE_TITLE not in body and escape(CHINESE_TITLE) not in body
    assert f'<a href="{LAB_LINK}"><b>{LAB_TITLE}</b></a>' in body
    covered = next(line for line in body.splitlines() if line.startswith("Also covered by"))
    assert f'<a href="{WIRE_LINK}">The Wire</a>' in covered
    assert f'<a href="{CHINESE_LINK}">星河日报</a>' in covered
    assert "AI Roundup" in covered  # its copy of the lab's page is coverage, not dropped
    assert "utm_" not in body and "fbclid" not in body
    # Two stories this week, and each section's count is what it lists plus "and N more".
    assert "· 2 stories" in body
    assert len(story_ids(body)) == 2
    for number, count in re.findall(r"<b>(\d+)\. [^<]*</b>: (\d+) this week", body):
        section = body.split(f"<b>{number}. ", 1)[1].split("\n\n<b>", 1)[0]
        more = re.search(rf"and (\d+) more: /trend {number}\b", section)
        listed = len(story_ids(section))
        assert listed + (int(more.group(1)) if more else 0) == int(count), section


async def test_a_chinese_reader_gets_the_chinese_report_as_the_headline(
    bot_api: FakeBotAPI, service: TrendService
) -> None:
    async with running_bot(bot_api, service):
        body = await digest_text(bot_api, language_code="zh-hans")
    assert f'<a href="{CHINESE_LINK}"><b>{escape(CHINESE_TITLE)}</b></a>' in body
    assert LAB_TITLE not in body
    covered = next(line for line in body.splitlines() if line.startswith("其他报道："))
    assert f'<a href="{LAB_LINK}">Northstar Blog</a>' in covered
    assert f'<a href="{WIRE_LINK}">The Wire</a>' in covered


async def test_trend_lists_the_story_once_with_its_other_outlets(
    bot_api: FakeBotAPI, service: TrendService
) -> None:
    async with running_bot(bot_api, service):
        page = await say(bot_api, CHAT, "/trend 1")
    html = page["text"]
    assert html.startswith("<b>1. ") and "newest 1–1 of 1" in html
    assert html.count(LAB_TITLE) == 1 and WIRE_TITLE not in html
    assert "Also covered by" in html and "The Wire" in html and "星河日报" in html


async def test_story_lists_every_member_in_english_and_chinese(
    bot_api: FakeBotAPI, service: TrendService
) -> None:
    async with running_bot(bot_api, service):
        page = await say(bot_api, CHAT, "/trend 1")
        (story,) = story_ids(page["text"])
        english = await say(bot_api, CHAT, f"/story {story}")
        tapped = await say(bot_api, CHAT, f"/story_{story}")
        chinese = await say(bot_api, CHAT, f"/story {story}", language_code="zh")
        unknown = await say(bot_api, CHAT, "/story 99999")
        usage = await say(bot_api, CHAT, "/story")
    html = english["text"]
    assert html.startswith(f"<b>Story {story}</b>: 4 reports")
    assert tapped["text"] == html
    lines = html.split("\n")
    outlets = [re.match(r"\d+\. <b>([^<]+)</b>", line) for line in lines]
    # The primary first, then by time: the lab and the roundup at one moment, preferred first.
    assert [m.group(1) for m in outlets if m] == [
        "Northstar Blog",
        "AI Roundup",
        "The Wire",
        "星河日报",
    ]
    assert "· English ·" in html and "· 中文 ·" in html
    assert re.search(r"· \d{4}-\d\d-\d\d \d\d:\d\d UTC", html)
    for link in (LAB_LINK, WIRE_LINK, CHINESE_LINK):
        assert f'<a href="{link}">' in html
    assert "utm_" not in html
    assert chinese["text"].startswith(f"<b>报道 {story}</b>：共 4 篇")
    assert "There is no story 99999" in unknown["text"]
    assert "/story N" in usage["text"]


async def test_story_escapes_what_the_feeds_wrote(
    bot_api: FakeBotAPI, database_url: str, feed_server: FeedServer, tmp_path: Path
) -> None:
    hostile = Outlet(
        "/hostile.xml",
        "Evil <b>Feed</b>",
        "en",
        (Item("<script>alert(1)</script> GPU news", "A body.", "https://evil.example/x", 2),),
    )
    service = await open_outlets(database_url, feed_server, tmp_path / "f.yaml", (hostile,))
    try:
        async with running_bot(bot_api, service):
            page = await say(bot_api, CHAT, "/search GPU")
            (story,) = story_ids(page["text"])
            shown = await say(bot_api, CHAT, f"/story {story}")
    finally:
        await service.close()
    assert "<script>" not in shown["text"] and "Evil &lt;b&gt;Feed&lt;/b&gt;" in shown["text"]


async def test_the_same_url_through_two_feeds_is_one_story_with_two_members(
    service: TrendService,
) -> None:
    page = await service.archive.trend_page(_trend(service, 1))
    (story,) = page.posts
    by_outlet = {member.outlet: member for member in story.members}
    assert by_outlet["Northstar Blog"].link == by_outlet["AI Roundup"].link == LAB_LINK
    assert len(story.members) == 4
    found = await service.archive.story(by_outlet["AI Roundup"].post_id)  # any member finds it
    assert found is not None and found.id == story.id


async def test_the_primary_is_the_same_whichever_order_the_feeds_are_polled_in(
    database_url: str, feed_server: FeedServer, tmp_path: Path
) -> None:
    leads = []
    for number, order in enumerate((OUTLETS, OUTLETS[::-1])):
        url = database_url if number == 0 else f"sqlite+aiosqlite:///{tmp_path}/reversed.db"
        service = await open_outlets(url, feed_server, tmp_path / f"{number}.yaml", order)
        try:
            (story,) = (await service.archive.trend_page(_trend(service, 1))).posts
            leads.append((story.source, story.link, story.title, len(story.members)))
        finally:
            await service.close()
    assert leads[0] == leads[1] == ("Northstar Blog", LAB_LINK, LAB_TITLE, 4)


def _trend(service: TrendService, number: int) -> Trend:
    found = service.themes.get(number)
    assert found is not None
    return found


def duplicates_analyzed(service: TrendService, items: list[Item]) -> dict[str, str | None]:
    """`trendbot analyze` on the items as JSON lines: each link's `duplicate_of`."""
    now = datetime.now(UTC)
    lines = [
        json.dumps(
            {
                "id": item.link,
                "title": item.title,
                "summary": item.body,
                "link": item.link,
                "published": (now - timedelta(hours=item.hours_old)).isoformat(),
            }
        )
        for item in items
    ]
    return {answer["id"]: answer["duplicate_of"] for answer in analyze_lines(lines, service.themes)}


async def test_analyze_tells_the_same_stories_as_ingest(service: TrendService) -> None:
    items = [item for outlet in OUTLETS for item in outlet.items]  # in the order polled
    analyzed = duplicates_analyzed(service, items)
    assert analyzed == {
        LAB_LINK: None,
        WIRE_LINK: LAB_LINK,
        "https://wire.example.org/2026/port-aster-gigawatt": None,
        CHINESE_LINK: LAB_LINK,
        items[-1].link: LAB_LINK,  # the roundup's copy of the lab's page
    }
    (story,) = (await service.archive.trend_page(_trend(service, 1))).posts
    assert len(story.members) == 1 + sum(1 for first in analyzed.values() if first == LAB_LINK)


# Three outlets on one launch, polled in this order: the lab's post and the Chinese report
# share too little to link on their own (the report names the price and the round, not the
# model); the wire story, polled last, matches each of them, and so makes them one story.
BRIDGED = (
    Outlet(
        "/vela-lab.xml",
        "Aurora Blog",
        "en",
        (
            Item(
                "Introducing Vela 3, our agentic model",
                "Today we are releasing Vela 3, a model built for agents that plan and use tools.",
                "https://aurora.example.com/blog/vela-3",
                30,
            ),
        ),
    ),
    Outlet(
        "/vela-zh.xml",
        "星河日报",
        "zh",
        (
            Item(
                "Aurora 新模型订阅每月 20 美元，融资 4 亿美元",
                "Aurora 今天公布新模型的价格：每月 20 美元；公司同时完成 4 亿美元融资。"
                "新模型面向多智能体协作，智能体之间可以分工、交易，组成智能体经济。",
                "https://xinghe.example.cn/news/aurora",
                27,
            ),
        ),
    ),
    Outlet(
        "/vela-wire.xml",
        "The Wire",
        "en",
        (
            Item(
                "Aurora launches Vela 3, sold at $20 a month after a $400M round",
                "Aurora released Vela 3 on Tuesday, an agentic model sold at $20 a month, "
                "days after raising $400 million.",
                "https://wire.example.org/aurora-vela-3",
                25,
            ),
        ),
    ),
)


# The same, with the Chinese report and the wire's in one aggregator's feed: the merge
# happens within one batch, into the story stored by the earlier poll.
BRIDGED_IN_ONE_BATCH = (
    BRIDGED[0],
    Outlet("/vela-aggregator.xml", "AI Roundup", "en", BRIDGED[1].items + BRIDGED[2].items),
)


@pytest.mark.parametrize("outlets", [BRIDGED, BRIDGED_IN_ONE_BATCH], ids=["polls", "batch"])
async def test_a_report_that_matches_two_stories_makes_them_one(
    database_url: str, feed_server: FeedServer, tmp_path: Path, outlets: tuple[Outlet, ...]
) -> None:
    service = await open_outlets(database_url, feed_server, tmp_path / "vela.yaml", outlets)
    try:
        page = await service.archive.search("Vela")
        (story,) = page.posts  # the lab's post and the wire's, once
        assert page.total == 1
        assert story.link == "https://aurora.example.com/blog/vela-3"  # first published
        assert [member.link for member in story.members] == [
            item.link for outlet in BRIDGED for item in outlet.items
        ]
        # /story on the Chinese report, which led a story of its own until the wire's came.
        chinese = story.members[1]
        merged = await service.archive.story(chinese.post_id)
        assert merged is not None and merged.id == story.id
        assert len((await service.archive.search("Aurora")).posts) == 1
        # Both led a story on agents (trend 2); /trend 2 now lists the merged story once.
        (listed,) = (await service.archive.trend_page(_trend(service, 2))).posts
        assert listed.id == story.id and len(listed.members) == 3
    finally:
        await service.close()
    lab, chinese_report, wire = (item for outlet in BRIDGED for item in outlet.items)
    assert duplicates_analyzed(service, [lab, chinese_report, wire]) == {
        lab.link: None,
        chinese_report.link: lab.link,
        wire.link: lab.link,
    }
