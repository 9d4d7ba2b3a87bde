"""What the hub refuses, and how the edge lives with it: replays, revoked nodes, clocks running
ahead, batches over the limit; and a pull page that fails to apply leaves the checkpoint alone."""

from __future__ import annotations

from datetime import timedelta

import pytest

from edge.clock import epoch_ms
from edge.sync_runner import read_link
from reference_db.signing import load_private_key
from sync.signing import sign_request
from sync.wire import CONTENT_TYPE, Change, PushBatch, encode_push
from tests.contract.conftest import Pair, PairFactory
from tests.contract.helpers import book, hub_rows, set_up_edge


async def _node_key_headers(pair: Pair, body: bytes) -> dict[str, str]:
    state = await read_link(pair.services)
    key = load_private_key(pair.services.settings.key_dir / "node.key")
    return sign_request(
        key, state["node_id"], "POST", "/sync/v1/push", body, epoch_ms(pair.clock.now())
    )


async def test_a_replayed_request_is_refused(make_pair: PairFactory) -> None:
    async with make_pair() as pair:
        state = await read_link(pair.services)
        body = encode_push(
            PushBatch(node_id=state["node_id"], generation=state["generation"], changes=[])
        )
        headers = {**await _node_key_headers(pair, body), "Content-Type": CONTENT_TYPE}
        first = await pair.hub_client.post("/sync/v1/push", content=body, headers=headers)
        again = await pair.hub_client.post("/sync/v1/push", content=body, headers=headers)
        assert first.status_code == 200
        assert again.status_code == 401 and "replay" in again.json()["error"]["message"]


async def test_a_tampered_body_is_refused(make_pair: PairFactory) -> None:
    async with make_pair() as pair:
        state = await read_link(pair.services)
        body = encode_push(
            PushBatch(node_id=state["node_id"], generation=state["generation"], changes=[])
        )
        headers = {**await _node_key_headers(pair, body), "Content-Type": CONTENT_TYPE}
        forged = encode_push(PushBatch(node_id=state["node_id"], generation="forged", changes=[]))
        response = await pair.hub_client.post("/sync/v1/push", content=forged, headers=headers)
        assert response.status_code == 401
        assert response.json()["error"]["details"]["reason"] == "bad_signature"


async def test_a_revoked_node_is_refused_at_once(make_pair: PairFactory) -> None:
    async with make_pair() as pair:
        await set_up_edge(pair.edge, pair.edge_client)
        assert (await pair.sync()).outcome == "ok"
        async with pair.hub_db.engine.begin() as connection:
            from sqlalchemy import text

            await connection.execute(text("UPDATE node SET revoked_at = now()"))
        report = await pair.sync()
        assert report.outcome == "refused" and "revoked" in (report.error or "")


async def test_changes_stamped_ahead_of_the_hub_are_refused_visibly(
    make_pair: PairFactory,
) -> None:
    async with make_pair() as pair:
        site = await set_up_edge(pair.edge, pair.edge_client)
        ahead_ms = epoch_ms(pair.clock.now() + timedelta(minutes=10))
        pair.services.journal.clock.physical_ms = lambda: ahead_ms  # this node's clock runs fast
        await book(pair.edge_client, site, "2025-11-06T10:00:00", "2025-11-06T12:00:00")
        report = await pair.sync()
        status = (await pair.edge_client.get("/api/v1/sync/status", headers=site.headers)).json()
        assert report.outcome == "refused" and report.error is not None
        assert report.error.startswith("clock_ahead") and "ahead of the hub" in report.error
        assert status["outbox_depth"] > 0  # nothing is lost: it waits for the clock to be fixed
        assert (await hub_rows(pair.hub_db, "SELECT count(*) FROM booking"))[0][0] == 0


async def test_a_batch_over_the_hubs_limit_is_halved_until_it_fits(
    make_pair: PairFactory, hub_settings: object
) -> None:
    hub_settings.limits.push_max_changes = 7  # type: ignore[attr-defined]
    async with make_pair() as pair:
        await set_up_edge(pair.edge, pair.edge_client)
        report = await pair.sync()
        top = (await hub_rows(pair.hub_db, "SELECT high_water FROM node"))[0][0]
        assert report.outcome == "ok" and report.push.sent == top > 7
        assert report.push.batches >= top // 7


