"""posts (id, cluster_id, published_at): /search reads its matches' stories from one index

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-04 20:00:00

/search on SQLite groups every matching post by its story and orders the stories by their
newest report: for a common word at a million posts, 15,000 rowid lookups into the wide
posts table, close to a second when the pages are not cached. A narrow index of exactly
those columns answers the same lookups from a few hundred pages. Without statistics
SQLite's planner prefers the rowid to any index, so the index gets the row that `ANALYZE`
would write for it (an id names one post); a later `ANALYZE` writes the same.

PostgreSQL finds the matches through the GIN index on posts and reads their rows anyway
(a bitmap heap scan), so it gains nothing from the index and gets none.
"""

from __future__ import annotations

from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

_INDEX = "ix_posts_story_newest"


def upgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":
        return
    op.execute("ANALYZE sqlite_schema")  # creates sqlite_stat1 if it is missing
    op.execute(f"DELETE FROM sqlite_stat1 WHERE idx = '{_INDEX}'")
    op.execute(f"INSERT INTO sqlite_stat1 VALUES ('posts', '{_INDEX}', '1000000 1 1 1')")
    op.execute(f"CREATE INDEX {_INDEX} ON posts (id, cluster_id, published_at)")
    # Other connections reload the schema, statistics too, when they see it changed; this
    # one reloads its statistics on an ANALYZE (of a table that leaves the row alone).
    op.execute("ANALYZE sqlite_schema")


def downgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":
        return
    op.execute(f"DELETE FROM sqlite_stat1 WHERE idx = '{_INDEX}'")
    op.execute(f"DROP INDEX {_INDEX}")
