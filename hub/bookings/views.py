"""Reading bookings as the edge API shows them, scoped to what the caller may see.

Central roles see every site, host and staff accounts their own site, a renter account only
the bookings of the renter it is linked to (``hub_user.renter_id``). A booking the caller may
not see answers 404, as if it did not exist.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import asyncpg
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from hub.errors import Conflict, Forbidden, NotFound
from hub.tables import Booking, HubUser, Site
from hub.users import CENTRAL_ROLES, SITE_ROLES, Actor
from sync.shapes.bookings import BookingOut
from sync.vocabulary import BookingStatus, Role

LIST_LIMIT = 5000
HELD, CANCELLED = BookingStatus.HOLD.value, BookingStatus.CANCELLED.value
_INSTANTS = ("starts_at", "ends_at", "hold_expires_at", "created_at")


async def fetch_booking(conn: asyncpg.Connection, booking_id: str) -> asyncpg.Record | None:
    """A booking row on the request's driver connection (``hub.sync_push.driver``)."""
    return await conn.fetchrow("SELECT * FROM booking WHERE id = $1", booking_id)


async def renter_scope(session: AsyncSession, actor: Actor) -> str | None:
    """The renter a renter-role account books for (None if unlinked, or for other roles)."""
    if actor.role is not Role.RENTER:
        return None
    user = await session.get(HubUser, actor.user_id)
    return user.renter_id if user else None


async def list_bookings(
    session: AsyncSession,
    actor: Actor,
    now: datetime,
    site_id: str | None,
    start: datetime | None,
    end: datetime | None,
) -> list[BookingOut]:
    """Bookings overlapping ``[start, end)`` that ``actor`` may see, by start."""
    on_site = col(Site.id) == col(Booking.site_id)
    query = select(Booking, Site.timezone).join(Site, on_site, isouter=True)
    if actor.role in SITE_ROLES:
        if site_id is not None and site_id != actor.site_id:
            raise Forbidden("site accounts see only their own site's bookings")
        site_id = actor.site_id
    if actor.role is Role.RENTER:
        own = await renter_scope(session, actor)
        if own is None:
            return []
        query = query.where(col(Booking.renter_id) == own)
    if site_id is not None:
        query = query.where(col(Booking.site_id) == site_id)
    if start is not None:
        query = query.where(col(Booking.ends_at) > start)
    if end is not None:
        query = query.where(col(Booking.starts_at) < end)
    query = query.order_by(col(Booking.starts_at), col(Booking.id)).limit(LIST_LIMIT)
    rows = (await session.exec(query)).all()
    return [booking_out(b.model_dump(), zone(tz), now) for b, tz in rows]


async def get_booking(
    session: AsyncSession, actor: Actor, now: datetime, booking_id: str
) -> BookingOut:
    """One booking ``actor`` may see; any other answers 404."""
    booking = await session.get(Booking, booking_id)
    if booking is None or not await _may_see(session, actor, booking):
        raise NotFound("no such booking", {"booking_id": booking_id})
    site = await session.get(Site, booking.site_id)
    return booking_out(booking.model_dump(), zone(site.timezone if site else None), now)


async def _may_see(session: AsyncSession, actor: Actor, booking: Booking) -> bool:
    if actor.role in CENTRAL_ROLES:
        return True
    if actor.role is Role.RENTER:
        return booking.renter_id == await renter_scope(session, actor)
    return booking.site_id == actor.site_id


def zone(name: str | None) -> ZoneInfo:
    """A site's zone; UTC while the site has reported none (or an unknown one)."""
    try:
        return ZoneInfo(name) if name else ZoneInfo("UTC")
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def site_zone(site: Site) -> ZoneInfo:
    """The zone a booking's local times are placed in; ``Conflict`` until the site has one."""
    if not site.timezone or zone(site.timezone).key != site.timezone:
        raise Conflict("the site's time zone is not known yet", {"site_id": site.id})
    return zone(site.timezone)


def payload_values(payload: Mapping[str, Any]) -> dict[str, Any]:
    """A replicated booking payload (``booking_payload``) with its instants as datetimes."""
    return {
        key: datetime.fromisoformat(value) if key in _INSTANTS and value else value
        for key, value in payload.items()
    }


def booking_out(values: Mapping[str, Any], tz: ZoneInfo, now: datetime) -> BookingOut:
    """A booking as the edge API shows it; a hold past its expiry reads as cancelled."""
    status, reason = values["status"], None
    expires = values["hold_expires_at"]
    if status == HELD and expires is not None and expires <= now:
        status, reason = CANCELLED, "hold_expired"
    raw_quote = values["quote"]
    return BookingOut(
        id=values["id"],
        site_id=values["site_id"],
        resource_id=values["resource_id"],
        renter_id=values["renter_id"],
        start=values["starts_at"],
        end=values["ends_at"],
        local_start=values["starts_at"].astimezone(tz).isoformat(),
        local_end=values["ends_at"].astimezone(tz).isoformat(),
        status=status,
        hold_expires_at=expires,
        cancel_reason=reason,
        price_cents=values["price_cents"],
        quote=json.loads(raw_quote) if isinstance(raw_quote, str) else raw_quote,
        created_at=values["created_at"],
    )
