"""Booking online on the hub: check, price and insert one booking, then feed it to its site.

Idempotent on a client id: the same request again answers the stored booking (200), another
request under that id is a 409. Everything that writes runs under the site's advisory lock and
in the request's transaction, so a refused booking leaves nothing behind, not even a feed row.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import asyncpg
from pydantic import model_validator
from sqlmodel.ext.asyncio.session import AsyncSession

from hub.bookings.lapse import FeedRow, lapse
from hub.bookings.rules import HOLD_MINUTES, SlotTaken, check_limits, check_span
from hub.bookings.views import booking_out, fetch_booking, payload_values, renter_scope, site_zone
from hub.clock import epoch_ms
from hub.errors import Conflict, Forbidden, InvalidInput, NotFound
from hub.hub_clock import HUB_NODE, HubClock
from hub.reference import ReferenceCache
from hub.sync_feed import append_feed, booking_payload, driver
from hub.tables import OCCUPYING_STATUSES, Renter, Resource, Site
from hub.users import Actor
from reference_db.errors import UnknownJurisdiction
from reference_db.fees import quote
from reference_db.localtime import to_utc
from sync.ids import is_uuid7, uuid7
from sync.pii import PiiCipher
from sync.quotes import QuoteRequest
from sync.shapes.bookings import BookingCreate, BookingOut
from sync.vocabulary import BookingStatus, Role


class OnlineBooking(BookingCreate):
    """The edge's create shape; start and end are compared once both are placed in the site's
    zone (``rules.check_span``), so an inverted span is a 422 like the other booking rules."""

    @model_validator(mode="after")
    def _end_after_start(self) -> OnlineBooking:
        return self


@dataclass(frozen=True)
class Desk:
    """What booking needs besides the session: now, stamps, the rule book, the PII keys."""

    now: datetime
    hlc: HubClock
    reference: ReferenceCache
    pii: PiiCipher


@dataclass(frozen=True)
class Parties:
    resource: Resource
    site: Site
    renter: Renter


async def create_booking(
    session: AsyncSession, desk: Desk, actor: Actor, data: BookingCreate
) -> tuple[BookingOut, bool]:
    """Insert a booking, or answer the same one again for a retried id; True if created."""
    if data.id is not None and not is_uuid7(data.id):
        raise InvalidInput("id must be a UUIDv7", {"field": "id"})
    parties = await _parties(session, actor, data)
    tz = site_zone(parties.site)
    start, end = to_utc(data.start, tz), to_utc(data.end, tz)
    conn = await driver(session)
    if data.id is not None and (existing := await fetch_booking(conn, data.id)) is not None:
        return _same_request(existing, data, start, end, tz, desk.now), False
    check_span(start, end, desk.now)
    priced = await _price(session, desk, parties, start, end)
    await conn.execute("SELECT pg_advisory_xact_lock(hashtext($1))", f"site:{parties.site.id}")
    feed = await _expire_holds(conn, desk, data.resource_id, start, end)
    row = await _insert(conn, desk, data, parties.site.id, start, end, priced)
    if row is None:  # the same id committed meanwhile: a retry that raced its first attempt
        existing = await fetch_booking(conn, data.id or "")
        if existing is None:
            raise Conflict("a booking with this id already exists", {"id": data.id})
        return _same_request(existing, data, start, end, tz, desk.now), False
    renter, payload = parties.renter, booking_payload(row)
    contact = renter_payload(renter, desk.pii)
    feed.append(("renter", renter.id, "upsert", contact, renter.updated_hlc, HUB_NODE))
    feed.append(("booking", row["id"], "upsert", payload, payload["updated_hlc"], HUB_NODE))
    await append_feed(conn, parties.site.id, list(feed), desk.now)
    return booking_out(payload_values(payload), tz, desk.now), True


async def _parties(session: AsyncSession, actor: Actor, data: BookingCreate) -> Parties:
    """The resource, its site and the renter; who may book them (404 before 403)."""
    resource = await session.get(Resource, data.resource_id)
    site = await session.get(Site, resource.site_id) if resource and resource.active else None
    if resource is None or site is None:
        raise NotFound("no such resource", {"resource_id": data.resource_id})
    if actor.role is Role.HOST and actor.site_id != site.id:
        raise Forbidden("a host books only at their own site")
    renter = await session.get(Renter, data.renter_id)
    if renter is None:
        raise NotFound("no such renter", {"renter_id": data.renter_id})
    if actor.role is Role.RENTER:
        own = await renter_scope(session, actor)
        if own is None:
            raise Forbidden("this renter account is not linked to a renter")
        if own != renter.id:
            raise Forbidden("a renter may book only for themselves")
    return Parties(resource, site, renter)


async def _price(
    session: AsyncSession, desk: Desk, parties: Parties, start: datetime, end: datetime
) -> dict[str, Any]:
    """Check the jurisdiction's rental limits and quote the booking (the quote as JSON)."""
    site = parties.site
    if not site.jurisdiction:
        raise Conflict("the site's jurisdiction is not known yet", {"site_id": site.id})
    rulebook = await desk.reference.rulebook(session)
    try:
        rules = rulebook.resolve(site.jurisdiction)
    except UnknownJurisdiction:
        raise Conflict(
            f"the reference bundle has no rules for {site.jurisdiction}",
            {"jurisdiction": site.jurisdiction},
        ) from None
    check_limits(start, end, desk.now, rules.rental)
    hours = Decimal((end - start).total_seconds()) / 3600
    rate = parties.resource.hourly_rate_cents
    request = QuoteRequest(jurisdiction=rules.id, hours=hours, hourly_rate_cents=rate)
    return quote(request, rulebook).model_dump(mode="json")


