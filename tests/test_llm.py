"""The optional LLM path, against a fake OpenAI-compatible endpoint on 127.0.0.1.

Posts come from a feed served on 127.0.0.1 and go through the real pipeline into a real
database; what is asserted is what a reader would get from /trend: the summary, the trends
and the terms shown for each tag, and whether the model was asked at all.
"""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from config.settings import SettingsError, load_settings
from jobs.alerts import ALERT_MIN_SCORE
from jobs.runtime import open_service
from tests.fakes.feed_server import FeedServer
from tests.fakes.llm_api import FakeLLMAPI, user_text
from tests.support.feeds import Item, feeds_file, rss_feed
from trends.ingest.llm import LLMConfig
from trends.ingest.normalise import normalise
from trends.ingest.pipeline import enrich
from trends.ingest.summarise import summarise
from trends.ingest.tag import tag
from trends.models import Post, RawEntry, StoredPost
from trends.service import TrendService
from trends.store.schema import LLMUsageRow, PostRow
from trends.themes import load_themes

OPEN = (
    "Mistral releases open-weight model under Apache 2.0",
    "The AI lab published the weights of its new language model, so anyone can download "
    "and fine-tune it. Open-source developers welcomed the release.",
)
ROBOTS = (
    "Humanoid robots learn to walk in simulation",
    "The AI team trained a humanoid robot policy in a physics simulator before deploying "
    "it on real hardware, a sim-to-real transfer.",
)
BAKERY = (
    "Local bakery wins national bread award",
    "The family bakery on Main Street was named the best in the country for its sourdough.",
)


def rss(items: list[tuple[str, str]], link_prefix: str = "https://news.example/") -> bytes:
    """A "News" feed of `items`, two hours old, linked under `link_prefix`."""
    published = datetime.now(UTC) - timedelta(hours=2)
    return rss_feed(
        "News",
        [
            Item(title, text, published, link=f"{link_prefix}{n}", guid=f"{link_prefix}{n}")
            for n, (title, text) in enumerate(items)
        ],
    )


def scripted(answers: dict[str, Any]) -> Any:
    """A fake answer function: the JSON (or raw text) given for the post whose title it sees."""

    def answer(request: dict[str, Any]) -> str | None:
        for title, content in answers.items():
            if title in user_text(request):
                return content if isinstance(content, str) else json.dumps(content)
        return None

    return answer


@pytest.fixture
async def llm_api() -> AsyncIterator[FakeLLMAPI]:
    async with FakeLLMAPI() as fake:
        yield fake


async def open_with_llm(
    database_url: str, feed_server: FeedServer, tmp_path: Path, config: LLMConfig, **feeds: bytes
) -> TrendService:
    urls = [feed_server.add_body(f"/{name}.xml", body) for name, body in feeds.items()]
    return await TrendService.open(
        database_url,
        feeds_path=feeds_file(tmp_path / "feeds.yaml", urls, name="Outlet"),
        llm=config,
        allow_private_feeds=True,  # the feeds are served on 127.0.0.1
    )


async def stored(service: TrendService, title: str) -> StoredPost | None:
    """The post as /trend would show it, looked up through each trend it may be under."""
    for trend in service.themes.trends:
        page = await service.archive.trend_page(trend, limit=50)
        for post in page.posts:
            if post.title == title:
                return post
    return None


async def stored_summary(service: TrendService, title: str) -> str:
    async with service.db.new_session() as session:
        return (await session.scalars(select(PostRow.summary).where(PostRow.title == title))).one()


def config(fake: FakeLLMAPI, **changes: Any) -> LLMConfig:
    return LLMConfig(url=fake.base_url, model="fake-model", api_key="test-key", **changes)


