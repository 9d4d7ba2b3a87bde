"""Edge API: booking conflicts from sync (site roles read; hosts and admins resolve)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from litestar import get, post
from litestar.params import Body, Parameter

from edge.api.markers import CurrentActor, PathId, Services
from edge.auth_deps import MANAGER_ROLES, SITE_ROLES, require
from edge.conflicts import list_conflicts, resolve_conflict
from sync.shapes.conflicts import ConflictOut, ConflictResolve


@get("/conflicts", tags=["conflicts"])
async def index(
    services: Services,
    actor: CurrentActor,
    status: Annotated[Literal["open", "resolved"] | None, Parameter()] = None,
) -> list[ConflictOut]:
    """Conflicts, newest first, each with both bookings and the actions that resolve it."""
    require(actor, *SITE_ROLES)
    return await list_conflicts(services, status)


@post("/conflicts/{conflict_id:str}/resolve", tags=["conflicts"], status_code=200)
async def resolve(
    services: Services,
    actor: CurrentActor,
    conflict_id: PathId,
    data: Annotated[ConflictResolve, Body()],
) -> ConflictOut:
    """``cancel`` the set-aside booking, or ``move`` it to a free slot; audited and synced."""
    require(actor, *MANAGER_ROLES)
    return await resolve_conflict(services, actor, conflict_id, data)


ROUTES: list[Any] = [index, resolve]
