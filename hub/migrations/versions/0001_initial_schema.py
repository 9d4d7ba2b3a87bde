"""Initial schema: every hub table, the booking exclusion constraint, append-only audit events.

Revision ID: 0001
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


APPEND_ONLY = ("audit_event",)


def upgrade() -> None:
    # booking_no_overlap compares resource_id (text) with = inside a gist index.
    op.execute("CREATE EXTENSION IF NOT EXISTS btree_gist")
    op.create_table(
        "audit_event",
        sa.Column("node_id", sa.String(), nullable=False),
        sa.Column("seq", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("hlc", sa.String(), nullable=False),
        sa.Column("actor", sa.String(), nullable=False),
        sa.Column("action", sa.String(), nullable=False),
        sa.Column("entity", sa.String(), nullable=False),
        sa.Column("entity_id", sa.String(), nullable=False),
        sa.Column(
            "details", postgresql.JSONB(), server_default=sa.text("'{}'::jsonb"), nullable=False
        ),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("prev_hash", sa.String(), nullable=False),
        sa.Column("hash", sa.String(), nullable=False),
        sa.PrimaryKeyConstraint("node_id", "seq", name=op.f("pk_audit_event")),
    )
    op.create_table(
        "blob",
        sa.Column("sha256", sa.String(), nullable=False),
        sa.Column("size_bytes", sa.BigInteger(), nullable=False),
        sa.Column("received_bytes", sa.BigInteger(), server_default=sa.text("0"), nullable=False),
        sa.Column("complete", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("sha256", name=op.f("pk_blob")),
    )
    op.create_table(
        "booking",
        sa.Column("id", sa.String(), nullable=False),
        sa.Column("site_id", sa.String(), nullable=False),
        sa.Column("resource_id", sa.String(), nullable=False),
        sa.Column("renter_id", sa.String(), nullable=False),
        sa.Column("starts_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ends_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status", sa.String(), nullable=False),
        sa.Column("hold_expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("price_cents", sa.BigInteger(), nullable=False),
        sa.Column(
            "quote", postgresql.JSONB(), server_default=sa.text("'{}'::jsonb"), nullable=False
        ),
        sa.Column("paid", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        sa.Column("confirmed_hlc", sa.String(), nullable=True),
        sa.Column("origin_node", sa.String(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_hlc", sa.String(), nullable=False),
        sa.Column(
            "field_stamps",
            postgresql.JSONB(),
            server_default=sa.text("'{}'::jsonb"),
            nullable=False,
        ),
        postgresql.ExcludeConstraint(
            (sa.column("resource_id"), "="),
            (sa.text("tstzrange(starts_at, ends_at, '[)')"), "&&"),
            where=sa.text("status IN ('hold', 'confirmed', 'checked_in')"),
            using="gist",
            name="booking_no_overlap",
        ),
        sa.CheckConstraint(
            "status IN ('hold', 'confirmed', 'checked_in', 'checked_out', 'cancelled', "
            "'no_show', 'conflict')",
            name=op.f("ck_booking_status"),
        ),
        sa.CheckConstraint("ends_at > starts_at", name=op.f("ck_booking_time_order")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_booking")),
    )
    op.create_index(op.f("ix_booking_renter_id"), "booking", ["renter_id"], unique=False)
    op.create_index("ix_booking_site_starts", "booking", ["site_id", "starts_at"], unique=False)
    op.create_table(
        "check_in",
        sa.Column("id", sa.String(), nullable=False),
        sa.Column("booking_id", sa.String(), nullable=False),
        sa.Column("result", sa.String(), nullable=False),
        sa.Column(
            "verdict", postgresql.JSONB(), server_default=sa.text("'{}'::jsonb"), nullable=False
        ),
        sa.Column("staff_user_id", sa.String(), nullable=False),
        sa.Column("override_reason", sa.String(), nullable=True),
        sa.Column("checked_in_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("checked_out_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_check_in")),
    )
    op.create_index(op.f("ix_check_in_booking_id"), "check_in", ["booking_id"], unique=False)
    op.create_table(
        "conflict",
        sa.Column("id", sa.String(), nullable=False),
        sa.Column("site_id", sa.String(), nullable=False),
        sa.Column("keeper_id", sa.String(), nullable=False),
        sa.Column("loser_id", sa.String(), nullable=False),
        sa.Column("rule", sa.String(), nullable=False),
        sa.Column("status", sa.String(), nullable=False),
        sa.Column("resolution", postgresql.JSONB(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("resolved_by", sa.String(), nullable=True),
        sa.Column("updated_hlc", sa.String(), nullable=False),
        sa.CheckConstraint("status IN ('open', 'resolved')", name=op.f("ck_conflict_status")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_conflict")),
    )
    op.create_index(op.f("ix_conflict_keeper_id"), "conflict", ["keeper_id"], unique=False)
    op.create_index(op.f("ix_conflict_loser_id"), "conflict", ["loser_id"], unique=False)
    op.create_index("ix_conflict_site_status", "conflict", ["site_id", "status"], unique=False)
    op.create_table(
        "document",
        sa.Column("id", sa.String(), nullable=False),
        sa.Column("owner_kind", sa.String(), nullable=False),
        sa.Column("owner_id", sa.String(), nullable=False),
        sa.Column("kind", sa.String(), nullable=False),
        sa.Column("number", sa.String(), nullable=True),
        sa.Column("issuer", sa.String(), nullable=True),
        sa.Column("issued_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("sha256", sa.String(), nullable=False),
        sa.Column("size_bytes", sa.BigInteger(), nullable=False),
        sa.Column("content_type", sa.String(), nullable=False),
        sa.Column("filename", sa.String(), nullable=False),
        sa.Column("review_status", sa.String(), nullable=False),
        sa.Column("reviewed_by", sa.String(), nullable=True),
        sa.Column("reviewed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("review_note", sa.String(), nullable=True),
        sa.Column("uploaded_by", sa.String(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column(
            "field_stamps",
            postgresql.JSONB(),
            server_default=sa.text("'{}'::jsonb"),
            nullable=False,
        ),
        sa.Column("updated_hlc", sa.String(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_document")),
    )
    op.create_index(op.f("ix_document_expires_at"), "document", ["expires_at"], unique=False)
    op.create_index(op.f("ix_document_owner_id"), "document", ["owner_id"], unique=False)
    op.create_index(op.f("ix_document_sha256"), "document", ["sha256"], unique=False)
    op.create_table(
        "feed",
        sa.Column("hub_seq", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("site_id", sa.String(), nullable=False),
        sa.Column("entity", sa.String(), nullable=False),
        sa.Column("entity_id", sa.String(), nullable=False),
        sa.Column("op", sa.String(), nullable=False),
        sa.Column(
            "payload", postgresql.JSONB(), server_default=sa.text("'{}'::jsonb"), nullable=False
        ),
        sa.Column("hlc", sa.String(), nullable=False),
        sa.Column("origin", sa.String(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("hub_seq", name=op.f("pk_feed")),
    )
    op.create_index("ix_feed_site_seq", "feed", ["site_id", "hub_seq"], unique=False)
    op.create_table(
        "reference_bundle",
        sa.Column("version", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column(
            "manifest", postgresql.JSONB(), server_default=sa.text("'{}'::jsonb"), nullable=False
        ),
        sa.Column("signature", sa.String(), nullable=False),
        sa.Column("sha256", sa.String(), nullable=False),
        sa.Column("size_bytes", sa.BigInteger(), nullable=False),
        sa.Column("path", sa.String(), nullable=False),
        sa.Column("published_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("version", name=op.f("pk_reference_bundle")),
    )
    op.create_table(
        "renter",
        sa.Column("id", sa.String(), nullable=False),
        sa.Column("name", sa.String(), nullable=False),
        sa.Column(
            "profile", postgresql.JSONB(), server_default=sa.text("'{}'::jsonb"), nullable=False
        ),
        sa.Column("email_cipher", sa.LargeBinary(), nullable=True),
        sa.Column("email_index", sa.String(), nullable=True),
        sa.Column("phone_cipher", sa.LargeBinary(), nullable=True),
        sa.Column("phone_index", sa.String(), nullable=True),
        sa.Column(
            "field_stamps",
            postgresql.JSONB(),
            server_default=sa.text("'{}'::jsonb"),
            nullable=False,
        ),
        sa.Column("updated_hlc", sa.String(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_renter")),
    )
    op.create_index(op.f("ix_renter_email_index"), "renter", ["email_index"], unique=False)
    op.create_index(op.f("ix_renter_phone_index"), "renter", ["phone_index"], unique=False)
    op.create_table(
        "request_nonce",
        sa.Column("node_id", sa.String(), nullable=False),
        sa.Column("nonce", sa.String(), nullable=False),
        sa.Column("seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("node_id", "nonce", name=op.f("pk_request_nonce")),
    )
    op.create_index(op.f("ix_request_nonce_seen_at"), "request_nonce", ["seen_at"], unique=False)
    op.create_table(
        "site",
        sa.Column("id", sa.String(), nullable=False),
        sa.Column("name", sa.String(), nullable=False),
        sa.Column("jurisdiction", sa.String(), nullable=True),
        sa.Column("timezone", sa.String(), nullable=True),
        sa.Column("address", sa.String(), nullable=True),
        sa.Column("latitude", sa.Float(), nullable=True),
        sa.Column("longitude", sa.Float(), nullable=True),
        sa.Column(
            "profile", postgresql.JSONB(), server_default=sa.text("'{}'::jsonb"), nullable=False
        ),
        sa.Column(
            "field_stamps",
            postgresql.JSONB(),
            server_default=sa.text("'{}'::jsonb"),
            nullable=False,
        ),
        sa.Column("updated_hlc", sa.String(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_site")),
    )
    op.create_index(op.f("ix_site_name"), "site", ["name"], unique=False)
    op.create_table(
        "enrollment_token",
        sa.Column("id", sa.String(), nullable=False),
        sa.Column("token_hash", sa.String(), nullable=False),
        sa.Column("site_id", sa.String(), nullable=False),
        sa.Column("site_name", sa.String(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("used_by_node", sa.String(), nullable=True),
        sa.ForeignKeyConstraint(
            ["site_id"], ["site.id"], name=op.f("fk_enrollment_token_site_id_site")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_enrollment_token")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_enrollment_token_token_hash")),
    )
    op.create_index(
        op.f("ix_enrollment_token_site_id"), "enrollment_token", ["site_id"], unique=False
    )
    op.create_table(
        "hub_user",
        sa.Column("id", sa.String(), nullable=False),
        sa.Column("email", sa.String(), nullable=False),
        sa.Column("password_hash", sa.String(), nullable=False),
        sa.Column("role", sa.String(), nullable=False),
        sa.Column("site_id", sa.String(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("disabled_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "role IN ('admin', 'support', 'host', 'staff', 'renter')", name=op.f("ck_hub_user_role")
        ),
        sa.ForeignKeyConstraint(["site_id"], ["site.id"], name=op.f("fk_hub_user_site_id_site")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_hub_user")),
        sa.UniqueConstraint("email", name=op.f("uq_hub_user_email")),
    )
    op.create_index(op.f("ix_hub_user_site_id"), "hub_user", ["site_id"], unique=False)
    op.create_table(
        "node",
        sa.Column("id", sa.String(), nullable=False),
        sa.Column("site_id", sa.String(), nullable=False),
        sa.Column("name", sa.String(), nullable=False),
        sa.Column("public_key", sa.String(), nullable=False),
        sa.Column("generation", sa.String(), nullable=True),
        sa.Column("enrolled_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_seen_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("high_water", sa.BigInteger(), server_default=sa.text("0"), nullable=False),
        sa.Column("reported_outbox_depth", sa.Integer(), nullable=True),
        sa.Column("reported_oldest_unsent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("clock_offset_ms", sa.Integer(), nullable=True),
        sa.Column("audit_gap_after", sa.BigInteger(), nullable=True),
        sa.ForeignKeyConstraint(["site_id"], ["site.id"], name=op.f("fk_node_site_id_site")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_node")),
    )
    op.create_index(op.f("ix_node_site_id"), "node", ["site_id"], unique=False)
    op.create_table(
        "resource",
        sa.Column("id", sa.String(), nullable=False),
        sa.Column("site_id", sa.String(), nullable=False),
        sa.Column("name", sa.String(), nullable=False),
        sa.Column("kind", sa.String(), nullable=False),
        sa.Column("hourly_rate_cents", sa.BigInteger(), nullable=False),
        sa.Column("active", sa.Boolean(), server_default=sa.text("true"), nullable=False),
        sa.Column(
            "field_stamps",
            postgresql.JSONB(),
            server_default=sa.text("'{}'::jsonb"),
            nullable=False,
        ),
        sa.Column("updated_hlc", sa.String(), nullable=False),
        sa.ForeignKeyConstraint(["site_id"], ["site.id"], name=op.f("fk_resource_site_id_site")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_resource")),
    )
    op.create_index(op.f("ix_resource_site_id"), "resource", ["site_id"], unique=False)
    op.create_table(
        "refresh_token",
        sa.Column("id", sa.String(), nullable=False),
        sa.Column("user_id", sa.String(), nullable=False),
        sa.Column("family_id", sa.String(), nullable=False),
        sa.Column("token_hash", sa.String(), nullable=False),
        sa.Column("issued_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["user_id"], ["hub_user.id"], name=op.f("fk_refresh_token_user_id_hub_user")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_refresh_token")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_refresh_token_token_hash")),
    )
    op.create_index(
        op.f("ix_refresh_token_family_id"), "refresh_token", ["family_id"], unique=False
    )
    op.create_index(op.f("ix_refresh_token_user_id"), "refresh_token", ["user_id"], unique=False)
    _refuse_changes(APPEND_ONLY)


def _refuse_changes(tables: tuple[str, ...]) -> None:
    """UPDATE and DELETE raise on ``tables``; TRUNCATE (an operator's deliberate act) does not."""
    op.execute(
        """
        CREATE FUNCTION refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            RAISE EXCEPTION '% is append-only: % refused', TG_TABLE_NAME, TG_OP
                USING ERRCODE = 'insufficient_privilege';
        END
        $$
        """
    )
    for table in tables:
        for verb in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER {table}_no_{verb.lower()} BEFORE {verb} ON {table} "
                "FOR EACH ROW EXECUTE FUNCTION refuse_change()"
            )


