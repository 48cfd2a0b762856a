"""posts search on PostgreSQL: trigram indexes for ILIKE and word matches

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-03 14:40:00

PostgreSQL only (SQLite has its FTS5 table from 0003). pg_trgm's GIN indexes on title and
summary serve `ILIKE '%term%'` and the `~*` whole-word matches of trends/store/search.py
for English and Chinese terms of three characters or more, instead of a scan of every
post. Shorter terms (AI, 模型) are still answered correctly, by a scan. pg_trgm is a
trusted extension from PostgreSQL 13: the database's owner may create it.
"""

from __future__ import annotations

from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

_INDEXES = {"ix_posts_title_trgm": "title", "ix_posts_summary_trgm": "summary"}


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    for name, column in _INDEXES.items():
        op.execute(f"CREATE INDEX IF NOT EXISTS {name} ON posts USING gin ({column} gin_trgm_ops)")


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for name in _INDEXES:
        op.execute(f"DROP INDEX IF EXISTS {name}")
