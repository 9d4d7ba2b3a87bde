"""The hub's PostgreSQL tables, declared on the hub's own SQLModel registry.

Instants are ``timestamptz``; money is ``bigint`` cents; JSON is ``jsonb``. Replicated records
carry ``updated_hlc`` and ``field_stamps`` (per-field HLC stamps for last-writer-wins). Two rules
live in the schema itself (migration 0001): ``booking_no_overlap`` keeps active bookings of one
resource from overlapping, and triggers refuse UPDATE and DELETE on ``audit_event``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    DateTime,
    Identity,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB, ExcludeConstraint
from sqlalchemy.orm import registry
from sqlmodel import Field, SQLModel

from sync.vocabulary import BookingStatus, Role

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

# Statuses whose booking occupies its resource in the exclusion constraint.
OCCUPYING_STATUSES = ("hold", "confirmed", "checked_in")  # checked out: the station is free
CONFLICT_STATUSES = ("open", "resolved")


class HubModel(SQLModel, registry=registry(metadata=MetaData(naming_convention=NAMING))):
    """Base of every hub table; its metadata is the hub's schema (and Alembic target)."""


def _at(*, nullable: bool = False, index: bool = False) -> Any:
    return Field(sa_column=Column(DateTime(timezone=True), nullable=nullable, index=index))


def _json(*, nullable: bool = False) -> Any:
    if nullable:
        return Field(default=None, sa_column=Column(JSONB, nullable=True))
    return Field(
        default_factory=dict,
        sa_column=Column(JSONB, nullable=False, server_default=text("'{}'::jsonb")),
    )


def _bigint(*, default: int | None = None, nullable: bool = False) -> Any:
    server_default = text(str(default)) if default is not None else None
    return Field(
        default=default,
        sa_column=Column(BigInteger, nullable=nullable, server_default=server_default),
    )


def _flag(default: bool) -> Any:
    return Field(
        default=default,
        sa_column=Column(Boolean, nullable=False, server_default=text(str(default).lower())),
    )


def _listed(values: tuple[str, ...]) -> str:
    return ", ".join(f"'{value}'" for value in values)


def _one_of(column: str, values: tuple[str, ...], name: str) -> CheckConstraint:
    return CheckConstraint(f"{column} IN ({_listed(values)})", name=name)


# --- accounts -------------------------------------------------------------------------------------


class HubUser(HubModel, table=True):
    __tablename__ = "hub_user"
    __table_args__ = (_one_of("role", tuple(r.value for r in Role), "role"),)
    id: str = Field(primary_key=True)  # a UUID as text
    email: str = Field(unique=True)  # stored trimmed and lower-cased
    password_hash: str
    role: str
    site_id: str | None = Field(default=None, foreign_key="site.id", index=True)
    renter_id: str | None = Field(default=None, foreign_key="renter.id", index=True)  # role renter
    created_at: datetime = _at()
    disabled_at: datetime | None = _at(nullable=True)


class RefreshToken(HubModel, table=True):
    """One issued refresh token; a family is one login's chain of rotations."""

    __tablename__ = "refresh_token"
    id: str = Field(primary_key=True)
    user_id: str = Field(foreign_key="hub_user.id", index=True)
    family_id: str = Field(index=True)
    token_hash: str = Field(unique=True)
    issued_at: datetime = _at()
    expires_at: datetime = _at()
    used_at: datetime | None = _at(nullable=True)
    revoked_at: datetime | None = _at(nullable=True)


# --- replicated records ---------------------------------------------------------------------------


class Site(HubModel, table=True):
    """A kitchen; jurisdiction and time zone stay null until given or reported by its edge."""

    __tablename__ = "site"
    id: str = Field(primary_key=True)
    name: str = Field(index=True)
    jurisdiction: str | None = None
    timezone: str | None = None
    address: str | None = None
    latitude: float | None = None
    longitude: float | None = None
    profile: dict[str, Any] = _json()  # the scenario's ``site`` shape: permits, zoning, ...
    field_stamps: dict[str, Any] = _json()
    updated_hlc: str
    feed_horizon: int = _bigint(default=0)  # feed rows at or below it may be compacted away


