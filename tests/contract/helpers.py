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
