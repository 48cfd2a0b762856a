"""A daily subscriber's digest through the real Application: the day since the last one,
headed "daily", with its own period key (months ahead and across a DST change)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path

import pytest

from tests.fakes.bot_api import FakeBotAPI
from tests.fakes.feed_server import FeedServer
from tests.support.archives import PRICING_FEED
from tests.support.bot import send_digests_now
from tests.support.chat import CHAT
from tests.support.delivery import subscribe
from tests.support.feeds import feeds_file
from trends.delivery.periods import digest_slot
from trends.service import TrendService

LONDON = "Europe/London"


@pytest.fixture
async def service(database_url: str, tmp_path: Path) -> AsyncIterator[TrendService]:
    service = await TrendService.open(database_url, allow_private_feeds=True)  # 127.0.0.1 feeds
    try:
        yield service
    finally:
        await service.close()


async def _poll_pricing_posts(
    service: TrendService, feed_server: FeedServer, tmp_path: Path, slot: datetime
) -> None:
    """One pricing post five hours before `slot`, one three days before."""
    body = PRICING_FEED.format(
        date1=format_datetime(slot - timedelta(hours=5)),
        date2=format_datetime(slot - timedelta(days=3)),
    )
    feed_server.add_body("/pricing.xml", body.encode())
    service.feeds.feeds_path = feeds_file(
        tmp_path / "feeds.yaml", [feed_server.url("/pricing.xml")]
    )
    await service.feeds.sync_configured(now=slot)
    await service.feeds.poll(only_due=False, now=slot)


@pytest.mark.parametrize(
    ("moment", "language", "heading", "section"),
    [
        # Five months on, and the morning the clocks go forward in London.
        ("2027-05-04T09:30", "en", "trendbot daily digest", "1 today, 0 the day before"),
        ("2027-03-28T09:30", "zh", "trendbot 每日简报", "今日 1 条，前一日 0 条"),
    ],
)
async def test_a_daily_subscriber_gets_the_day_since_the_last_digest(
    bot_api: FakeBotAPI,
    service: TrendService,
    feed_server: FeedServer,
    tmp_path: Path,
    moment: str,
    language: str,
    heading: str,
    section: str,
) -> None:
    now = datetime.fromisoformat(moment).replace(tzinfo=UTC)
    slot = digest_slot(now, "daily", 0, 9, LONDON)
    assert slot is not None
    await _poll_pricing_posts(service, feed_server, tmp_path, slot.astimezone(UTC))
    await subscribe(
        service, [CHAT], cadence="daily", digest_hour=9, timezone=LONDON, language=language
    )
    (due,) = await service.digests.current(now)
    assert due.key.startswith("daily:")  # its own period, not the week's

    before = len(bot_api.messages(CHAT))
    assert await send_digests_now(bot_api, service, now) == {"sent": 1}
    sent = bot_api.messages(CHAT)[before:]
    # The chart on top is of weekly counts by design; the digest's own text says daily.
    body = "\n".join(str(m["text"]) for m in sent if "text" in m)
    assert heading in body and "weekly" not in body and "每周" not in body
    assert section in body
    assert "per resolved ticket" in body  # five hours old: today's
    assert "seat-based SaaS pricing breaks" not in body  # three days old: not today's
    # The next day's digest is another period, sent once.
    assert await send_digests_now(bot_api, service, now + timedelta(days=1)) == {"sent": 1}