async def test_the_models_trends_and_summary_are_what_readers_see(
    database_url: str, feed_server: FeedServer, llm_api: FakeLLMAPI, tmp_path: Path
) -> None:
    llm_api.answer = scripted(
        {
            OPEN[0]: {
                "themes": [3, 6],
                "summary": "Mistral put the weights of a new model online for anyone to use.",
                "evidence": {"3": ["weights"], "6": ["pay per outcome", "fine-tune it"]},
            },
            ROBOTS[0]: {"themes": [9], "summary": "Robots were trained in a simulator first."},
        }
    )
    service = await open_with_llm(
        database_url, feed_server, tmp_path, config(llm_api), news=rss([OPEN, ROBOTS, BAKERY])
    )
    try:
        report = await service.feeds.poll(only_due=False)
        assert report.new_posts == 3

        open_post = await stored(service, OPEN[0])
        assert open_post is not None
        assert (
            open_post.summary == "Mistral put the weights of a new model online for anyone to use."
        )
        assert sorted(t.trend for t in open_post.trends) == [3, 6]
        # Trend 3 is one the local tagger found too: its terms are shown. Trend 6 is the
        # model's alone: only the cited phrase that occurs in the post is kept.
        local = {t.trend: t for t in tag(*OPEN, service.themes)}
        tag3, tag6 = open_post.tag(3), open_post.tag(6)
        assert tag3 is not None and tag3.matched == local[3].matched
        assert tag6 is not None and tag6.matched == ("fine-tune it",)
        # A trend only the model found never pushes an instant alert on its own.
        assert 0 < tag6.score < ALERT_MIN_SCORE <= 1

        robots = await stored(service, ROBOTS[0])
        assert robots is not None and [t.trend for t in robots.trends] == [9]
        assert (await service.archive.trend_page(service.themes.get(5), limit=50)).total == 0  # type: ignore[arg-type]

        # The bakery post is not about AI: kept without trends, never sent to the model.
        assert await stored(service, BAKERY[0]) is None
        assert await stored_summary(service, BAKERY[0]) == summarise(BAKERY[1], BAKERY[0])
        assert len(llm_api.calls) == 2
        assert not any("bakery" in user_text(call) for call in llm_api.calls)
        assert all(h["Authorization"] == "Bearer test-key" for h in llm_api.headers)
        assert all(call["model"] == "fake-model" for call in llm_api.calls)
        # The model is told the ten trends as THEMES.md defines them.
        system = llm_api.calls[0]["messages"][0]["content"]
        for trend in service.themes.trends:
            assert f"{trend.number}. {trend.name_en}" in system
            assert " ".join(trend.definition.split()) in system
    finally:
        await service.close()


async def test_copies_of_a_post_polled_together_cost_one_call(
    database_url: str, feed_server: FeedServer, llm_api: FakeLLMAPI, tmp_path: Path
) -> None:
    llm_api.answer = scripted({OPEN[0]: {"themes": [3], "summary": "Open weights, again."}})
    first = rss([OPEN])
    copy = rss([OPEN], link_prefix="https://mirror.example/story-")
    service = await open_with_llm(
        database_url, feed_server, tmp_path, config(llm_api), origin=first, mirror=copy
    )
    try:
        report = await service.feeds.poll(only_due=False)
        assert report.new_posts == 1 and report.duplicates == 1
        assert len(llm_api.calls) == 1  # the mirror's copy waited for the first answer
        # The mirror's copy is the story's coverage, and it got the same answer.
        async with service.db.new_session() as session:
            summaries = (
                await session.scalars(select(PostRow.summary).where(PostRow.title == OPEN[0]))
            ).all()
        assert summaries == ["Open weights, again."] * 2
    finally:
        await service.close()


def posts_of(items: list[tuple[str, str]], link_prefix: str) -> list[Post]:
    """Posts as the pipeline has them after local enrichment."""
    now = datetime.now(UTC)
    entries = [
        RawEntry(f"{link_prefix}{n}", f"{link_prefix}{n}", title, text, now)
        for n, (title, text) in enumerate(items)
    ]
    posts = normalise(entries, source="Outlet", language="en", fetched_at=now)
    enrich(posts, load_themes())
    return posts


async def test_an_answer_is_cached_by_content_across_restarts(
    database_url: str, llm_api: FakeLLMAPI
) -> None:
    llm_api.answer = scripted({OPEN[0]: {"themes": [3], "summary": "Open weights, cached."}})
    service = await TrendService.open(database_url, llm=config(llm_api))
    try:
        assert service.llm is not None
        assert await service.llm.enrich(posts_of([OPEN], "https://a.example/"), datetime.now(UTC))
    finally:
        await service.close()
    # Another outlet's copy (same text, other link), after a restart: answered from the cache.
    service = await TrendService.open(database_url, llm=config(llm_api))
    try:
        assert service.llm is not None
        copy = posts_of([OPEN], "https://b.example/")
        assert await service.llm.enrich(copy, datetime.now(UTC)) == 1
        assert copy[0].summary == "Open weights, cached."
        assert [t.trend for t in copy[0].trends] == [3]
        assert len(llm_api.calls) == 1
    finally:
        await service.close()


