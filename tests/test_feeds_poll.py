"""The poller against a real HTTP server on 127.0.0.1: validators, hints, moves, failures."""

from __future__ import annotations

import gzip
from concurrent.futures import ProcessPoolExecutor
from datetime import timedelta
from multiprocessing import get_context
from pathlib import Path

import pytest
from aiohttp import web
from sqlalchemy import select

import trends.ingest.pipeline
from tests.fakes.feed_server import FeedServer
from tests.support.feeds import NOW, feeds_file, rss
from trends.ingest import schedule
from trends.ingest.fetch import new_client
from trends.service import TrendService
from trends.store import feeds as feed_store
from trends.store.schema import FeedRow, PostBandRow, PostRow, PostTrendRow


async def feed_row(service: TrendService, name: str = "Feed 0") -> FeedRow:
    async with service.db.new_session() as session:
        row = await session.scalar(select(FeedRow).where(FeedRow.name == name))
        assert row is not None
        return row


async def test_conditional_get_sends_validators_and_a_304_is_not_parsed(
    service_for, feed_server: FeedServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = feed_server.add_body("/a.xml", rss("alpha"))
    service = await service_for([url])
    parses: list[str] = []
    real_parse = trends.ingest.pipeline.parse

    def counting_parse(content: bytes, **kwargs: object):
        parses.append(str(kwargs["url"]))
        return real_parse(content, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(trends.ingest.pipeline, "parse", counting_parse)

    first = await service.feeds.poll(only_due=False, now=NOW)
    assert first.count("fetched") == 1 and first.new_posts == 3
    second = await service.feeds.poll(only_due=False, now=NOW + timedelta(hours=1))
    assert second.count("not_modified") == 1 and second.new_posts == 0
    assert parses == [url]  # the 304 cost no parse

    _, headers = feed_server.requests[-1]
    assert headers["If-None-Match"].startswith('"')
    assert "If-Modified-Since" in headers
    row = await feed_row(service)
    assert row.last_success_at == NOW + timedelta(hours=1)


@pytest.mark.parametrize(
    ("headers", "ttl", "poll_minutes", "expected"),
    [
        ({"Cache-Control": "public, max-age=7200"}, None, 60, timedelta(hours=2)),
        ({}, 180, 60, timedelta(hours=3)),
        ({"Cache-Control": "max-age=60"}, None, 60, timedelta(hours=1)),
        ({"Cache-Control": "max-age=9999999"}, None, 60, schedule.CEILING),
        ({}, None, 1, schedule.FLOOR),
    ],
    ids=["max-age-stretches", "rss-ttl", "short-max-age-keeps-interval", "ceiling", "floor"],
)
async def test_next_check_follows_the_feeds_hints_within_floor_and_ceiling(
    service_for,
    feed_server: FeedServer,
    headers: dict[str, str],
    ttl: int | None,
    poll_minutes: int,
    expected: timedelta,
) -> None:
    url = feed_server.add_body("/hinted.xml", rss("hinted", ttl=ttl), headers=headers)
    service = await service_for([url], poll_minutes=poll_minutes)
    await service.feeds.poll(only_due=False, now=NOW)
    assert (await feed_row(service)).next_check_at == NOW + expected


@pytest.mark.parametrize(
    ("retry_after", "expected"),
    [("7200", timedelta(hours=2)), ("864000", schedule.CEILING)],
    ids=["seconds", "clamped"],
)
async def test_retry_after_on_429_and_503_delays_the_next_check(
    service_for, feed_server: FeedServer, retry_after: str, expected: timedelta
) -> None:
    url = feed_server.add_body("/busy.xml", b"", headers={"Retry-After": retry_after}, status=429)
    other = feed_server.add_body("/down.xml", b"", headers={"Retry-After": retry_after}, status=503)
    service = await service_for([url, other])
    report = await service.feeds.poll(only_due=False, now=NOW)
    assert [feed.error for feed in report.feeds] == ["HTTP 429", "HTTP 503"]
    for name in ("Feed 0", "Feed 1"):
        assert (await feed_row(service, name)).next_check_at == NOW + expected


async def test_a_permanent_redirect_updates_the_stored_url(
    service_for, feed_server: FeedServer
) -> None:
    new_url = feed_server.add_body("/new.xml", rss("moved"))

    async def moved(request: web.Request) -> web.StreamResponse:
        raise web.HTTPMovedPermanently(location="/new.xml")

    old_url = feed_server.add_route("/old.xml", moved)
    service = await service_for([old_url])
    report = await service.feeds.poll(only_due=False, now=NOW)
    assert report.feeds[0].moved_to == new_url and report.new_posts == 3
    assert (await feed_row(service)).url == new_url
    await service.feeds.poll(only_due=False, now=NOW + timedelta(hours=1))
    assert feed_server.hits["/old.xml"] == 1  # the next poll goes straight to the new URL


async def test_a_temporary_redirect_keeps_the_stored_url(
    service_for, feed_server: FeedServer
) -> None:
    feed_server.add_body("/real.xml", rss("temp"))

    async def found(request: web.Request) -> web.StreamResponse:
        raise web.HTTPFound(location="/real.xml")

    url = feed_server.add_route("/temp.xml", found)
    service = await service_for([url])
    await service.feeds.poll(only_due=False, now=NOW)
    assert (await feed_row(service)).url == url


async def test_a_compressed_response_is_decoded(service_for, feed_server: FeedServer) -> None:
    async def gzipped(request: web.Request) -> web.StreamResponse:
        assert "gzip" in request.headers.get("Accept-Encoding", "")
        body = gzip.compress(rss("zipped"))
        return web.Response(
            body=body, headers={"Content-Encoding": "gzip", "Content-Type": "application/rss+xml"}
        )

    service = await service_for([feed_server.add_route("/zipped.xml", gzipped)])
    report = await service.feeds.poll(only_due=False, now=NOW)
    assert report.count("fetched") == 1 and report.new_posts == 3


async def test_410_disables_the_feed_and_emits_an_admin_event(
    service_for, feed_server: FeedServer
) -> None:
    gone = feed_server.add_body("/gone.xml", b"gone", status=410)
    alive = feed_server.add_body("/alive.xml", rss("alive"))
    service = await service_for([gone, alive])
    report = await service.feeds.poll(only_due=False, now=NOW)
    assert [(e.kind, e.url) for e in report.events] == [("gone", gone)]
    assert "410" in (report.events[0].error or "")
    row = await feed_row(service)
    assert not row.enabled and "410" in (row.disabled_reason or "")
    later = await service.feeds.poll(only_due=False, now=NOW + timedelta(days=2))
    assert [feed.url for feed in later.feeds] == [alive]  # never polled again
    health = await service.feeds.health(now=NOW)
    assert not health[0].enabled and "410" in (health[0].disabled_reason or "")


async def test_failures_back_off_alert_once_then_recovery_is_told_once(
    service_for, feed_server: FeedServer
) -> None:
    url = feed_server.add_body("/flaky.xml", b"oops", status=500)
    service = await service_for([url])
    now, intervals, events = NOW, [], []
    for _ in range(schedule.ALERT_AFTER_FAILURES + 2):
        report = await service.feeds.poll(now=now)  # only due feeds: the backoff decides
        assert report.count("failed") == 1, "a failing feed is still tried"
        events += report.events
        row = await feed_row(service)
        assert row.next_check_at is not None
        intervals.append(row.next_check_at - now)
        now = row.next_check_at
    assert intervals[:4] == [timedelta(hours=h) for h in (1, 2, 4, 8)]
    assert intervals[-1] == schedule.CEILING  # slowed, never stopped
    assert [(e.kind, e.failures) for e in events] == [("failing", schedule.ALERT_AFTER_FAILURES)]
    assert events[0].error == "HTTP 500 Internal Server Error"
    health = (await service.feeds.health(now=now))[0]
    assert health.consecutive_failures == schedule.ALERT_AFTER_FAILURES + 2
    assert health.last_error == "HTTP 500 Internal Server Error"

    feed_server.add_body("/flaky.xml", rss("flaky"))
    recovered = await service.feeds.poll(now=now)
    assert [(e.kind, e.url) for e in recovered.events] == [("recovered", url)]
    again = await service.feeds.poll(only_due=False, now=now + timedelta(hours=2))
    assert again.events == []
    assert (await feed_row(service)).consecutive_failures == 0


async def test_first_fetch_keeps_old_posts_out_of_digests(
    service_for, feed_server: FeedServer
) -> None:
    old = rss("old", items=2, day=NOW - timedelta(days=30))
    fresh = rss("fresh", items=2)
    feed_server.add_body("/old.xml", old)
    feed_server.add_body("/fresh.xml", fresh)
    service = await service_for([feed_server.url("/old.xml"), feed_server.url("/fresh.xml")])
    await service.feeds.poll(only_due=False, now=NOW)
    async with service.db.new_session() as session:
        rows = (await session.execute(select(PostRow.title, PostRow.in_digests))).all()
    in_digests = {title.split()[0]: flag for title, flag in rows}
    assert in_digests == {"old": False, "fresh": True}
    assert len(rows) == 4  # the back catalogue is archived for /trend all the same


async def test_a_large_poll_parses_in_worker_processes_with_the_same_results(
    service_for, feed_server: FeedServer
) -> None:
    from trends.services.feeds import PARALLEL_PARSE_FEEDS

    urls = [
        feed_server.add_body(f"/many{n}.xml", rss(f"many{n}", items=1))
        for n in range(PARALLEL_PARSE_FEEDS)
    ]
    urls.append(feed_server.add_body("/page.html", b"<!doctype html><html></html>", "text/html"))
    service = await service_for(urls)
    report = await service.feeds.poll(only_due=False, now=NOW)
    assert service.feeds._parsers is not None  # this poll went through the process pool
    assert report.count("fetched") == PARALLEL_PARSE_FEEDS
    assert report.new_posts + report.duplicates == PARALLEL_PARSE_FEEDS
    assert [feed.error for feed in report.feeds if feed.status == "failed"] == [
        "an HTML page, not a feed"  # a ParseError crosses the process boundary intact
    ]


async def _stored_posts(service: TrendService) -> list[tuple[object, ...]]:
    """Every stored post with its tags and band keys, in storing order."""
    async with service.db.new_session() as session:
        posts = (await session.execute(select(PostRow).order_by(PostRow.id))).scalars().all()
        tags = (
            await session.execute(
                select(PostTrendRow.post_id, PostTrendRow.trend, PostTrendRow.score).order_by(
                    PostTrendRow.post_id, PostTrendRow.trend
                )
            )
        ).all()
        bands = (
            await session.execute(
                select(PostBandRow.post_id, PostBandRow.band_key).order_by(
                    PostBandRow.post_id, PostBandRow.band_key
                )
            )
        ).all()
    columns = [column.key for column in PostRow.__table__.columns]
    return [
        *(tuple(getattr(post, column) for column in columns) for post in posts),
        *map(tuple, tags),
        *map(tuple, bands),
    ]


async def test_worker_processes_store_what_the_in_process_path_stores(
    feed_server: FeedServer, corpus_dir: Path, tmp_path: Path
) -> None:
    """A large poll parses and cleans feeds in other processes; nothing stored may differ."""
    urls = [feed_server.url(f"/feeds/{path.name}") for path in sorted(corpus_dir.glob("feeds/*"))]
    workers = ProcessPoolExecutor(max_workers=2, mp_context=get_context("forkserver"))
    stored = []
    try:
        for number, parser in enumerate((None, workers)):
            feeds_path = feeds_file(tmp_path / f"feeds{number}.yaml", urls)
            service = await TrendService.open(
                f"sqlite+aiosqlite:///{tmp_path}/run{number}.db",
                feeds_path=feeds_path,
                allow_private_feeds=True,  # the feeds are served on 127.0.0.1
            )
            try:
                async with service.db.new_session() as session:
                    due = await feed_store.all_feeds(session)
                async with new_client(allow_private=True) as client:  # one at a time: same order
                    run = trends.ingest.pipeline.PollRun(
                        service.db, client, service.themes, NOW, parser=parser
                    )
                    report = await trends.ingest.pipeline.poll(run, due, concurrency=1)
                assert report.new_posts > 500
                stored.append(await _stored_posts(service))
            finally:
                await service.close()
    finally:
        workers.shutdown()
    assert stored[0] == stored[1]
