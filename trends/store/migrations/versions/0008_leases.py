"""leases: feeds claimed by one poller at a time, and the one sender

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-03 17:20:00

`feeds.lease_owner` and `feeds.lease_expires_at` mark a feed a poll has claimed (the bot's
own poll or a `trendbot worker`); another poller skips it until the lease is released or
has expired, so a killed worker's feeds pass to the others. The `leases` table holds named
process-wide leases: `sender`, held by the one process that sends digests.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Plain ADD COLUMNs: SQLite need not rebuild the feeds table for them.
    op.add_column("feeds", sa.Column("lease_owner", sa.String(length=100), nullable=True))
    op.add_column("feeds", sa.Column("lease_expires_at", sa.DateTime(timezone=True), nullable=True))
    op.create_table(
        "leases",
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("owner", sa.String(length=100), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("name"),
    )


def downgrade() -> None:
    op.drop_table("leases")
    with op.batch_alter_table("feeds") as batch_op:
        batch_op.drop_column("lease_expires_at")
        batch_op.drop_column("lease_owner")
