"""Operator work on a whole database: migrate it, copy it into another one.

`copy_database` moves an installation from SQLite to PostgreSQL: every table, parents before
children, in primary-key order, one transaction per batch. A batch is all or nothing and
batches go in key order, so what the target holds is always a prefix of the source: after
an interruption a re-run starts after the target's last key and copies only what is
missing. The counts are compared at the end.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Column, Connection, String, Table, func, select, text, tuple_, update
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.sql.elements import ColumnElement

from trends.store.db import Database, open_database
from trends.store.schema import Base

__all__ = [
    "CopyError",
    "CopyReport",
    "Progress",
    "TableCopy",
    "copy_database",
    "revision_of",
    "upgrade_database",
]

DEFAULT_BATCH = 5000

Progress = Callable[[str, int, int], None]  # (table, rows in the target now, rows in source)


class CopyError(Exception):
    """The copy cannot go on; the message says why, for the operator."""


@dataclass(frozen=True, slots=True)
class TableCopy:
    table: str
    source: int  # rows in the source
    target: int  # rows in the target after the copy
    copied: int  # rows this run inserted

    @property
    def ok(self) -> bool:
        return self.source == self.target


@dataclass(slots=True)
class CopyReport:
    tables: list[TableCopy] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return all(table.ok for table in self.tables)

    @property
    def copied(self) -> int:
        return sum(table.copied for table in self.tables)


# -- migrations -----------------------------------------------------------------------


async def revision_of(database: Database) -> str | None:
    """The alembic revision the schema is at (None: an empty database)."""
    async with database.engine.connect() as connection:
        return await connection.run_sync(_current_revision)


def _current_revision(connection: Connection) -> str | None:
    from alembic.runtime.migration import MigrationContext  # alembic: only when asked

    return MigrationContext.configure(connection).get_current_revision()


async def upgrade_database(url: str) -> tuple[str | None, str | None]:
    """Migrate to the newest revision (what start-up does); the revisions before and after."""
    database = await open_database(url, migrate=False)
    try:
        before = await revision_of(database)
        await database.migrate()
        return before, await revision_of(database)
    finally:
        await database.close()


# -- copying ----------------------------------------------------------------------------


async def copy_database(
    source_url: str,
    target_url: str,
    *,
    batch: int = DEFAULT_BATCH,
    progress: Progress | None = None,
) -> CopyReport:
    """Copy every row of `source_url` that `target_url` lacks; both are migrated first."""
    if source_url == target_url:
        raise CopyError("the source and the target are the same database")
    source = await open_database(source_url)
    try:
        target = await open_database(target_url)
        try:
            report = CopyReport()
            for table in Base.metadata.sorted_tables:  # parents before children
                report.tables.append(await _copy_table(source, target, table, batch, progress))
            if target.dialect == "postgresql":
                await _advance_sequences(target)
            return report
        finally:
            await target.close()
    finally:
        await source.close()


async def _copy_table(
    source: Database, target: Database, table: Table, batch: int, progress: Progress | None
) -> TableCopy:
    key = list(table.primary_key.columns)
    async with source.engine.connect() as read:
        total = await _count(read, table)
        async with target.engine.connect() as write:
            before = await _count(write, table)
            last = await _last_key(write, table, key, target.dialect)
        if last is not None:
            await _check_prefix(read, target, table, key, last)
        copied = 0
        while True:
            query = select(table).order_by(*key).limit(batch)
            if last is not None:
                query = query.where(tuple_(*key) > tuple_(*last))
            rows = [dict(row) for row in (await read.execute(query)).mappings()]
            if not rows:
                break
            async with target.engine.begin() as write:  # one batch, one transaction
                await write.execute(table.insert(), _without_forward_references(table, rows))
            copied += len(rows)
            last = tuple(rows[-1][column.name] for column in key)
            if progress is not None:
                progress(table.name, before + copied, total)
        await _restore_forward_references(read, target, table)
    async with target.engine.connect() as write:
        after = await _count(write, table)
    return TableCopy(table.name, total, after, copied)


async def _count(connection: AsyncConnection, table: Table) -> int:
    return int(await connection.scalar(select(func.count()).select_from(table)) or 0)


async def _last_key(
    connection: AsyncConnection, table: Table, key: list[Column[Any]], dialect: str
) -> tuple[Any, ...] | None:
    # Text keys in byte order, as SQLite sorts them: a PostgreSQL locale would sort otherwise.
    order = [_bytewise(column, dialect).desc() for column in key]
    row = (await connection.execute(select(*key).order_by(*order).limit(1))).first()
    return tuple(row) if row is not None else None


def _bytewise(column: Column[Any], dialect: str) -> ColumnElement[Any]:
    if dialect == "postgresql" and isinstance(column.type, String):
        return column.collate("C")
    return column


async def _check_prefix(
    read: AsyncConnection,
    target: Database,
    table: Table,
    key: list[Column[Any]],
    last: Sequence[Any],
) -> None:
    """The target's last row must be the source's row of that key, else it holds other data
    (the bot was started on it, say) and copying on would mix two installations."""
    where = [column == value for column, value in zip(key, last, strict=True)]
    mine = (await read.execute(select(table).where(*where))).mappings().first()
    async with target.engine.connect() as write:
        theirs = (await write.execute(select(table).where(*where))).mappings().first()
    if mine is None or dict(mine) != _with_forward_references(table, dict(mine), theirs):
        raise CopyError(
            f"table {table.name}: the target holds rows that are not the source's; "
            "copy into an empty database (or one an earlier copy of this source filled)"
        )


def _self_references(table: Table) -> list[tuple[str, str]]:
    """(column, referenced column) of foreign keys into the table itself (posts.cluster_id)."""
    return [
        (fk.parent.name, fk.column.name) for fk in table.foreign_keys if fk.column.table is table
    ]


def _without_forward_references(table: Table, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Rows with references to rows not yet copied (a later key) set to NULL for now;
    `_restore_forward_references` fills them in once the whole table is there."""
    # Even a reference into the same batch: the driver may split a batch into statements.
    links = _self_references(table)
    if not links:
        return rows
    out = []
    for row in rows:
        for column, referenced in links:
            value = row[column]
            if value is not None and value > row[referenced]:
                row = {**row, column: None}
        out.append(row)
    return out


