"""Edge API: the node's link to its hub (site roles), and a sync round on demand (managers)."""

from __future__ import annotations

from typing import Any

from litestar import get, post
from litestar.di import NamedDependency

from edge.api.markers import CurrentActor, Services
from edge.auth_deps import MANAGER_ROLES, SITE_ROLES, require
from edge.sync_runner import SyncRunner, sync_status
from sync.shapes.sync_status import SyncStatus

Runner = NamedDependency[SyncRunner]
"""The node's sync runner (``app.state.sync_runner``)."""


@get("/sync/status", tags=["sync"])
async def status(services: Services, actor: CurrentActor) -> SyncStatus:
    """Enrolment, online or offline since when, outbox depth and age, last push and pull,
    open conflicts, clock offset against the hub, reference version."""
    require(actor, *SITE_ROLES)
    return await sync_status(services)


@post("/sync/run", tags=["sync"], status_code=202)
async def run(actor: CurrentActor, runner: Runner) -> dict[str, str]:
    """Start a push and pull now; the round runs in the background (see ``/sync/status``)."""
    require(actor, *MANAGER_ROLES)
    runner.start_background()
    return {"status": "started"}


ROUTES: list[Any] = [status, run]
