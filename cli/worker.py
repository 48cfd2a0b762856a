"""`trendbot worker`: a poll worker beside the bot, for a PostgreSQL database.

Start any number of them; each claims due feeds under its own lease (`jobs/worker.py`).
SIGTERM or Ctrl-C finishes the batch under way, releases its feeds and exits.
"""

from __future__ import annotations

import asyncio
import logging
import signal
from typing import Annotated

import typer

from config.settings import load_settings
from jobs.runtime import open_service
from jobs.worker import DEFAULT_BATCH, DEFAULT_INTERVAL, run_worker

__all__ = ["worker"]

SQLITE_REFUSAL = (
    "trendbot: `trendbot worker` needs PostgreSQL (DATABASE_URL=postgresql+asyncpg://...): "
    "on SQLite the bot polls the feeds itself, in one process"
)


def worker(
    interval: Annotated[
        float, typer.Option(min=0.1, help="Seconds between looks for due feeds when none is due")
    ] = DEFAULT_INTERVAL,
    batch: Annotated[
        int, typer.Option(min=1, help="Feeds claimed at a time (each under this worker's lease)")
    ] = DEFAULT_BATCH,
) -> None:
    """Poll due feeds until stopped, sharing them with other workers (PostgreSQL only)."""
    settings = load_settings()
    if settings.database_url.startswith("sqlite"):
        typer.echo(SQLITE_REFUSAL, err=True)
        raise typer.Exit(2)
    logging.basicConfig(
        format="%(asctime)s %(levelname)s %(name)s: %(message)s", level=logging.INFO
    )
    logging.getLogger("httpx").setLevel(logging.WARNING)

    async def go() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, stop.set)
        service = await open_service(settings)
        try:
            await run_worker(service, stop, interval=interval, batch=batch)
        finally:
            await service.close()

    asyncio.run(go())
