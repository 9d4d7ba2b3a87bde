"""Snapshot bootstrap in process: a new edge loads the hub's state instead of replaying the feed,
an edge offline past the feed horizon pushes then re-bootstraps keeping its unacknowledged
writes, a bootstrap cut short resumes, and a malformed snapshot is refused on both sides."""

from __future__ import annotations

import json
import zlib
from pathlib import Path
from typing import Any

import httpx
import pytest

import edge.hub_link as hub_link
import edge.sync_bootstrap as sync_bootstrap
from edge.clock import epoch_ms
from edge.columns import utc_text
from edge.errors import HubRefused, HubUnreachable
from edge.hub_link import HubLink
from edge.settings import EdgeSettings
from edge.sync_runner import read_link
from hub.sync_compaction import compact_feed
from reference_db.signing import load_private_key
from sync.snapshot import SnapshotPage
from tests.contract.conftest import HUB_URL, Pair, PairFactory
from tests.contract.helpers import (
    EdgeSite,
    book,
    edge_rows,
    hub_bookings_in_feed,
    hub_renter,
    hub_rows,
    hub_update_booking,
    set_up_edge,
)
from tests.edge.conftest import PASSWORD

PAGE_LIMIT = 3  # pull pages this small make a feed of a few rows "long" for a new edge
SNAPSHOT_ROWS = 4  # and snapshot pages this small make several pages
DAY = "2025-12-0{}T{:02d}:00:00+00:00"


@pytest.fixture
def edge_settings(node: tuple[Path, object]) -> EdgeSettings:
    return EdgeSettings.load(node[0], jobs={"enabled": False}, sync={"page_limit": PAGE_LIMIT})


@pytest.fixture(autouse=True)
def small_snapshot_pages(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sync_bootstrap, "SNAPSHOT_LIMIT", SNAPSHOT_ROWS)


def slots(day: int, hours: list[int]) -> list[str]:
    return [DAY.format(day, hour) for hour in hours]


async def assert_identical(pair: Pair) -> None:
    """The edge holds the hub's bookings and conflicts of its site, field for field."""
    site_id = pair.services.site.id
    hub = await hub_rows(
        pair.hub_db,
        "SELECT id, resource_id, renter_id, starts_at, ends_at, status, paid, price_cents,"
        " confirmed_hlc FROM booking WHERE site_id = :site ORDER BY id",
        site=site_id,
    )
    expected = [(*r[:3], utc_text(r[3]), utc_text(r[4]), r[5], r[6], *r[7:]) for r in hub]
    local = edge_rows(
        pair.services,
        "SELECT id, resource_id, renter_id, starts_at, ends_at, status, paid, price_cents,"
        " confirmed_hlc FROM booking ORDER BY id",
    )
    assert [(*r[:6], bool(r[6]), *r[7:]) for r in local] == expected
    columns = "id, keeper_id, loser_id, rule, status"
    hub_conflicts = await hub_rows(pair.hub_db, f"SELECT {columns} FROM conflict ORDER BY id")  # noqa: S608
    local_conflicts = edge_rows(pair.services, f"SELECT {columns} FROM conflict ORDER BY id")  # noqa: S608
    assert [tuple(r) for r in hub_conflicts] == local_conflicts


def progress(pair: Pair) -> tuple[Any, ...]:
    return edge_rows(
        pair.services, "SELECT pull_checkpoint, snapshot_as_of, snapshot_cursor FROM sync_state"
    )[0]


async def feed_top(pair: Pair) -> int:
    rows = await hub_rows(pair.hub_db, "SELECT coalesce(max(hub_seq), 0) FROM feed")
    return int(rows[0][0])


async def new_site_with_hub_bookings(pair: Pair) -> tuple[EdgeSite, list[str]]:
    """An enrolled edge whose hub took bookings (one paid, one for a renter only the hub
    knew) before the edge ever pulled."""
    site = await set_up_edge(pair.edge, pair.edge_client)
    await book(pair.edge_client, site, "2025-12-01T08:00:00", "2025-12-01T10:00:00")
    first = await pair.sync()  # pushes the site, station, renter and booking; the feed is empty
    assert first.outcome == "ok" and first.bootstrap is None
    site_id = pair.services.site.id
    hub_settings = pair.hub.state.services.settings
    other = await hub_renter(
        pair.hub_db, hub_settings, "Night Bakery", "night@example.com", "1762300000000-00000-hub"
    )
    ids = await hub_bookings_in_feed(
        pair.hub_db, site_id, site.resource_id, site.renter_id,
        slots(2, [8, 10, 12, 14, 16]), pair.clock.now(),
    )  # fmt: skip
    ids += await hub_bookings_in_feed(
        pair.hub_db, site_id, site.resource_id, other, slots(3, [8, 10, 12]), pair.clock.now()
    )
    await hub_update_booking(pair.hub_db, ids[0], pair.clock.now(), paid=True)
    return site, ids


