"""posts.search_tokens keep Chinese pairs in order: a longer Chinese term is a phrase

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-06 20:00:00

A Chinese search term of three characters or more was looked up by its pairs, then checked
as a substring of every post that had them all: each such post's title and summary read,
most of them from disk when the cache is cold. The tokens now keep the pairs of each run of
Chinese characters in order, repeats and all, with a break between runs
(trends.strings.search_tokens), so SQLite's FTS5 answers the term as a phrase, from the
index alone. Stored posts are filled in again and the index rebuilt once, not row by row.

PostgreSQL's token vector keeps no order (array_to_tsvector) and still checks such a term
in the rows, so its posts are left as they are: rewriting every row would buy it nothing.
"""

from __future__ import annotations

from alembic import op

from trends.store.migrations.fill import fill_search_tokens

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

_UPDATE_TRIGGER = (
    "CREATE TRIGGER posts_tokens_update AFTER UPDATE OF search_tokens ON posts BEGIN "
    "INSERT INTO posts_tokens(posts_tokens, rowid, search_tokens) "
    "VALUES ('delete', old.id, old.search_tokens); "
    "INSERT INTO posts_tokens(rowid, search_tokens) VALUES (new.id, new.search_tokens); END"
)


def upgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":
        return
    op.execute("DROP TRIGGER IF EXISTS posts_tokens_update")
    fill_search_tokens(op.get_bind())
    op.execute(_UPDATE_TRIGGER)
    op.execute("INSERT INTO posts_tokens(posts_tokens) VALUES ('rebuild')")


def downgrade() -> None:
    # Revision 0010's search reads the tokens as a set and checks longer Chinese terms in
    # the rows: tokens in order are still right for it.
    pass
