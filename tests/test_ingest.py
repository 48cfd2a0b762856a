"""Polling real feeds from a server on 127.0.0.1 into a real database (SQLite and PostgreSQL)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from tests.conftest import OpenService
from tests.fakes.feed_server import FeedServer
from tests.support.feeds import Item, rss_feed
from trends.analyze import analyze_lines
from trends.ingest import cluster, pipeline
from trends.ingest.dedup import canonical_url
from trends.ingest.story_index import MAX_COUNTED, MAX_PER_KEY
from trends.service import TrendService
from trends.store import posts as post_store
from trends.store.schema import FeedRow, PostBandRow, PostRow

AI_FEEDS = [
    "openai_research_fulltext_2026-08-18.rss.xml",
    "anthropic_news_fulltext_2026-08-14.rss.xml",
    "mistral_news_fulltext_2026-08-20.rss.xml",
    "jiqizhixin_zh_2026-05-07.rss.xml",
    "the_batch_deeplearning_ai_2026-04-30.atom.xml",
]


async def count_posts(service: TrendService) -> int:
    async with service.db.new_session() as session:
        return int(await session.scalar(select(func.count()).select_from(PostRow)) or 0)


async def test_polling_twice_stores_nothing_twice(
    service_for: OpenService, feed_server: FeedServer
) -> None:
    urls = [feed_server.url(f"/feeds/{name}") for name in AI_FEEDS]
    service = await service_for(urls)
    first = await service.feeds.poll(only_due=False)
    stored = await count_posts(service)
    assert first.count("fetched") == len(AI_FEEDS)
    assert first.new_posts > 100
    assert stored >= first.new_posts  # near-duplicate copies are stored in their cluster

    # The server answers 304 to our validators: nothing is parsed or stored.
    second = await service.feeds.poll(only_due=False)
    assert second.count("not_modified") == len(AI_FEEDS)
    assert second.new_posts == 0

    # Even when every feed is downloaded and parsed again, no post is stored twice.
    async with service.db.new_session() as session, session.begin():
        for feed in (await session.scalars(select(FeedRow))).all():
            feed.etag = feed.last_modified = None
    third = await service.feeds.poll(only_due=False)
    assert third.count("fetched") == len(AI_FEEDS)
    assert third.new_posts == 0
    assert third.duplicates > 100
    assert await count_posts(service) == stored


async def test_same_story_with_and_without_trailing_slash_is_stored_once(
    service_for: OpenService, feed_server: FeedServer
) -> None:
    url = feed_server.url("/feeds/mistral_news_fulltext_2026-08-20.rss.xml")
    service = await service_for([url])
    await service.feeds.poll(only_due=False)
    async with service.db.new_session() as session:
        links = (
            await session.scalars(
                select(PostRow.canonical_link).where(PostRow.title.like("%Devstral 2%"))
            )
        ).all()
    assert len(links) == len(set(links)) >= 1
    assert all(not link.endswith("/") for link in links)


async def test_one_broken_feed_is_reported_while_the_others_ingest(
    service_for: OpenService, feed_server: FeedServer
) -> None:
    feed_server.add_body("/down.xml", b"Internal error", status=500)
    urls = [
        feed_server.url("/feeds/openai_research_fulltext_2026-08-18.rss.xml"),
        feed_server.url(
            "/feeds/malformed_simonw_substack_feedurl_cloudflare_challenge_2026-02-21.xml"
        ),
        feed_server.url("/down.xml"),
        feed_server.url("/feeds/jiqizhixin_zh_2026-05-07.rss.xml"),
    ]
    service = await service_for(urls)
    report = await service.feeds.poll(only_due=False)
    failed = {feed.url: feed.error for feed in report.feeds if feed.status == "failed"}
    assert set(failed) == {urls[1], urls[2]}
    assert "Cloudflare" in failed[urls[1]]
    assert "500" in failed[urls[2]]
    assert report.count("fetched") == 2
    assert report.new_posts > 50
    async with service.db.new_session() as session:
        feeds = {row.url: row for row in (await session.scalars(select(FeedRow))).all()}
    assert feeds[urls[2]].consecutive_failures == 1
    assert "500" in (feeds[urls[2]].last_error or "")
    assert feeds[urls[0]].consecutive_failures == 0


async def test_posts_are_summarised_and_tagged_with_their_terms(
    service_for: OpenService, feed_server: FeedServer
) -> None:
    url = feed_server.url("/feeds/openai_research_fulltext_2026-08-18.rss.xml")
    service = await service_for([url])
    await service.feeds.poll(only_due=False)
    trust = service.themes.get(10)
    assert trust is not None
    page = await service.archive.trend_page(trust, limit=5)
    assert page.total >= 3
    for post in page.posts:
        assert post.summary and "<" not in post.summary
        tag = post.tag(10)
        assert tag is not None and tag.matched


async def test_the_store_refuses_a_second_copy_of_a_post(
    service_for: OpenService, feed_server: FeedServer
) -> None:
    url = feed_server.url("/feeds/jiqizhixin_zh_2026-05-07.rss.xml")
    service = await service_for([url])
    await service.feeds.poll(only_due=False)
    async with service.db.new_session() as session:
        original = (await session.scalars(select(PostRow).limit(1))).one()
    copy = PostRow(
        **{
            column: getattr(original, column)
            for column in ("feed_id", "guid", "link", "title", "summary", "language")
        },
        canonical_link=original.canonical_link,
        content_hash="another-hash",
        published_at=original.published_at,
        fetched_at=original.fetched_at,
        in_digests=True,
    )
    with pytest.raises(IntegrityError):
        async with service.db.new_session() as session, session.begin():
            session.add(copy)


async def test_the_same_story_from_two_outlets_becomes_one_cluster(
    service_for: OpenService, feed_server: FeedServer
) -> None:
    # Hacker News links the same news at the FT and at Reuters, and Warp's blog and GitHub.
    url = feed_server.url("/feeds/hn_best_stories_2026-04-30.atom.xml")
    service = await service_for([url])
    report = await service.feeds.poll(only_due=False)
    async with service.db.new_session() as session:
        copies = (
            await session.execute(
                select(PostRow.title, PostRow.cluster_id).where(PostRow.cluster_id.is_not(None))
            )
        ).all()
        firsts = {
            row.id: row.title
            for row in (await session.scalars(select(PostRow))).all()
            if row.id in {cluster for _, cluster in copies}
        }
    pairs = {(firsts[cluster].lower(), title.lower()) for title, cluster in copies}
    assert ("uae to leave opec", "uae leaves opec") in pairs
    assert ("warp is now open-source", "warp is now open-source") in pairs
    assert len(copies) <= 3  # nothing else on the front page is merged
    assert report.duplicates >= 2


async def test_posts_stored_meanwhile_by_another_poll_are_skipped(
    service_for: OpenService, corpus_dir: Path
) -> None:
    """Two polls checked a feed before either stored it: the second stores only the rest."""
    path = corpus_dir / "feeds" / "hn_best_stories_2026-04-30.atom.xml"
    service = await service_for([path.as_uri()])
    async with service.db.new_session() as session:
        feed = (await session.scalars(select(FeedRow))).one()
    now = datetime.now(UTC)
    _, posts = pipeline.prepare(
        path.read_bytes(),
        url=path.as_uri(),
        content_type=None,
        source=feed.name,
        language=feed.language,
        fetched_at=now,
        ai_source=feed.ai_source,
    )
    prepared = pipeline.enrich(posts, service.themes)
    async with service.db.new_session() as session, session.begin():
        first = await pipeline._store(session, feed.id, prepared[:10], now, True)
    async with service.db.new_session() as session, session.begin():
        second = await pipeline._store(session, feed.id, prepared, now, True)
    assert sum(first) == 10
    assert sum(second) == len(prepared)  # no error: each post new, a copy, or skipped
    assert second[1] >= 10  # the first ten were already there
    assert await count_posts(service) == len(cluster.distinct(prepared))


_STORY_POSTS = [  # our own writing: (title, description, link, published)
    (
        "Nvidia unveils Rubin Ultra GPU with 288GB of memory",
        "Nvidia on Tuesday unveiled Rubin Ultra, its next data-centre GPU, with 288GB of HBM4"
        " memory, shipping in 2027. Jensen Huang showed the chip at GTC in San Jose.",
        "https://techpress.example/2026/03/17/nvidia-rubin-ultra?utm_source=rss",
        "2026-03-17T09:00:00+00:00",
    ),
    (
        "Qwen team releases Qwen4-Coder, an open coding model",
        "Alibaba's Qwen team released Qwen4-Coder, a 480B open-weight model for code.",
        "https://techpress.example/2026/03/17/qwen4-coder",
        "2026-03-17T11:00:00+00:00",
    ),
    (
        "Team update",
        "",
        "https://lumen.example/blog/team-update-1",
        "2026-03-17T12:00:00+00:00",
    ),
    (
        "英伟达发布Rubin Ultra GPU，显存达288GB",
        "黄仁勋在GTC大会上发布了下一代数据中心GPU Rubin Ultra，配备288GB HBM4显存，"
        "预计2027年出货。英伟达称其推理性能大幅提升。",
        "https://kejibao.example/p/88123",
        "2026-03-17T14:00:00+00:00",
    ),
    (
        "Nvidia's Rubin Ultra packs 288GB of HBM4",
        "At GTC, Nvidia CEO Jensen Huang revealed Rubin Ultra, a GPU with 288GB of HBM4 memory"
        " that ships in 2027, and a roadmap for the racks built around it.",
        "https://gadgetwire.example/nvidia-rubin-ultra-hbm4",
        "2026-03-17T15:00:00+00:00",
    ),
    (
        "阿里通义千问发布Qwen4-Coder，480B开源代码模型",
        "通义千问团队发布开源代码模型Qwen4-Coder，参数规模480B。",
        "https://kejibao.example/p/88190",
        "2026-03-18T02:00:00+00:00",
    ),
    (
        "Team update",
        "",
        "https://lumen.example/blog/team-update-2",
        "2026-03-18T03:00:00+00:00",
    ),
]


Post = tuple[str, str, str, str]  # title, text, link, ISO time


def _rss(posts: list[Post]) -> bytes:
    """An aggregator's feed of (title, text, link, ISO time) posts."""
    return rss_feed(
        "Aggregator",
        [
            Item(title, text, datetime.fromisoformat(published), link=link, guid=link)
            for title, text, link, published in posts
        ],
    )


