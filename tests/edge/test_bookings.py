"""Bookings through the edge API: creation, idempotency, clashes, holds, rules, states."""

from __future__ import annotations

import asyncio
import sqlite3
from typing import Any

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient

from edge.clock import FixedClock
from sync.ids import uuid7
from sync.vocabulary import Role
from tests.edge.conftest import Login
from tests.edge.seed import Seeded, seed

Client = AsyncTestClient[Litestar]
# Local San Francisco times on the fixed clock's day (2025-11-05, PST = UTC-8).
MORNING = {"start": "2025-11-05T10:00:00", "end": "2025-11-05T14:00:00"}


@pytest.fixture
async def seeded(client: Client, app: Litestar) -> Seeded:
    return await seed(app.state.services)


def _body(seeded: Seeded, **extra: Any) -> dict[str, Any]:
    return {"resource_id": seeded.resource_id, "renter_id": seeded.renter_id, **MORNING, **extra}


async def test_create_prices_the_booking_and_places_naive_times_in_the_site_zone(
    client: Client, login: Login, seeded: Seeded
) -> None:
    headers = await login(Role.STAFF)
    response = await client.post("/api/v1/bookings", json=_body(seeded), headers=headers)
    assert response.status_code == 201, response.text
    booking = response.json()
    assert booking["start"].startswith("2025-11-05T18:00:00")  # 10:00 PST
    assert booking["local_start"] == "2025-11-05T10:00:00-08:00"
    assert booking["status"] == "confirmed"
    # 4 h x $30 = $120 base; SF commercial rents tax 3.5 % = $4.20.
    assert (booking["quote"]["base_cents"], booking["price_cents"]) == (12_000, 12_420)


async def test_a_retried_id_returns_the_same_booking_and_a_reused_id_is_refused(
    client: Client, login: Login, seeded: Seeded, clock: FixedClock
) -> None:
    headers = await login(Role.STAFF)
    body = _body(seeded, id=str(uuid7(1_762_300_000_000)))
    first = await client.post("/api/v1/bookings", json=body, headers=headers)
    again = await client.post("/api/v1/bookings", json=body, headers=headers)
    other = await client.post(
        "/api/v1/bookings", json={**body, "end": "2025-11-05T15:00:00"}, headers=headers
    )
    assert (first.status_code, again.status_code, other.status_code) == (201, 200, 409)
    assert again.json()["id"] == first.json()["id"] == body["id"]


async def test_an_overlap_is_refused_naming_the_clashing_booking(
    client: Client, login: Login, seeded: Seeded
) -> None:
    headers = await login(Role.STAFF)
    first = (await client.post("/api/v1/bookings", json=_body(seeded), headers=headers)).json()
    clash = await client.post(
        "/api/v1/bookings",
        headers=headers,
        json=_body(seeded, start="2025-11-05T13:00:00", end="2025-11-05T16:00:00"),
    )
    adjacent = await client.post(
        "/api/v1/bookings",
        headers=headers,
        json=_body(seeded, start="2025-11-05T14:00:00", end="2025-11-05T16:00:00"),
    )
    elsewhere = await client.post(
        "/api/v1/bookings",
        headers=headers,
        json=_body(seeded, resource_id=seeded.other_resource_id),
    )
    assert clash.status_code == 409
    error = clash.json()["error"]
    assert (error["code"], error["details"]["clashing_booking"]["id"]) == (
        "slot_taken",
        first["id"],
    )
    assert (adjacent.status_code, elsewhere.status_code) == (201, 201)


async def test_an_expired_hold_frees_its_slot_without_any_job(
    client: Client, login: Login, seeded: Seeded, clock: FixedClock
) -> None:
    headers = await login(Role.STAFF)
    hold = (
        await client.post("/api/v1/bookings", json=_body(seeded, status="hold"), headers=headers)
    ).json()
    assert (
        await client.post("/api/v1/bookings", json=_body(seeded), headers=headers)
    ).status_code == 409
    clock.advance(minutes=16)
    headers = await login(Role.STAFF)  # the first access token has expired meanwhile
    taken = await client.post("/api/v1/bookings", json=_body(seeded), headers=headers)
    expired = (await client.get(f"/api/v1/bookings/{hold['id']}", headers=headers)).json()
    late_confirm = await client.post(f"/api/v1/bookings/{hold['id']}/confirm", headers=headers)
    assert taken.status_code == 201
    assert (expired["status"], expired["cancel_reason"]) == ("cancelled", "hold_expired")
    assert late_confirm.status_code == 409


async def test_an_expired_hold_can_still_be_confirmed_while_the_slot_is_free(
    client: Client, login: Login, seeded: Seeded, clock: FixedClock
) -> None:
    headers = await login(Role.STAFF)
    hold = (
        await client.post("/api/v1/bookings", json=_body(seeded, status="hold"), headers=headers)
    ).json()
    clock.advance(minutes=30)
    headers = await login(Role.STAFF)
    confirmed = await client.post(f"/api/v1/bookings/{hold['id']}/confirm", headers=headers)
    assert (confirmed.status_code, confirmed.json()["status"]) == (200, "confirmed")


