"""Edge API: the node's sync status (site roles).

Sync with a hub is not built yet: the node reports itself not enrolled and offline, with what
is waiting in its outbox and the reference version in use.
"""

from __future__ import annotations

from typing import Any

from litestar import get
from sqlalchemy import func
from sqlmodel import select

from edge.api.markers import CurrentActor, Services
from edge.auth_deps import SITE_ROLES, require
from edge.tables import OutboxChange
from sync.shapes.sync_status import SyncStatus


@get("/sync/status", tags=["sync"])
async def status(services: Services, actor: CurrentActor) -> SyncStatus:
    """Enrolment, connectivity, outbox depth and age, reference version."""
    require(actor, *SITE_ROLES)
    query = select(func.count(), func.min(OutboxChange.created_at))
    async with services.db.read() as session:
        depth, oldest = (await session.exec(query)).one()
    return SyncStatus(
        enrolled=False,
        online=False,
        outbox_depth=depth,
        oldest_unsent_at=oldest,
        reference_version=services.reference.version,
    )


ROUTES: list[Any] = [status]
