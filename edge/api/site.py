"""Edge API: site setup — the site (``/site``), its resources and its renters."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import get, patch, post
from litestar.params import JSONBody, QueryParameter

from edge import renters, site_service
from edge.api.markers import CurrentActor, PathId, Services
from edge.auth_deps import MANAGER_ROLES, SITE_ROLES, require
from sync.shapes.site import (
    MAX_EMAIL,
    MAX_PHONE,
    RenterCreate,
    RenterOut,
    ResourceCreate,
    ResourceOut,
    SiteOut,
    SitePatch,
)
from sync.vocabulary import Role

Limit = Annotated[int, QueryParameter(ge=1, le=500, description="page size")]
Offset = Annotated[int, QueryParameter(ge=0, description="rows to skip")]


@get("/site", tags=["site"])
async def read_site(services: Services, actor: CurrentActor) -> SiteOut:
    """This node's site with its scenario profile."""
    require(actor, *SITE_ROLES)
    return await site_service.get_site(services)


@patch("/site", tags=["site"])
async def update_site(
    services: Services, actor: CurrentActor, data: JSONBody[SitePatch]
) -> SiteOut:
    """Change the keys sent (hosts and admins)."""
    require(actor, *MANAGER_ROLES)
    return await site_service.update_site(services, actor, data)


@get("/resources", tags=["site"])
async def list_resources(services: Services, actor: CurrentActor) -> list[ResourceOut]:
    require(actor, *SITE_ROLES)
    return await site_service.list_resources(services)


@post("/resources", tags=["site"])
async def create_resource(
    services: Services, actor: CurrentActor, data: JSONBody[ResourceCreate]
) -> ResourceOut:
    """Add a bookable station or room (hosts and admins); 201 with its ``id``."""
    require(actor, *MANAGER_ROLES)
    return await site_service.create_resource(services, actor, data)


@get("/renters", tags=["renters"])
async def list_renters(
    services: Services,
    actor: CurrentActor,
    email: Annotated[str | None, QueryParameter(max_length=MAX_EMAIL, required=False)] = None,
    phone: Annotated[str | None, QueryParameter(max_length=MAX_PHONE, required=False)] = None,
    limit: Limit = 100,
    offset: Offset = 0,
) -> list[RenterOut]:
    """Renters of this site; ``email`` or ``phone`` find exact matches."""
    require(actor, *SITE_ROLES)
    return await renters.list_renters(
        services, email=email, phone=phone, limit=limit, offset=offset
    )


@post("/renters", tags=["renters"])
async def create_renter(
    services: Services, actor: CurrentActor, data: JSONBody[RenterCreate]
) -> RenterOut:
    """Register a renter (site roles); 201 with its ``id``."""
    require(actor, *SITE_ROLES)
    return await renters.create_renter(services, actor, data)


@get("/renters/{renter_id:str}", tags=["renters"])
async def read_renter(services: Services, actor: CurrentActor, renter_id: PathId) -> RenterOut:
    """One renter; a renter account sees only its own."""
    require(actor, *SITE_ROLES, Role.RENTER)
    return await renters.read_renter(services, actor, renter_id)


ROUTES: list[Any] = [
    read_site,
    update_site,
    list_resources,
    create_resource,
    list_renters,
    create_renter,
    read_renter,
]
