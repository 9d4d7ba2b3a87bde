"""Audit chain verification on the hub: a million-event chain re-hashed from PostgreSQL.

``python -m bench.audit_chain [--quick] [--json]`` creates a throwaway hub database (``CREATE
DATABASE`` + ``prep-hub migrate``, as ``bench.sync_setup.Hub`` does), fills ``audit_event`` with
one node's chain of N valid events by ``COPY`` (N = 1,000,000; 100,000 with ``--quick``), vacuums
it as an ingested chain would be, then times ``hub.audit_chain.verify_chains`` in this process,
the code ``prep-hub audit-verify`` runs. The reference beside it is the same cursor streaming
the same rows with no check at all: what PostgreSQL and the driver cost before any hashing.

The events mix what edges write: bookings created on a few stations for a few hundred renters
(details that repeat), check-ins (repeating) and check-in records naming their booking (details
seen once). Each timing is the median of three runs; the table shows it beside the target.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg

from bench.report import publish
from bench.sync_setup import SERVER, Hub
from hub.audit_chain import BATCH_ROWS, EVENTS_SQL, verify_chains
from hub.db import Database
from sync.audit_hash import GENESIS_HASH, canonical_json, chain_hasher
from sync.hlc import Stamp
from sync.ids import uuid7

ROOT = Path(__file__).resolve().parents[1]
NODE = "node-bench-audit"
START = datetime(2026, 1, 5, 14, tzinfo=UTC)
TARGET_S = 10.0  # for 1,000,000 events
RUNS = 3
COPY_ROWS = 50_000
COLUMNS = [
    "node_id", "seq", "hlc", "actor", "action", "entity", "entity_id", "details", "at",
    "prev_hash", "hash",
]  # fmt: skip


def _event(seq: int) -> tuple[str, str, str, dict[str, Any]]:
    """(action, entity, entity_id, details) of event ``seq``: 3 in 5 bookings created, 1 in 5
    check-ins, 1 in 5 check-in records naming their booking."""
    booking = str(uuid7(int(START.timestamp() * 1000) + seq // 5))
    kind = seq % 5
    details: dict[str, Any]
    if kind < 3:
        details = {
            "status": "confirmed",
            "resource_id": f"station-{seq % 8}",
            "renter_id": f"renter-{seq % 300:03d}",
        }
        return "booking.create", "booking", booking, details
    if kind == 3:
        details = {"result": "allow", "override_reason": None, "rules": []}
        return "booking.check_in", "booking", booking, details
    return "check_in.create", "check_in", str(uuid7(seq)), {"booking_id": booking}


def chain_rows(count: int) -> Iterator[list[tuple[Any, ...]]]:
    """The chain in slices of ``COPY_ROWS`` rows, hashed exactly as an edge hashes them."""
    head, rows, event_hash = GENESIS_HASH, [], chain_hasher(NODE)
    for seq in range(1, count + 1):
        at = START + timedelta(milliseconds=37 * seq)
        hlc = Stamp(int(at.timestamp() * 1000), 0, NODE).encode()
        action, entity, entity_id, details = _event(seq)
        text = canonical_json(details)
        actor = "host:bench"
        digest = event_hash(seq, hlc, actor, action, entity, entity_id, text, at.isoformat(), head)
        rows.append((NODE, seq, hlc, actor, action, entity, entity_id, text, at, head, digest))
        head = digest
        if len(rows) == COPY_ROWS:
            yield rows
            rows = []
    if rows:
        yield rows


async def fill(database: str, count: int) -> float:
    """COPY the chain into ``audit_event``, then VACUUM ANALYZE; answers the seconds taken."""
    began = time.perf_counter()
    conn = await asyncpg.connect(f"{SERVER}/{database}")
    try:
        for rows in chain_rows(count):
            await conn.copy_records_to_table("audit_event", records=rows, columns=COLUMNS)
        await conn.execute("VACUUM (ANALYZE) audit_event")
    finally:
        await conn.close()
    return time.perf_counter() - began


async def stream_only(database: str) -> float:
    """The reference: the verifier's query through a cursor, batch by batch, nothing checked."""
    conn = await asyncpg.connect(f"{SERVER}/{database}")
    try:
        began = time.perf_counter()
        async with conn.transaction(readonly=True):
            cursor = await conn.cursor(EVENTS_SQL, NODE)
            while len(await cursor.fetch(BATCH_ROWS)) == BATCH_ROWS:
                pass
        return time.perf_counter() - began
    finally:
        await conn.close()