async def test_the_hub_says_413_with_a_hint(make_pair: PairFactory, hub_settings: object) -> None:
    hub_settings.limits.push_max_changes = 2  # type: ignore[attr-defined]
    async with make_pair() as pair:
        state = await read_link(pair.services)
        changes = [
            Change(
                seq=n,
                hlc=f"1762358400000-0000{n}-x",
                entity="e",
                entity_id=str(n),
                op="upsert",
                payload={},
            )
            for n in range(1, 4)
        ]
        body = encode_push(
            PushBatch(node_id=state["node_id"], generation=state["generation"], changes=changes)
        )
        headers = {**await _node_key_headers(pair, body), "Content-Type": CONTENT_TYPE}
        response = await pair.hub_client.post("/sync/v1/push", content=body, headers=headers)
        error = response.json()["error"]
        assert response.status_code == 413
        assert error["details"]["limit"] == 2 and "2" in error["details"]["hint"]


async def test_a_page_that_fails_to_apply_leaves_the_checkpoint(
    make_pair: PairFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with make_pair() as pair:
        site = await set_up_edge(pair.edge, pair.edge_client)
        await pair.sync()
        from tests.contract.helpers import hub_side_booking

        await hub_side_booking(
            pair.hub_db, pair.services.site.id, site.resource_id, site.renter_id,
            "2025-11-07T18:00:00+00:00", "2025-11-07T20:00:00+00:00", "1762300000000-00000-hub",
        )  # fmt: skip
        import edge.sync_pull as pull

        def crash(*_args: object) -> None:
            raise RuntimeError("power cut while applying the page")

        monkeypatch.setattr(pull, "_apply_bookings", crash)
        with pytest.raises(RuntimeError):
            await pair.sync()
        before = pair.services.db.lookup("SELECT pull_checkpoint FROM sync_state", ())
        monkeypatch.undo()
        report = await pair.sync()
        after = pair.services.db.lookup("SELECT pull_checkpoint FROM sync_state", ())
        rows = pair.services.db.lookup("SELECT count(*) FROM booking WHERE origin_node = 'hub'", ())
        assert before is not None and after is not None and rows is not None
        assert before[0] == 0 < after[0] and rows[0] == 1 and report.pull.applied == 1


async def test_a_malformed_change_is_refused_whole_never_a_500(make_pair: PairFactory) -> None:
    async with make_pair() as pair:
        state = await read_link(pair.services)
        broken = [
            Change(seq=1, hlc="1762358400000-00001-x", entity="booking", entity_id="b1",
                   op="upsert", payload={"id": "b1", "status": "confirmed"}),  # no slot
        ]  # fmt: skip
        body = encode_push(
            PushBatch(node_id=state["node_id"], generation=state["generation"], changes=broken)
        )
        headers = {**await _node_key_headers(pair, body), "Content-Type": CONTENT_TYPE}
        response = await pair.hub_client.post("/sync/v1/push", content=body, headers=headers)
        assert response.status_code == 400, response.text
        assert "malformed" in response.json()["error"]["message"]
        assert (await hub_rows(pair.hub_db, "SELECT high_water FROM node"))[0][0] == 0


async def test_a_break_in_a_nodes_audit_chain_is_recorded_not_repaired(
    make_pair: PairFactory,
) -> None:
    async with make_pair() as pair:
        state = await read_link(pair.services)
        node = state["node_id"]

        def event(seq: int, prev: str) -> Change:
            payload = {"seq": seq, "node_id": node, "hlc": f"1762358400000-0000{seq}-{node}",
                       "actor": "host", "action": "booking.create", "entity": "booking",
                       "entity_id": f"b{seq}", "details": {}, "at": "2025-11-05T16:00:00+00:00",
                       "prev_hash": prev, "hash": f"h{seq}"}  # fmt: skip
            return Change(seq=seq, hlc=payload["hlc"], entity="audit_event", entity_id=str(seq),
                          op="append", payload=payload)  # fmt: skip

        chain = [event(1, "genesis"), event(2, "h1"), event(3, "edited"), event(4, "h3")]
        body = encode_push(PushBatch(node_id=node, generation=state["generation"], changes=chain))
        headers = {**await _node_key_headers(pair, body), "Content-Type": CONTENT_TYPE}
        response = await pair.hub_client.post("/sync/v1/push", content=body, headers=headers)
        stored = await hub_rows(pair.hub_db, "SELECT count(*) FROM audit_event")
        gap = await hub_rows(pair.hub_db, "SELECT audit_gap_after FROM node")
        assert response.status_code == 200 and stored[0][0] == 4  # kept as sent, all of it
        assert gap[0][0] == 2  # the chain holds up to seq 2; seq 3 does not follow it
