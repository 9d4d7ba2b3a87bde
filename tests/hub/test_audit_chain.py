# ruff: noqa: F811 - the in-process edge/hub pair's fixtures are imported as parameters
"""Audit chains on the hub: the verifier re-hashes stored events and finds the first break.

Events are written straight into ``audit_event``, hashed the way an edge hashes them
(``sync.audit_hash.audit_body`` + ``audit_hash``); a broken chain is built by inserting a bad
row, since UPDATE and DELETE are refused by trigger.
"""

from __future__ import annotations

import json
import os
import random
import sqlite3
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import closing
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from hub.audit_chain import EVENTS_SQL, ChainReport, verify_chains, verify_node
from hub.cli import main
from hub.db import Database
from hub.errors import NotFound
from hub.sync_feed import driver
from sync.audit_hash import GENESIS_HASH, audit_body, audit_hash
from tests.contract.conftest import PairFactory, clock, edge_settings, make_pair  # noqa: F401
from tests.contract.helpers import book, set_up_edge
from tests.edge.conftest import node, template_node  # noqa: F401 - fixtures

AT = datetime(2026, 3, 1, 9, 30, 15, 250000, tzinfo=UTC)
NODE = "node-a"


def chain(node_id: str, count: int, **changes: dict[str, Any]) -> list[dict[str, Any]]:
    """``count`` events hashed as the edge does; ``changes[str(seq)]`` alters an event's fields
    after it was hashed (its stored hash stays the one of the original content)."""
    events, head = [], GENESIS_HASH
    for seq in range(1, count + 1):
        details: dict[str, Any] = {"status": "confirmed", "cents": seq * 100}
        if seq % 2:
            details = {"booking_id": f"b-{seq}", "note": 'a "quoted" line\nwith ✓', "rules": []}
        body = audit_body(
            seq, node_id, f"{seq:012x}:0000:{node_id}", "host:zoë", "booking.create",
            "booking", f"b-{seq}", details, AT + timedelta(seconds=seq), head,
        )  # fmt: skip
        event = {**body, "at": AT + timedelta(seconds=seq), "hash": audit_hash(body)}
        head = event["hash"]
        events.append(event | changes.get(str(seq), {}))
    return events


def rehashed(event: dict[str, Any]) -> dict[str, Any]:
    """The event with the hash of its (changed) content."""
    fields = {name: value for name, value in event.items() if name != "hash"}
    return event | {"hash": audit_hash(audit_body(**fields))}


async def store(db: Database, events: list[dict[str, Any]]) -> None:
    async with db.write() as session:
        conn = await driver(session)
        await conn.executemany(
            "INSERT INTO audit_event (node_id, seq, hlc, actor, action, entity, entity_id,"
            " details, at, prev_hash, hash) VALUES ($1, $2, $3, $4, $5, $6, $7,"
            " CAST($8::text AS jsonb), $9, $10, $11)",
            [
                (e["node_id"], e["seq"], e["hlc"], e["actor"], e["action"], e["entity"],
                 e["entity_id"], json.dumps(e["details"]), e["at"],
                 e["prev_hash"], e["hash"])
                for e in events
            ],
        )  # fmt: skip


async def verify(db: Database, node_id: str = NODE, batch_rows: int = 1000) -> ChainReport:
    async with db.read() as session:
        return await verify_node(await driver(session), node_id, batch_rows=batch_rows)


async def test_an_intact_chain_verifies(hub_db: Database) -> None:
    await store(hub_db, chain(NODE, 12))
    assert await verify(hub_db) == ChainReport(NODE, 12)


