"""Bookings: create (idempotent on a client id), hold with lazy expiry, confirm, cancel, no-show.

Non-overlap is enforced inside the write transaction (``BEGIN IMMEDIATE`` on the single writer):
the clash query and the insert see the same committed state, so two requests for one slot can
never both succeed. A hold counts as taken only until ``hold_expires_at``; nothing has to run
for an expired hold to free its slot.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import and_, or_
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from edge.booking_rules import check_booking_window
from edge.clock import epoch_ms
from edge.errors import Conflict, Forbidden, InvalidInput, NotFound, SlotTaken
from edge.journal import Actor, Tx
from edge.services import EdgeServices, SiteInfo
from edge.tables import Booking, Renter, Resource, User
from reference_db.fees import quote
from reference_db.localtime import to_utc
from sync.ids import is_uuid7, uuid7
from sync.quotes import QuoteRequest
from sync.shapes.bookings import BookingCreate, BookingOut
from sync.vocabulary import BookingStatus, Role

HELD = BookingStatus.HOLD.value


@dataclass(frozen=True)
class Placed:
    """A booking request with its instants placed in the site's zone."""

    start: datetime
    end: datetime


def occupying(resource_id: str, start: datetime, end: datetime, now: datetime) -> Any:
    """SQL condition: bookings on ``resource_id`` that hold any part of ``[start, end)`` now."""
    return and_(
        col(Booking.resource_id) == resource_id,
        col(Booking.starts_at) < end,
        col(Booking.ends_at) > start,
        or_(
            col(Booking.status).in_(
                [BookingStatus.CONFIRMED.value, BookingStatus.CHECKED_IN.value]
            ),
            and_(col(Booking.status) == HELD, col(Booking.hold_expires_at) > now),
        ),
    )


async def find_clash(
    session: AsyncSession,
    resource_id: str,
    start: datetime,
    end: datetime,
    now: datetime,
    excluding: str | None = None,
) -> Booking | None:
    query = select(Booking).where(occupying(resource_id, start, end, now))
    if excluding is not None:
        query = query.where(col(Booking.id) != excluding)
    return (await session.exec(query.limit(1))).first()


def slot_taken(clash: Booking, tz: ZoneInfo) -> SlotTaken:
    return SlotTaken(
        "the resource is already booked for part of that time",
        {
            "clashing_booking": {
                "id": clash.id,
                "start": clash.starts_at.isoformat(),
                "end": clash.ends_at.isoformat(),
                "status": clash.status,
                "local": _local_span(clash.starts_at, clash.ends_at, tz),
            }
        },
    )


async def renter_scope(session: AsyncSession, actor: Actor) -> str | None:
    """The renter a renter-role user acts for; None for site and central roles."""
    if actor.role is not Role.RENTER:
        return None
    user = await session.get(User, actor.user_id)
    if user is None or user.renter_id is None:
        raise Forbidden("this renter account is not linked to a renter")
    return user.renter_id


async def create_booking(
    services: EdgeServices, actor: Actor, data: BookingCreate
) -> tuple[Booking, bool]:
    """Insert a booking, or return the same one again for a retried id; True if created."""
    now = services.clock.now()
    if data.id is not None and not is_uuid7(data.id):
        raise InvalidInput("id must be a UUIDv7", {"field": "id"})
    async with services.journal.write(actor, now) as tx:
        site = services.site
        tz = site.timezone
        placed = Placed(to_utc(data.start, tz), to_utc(data.end, tz))
        if data.id is not None and (existing := await tx.session.get(Booking, data.id)):
            return _same_request(existing, data, placed), False
        resource, renter = await _parties(tx, actor, data)
        rules = services.reference.rulebook.resolve(site.jurisdiction)
        check_booking_window(
            placed.start, placed.end, now, tz, rules.rental, services.settings.bookings
        )
        if clash := await find_clash(tx.session, resource.id, placed.start, placed.end, now):
            raise slot_taken(clash, tz)
        booking = _new_booking(services, tx, site, resource, renter, data, placed)
        tx.session.add(booking)
        tx.record(
            "booking.create",
            "booking",
            booking.id,
            {"status": booking.status, "resource_id": resource.id, "renter_id": renter.id},
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


async def _parties(tx: Tx, actor: Actor, data: BookingCreate) -> tuple[Resource, Renter]:
    resource = await tx.session.get(Resource, data.resource_id)
    if resource is None or not resource.active:
        raise NotFound("no such resource", {"resource_id": data.resource_id})
    renter = await tx.session.get(Renter, data.renter_id)
    if renter is None:
        raise NotFound("no such renter", {"renter_id": data.renter_id})
    own = await renter_scope(tx.session, actor)
    if own is not None and own != renter.id:
        raise Forbidden("a renter may book only for themselves")
    return resource, renter


def _new_booking(
    services: EdgeServices,
    tx: Tx,
    site: SiteInfo,
    resource: Resource,
    renter: Renter,
    data: BookingCreate,
    placed: Placed,
) -> Booking:
    hours = Decimal((placed.end - placed.start).total_seconds()) / 3600
    priced = quote(
        QuoteRequest(
            jurisdiction=site.jurisdiction,
            hours=hours,
            hourly_rate_cents=resource.hourly_rate_cents,
        ),
        services.reference.rulebook,
    )
    hold = data.status == HELD
    stamp = tx.stamp()
    return Booking(
        id=data.id or str(uuid7(epoch_ms(tx.now))),
        site_id=site.id,
        resource_id=resource.id,
        renter_id=renter.id,
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
