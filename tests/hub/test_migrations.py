"""The hub schema: Alembic's head, every table, the models in step with 0001, and the rules that
live in PostgreSQL itself (no overlapping active bookings; an append-only audit log)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, text
from sqlalchemy.exc import DBAPIError, IntegrityError

from hub.db import Database
from hub.migrate import HEAD_REVISION, alembic_config, upgrade_async
from hub.tables import AuditEvent, Booking, HubModel
from tests.hub.conftest import START

TABLES = {
    "hub_user", "refresh_token", "site", "resource", "renter", "booking", "conflict", "check_in",
    "document", "blob", "audit_event", "node", "enrollment_token", "request_nonce", "feed",
    "reference_bundle",
}  # fmt: skip


def test_the_recorded_head_is_alembics_head() -> None:
    assert ScriptDirectory.from_config(alembic_config()).get_current_head() == HEAD_REVISION


async def test_every_table_exists_with_btree_gist(hub_db: Database) -> None:
    async with hub_db.read() as session:
        conn = await session.connection()
        names = set(
            (
                await conn.execute(
                    text("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
                )
            ).scalars()
        )
        extension = await conn.scalar(
            text("SELECT extname FROM pg_extension WHERE extname = 'btree_gist'")
        )
        revision = await conn.scalar(text("SELECT version_num FROM alembic_version"))
    assert names == TABLES | {"alembic_version"}
    assert {t.name for t in HubModel.metadata.sorted_tables} == TABLES
    assert extension == "btree_gist"
    assert revision == HEAD_REVISION


async def test_the_models_match_the_migrations(hub_db: Database) -> None:
    def differences(connection: Connection) -> list[Any]:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        return list(compare_metadata(context, HubModel.metadata))

    async with hub_db.engine.connect() as conn:
        assert await conn.run_sync(differences) == []


async def sql(db: Database, statement: str) -> list[tuple[Any, ...]]:
    """Run one statement in its own transaction; the rows it returns, if any."""
    async with db.write() as session:
        result = await (await session.connection()).execute(text(statement))
        return [tuple(row) for row in result] if result.returns_rows else []


async def test_upgrading_again_changes_nothing(hub_db: Database, clean_database: str) -> None:
    await upgrade_async(clean_database)
    assert await sql(hub_db, "SELECT version_num FROM alembic_version") == [(HEAD_REVISION,)]


# --- booking_no_overlap --------------------------------------------------------------------------


def booking(booking_id: str, start_hour: int, end_hour: int, **fields: Any) -> Booking:
    day = START.replace(hour=0)
    values: dict[str, Any] = {
        "id": booking_id,
        "site_id": "site-1",
        "resource_id": "oven",
        "renter_id": "renter-1",
        "starts_at": day + timedelta(hours=start_hour),
        "ends_at": day + timedelta(hours=end_hour),
        "status": "confirmed",
        "price_cents": 10_000,
        "origin_node": "node-a",
        "created_at": START,
        "updated_at": START,
        "updated_hlc": "0000000000000-00000-node-a",
    }
    return Booking(**{**values, **fields})


async def insert(db: Database, *rows: Booking) -> None:
    async with db.write() as session:
        session.add_all(rows)


async def test_an_overlapping_active_booking_is_refused(hub_db: Database) -> None:
    await insert(hub_db, booking("b1", 10, 12))
    for status in ("hold", "confirmed", "checked_in"):
        with pytest.raises(IntegrityError, match="booking_no_overlap"):
            await insert(hub_db, booking(f"b-{status}", 11, 13, status=status))


@pytest.mark.parametrize(
    "other",
    [
        pytest.param(lambda: booking("b2", 11, 13, status="cancelled"), id="cancelled"),
        pytest.param(lambda: booking("b2", 11, 13, status="conflict"), id="conflict"),
        pytest.param(lambda: booking("b2", 11, 13, status="no_show"), id="no-show"),
        pytest.param(lambda: booking("b2", 11, 13, status="checked_out"), id="checked-out"),
        pytest.param(lambda: booking("b2", 12, 14), id="adjacent, half-open"),
        pytest.param(lambda: booking("b2", 11, 13, resource_id="mixer"), id="other resource"),
    ],
)
async def test_what_does_not_occupy_the_slot_is_accepted(
    hub_db: Database, other: Callable[[], Booking]
) -> None:
    await insert(hub_db, booking("b1", 10, 12))
    await insert(hub_db, other())
    async with hub_db.read() as session:
        assert await session.get(Booking, "b2") is not None


async def test_reactivating_a_cancelled_overlap_is_refused(hub_db: Database) -> None:
    await insert(hub_db, booking("b1", 10, 12), booking("b2", 11, 13, status="cancelled"))
    with pytest.raises(IntegrityError, match="booking_no_overlap"):
        await sql(hub_db, "UPDATE booking SET status = 'confirmed' WHERE id = 'b2'")


async def test_a_booking_must_end_after_it_starts(hub_db: Database) -> None:
    with pytest.raises(IntegrityError, match="time_order"):
        await insert(hub_db, booking("b1", 12, 11, status="cancelled"))


# --- audit_event is append-only ------------------------------------------------------------------


def audit(seq: int, at: datetime = START) -> AuditEvent:
    return AuditEvent(
        node_id="node-a", seq=seq, hlc=f"{seq:013d}-00000-node-a", actor="host", action="x",
        entity="booking", entity_id="b1", details={"n": seq}, at=at, prev_hash="0", hash=f"h{seq}",
    )  # fmt: skip


@pytest.mark.parametrize(
    "statement",
    ["UPDATE audit_event SET actor = 'someone else'", "DELETE FROM audit_event WHERE seq = 1"],
)
async def test_audit_events_refuse_update_and_delete(hub_db: Database, statement: str) -> None:
    async with hub_db.write() as session:
        session.add_all([audit(1), audit(2)])
    with pytest.raises(DBAPIError, match="append-only"):
        await sql(hub_db, statement)
    rows = await sql(hub_db, "SELECT seq, actor FROM audit_event ORDER BY seq")
    assert rows == [(1, "host"), (2, "host")]


async def test_an_audit_event_is_stored_once_per_node_and_seq(hub_db: Database) -> None:
    async with hub_db.write() as session:
        session.add(audit(1))
    with pytest.raises(IntegrityError):
        async with hub_db.write() as session:
            session.add(audit(1))
