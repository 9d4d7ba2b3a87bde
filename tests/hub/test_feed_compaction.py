"""Feed compaction: the latest row per entity stays, superseded rows and tombstones older than
the horizon go, the site's horizon rises; a pull below it answers ``snapshot_required``."""

from __future__ import annotations

import os
import secrets
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from typing import Any

import pytest

from hub.cli import main
from hub.db import Database
from hub.settings import HubSettings
from hub.sync_compaction import SiteCompaction, compact_feed
from hub.sync_feed import append_feed, driver
from hub.sync_pull import pull_page
from hub.tables import Node, Site
from tests.hub.conftest import START

OLD = START - timedelta(days=60)
RECENT = START - timedelta(days=2)


async def add_site(db: Database, site_id: str) -> Node:
    node = Node(
        id=f"node-{site_id}", site_id=site_id, name=site_id, public_key="k", enrolled_at=START
    )
    async with db.write() as session:
        session.add(Site(id=site_id, name=site_id, updated_hlc="0"))
        await session.flush()
        session.add(node)
    return node


async def feed(db: Database, site_id: str, at: datetime, *rows: tuple[str, str, str]) -> None:
    """``(entity, entity_id, op)`` rows in the site's feed, written ``at``."""
    async with db.write() as session:
        conn = await driver(session)
        await append_feed(
            conn,
            site_id,
            [(e, i, op, {"id": i}, "1762300000000-00000-hub", "hub") for e, i, op in rows],
            at,
        )


async def remaining(db: Database, site_id: str) -> list[tuple[int, str, str, str]]:
    async with db.read() as session:
        conn = await driver(session)
        rows = await conn.fetch(
            "SELECT hub_seq, entity, entity_id, op FROM feed WHERE site_id = $1 ORDER BY hub_seq",
            site_id,
        )
    return [tuple(row) for row in rows]  # type: ignore[misc]


async def horizon(db: Database, site_id: str) -> int:
    async with db.read() as session:
        conn = await driver(session)
        return int(await conn.fetchval("SELECT feed_horizon FROM site WHERE id = $1", site_id))


@pytest.fixture
async def two_sites(hub_db: Database) -> dict[str, Node]:
    """Site ``a``: rows 1-6 old, 7-9 recent; site ``b``: rows 10-11 old."""
    nodes = {name: await add_site(hub_db, name) for name in ("a", "b")}
    await feed(
        hub_db, "a", OLD,
        ("booking", "b1", "upsert"), ("booking", "b1", "upsert"), ("booking", "b2", "upsert"),
        ("renter", "r1", "upsert"), ("document", "d1", "delete"), ("booking", "b3", "upsert"),
    )  # fmt: skip
    await feed(
        hub_db, "a", RECENT,
        ("booking", "b1", "upsert"), ("booking", "b3", "upsert"), ("document", "d2", "delete"),
    )  # fmt: skip
    await feed(hub_db, "b", OLD, ("booking", "b1", "upsert"), ("booking", "b1", "upsert"))
    return nodes


async def test_compaction_keeps_the_latest_row_per_entity_and_raises_the_horizon(
    hub_db: Database, two_sites: dict[str, Node]
) -> None:
    windows: list[tuple[str, int, int]] = []

    def progress(site: SiteCompaction) -> None:
        windows.append((site.site_id, site.examined, site.removed))

    report = await compact_feed(hub_db, START, keep_days=30, progress=progress, window_rows=2)

    assert await remaining(hub_db, "a") == [
        (3, "booking", "b2", "upsert"),  # nothing later: the latest of b2
        (4, "renter", "r1", "upsert"),
        (7, "booking", "b1", "upsert"),  # recent rows are never touched
        (8, "booking", "b3", "upsert"),
        (9, "document", "d2", "delete"),  # a tombstone within the horizon stays
    ]
    assert await remaining(hub_db, "b") == [(11, "booking", "b1", "upsert")]
    assert await horizon(hub_db, "a") == 6 and await horizon(hub_db, "b") == 10
    assert report.removed == 5
    assert [(s.site_id, s.examined, s.removed, s.horizon) for s in report.sites] == [
        ("a", 6, 4, 6),
        ("b", 2, 1, 10),
    ]
    assert windows[:3] == [("a", 2, 2), ("a", 4, 2), ("a", 6, 4)]  # a window at a time

    again = await compact_feed(hub_db, START, keep_days=30)
    assert again.removed == 0 and await horizon(hub_db, "a") == 6  # repeating changes nothing


