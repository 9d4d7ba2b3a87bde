"""Helpers for the in-process sync tests: an edge site set up through its API, hub reads."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx
from litestar import Litestar
from sqlalchemy import text

from edge.users import create_user
from hub.db import Database
from sync.ids import uuid7
from sync.vocabulary import Role
from tests.edge.conftest import PASSWORD
from tests.edge.seed import COMPLIANT_RENTER, COMPLIANT_SITE

Headers = dict[str, str]


@dataclass(frozen=True)
class EdgeSite:
    headers: Headers
    resource_id: str
    renter_id: str


async def set_up_edge(edge: Litestar, client: httpx.AsyncClient) -> EdgeSite:
    """A host, a compliant site, one station and one renter, all through the edge API."""
    await create_user(edge.state.services, "sync-host", Role.HOST, PASSWORD, exist_ok=True)
    login = await client.post(
        "/api/v1/auth/login", json={"username": "sync-host", "password": PASSWORD}
    )
    assert login.status_code == 200, login.text
    headers = {"Authorization": f"Bearer {login.json()['access_token']}"}
    assert (await client.patch("/api/v1/site", json=COMPLIANT_SITE, headers=headers)).is_success
    resource = await client.post(
        "/api/v1/resources",
        json={"name": "Station 1", "kind": "station", "hourly_rate_cents": 3000},
        headers=headers,
    )
    renter = await client.post(
        "/api/v1/renters",
        json={
            **COMPLIANT_RENTER,
            "name": "Artisan Bakery",
            "email": "bakery@example.com",
            "phone": "+14155550101",
        },
        headers=headers,
    )
    assert resource.status_code == renter.status_code == 201, (resource.text, renter.text)
    return EdgeSite(headers, resource.json()["id"], renter.json()["id"])


async def book(client: httpx.AsyncClient, site: EdgeSite, start: str, end: str) -> dict[str, Any]:
    response = await client.post(
        "/api/v1/bookings",
        json={
            "resource_id": site.resource_id,
            "renter_id": site.renter_id,
            "start": start,
            "end": end,
        },
        headers=site.headers,
    )
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


async def hub_rows(db: Database, sql: str, **params: Any) -> list[Any]:
    async with db.engine.connect() as connection:
        return list((await connection.execute(text(sql), params)).all())


async def hub_side_booking(
    db: Database, site_id: str, resource_id: str, renter_id: str, start: str, end: str, hlc: str
) -> str:
    """A booking the hub accepted online (origin ``hub``), put in the site's feed for the edge."""
    from datetime import datetime

    from hub.sync_feed import append_feed, booking_payload, driver

    booking_id = str(uuid7(int(datetime.fromisoformat(start).timestamp() * 1000)))
    async with db.write() as session:
        conn = await driver(session)
        now = datetime.fromisoformat(start)
        await conn.execute(
            "INSERT INTO booking (id, site_id, resource_id, renter_id, starts_at, ends_at, status,"
            " price_cents, quote, paid, confirmed_hlc, origin_node, created_at, updated_at,"
            " updated_hlc) VALUES ($1, $2, $3, $4, $5, $6, 'confirmed', 6000, '{}'::jsonb, false,"
            " $7, 'hub', $8, $8, $7)",
            booking_id,
            site_id,
            resource_id,
            renter_id,
            datetime.fromisoformat(start),
            datetime.fromisoformat(end),
            hlc,
            now,
        )
        row = await conn.fetchrow("SELECT * FROM booking WHERE id = $1", booking_id)
        payload = booking_payload(row)
        await append_feed(
            conn, site_id, [("booking", booking_id, "upsert", payload, hlc, "hub")], now
        )
    return booking_id


# --- snapshot bootstrap (tests/contract/test_snapshot.py) ----------------------------------------