async def test_a_spent_budget_keeps_local_results_and_calls_nothing(
    database_url: str,
    feed_server: FeedServer,
    llm_api: FakeLLMAPI,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    llm_api.answer = scripted(
        {
            OPEN[0]: {"themes": [3], "summary": "From the model."},
            ROBOTS[0]: {"themes": [9], "summary": "From the model too."},
        }
    )
    # The endpoint reports using the whole day's budget on the first call.
    llm_api.usage = {"prompt_tokens": 9_000, "completion_tokens": 1_000, "total_tokens": 10_000}
    service = await open_with_llm(
        database_url,
        feed_server,
        tmp_path,
        config(llm_api, daily_tokens=10_000, concurrency=1),
        news=rss([OPEN, ROBOTS]),
    )
    try:
        with caplog.at_level(logging.WARNING, logger="trends.ingest.llm"):
            await service.feeds.poll(only_due=False)
        assert len(llm_api.calls) == 1
        summaries = {await stored_summary(service, t) for t, _ in (OPEN, ROBOTS)}
        local = {summarise(OPEN[1], OPEN[0]), summarise(ROBOTS[1], ROBOTS[0])}
        assert len(summaries & {"From the model.", "From the model too."}) == 1
        assert len(summaries & local) == 1
        assert "budget" in caplog.text
        async with service.db.new_session() as session:
            usage = (await session.scalars(select(LLMUsageRow))).one()
        assert usage.tokens == 10_000
    finally:
        await service.close()


async def test_a_budget_spent_earlier_today_means_no_call_at_all(
    database_url: str, feed_server: FeedServer, llm_api: FakeLLMAPI, tmp_path: Path
) -> None:
    service = await open_with_llm(
        database_url, feed_server, tmp_path, config(llm_api, daily_tokens=5_000), news=rss([OPEN])
    )
    try:
        async with service.db.new_session() as session, session.begin():
            today = datetime.now(UTC).date().isoformat()
            session.add(LLMUsageRow(day=today, tokens=4_999))
        await service.feeds.poll(only_due=False)
        assert llm_api.calls == []
        post = await stored(service, OPEN[0])
        assert post is not None
        assert post.summary == summarise(OPEN[1], OPEN[0])
        assert [t.trend for t in post.trends] == [t.trend for t in tag(*OPEN, service.themes)]
    finally:
        await service.close()


async def test_a_slow_endpoint_times_out_to_the_local_results(
    database_url: str, feed_server: FeedServer, llm_api: FakeLLMAPI, tmp_path: Path
) -> None:
    llm_api.answer = scripted({OPEN[0]: {"themes": [6], "summary": "Too late."}})
    llm_api.delay = 3.0
    service = await open_with_llm(
        database_url,
        feed_server,
        tmp_path,
        config(llm_api, timeout=0.3, concurrency=1),
        news=rss([OPEN, ROBOTS]),
    )
    try:
        await service.feeds.poll(only_due=False)
        # The first call timed out; the rest of the feed was not sent to a failing endpoint.
        assert len(llm_api.calls) == 1
        for title, text in (OPEN, ROBOTS):
            post = await stored(service, title)
            assert post is not None
            assert post.summary == summarise(text, title)
            assert [t.trend for t in post.trends] == [
                t.trend for t in tag(text=text, title=title, themes=service.themes)
            ]
    finally:
        await service.close()


@pytest.mark.parametrize(
    ("content", "trends", "summary"),
    [
        ("Sure! This post is about open models.", None, None),
        ('{"themes": "3", "summary": "Open weights."}', None, None),
        ('{"themes": [42, 0], "summary": "Open weights."}', None, None),
        ('{"themes": [3], "summary": "   "}', None, None),
        ('{"themes": [0, 11, 3, true, "6"], "summary": "Open weights."}', [3], "Open weights."),
        ('```json\n{"themes": [7], "summary": "Fenced."}\n```', [7], "Fenced."),
        ('{"themes": [], "summary": "Not a trend story."}', [], "Not a trend story."),
    ],
    ids=[
        "prose-not-json",
        "themes-not-a-list",
        "only-out-of-range-trends",
        "blank-summary",
        "out-of-range-trends-filtered",
        "json-in-a-code-fence",
        "no-trend-is-an-answer",
    ],
)
async def test_answers_are_validated(
    database_url: str,
    feed_server: FeedServer,
    llm_api: FakeLLMAPI,
    tmp_path: Path,
    content: str,
    trends: list[int] | None,
    summary: str | None,
) -> None:
    llm_api.answer = scripted({OPEN[0]: content})
    service = await open_with_llm(
        database_url, feed_server, tmp_path, config(llm_api), news=rss([OPEN])
    )
    try:
        await service.feeds.poll(only_due=False)
        assert len(llm_api.calls) == 1
        if trends is None:  # unusable: the local tagger's and summariser's results stay
            trends = [t.trend for t in tag(*OPEN, service.themes)]
            summary = summarise(OPEN[1], OPEN[0])
        assert await stored_summary(service, OPEN[0]) == summary
        post = await stored(service, OPEN[0])
        assert (sorted(t.trend for t in post.trends) if post else []) == sorted(trends)
    finally:
        await service.close()


async def test_a_long_summary_is_cut_at_a_word_with_an_ellipsis(
    database_url: str, feed_server: FeedServer, llm_api: FakeLLMAPI, tmp_path: Path
) -> None:
    long = "The lab released open weights for its newest model today. " * 12
    llm_api.answer = scripted({OPEN[0]: {"themes": [3], "summary": long}})
    service = await open_with_llm(
        database_url, feed_server, tmp_path, config(llm_api), news=rss([OPEN])
    )
    try:
        await service.feeds.poll(only_due=False)
        summary = await stored_summary(service, OPEN[0])
        assert len(summary) <= 300
        assert summary.endswith("…")
        assert long.startswith(summary[:-1])
        assert long[len(summary) - 1] == " "  # cut between words
    finally:
        await service.close()


async def test_without_a_url_the_model_is_never_called(
    database_url: str,
    feed_server: FeedServer,
    llm_api: FakeLLMAPI,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    llm_api.answer = scripted({OPEN[0]: {"themes": [6], "summary": "From the model."}})
    url = feed_server.add_body("/news.xml", rss([OPEN]))
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.setenv(
        "TRENDBOT_FEEDS", str(feeds_file(tmp_path / "feeds.yaml", [url], name="Outlet"))
    )
    monkeypatch.setenv("TRENDBOT_LLM_MODEL", "fake-model")
    monkeypatch.setenv("TRENDBOT_LLM_API_KEY", "test-key")
    monkeypatch.delenv("TRENDBOT_LLM_URL", raising=False)
    monkeypatch.setenv("TRENDBOT_ALLOW_PRIVATE_FEEDS", "1")  # the feed is on 127.0.0.1
    monkeypatch.chdir(tmp_path)  # no stray .env
    service = await open_service(load_settings())
    try:
        assert service.llm is None
        await service.feeds.poll(only_due=False)
        assert llm_api.calls == []
        assert await stored_summary(service, OPEN[0]) == summarise(OPEN[1], OPEN[0])
    finally:
        await service.close()

    # The same settings with the URL set do reach the model, for the feed's next new post.
    monkeypatch.setenv("TRENDBOT_LLM_URL", llm_api.base_url + "/")
    llm_api.answer = scripted({ROBOTS[0]: {"themes": [9], "summary": "From the model."}})
    feed_server.set_body("/news.xml", rss([OPEN, ROBOTS]))
    service = await open_service(load_settings())
    try:
        await service.feeds.poll(only_due=False)
        assert len(llm_api.calls) == 1
        assert await stored_summary(service, ROBOTS[0]) == "From the model."
    finally:
        await service.close()


@pytest.mark.parametrize(
    ("env", "variable"),
    [
        ({"TRENDBOT_LLM_URL": "api.example/v1", "TRENDBOT_LLM_MODEL": "m"}, "TRENDBOT_LLM_URL"),
        ({"TRENDBOT_LLM_URL": "https://api.example/v1"}, "TRENDBOT_LLM_MODEL"),
        ({"TRENDBOT_LLM_DAILY_TOKENS": "-5"}, "TRENDBOT_LLM_DAILY_TOKENS"),
    ],
    ids=["url-without-scheme", "url-without-model", "negative-budget"],
)
def test_bad_llm_settings_stop_start_up_with_one_line(
    env: dict[str, str], variable: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.chdir(tmp_path)
    for name in ("TRENDBOT_LLM_URL", "TRENDBOT_LLM_MODEL", "TRENDBOT_LLM_DAILY_TOKENS"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(SettingsError) as error:
        load_settings()
    message = str(error.value)
    assert message.startswith(variable) and "\n" not in message and "None" not in message
