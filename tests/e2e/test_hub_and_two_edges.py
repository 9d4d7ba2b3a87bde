"""A hub and two edges as real processes over loopback HTTP: outages, catch-up, a crash mid-push.

The edges keep taking bookings while the hub is down and catch up when it is back; the hub must
then hold every change of each edge exactly once: the same audit events (one per ``(node_id,
seq)``), every booking, and a high-water mark at the edge's outbox top. A slot booked on the hub
while an edge had booked it offline ends as one kept booking, one ``conflict`` and an open Conflict
seen on both sides. Killing an edge with SIGKILL in the middle of a long push, then restarting it,
loses and duplicates nothing.
"""

from __future__ import annotations

import asyncio
from functools import partial
from typing import Any

import httpx

from tests.e2e.conftest import ADMIN_EMAIL, PASSWORD, Edge, Fleet, Slot
from tests.e2e.processes import wait_until

BULK_BOOKINGS = 1500
BULK_CONCURRENCY = 8
# The edge's own bookings; one pulled from the hub carries its origin ("hub").
OWN_BOOKINGS = "SELECT id FROM booking WHERE origin_node IS NULL OR origin_node = ?"


# --- what the hub holds -----------------------------------------------------------------------


def high_water(fleet: Fleet, edge: Edge) -> int:
    return int(fleet.db.value("SELECT high_water FROM node WHERE id = $1", edge.node_id))


def outbox_top(edge: Edge) -> int:
    return int(edge.sqlite("SELECT coalesce(max(seq), 0) FROM outbox")[0][0])


def is_offline(edge: Edge) -> bool:
    return edge.status()["online"] is False


def caught_up(fleet: Fleet, edge: Edge, status: dict[str, Any]) -> bool:
    return (
        status["online"] is True
        and status["outbox_depth"] == 0
        and high_water(fleet, edge) == outbox_top(edge)
    )


def wait_caught_up(fleet: Fleet, *edges: Edge, timeout: float = 30) -> None:
    """Each edge online with an empty outbox and the hub's high-water at its outbox top, still
    so after one more pull (what a pull settles locally is pushed in the next round)."""
    for edge in edges:
        pulls: list[str] = []  # last_pull_at while caught up, since it last was not

        def settled(edge: Edge = edge, pulls: list[str] = pulls) -> bool:
            status = edge.status()
            if not caught_up(fleet, edge, status):
                pulls.clear()
                return False
            pulls.append(status["last_pull_at"])
            return pulls[0] != pulls[-1]

        wait_until(settled, partial(lag, fleet, edge), timeout=timeout)


def lag(fleet: Fleet, edge: Edge) -> str:
    return (
        f"{edge.name} did not catch up: status {edge.status()}, hub high-water "
        f"{high_water(fleet, edge)}, outbox top {outbox_top(edge)}\n{fleet.explain()}"
    )


def assert_holds_everything_once(fleet: Fleet, edge: Edge) -> None:
    """The hub holds each of the edge's changes exactly once (audit, bookings, high-water)."""
    why = f"{edge.name} ({edge.node_id})\n{fleet.explain()}"
    (audit_count,) = edge.sqlite(
        "SELECT count(*) FROM audit_event WHERE node_id = ?", edge.node_id
    )[0]
    hub_audit = fleet.db.value("SELECT count(*) FROM audit_event WHERE node_id = $1", edge.node_id)
    assert hub_audit == audit_count, f"hub audit events {hub_audit} != edge {audit_count}: {why}"
    twice = fleet.db.rows(
        "SELECT seq, count(*) FROM audit_event WHERE node_id = $1 GROUP BY seq HAVING count(*) > 1",
        edge.node_id,
    )
    assert twice == [], f"audit events stored twice: {twice[:5]}: {why}"
    node = fleet.db.rows("SELECT high_water, audit_gap_after FROM node WHERE id = $1", edge.node_id)
    assert [tuple(r) for r in node] == [(outbox_top(edge), None)], f"node row {node}: {why}"
    booked = {row[0] for row in edge.sqlite(OWN_BOOKINGS, edge.node_id)}
    on_hub = fleet.db.rows(
        "SELECT id, count(*) AS n FROM booking WHERE id = ANY($1::text[]) GROUP BY id",
        sorted(booked),
    )
    assert {r["id"] for r in on_hub} == booked, f"bookings missing on the hub: {why}"
    assert all(r["n"] == 1 for r in on_hub), f"bookings stored twice: {why}"
    from_node = fleet.db.value("SELECT count(*) FROM booking WHERE origin_node = $1", edge.node_id)
    assert from_node == len(booked), (
        f"hub has {from_node} bookings from the node, edge {len(booked)}: {why}"
    )


# --- booking on the hub ---------------------------------------------------------------------------


def book_on_hub(fleet: Fleet, edge: Edge, slot: Slot) -> dict[str, Any]:
    hub = fleet.hub.http
    login = hub.post("/api/v1/auth/login", json={"username": ADMIN_EMAIL, "password": PASSWORD})
    assert login.status_code == 200, login.text
    answer = hub.post(
        "/api/v1/bookings",
        json=edge.booking_body(slot),
        headers={"Authorization": f"Bearer {login.json()['access_token']}"},
    )
    assert answer.status_code == 201, f"{answer.status_code} {answer.text}\n{fleet.explain()}"
    body: dict[str, Any] = answer.json()
    return body


# --- the tests ----------------------------------------------------------------------------------


