"""The edge's SQLite tables, declared on the edge's own SQLModel registry.

Instants are aware UTC (``UtcDateTime``); money is integer cents; JSON columns hold the
scenario-shaped parts of a site or renter that the compliance engine reads. Renter contact
details are stored only encrypted, with a keyed blind index for lookup.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Column, Index, LargeBinary, UniqueConstraint
from sqlalchemy.orm import registry
from sqlmodel import Field, SQLModel

from edge.columns import JsonText, UtcDateTime


class EdgeModel(SQLModel, registry=registry()):
    """Base of every edge table; its metadata is the edge's schema (and Alembic target)."""


def _at(*, nullable: bool = False, index: bool = False) -> Any:
    return Field(sa_column=Column(UtcDateTime(), nullable=nullable, index=index))


def _json(*, nullable: bool = False) -> Any:
    return Field(sa_column=Column(JsonText(), nullable=nullable))


class NodeState(EdgeModel, table=True):
    """The one row describing this node and its counters (advanced only under the write lock)."""

    __tablename__ = "node_state"
    id: int = Field(default=1, primary_key=True)
    node_id: str
    site_id: str
    hlc_last: str
    outbox_seq: int = 0
    audit_seq: int = 0
    audit_hash: str
    reference_version: int = 0
    created_at: datetime = _at()


class Site(EdgeModel, table=True):
    __tablename__ = "site"
    id: str = Field(primary_key=True)
    name: str
    jurisdiction: str
    timezone: str
    address: str | None = None
    latitude: float | None = None
    longitude: float | None = None
    profile: dict[str, Any] = _json()  # the scenario's ``site`` shape: permits, zoning, ...
    updated_at: datetime = _at()
    updated_hlc: str


class Resource(EdgeModel, table=True):
    __tablename__ = "resource"
    id: str = Field(primary_key=True)
    site_id: str = Field(foreign_key="site.id")
    name: str
    kind: str
    hourly_rate_cents: int
    active: bool = True
    created_at: datetime = _at()
    updated_hlc: str


class Renter(EdgeModel, table=True):
    __tablename__ = "renter"
    id: str = Field(primary_key=True)
    name: str
    email_cipher: bytes | None = Field(default=None, sa_column=Column(LargeBinary, nullable=True))
    email_index: str | None = Field(default=None, index=True)
    phone_cipher: bytes | None = Field(default=None, sa_column=Column(LargeBinary, nullable=True))
    phone_index: str | None = Field(default=None, index=True)
    profile: dict[str, Any] = _json()  # the scenario's ``renter`` shape: insurance, needs, ...
    created_at: datetime = _at()
    updated_hlc: str


class User(EdgeModel, table=True):
    __tablename__ = "user_account"
    id: str = Field(primary_key=True)
    username: str = Field(unique=True)
    role: str
    password_hash: str
    renter_id: str | None = Field(default=None, foreign_key="renter.id")
    active: bool = True
    must_change_password: bool = False
    created_at: datetime = _at()


class RefreshToken(EdgeModel, table=True):
    """One issued refresh token; a family is one login's chain of rotations."""

    __tablename__ = "refresh_token"
    id: str = Field(primary_key=True)
    user_id: str = Field(foreign_key="user_account.id", index=True)
    family_id: str = Field(index=True)
    token_hash: str = Field(unique=True)
    issued_at: datetime = _at()
    expires_at: datetime = _at()
    used_at: datetime | None = _at(nullable=True)
    revoked_at: datetime | None = _at(nullable=True)


class Booking(EdgeModel, table=True):
    __tablename__ = "booking"
    __table_args__ = (Index("ix_booking_resource_time", "resource_id", "starts_at", "ends_at"),)
    id: str = Field(primary_key=True)
    site_id: str = Field(foreign_key="site.id")
    resource_id: str = Field(foreign_key="resource.id")
    renter_id: str = Field(foreign_key="renter.id", index=True)
    starts_at: datetime = _at()
    ends_at: datetime = _at()
    status: str = Field(index=True)
    hold_expires_at: datetime | None = _at(nullable=True)
    price_cents: int
    quote: dict[str, Any] = _json()
    created_by: str
    created_at: datetime = _at()
    updated_at: datetime = _at()
    confirmed_hlc: str | None = None
    updated_hlc: str
    paid: bool = False  # set by the hub (payments); the conflict keeper rule reads it
    origin_node: str | None = None  # the node that created it ("hub" for online bookings)


class CheckIn(EdgeModel, table=True):
    __tablename__ = "check_in"
    id: str = Field(primary_key=True)
    booking_id: str = Field(foreign_key="booking.id", index=True)
    result: str
    verdict: dict[str, Any] = _json()
    staff_user_id: str
    override_reason: str | None = None
    checked_in_at: datetime = _at()
    checked_out_at: datetime | None = _at(nullable=True)


class Document(EdgeModel, table=True):
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
    size_bytes: int
    content_type: str
    filename: str
    review_status: str = "pending"
    uploaded_by: str
    created_at: datetime = _at()
    updated_hlc: str


class ReminderSent(EdgeModel, table=True):
    """A document expiry reminder that went out (each days-before mark, once)."""

    __tablename__ = "reminder_sent"
    document_id: str = Field(foreign_key="document.id", primary_key=True)
    days_before: int = Field(primary_key=True)
    sent_at: datetime = _at()


class AuditEvent(EdgeModel, table=True):
    """Append-only and hash-chained; UPDATE and DELETE are refused by trigger."""

    __tablename__ = "audit_event"
    seq: int = Field(primary_key=True)
    node_id: str
    hlc: str
    actor: str
    action: str
    entity: str
    entity_id: str
    details: dict[str, Any] = _json()
    at: datetime = _at()
    prev_hash: str
    hash: str = Field(unique=True)


class OutboxChange(EdgeModel, table=True):
    """A change waiting to replicate, numbered contiguously per node."""

    __tablename__ = "outbox"
    __table_args__ = (UniqueConstraint("hlc"),)
    seq: int = Field(primary_key=True)
    hlc: str
    entity: str
    entity_id: str
    op: str  # upsert | delete | append
    payload: dict[str, Any] = _json()
    created_at: datetime = _at()


class Conflict(EdgeModel, table=True):
    """Two active bookings that collided across replicas; the same id on the hub and the edge."""

    __tablename__ = "conflict"
    id: str = Field(primary_key=True)
    keeper_id: str = Field(index=True)
    loser_id: str = Field(index=True)
    rule: str
    status: str = Field(index=True)  # open | resolved
    resolution: str | None = None
    created_at: datetime = _at()
    resolved_at: datetime | None = _at(nullable=True)
    resolved_by: str | None = None
    updated_hlc: str


class SyncState(EdgeModel, table=True):
    """The node's link to its hub: enrolment, high-water marks and reachability (one row)."""

    __tablename__ = "sync_state"
    id: int = Field(default=1, primary_key=True)
    hub_url: str | None = None
    generation: str
    enrolled_at: datetime | None = _at(nullable=True)
    pushed_seq: int = 0  # the hub's acknowledged high-water mark of this node's outbox
    pull_checkpoint: int = 0  # the hub feed position applied here
    online: bool = False
    offline_since: datetime | None = _at(nullable=True)
    last_attempt_at: datetime | None = _at(nullable=True)
    last_push_at: datetime | None = _at(nullable=True)
    last_pull_at: datetime | None = _at(nullable=True)
    failures: int = 0
    last_error: str | None = None
    clock_offset_ms: int | None = None
    snapshot_as_of: int | None = None  # a bootstrap in progress: its feed position
    snapshot_cursor: str | None = None  # and the next page to ask for
