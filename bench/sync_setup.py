"""The pieces the sync benchmark stands on: a real hub process on a throwaway PostgreSQL
database, enrolled edge nodes in this process, and synthetic outbox contents.

Synthetic changes are written straight into an edge's outbox (the same rows the journal writes:
a booking upsert and its audit append per booking, with a valid hash chain), because creating
100,000 bookings through the API would measure the API, not sync.
"""

from __future__ import annotations

import asyncio
import json
import os
import secrets
import socket
import sqlite3
import subprocess
import sys
import time
from contextlib import closing
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import httpx

from sync.audit_hash import audit_hash
from sync.hlc import Stamp
from sync.ids import uuid7

SERVER = "postgresql://postgres@127.0.0.1:5432"
START = datetime(2026, 1, 5, 14, tzinfo=UTC)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


class Hub:
    """``prep-hub serve`` on a fresh database, for one benchmark run."""

    def __init__(self, folder: Path) -> None:
        self.database = f"prep_bench_{os.getpid()}"
        self.url = f"postgresql+asyncpg://postgres@127.0.0.1:5432/{self.database}"
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.env = {
            **os.environ,
            "PREP_HUB_DATABASE_URL": self.url,
            "PREP_HUB_JWT_SECRET": secrets.token_hex(32),
            "PREP_HUB_PII_KEY": secrets.token_hex(32),
            "PREP_HUB_BLIND_INDEX_KEY": secrets.token_hex(32),
            "PREP_HUB_DATA_DIR": str(folder / "hub-data"),
            "PREP_HUB_LOG_LEVEL": "WARNING",
        }
        self.log = (folder / "hub.log").open("wb")
        self.process: subprocess.Popen[bytes] | None = None

    def create(self) -> None:
        async def go() -> None:
            conn = await asyncpg.connect(f"{SERVER}/postgres")
            try:
                await conn.execute(f'DROP DATABASE IF EXISTS "{self.database}"')
                await conn.execute(f'CREATE DATABASE "{self.database}"')
            finally:
                await conn.close()

        asyncio.run(go())
        self.cli("migrate")

    def cli(self, *args: str) -> str:
        done = subprocess.run(
            [sys.executable, "-m", "hub", *args],
            env=self.env,
            capture_output=True,
            text=True,
            check=False,
            timeout=120,
        )
        if done.returncode != 0:
            raise SystemExit(f"prep-hub {' '.join(args)} failed: {done.stderr.strip()}")
        return done.stdout

    def start(self) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "hub", "serve", "--port", str(self.port)],
            env=self.env,
            stdout=self.log,
            stderr=self.log,
        )
        began = time.perf_counter()
        while time.perf_counter() - began < 30:
            try:
                if httpx.get(f"{self.base}/health/ready", timeout=0.5).status_code == 200:
                    return
            except httpx.HTTPError:
                time.sleep(0.05)
        raise SystemExit("the hub did not become ready in 30 s (see hub.log)")

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(timeout=15)
            self.process = None

    def drop(self) -> None:
        async def go() -> None:
            conn = await asyncpg.connect(f"{SERVER}/postgres")
            try:
                await conn.execute(f'DROP DATABASE IF EXISTS "{self.database}" WITH (FORCE)')
            finally:
                await conn.close()

        asyncio.run(go())

    async def sql(self, query: str, *args: Any) -> Any:
        conn = await asyncpg.connect(f"{SERVER}/{self.database}")
        try:
            return await conn.fetchval(query, *args)
        finally:
            await conn.close()


