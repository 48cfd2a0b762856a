"""posts full-text search (SQLite FTS5, trigram tokenizer)

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-30 10:12:00.000000

SQLite only: an external-content FTS5 table over posts.title and posts.summary, kept in step
by triggers, and filled from the existing rows. The trigram tokenizer indexes every run of
three characters, so Chinese (which has no spaces between words) is searchable by substring.
PostgreSQL searches with ILIKE for now (trends/store/search.py) and needs nothing here.

A later batch migration that recreates the posts table drops these triggers with it: such a
migration must create them again (see _TRIGGERS).
"""

from __future__ import annotations

from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

_TABLE = (
    "CREATE VIRTUAL TABLE posts_fts USING fts5("
    "title, summary, content='posts', content_rowid='id', tokenize='trigram')"
)
_DELETE_OLD = (
    "INSERT INTO posts_fts(posts_fts, rowid, title, summary) "
    "VALUES ('delete', old.id, old.title, old.summary);"
)
_INSERT_NEW = (
    "INSERT INTO posts_fts(rowid, title, summary) VALUES (new.id, new.title, new.summary);"
)
_TRIGGERS = (
    f"CREATE TRIGGER posts_fts_insert AFTER INSERT ON posts BEGIN {_INSERT_NEW} END",
    f"CREATE TRIGGER posts_fts_delete AFTER DELETE ON posts BEGIN {_DELETE_OLD} END",
    "CREATE TRIGGER posts_fts_update AFTER UPDATE OF title, summary ON posts "
    f"BEGIN {_DELETE_OLD} {_INSERT_NEW} END",
)


def upgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":
        return
    op.execute(_TABLE)
    for trigger in _TRIGGERS:
        op.execute(trigger)
    # Index the posts stored before this revision.
    op.execute("INSERT INTO posts_fts(posts_fts) VALUES ('rebuild')")


def downgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":
        return
    for name in ("posts_fts_update", "posts_fts_delete", "posts_fts_insert"):
        op.execute(f"DROP TRIGGER IF EXISTS {name}")
    op.execute("DROP TABLE IF EXISTS posts_fts")
