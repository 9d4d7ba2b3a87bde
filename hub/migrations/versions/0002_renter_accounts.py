"""Renter accounts: ``hub_user.renter_id`` links a renter-role user to the renter it books for.

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
    op.add_column("hub_user", sa.Column("renter_id", sa.String(), nullable=True))
    op.create_index(op.f("ix_hub_user_renter_id"), "hub_user", ["renter_id"], unique=False)
    op.create_foreign_key(
        op.f("fk_hub_user_renter_id_renter"), "hub_user", "renter", ["renter_id"], ["id"]
    )


def downgrade() -> None:
    op.drop_constraint(op.f("fk_hub_user_renter_id_renter"), "hub_user", type_="foreignkey")
    op.drop_index(op.f("ix_hub_user_renter_id"), table_name="hub_user")
    op.drop_column("hub_user", "renter_id")
