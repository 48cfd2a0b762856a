"""PostgreSQL indexes runs of three Chinese characters: a longer term reads only its posts

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-07 12:00:00

PostgreSQL looked a Chinese term of three characters or more up by its pairs, then checked
the term in every post that had all of them: at a million posts a four-character term's
three pairs met in 328 posts, each read from disk when the cache was cold, for 19 that had
the term. A second GIN index now holds each post's triples of adjacent Chinese characters,
made by `trendbot_cjk_triples` from the pairs the post's search tokens keep in order (since
revision 0011; a post stored before then is filled in again here, as 0011 did on SQLite).
The term's triples meet in little more than the posts that have it (22 for those 19), and
only those are read. The function works on the tokens, not the text, so it does not depend
on the database's locale (pg_trgm makes no trigrams of Chinese under the C locale).
SQLite answers such a term as a phrase of its token index and needs none of this.
"""

from __future__ import annotations

from alembic import op

from trends.store.migrations.fill import fill_search_tokens

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None

# Each pair of the ordered tokens with the next one, where they overlap by a character
# ("智能" "能模" -> "智能模"); Latin words and the break between runs take no part. Tokens
# all ASCII (an English post) are not split at all (an insert's cost, on bench/query.py's
# archive, a tenth of it Chinese: 16 µs a post instead of 45).
_FUNCTION = r"""
CREATE OR REPLACE FUNCTION trendbot_cjk_triples(tokens text) RETURNS tsvector
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
  SELECT coalesce(array_to_tsvector(array_agg(pair || right(next, 1))), ''::tsvector)
  FROM (
    SELECT pair, lead(pair) OVER (ORDER BY n) AS next
    FROM unnest(string_to_array(tokens, ' ')) WITH ORDINALITY AS t(pair, n)
    WHERE tokens !~ '^[ -~]*$'
  ) AS pairs
  WHERE char_length(pair) = 2 AND char_length(next) = 2
    AND right(pair, 1) = left(next, 1) AND pair !~ '[a-z0-9]'
$$
"""
# trends/store/search.py queries with this expression, so the planner uses the index.
_INDEX = (
    "CREATE INDEX ix_posts_cjk_triples ON posts USING gin (trendbot_cjk_triples(search_tokens))"
)


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    fill_search_tokens(op.get_bind())
    op.execute(_FUNCTION)
    op.execute(_INDEX)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP INDEX IF EXISTS ix_posts_cjk_triples")
        op.execute("DROP FUNCTION IF EXISTS trendbot_cjk_triples(text)")
