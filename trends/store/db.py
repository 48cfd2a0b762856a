"""The database handle: one async engine and a session factory, migrated on open."""

from __future__ import annotations

import asyncio
import fcntl
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import URL, Connection, event, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import (
    AsyncConnection,
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from trends.errors import DatabaseUnavailable

if TYPE_CHECKING:
    from alembic.config import Config

__all__ = ["Database", "open_database", "open_problem"]

_MIGRATIONS = Path(__file__).with_name("migrations")
_LOCK = 0x7472656E64  # "trend": the advisory lock key of start-up on PostgreSQL


class Database:
    """Owns the engine; hand out one `AsyncSession` per task, never shared."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine
        # expire_on_commit=False: reading a row after commit must not trigger lazy I/O.
        self.session = async_sessionmaker(engine, expire_on_commit=False)

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    async def migrate(self) -> None:
        """Bring the schema to the newest alembic revision, one process at a time: two
        processes starting on a fresh database must not both create the tables."""
        async with self.startup_lock(), self.engine.connect() as connection:
            if await _at_head(connection):
                return  # the common start: no alembic to import (a few tenths of a second)
            if self.dialect != "sqlite":
                await connection.run_sync(_upgrade)
                await connection.commit()
                return
            # A migration that rebuilds a table (alembic's batch mode on SQLite) drops the old
            # one, and with foreign keys on that DROP deletes, and so cascades to, every row
            # that refers to it. SQLite's recipe: keys off outside any transaction, checked
            # before the commit.
            await connection.exec_driver_sql("PRAGMA foreign_keys=OFF")
            await connection.commit()
            try:
                await connection.run_sync(_upgrade)
                broken = (await connection.exec_driver_sql("PRAGMA foreign_key_check")).all()
                if broken:
                    raise RuntimeError(f"migration left rows without their parents: {broken[:5]}")
                await connection.commit()
            finally:
                await connection.rollback()  # nothing, after a commit; the half-done upgrade else
                await connection.exec_driver_sql("PRAGMA foreign_keys=ON")
                await connection.commit()

    @asynccontextmanager
    async def startup_lock(self) -> AsyncIterator[None]:
        """One process at a time through start-up work (migrations, the feeds-file sync).

        PostgreSQL: an advisory lock on a connection of its own. SQLite: an exclusive lock on
        a file beside the database (SQLite's own locks can't be held across alembic's work).
        """
        if self.engine.dialect.name == "postgresql":
            async with self.engine.connect() as connection:
                await connection.execute(text("SELECT pg_advisory_lock(:key)"), {"key": _LOCK})
                try:
                    yield
                finally:
                    await connection.execute(
                        text("SELECT pg_advisory_unlock(:key)"), {"key": _LOCK}
                    )
            return
        path = self.engine.url.database
        if self.engine.dialect.name != "sqlite" or not path or path == ":memory:":
            yield
            return
        with open(f"{path}.lock", "a") as lock:
            await asyncio.to_thread(fcntl.flock, lock, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)

    async def close(self) -> None:
        await self.engine.dispose()

    def new_session(self) -> AsyncSession:
        return self.session()


async def open_database(url: str, *, migrate: bool = True) -> Database:
    """The database at `url`, migrated; `DatabaseUnavailable` (one line saying what to do)
    when it can't be opened: a folder that does not exist or can't be written, a file that
    is not a SQLite database, a PostgreSQL server that can't be reached."""
    engine = create_async_engine(url, pool_pre_ping=not url.startswith("sqlite"))
    if engine.dialect.name == "sqlite":
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
    database = Database(engine)
    if migrate:
        try:
            await database.migrate()
        except Exception as exc:
            await engine.dispose()
            if (problem := open_problem(engine.url, exc)) is None:
                raise
            raise DatabaseUnavailable(problem) from exc
    return database


def open_problem(url: URL, exc: BaseException) -> str | None:
    """What an operator should read when opening the database at `url` raised `exc`, or
    None for an error this can't explain."""
    reason = _reason(exc)
    if url.get_backend_name() == "sqlite":
        path = Path(url.database or "")
        folder = path.parent.resolve()
        if not folder.is_dir():
            return (
                f"the database folder {folder} does not exist: create it, or point "
                "DATABASE_URL at a file in a folder that exists"
            )
        if isinstance(exc, PermissionError) or any(
            words in reason for words in ("readonly", "read-only", "unable to open")
        ):
            return (
                f"can't write the database {path} in {folder} ({reason}): make the folder "
                "and the file writable by trendbot, or point DATABASE_URL elsewhere"
            )
        if "not a database" in reason or "malformed" in reason:
            return (
                f"{path} is not a SQLite database, or it is damaged ({reason}): restore it "
                "from a backup, or point DATABASE_URL at a new file"
            )
        return None
    where = f"{url.host or 'localhost'}:{url.port or 5432}"
    if isinstance(exc, OSError) or "connect" in reason.lower():
        return (
            f"can't connect to PostgreSQL at {where} ({reason}): check the host and port "
            "in DATABASE_URL and that the server is running"
        )
    if "authentication" in reason or "does not exist" in reason:  # user, password, database
        return f"PostgreSQL at {where} refused trendbot ({reason}): check DATABASE_URL"
    return None


def _reason(exc: BaseException) -> str:
    """The driver's own words: SQLAlchemy wraps them with SQL and a link to its docs."""
    inner = exc.orig if isinstance(exc, DBAPIError) and exc.orig is not None else exc
    if isinstance(inner, OSError) and inner.strerror:
        return inner.strerror
    return str(inner).splitlines()[0] if str(inner) else type(inner).__name__


_REVISION = re.compile(r"^(down_)?revision\s*=\s*(.*)$", re.MULTILINE)


def _head_revision() -> str | None:
    """The one migration no other names as its parent, read from the files; None when
    that is not a single one (alembic then decides)."""
    revisions: set[str] = set()
    parents: set[str] = set()
    for path in (_MIGRATIONS / "versions").glob("*.py"):
        for down, value in _REVISION.findall(path.read_text(encoding="utf-8")):
            (parents if down else revisions).update(re.findall(r"[\"']([^\"']+)[\"']", value))
    heads = revisions - parents
    return heads.pop() if len(heads) == 1 else None


async def _at_head(connection: AsyncConnection) -> bool:
    try:
        rows = (await connection.exec_driver_sql("SELECT version_num FROM alembic_version")).all()
    except DBAPIError:
        rows = []  # a new database: no version table yet
    await connection.rollback()
    return len(rows) == 1 and rows[0][0] == _head_revision()


def alembic_config(connection: Connection | None = None) -> Config:
    from alembic.config import Config  # alembic is imported only when a migration may run

    config = Config()
    config.set_main_option("script_location", str(_MIGRATIONS))
    config.attributes["connection"] = connection
    return config


def _upgrade(connection: Connection) -> None:
    from alembic import command

    command.upgrade(alembic_config(connection), "head")


def _sqlite_pragmas(dbapi_connection: object, _record: object) -> None:
    # WAL lets the bot read while the poller writes; busy_timeout waits instead of failing.
    cursor = dbapi_connection.cursor()  # type: ignore[attr-defined]
    cursor.execute("PRAGMA journal_mode=WAL")
    # In WAL mode NORMAL loses nothing when the process dies, only on a power cut, and it
    # spares an fsync per commit: the delivery ledger commits after every message.
    cursor.execute("PRAGMA synchronous=NORMAL")
    # Each feed's commit dirties pages all over the LSH band index (32 random keys a post).
    # With SQLite's 2 MB default cache those pages were read again for every feed, and a
    # checkpoint every 1,000 pages wrote the same pages back many times over. 16 MB of
    # cache and a checkpoint every 20,000 pages (an 80 MB WAL at most) let feeds share that
    # work. The cache is per connection and a poll holds up to ten: 64 MB each took a
    # 100,000-post ingest to 690 MB of memory for little more speed.
    cursor.execute("PRAGMA cache_size=-16384")
    cursor.execute("PRAGMA wal_autocheckpoint=20000")
    cursor.execute("PRAGMA busy_timeout=5000")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()