def fill_outbox(database: Path, bookings: int, *, audit_only: bool = False) -> int:
    """Append ``bookings`` synthetic bookings (upsert + audit append each) to a node's outbox.

    Returns the number of outbox rows written. Payloads have the journal's shapes; audit
    events chain their hashes from the node's current head, so the hub finds no gap.
    """
    with closing(sqlite3.connect(database)) as db:
        node_id, site_id, outbox_seq, audit_seq, head, last = db.execute(
            "SELECT node_id, site_id, outbox_seq, audit_seq, audit_hash, hlc_last FROM node_state"
        ).fetchone()
        (resource,) = db.execute("SELECT id FROM resource LIMIT 1").fetchone() or ("r-bench",)
        (renter,) = db.execute("SELECT id FROM renter LIMIT 1").fetchone() or ("t-bench",)
        (earlier,) = db.execute("SELECT count(*) FROM outbox WHERE entity = 'booking'").fetchone()
        rows: list[tuple[Any, ...]] = []
        wall = max(int(START.timestamp() * 1000), Stamp.decode(last).wall_ms + 1)
        at = START.isoformat()  # as the edge writes instants in an audit event's canonical form
        for index in range(earlier, earlier + bookings):  # after the slots already booked
            wall += 1
            begins = START + timedelta(days=index // 8, hours=2 * (index % 8))
            booking_id = str(uuid7(wall))
            stamp = Stamp(wall, 0, node_id).encode()
            if not audit_only:
                outbox_seq += 1
                rows.append((outbox_seq, stamp, "booking", booking_id, "upsert",
                             json.dumps(_booking(booking_id, site_id, resource, renter, begins,
                                                 stamp)), at))  # fmt: skip
            audit_seq += 1
            event = {
                "seq": audit_seq, "node_id": node_id, "hlc": Stamp(wall, 1, node_id).encode(),
                "actor": "bench", "action": "booking.create", "entity": "booking",
                "entity_id": booking_id, "details": {"status": "confirmed"}, "at": at,
                "prev_hash": head,
            }  # fmt: skip
            head = audit_hash(event)  # the edge's canonical hash: the hub can verify the chain
            event["hash"] = head
            outbox_seq += 1
            rows.append((outbox_seq, event["hlc"], "audit_event", str(audit_seq), "append",
                         json.dumps(event), at))  # fmt: skip
        db.executemany(
            "INSERT INTO outbox (seq, hlc, entity, entity_id, op, payload, created_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?)",
            rows,
        )
        db.execute(
            "UPDATE node_state SET outbox_seq = ?, audit_seq = ?, audit_hash = ?, hlc_last = ?",
            (outbox_seq, audit_seq, head, Stamp(wall, 2, node_id).encode()),
        )
        db.commit()
    return len(rows)


def _booking(
    booking_id: str, site_id: str, resource: str, renter: str, begins: datetime, stamp: str
) -> dict[str, Any]:
    at = begins.isoformat()
    return {
        "id": booking_id, "site_id": site_id, "resource_id": resource, "renter_id": renter,
        "starts_at": at, "ends_at": (begins + timedelta(hours=2)).isoformat(),
        "status": "confirmed", "hold_expires_at": None, "price_cents": 6210,
        "quote": {"lines": [{"code": "base", "label": "Station time", "cents": 6000},
                            {"code": "crt", "label": "Commercial rents tax", "cents": 210}],
                  "total_cents": 6210, "currency": "USD"},
        "created_by": "host:bench", "created_at": at, "updated_at": at,
        "confirmed_hlc": stamp, "updated_hlc": stamp, "paid": False, "origin_node": None,
    }  # fmt: skip


async def hub_bookings(hub: Hub, site_id: str, resource: str, renter: str, count: int) -> None:
    """``count`` online bookings at the hub for a site, in its feed (for an edge to pull)."""
    conn = await asyncpg.connect(f"{SERVER}/{hub.database}")
    try:
        wall = int(START.timestamp() * 1000)
        rows, feed = [], []
        for index in range(count):
            begins = START + timedelta(days=400 + index // 8, hours=2 * (index % 8))
            booking_id = str(uuid7(wall + index))
            stamp = Stamp(wall + index, 0, "hub").encode()
            payload = _booking(booking_id, site_id, resource, renter, begins, stamp)
            payload["origin_node"] = "hub"
            rows.append((booking_id, site_id, resource, renter, begins,
                         begins + timedelta(hours=2), stamp, START))  # fmt: skip
            feed.append((site_id, "booking", booking_id, "upsert", json.dumps(payload), stamp,
                         "hub", START))  # fmt: skip
        await conn.executemany(
            "INSERT INTO booking (id, site_id, resource_id, renter_id, starts_at, ends_at,"
            " status, price_cents, quote, paid, confirmed_hlc, origin_node, created_at,"
            " updated_at, updated_hlc) VALUES ($1, $2, $3, $4, $5, $6, 'confirmed', 6210,"
            " '{}'::jsonb, false, $7, 'hub', $8, $8, $7)",
            rows,
        )
        await conn.executemany(
            "INSERT INTO feed (site_id, entity, entity_id, op, payload, hlc, origin, at)"
            " VALUES ($1, $2, $3, $4, $5::jsonb, $6, $7, $8)",
            feed,
        )
    finally:
        await conn.close()
