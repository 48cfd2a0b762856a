"""stories with members: one link per feed, preferred feeds, text length

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-03 13:40:00

The same page reached through a second feed is stored as that feed's post, a member of the
story, instead of being dropped: a canonical link and a content hash are now unique within
a feed, not across all of them (indexed for the cross-feed lookups). `feeds.preferred`
breaks a tie between members published at the same moment; `posts.text_chars` (the
cleaned body's length) breaks the next one.

On SQLite the posts table is recreated (batch mode), which drops the full-text triggers of
0003: they are created again here. `Database.migrate` turns SQLite's foreign keys off while
it runs, so dropping the old table cascades to none of the rows that refer to it.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

# The names 0001's unnamed unique constraints got: PostgreSQL names them itself, SQLite
# reflects them without a name, so batch mode is told what to call them.
_SQLITE_NAMES = {"uq": "uq_%(table_name)s_%(column_0_name)s"}
_OLD_UNIQUE = {
    "sqlite": ("uq_posts_canonical_link", "uq_posts_content_hash"),
    "postgresql": ("posts_canonical_link_key", "posts_content_hash_key"),
}
_TRIGGERS = (
    "CREATE TRIGGER posts_fts_insert AFTER INSERT ON posts BEGIN "
    "INSERT INTO posts_fts(rowid, title, summary) VALUES (new.id, new.title, new.summary); END",
    "CREATE TRIGGER posts_fts_delete AFTER DELETE ON posts BEGIN "
    "INSERT INTO posts_fts(posts_fts, rowid, title, summary) "
    "VALUES ('delete', old.id, old.title, old.summary); END",
    "CREATE TRIGGER posts_fts_update AFTER UPDATE OF title, summary ON posts BEGIN "
    "INSERT INTO posts_fts(posts_fts, rowid, title, summary) "
    "VALUES ('delete', old.id, old.title, old.summary); "
    "INSERT INTO posts_fts(rowid, title, summary) VALUES (new.id, new.title, new.summary); END",
)


def upgrade() -> None:
    dialect = op.get_bind().dialect.name
    # A plain ADD COLUMN: SQLite need not rebuild the feeds table for it.
    op.add_column(
        "feeds", sa.Column("preferred", sa.Boolean(), nullable=False, server_default=sa.false())
    )
    with op.batch_alter_table("posts", naming_convention=_SQLITE_NAMES) as batch_op:
        batch_op.add_column(
            sa.Column("text_chars", sa.Integer(), nullable=False, server_default="0")
        )
        for name in _OLD_UNIQUE.get(dialect, _OLD_UNIQUE["postgresql"]):
            batch_op.drop_constraint(name, type_="unique")
        batch_op.create_unique_constraint(
            "uq_posts_feed_canonical_link", ["feed_id", "canonical_link"]
        )
        batch_op.create_unique_constraint("uq_posts_feed_content_hash", ["feed_id", "content_hash"])
        batch_op.create_index("ix_posts_canonical_link", ["canonical_link"])
        batch_op.create_index("ix_posts_content_hash", ["content_hash"])
    if dialect == "sqlite":
        _recreate_search_triggers()


def downgrade() -> None:
    dialect = op.get_bind().dialect.name
    with op.batch_alter_table("posts", naming_convention=_SQLITE_NAMES) as batch_op:
        batch_op.drop_index("ix_posts_content_hash")
        batch_op.drop_index("ix_posts_canonical_link")
        batch_op.drop_constraint("uq_posts_feed_content_hash", type_="unique")
        batch_op.drop_constraint("uq_posts_feed_canonical_link", type_="unique")
        batch_op.create_unique_constraint(_OLD_UNIQUE["sqlite"][0], ["canonical_link"])
        batch_op.create_unique_constraint(_OLD_UNIQUE["sqlite"][1], ["content_hash"])
        batch_op.drop_column("text_chars")
    with op.batch_alter_table("feeds") as batch_op:  # SQLite rebuilds it to drop a column
        batch_op.drop_column("preferred")
    if dialect == "sqlite":
        _recreate_search_triggers()


def _recreate_search_triggers() -> None:
    for name in ("posts_fts_update", "posts_fts_delete", "posts_fts_insert"):
        op.execute(f"DROP TRIGGER IF EXISTS {name}")
    for trigger in _TRIGGERS:
        op.execute(trigger)
    op.execute("INSERT INTO posts_fts(posts_fts) VALUES ('rebuild')")
