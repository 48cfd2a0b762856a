"""A post another feed stored already (the same page, word for word) reuses what enriching it
made: the reader sees the same summary and trends on both copies, and ingest does not spend
a summarise and a tag on it again."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select

from tests.conftest import OpenService
from tests.fakes.feed_server import FeedServer
from trends.ingest import pipeline
from trends.store.schema import FeedRow, PostRow, PostTrendRow

CORPUS = Path(__file__).resolve().parents[2] / "shared" / "corpus" / "feeds"
FEED = "openai_research_fulltext_2026-08-18.rss.xml"


async def test_a_copy_through_a_second_feed_keeps_the_first_copys_summary_and_trends(
    service_for: OpenService, feed_server: FeedServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    body = (CORPUS / FEED).read_bytes()
    urls = [feed_server.add_body("/first.xml", body), feed_server.add_body("/second.xml", body)]
    service = await service_for(urls)
    enriched: list[int] = []  # posts summarised and tagged, per feed
    real_enrich = pipeline.enrich

    def counting_enrich(posts: list, themes: object) -> list:
        enriched.append(len(posts))
        return real_enrich(posts, themes)

    monkeypatch.setattr(pipeline, "enrich", counting_enrich)
    report = await service.feeds.poll(only_due=False, concurrency=1)  # first, then second
    assert report.count("fetched") == 2
    assert enriched[0] > 10 and enriched[1] == 0  # every post of the second is a copy

    async with service.db.new_session() as session:
        feed_of = {row.url: row.id for row in (await session.scalars(select(FeedRow))).all()}
        rows = (await session.scalars(select(PostRow))).all()
        tags = (await session.scalars(select(PostTrendRow))).all()
    trends_of: dict[int, list[tuple[int, float, list[str]]]] = {}
    for tag in tags:
        trends_of.setdefault(tag.post_id, []).append((tag.trend, tag.score, tag.matched))
    first = {r.canonical_link: r for r in rows if r.feed_id == feed_of[urls[0]]}
    second = {r.canonical_link: r for r in rows if r.feed_id == feed_of[urls[1]]}
    assert second.keys() == first.keys()
    assert any(trends_of.get(r.id) for r in first.values())  # some posts have trends
    for link, copy in second.items():
        original = first[link]
        assert copy.summary == original.summary
        assert copy.minhash == original.minhash
        assert sorted(trends_of.get(copy.id, [])) == sorted(trends_of.get(original.id, []))
        assert copy.cluster_id == (original.cluster_id or original.id)  # coverage of it