async def test_a_chain_pushed_by_a_real_edge_verifies(make_pair: PairFactory) -> None:
    """The edge's own events, through push and PostgreSQL's jsonb and timestamptz, re-hash."""
    async with make_pair() as pair:
        site = await set_up_edge(pair.edge, pair.edge_client)
        await book(pair.edge_client, site, "2025-11-06T10:00:00", "2025-11-06T12:00:00")
        assert (await pair.sync()).outcome == "ok"
        with closing(sqlite3.connect(pair.services.settings.database_path)) as edge_db:
            node_id, events = edge_db.execute(
                "SELECT node_id, audit_seq FROM node_state"
            ).fetchone()
        (report,) = await verify_chains(pair.hub_db)
    assert report == ChainReport(node_id, events) and events > 5


async def test_a_chain_spanning_many_batches_verifies(hub_db: Database) -> None:
    await store(hub_db, chain(NODE, 25))
    report = await verify(hub_db, batch_rows=4)
    assert report.intact and report.events == 25


async def test_an_altered_event_is_reported_at_its_seq(hub_db: Database) -> None:
    await store(hub_db, chain(NODE, 10, **{"6": {"action": "booking.cancel"}}))
    report = await verify(hub_db, batch_rows=4)
    assert (report.first_break_seq, report.events) == (6, 5)
    assert report.reason == "event 6 was altered: its content does not match its hash"


async def test_altered_details_are_reported(hub_db: Database) -> None:
    await store(hub_db, chain(NODE, 4, **{"3": {"details": {"booking_id": "b-9"}}}))
    assert (await verify(hub_db)).first_break_seq == 3


async def test_a_missing_seq_is_reported(hub_db: Database) -> None:
    events = chain(NODE, 9)
    await store(hub_db, events[:6] + events[7:])  # seq 7 never arrived
    report = await verify(hub_db, batch_rows=3)
    assert (report.first_break_seq, report.events) == (7, 6)
    assert report.reason == "sequence 7 is missing (the next event is 8)"


async def test_a_chain_must_start_at_seq_one(hub_db: Database) -> None:
    await store(hub_db, chain(NODE, 5)[2:])
    assert (await verify(hub_db)).first_break_seq == 1


async def test_a_wrong_prev_hash_is_reported(hub_db: Database) -> None:
    events = chain(NODE, 8)
    events[4] = rehashed(events[4] | {"prev_hash": "f" * 64})  # its own hash holds, its link not
    await store(hub_db, events)
    report = await verify(hub_db)
    assert (report.first_break_seq, report.events) == (5, 4)
    assert report.reason == "event 5 does not follow the hash of event 4"


async def test_the_first_event_follows_the_genesis_hash(hub_db: Database) -> None:
    events = chain(NODE, 1)
    await store(hub_db, [rehashed(events[0] | {"prev_hash": "1" * 64})])
    assert (await verify(hub_db)).first_break_seq == 1


async def test_every_node_is_verified_on_its_own(hub_db: Database) -> None:
    await store(hub_db, chain("node-b", 5, **{"2": {"actor": "host:mallory"}}))
    await store(hub_db, chain(NODE, 7))
    seen: list[tuple[str, int]] = []
    reports = await verify_chains(hub_db, progress=lambda node, done: seen.append((node, done)))
    assert [(r.node_id, r.events, r.first_break_seq) for r in reports] == [
        (NODE, 7, None),
        ("node-b", 1, 2),
    ]
    assert (NODE, 7) in seen
    assert [r.node_id for r in await verify_chains(hub_db, "node-b")] == ["node-b"]


async def test_an_unknown_node_is_refused(hub_db: Database) -> None:
    with pytest.raises(NotFound):
        await verify_chains(hub_db, "node-nowhere")


async def test_no_events_is_an_intact_empty_chain(hub_db: Database) -> None:
    assert await verify(hub_db, "node-silent") == ChainReport("node-silent", 0)
    assert await verify_chains(hub_db) == []