def test_edges_booking_through_an_outage_catch_up_exactly_once(fleet: Fleet) -> None:
    a, b = fleet.edges
    wait_caught_up(fleet, a, b)

    fleet.hub.stop()
    for edge in (a, b):
        wait_until(partial(is_offline, edge), fleet.explain)
    fleet.step("both edges see the hub offline")
    contested = a.next_slots(1)[0]
    booked_offline = {
        edge.name: [edge.book(slot) for slot in edge.next_slots(3)] for edge in (a, b)
    }
    booked_offline[a.name].insert(0, a.book(contested))
    fleet.step("booked offline on both edges")
    for edge in (a, b):
        status = edge.status()
        assert status["online"] is False and status["offline_since"], status
        assert status["outbox_depth"] > 0, status

    # The hub books a's first slot online before a's own booking reaches it: a is kept away
    # until the hub has taken the booking.
    a.service.stop()
    fleet.hub.start()
    hub_booking = book_on_hub(fleet, a, contested)
    fleet.step(
        f"booked {hub_booking['id']} on the hub, in the slot of {booked_offline[a.name][0]['id']}"
    )
    a.service.start()
    wait_caught_up(fleet, a, b)
    fleet.step("both edges caught up")

    for edge in (a, b):
        assert_holds_everything_once(fleet, edge)
    assert_one_conflict(fleet, a, booked_offline[a.name][0]["id"], hub_booking["id"])
    for booking in [*booked_offline[a.name][1:], *booked_offline[b.name]]:
        status = fleet.db.value("SELECT status FROM booking WHERE id = $1", booking["id"])
        assert status == "confirmed", (booking["id"], status)


def assert_one_conflict(fleet: Fleet, edge: Edge, edge_booking: str, hub_booking: str) -> None:
    """One of the pair is ``conflict``, an open Conflict names both, and the edge shows it."""
    rows = fleet.db.rows(
        "SELECT id, status FROM booking WHERE id = ANY($1::text[])", [edge_booking, hub_booking]
    )
    statuses = sorted(r["status"] for r in rows)
    assert statuses == ["confirmed", "conflict"], f"{rows}\n{fleet.explain()}"
    conflicts = fleet.db.rows(
        "SELECT id, keeper_id, loser_id, status FROM conflict"
        " WHERE keeper_id = ANY($1::text[]) OR loser_id = ANY($1::text[])",
        [edge_booking, hub_booking],
    )
    assert len(conflicts) == 1 and conflicts[0]["status"] == "open", conflicts
    assert {conflicts[0]["keeper_id"], conflicts[0]["loser_id"]} == {edge_booking, hub_booking}
    loser = next(r["id"] for r in rows if r["status"] == "conflict")
    assert conflicts[0]["loser_id"] == loser
    # Neither is checked in or paid: the earlier confirmation (the edge's, made offline) keeps.
    assert loser == hub_booking, f"the hub's later booking should lose: {conflicts}"

    def seen_on_edge() -> list[dict[str, Any]]:
        answer = edge.call("GET", "/api/v1/conflicts")
        assert answer.status_code == 200, answer.text
        return [c for c in answer.json() if c["id"] == conflicts[0]["id"]]

    shown = wait_until(seen_on_edge, lambda: f"no conflict on {edge.name}\n{fleet.explain()}")
    assert shown[0]["status"] == "open"
    assert shown[0]["loser"]["id"] == loser and shown[0]["loser"]["status"] == "conflict"


def test_an_edge_killed_mid_push_neither_loses_nor_duplicates(fleet: Fleet) -> None:
    b = fleet.edges[1]
    if not fleet.hub.running:
        fleet.hub.start()
    wait_caught_up(fleet, b)
    baseline = high_water(fleet, b)

    fleet.hub.stop()
    wait_until(partial(is_offline, b), fleet.explain)
    ids = asyncio.run(book_many(b, BULK_BOOKINGS))
    fleet.step(f"{len(ids)} bookings made on {b.name} with the hub down")
    assert len(ids) == BULK_BOOKINGS
    top = outbox_top(b)
    assert top - baseline >= 2 * BULK_BOOKINGS, (baseline, top)

    fleet.hub.start()

    def mid_push() -> int | None:
        seen = high_water(fleet, b)
        return seen if baseline < seen < top else None

    def explain() -> str:
        seen = high_water(fleet, b)
        return f"no partial push seen (high-water {seen}, top {top})\n{fleet.explain()}"

    killed_at = wait_until(mid_push, explain, every=0.005)
    b.service.kill()
    fleet.step(f"killed {b.name} with the hub at {killed_at} of {top}")
    assert high_water(fleet, b) < top, (
        f"the push finished before the kill landed\n{fleet.explain()}"
    )

    b.service.start()
    wait_caught_up(fleet, b, timeout=40)
    assert_holds_everything_once(fleet, b)
    on_hub = fleet.db.value("SELECT count(*) FROM booking WHERE id = ANY($1::text[])", ids)
    assert on_hub == len(ids), f"{on_hub} of {len(ids)} bookings on the hub (killed at {killed_at})"


async def book_many(edge: Edge, count: int) -> list[str]:
    """``count`` bookings on distinct slots, a few requests in flight at once."""
    gate = asyncio.Semaphore(BULK_CONCURRENCY)
    async with httpx.AsyncClient(
        base_url=edge.service.url, headers=edge.headers, timeout=30
    ) as client:

        async def one(slot: Slot) -> str:
            async with gate:
                answer = await client.post("/api/v1/bookings", json=edge.booking_body(slot))
            assert answer.status_code == 201, f"{answer.status_code} {answer.text}"
            return str(answer.json()["id"])

        return list(await asyncio.gather(*(one(slot) for slot in edge.next_slots(count))))