def edge_rows(services: Any, sql: str, *params: object) -> list[tuple[Any, ...]]:
    """Rows of the edge's database, read beside the running node."""
    import sqlite3
    from contextlib import closing

    with closing(sqlite3.connect(services.settings.database_path)) as db:
        return db.execute(sql, params).fetchall()


async def hub_bookings_in_feed(
    db: Database,
    site_id: str,
    resource_id: str,
    renter_id: str,
    starts: list[str],
    at: Any,
    *,
    hours: int = 2,
    status: str = "confirmed",
) -> list[str]:
    """Bookings the hub accepted online ``at`` (origin ``hub``), each with its row in the
    site's feed; ``starts`` are UTC ISO instants."""
    from datetime import datetime, timedelta

    from hub.sync_feed import append_feed, booking_payload, driver
    from sync.hlc import Stamp

    ids = []
    async with db.write() as session:
        conn = await driver(session)
        feed = []
        for index, start in enumerate(starts):
            begins = datetime.fromisoformat(start)
            wall = int(at.timestamp() * 1000) + index  # confirmed when the hub took it
            booking_id, stamp = str(uuid7(wall)), Stamp(wall, 0, "hub").encode()
            row = await conn.fetchrow(
                "INSERT INTO booking (id, site_id, resource_id, renter_id, starts_at, ends_at,"
                " status, price_cents, quote, paid, confirmed_hlc, origin_node, created_at,"
                " updated_at, updated_hlc) VALUES ($1, $2, $3, $4, $5, $6, $7, 6000,"
                ' \'{"total_cents": 6000, "currency": "USD"}\'::jsonb, false, $8, \'hub\', $9,'
                " $9, $8) RETURNING *",
                booking_id, site_id, resource_id, renter_id, begins,
                begins + timedelta(hours=hours), status, stamp, at,
            )  # fmt: skip
            payload = booking_payload(row)
            feed.append(("booking", booking_id, "upsert", payload, stamp, "hub"))
            ids.append(booking_id)
        await append_feed(conn, site_id, feed, at)
    return ids


async def hub_update_booking(db: Database, booking_id: str, now: Any, **values: Any) -> None:
    """Change a hub booking (e.g. ``status``, ``paid``) and feed its new state to the site."""
    from hub.sync_feed import append_feed, booking_payload, driver

    async with db.write() as session:
        conn = await driver(session)
        old = await conn.fetchrow(
            "SELECT updated_hlc, site_id FROM booking WHERE id = $1", booking_id
        )
        wall, counter, _ = old["updated_hlc"].split("-", 2)
        stamp = f"{wall}-{int(counter) + 1:05d}-hub"
        sets = ", ".join(f"{name} = ${n}" for n, name in enumerate(values, start=3))
        row = await conn.fetchrow(
            f"UPDATE booking SET updated_hlc = $2, {sets} WHERE id = $1 RETURNING *",  # noqa: S608
            booking_id, stamp, *values.values(),
        )  # fmt: skip
        payload = booking_payload(row)
        feed = [("booking", booking_id, "upsert", payload, stamp, "hub")]
        await append_feed(conn, old["site_id"], feed, now)


async def hub_renter(db: Database, settings: Any, name: str, email: str, hlc: str) -> str:
    """A renter known to the hub only, its email sealed under the hub's key (as at rest)."""
    from sync.pii import PiiCipher

    pii = PiiCipher(
        settings.pii_key.get_secret_value(), settings.blind_index_key.get_secret_value()
    )
    renter_id = str(uuid7(int(hlc.split("-")[0])))
    from hub.sync_feed import driver

    async with db.write() as session:
        conn = await driver(session)
        await conn.execute(
            "INSERT INTO renter (id, name, profile, email_cipher, email_index, field_stamps,"
            " updated_hlc) VALUES ($1, $2, $3::jsonb, $4, $5, '{}'::jsonb, $6)",
            renter_id, name, '{"insured": true}', pii.seal("email", email),
            pii.index("email", email), hlc,
        )  # fmt: skip
    return renter_id
