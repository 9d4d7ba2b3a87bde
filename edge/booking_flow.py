"""Moves bookings through their states: confirm, cancel, check in, check out, no-show.

Status only moves forward (hold -> confirmed -> checked_in -> checked_out, or to cancelled /
no_show); a move that the current state does not allow is a 409 naming both states.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from edge.bookings import (
    booking_state,
    effective_status,
    find_clash,
    slot_taken,
)
from edge.checkin import MOVED_COLUMNS, check_in
from edge.columns import load_row, update_row, utc_text
from edge.db import raw_connection
from edge.errors import Conflict, Forbidden, NotFound
from edge.journal import SYSTEM, Actor, Tx
from edge.services import EdgeServices
from edge.tables import Booking
from edge.users import renter_scope
from sync.verdicts import Verdict
from sync.vocabulary import BookingStatus, Role

S = BookingStatus
ALLOWED = {
    "confirm": {S.HOLD},
    "cancel": {S.HOLD, S.CONFIRMED},
    "check_in": {S.CONFIRMED},
    "check_out": {S.CHECKED_IN},
}
SITE_ONLY = {"check_in", "check_out"}


async def get_visible(session: AsyncSession, actor: Actor, booking_id: str) -> Booking:
    """A booking the actor may see (a renter sees only their own; others look like 404)."""
    booking = load_row(await raw_connection(session), Booking, booking_id)
    own = await renter_scope(session, actor)
    if booking is None or (own is not None and booking.renter_id != own):
        raise NotFound("no such booking", {"booking_id": booking_id})
    return booking


async def list_visible(
    session: AsyncSession,
    actor: Actor,
    start: datetime | None,
    end: datetime | None,
    resource_id: str | None,
) -> list[Booking]:
    query = select(Booking).order_by(col(Booking.starts_at))
    if start is not None:
        query = query.where(col(Booking.ends_at) > start)
    if end is not None:
        query = query.where(col(Booking.starts_at) < end)
    if resource_id is not None:
        query = query.where(col(Booking.resource_id) == resource_id)
    if (own := await renter_scope(session, actor)) is not None:
        query = query.where(col(Booking.renter_id) == own)
    return list((await session.exec(query.limit(5000))).all())


async def move(
    services: EdgeServices,
    actor: Actor,
    booking_id: str,
    action: str,
    override_reason: str | None = None,
) -> tuple[Booking, Verdict | None]:
    """Apply ``action`` to a booking in one write transaction."""
    if action in SITE_ONLY and actor.role is Role.RENTER:
        raise Forbidden("only site staff check renters in and out")
    async with services.journal.write(actor, services.clock.now()) as tx:
        booking = await get_visible(tx.session, actor, booking_id)
        current, reason = effective_status(booking, tx.now)
        if action == "confirm" and reason == "hold_expired":
            await confirm_expired_hold(services, tx, booking)
            current = S.HOLD.value
        if current not in ALLOWED[action]:
            raise Conflict(
                f"cannot {action.replace('_', ' ')} a booking that is {current}",
                {"status": current, "action": action},
            )
        if action == "check_in":
            verdict, _ = await check_in(services, tx, booking, override_reason)
            return booking, verdict
        await _apply(tx, booking, action)
        return booking, None


async def _apply(tx: Tx, booking: Booking, action: str) -> None:
    if action == "confirm":
        booking.status = S.CONFIRMED.value
        booking.confirmed_hlc = tx.stamp()
    elif action == "cancel":
        booking.status = S.CANCELLED.value
    elif action == "check_out":
        booking.status = S.CHECKED_OUT.value
        tx.raw.execute(
            "UPDATE check_in SET checked_out_at = ?"
            " WHERE booking_id = ? AND checked_out_at IS NULL",
            (utc_text(tx.now), booking.id),
        )
    booking.updated_at = tx.now
    booking.updated_hlc = tx.stamp()
    update_row(tx.raw, booking, MOVED_COLUMNS)
    tx.record(
        f"booking.{action}",
        "booking",
        booking.id,
        {"status": booking.status},
        state=booking_state(booking),
    )


async def confirm_expired_hold(services: EdgeServices, tx: Tx, booking: Booking) -> None:
    """An expired hold may still be confirmed if nobody took the slot meanwhile, as far as this
    node knows: if the hub lapsed the hold to sell the slot online, the push of this
    confirmation takes the booking back there and the keeper rule settles the two."""
    clash = find_clash(
        tx.raw,
        booking.resource_id,
        booking.starts_at,
        booking.ends_at,
        tx.now,
        excluding=booking.id,
    )
    if clash is not None:
        raise slot_taken(clash, services.site.timezone)


async def mark_no_shows(services: EdgeServices, now: datetime) -> int:
    """Confirmed bookings whose start is past the grace period and nobody checked in."""
    grace = timedelta(minutes=services.settings.bookings.no_show_grace_minutes)
    async with services.journal.write(SYSTEM, now) as tx:
        late = (
            await tx.session.exec(
                select(Booking).where(
                    col(Booking.status) == S.CONFIRMED.value, col(Booking.starts_at) < now - grace
                )
            )
        ).all()
        for booking in late:
            booking.status = S.NO_SHOW.value
            booking.updated_at = now
            booking.updated_hlc = tx.stamp()
            tx.session.add(booking)
            tx.record("booking.no_show", "booking", booking.id, {}, state=booking_state(booking))
    return len(late)
