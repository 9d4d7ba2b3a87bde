"""Edge API: bookings and their moves (confirm, cancel, check-in, check-out) and their verdict."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from litestar import Response, get, post
from litestar.params import JSONBody, QueryParameter

from edge.api.markers import CurrentActor, PathId, Services
from edge.auth_deps import SITE_ROLES, require
from edge.booking_flow import get_visible, list_visible, move
from edge.bookings import booking_out, create_booking
from edge.checkin import verdict_now
from edge.errors import InvalidInput
from sync.shapes.bookings import BookingCreate, BookingOut, CheckInOut, CheckInRequest
from sync.verdicts import Verdict
from sync.vocabulary import Role

ALL_ROLES = (*SITE_ROLES, Role.RENTER)


@post("/bookings", tags=["bookings"])
async def create(
    services: Services, actor: CurrentActor, data: JSONBody[BookingCreate]
) -> Response[BookingOut]:
    """Create a booking (201), or return the same booking again for a retried id (200)."""
    require(actor, *ALL_ROLES)
    booking, created = await create_booking(services, actor, data)
    out = booking_out(booking, services.site.timezone, services.clock.now())
    return Response(out, status_code=201 if created else 200)


@get("/bookings", tags=["bookings"])
async def index(
    services: Services,
    actor: CurrentActor,
    start: Annotated[datetime | None, QueryParameter(name="from", required=False)] = None,
    end: Annotated[datetime | None, QueryParameter(name="to", required=False)] = None,
    resource_id: Annotated[str | None, QueryParameter(max_length=64, required=False)] = None,
) -> list[BookingOut]:
    """Bookings overlapping ``[from, to)`` (aware instants), optionally on one resource."""
    require(actor, *ALL_ROLES)
    for value, name in ((start, "from"), (end, "to")):
        if value is not None and value.tzinfo is None:
            raise InvalidInput(f"{name} needs a UTC offset", {"field": name})
    tz, now = services.site.timezone, services.clock.now()
    async with services.db.read() as session:
        found = await list_visible(session, actor, start, end, resource_id)
    return [booking_out(b, tz, now) for b in found]


@get("/bookings/{booking_id:str}", tags=["bookings"])
async def show(services: Services, actor: CurrentActor, booking_id: PathId) -> BookingOut:
    require(actor, *ALL_ROLES)
    async with services.db.read() as session:
        booking = await get_visible(session, actor, booking_id)
    return booking_out(booking, services.site.timezone, services.clock.now())


async def _move(
    services: Services, actor: CurrentActor, booking_id: str, action: str
) -> BookingOut:
    require(actor, *ALL_ROLES)
    booking, _ = await move(services, actor, booking_id, action)
    return booking_out(booking, services.site.timezone, services.clock.now())


@post("/bookings/{booking_id:str}/confirm", status_code=200, tags=["bookings"])
async def confirm(services: Services, actor: CurrentActor, booking_id: PathId) -> BookingOut:
    return await _move(services, actor, booking_id, "confirm")


@post("/bookings/{booking_id:str}/cancel", status_code=200, tags=["bookings"])
async def cancel(services: Services, actor: CurrentActor, booking_id: PathId) -> BookingOut:
    return await _move(services, actor, booking_id, "cancel")


@post("/bookings/{booking_id:str}/check-out", status_code=200, tags=["bookings"])
async def check_out(services: Services, actor: CurrentActor, booking_id: PathId) -> BookingOut:
    return await _move(services, actor, booking_id, "check_out")


@post("/bookings/{booking_id:str}/check-in", status_code=200, tags=["bookings"])
async def check_in(
    services: Services,
    actor: CurrentActor,
    booking_id: PathId,
    data: JSONBody[CheckInRequest | None] = None,
) -> CheckInOut:
    """Run the compliance engine; DENY answers 412 unless a host gives ``override_reason``."""
    require(actor, *SITE_ROLES)
    reason = data.override_reason if data else None
    booking, verdict = await move(services, actor, booking_id, "check_in", reason)
    assert verdict is not None  # noqa: S101 - check_in always evaluates
    out = booking_out(booking, services.site.timezone, services.clock.now())
    return CheckInOut(
        booking=out, verdict=verdict, override_reason=reason if verdict.result == "DENY" else None
    )


@get("/bookings/{booking_id:str}/compliance", tags=["bookings"])
async def compliance(services: Services, actor: CurrentActor, booking_id: PathId) -> Verdict:
    """The verdict for this booking now (nothing is stored)."""
    require(actor, *ALL_ROLES)
    async with services.db.read() as session:
        booking = await get_visible(session, actor, booking_id)
        return await verdict_now(services, session, booking)


ROUTES: list[Any] = [create, index, show, confirm, cancel, check_in, check_out, compliance]