async def test_instants_are_written_as_isoformat_writes_them(hub_db: Database) -> None:
    """The verifier has PostgreSQL format ``at``; it must be ``datetime.isoformat()`` exactly."""
    rng = random.Random(7)
    instants = [
        datetime(2026, 1, 1, tzinfo=UTC),  # no fraction
        datetime(2026, 1, 1, 0, 0, 0, 1, tzinfo=UTC),
        datetime(2026, 12, 31, 23, 59, 59, 999999, tzinfo=UTC),
        datetime(1, 1, 1, 0, 0, 1, tzinfo=UTC),  # (asyncpg sends datetime.min as -infinity)
        datetime(9999, 12, 31, 23, 59, 59, 500000, tzinfo=UTC),
    ]
    epoch, span = (
        datetime(1970, 1, 1, tzinfo=UTC),
        timedelta(days=365 * 130) // timedelta(microseconds=1),
    )
    instants += [epoch + timedelta(microseconds=rng.randrange(span)) for _ in range(200)]
    events = []
    for seq, at in enumerate(instants, start=1):
        events.append(
            {"node_id": NODE, "seq": seq, "hlc": "h", "actor": "a", "action": "x", "entity": "e",
             "entity_id": "i", "details": {}, "at": at, "prev_hash": "p", "hash": "h"}
        )  # fmt: skip
    await store(hub_db, events)
    async with hub_db.read() as session:
        rows = await (await driver(session)).fetch(EVENTS_SQL, NODE)
    assert [row[7] for row in rows] == [at.isoformat() for at in instants]


# --- prep-hub audit-verify ----------------------------------------------------------------------


@dataclass(frozen=True)
class Run:
    code: int
    out: list[str]
    err: list[str]


@pytest.fixture
def cli(
    clean_database: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> Callable[..., Run]:
    """``prep-hub ARGS`` against the test database, in a worker thread (it runs its own loop)."""
    for name in list(os.environ):
        if name.startswith("PREP_HUB_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("PREP_HUB_DATABASE_URL", clean_database)

    def run(*argv: str) -> Run:
        capsys.readouterr()
        with ThreadPoolExecutor(1) as pool:
            code = pool.submit(main, list(argv)).result()
        captured = capsys.readouterr()
        return Run(code, captured.out.splitlines(), captured.err.splitlines())

    return run


async def test_the_command_prints_a_line_per_node_and_exits_0_when_intact(
    hub_db: Database, cli: Callable[..., Run]
) -> None:
    await store(hub_db, chain(NODE, 12))
    await store(hub_db, chain("node-b", 3))
    done = cli("audit-verify")
    assert done.code == 0
    assert done.out == ["node-a: 12 events, intact", "node-b: 3 events, intact"]
    assert done.err[-1].startswith("2 chains, 15 events verified in ")
    assert cli("audit-verify", "--node", "node-b").out == ["node-b: 3 events, intact"]


async def test_the_command_exits_1_when_a_chain_is_broken(
    hub_db: Database, cli: Callable[..., Run]
) -> None:
    await store(hub_db, chain(NODE, 6, **{"4": {"entity_id": "b-404"}}))
    await store(hub_db, chain("node-b", 2))
    done = cli("audit-verify")
    assert done.code == 1
    assert done.out == [
        "node-a: BROKEN at seq 4 (3 events intact before it): "
        "event 4 was altered: its content does not match its hash",
        "node-b: 2 events, intact",
    ]
    assert cli("audit-verify", "--node", "node-b").code == 0


async def test_the_command_refuses_an_unknown_node_in_one_line(cli: Callable[..., Run]) -> None:
    done = cli("audit-verify", "--node", "node-x")
    assert done.code == 2 and done.out == []
    assert done.err == [
        "prep-hub audit-verify: no node 'node-x' on this hub (no enrolment, no audit events)"
    ]


async def test_the_command_says_when_there_is_nothing_to_verify(cli: Callable[..., Run]) -> None:
    done = cli("audit-verify")
    assert (done.code, done.out) == (
        0,
        ["no audit chains on this hub (no enrolled node, no audit event)"],
    )
