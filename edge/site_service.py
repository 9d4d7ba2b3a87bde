"""The node's site and its resources: read, patch the site profile, list and add resources.

Every change is one journal transaction: the row, an audit event and the record's new state in
the outbox. The scenario part of a site (permits, zoning, ...) is kept in ``Site.profile``
exactly as the compliance engine reads it.
"""

from __future__ import annotations

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from edge.clock import epoch_ms
from edge.errors import InvalidInput, NotFound
from edge.journal import Actor
from edge.services import EdgeServices
from edge.tables import NodeState, Resource, Site
from sync.ids import uuid7
from sync.shapes.site import SITE_PROFILE_FIELDS, ResourceCreate, ResourceOut, SiteOut, SitePatch

SITE_COLUMNS = ("name", "address", "latitude", "longitude")


async def load_site(session: AsyncSession) -> Site:
    """This node's site row."""
    node = (await session.exec(select(NodeState))).one()
    site = await session.get(Site, node.site_id)
    if site is None:
        raise NotFound(f"no site {node.site_id} on this node")
    return site


def site_out(site: Site) -> SiteOut:
    return SiteOut.model_validate(
        {
            **site.profile,
            "id": site.id,
            "name": site.name,
            "jurisdiction": site.jurisdiction,
            "timezone": site.timezone,
            "address": site.address,
            "latitude": site.latitude,
            "longitude": site.longitude,
            "updated_at": site.updated_at,
        }
    )


async def get_site(services: EdgeServices) -> SiteOut:
    async with services.db.read() as session:
        return site_out(await load_site(session))


async def update_site(services: EdgeServices, actor: Actor, patch: SitePatch) -> SiteOut:
    """Apply the keys present in ``patch``; refuses an empty patch or a null name."""
    given = patch.model_fields_set
    if not given:
        allowed = ", ".join(sorted({*SITE_COLUMNS, *SITE_PROFILE_FIELDS}))
        raise InvalidInput(f"nothing to change; send any of {allowed}")
    if "name" in given and patch.name is None:
        raise InvalidInput("the site name cannot be empty", {"field": "name"})
    profile_keys = given & SITE_PROFILE_FIELDS
    now = services.clock.now()
    async with services.journal.write(actor, now) as tx:
        site = await load_site(tx.session)
        for column in given & set(SITE_COLUMNS):
            setattr(site, column, getattr(patch, column))
        site.profile = {**site.profile, **patch.model_dump(mode="json", include=profile_keys)}
        site.updated_at = now
        site.updated_hlc = tx.stamp()
        tx.session.add(site)
        tx.record(
            "site.update",
            "site",
            site.id,
            {"fields": sorted(given)},
            state=site.model_dump(mode="json"),
        )
    return site_out(site)


def resource_out(resource: Resource) -> ResourceOut:
    return ResourceOut.model_validate(resource.model_dump())


async def list_resources(services: EdgeServices) -> list[ResourceOut]:
    async with services.db.read() as session:
        rows = (
            await session.exec(select(Resource).order_by(col(Resource.name), col(Resource.id)))
        ).all()
    return [resource_out(row) for row in rows]


async def create_resource(
    services: EdgeServices, actor: Actor, data: ResourceCreate
) -> ResourceOut:
    """Add a bookable station or room to this node's site."""
    now = services.clock.now()
    async with services.journal.write(actor, now) as tx:
        resource = Resource(
            id=str(uuid7(epoch_ms(now))),
            site_id=tx.node.site_id,
            name=data.name,
            kind=data.kind,
            hourly_rate_cents=data.hourly_rate_cents,
            created_at=now,
            updated_hlc=tx.stamp(),
        )
        tx.session.add(resource)
        details = {
            "name": data.name,
            "kind": data.kind,
            "hourly_rate_cents": data.hourly_rate_cents,
        }
        tx.record(
            "resource.create",
            "resource",
            resource.id,
            details,
            state=resource.model_dump(mode="json"),
        )
    return resource_out(resource)
