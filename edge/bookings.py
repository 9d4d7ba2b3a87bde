"""Bookings: create (idempotent on a client id), hold with lazy expiry, confirm, cancel, no-show.

Non-overlap is enforced inside the write transaction (``BEGIN IMMEDIATE`` on the single writer):
the clash query and the insert see the same committed state, so two requests for one slot can
never both succeed. A hold counts as taken only until ``hold_expires_at``; nothing has to run
for an expired hold to free its slot.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from edge.booking_rules import check_booking_window
from edge.clock import epoch_ms
from edge.columns import insert_row, utc_text
from edge.errors import Conflict, Forbidden, InvalidInput, NotFound, SlotTaken
from edge.journal import Actor, Tx
from edge.services import EdgeServices, SiteInfo
from edge.tables import Booking
from edge.users import renter_scope
from reference_db.fees import quote
from reference_db.localtime import to_utc
from sync.ids import is_uuid7, uuid7
from sync.quotes import QuoteRequest
from sync.shapes.bookings import BookingCreate, BookingOut
from sync.vocabulary import LONGEST_BOOKING, BookingStatus

HELD = BookingStatus.HOLD.value


@dataclass(frozen=True)
class Placed:
    """A booking request with its instants placed in the site's zone."""

    start: datetime
    end: datetime


@dataclass(frozen=True)
class Clash:
    """The booking that already holds part of the requested time."""

    id: str
    start: datetime
    end: datetime
    status: str


_CLASH = (
    "SELECT id, starts_at, ends_at, status FROM booking"
    " WHERE resource_id = ? AND starts_at < ? AND starts_at > ? AND ends_at > ? AND id != ?"
    " AND (status IN ('confirmed', 'checked_in') OR (status = 'hold' AND hold_expires_at > ?))"
    " LIMIT 1"
)


def find_clash(
    raw: sqlite3.Connection,
    resource_id: str,
    start: datetime,
    end: datetime,
    now: datetime,
    excluding: str = "",
) -> Clash | None:
    """A booking on ``resource_id`` that occupies part of ``[start, end)`` as of ``now``.

    Confirmed and checked-in bookings occupy their slot; a hold only until it expires. Runs on
    the write transaction's connection, so the answer holds until the insert that follows.
    """
    earliest = utc_text(start - LONGEST_BOOKING)  # bounds the index range scan
    row = raw.execute(
        _CLASH, (resource_id, utc_text(end), earliest, utc_text(start), excluding, utc_text(now))
    ).fetchone()
    if row is None:
        return None
    return Clash(row[0], datetime.fromisoformat(row[1]), datetime.fromisoformat(row[2]), row[3])


def slot_taken(clash: Clash, tz: ZoneInfo) -> SlotTaken:
    return SlotTaken(
        "the resource is already booked for part of that time",
        {
            "clashing_booking": {
                "id": clash.id,
                "start": clash.start.isoformat(),
                "end": clash.end.isoformat(),
                "status": clash.status,
                "local": _local_span(clash.start, clash.end, tz),
            }
        },
    )


async def create_booking(
    services: EdgeServices, actor: Actor, data: BookingCreate
) -> tuple[Booking, bool]:
    """Insert a booking, or return the same one again for a retried id; True if created."""
    if data.id is not None and not is_uuid7(data.id):
        raise InvalidInput("id must be a UUIDv7", {"field": "id"})
    async with services.journal.write(actor, services.clock.now()) as tx:
        return await create_in(services, tx, data)


async def create_in(services: EdgeServices, tx: Tx, data: BookingCreate) -> tuple[Booking, bool]:
    """``create_booking`` inside a write transaction the caller holds (a move, say)."""
    site = services.site
    tz = site.timezone
    placed = Placed(to_utc(data.start, tz), to_utc(data.end, tz))
    if data.id is not None and (existing := await tx.session.get(Booking, data.id)):
        return _same_request(existing, data, placed), False
    parties = await _parties(tx, tx.actor, data)
    rules = services.reference.rulebook.resolve(site.jurisdiction)
    check_booking_window(
        placed.start, placed.end, tx.now, tz, rules.rental, services.settings.bookings
    )
    if clash := find_clash(tx.raw, parties.resource_id, placed.start, placed.end, tx.now):
        raise slot_taken(clash, tz)
    booking = _new_booking(services, tx, site, parties, data, placed)
    insert_row(tx.raw, booking)
    tx.record(
        "booking.create",
        "booking",
        booking.id,
        {
            "status": booking.status,
            "resource_id": parties.resource_id,
            "renter_id": parties.renter_id,
        },
        state=booking_state(booking),
    )
    return booking, True


