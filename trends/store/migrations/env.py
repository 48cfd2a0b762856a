"""Alembic environment: runs on the connection that `Database.migrate` hands over."""

from __future__ import annotations

from alembic import context

from trends.store.schema import Base

connection = context.config.attributes.get("connection")
if connection is None:  # pragma: no cover - migrations always run through Database.migrate
    raise RuntimeError("run migrations through trends.store.db.Database.migrate()")

context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    render_as_batch=True,  # SQLite needs batch mode for ALTER TABLE
)
with context.begin_transaction():
    context.run_migrations()
