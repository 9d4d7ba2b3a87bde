"""What push, pull and the hub's own writes share: the driver connection, the site feed, the
replicated booking shape, and the context a batch is applied in (connection, node, time, hub
stamps, what was applied)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import asyncpg
from sqlmodel.ext.asyncio.session import AsyncSession

from hub.change_store import PostgresChangeStore
from hub.tables import Node
from sync.change_store import HUB_ORIGIN, NewChange
from sync.hlc import Stamp
from sync.pii import PiiCipher
from sync.wire import ConflictNotice

HUB = HUB_ORIGIN  # the origin of feed rows the hub writes


@dataclass
class Applied:
    applied: int = 0
    duplicates: int = 0
    conflicts: list[ConflictNotice] = field(default_factory=list)
    feed: list[tuple[Any, ...]] = field(default_factory=list)  # rows for the site's feed


async def driver(session: AsyncSession) -> asyncpg.Connection:
    """The asyncpg connection under ``session``, inside its transaction.

    SQLAlchemy begins the driver's transaction lazily, at the session's first statement; without
    one, statements sent straight to asyncpg would each commit on their own (locks released at
    once, nothing rolled back), so the transaction is begun here when it has not been yet.
    """
    connection = await session.connection()
    raw = await connection.get_raw_connection()
    conn: asyncpg.Connection = raw.driver_connection  # type: ignore[assignment]
    if not conn.is_in_transaction():
        await connection.exec_driver_sql("SELECT 1")  # SQLAlchemy's BEGIN (READ ONLY in reads)
    return conn


async def append_feed(
    conn: asyncpg.Connection, site_id: str, rows: list[tuple[Any, ...]], now: datetime
) -> None:
    """Append ``(entity, entity_id, op, payload, hlc, origin)`` rows to the site's feed."""
    changes = [NewChange(origin, hlc, e, i, op, p) for e, i, op, p, hlc, origin in rows]
    await PostgresChangeStore(conn, site_id).append(changes, now)


def instant(value: Any) -> datetime | None:
    return datetime.fromisoformat(value) if isinstance(value, str) and value else None


class ApplyContext:
    """One batch being applied: where, by whom, when, and what it has done so far."""

    def __init__(
        self, conn: asyncpg.Connection, node: Node, now: datetime, pii: PiiCipher, result: Applied
    ) -> None:
        self.conn = conn
        self.node = node
        self.now = now
        self.pii = pii
        self.result = result
        self.stamp = Stamp(int(now.timestamp() * 1000), 0, HUB)

    def hub_stamp(self) -> str:
        self.stamp = Stamp(self.stamp.wall_ms, self.stamp.counter + 1, HUB)
        return self.stamp.encode()


def booking_payload(row: Any) -> dict[str, Any]:
    """A booking row in the replicated (edge) shape."""
    quote = row["quote"]
    return {
        "id": row["id"],
        "site_id": row["site_id"],
        "resource_id": row["resource_id"],
        "renter_id": row["renter_id"],
        "starts_at": row["starts_at"].isoformat(),
        "ends_at": row["ends_at"].isoformat(),
        "status": row["status"],
        "hold_expires_at": row["hold_expires_at"].isoformat() if row["hold_expires_at"] else None,
        "price_cents": row["price_cents"],
        "quote": json.loads(quote) if isinstance(quote, str) else quote,
        "paid": row["paid"],
        "confirmed_hlc": row["confirmed_hlc"],
        "origin_node": row["origin_node"],
        "created_by": row["origin_node"],
        "created_at": row["created_at"].isoformat(),
        "updated_at": row["updated_at"].isoformat(),
        "updated_hlc": row["updated_hlc"],
    }
