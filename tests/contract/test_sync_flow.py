"""Edge -> hub -> edge in process: push once, pull with checkpoints, collisions, refusals."""

from __future__ import annotations

import sqlite3

from tests.contract.conftest import Pair, PairFactory
from tests.contract.helpers import book, hub_rows, hub_side_booking, set_up_edge


def edge_rows(pair: Pair, sql: str, *params: object) -> list[tuple[object, ...]]:
    with sqlite3.connect(pair.services.settings.database_path) as db:
        return db.execute(sql, params).fetchall()


async def test_every_change_reaches_the_hub_once(make_pair: PairFactory) -> None:
    async with make_pair() as pair:
        await _every_change_reaches_the_hub_once(pair)


async def _every_change_reaches_the_hub_once(pair: Pair) -> None:
    site = await set_up_edge(pair.edge, pair.edge_client)
    booking = await book(pair.edge_client, site, "2025-11-06T10:00:00", "2025-11-06T12:00:00")

    first = await pair.sync()
    again = await pair.sync()

    (outbox_top,) = edge_rows(pair, "SELECT max(seq) FROM outbox")[0]
    (audit_count,) = edge_rows(pair, "SELECT count(*) FROM audit_event")[0]
    assert first.outcome == "ok" and first.push.sent == outbox_top
    assert again.outcome == "ok" and again.push.sent == 0
    hub_booking = await hub_rows(pair.hub_db, "SELECT status, origin_node FROM booking")
    assert [tuple(r) for r in hub_booking] == [("confirmed", pair.services.journal.clock.node_id)]
    assert (await hub_rows(pair.hub_db, "SELECT count(*) FROM audit_event"))[0][0] == audit_count
    node = await hub_rows(pair.hub_db, "SELECT high_water, audit_gap_after FROM node")
    assert tuple(node[0]) == (outbox_top, None)
    renter = await hub_rows(pair.hub_db, "SELECT email_cipher, email_index FROM renter")
    assert renter[0][0] and b"bakery@example.com" not in bytes(renter[0][0])
    assert booking["id"] in {r[0] for r in await hub_rows(pair.hub_db, "SELECT id FROM booking")}


async def test_status_reports_the_link_after_a_round(make_pair: PairFactory) -> None:
    async with make_pair() as pair:
        await _status_reports_the_link_after_a_round(pair)


async def _status_reports_the_link_after_a_round(pair: Pair) -> None:
    site = await set_up_edge(pair.edge, pair.edge_client)
    await pair.sync()
    status = (await pair.edge_client.get("/api/v1/sync/status", headers=site.headers)).json()
    assert status["enrolled"] is True and status["online"] is True
    assert status["outbox_depth"] == 0 and status["oldest_unsent_at"] is None
    assert status["last_push_at"] and status["last_pull_at"]
    assert status["clock_offset_ms"] == 0 and status["open_conflicts"] == 0
    reported = await hub_rows(pair.hub_db, "SELECT reported_outbox_depth, last_seen_at FROM node")
    assert reported[0][0] == 0 and reported[0][1] is not None  # the fleet view sees the node


async def test_a_slot_sold_twice_becomes_one_conflict_on_both_sides(
    make_pair: PairFactory,
) -> None:
    async with make_pair() as pair:
        site = await set_up_edge(pair.edge, pair.edge_client)
        await pair.sync()  # the hub learns the station and the renter
        # Online, the hub sold 10:00-12:00 first (its confirmation stamp is older) ...
        hub_id = await hub_side_booking(
            pair.hub_db,
            pair.services.site.id,
            site.resource_id,
            site.renter_id,
            "2025-11-06T18:00:00+00:00",
            "2025-11-06T20:00:00+00:00",
            "1762300000000-00000-hub",
        )
        # ... while the kitchen, offline, sold 11:00-13:00 local (19:00-21:00 UTC).
        edge_booking = await book(
            pair.edge_client, site, "2025-11-06T11:00:00", "2025-11-06T13:00:00"
        )
        report = await pair.sync()
        settle = await pair.sync()  # the edge's view of the decision goes back to the hub

        assert report.outcome == settle.outcome == "ok"
        hub_status = dict(
            tuple(r) for r in await hub_rows(pair.hub_db, "SELECT id, status FROM booking")
        )
        assert hub_status == {hub_id: "confirmed", edge_booking["id"]: "conflict"}
        edge_status = dict(edge_rows(pair, "SELECT id, status FROM booking"))
        assert edge_status == hub_status
        hub_conflicts = await hub_rows(
            pair.hub_db, "SELECT id, keeper_id, loser_id, rule, status FROM conflict"
        )
        edge_conflicts = edge_rows(
            pair, "SELECT id, keeper_id, loser_id, rule, status FROM conflict"
        )
        assert [tuple(r) for r in hub_conflicts] == edge_conflicts
        assert edge_conflicts == [
            (edge_conflicts[0][0], hub_id, edge_booking["id"], "earlier_confirmation", "open")
        ]
        listed = (await pair.edge_client.get("/api/v1/conflicts", headers=site.headers)).json()
        assert [(c["keeper"]["id"], c["loser"]["id"]) for c in listed] == [
            (hub_id, edge_booking["id"])
        ]