async def _expire_holds(
    conn: asyncpg.Connection, desk: Desk, resource_id: str, start: datetime, end: datetime
) -> list[FeedRow]:
    """Lapse expired holds on the requested time (lazily: nothing had to run at expiry); a
    lapse, unlike a cancel, gives way to a confirmation its edge made offline (``lapse``)."""
    stale = await conn.fetch(
        "SELECT id, updated_hlc FROM booking WHERE resource_id = $1 AND status = 'hold'"
        " AND hold_expires_at <= $2 AND tstzrange(starts_at, ends_at, '[)')"
        " && tstzrange($3, $4, '[)') ORDER BY id FOR UPDATE",
        resource_id,
        desk.now,
        start,
        end,
    )
    if not stale:
        return []
    stamp = desk.hlc.stamp(*(r["updated_hlc"] for r in stale))
    return await lapse(conn, [r["id"] for r in stale], stamp, desk.now, HUB_NODE)


_INSERT = (
    "INSERT INTO booking (id, site_id, resource_id, renter_id, starts_at, ends_at, status,"
    " hold_expires_at, price_cents, quote, paid, confirmed_hlc, origin_node, created_at,"
    " updated_at, updated_hlc) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10::jsonb, false,"
    " $11, $12, $13, $13, $14) ON CONFLICT (id) DO NOTHING RETURNING *"
)


async def _insert(
    conn: asyncpg.Connection,
    desk: Desk,
    data: BookingCreate,
    site_id: str,
    start: datetime,
    end: datetime,
    priced: dict[str, Any],
) -> asyncpg.Record | None:
    """Insert the booking (None if its id is taken); ``SlotTaken`` if its slot is."""
    stamp = desk.hlc.stamp()
    hold = data.status == BookingStatus.HOLD.value
    try:
        async with conn.transaction():  # a savepoint: a refused insert leaves the rest intact
            return await conn.fetchrow(
                _INSERT,
                data.id or str(uuid7(epoch_ms(desk.now))),
                site_id,
                data.resource_id,
                data.renter_id,
                start,
                end,
                data.status,
                desk.now + timedelta(minutes=HOLD_MINUTES) if hold else None,
                priced["total_cents"],
                json.dumps(priced),
                None if hold else stamp,
                HUB_NODE,
                desk.now,
                stamp,
            )
    except asyncpg.ExclusionViolationError:
        raise await _slot_taken(conn, data.resource_id, start, end) from None


async def _slot_taken(
    conn: asyncpg.Connection, resource_id: str, start: datetime, end: datetime
) -> SlotTaken:
    clash = await conn.fetchrow(
        "SELECT id, starts_at, ends_at, status FROM booking WHERE resource_id = $1"
        " AND status = ANY($2::text[]) AND tstzrange(starts_at, ends_at, '[)')"
        " && tstzrange($3, $4, '[)') ORDER BY starts_at LIMIT 1",
        resource_id,
        list(OCCUPYING_STATUSES),
        start,
        end,
    )
    details: dict[str, Any] = {}
    if clash is not None:
        details["clashing_booking"] = {
            "id": clash["id"],
            "start": clash["starts_at"].isoformat(),
            "end": clash["ends_at"].isoformat(),
            "status": clash["status"],
        }
    return SlotTaken("the resource is already booked for part of that time", details)


def _same_request(
    existing: Mapping[str, Any],
    data: BookingCreate,
    start: datetime,
    end: datetime,
    tz: ZoneInfo,
    now: datetime,
) -> BookingOut:
    asked = (data.resource_id, data.renter_id, start, end)
    held = tuple(existing[k] for k in ("resource_id", "renter_id", "starts_at", "ends_at"))
    if asked != held:
        raise Conflict("a different booking already has this id", {"id": existing["id"]})
    return booking_out(existing, tz, now)


def renter_payload(renter: Renter, pii: PiiCipher) -> dict[str, Any]:
    """A renter in the edge's shape for the feed; contact details stay sealed under the hub's
    key at rest (``hub.sync_pull`` opens them only into the signed answer to the site's edge)."""
    return {
        "id": renter.id,
        "name": renter.name,
        "profile": renter.profile,
        "email_sealed": _b64(renter.email_cipher),
        "phone_sealed": _b64(renter.phone_cipher),
        "created_at": None,  # the hub does not keep it: the edge takes the time it arrives
        "updated_hlc": renter.updated_hlc,
    }


def _b64(sealed: bytes | None) -> str | None:
    return base64.b64encode(sealed).decode() if sealed else None