async def test_a_new_edge_bootstraps_from_a_snapshot_and_ends_identical_to_the_hub(
    make_pair: PairFactory,
) -> None:
    async with make_pair() as pair:
        site, ids = await new_site_with_hub_bookings(pair)

        report = await pair.sync()

        assert report.outcome == "ok", report.error
        boot = report.bootstrap
        assert boot is not None and boot.pages >= 3 and boot.inserted == len(ids)
        assert boot.as_of == await feed_top(pair) and boot.kept_local == 0
        summary = report.summary()
        assert summary["snapshot_as_of"] == boot.as_of and summary["snapshot_rows"] == boot.received
        await assert_identical(pair)
        assert progress(pair) == (boot.as_of, None, None)
        (paid,) = edge_rows(pair.services, "SELECT paid FROM booking WHERE id = ?", ids[0])[0]
        assert paid == 1
        (renter_id,) = edge_rows(
            pair.services, "SELECT renter_id FROM booking WHERE id = ?", ids[-1]
        )[0]
        renter = await pair.edge_client.get(f"/api/v1/renters/{renter_id}", headers=site.headers)
        assert renter.json()["email"] == "night@example.com"  # opened on the hub, sealed here
        status = await pair.edge_client.get("/api/v1/sync/status", headers=site.headers)
        assert status.json()["online"] is True and status.json()["last_pull_at"] is not None

        again = await pair.sync()
        assert again.outcome == "ok" and again.bootstrap is None  # pulls on from as_of
        await assert_identical(pair)