@pytest.mark.parametrize(
    ("start", "end", "rule"),
    [
        ("2025-11-05T10:00:00", "2025-11-05T11:00:00", "RENTAL_MIN_HOURS"),  # 1 h < 2 h minimum
        ("2026-06-01T10:00:00", "2026-06-01T14:00:00", "RENTAL_ADVANCE_LIMIT"),  # > 180 days
        ("2025-11-04T10:00:00", "2025-11-04T14:00:00", None),  # yesterday
        ("2025-11-06T02:00:00", "2025-11-06T04:00:00", None),  # before opening
    ],
)
async def test_site_rules_refuse_bad_times(
    client: Client, login: Login, seeded: Seeded, start: str, end: str, rule: str | None
) -> None:
    headers = await login(Role.STAFF)
    response = await client.post(
        "/api/v1/bookings", json=_body(seeded, start=start, end=end), headers=headers
    )
    assert response.status_code == 422, response.text
    assert response.json()["error"]["details"].get("rule") == rule


async def test_fifty_concurrent_requests_for_one_slot_create_exactly_one_booking(
    client: Client, login: Login, seeded: Seeded, settings: Any
) -> None:
    headers = await login(Role.STAFF)
    responses = await asyncio.gather(
        *(client.post("/api/v1/bookings", json=_body(seeded), headers=headers) for _ in range(50))
    )
    codes = sorted(r.status_code for r in responses)
    assert codes.count(201) == 1
    assert codes.count(409) == 49
    with sqlite3.connect(settings.database_path) as raw:
        assert raw.execute("SELECT count(*) FROM booking").fetchone() == (1,)


async def test_every_booking_write_leaves_audit_and_outbox_rows(
    client: Client, login: Login, seeded: Seeded, settings: Any
) -> None:
    headers = await login(Role.HOST)
    booking = (await client.post("/api/v1/bookings", json=_body(seeded), headers=headers)).json()
    await client.post(f"/api/v1/bookings/{booking['id']}/cancel", headers=headers)
    with sqlite3.connect(settings.database_path) as raw:
        actions = [
            a
            for (a,) in raw.execute(
                "SELECT action FROM audit_event WHERE entity_id = ? ORDER BY seq", (booking["id"],)
            )
        ]
        changes = raw.execute(
            "SELECT count(*) FROM outbox WHERE entity = 'booking' AND entity_id = ?",
            (booking["id"],),
        ).fetchone()
        seqs = [s for (s,) in raw.execute("SELECT seq FROM outbox ORDER BY seq")]
    assert actions == ["booking.create", "booking.cancel"]
    assert changes == (2,)
    assert seqs == list(range(1, len(seqs) + 1))  # contiguous


async def test_status_only_moves_forward(client: Client, login: Login, seeded: Seeded) -> None:
    headers = await login(Role.HOST)
    booking = (await client.post("/api/v1/bookings", json=_body(seeded), headers=headers)).json()
    path = f"/api/v1/bookings/{booking['id']}"
    assert (await client.post(f"{path}/check-out", headers=headers)).status_code == 409
    assert (await client.post(f"{path}/cancel", headers=headers)).status_code == 200
    assert (await client.post(f"{path}/confirm", headers=headers)).status_code == 409
    assert (await client.post(f"{path}/check-in", headers=headers)).status_code == 409


@pytest.mark.parametrize(
    ("body", "status"),
    [
        ({"resource_id": "nope"}, 404),
        ({"renter_id": "nope"}, 404),
        ({"end": "2025-11-05T09:00:00"}, 400),
        ({"start": "not a date"}, 400),
        ({"status": "checked_in"}, 400),
        ({"id": "not-a-uuid"}, 422),
        ({"resource_id": "x" * 500}, 400),
        ({"surprise": 1}, 400),
    ],
)
async def test_bad_input_gets_a_clear_4xx(
    client: Client, login: Login, seeded: Seeded, body: dict[str, Any], status: int
) -> None:
    headers = await login(Role.STAFF)
    response = await client.post("/api/v1/bookings", json=_body(seeded, **body), headers=headers)
    assert response.status_code == status, response.text
    assert set(response.json()["error"]) == {"code", "message", "details"}


async def test_malformed_json_and_unknown_ids(client: Client, login: Login, seeded: Seeded) -> None:
    headers = {**await login(Role.STAFF), "Content-Type": "application/json"}
    malformed = await client.post("/api/v1/bookings", content=b"{not json", headers=headers)
    missing = await client.get(
        "/api/v1/bookings/0190f0f0-0000-7000-8000-000000000000", headers=headers
    )
    bad_range = await client.get("/api/v1/bookings?from=yesterday", headers=headers)
    assert (malformed.status_code, missing.status_code, bad_range.status_code) == (400, 404, 400)


async def test_an_oversized_json_body_is_refused_with_413(client: Client, login: Login) -> None:
    headers = {**await login(Role.STAFF), "Content-Type": "application/json"}
    huge = b'{"resource_id": "' + b"x" * (2 * 1024 * 1024) + b'"}'
    response = await client.post("/api/v1/bookings", content=huge, headers=headers)
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "payload_too_large"