def _same_request(existing: Booking, data: BookingCreate, placed: Placed) -> Booking:
    same = (existing.resource_id, existing.renter_id, existing.starts_at, existing.ends_at) == (
        data.resource_id,
        data.renter_id,
        placed.start,
        placed.end,
    )
    if not same:
        raise Conflict("a different booking already has this id", {"id": existing.id})
    return existing


@dataclass(frozen=True)
class Parties:
    """The checked resource (with its rate) and renter of a new booking."""

    resource_id: str
    hourly_rate_cents: int
    renter_id: str


async def _parties(tx: Tx, actor: Actor, data: BookingCreate) -> Parties:
    resource = tx.raw.execute(
        "SELECT hourly_rate_cents FROM resource WHERE id = ? AND active", (data.resource_id,)
    ).fetchone()
    if resource is None:
        raise NotFound("no such resource", {"resource_id": data.resource_id})
    if tx.raw.execute("SELECT 1 FROM renter WHERE id = ?", (data.renter_id,)).fetchone() is None:
        raise NotFound("no such renter", {"renter_id": data.renter_id})
    own = await renter_scope(tx.session, actor)
    if own is not None and own != data.renter_id:
        raise Forbidden("a renter may book only for themselves")
    return Parties(data.resource_id, int(resource[0]), data.renter_id)


def _new_booking(
    services: EdgeServices,
    tx: Tx,
    site: SiteInfo,
    parties: Parties,
    data: BookingCreate,
    placed: Placed,
) -> Booking:
    hours = Decimal((placed.end - placed.start).total_seconds()) / 3600
    priced = quote(
        QuoteRequest(
            jurisdiction=site.jurisdiction,
            hours=hours,
            hourly_rate_cents=parties.hourly_rate_cents,
        ),
        services.reference.rulebook,
    )
    hold = data.status == HELD
    stamp = tx.stamp()
    return Booking(
        id=data.id or str(uuid7(epoch_ms(tx.now))),
        site_id=site.id,
        resource_id=parties.resource_id,
        renter_id=parties.renter_id,
        starts_at=placed.start,
        ends_at=placed.end,
        status=data.status,
        hold_expires_at=tx.now + timedelta(minutes=services.settings.bookings.hold_minutes)
        if hold
        else None,
        price_cents=priced.total_cents,
        quote=priced.model_dump(mode="json"),
        created_by=tx.actor.label,
        created_at=tx.now,
        updated_at=tx.now,
        confirmed_hlc=None if hold else stamp,
        updated_hlc=stamp,
    )


def booking_state(booking: Booking) -> dict[str, Any]:
    """The replicated form of a booking."""
    return booking.model_dump(mode="json")


def effective_status(booking: Booking, now: datetime) -> tuple[str, str | None]:
    """A hold past its expiry reads as cancelled (lazily: nothing had to run)."""
    if (
        booking.status == HELD
        and booking.hold_expires_at is not None
        and booking.hold_expires_at <= now
    ):
        return BookingStatus.CANCELLED.value, "hold_expired"
    return booking.status, None


def _local_span(start: datetime, end: datetime, tz: ZoneInfo) -> str:
    return f"{start.astimezone(tz):%Y-%m-%d %H:%M}-{end.astimezone(tz):%H:%M %Z}"


def booking_out(booking: Booking, tz: ZoneInfo, now: datetime) -> BookingOut:
    status, reason = effective_status(booking, now)
    return BookingOut(
        id=booking.id,
        site_id=booking.site_id,
        resource_id=booking.resource_id,
        renter_id=booking.renter_id,
        start=booking.starts_at,
        end=booking.ends_at,
        local_start=booking.starts_at.astimezone(tz).isoformat(),
        local_end=booking.ends_at.astimezone(tz).isoformat(),
        status=status,
        hold_expires_at=booking.hold_expires_at,
        cancel_reason=reason,
        price_cents=booking.price_cents,
        quote=booking.quote,
        created_at=booking.created_at,
    )
