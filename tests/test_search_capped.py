"""/search on a word too common to count: past `MATCH_CAP` matching posts a search stops
counting and reads the posts newest first. Readers must get the same stories, in the same
order, page after page, as a search that counted them all; on SQLite and PostgreSQL."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import insert

from tests.conftest import OpenArchive, OpenService
from tests.fakes.bot_api import FakeBotAPI
from tests.support.archives import pricing_archive
from tests.support.bot import running_bot
from tests.support.chat import CHAT, buttons, edited, latest, numbered_titles, press, say
from tests.support.sql import recorded_statements
from trends.service import TrendService
from trends.store import archive as store_archive
from trends.store import search
from trends.store.schema import FeedRow, PostRow

NOW = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)


async def _archive_of_stories(service: TrendService) -> None:
    """240 posts over 30 days, stored in no date order (backfills do that): a third are
    later reports of an earlier story; "agent" is in two of three, 智能体 in every fifth."""
    rng = random.Random(11)
    rows = []
    for number in range(1, 241):
        words = ["agent" if number % 3 else "pricing", "vendor", f"w{number}"]
        title = " ".join(words) + (" 智能体平台" if number % 5 == 0 else "")
        lead = rng.randrange(1, number) if number > 10 and number % 3 == 0 else None
        rows.append(
            dict(
                id=number,
                feed_id=1,
                guid=f"g{number}",
                link=f"https://example.com/{number}",
                canonical_link=f"https://example.com/{number}",
                title=title,
                summary=f"summary {number}",
                content_hash=f"h{number}",
                language="en",
                published_at=NOW - timedelta(minutes=rng.randrange(30 * 24 * 60)),
                fetched_at=NOW,
                in_digests=True,
                cluster_id=lead if lead is None or rows[lead - 1]["cluster_id"] is None else None,
            )
        )
    async with service.db.new_session() as session, session.begin():
        session.add(FeedRow(id=1, url="https://example.com/feed", name="Desk", created_at=NOW))
        await session.flush()
        await session.execute(insert(PostRow), rows)


async def _every_page(service: TrendService, query: str) -> tuple[list[int], set[int | None]]:
    """The story ids of every page, in order, and the caps the pages reported."""
    ids: list[int] = []
    caps: set[int | None] = set()
    offset = 0
    while True:
        page = await service.archive.search(query, limit=5, offset=offset)
        ids += [post.id for post in page.posts]
        caps.add(page.capped_at)
        if offset + 5 >= page.total:
            return ids, caps
        offset += 5


async def _pages_to_the_end(bot_api: FakeBotAPI, command: str) -> list[dict[str, Any]]:
    """Send `command`, then press ▶ until there is none: every page, as the reader saw it."""
    pages = [await say(bot_api, CHAT, command)]
    while "▶" in buttons(pages[-1]).values():
        forward = next(data for data, label in buttons(pages[-1]).items() if label == "▶")
        edits = len(bot_api.calls_of("editMessageText"))
        await press(bot_api, CHAT, latest(bot_api)["message_id"], forward)
        await edited(bot_api, edits)
        pages.append(latest(bot_api))
    return pages


def _stories(pages: list[dict[str, Any]]) -> list[str]:
    """The numbered stories' titles of every page, in order."""
    return [title for page in pages for title in numbered_titles(page["text"])]


@pytest.mark.parametrize("batch", [search.BATCH_PER_STORY, 1], ids=["batch", "small-batches"])
@pytest.mark.parametrize("query", ["agent", "agent vendor", "智能体", "vendor 智能体平台"])
async def test_an_uncounted_search_pages_the_same_stories_as_a_counted_one(
    service_for: OpenService, monkeypatch: pytest.MonkeyPatch, query: str, batch: int
) -> None:
    service = await service_for([])
    await _archive_of_stories(service)
    counted, counted_caps = await _every_page(service, query)
    monkeypatch.setattr(search, "MATCH_CAP", 12)
    monkeypatch.setattr(search, "BATCH_PER_STORY", batch)  # 1: most pages read on, batch by batch
    walked, walked_caps = await _every_page(service, query)
    assert counted_caps == {None} and walked_caps == {12}
    assert len(counted) == len(set(counted)) > 12  # every story once, none twice
    assert walked == counted
    beyond = await service.archive.search(query, limit=5, offset=len(counted))
    assert beyond.posts == [] and beyond.total == len(counted)


async def test_a_search_too_common_to_count_says_so_and_pages_to_the_end(
    bot_api: FakeBotAPI, archive: OpenArchive, monkeypatch: pytest.MonkeyPatch
) -> None:
    service = await archive(pricing_archive(datetime.now(UTC)))
    async with running_bot(bot_api, service):
        counted = await _pages_to_the_end(bot_api, "/search AI")
        monkeypatch.setattr(search, "MATCH_CAP", 4)
        pages = await _pages_to_the_end(bot_api, "/search AI")
        chinese = await say(bot_api, CHAT, "/search AI", language_code="zh-hans")
    assert counted[0]["text"].startswith("<b>Search “AI”</b>: 1–5 of 13")
    assert pages[0]["text"].startswith(
        "<b>Search “AI”</b>: 1–5, newest first (more than 4 posts match)"
    )
    assert [page["text"].split("\n", 1)[0] for page in pages[1:]] == [
        "<b>Search “AI”</b>: 6–10, newest first (more than 4 posts match)",
        "<b>Search “AI”</b>: 11–13, newest first (more than 4 posts match)",
    ]
    assert "◀" in buttons(pages[-1]).values()
    assert chinese["text"].startswith("<b>搜索“AI”</b>：第 1–5 条，最新在前（匹配的文章超过 4 篇）")
    # The same thirteen stories, in the same order, as the search that counted them.
    assert _stories(pages) == _stories(counted) and len(_stories(counted)) == 13