class Resource(HubModel, table=True):
    __tablename__ = "resource"
    id: str = Field(primary_key=True)
    site_id: str = Field(foreign_key="site.id", index=True)
    name: str
    kind: str
    hourly_rate_cents: int = _bigint()
    active: bool = _flag(True)
    field_stamps: dict[str, Any] = _json()
    updated_hlc: str


class Renter(HubModel, table=True):
    __tablename__ = "renter"
    id: str = Field(primary_key=True)
    name: str
    profile: dict[str, Any] = _json()  # the scenario's ``renter`` shape: insurance, needs, ...
    email_cipher: bytes | None = Field(default=None, sa_column=Column(LargeBinary, nullable=True))
    email_index: str | None = Field(default=None, index=True)
    phone_cipher: bytes | None = Field(default=None, sa_column=Column(LargeBinary, nullable=True))
    phone_index: str | None = Field(default=None, index=True)
    field_stamps: dict[str, Any] = _json()
    updated_hlc: str


class Booking(HubModel, table=True):
    __tablename__ = "booking"
    __table_args__ = (
        ExcludeConstraint(
            ("resource_id", "="),
            (func.tstzrange(Column("starts_at"), Column("ends_at"), text("'[)'")), "&&"),
            name="booking_no_overlap",
            using="gist",
            where=text(f"status IN ({_listed(OCCUPYING_STATUSES)})"),
        ),
        _one_of("status", tuple(s.value for s in BookingStatus), "status"),
        CheckConstraint("ends_at > starts_at", name="time_order"),
        Index("ix_booking_site_starts", "site_id", "starts_at"),
    )
    id: str = Field(primary_key=True)
    site_id: str  # indexed with starts_at
    resource_id: str  # indexed by booking_no_overlap (gist, btree_gist for the equality)
    renter_id: str = Field(index=True)
    starts_at: datetime = _at()
    ends_at: datetime = _at()
    status: str
    hold_expires_at: datetime | None = _at(nullable=True)
    price_cents: int = _bigint()
    quote: dict[str, Any] = _json()
    paid: bool = _flag(False)
    confirmed_hlc: str | None = None
    origin_node: str
    created_at: datetime = _at()
    updated_at: datetime = _at()
    updated_hlc: str
    field_stamps: dict[str, Any] = _json()


class Conflict(HubModel, table=True):
    """Two bookings that collided: the keeper stays, the loser waits for a host's resolution."""

    __tablename__ = "conflict"
    __table_args__ = (
        _one_of("status", CONFLICT_STATUSES, "status"),
        Index("ix_conflict_site_status", "site_id", "status"),
    )
    id: str = Field(primary_key=True)
    site_id: str
    keeper_id: str = Field(index=True)
    loser_id: str = Field(index=True)
    rule: str
    status: str = "open"
    resolution: dict[str, Any] | None = _json(nullable=True)
    created_at: datetime = _at()
    resolved_at: datetime | None = _at(nullable=True)
    resolved_by: str | None = None
    updated_hlc: str


class CheckIn(HubModel, table=True):
    __tablename__ = "check_in"
    id: str = Field(primary_key=True)
    booking_id: str = Field(index=True)
    result: str
    verdict: dict[str, Any] = _json()
    staff_user_id: str
    override_reason: str | None = None
    checked_in_at: datetime = _at()
    checked_out_at: datetime | None = _at(nullable=True)


class Document(HubModel, table=True):
    """Document metadata; the bytes are a ``blob``. Review fields are written only here."""

    __tablename__ = "document"
    id: str = Field(primary_key=True)
    owner_kind: str  # site | renter
    owner_id: str = Field(index=True)
    kind: str
    number: str | None = None
    issuer: str | None = None
    issued_at: datetime | None = _at(nullable=True)
    expires_at: datetime | None = _at(nullable=True, index=True)
    sha256: str = Field(index=True)
    size_bytes: int = _bigint()
    content_type: str
    filename: str
    review_status: str = "pending"
    reviewed_by: str | None = None
    reviewed_at: datetime | None = _at(nullable=True)
    review_note: str | None = None
    uploaded_by: str
    created_at: datetime = _at()
    field_stamps: dict[str, Any] = _json()
    updated_hlc: str


