"""PostgreSQL keeps the frequencies of the 10,000 commonest search tokens, not 1,000

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-07 02:10:00

A search asks PostgreSQL's statistics of the token vector (ANALYZE's most common elements)
whether a word is too common to count (trends.store.search). By default they hold the
1,000 commonest tokens, and an archive's words and Chinese pairs are far more numerous: a
word in one post of fifty could be missing. A statistics target of 1,000 keeps 10,000, so
any token in more than about one post of a thousand is there. ANALYZE then samples 300,000
rows instead of 30,000 (a few seconds at a million posts). SQLite has no such statistics.
"""

from __future__ import annotations

from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

_INDEX = "ix_posts_search_tokens"


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"ALTER INDEX {_INDEX} ALTER COLUMN 1 SET STATISTICS 1000")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"ALTER INDEX {_INDEX} ALTER COLUMN 1 SET STATISTICS -1")
