"""Feed horizon: ``site.feed_horizon`` and an index to find a feed row's later versions.

``prep-hub compact-feed`` removes superseded rows and old tombstones from the feed and raises
the site's horizon; a pull below it answers ``snapshot_required``.

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column(
        "site",
        sa.Column("feed_horizon", sa.BigInteger(), server_default=sa.text("0"), nullable=False),
    )
    op.create_index(
        "ix_feed_site_entity", "feed", ["site_id", "entity", "entity_id", "hub_seq"], unique=False
    )


def downgrade() -> None:
    op.drop_index("ix_feed_site_entity", table_name="feed")
    op.drop_column("site", "feed_horizon")
