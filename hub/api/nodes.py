"""Hub API: the fleet's sync health and node revocation (``/nodes``)."""

from __future__ import annotations

from typing import Any

from litestar import get, post

from hub import nodes
from hub.api.markers import CurrentActor, PathId, Services, Session
from hub.shapes import NodeHealth
from hub.users import CENTRAL_ROLES, require
from sync.vocabulary import Role

TAGS = ["nodes"]


@get("/nodes", tags=TAGS)
async def list_nodes(services: Services, session: Session, actor: CurrentActor) -> list[NodeHealth]:
    """Every enrolled edge: site, last contact, push high-water, reported outbox, lag, conflicts."""
    require(actor, *CENTRAL_ROLES)
    return await nodes.list_nodes(session, services.clock.now())


@post("/nodes/{node_id:str}/revoke", status_code=200, tags=TAGS)
async def revoke(
    services: Services, session: Session, actor: CurrentActor, node_id: PathId
) -> NodeHealth:
    """Revoke a node: its signed requests are refused from now on (idempotent)."""
    require(actor, Role.ADMIN)
    return await nodes.revoke_node(session, node_id, services.clock.now())


ROUTES: list[Any] = [list_nodes, revoke]
