"""Hub API: bookings made online (``POST /bookings``), and reading them (``GET /bookings``).

The hub's logical clock and the reference rule-book cache live once per app, in its state
(``hub_clock``, ``reference``: created on first use); handlers needing them name them.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from litestar import Response, get, post
from litestar.datastructures import State
from litestar.di import NamedDependency, Provide
from litestar.params import JSONBody, QueryParameter

from hub.api.markers import CurrentActor, PathId, Services, Session
from hub.bookings.online import Desk, OnlineBooking, create_booking
from hub.bookings.views import get_booking, list_bookings
from hub.errors import InvalidInput
from hub.hub_clock import HubClock
from hub.reference import ReferenceCache
from hub.services import HubServices
from hub.users import require
from sync.pii import PiiCipher
from sync.shapes.bookings import BookingOut
from sync.vocabulary import Role

TAGS = ["bookings"]
HUB_CLOCK, REFERENCE = "hub_clock", "reference"
SiteId = Annotated[str | None, QueryParameter(max_length=128, required=False)]


def provide_hub_clock(state: State, services: NamedDependency[HubServices]) -> HubClock:
    """The app's one hybrid logical clock (stamps never go backwards within the process)."""
    clock = state.get(HUB_CLOCK)
    if not isinstance(clock, HubClock):
        clock = HubClock(services.clock)
        state[HUB_CLOCK] = clock
    return clock


def provide_reference(state: State) -> ReferenceCache:
    """The app's cache of the latest published reference bundle's rule book."""
    cache = state.get(REFERENCE)
    if not isinstance(cache, ReferenceCache):
        cache = ReferenceCache()
        state[REFERENCE] = cache
    return cache


HUB_CLOCK_DEPENDENCY: dict[str, Any] = {HUB_CLOCK: Provide(provide_hub_clock, sync_to_thread=False)}


def _pii(services: HubServices) -> PiiCipher:
    settings = services.settings
    return PiiCipher(
        settings.pii_key.get_secret_value(), settings.blind_index_key.get_secret_value()
    )


def aware(value: datetime | None, name: str) -> datetime | None:
    if value is not None and value.tzinfo is None:
        raise InvalidInput(f"{name} needs a UTC offset", {"field": name})
    return value


@post(
    "/bookings",
    tags=TAGS,
    dependencies={
        **HUB_CLOCK_DEPENDENCY,
        REFERENCE: Provide(provide_reference, sync_to_thread=False),
    },
)
async def create(
    services: Services,
    session: Session,
    actor: CurrentActor,
    hub_clock: NamedDependency[HubClock],
    reference: NamedDependency[ReferenceCache],
    data: JSONBody[OnlineBooking],
) -> Response[BookingOut]:
    """Book online (201), or get the same booking again for a retried id (200); it replicates
    to the site's edge. Admins, the site's hosts, and renters for themselves."""
    require(actor, Role.ADMIN, Role.HOST, Role.RENTER)
    desk = Desk(services.clock.now(), hub_clock, reference, _pii(services))
    out, created = await create_booking(session, desk, actor, data)
    return Response(out, status_code=201 if created else 200)


@get("/bookings", tags=TAGS)
async def index(
    services: Services,
    session: Session,
    actor: CurrentActor,
    site_id: SiteId = None,
    start: Annotated[datetime | None, QueryParameter(name="from", required=False)] = None,
    end: Annotated[datetime | None, QueryParameter(name="to", required=False)] = None,
) -> list[BookingOut]:
    """Bookings overlapping ``[from, to)`` (aware instants): central roles any site, site
    accounts their own, renters their own bookings."""
    return await list_bookings(
        session, actor, services.clock.now(), site_id, aware(start, "from"), aware(end, "to")
    )


@get("/bookings/{booking_id:str}", tags=TAGS)
async def show(
    services: Services, session: Session, actor: CurrentActor, booking_id: PathId
) -> BookingOut:
    """One booking the caller may see (any other is a 404)."""
    return await get_booking(session, actor, services.clock.now(), booking_id)


ROUTES: list[Any] = [create, index, show]
