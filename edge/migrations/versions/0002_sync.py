"""sync with the hub: link state, conflicts, booking payment and origin

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("booking", schema=None) as batch_op:
        batch_op.add_column(sa.Column("paid", sa.Boolean(), nullable=False, server_default="0"))
        batch_op.add_column(sa.Column("origin_node", sa.Text(), nullable=True))
    op.create_table(
        "conflict",
        sa.Column("id", sa.Text(), nullable=False),
        sa.Column("keeper_id", sa.Text(), nullable=False),
        sa.Column("loser_id", sa.Text(), nullable=False),
        sa.Column("rule", sa.Text(), nullable=False),
        sa.Column("status", sa.Text(), nullable=False),
        sa.Column("resolution", sa.Text(), nullable=True),
        sa.Column("created_at", sa.Text(), nullable=False),
        sa.Column("resolved_at", sa.Text(), nullable=True),
        sa.Column("resolved_by", sa.Text(), nullable=True),
        sa.Column("updated_hlc", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("conflict", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_conflict_keeper_id"), ["keeper_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_conflict_loser_id"), ["loser_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_conflict_status"), ["status"], unique=False)
    op.create_table(
        "sync_state",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("hub_url", sa.Text(), nullable=True),
        sa.Column("generation", sa.Text(), nullable=False),
        sa.Column("enrolled_at", sa.Text(), nullable=True),
        sa.Column("pushed_seq", sa.Integer(), nullable=False),
        sa.Column("pull_checkpoint", sa.Integer(), nullable=False),
        sa.Column("online", sa.Boolean(), nullable=False),
        sa.Column("offline_since", sa.Text(), nullable=True),
        sa.Column("last_attempt_at", sa.Text(), nullable=True),
        sa.Column("last_push_at", sa.Text(), nullable=True),
        sa.Column("last_pull_at", sa.Text(), nullable=True),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("clock_offset_ms", sa.Integer(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.execute(  # every database has its link row; a new generation id per database
        "INSERT INTO sync_state (id, generation, pushed_seq, pull_checkpoint, online, failures)"
        " VALUES (1, lower(hex(randomblob(16))), 0, 0, 0, 0)"
    )


def downgrade() -> None:
    op.drop_table("sync_state")
    with op.batch_alter_table("conflict", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_conflict_status"))
        batch_op.drop_index(batch_op.f("ix_conflict_loser_id"))
        batch_op.drop_index(batch_op.f("ix_conflict_keeper_id"))
    op.drop_table("conflict")
    with op.batch_alter_table("booking", schema=None) as batch_op:
        batch_op.drop_column("origin_node")
        batch_op.drop_column("paid")
