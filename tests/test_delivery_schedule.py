"""Digest scheduling from our own tables: local time, DST changes, restarts, no repeats."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bot.broadcast import broadcast
from tests.fakes.bot_api import FakeBotAPI
from tests.support.bot import running_bot
from tests.support.delivery import backdate_subscribers, subscribe
from trends.delivery.periods import digest_slot, next_digest_slot
from trends.service import TrendService

BERLIN = "Europe/Berlin"  # clocks go forward on 2027-03-28 and back on 2027-10-31


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


@pytest.mark.parametrize(
    ("now", "cadence", "hour", "expected"),
    [
        # Monday 09:00 in Berlin is 08:00 UTC in winter and 07:00 UTC in summer.
        ("2027-03-29T06:59", "weekly", 9, "2027-03-22T08:00"),
        ("2027-03-29T07:00", "weekly", 9, "2027-03-29T07:00"),
        ("2027-03-27T08:00", "daily", 9, "2027-03-27T08:00"),
        ("2027-03-28T07:00", "daily", 9, "2027-03-28T07:00"),
        ("2027-10-30T07:00", "daily", 9, "2027-10-30T07:00"),
        ("2027-10-31T08:00", "daily", 9, "2027-10-31T08:00"),
        ("2027-10-31T07:59", "daily", 9, "2027-10-30T07:00"),
        # 02:00 does not exist on the spring day: the digest comes at 03:00 CEST instead.
        ("2027-03-28T00:59", "daily", 2, "2027-03-27T01:00"),
        ("2027-03-28T01:00", "daily", 2, "2027-03-28T01:00"),
        # 02:00 happens twice on the autumn day: the first one counts, and stays counted.
        ("2027-10-31T00:00", "daily", 2, "2027-10-31T00:00"),
        ("2027-10-31T01:30", "daily", 2, "2027-10-31T00:00"),
    ],
    ids=[
        "weekly-before-summer-slot",
        "weekly-summer-slot",
        "daily-winter",
        "daily-first-summer-day",
        "daily-last-summer-day",
        "daily-first-winter-day",
        "daily-winter-not-yet",
        "spring-gap-not-yet",
        "spring-gap-slot",
        "autumn-repeat-first-pass",
        "autumn-repeat-second-pass",
    ],
)
def test_digest_slot_is_local_time_across_dst(
    now: str, cadence: str, hour: int, expected: str
) -> None:
    slot = digest_slot(utc(now), cadence, 0, hour, BERLIN)
    assert slot is not None and slot.astimezone(UTC) == utc(expected)


@pytest.mark.parametrize(
    ("now", "cadence", "hour", "expected"),
    [
        ("2027-03-22T09:00", "weekly", 9, "2027-03-29T07:00"),  # into summer time
        ("2027-10-25T07:30", "weekly", 9, "2027-11-01T08:00"),  # out of it
        ("2027-03-27T01:30", "daily", 2, "2027-03-28T01:00"),  # 02:00 does not exist
        ("2027-10-30T00:30", "daily", 2, "2027-10-31T00:00"),  # 02:00 happens twice
        ("2026-12-07T00:30", "weekly", 9, "2026-12-07T08:00"),  # hours before the slot
    ],
)
def test_the_next_digest_is_the_first_slot_the_schedule_reaches(
    now: str, cadence: str, hour: int, expected: str
) -> None:
    # What /subscribe announces: the moment the scheduler's current period next changes.
    moment = utc(now)
    upcoming = next_digest_slot(moment, cadence, 0, hour, BERLIN)
    assert upcoming is not None and upcoming.astimezone(UTC) == utc(expected)
    assert digest_slot(upcoming, cadence, 0, hour, BERLIN) == upcoming
    just_before = upcoming - timedelta(minutes=1)
    assert digest_slot(just_before, cadence, 0, hour, BERLIN) == digest_slot(
        moment, cadence, 0, hour, BERLIN
    )


DAILY, WEEKLY = 6001, 6002


async def test_ticks_across_dst_an_outage_and_restarts_send_each_digest_once(
    bot_api: FakeBotAPI, database_url: str
) -> None:
    """Ticks every ten minutes over five days: each digest goes out at the first tick at or
    after its local time, once, even when the process restarts or was down at that time."""
    service = await TrendService.open(database_url)
    await subscribe(service, [DAILY], cadence="daily", digest_hour=9, timezone=BERLIN)
    await subscribe(service, [WEEKLY], cadence="weekly", digest_day=0, timezone=BERLIN)
    await backdate_subscribers(service, utc("2027-03-25T12:00"))  # after both slots
    restarts = {utc("2027-03-27T08:00"), utc("2027-03-28T12:00"), utc("2027-03-29T07:00")}
    outage = (utc("2027-03-28T06:50"), utc("2027-03-28T07:30"))  # down over a slot
    sent: list[tuple[int, datetime]] = []
    now = utc("2027-03-26T00:00")
    try:
        while now <= utc("2027-03-30T12:00"):
            if now in restarts:
                await service.close()
                service = await TrendService.open(database_url)
            if not outage[0] <= now < outage[1]:
                due = await service.digests.due(now)
                if due:
                    async with running_bot(bot_api, service) as application:
                        settings = application.bot_data.settings
                        await broadcast(application.bot, service, settings, due)
                    sent += [(item.chat_id, now) for item in due]
            now += timedelta(minutes=10)
    finally:
        await service.close()
    assert sent == [
        (DAILY, utc("2027-03-26T08:00")),  # 09:00 CET
        (DAILY, utc("2027-03-27T08:00")),  # sent by a freshly restarted process
        (DAILY, utc("2027-03-28T07:30")),  # 09:00 CEST fell in the outage: sent on return
        (DAILY, utc("2027-03-29T07:00")),
        (WEEKLY, utc("2027-03-29T07:00")),  # Monday 09:00 CEST
        (DAILY, utc("2027-03-30T07:00")),
    ]
    assert len(bot_api.messages(DAILY)) == 5 and len(bot_api.messages(WEEKLY)) == 1
