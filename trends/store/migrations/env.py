"""Alembic environment: runs on the connection that `Database.migrate` hands over."""

from __future__ import annotations

from alembic import context

from trends.store.schema import Base

connection = context.config.attributes.get("connection")
if connection is None:  # pragma: no cover - migrations always run through Database.migrate
    raise RuntimeError("run migrations through trends.store.db.Database.migrate()")


def _include_name(name: str | None, type_: str, _parents: object) -> bool:
    # The FTS5 tables and their shadow tables (posts_fts of 0003, posts_tokens of 0007)
    # are raw SQLite DDL that the models don't describe; autogenerate must not drop them.
    return not (
        type_ == "table" and name is not None and name.startswith(("posts_fts", "posts_tokens"))
    )


context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    render_as_batch=True,  # SQLite needs batch mode for ALTER TABLE
    include_name=_include_name,
)
with context.begin_transaction():
    context.run_migrations()
