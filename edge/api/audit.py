"""Edge API: read the audit log a page at a time, and verify its hash chain (site roles)."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import get
from litestar.params import Parameter

from edge.api.markers import CurrentActor, Services
from edge.audit_verify import read_events, verify_chain
from edge.auth_deps import SITE_ROLES, require
from sync.shapes.audit import AuditPage, ChainReport


@get("/audit", tags=["audit"])
async def events(
    services: Services,
    actor: CurrentActor,
    after_seq: Annotated[int, Parameter(ge=0)] = 0,
    limit: Annotated[int, Parameter(ge=1, le=1000)] = 100,
) -> AuditPage:
    """Audit events after ``after_seq``; follow ``next_after_seq`` for the next page."""
    require(actor, *SITE_ROLES)
    async with services.db.read() as session:
        return await read_events(session, after_seq, limit)


@get("/audit/verify", tags=["audit"])
async def verify(services: Services, actor: CurrentActor) -> ChainReport:
    """Walk the whole chain: ``ok``, events ``checked``, and the first bad sequence if any."""
    require(actor, *SITE_ROLES)
    async with services.db.read() as session:
        return await verify_chain(session)


ROUTES: list[Any] = [events, verify]
