"""Snapshot bootstrap progress: the snapshot being applied and the cursor of its next page.

``sync_state.snapshot_as_of`` and ``snapshot_cursor`` are set with each applied page and
cleared with the last one (which also sets ``pull_checkpoint`` to ``as_of``), so a bootstrap
cut short resumes where it stopped (``edge.sync_bootstrap``).

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
    with op.batch_alter_table("sync_state", schema=None) as batch_op:
        batch_op.add_column(sa.Column("snapshot_as_of", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("snapshot_cursor", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("sync_state", schema=None) as batch_op:
        batch_op.drop_column("snapshot_cursor")
        batch_op.drop_column("snapshot_as_of")