async def test_a_pull_below_the_horizon_answers_snapshot_required(
    hub_db: Database, two_sites: dict[str, Node]
) -> None:
    await compact_feed(hub_db, START, keep_days=30)
    node = two_sites["a"]

    async def pull(checkpoint: int, limit: int = 100) -> Any:
        async with hub_db.write() as session:
            return await pull_page(session, node, checkpoint, limit, START)

    below = await pull(5)
    assert below.snapshot_required and below.changes == [] and below.checkpoint == 5
    at_horizon = await pull(6)
    assert not at_horizon.snapshot_required
    assert [c.hub_seq for c in at_horizon.changes] == [7, 8, 9] and at_horizon.checkpoint == 9
    assert (await pull(0)).snapshot_required  # a new node of a compacted site


async def test_a_new_node_with_more_than_a_page_of_feed_is_sent_to_the_snapshot(
    hub_db: Database,
) -> None:
    node = await add_site(hub_db, "c")
    await feed(hub_db, "c", RECENT, ("booking", "b1", "upsert"), ("booking", "b2", "upsert"))

    async def pull(checkpoint: int, limit: int) -> Any:
        async with hub_db.write() as session:
            return await pull_page(session, node, checkpoint, limit, START)

    assert (await pull(0, 1)).snapshot_required
    one_page = await pull(0, 2)  # it all fits in the first page: pulled as usual
    assert not one_page.snapshot_required and len(one_page.changes) == 2
    assert not (await pull(1, 1)).snapshot_required  # a node that has pulled goes on pulling


def run_cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[Any, str, str]:
    capsys.readouterr()
    with ThreadPoolExecutor(1) as pool:
        try:
            code: Any = pool.submit(main, list(argv)).result()
        except SystemExit as exc:
            code = exc.code
    captured = capsys.readouterr()
    return code, captured.out, captured.err


@pytest.fixture
def hub_env(hub_settings: HubSettings, monkeypatch: pytest.MonkeyPatch) -> HubSettings:
    for name in list(os.environ):
        if name.startswith("PREP_HUB_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("PREP_HUB_DATABASE_URL", hub_settings.database_url)
    for name in ("JWT_SECRET", "PII_KEY", "BLIND_INDEX_KEY"):
        monkeypatch.setenv(f"PREP_HUB_{name}", secrets.token_hex(32))
    return hub_settings


async def test_the_command_compacts_and_says_what_it_did(
    hub_env: HubSettings, hub_db: Database, capsys: pytest.CaptureFixture[str]
) -> None:
    await add_site(hub_db, "a")
    long_ago = datetime(2020, 1, 1, tzinfo=START.tzinfo)
    await feed(hub_db, "a", long_ago, ("booking", "b1", "upsert"), ("booking", "b1", "upsert"))

    code, out, err = run_cli(capsys, "compact-feed", "--keep-days", "30")

    assert code == 0, err
    assert "1 rows removed from 1 sites" in out and "a: 1 of 2 old rows removed, horizon 1" in out
    assert "site a: 2 old rows examined, 1 removed" in err  # progress goes to standard error
    code, out, _ = run_cli(capsys, "compact-feed")
    assert code == 0 and "rows removed" in out and "horizon unchanged" in out


@pytest.mark.parametrize("days", ["-1", "soon", "99999"])
def test_the_command_refuses_a_bad_horizon(
    hub_env: HubSettings, capsys: pytest.CaptureFixture[str], days: str
) -> None:
    code, _, err = run_cli(capsys, "compact-feed", "--keep-days", days)
    assert code == 2 and "--keep-days" in err and "Traceback" not in err
