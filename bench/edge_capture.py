"""The price of capture: a booking insert alone against the same insert with audit and outbox.

Both run on the single writer with ``BEGIN IMMEDIATE`` and a durable commit, one row per
transaction, so the ratio isolates what the journal adds (an audit event with its hash, two
outbox rows and the node counters).
"""

from __future__ import annotations

import asyncio
import os
import statistics
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from edge.bookings import booking_state
from edge.clock import FixedClock, epoch_ms
from edge.db import Database
from edge.journal import SYSTEM, Journal
from edge.setup import initialise
from edge.tables import Booking, Renter, Resource
from sync.ids import uuid7

NOW = datetime(2025, 11, 5, 16, tzinfo=UTC)


def _booking(resource: str, renter: str, site: str, index: int) -> Booking:
    start = NOW + timedelta(hours=2 * index)
    return Booking(
        id=str(uuid7(epoch_ms(NOW) + index)),
        site_id=site,
        resource_id=resource,
        renter_id=renter,
        starts_at=start,
        ends_at=start + timedelta(hours=2),
        status="confirmed",
        price_cents=6000,
        quote={},
        created_by="bench",
        created_at=NOW,
        updated_at=NOW,
        updated_hlc="0",
    )


def capture_overhead(folder: Path, count: int) -> dict[str, Any]:
    result = initialise(
        folder, "Bench", "san_francisco", "America/Los_Angeles", NOW, dict(os.environ)
    )
    return asyncio.run(_measure(folder, result.site_id, count))


async def _measure(folder: Path, site_id: str, count: int) -> dict[str, Any]:
    db = Database(folder / "edge.sqlite")
    clock = FixedClock(NOW)
    journal = await Journal.open(db, lambda: epoch_ms(clock.now()))
    resource, renter = str(uuid7(epoch_ms(NOW))), str(uuid7(epoch_ms(NOW)))
    async with journal.write(SYSTEM, NOW) as tx:
        tx.session.add(
            Resource(
                id=resource,
                site_id=site_id,
                name="S",
                kind="station",
                hourly_rate_cents=3000,
                created_at=NOW,
                updated_hlc=tx.stamp(),
            )
        )
        tx.session.add(
            Renter(id=renter, name="R", profile={}, created_at=NOW, updated_hlc=tx.stamp())
        )
    plain, captured = [], []
    for index in range(count):
        began = time.perf_counter()
        async with db.write() as session:
            session.add(_booking(resource, renter, site_id, 2 * index))
        plain.append(time.perf_counter() - began)
        began = time.perf_counter()
        async with journal.write(SYSTEM, NOW) as tx:
            booking = _booking(resource, renter, site_id, 2 * index + 1)
            tx.session.add(booking)
            tx.record("booking.create", "booking", booking.id, {}, state=booking_state(booking))
        captured.append(time.perf_counter() - began)
    await db.dispose()
    plain_us, captured_us = statistics.median(plain) * 1e6, statistics.median(captured) * 1e6
    return {
        "count": count,
        "plain_us": plain_us,
        "captured_us": captured_us,
        "ratio": captured_us / plain_us,
    }