async def _ingested_and_analyzed(
    service_for: OpenService,
    feed_server: FeedServer,
    first: list[Post],
    then: list[Post],
) -> tuple[TrendService, dict[str, str | None], dict[str, str | None]]:
    """Each post's story (its first member's link, or None), as ingest decides it polling
    `first` and then `then`, and as analyze decides it reading `then` at once."""
    feed_server.add_body("/agg.xml", _rss(first))
    service = await service_for([feed_server.url("/agg.xml")])
    await service.feeds.poll(only_due=False)
    feed_server.set_body("/agg.xml", _rss(then))
    async with service.db.new_session() as session, session.begin():
        for feed in (await session.scalars(select(FeedRow))).all():
            feed.etag = feed.last_modified = None
    await service.feeds.poll(only_due=False)
    async with service.db.new_session() as session:
        rows = (await session.scalars(select(PostRow).order_by(PostRow.id))).all()
    link_of = {row.id: row.canonical_link for row in rows}
    ingested = {
        row.canonical_link: link_of[row.cluster_id] if row.cluster_id else None for row in rows
    }
    lines = [
        json.dumps({"id": link, "title": title, "summary": text, "link": link, "published": at})
        for title, text, link, at in then
    ]
    analyzed = {
        canonical_url(result["id"]): result["duplicate_of"]
        and canonical_url(result["duplicate_of"])
        for result in analyze_lines(lines, service.themes)
    }
    return service, ingested, analyzed


