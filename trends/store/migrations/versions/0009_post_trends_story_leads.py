"""post_trends.story_lead: /trend N from one index

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-03 17:40:00

/trend N counted a trend's stories by joining every tagged post to posts for its
cluster_id: a second of work at a million posts. A tag now says whether its post is its
story's first report (cluster_id is fixed when a post is stored), and a partial index of
the leads' tags (trend, published_at, post_id) answers the count and the page by itself.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column(
        "post_trends",
        sa.Column("story_lead", sa.Boolean(), nullable=False, server_default=sa.true()),
    )
    op.execute(
        "UPDATE post_trends SET story_lead = false "
        "WHERE post_id IN (SELECT id FROM posts WHERE cluster_id IS NOT NULL)"
    )
    op.create_index(
        "ix_post_trends_story_leads",
        "post_trends",
        ["trend", "published_at", "post_id"],
        sqlite_where=sa.text("story_lead = 1"),  # as the queries compare it
        postgresql_where=sa.text("story_lead"),
    )


def downgrade() -> None:
    op.drop_index("ix_post_trends_story_leads", table_name="post_trends")
    op.drop_column("post_trends", "story_lead")
