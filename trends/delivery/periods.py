"""Digest periods, in one place: how long each cadence covers, when its slot falls in the
subscriber's own zone, and the key that names one period in the delivery ledger."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

__all__ = ["DAY", "WEEK", "digest_key", "digest_slot", "next_digest_slot", "window"]

WEEK = timedelta(days=7)  # a weekly digest, and what "this week" means everywhere
DAY = timedelta(days=1)  # a daily digest covers the day since the one before


def window(cadence: str) -> timedelta:
    """How far back a digest of `cadence` reaches."""
    return DAY if cadence == "daily" else WEEK


def digest_key(cadence: str, slot: datetime) -> str:
    """Names one digest period; the ledger keeps one delivery per (subscriber, key)."""
    return f"{cadence}:{slot.strftime('%Y-%m-%dT%H')}"


def digest_slot(
    now: datetime, cadence: str, weekday: int, hour: int, timezone: str
) -> datetime | None:
    """The latest digest time at or before `now`, in the subscriber's own zone (DST-safe).

    Weekly slots fall on `weekday` (0 = Monday) at `hour` local time; daily ones every day.
    Returns None for cadence "off".
    """
    if cadence == "off":
        return None
    local_now = now.astimezone(ZoneInfo(timezone))
    # fold=0: when the clocks go back, the hour that happens twice counts at its first pass.
    slot = local_now.replace(hour=hour, minute=0, second=0, microsecond=0, fold=0)
    # Arithmetic on a datetime in one zone moves its wall clock: days earlier is the same
    # local hour, whatever the offset was then (it is worked out from the new date).
    if cadence == "weekly":
        slot -= timedelta(days=(slot.weekday() - weekday) % 7)
    if slot > local_now:
        slot -= window(cadence)
    return slot


def next_digest_slot(
    now: datetime, cadence: str, weekday: int, hour: int, timezone: str
) -> datetime | None:
    """The first digest time after `now`: the slot after `digest_slot`'s, a week or a day
    later on the wall clock (so across a DST change it keeps its local hour)."""
    latest = digest_slot(now, cadence, weekday, hour, timezone)
    if latest is None:
        return None
    return latest + window(cadence)