async def test_ingest_and_analyze_put_the_same_posts_in_the_same_stories(
    service_for: OpenService, feed_server: FeedServer
) -> None:
    # The first four are stored by one poll; the rest arrive by the next and meet them in
    # the store. analyze reads all seven at once: both must tell the same stories.
    _, ingested, analyzed = await _ingested_and_analyzed(
        service_for, feed_server, _STORY_POSTS[:4], _STORY_POSTS
    )
    assert ingested == analyzed
    # Rubin Ultra told by three outlets in two languages is one story; so is Qwen4-Coder;
    # one outlet's two "Team update" posts are not.
    rubin = canonical_url(_STORY_POSTS[0][2])
    assert [link for link, first in analyzed.items() if first == rubin] == [
        "https://kejibao.example/p/88123",
        "https://gadgetwire.example/nvidia-rubin-ultra-hbm4",
    ]
    assert analyzed["https://kejibao.example/p/88190"] == _STORY_POSTS[1][2]
    assert analyzed["https://lumen.example/blog/team-update-2"] is None
    assert "utm_source" not in rubin


async def test_a_busy_day_of_one_name_still_links_its_story_as_analyze_does(
    service_for: OpenService, feed_server: FeedServer
) -> None:
    # 300 reports name Nvidia on one day, more than the matcher compares or counts per name:
    # ingest reads only the newest of them from the store, and must still link the second
    # Rubin Ultra report to the first (stored before all the others) exactly as analyze does.
    words = ["shares", "supply", "rack", "cooling", "driver", "partner", "export", "cloud"]
    busy = [
        (
            f"Nvidia {words[i % 8]} {words[(i // 8) % 8]} note {chr(97 + i % 26)}{i // 26}",
            f"A short note on Nvidia and its {words[(i + 3) % 8]} plans.",
            f"https://outlet{i}.example/nvidia-note",
            f"2026-03-17T{10 + i // 60:02d}:{i % 60:02d}:00+00:00",
        )
        for i in range(300)
    ]
    first, second = _STORY_POSTS[0], _STORY_POSTS[4]
    first = (*first[:3], "2026-03-17T09:00:00+00:00")
    second = (*second[:3], "2026-03-17T16:00:00+00:00")
    service, ingested, analyzed = await _ingested_and_analyzed(
        service_for, feed_server, [first, *busy], [first, *busy, second]
    )
    assert len(ingested) == 302
    assert ingested == analyzed
    assert ingested[canonical_url(second[2])] == canonical_url(first[2])
    # What ingest read for it: a busy key's newest posts and a count that stops, a quiet
    # key's every post, each once.
    async with service.db.new_session() as session:
        holders: dict[int, list[int]] = {}
        for key, post_id in await session.execute(
            select(PostBandRow.band_key, PostBandRow.post_id)
        ):
            holders.setdefault(key, []).append(post_id)
        busy_keys = [key for key, ids in holders.items() if len(ids) > MAX_COUNTED][:2]
        quiet_key = next(key for key, ids in holders.items() if 1 < len(ids) < MAX_PER_KEY)
        stored = await post_store.candidates_by_band(
            session, [*busy_keys, quiet_key], per_key=MAX_PER_KEY, counted=MAX_COUNTED
        )
    assert len(busy_keys) == 2
    for key in busy_keys:
        assert stored.newest_by_key[key] == sorted(holders[key])[-MAX_PER_KEY:]
        assert stored.count_by_key[key] == MAX_COUNTED
    assert stored.newest_by_key[quiet_key] == sorted(holders[quiet_key])
    assert stored.count_by_key[quiet_key] == len(holders[quiet_key])