def downgrade() -> None:
    op.drop_index(op.f("ix_refresh_token_user_id"), table_name="refresh_token")
    op.drop_index(op.f("ix_refresh_token_family_id"), table_name="refresh_token")
    op.drop_table("refresh_token")
    op.drop_index(op.f("ix_resource_site_id"), table_name="resource")
    op.drop_table("resource")
    op.drop_index(op.f("ix_node_site_id"), table_name="node")
    op.drop_table("node")
    op.drop_index(op.f("ix_hub_user_site_id"), table_name="hub_user")
    op.drop_table("hub_user")
    op.drop_index(op.f("ix_enrollment_token_site_id"), table_name="enrollment_token")
    op.drop_table("enrollment_token")
    op.drop_index(op.f("ix_site_name"), table_name="site")
    op.drop_table("site")
    op.drop_index(op.f("ix_request_nonce_seen_at"), table_name="request_nonce")
    op.drop_table("request_nonce")
    op.drop_index(op.f("ix_renter_phone_index"), table_name="renter")
    op.drop_index(op.f("ix_renter_email_index"), table_name="renter")
    op.drop_table("renter")
    op.drop_table("reference_bundle")
    op.drop_index("ix_feed_site_seq", table_name="feed")
    op.drop_table("feed")
    op.drop_index(op.f("ix_document_sha256"), table_name="document")
    op.drop_index(op.f("ix_document_owner_id"), table_name="document")
    op.drop_index(op.f("ix_document_expires_at"), table_name="document")
    op.drop_table("document")
    op.drop_index("ix_conflict_site_status", table_name="conflict")
    op.drop_index(op.f("ix_conflict_loser_id"), table_name="conflict")
    op.drop_index(op.f("ix_conflict_keeper_id"), table_name="conflict")
    op.drop_table("conflict")
    op.drop_index(op.f("ix_check_in_booking_id"), table_name="check_in")
    op.drop_table("check_in")
    op.drop_index("ix_booking_site_starts", table_name="booking")
    op.drop_index(op.f("ix_booking_renter_id"), table_name="booking")
    op.drop_table("booking")
    op.drop_table("blob")
    op.drop_table("audit_event")
    op.execute("DROP FUNCTION refuse_change()")
