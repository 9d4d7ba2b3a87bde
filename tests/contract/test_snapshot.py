"""Snapshot bootstrap in process: a new edge loads the hub's state instead of replaying the feed,
an edge offline past the feed horizon pushes then re-bootstraps keeping its unacknowledged
writes, a bootstrap cut short resumes, and a malformed snapshot is refused on both sides."""

from __future__ import annotations

import json
import zlib
from datetime import timedelta
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
