"""Conflicts on the hub: listed with both bookings side by side, resolved by cancelling the loser.

Each test sets up collisions as sync leaves them (two bookings on one slot, the loser in status
``conflict``, an open Conflict record under the pair's id) by writing the rows directly.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy import text

from edge.tables import Conflict as EdgeConflict
from hub.db import Database
from hub.tables import Booking, Conflict
from sync.conflicts import conflict_id
from tests.hub.conftest import START, Headers, Login, add_site

Client = AsyncTestClient[Litestar]
EDGE_STAMP = "1762358400500-00002-node-a"  # half a second ahead of the hub's clock
MISSION = conflict_id("k-1", "l-1")
BAYVIEW = conflict_id("k-2", "l-2")


def booking(booking_id: str, site_id: str, status: str, origin: str) -> Booking:
    start = START + timedelta(days=1, hours=2)  # 2025-11-06 10:00 in San Francisco
    return Booking(
        id=booking_id, site_id=site_id, resource_id=f"r-{site_id}", renter_id=f"renter-{origin}",
        starts_at=start, ends_at=start + timedelta(hours=4), status=status, price_cents=20700,
        quote={"total_cents": 20700}, confirmed_hlc=EDGE_STAMP, origin_node=origin,
        created_at=START, updated_at=START, updated_hlc=EDGE_STAMP,
    )  # fmt: skip


def conflict(ident: str, site_id: str, keeper: str, loser: str) -> Conflict:
    return Conflict(
        id=ident, site_id=site_id, keeper_id=keeper, loser_id=loser, rule="earlier_confirmation",
        status="open", created_at=START, updated_hlc=EDGE_STAMP,
    )  # fmt: skip


async def seed(db: Database) -> None:
    await add_site(db, "site-1")
    await add_site(db, "site-2", "Bayview Kitchen")
    async with db.write() as session:
        session.add_all([
            booking("k-1", "site-1", "confirmed", "hub"),
            booking("l-1", "site-1", "conflict", "node-a"),
            booking("k-2", "site-2", "confirmed", "hub"),
            booking("l-2", "site-2", "conflict", "node-b"),
        ])  # fmt: skip
        await session.flush()
        session.add_all(
            [conflict(MISSION, "site-1", "k-1", "l-1"), conflict(BAYVIEW, "site-2", "k-2", "l-2")]
        )


async def rows(db: Database, sql: str, **params: Any) -> list[dict[str, Any]]:
    async with db.read() as session:
        result = await (await session.connection()).execute(text(sql), params)
        return [dict(row) for row in result.mappings()]


async def feed(db: Database) -> list[dict[str, Any]]:
    sql = "SELECT site_id, entity, entity_id, payload, hlc, origin FROM feed ORDER BY hub_seq"
    return await rows(db, sql)


def resolve_path(ident: str) -> str:
    return f"/api/v1/conflicts/{ident}/resolve"


# --- listing ----------------------------------------------------------------------------------


async def test_conflicts_are_listed_with_both_bookings_side_by_side(
    hub_client: Client, hub_db: Database, admin_headers: Headers
) -> None:
    await seed(hub_db)
    listed = await hub_client.get("/api/v1/conflicts?site_id=site-1", headers=admin_headers)
    assert listed.status_code == 200
    (one,) = listed.json()
    assert (one["id"], one["status"], one["rule"]) == (MISSION, "open", "earlier_confirmation")
    assert (one["keeper"]["id"], one["keeper"]["status"]) == ("k-1", "confirmed")
    assert (one["loser"]["id"], one["loser"]["status"]) == ("l-1", "conflict")
    assert one["loser"]["local_start"] == "2025-11-06T10:00:00-08:00"
    assert one["actions"] == ["cancel"] and one["resolution"] is None
    everything = await hub_client.get("/api/v1/conflicts?status=open", headers=admin_headers)
    assert {c["id"] for c in everything.json()} == {MISSION, BAYVIEW}
    done = await hub_client.get("/api/v1/conflicts?status=resolved", headers=admin_headers)
    assert done.json() == []
    odd = await hub_client.get("/api/v1/conflicts?status=maybe", headers=admin_headers)
    assert odd.status_code == 400


async def test_a_host_sees_only_their_own_sites_conflicts(
    hub_client: Client, hub_db: Database, login: Login
) -> None:
    await seed(hub_db)
    host = await login("host")  # of site-1
    mine = await hub_client.get("/api/v1/conflicts", headers=host)
    assert [c["id"] for c in mine.json()] == [MISSION]
    theirs = await hub_client.get("/api/v1/conflicts?site_id=site-2", headers=host)
    assert theirs.status_code == 403
    support = await hub_client.get("/api/v1/conflicts", headers=await login("support"))
    assert len(support.json()) == 2


# --- resolving --------------------------------------------------------------------------------


async def test_cancelling_the_loser_resolves_the_conflict_and_feeds_both_to_the_site(
    hub_client: Client, hub_db: Database, login: Login
) -> None:
    await seed(hub_db)
    host = await login("host")
    response = await hub_client.post(
        resolve_path(MISSION), json={"action": "cancel", "note": "renter moved"}, headers=host
    )
    assert response.status_code == 200, response.text
    out = response.json()
    assert (out["status"], out["resolution"]) == ("resolved", "cancelled l-1: renter moved")
    assert (out["resolved_by"], out["actions"]) == ("host@prep.test", [])
    assert (out["loser"]["status"], out["keeper"]["status"]) == ("cancelled", "confirmed")
    (stored,) = await rows(hub_db, "SELECT * FROM conflict WHERE id = :i", i=MISSION)
    assert stored["resolution"] == {"summary": "cancelled l-1: renter moved"}
    assert stored["status"] == "resolved" and stored["resolved_at"] == START
    loser, replicated = await feed(hub_db)
    assert [
        (r["site_id"], r["entity"], r["entity_id"], r["origin"]) for r in (loser, replicated)
    ] == [
        ("site-1", "booking", "l-1", "hub"),
        ("site-1", "conflict", MISSION, "hub"),
    ]
    assert loser["payload"]["status"] == "cancelled"
    assert replicated["payload"]["resolution"] == "cancelled l-1: renter moved"  # text, as on edges
    assert min(loser["hlc"], replicated["hlc"]) > EDGE_STAMP  # the hub's write wins everywhere
    edge_view = EdgeConflict.model_validate(replicated["payload"])
    assert (edge_view.status, edge_view.resolved_by) == ("resolved", "host@prep.test")
    others = await rows(hub_db, "SELECT status FROM booking WHERE id IN ('k-1', 'l-2')")
    assert sorted(r["status"] for r in others) == ["confirmed", "conflict"]


async def test_a_conflict_is_resolved_once(
    hub_client: Client, hub_db: Database, admin_headers: Headers
) -> None:
    await seed(hub_db)
    first = await hub_client.post(
        resolve_path(BAYVIEW), json={"action": "cancel"}, headers=admin_headers
    )
    again = await hub_client.post(
        resolve_path(BAYVIEW), json={"action": "cancel"}, headers=admin_headers
    )
    assert (first.status_code, again.status_code) == (200, 409)
    assert first.json()["resolution"] == "cancelled l-2"
    assert len(await feed(hub_db)) == 2


async def test_an_already_cancelled_loser_only_closes_the_conflict(
    hub_client: Client, hub_db: Database, admin_headers: Headers
) -> None:
    await seed(hub_db)
    async with hub_db.write() as session:
        await (await session.connection()).execute(
            text("UPDATE booking SET status = 'cancelled' WHERE id = 'l-1'")
        )
    response = await hub_client.post(
        resolve_path(MISSION), json={"action": "cancel"}, headers=admin_headers
    )
    assert response.status_code == 200
    assert [r["entity"] for r in await feed(hub_db)] == ["conflict"]


async def test_refused_resolutions_change_nothing(
    hub_client: Client, hub_db: Database, login: Login, admin_headers: Headers
) -> None:
    await seed(hub_db)
    host = await login("host")  # of site-1
    move = {"action": "move", "resource_id": "r1", "start": "2025-11-06T15:00:00",
            "end": "2025-11-06T17:00:00"}  # fmt: skip
    for path, payload, headers, status in [
        (resolve_path(BAYVIEW), {"action": "cancel"}, host, 404),  # another site's
        (resolve_path("missing"), {"action": "cancel"}, admin_headers, 404),
        (resolve_path(MISSION), move, host, 422),  # the site moves bookings, not the hub
        (resolve_path(MISSION), {"action": "explode"}, host, 400),
        (resolve_path(MISSION), {"action": "cancel", "note": "x" * 501}, host, 400),
        (resolve_path(MISSION), {"action": "cancel"}, await login("staff"), 403),
    ]:
        response = await hub_client.post(path, json=payload, headers=headers)
        assert response.status_code == status, (payload, response.text)
        assert set(response.json()["error"]) == {"code", "message", "details"}
    assert await feed(hub_db) == []
    statuses = await rows(hub_db, "SELECT status FROM conflict")
    assert [r["status"] for r in statuses] == ["open", "open"]