class Blob(HubModel, table=True):
    """Content-addressed bytes on disk (``settings.blob_dir``), received in resumable chunks."""

    __tablename__ = "blob"
    sha256: str = Field(primary_key=True)
    size_bytes: int = _bigint()
    received_bytes: int = _bigint(default=0)
    complete: bool = _flag(False)
    created_at: datetime = _at()


class AuditEvent(HubModel, table=True):
    """Each node's audit chain, stored once per ``(node_id, seq)``; UPDATE and DELETE refused."""

    __tablename__ = "audit_event"
    node_id: str = Field(primary_key=True)
    seq: int = Field(sa_column=Column(BigInteger, primary_key=True, autoincrement=False))
    hlc: str
    actor: str
    action: str
    entity: str
    entity_id: str
    details: dict[str, Any] = _json()
    at: datetime = _at()
    prev_hash: str
    hash: str


# --- fleet ----------------------------------------------------------------------------------------


class Node(HubModel, table=True):
    """An enrolled edge and what it last reported about itself."""

    __tablename__ = "node"
    id: str = Field(primary_key=True)
    site_id: str = Field(foreign_key="site.id", index=True)
    name: str
    public_key: str
    generation: str | None = None
    enrolled_at: datetime = _at()
    revoked_at: datetime | None = _at(nullable=True)
    last_seen_at: datetime | None = _at(nullable=True)
    high_water: int = _bigint(default=0)
    reported_outbox_depth: int | None = Field(default=None, sa_column=Column(Integer))
    reported_oldest_unsent_at: datetime | None = _at(nullable=True)
    clock_offset_ms: int | None = Field(default=None, sa_column=Column(Integer))
    audit_gap_after: int | None = _bigint(nullable=True)


class EnrollmentToken(HubModel, table=True):
    """A one-time enrolment token, stored as its SHA-256 only."""

    __tablename__ = "enrollment_token"
    id: str = Field(primary_key=True)
    token_hash: str = Field(unique=True)
    site_id: str = Field(foreign_key="site.id", index=True)
    site_name: str
    created_at: datetime = _at()
    expires_at: datetime = _at()
    used_at: datetime | None = _at(nullable=True)
    used_by_node: str | None = None


class RequestNonce(HubModel, table=True):
    """The replay ledger of signed requests; rows older than ``limits.nonce_ttl_s`` are pruned."""

    __tablename__ = "request_nonce"
    node_id: str = Field(primary_key=True)
    nonce: str = Field(primary_key=True)
    seen_at: datetime = _at(index=True)


class Feed(HubModel, table=True):
    """The pull log: every change the hub made, read per site in ``hub_seq`` order.

    ``op`` is ``upsert`` (the payload is the entity's whole replicated state) or ``delete`` (a
    tombstone: the payload is ``{"id": entity_id}``). ``prep-hub compact-feed`` removes rows a
    later row of the same entity supersedes, and tombstones, once older than its horizon; the
    site's ``feed_horizon`` then says below which checkpoint a node must bootstrap from a
    snapshot (``hub.sync_compaction``).
    """

    __tablename__ = "feed"
    __table_args__ = (
        Index("ix_feed_site_seq", "site_id", "hub_seq"),
        Index("ix_feed_site_entity", "site_id", "entity", "entity_id", "hub_seq"),
    )
    hub_seq: int | None = Field(
        default=None, sa_column=Column(BigInteger, Identity(always=False), primary_key=True)
    )
    site_id: str
    entity: str
    entity_id: str
    op: str
    payload: dict[str, Any] = _json()
    hlc: str
    origin: str
    at: datetime = _at()


class ReferenceBundle(HubModel, table=True):
    """A published reference bundle; files under ``settings.bundle_dir``."""

    __tablename__ = "reference_bundle"
    version: int = Field(sa_column=Column(Integer, primary_key=True, autoincrement=False))
    manifest: dict[str, Any] = _json()
    signature: str
    sha256: str
    size_bytes: int = _bigint()
    path: str
    published_at: datetime = _at()
