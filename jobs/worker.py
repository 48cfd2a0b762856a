"""`trendbot worker`: poll due feeds, batch after batch, until told to stop.

Each batch is `service.feeds.poll`, the same call as the bot's poll tick: it claims up to
`batch` due feeds under this process's lease, so any number of workers (and the bot) share
the feeds without fetching one twice at once. When nothing is due, the worker sleeps
`interval` seconds, or until `stop` is set.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from jobs.poll import log_poll
from trends.ingest.report import PollReport
from trends.service import TrendService

__all__ = ["DEFAULT_BATCH", "DEFAULT_INTERVAL", "run_worker"]

log = logging.getLogger(__name__)

DEFAULT_INTERVAL = 30.0  # seconds between looks when nothing is due
# Feeds claimed at once: a share small enough that other workers find due feeds too, and
# large enough to keep one poll's ten concurrent fetches busy.
DEFAULT_BATCH = 20


async def run_worker(
    service: TrendService,
    stop: asyncio.Event,
    *,
    interval: float = DEFAULT_INTERVAL,
    batch: int = DEFAULT_BATCH,
) -> int:
    """Poll until `stop` is set; how many feeds this worker polled. A batch under way is
    finished (and its leases released) before the worker stops."""
    polled = 0
    log.info("worker %s: polling due feeds, %d at a time", service.owner, batch)
    while not stop.is_set():
        try:
            report: PollReport = await service.feeds.poll(only_due=True, limit=batch)
        except Exception:  # the database away for a moment: the next look tries again
            log.exception("poll failed; trying again in %.0f s", interval)
            report = PollReport(feeds=[])
        log_poll(report)
        polled += len(report.feeds)
        if len(report.feeds) < batch:  # nothing more is due now: wait for the next look
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), interval)
    log.info("worker %s: stopped after %d feeds", service.owner, polled)
    return polled
