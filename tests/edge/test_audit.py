"""The audit log: append-only in SQLite, paged over the API, and its hash chain verified."""

from __future__ import annotations

import sqlite3
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient

from edge.audit_verify import verify_chain, verify_connection, verify_database
from edge.errors import SetupError
from edge.journal import SYSTEM, audit_hash
from edge.services import EdgeServices
from edge.tables import AuditEvent
from sync.shapes.audit import ChainReport
from sync.vocabulary import Role
from tests.edge.conftest import Login

Client = AsyncTestClient[Litestar]
COLUMNS = ["seq", "node_id", "hlc", "actor", "action", "entity", "entity_id", "details", "at"]
COLUMNS += ["prev_hash", "hash"]


def services_of(app: Litestar) -> EdgeServices:
    services: EdgeServices = app.state.services
    return services


def db_path(app: Litestar) -> Path:
    return services_of(app).settings.database_path


async def note(app: Litestar, count: int) -> int:
    """Record ``count`` audit events; returns the last sequence number."""
    services = services_of(app)
    for i in range(count):
        async with services.journal.write(SYSTEM, services.clock.now()) as tx:
            event = tx.record("test.note", "note", str(i), {"i": i, "text": "café"})
    return event.seq


def tamper(app: Litestar, *statements: str, params: tuple[Any, ...] = ()) -> None:
    """Run SQL past the append-only triggers, as someone with the file would."""
    with sqlite3.connect(db_path(app)) as db:
        db.execute("DROP TRIGGER audit_event_no_update")
        db.execute("DROP TRIGGER audit_event_no_delete")
        for sql in statements:
            db.execute(sql, params)


async def report_via_api(client: Client, headers: dict[str, str]) -> dict[str, Any]:
    response = await client.get("/api/v1/audit/verify", headers=headers)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def all_reports(app: Litestar) -> list[ChainReport]:
    """The async and both sync variants, which must agree."""
    async with services_of(app).db.read() as session:
        async_report = await verify_chain(session)
    with sqlite3.connect(db_path(app)) as conn:
        connection_report = verify_connection(conn)
    return [async_report, connection_report, verify_database(db_path(app))]


@pytest.mark.parametrize(
    "sql",
    ["UPDATE audit_event SET actor = 'someone else' WHERE seq = 1", "DELETE FROM audit_event"],
    ids=["update", "delete"],
)
async def test_sqlite_refuses_to_change_audit_rows(app: Litestar, client: Client, sql: str) -> None:
    with (
        sqlite3.connect(db_path(app)) as db,
        pytest.raises(sqlite3.IntegrityError, match="append-only"),
    ):
        db.execute(sql)


async def test_an_untouched_chain_verifies(app: Litestar, client: Client, login: Login) -> None:
    await note(app, 5)
    headers = await login(Role.STAFF)  # signing in is audited too
    with sqlite3.connect(db_path(app)) as db:
        last = db.execute("SELECT max(seq) FROM audit_event").fetchone()[0]
    expected = {"ok": True, "checked": last, "first_bad_seq": None, "reason": None}
    assert await report_via_api(client, headers) == expected
    assert all(r.model_dump() == expected for r in await all_reports(app))


async def test_an_edited_row_is_named(app: Litestar, client: Client, login: Login) -> None:
    await note(app, 5)
    tamper(app, "UPDATE audit_event SET details = '{\"i\":99}' WHERE seq = 4")
    report = await report_via_api(client, await login(Role.HOST))
    assert (report["ok"], report["first_bad_seq"], report["checked"]) == (False, 4, 3)
    assert "altered" in report["reason"]
    assert {r.first_bad_seq for r in await all_reports(app)} == {4}


async def test_a_forged_hash_breaks_the_next_link(app: Litestar, client: Client) -> None:
    await note(app, 5)
    with sqlite3.connect(db_path(app)) as db:
        db.row_factory = sqlite3.Row
        row = db.execute("SELECT * FROM audit_event WHERE seq = 3").fetchone()
    fields = {name: row[name] for name in COLUMNS} | {"details": {"i": 99}}
    forged = audit_hash(AuditEvent(**fields | {"at": datetime.fromisoformat(fields["at"])}))
    tamper(
        app,
        "UPDATE audit_event SET details = ?, hash = ? WHERE seq = 3",
        params=('{"i":99}', forged),
    )
    reports = await all_reports(app)
    assert {(r.ok, r.first_bad_seq) for r in reports} == {(False, 4)}
    assert "does not follow" in str(reports[0].reason)


async def test_a_deleted_row_is_a_gap(app: Litestar, client: Client) -> None:
    await note(app, 5)
    tamper(app, "DELETE FROM audit_event WHERE seq = 5")
    reports = await all_reports(app)
    assert {(r.ok, r.first_bad_seq) for r in reports} == {(False, 5)}
    assert "sequence 5 is missing" in str(reports[0].reason)


async def test_deleting_the_newest_rows_is_caught_by_the_head(
    app: Litestar, client: Client
) -> None:
    last = await note(app, 5)
    tamper(app, "DELETE FROM audit_event WHERE seq >= ?", params=(last - 1,))
    reports = await all_reports(app)
    assert {(r.ok, r.first_bad_seq) for r in reports} == {(False, last - 1)}
    assert "ends early" in str(reports[0].reason)


async def test_a_swapped_pair_is_caught(app: Litestar, client: Client) -> None:
    await note(app, 5)
    tamper(
        app,
        "UPDATE audit_event SET seq = -4 WHERE seq = 4",
        "UPDATE audit_event SET seq = 4 WHERE seq = 5",
        "UPDATE audit_event SET seq = 5 WHERE seq = -4",
    )
    reports = await all_reports(app)
    assert {(r.ok, r.first_bad_seq) for r in reports} == {(False, 4)}
    assert "does not follow" in str(reports[0].reason)


async def test_events_page_after_a_sequence(app: Litestar, client: Client, login: Login) -> None:
    last = await note(app, 7)
    headers = await login(Role.STAFF)
    page = (
        await client.get("/api/v1/audit", params={"after_seq": 2, "limit": 3}, headers=headers)
    ).json()
    assert [e["seq"] for e in page["events"]] == [3, 4, 5]
    assert page["next_after_seq"] == 5
    assert set(page["events"][0]) >= {"hlc", "actor", "action", "details", "prev_hash", "hash"}
    rest = await client.get(
        "/api/v1/audit", params={"after_seq": 5, "limit": 1000}, headers=headers
    )
    assert rest.json()["events"][-1]["seq"] >= last
    assert rest.json()["next_after_seq"] is None
    bad = await client.get("/api/v1/audit", params={"limit": 0}, headers=headers)
    assert bad.status_code == 400


async def test_renters_may_not_read_the_audit_log(
    app: Litestar, client: Client, login: Login
) -> None:
    from tests.edge.test_documents import add_renter

    renter = await login(Role.RENTER, "baker", renter_id=await add_renter(app))
    for path in ("/api/v1/audit", "/api/v1/audit/verify"):
        response = await client.get(path, headers=renter)
        assert response.status_code == 403
        assert response.json()["error"]["code"] == "forbidden"
    assert (await client.get("/api/v1/audit")).status_code == 401


def test_verify_database_of_a_missing_file(tmp_path: Path) -> None:
    with pytest.raises(SetupError, match="no such database"):
        verify_database(tmp_path / "absent.sqlite")