async def test_a_trend_too_big_to_count_says_so_and_pages_to_the_end(
    bot_api: FakeBotAPI, archive: OpenArchive, monkeypatch: pytest.MonkeyPatch
) -> None:
    service = await archive(pricing_archive(datetime.now(UTC)))
    async with running_bot(bot_api, service):
        counted = await _pages_to_the_end(bot_api, "/trend 6")
        monkeypatch.setattr(store_archive, "TREND_COUNT_CAP", 4)
        pages = await _pages_to_the_end(bot_api, "/trend 6")
        week = await say(bot_api, CHAT, "/trend 6 7d")  # six this week: over the cap too
        chinese = await say(bot_api, CHAT, "/trend 6", language_code="zh-hans")
    assert counted[0]["text"].startswith("<b>6. Outcome-based pricing</b>: newest 1–5 of 12")
    assert [page["text"].split("\n", 1)[0] for page in pages] == [
        "<b>6. Outcome-based pricing</b>: newest 1–5 of more than 4",
        "<b>6. Outcome-based pricing</b>: newest 6–10 of more than 4",
        "<b>6. Outcome-based pricing</b>: newest 11–12 of more than 4",
    ]
    assert week["text"].startswith("<b>6. Outcome-based pricing</b>: newest 1–5 of more than 4")
    assert "最新第 1–5 篇，共 4 多篇" in chinese["text"]
    # The same twelve stories, in the same order, as the pages that counted them.
    assert _stories(pages) == _stories(counted) and len(_stories(counted)) == 12


async def test_an_uncounted_search_reads_the_dates_index_in_order_not_every_match(
    database_url: str, service_for: OpenService, monkeypatch: pytest.MonkeyPatch
) -> None:
    """On SQLite, started from the token index's matches the walk would sort all of them
    (tens of thousands for a common word) before its first page."""
    if not database_url.startswith("sqlite"):
        pytest.skip("PostgreSQL's plan for a table this small says nothing of a large one")
    service = await service_for([])
    await _archive_of_stories(service)
    monkeypatch.setattr(search, "MATCH_CAP", 12)
    with recorded_statements(service.db.engine.sync_engine) as statements:
        page = await service.archive.search("agent", limit=5)
    assert page.capped_at == 12
    walk, parameters = next((s, p) for s, p in statements if "ORDER BY posts.published_at" in s)
    async with service.db.engine.connect() as connection:
        plan = (await connection.exec_driver_sql(f"EXPLAIN QUERY PLAN {walk}", parameters)).all()
    steps = "\n".join(str(row[-1]) for row in plan)
    assert "SCAN posts USING INDEX ix_posts_published" in steps, steps
    assert "TEMP B-TREE" not in steps, steps


async def test_on_postgresql_a_word_its_statistics_call_common_is_not_counted(
    database_url: str, service_for: OpenService, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Counting to the cap reads that many posts on PostgreSQL (a tenth of a second from a
    cold disk): a word its statistics put in many times more posts skips the count, and
    reads the same pages; a word they do not call common, two words, or any word before
    the posts were first analysed, are counted."""
    if not database_url.startswith("postgresql"):
        pytest.skip("SQLite counts from its token index alone")
    service = await service_for([])
    async with service.db.engine.begin() as connection:  # analysed when this test says
        await connection.exec_driver_sql("ALTER TABLE posts SET (autovacuum_enabled = false)")
    await _archive_of_stories(service)
    counted, _ = await _every_page(service, "agent")
    # Never analysed, the planner guesses (and never fewer than one post): not trusted.
    margin = search.ESTIMATE_MARGIN
    monkeypatch.setattr(search, "MATCH_CAP", 1)
    monkeypatch.setattr(search, "ESTIMATE_MARGIN", 1)
    with recorded_statements(service.db.engine.sync_engine) as statements:
        never_analysed = await service.archive.search("agent", limit=5)
    assert never_analysed.capped_at == 1
    assert any("count(" in statement for statement, _ in statements)
    async with service.db.engine.begin() as connection:
        await connection.exec_driver_sql("ANALYZE posts")  # what autovacuum does as posts arrive
    monkeypatch.setattr(search, "MATCH_CAP", 12)  # "agent": 160 posts, 10x the cap and more
    monkeypatch.setattr(search, "ESTIMATE_MARGIN", margin)
    with recorded_statements(service.db.engine.sync_engine) as statements:
        walked, caps = await _every_page(service, "agent")
    assert caps == {12} and walked == counted
    assert not any("count(" in statement for statement, _ in statements)

    monkeypatch.setattr(search, "ESTIMATE_MARGIN", 1)  # "agent" 160 and "pricing" 80: both >= 12
    with recorded_statements(service.db.engine.sync_engine) as statements:
        common_pairs = await service.archive.search("智能体平台", limit=5)  # 48 posts
        rare = await service.archive.search("w17", limit=5)  # w17, w170 ... w179: 11 posts
        together = await service.archive.search("agent pricing", limit=5)  # never together
    assert common_pairs.capped_at == 12
    assert rare.capped_at is None and rare.total == 11
    assert together.capped_at is None and together.total == 0
    assert sum("count(" in statement for statement, _ in statements) >= 3
