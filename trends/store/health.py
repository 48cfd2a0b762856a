"""What /healthz asks the database: is it there, with our schema, and when did work last happen."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select, text

from trends.store import broadcasts
from trends.store.db import Database
from trends.store.schema import FeedRow

__all__ = ["StoreHealth", "check"]


@dataclass(frozen=True, slots=True)
class StoreHealth:
    reachable: bool
    revision: str | None = None  # the alembic revision the schema is at
    error: str | None = None  # why it is not reachable, one line
    last_feed_check: datetime | None = None  # newest success or failure of any feed
    last_broadcast: datetime | None = None  # when the newest broadcast finished


async def check(db: Database, timeout: float = 3.0) -> StoreHealth:
    """Read the schema's revision and the last activity; never raises.

    The revision, not `SELECT 1`: a SQLite file deleted under the process comes back as an
    empty new file that answers `SELECT 1` but holds none of the data.
    """
    try:
        return await asyncio.wait_for(_read(db), timeout)
    except TimeoutError:
        return StoreHealth(False, error=f"no answer within {timeout:g} s")
    except Exception as exc:  # any driver error means the same to /healthz: not reachable
        return StoreHealth(False, error=f"{type(exc).__name__}: {exc}".splitlines()[0][:300])


async def _read(db: Database) -> StoreHealth:
    async with db.new_session() as session:
        revision = await session.scalar(text("SELECT version_num FROM alembic_version"))
        checked = (
            await session.execute(
                select(func.max(FeedRow.last_success_at), func.max(FeedRow.last_error_at))
            )
        ).one()
        last = await broadcasts.latest(session)
    times = [moment for moment in checked if moment is not None]
    return StoreHealth(
        True,
        revision=revision,
        last_feed_check=max(times) if times else None,
        last_broadcast=last.finished_at if last is not None else None,
    )