async def test_an_edge_offline_past_the_horizon_pushes_then_rebootstraps_keeping_its_writes(
    make_pair: PairFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with make_pair() as pair:
        site = await set_up_edge(pair.edge, pair.edge_client)
        await pair.sync()
        site_id, start = pair.services.site.id, pair.clock.now()
        [h0] = await hub_bookings_in_feed(
            pair.hub_db, site_id, site.resource_id, site.renter_id, [DEC.format(20)], start
        )
        assert (await pair.sync()).bootstrap is None  # one row: pulled as usual
        seen = progress(pair)[0]
        # Offline for a month: the hub cancels h0, sells more, deletes something; then compacts.
        await hub_update_booking(pair.hub_db, h0, start, status="cancelled")
        h1, h3 = await hub_bookings_in_feed(
            pair.hub_db, site_id, site.resource_id, site.renter_id,
            [DEC.format(21), DEC.format(23)], start,
        )  # fmt: skip
        await hub_tombstone(pair, site_id, start)
        # Meanwhile the kitchen sold h1's slot and another one.
        e1 = await book(pair.edge_client, site, "2025-12-21T08:00:00", "2025-12-21T10:00:00")
        e2 = await book(pair.edge_client, site, "2025-12-22T08:00:00", "2025-12-22T10:00:00")
        pair.clock.advance(days=31)
        top = await feed_top(pair)
        compacted = await compact_feed(pair.hub_db, pair.clock.now(), keep_days=30)
        assert compacted.removed == 2 and compacted.sites[0].horizon == top > seen  # tombstone
        site = await signed_in_again(pair, site)
        e3: dict[str, Any] = {}

        async def while_bootstrapping() -> None:  # local writes the hub has not acknowledged
            e3.update(
                await book(pair.edge_client, site, "2025-12-23T08:00:00", "2025-12-23T10:00:00")
            )
            cancel = await pair.edge_client.post(
                f"/api/v1/bookings/{e2['id']}/cancel", headers=site.headers
            )
            assert cancel.status_code == 200, cancel.text

        calls = intercept_snapshot(monkeypatch, before_call={2: while_bootstrapping})
        report = await pair.sync()

        assert report.outcome == "ok", report.error
        assert report.push.sent > 0 and report.push.conflicts == 1  # pushed first: e1 lost to h1
        boot = report.bootstrap
        assert boot is not None and len(calls) == boot.pages >= 3
        assert boot.kept_local >= 1 and boot.conflicts == 1  # e2's cancel kept; e3 lost to h3
        states = dict(edge_rows(pair.services, "SELECT id, status FROM booking"))
        assert states == {
            h0: "cancelled", h1: "confirmed", h3: "confirmed",
            e1["id"]: "conflict", e2["id"]: "cancelled", e3["id"]: "conflict",
        }  # fmt: skip
        losers = edge_rows(pair.services, "SELECT keeper_id, loser_id FROM conflict ORDER BY 1")
        assert sorted(losers) == sorted([(h1, e1["id"]), (h3, e3["id"])])

        settle = await pair.sync()  # the edge's writes and decisions reach the hub
        assert settle.outcome == "ok" and settle.bootstrap is None
        await assert_identical(pair)


DEC = "2025-12-{}T16:00:00+00:00"  # 08:00 at the site (America/Los_Angeles)


async def signed_in_again(pair: Pair, site: EdgeSite) -> EdgeSite:
    login = await pair.edge_client.post(
        "/api/v1/auth/login", json={"username": "sync-host", "password": PASSWORD}
    )
    headers = {"Authorization": f"Bearer {login.json()['access_token']}"}
    return EdgeSite(headers, site.resource_id, site.renter_id)


async def hub_tombstone(pair: Pair, site_id: str, at: Any) -> None:
    """A delete in the site's feed (nothing is deleted today; the feed can carry one)."""
    from hub.sync_feed import append_feed, driver

    async with pair.hub_db.write() as session:
        conn = await driver(session)
        row = ("document", "d-gone", "delete", {"id": "d-gone"}, "1762300000000-00009-hub", "hub")
        await append_feed(conn, site_id, [row], at)


def intercept_snapshot(
    monkeypatch: pytest.MonkeyPatch,
    before_call: dict[int, Any] | None = None,
    fail_on: int | None = None,
) -> list[str | None]:
    """Record each snapshot request's cursor; run ``before_call[n]`` before the n-th request;
    the ``fail_on``-th request finds the hub gone."""
    real = HubLink.snapshot
    calls: list[str | None] = []

    async def snapshot(self: HubLink, cursor: str | None, limit: int) -> SnapshotPage:
        calls.append(cursor)
        if before_call and len(calls) in before_call:
            await before_call[len(calls)]()
        if len(calls) == fail_on:
            raise HubUnreachable("the hub did not answer: ConnectError")
        return await real(self, cursor, limit)

    monkeypatch.setattr(hub_link.HubLink, "snapshot", snapshot)
    return calls


async def test_a_bootstrap_cut_short_resumes_and_ends_identical(
    make_pair: PairFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with make_pair() as pair:
        await new_site_with_hub_bookings(pair)
        calls = intercept_snapshot(monkeypatch, fail_on=3)
        gone = await pair.sync()  # two pages applied, then the hub is gone
        assert gone.outcome == "offline" and len(calls) == 3
        checkpoint, as_of, cursor = progress(pair)
        assert checkpoint == 0 and as_of == await feed_top(pair) and cursor == calls[2]

        monkeypatch.undo()
        monkeypatch.setattr(sync_bootstrap, "SNAPSHOT_LIMIT", SNAPSHOT_ROWS)

        def power_cut(*_args: object) -> None:
            raise RuntimeError("power cut while applying a page")

        monkeypatch.setitem(sync_bootstrap._APPLY, "booking", power_cut)
        with pytest.raises(RuntimeError):
            await pair.sync()
        assert progress(pair) == (0, as_of, cursor)  # the page rolled back with its progress
        monkeypatch.setitem(sync_bootstrap._APPLY, "booking", sync_bootstrap._bookings)

        resumed = await pair.sync()

        assert resumed.outcome == "ok" and resumed.bootstrap is not None
        assert resumed.bootstrap.resumed and resumed.bootstrap.as_of == as_of
        assert progress(pair) == (as_of, None, None)
        await assert_identical(pair)
        audited = edge_rows(
            pair.services, "SELECT count(*) FROM audit_event WHERE action = 'sync.snapshot'"
        )
        assert audited[0][0] == 2 + resumed.bootstrap.pages  # each page applied exactly once


class CorruptSnapshots(httpx.AsyncBaseTransport):
    """Passes requests to the hub; a snapshot page comes back with a booking column broken."""

    def __init__(self, inner: httpx.AsyncBaseTransport) -> None:
        self.inner = inner

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        response = await self.inner.handle_async_request(request)
        if request.url.path != "/sync/v1/snapshot" or response.status_code != 200:
            return response
        doc = json.loads(zlib.decompress(await response.aread()))
        for table in doc["tables"]:
            if table["name"] == "booking":
                table["cols"]["starts_at"] = ["v", *(["2025-02-30T10:00:00.000000Z"] * table["n"])]
        return httpx.Response(
            200, headers=response.headers, content=zlib.compress(json.dumps(doc).encode())
        )


async def test_a_malformed_snapshot_page_is_refused_and_nothing_applied(
    make_pair: PairFactory,
) -> None:
    async with make_pair() as pair:
        await new_site_with_hub_bookings(pair)
        pair.runner.transport = CorruptSnapshots(pair.transport)

        report = await pair.sync()

        assert report.outcome == "refused" and "bad_page" in (report.error or "")
        assert "starts_at" in (report.error or "")
        hub_made = edge_rows(
            pair.services, "SELECT count(*) FROM booking WHERE origin_node = 'hub'"
        )
        assert hub_made[0][0] == 0 and progress(pair)[2] is None


async def node_link(pair: Pair) -> HubLink:
    state = await read_link(pair.services)
    key = load_private_key(pair.services.settings.key_dir / "node.key")
    return HubLink(
        HUB_URL, state["node_id"], key, lambda: epoch_ms(pair.clock.now()), pair.transport
    )


@pytest.mark.parametrize(
    "query",
    [
        "cursor=garbage",
        "cursor=%5B0%2C%22booking%22%2C%22not-a-time%22%2C%22%22%5D",
        "cursor=%5B0%2C%22users%22%2C%22%22%5D",
        "cursor=%5B-1%2C%22renter%22%2C%22%22%5D",
        "limit=0",
        "limit=abc",
    ],
)
async def test_the_hub_answers_a_bad_snapshot_request_with_400_never_500(
    make_pair: PairFactory, query: str
) -> None:
    async with make_pair() as pair:
        link = await node_link(pair)
        try:
            with pytest.raises(HubRefused) as refused:
                await link.call("GET", f"/sync/v1/snapshot?{query}")
        finally:
            await link.close()
        assert refused.value.hub_status == 400


async def test_a_snapshot_that_falls_below_the_horizon_is_started_over(
    make_pair: PairFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with make_pair() as pair:
        _, ids = await new_site_with_hub_bookings(pair)
        intercept_snapshot(monkeypatch, fail_on=2)
        assert (await pair.sync()).outcome == "offline"  # one page in, then the hub is gone
        _, as_of, cursor = progress(pair)
        for change in ({"paid": True}, {"status": "cancelled"}):  # the first one, > as_of, goes
            await hub_update_booking(pair.hub_db, ids[1], pair.clock.now(), **change)
        pair.clock.advance(days=2)
        compacted = await compact_feed(pair.hub_db, pair.clock.now(), keep_days=1)
        assert compacted.removed == 3 and (compacted.sites[0].horizon or 0) > as_of
        link = await node_link(pair)
        try:
            with pytest.raises(HubRefused) as expired:
                await link.snapshot(cursor, SNAPSHOT_ROWS)
        finally:
            await link.close()
        assert expired.value.hub_status == 409 and expired.value.hub_code == "snapshot_expired"
        monkeypatch.undo()
        monkeypatch.setattr(sync_bootstrap, "SNAPSHOT_LIMIT", SNAPSHOT_ROWS)

        report = await pair.sync()

        assert report.outcome == "ok" and report.bootstrap is not None
        assert report.bootstrap.restarts == 1 and report.bootstrap.as_of == await feed_top(pair)
        assert report.bootstrap.as_of > as_of
        await assert_identical(pair)


def test_the_hub_reads_the_tables_the_wire_format_knows_in_its_order() -> None:
    from hub.sync_snapshot import _SECTIONS
    from sync.snapshot import TABLES

    assert list(_SECTIONS) == list(TABLES)
