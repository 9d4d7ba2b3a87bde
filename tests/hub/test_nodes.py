"""The fleet view (``GET /api/v1/nodes``) and revoking a node."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from litestar import Litestar
from litestar.testing import AsyncTestClient

from hub.db import Database
from hub.tables import Conflict, Node
from tests.hub.conftest import START, Headers, add_site

Client = AsyncTestClient[Litestar]


def node(node_id: str, site_id: str, **fields: Any) -> Node:
    return Node(id=node_id, site_id=site_id, name=f"{node_id} door", public_key="pem",
                enrolled_at=START - timedelta(days=30), **fields)  # fmt: skip


def conflict(conflict_id: str, site_id: str, status: str = "open") -> Conflict:
    return Conflict(
        id=conflict_id, site_id=site_id, keeper_id="b1", loser_id="b2", rule="checked_in",
        status=status, created_at=START, updated_hlc="0",
    )  # fmt: skip


async def seed(db: Database) -> None:
    mission = await add_site(db, "site-1", "Mission Kitchen")
    bayview = await add_site(db, "site-2", "Bayview Kitchen")
    async with db.write() as session:
        session.add_all([
            node("node-a", mission, last_seen_at=START - timedelta(seconds=30), high_water=42,
                 reported_outbox_depth=3, reported_oldest_unsent_at=START - timedelta(minutes=2),
                 clock_offset_ms=-120, audit_gap_after=40),
            node("node-b", bayview, last_seen_at=START, high_water=7, reported_outbox_depth=0),
            node("node-c", bayview),
            conflict("c1", mission), conflict("c2", mission), conflict("c3", mission, "resolved"),
        ])  # fmt: skip


async def test_the_fleet_view_shows_each_nodes_sync_health(
    hub_client: Client, hub_db: Database, admin_headers: Headers
) -> None:
    await seed(hub_db)
    response = await hub_client.get("/api/v1/nodes", headers=admin_headers)
    assert response.status_code == 200
    nodes = {n["id"]: n for n in response.json()}
    assert [n["id"] for n in response.json()] == ["node-b", "node-c", "node-a"]  # by site name
    a, b, c = nodes["node-a"], nodes["node-b"], nodes["node-c"]
    assert a["site_name"] == "Mission Kitchen" and a["site_id"] == "site-1"
    assert (a["high_water"], a["reported_outbox_depth"], a["lag_s"]) == (42, 3, 120.0)
    assert (a["last_seen_age_s"], a["clock_offset_ms"], a["audit_gap_after"]) == (30.0, -120, 40)
    assert (a["open_conflicts"], b["open_conflicts"]) == (2, 0)
    assert (b["lag_s"], b["last_seen_age_s"]) == (0.0, 0.0)  # an empty outbox: no lag
    assert (c["lag_s"], c["last_seen_at"], c["reported_outbox_depth"]) == (None, None, None)
    assert not any(n["revoked"] for n in nodes.values())


async def test_revoking_a_node_is_recorded_once(
    hub_client: Client, hub_db: Database, admin_headers: Headers
) -> None:
    await seed(hub_db)
    first = await hub_client.post("/api/v1/nodes/node-a/revoke", headers=admin_headers)
    assert first.status_code == 200
    assert first.json()["revoked"] is True
    assert first.json()["revoked_at"].startswith("2025-11-05T16:00:00")
    async with hub_db.read() as session:
        stored = await session.get(Node, "node-a")
    assert stored is not None and stored.revoked_at == START
    again = await hub_client.post("/api/v1/nodes/node-a/revoke", headers=admin_headers)
    assert again.json()["revoked_at"] == first.json()["revoked_at"]
    listed = await hub_client.get("/api/v1/nodes", headers=admin_headers)
    assert [n["id"] for n in listed.json() if n["revoked"]] == ["node-a"]


async def test_revoking_an_unknown_node_is_404(hub_client: Client, admin_headers: Headers) -> None:
    response = await hub_client.post("/api/v1/nodes/nope/revoke", headers=admin_headers)
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


async def test_the_fleet_gauges_are_on_metrics(
    hub_client: Client, hub_db: Database, admin_headers: Headers
) -> None:
    await seed(hub_db)
    await hub_client.post("/api/v1/nodes/node-c/revoke", headers=admin_headers)
    text = (await hub_client.get("/metrics")).text
    assert 'prep_hub_nodes{state="active"} 2.0' in text
    assert 'prep_hub_nodes{state="revoked"} 1.0' in text
    assert "prep_hub_open_conflicts 2.0" in text
    assert 'prep_hub_node_outbox_depth{node_id="node-a"} 3.0' in text
    assert 'prep_hub_node_lag_seconds{node_id="node-a"} 120.0' in text
