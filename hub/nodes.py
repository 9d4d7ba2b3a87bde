"""The fleet: each enrolled edge's sync health, and revoking a node.

A revoked node keeps its row (its history stays attributable); the sync endpoints refuse its
signed requests from ``revoked_at`` on.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import func
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from hub.errors import NotFound
from hub.shapes import NodeHealth
from hub.tables import Conflict, Node, Site


async def list_nodes(session: AsyncSession, now: datetime) -> list[NodeHealth]:
    """Every node, by site name then id."""
    return await _health(session, now)


async def revoke_node(session: AsyncSession, node_id: str, now: datetime) -> NodeHealth:
    """Mark ``node_id`` revoked as of ``now`` (a node revoked before keeps its first date)."""
    node = await session.get(Node, node_id, with_for_update=True)
    if node is None:
        raise NotFound(f"no node {node_id}")
    if node.revoked_at is None:
        node.revoked_at = now
        session.add(node)
        await session.flush()
    (health,) = await _health(session, now, node_id)
    return health


async def _health(
    session: AsyncSession, now: datetime, node_id: str | None = None
) -> list[NodeHealth]:
    open_conflicts = (
        select(Conflict.site_id, func.count().label("n"))
        .where(Conflict.status == "open")
        .group_by(col(Conflict.site_id))
        .subquery()
    )
    query: Any = (
        select(Node, Site.name, func.coalesce(open_conflicts.c.n, 0))
        .join(Site, col(Site.id) == col(Node.site_id))
        .outerjoin(open_conflicts, open_conflicts.c.site_id == col(Node.site_id))
        .order_by(col(Site.name), col(Node.id))
    )
    if node_id is not None:
        query = query.where(col(Node.id) == node_id)
    rows = (await session.exec(query)).all()
    return [_shape(node, site_name, int(conflicts), now) for node, site_name, conflicts in rows]


def _shape(node: Node, site_name: str, open_conflicts: int, now: datetime) -> NodeHealth:
    return NodeHealth(
        id=node.id,
        name=node.name,
        site_id=node.site_id,
        site_name=site_name,
        enrolled_at=node.enrolled_at,
        revoked=node.revoked_at is not None,
        revoked_at=node.revoked_at,
        last_seen_at=node.last_seen_at,
        last_seen_age_s=_age(node.last_seen_at, now),
        high_water=node.high_water,
        reported_outbox_depth=node.reported_outbox_depth,
        reported_oldest_unsent_at=node.reported_oldest_unsent_at,
        lag_s=_lag(node, now),
        clock_offset_ms=node.clock_offset_ms,
        audit_gap_after=node.audit_gap_after,
        open_conflicts=open_conflicts,
    )


def _age(moment: datetime | None, now: datetime) -> float | None:
    return None if moment is None else max((now - moment).total_seconds(), 0.0)


def _lag(node: Node, now: datetime) -> float | None:
    """Age of the oldest unsent change the node reported; 0 for an empty outbox."""
    if node.reported_oldest_unsent_at is not None:
        return _age(node.reported_oldest_unsent_at, now)
    return 0.0 if node.reported_outbox_depth == 0 else None