async def verify_once(url: str, count: int) -> tuple[float, float]:
    """Wall and CPU seconds of this process for one verification of the whole chain."""
    db = Database(url, pool_size=1)
    try:
        began, cpu = time.perf_counter(), time.process_time()
        (report,) = await verify_chains(db, NODE)
        elapsed, cpu = time.perf_counter() - began, time.process_time() - cpu
    finally:
        await db.dispose()
    if not report.intact or report.events != count:
        raise SystemExit(f"the bench chain did not verify: {report}")
    return elapsed, cpu


async def measure(hub: Hub, count: int) -> dict[str, Any]:
    fill_s = await fill(hub.database, count)
    runs = [await verify_once(hub.url, count) for _ in range(RUNS)]
    stream = [await stream_only(hub.database) for _ in range(RUNS)]
    verify_s, stream_s = statistics.median(r[0] for r in runs), statistics.median(stream)
    return {
        "events": count,
        "fill_s": fill_s,
        "verify_s": verify_s,
        "verify_runs_s": [r[0] for r in runs],
        "verify_cpu_s": statistics.median(r[1] for r in runs),
        "events_per_s": count / verify_s,
        "stream_only_s": stream_s,
        "verify_over_stream": verify_s / stream_s,
    }


def run(quick: bool) -> dict[str, Any]:
    count = 100_000 if quick else 1_000_000
    with tempfile.TemporaryDirectory(prefix="prep-bench-audit-") as tmp:
        hub = Hub(Path(tmp))
        hub.create()
        try:
            figures = asyncio.run(measure(hub, count))
        finally:
            hub.log.close()
            hub.drop()
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    return {"benchmark": "audit_chain", "stamp": stamp, "quick": quick, **figures}


def render(r: dict[str, Any]) -> str:
    events, verify_s = r["events"], r["verify_s"]
    budget = TARGET_S * events / 1_000_000  # the target, scaled to this run's N
    mark = "ok  " if verify_s <= budget else "MISS"
    rows = [
        (f"verify {events:,} events", f"{verify_s:.2f} s",
         f"{mark} <= {TARGET_S:.0f} s per 1M ({budget:.1f} s for this N)"),
        ("events/s", f"{r['events_per_s']:,.0f}/s", ">= 100,000/s"),
        ("verifier CPU", f"{r['verify_cpu_s']:.2f} s",
         "this process only (PostgreSQL works beside it)"),
        ("stream only (reference)", f"{r['stream_only_s']:.2f} s",
         f"verify = {r['verify_over_stream']:.1f}x the bare cursor"),
        ("fill (COPY + VACUUM)", f"{r['fill_s']:.1f} s", "setup, not a target"),
    ]  # fmt: skip
    width = max(len(row[0]) for row in rows)
    lines = [f"{name:<{width}}  {value:>12}  {note}" for name, value, note in rows]
    lines.append("median of 3 runs; PostgreSQL and the verifier share this box's 2 cores")
    return "\n".join(lines)


KEYS = ("events", "verify_s", "events_per_s")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.audit_chain", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="100,000 events instead of 1M")
    parser.add_argument("--json", action="store_true", help="also print one JSON line")
    args = parser.parse_args(argv)
    result = run(args.quick)
    publish(
        "audit_chain", result, render(result), ("events", "verify_s", "events_per_s"), args.json
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
