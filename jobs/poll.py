"""Scheduled work: poll the feeds whose next check has come."""

from __future__ import annotations

import logging

from trends.ingest.report import PollReport
from trends.service import TrendService

__all__ = ["log_poll", "poll_due_feeds"]

log = logging.getLogger(__name__)


async def poll_due_feeds(service: TrendService) -> PollReport:
    report = await service.feeds.poll(only_due=True)
    log_poll(report)
    return report


def log_poll(report: PollReport) -> None:
    if report.feeds:
        log.info(
            "polled %d feeds: %d new posts, %d duplicates, %d failed",
            len(report.feeds),
            report.new_posts,
            report.duplicates,
            report.count("failed"),
        )