def _with_forward_references(
    table: Table, mine: dict[str, Any], theirs: Any
) -> dict[str, Any] | None:
    """The target's row as it will be once forward references are restored (for comparing)."""
    if theirs is None:
        return None
    row = dict(theirs)
    for column, _ in _self_references(table):
        if row[column] is None:
            row[column] = mine[column]
    return row


async def _restore_forward_references(
    read: AsyncConnection, target: Database, table: Table
) -> None:
    """Set the self-references left NULL while copying; idempotent, so a re-run repairs them."""
    for column, referenced in _self_references(table):
        parent, child = table.c[column], table.c[referenced]
        pairs = (
            await read.execute(select(child, parent).where(parent.is_not(None), parent > child))
        ).all()
        if not pairs:
            continue
        async with target.engine.begin() as write:
            for own, reference in pairs:
                await write.execute(
                    update(table).where(child == own, parent.is_(None)).values({column: reference})
                )


async def _advance_sequences(target: Database) -> None:
    """Rows came with their ids, so PostgreSQL's id sequences must continue after them."""
    async with target.engine.begin() as write:
        for table in Base.metadata.sorted_tables:
            if table.autoincrement_column is None:  # keys such as preferences.subscriber_id
                continue
            name, column = table.name, table.autoincrement_column.name
            await write.execute(
                text(
                    f"SELECT setval(pg_get_serial_sequence('{name}', '{column}'), "
                    f'COALESCE(MAX("{column}"), 1), MAX("{column}") IS NOT NULL) FROM "{name}"'
                )
            )
