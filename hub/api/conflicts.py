"""Hub API: booking conflicts from sync (``GET /conflicts``) and resolving one by cancelling."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from litestar import get, post
from litestar.di import NamedDependency
from litestar.params import JSONBody, QueryParameter

from hub import conflicts
from hub.api.bookings import HUB_CLOCK_DEPENDENCY, SiteId
from hub.api.markers import CurrentActor, PathId, Services, Session
from hub.hub_clock import HubClock
from hub.users import require
from sync.shapes.conflicts import ConflictOut, ConflictResolve
from sync.vocabulary import Role

TAGS = ["conflicts"]
Status = Annotated[Literal["open", "resolved"] | None, QueryParameter(required=False)]


@get("/conflicts", tags=TAGS)
async def index(
    services: Services,
    session: Session,
    actor: CurrentActor,
    site_id: SiteId = None,
    status: Status = None,
) -> list[ConflictOut]:
    """Conflicts, newest first, with both bookings side by side (central roles: any site;
    hosts: their own)."""
    require(actor, Role.ADMIN, Role.SUPPORT, Role.HOST)
    return await conflicts.list_conflicts(session, actor, services.clock.now(), site_id, status)


@post(
    "/conflicts/{conflict_id:str}/resolve",
    tags=TAGS,
    status_code=200,
    dependencies=HUB_CLOCK_DEPENDENCY,
)
async def resolve(
    services: Services,
    session: Session,
    actor: CurrentActor,
    hub_clock: NamedDependency[HubClock],
    conflict_id: PathId,
    data: JSONBody[ConflictResolve],
) -> ConflictOut:
    """``cancel`` the set-aside booking; the booking and the conflict replicate to the site."""
    require(actor, Role.ADMIN, Role.HOST)
    now = services.clock.now()
    return await conflicts.resolve_conflict(session, hub_clock, now, actor, conflict_id, data)


ROUTES: list[Any] = [index, resolve]
