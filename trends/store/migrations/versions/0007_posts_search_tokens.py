"""posts.search_tokens: one word index for /search on every database

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-03 17:10:00

Trigram indexes (FTS5 on SQLite, pg_trgm on PostgreSQL) could not serve a term shorter
than three characters ("模型", "AI" scanned every post); pg_trgm makes no trigrams of
Chinese under the C locale (a four-character Chinese search read the whole index); and a
common English word's trigrams matched seven times the posts that had it. A post now
stores its search tokens (trends.strings.search_tokens: its Latin words and its pairs of
adjacent Chinese characters), indexed as whole tokens: an FTS5 table with the unicode61
tokenizer on SQLite, a GIN index over them as a tsvector on PostgreSQL. Stored posts are
filled in, and the trigram indexes, which nothing reads any more, are dropped (they cost
every insert).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from trends.store.migrations.fill import fill_search_tokens

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

_SQLITE_TOKENS = (
    "CREATE VIRTUAL TABLE posts_tokens USING fts5("
    "search_tokens, content='posts', content_rowid='id', tokenize='unicode61')",
    "CREATE TRIGGER posts_tokens_insert AFTER INSERT ON posts BEGIN "
    "INSERT INTO posts_tokens(rowid, search_tokens) VALUES (new.id, new.search_tokens); END",
    "CREATE TRIGGER posts_tokens_delete AFTER DELETE ON posts BEGIN "
    "INSERT INTO posts_tokens(posts_tokens, rowid, search_tokens) "
    "VALUES ('delete', old.id, old.search_tokens); END",
    "CREATE TRIGGER posts_tokens_update AFTER UPDATE OF search_tokens ON posts BEGIN "
    "INSERT INTO posts_tokens(posts_tokens, rowid, search_tokens) "
    "VALUES ('delete', old.id, old.search_tokens); "
    "INSERT INTO posts_tokens(rowid, search_tokens) VALUES (new.id, new.search_tokens); END",
)
# trends/store/search.py queries with this expression, so the planner uses the index.
_POSTGRES_INDEX = (
    "CREATE INDEX ix_posts_search_tokens ON posts "
    "USING gin (array_to_tsvector(string_to_array(search_tokens, ' ')))"
)
_TRIGRAM_INDEXES = {"ix_posts_title_trgm": "title", "ix_posts_summary_trgm": "summary"}
_FTS_TRIGGERS = ("posts_fts_update", "posts_fts_delete", "posts_fts_insert")


def upgrade() -> None:
    op.add_column("posts", sa.Column("search_tokens", sa.Text(), nullable=True))
    fill_search_tokens(op.get_bind())
    if op.get_bind().dialect.name == "sqlite":
        for trigger in _FTS_TRIGGERS:
            op.execute(f"DROP TRIGGER IF EXISTS {trigger}")
        op.execute("DROP TABLE IF EXISTS posts_fts")
        for statement in _SQLITE_TOKENS:
            op.execute(statement)
        op.execute("INSERT INTO posts_tokens(posts_tokens) VALUES ('rebuild')")
    elif op.get_bind().dialect.name == "postgresql":
        for name in _TRIGRAM_INDEXES:
            op.execute(f"DROP INDEX IF EXISTS {name}")
        op.execute(_POSTGRES_INDEX)


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        for name in ("posts_tokens_update", "posts_tokens_delete", "posts_tokens_insert"):
            op.execute(f"DROP TRIGGER IF EXISTS {name}")
        op.execute("DROP TABLE IF EXISTS posts_tokens")
        # Revision 0003's trigram table and its triggers, filled again.
        op.execute(
            "CREATE VIRTUAL TABLE posts_fts USING fts5("
            "title, summary, content='posts', content_rowid='id', tokenize='trigram')"
        )
        old = (
            "INSERT INTO posts_fts(posts_fts, rowid, title, summary) "
            "VALUES ('delete', old.id, old.title, old.summary);"
        )
        new = (
            "INSERT INTO posts_fts(rowid, title, summary) VALUES (new.id, new.title, new.summary);"
        )
        op.execute(f"CREATE TRIGGER posts_fts_insert AFTER INSERT ON posts BEGIN {new} END")
        op.execute(f"CREATE TRIGGER posts_fts_delete AFTER DELETE ON posts BEGIN {old} END")
        op.execute(
            "CREATE TRIGGER posts_fts_update AFTER UPDATE OF title, summary ON posts "
            f"BEGIN {old} {new} END"
        )
        op.execute("INSERT INTO posts_fts(posts_fts) VALUES ('rebuild')")
    elif op.get_bind().dialect.name == "postgresql":
        op.execute("DROP INDEX IF EXISTS ix_posts_search_tokens")
        for name, column in _TRIGRAM_INDEXES.items():
            op.execute(f"CREATE INDEX {name} ON posts USING gin ({column} gin_trgm_ops)")
    op.drop_column("posts", "search_tokens")
