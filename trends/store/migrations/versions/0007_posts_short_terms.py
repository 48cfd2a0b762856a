"""posts.short_terms: an index for one- and two-character searches

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-03 17:10:00

Trigram indexes (FTS5 on SQLite, pg_trgm on PostgreSQL) cannot serve a term shorter than
three characters, so "模型" or "AI" scanned every post. This column holds a post's short
words (trends.strings.short_terms: Latin words of one or two characters, pairs of adjacent
Chinese characters), indexed as whole tokens: an FTS5 table with the unicode61 tokenizer on
SQLite, a GIN index over the words as an array on PostgreSQL. Stored posts are filled in.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from trends.strings import short_terms

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

_BATCH = 5000
_SQLITE = (
    "CREATE VIRTUAL TABLE posts_short USING fts5("
    "short_terms, content='posts', content_rowid='id', tokenize='unicode61')",
    "CREATE TRIGGER posts_short_insert AFTER INSERT ON posts "
    "BEGIN INSERT INTO posts_short(rowid, short_terms) VALUES (new.id, new.short_terms); END",
    "CREATE TRIGGER posts_short_delete AFTER DELETE ON posts BEGIN "
    "INSERT INTO posts_short(posts_short, rowid, short_terms) "
    "VALUES ('delete', old.id, old.short_terms); END",
    "CREATE TRIGGER posts_short_update AFTER UPDATE OF short_terms ON posts BEGIN "
    "INSERT INTO posts_short(posts_short, rowid, short_terms) "
    "VALUES ('delete', old.id, old.short_terms); "
    "INSERT INTO posts_short(rowid, short_terms) VALUES (new.id, new.short_terms); END",
)
# The expression trends/store/search.py queries with, so the planner can use the index.
POSTGRES_INDEX = (
    "CREATE INDEX IF NOT EXISTS ix_posts_short_terms ON posts "
    "USING gin (string_to_array(short_terms, ' '))"
)


def upgrade() -> None:
    op.add_column("posts", sa.Column("short_terms", sa.Text(), nullable=True))
    _fill_stored_posts()
    if op.get_bind().dialect.name == "sqlite":
        for statement in _SQLITE:
            op.execute(statement)
        op.execute("INSERT INTO posts_short(posts_short) VALUES ('rebuild')")
    elif op.get_bind().dialect.name == "postgresql":
        op.execute(POSTGRES_INDEX)


def _fill_stored_posts() -> None:
    connection = op.get_bind()
    posts = sa.table(
        "posts",
        sa.column("id", sa.Integer),
        sa.column("title", sa.Text),
        sa.column("summary", sa.Text),
        sa.column("short_terms", sa.Text),
    )
    last = 0
    while rows := connection.execute(
        sa.select(posts.c.id, posts.c.title, posts.c.summary)
        .where(posts.c.id > last)
        .order_by(posts.c.id)
        .limit(_BATCH)
    ).all():
        connection.execute(
            posts.update()
            .where(posts.c.id == sa.bindparam("post_id"))
            .values(short_terms=sa.bindparam("terms")),
            [
                {"post_id": id_, "terms": short_terms(title, summary)}
                for id_, title, summary in rows
            ],
        )
        last = rows[-1][0]


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        for name in ("posts_short_update", "posts_short_delete", "posts_short_insert"):
            op.execute(f"DROP TRIGGER IF EXISTS {name}")
        op.execute("DROP TABLE IF EXISTS posts_short")
    elif op.get_bind().dialect.name == "postgresql":
        op.execute("DROP INDEX IF EXISTS ix_posts_short_terms")
    op.drop_column("posts", "short_terms")
