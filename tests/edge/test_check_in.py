"""Check-in at the door: the verdict, refusals, host overrides, check-out."""

from __future__ import annotations

import sqlite3
from typing import Any

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient

from sync.vocabulary import Role
from tests.edge.conftest import Login
from tests.edge.seed import Seeded, seed

Client = AsyncTestClient[Litestar]


@pytest.fixture
async def seeded(client: Client, app: Litestar) -> Seeded:
    return await seed(app.state.services)


async def _book(client: Client, headers: dict[str, str], seeded: Seeded, renter_id: str) -> str:
    body = {
        "resource_id": seeded.resource_id,
        "renter_id": renter_id,
        "start": "2025-11-05T10:00:00",
        "end": "2025-11-05T14:00:00",
    }
    response = await client.post("/api/v1/bookings", json=body, headers=headers)
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


async def test_a_compliant_renter_is_checked_in_with_the_verdict(
    client: Client, login: Login, seeded: Seeded
) -> None:
    staff = await login(Role.STAFF)
    booking_id = await _book(client, staff, seeded, seeded.renter_id)
    response = await client.post(f"/api/v1/bookings/{booking_id}/check-in", headers=staff)
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["verdict"]["result"], body["booking"]["status"]) == ("ALLOW", "checked_in")
    out = await client.post(f"/api/v1/bookings/{booking_id}/check-out", headers=staff)
    assert out.json()["status"] == "checked_out"


async def test_a_denied_check_in_answers_412_with_the_reasons(
    client: Client, login: Login, seeded: Seeded
) -> None:
    staff = await login(Role.STAFF)
    booking_id = await _book(client, staff, seeded, seeded.uninsured_renter_id)
    response = await client.post(f"/api/v1/bookings/{booking_id}/check-in", headers=staff)
    assert response.status_code == 412
    verdict = response.json()["error"]["details"]["verdict"]
    assert verdict["result"] == "DENY"
    assert "INSURANCE_LIABILITY" in {v["rule_id"] for v in verdict["violations"]}
    still = await client.get(f"/api/v1/bookings/{booking_id}", headers=staff)
    assert still.json()["status"] == "confirmed"


async def test_staff_cannot_override_but_a_host_can_and_it_is_audited(
    client: Client, login: Login, seeded: Seeded, settings: Any
) -> None:
    staff, host = await login(Role.STAFF), await login(Role.HOST)
    booking_id = await _book(client, staff, seeded, seeded.uninsured_renter_id)
    reason = {"override_reason": "COI renewed this morning, paper copy seen"}
    by_staff = await client.post(
        f"/api/v1/bookings/{booking_id}/check-in", json=reason, headers=staff
    )
    by_host = await client.post(
        f"/api/v1/bookings/{booking_id}/check-in", json=reason, headers=host
    )
    assert by_staff.status_code == 403
    assert by_host.status_code == 200, by_host.text
    assert by_host.json()["override_reason"] == reason["override_reason"]
    with sqlite3.connect(settings.database_path) as raw:
        stored = raw.execute("SELECT result, override_reason FROM check_in").fetchall()
        audited = raw.execute(
            "SELECT details FROM audit_event WHERE action = 'booking.check_in'"
        ).fetchone()
    assert stored == [("DENY", reason["override_reason"])]
    assert reason["override_reason"] in audited[0]


async def test_renters_cannot_check_themselves_in(
    client: Client, login: Login, seeded: Seeded
) -> None:
    staff = await login(Role.STAFF)
    booking_id = await _book(client, staff, seeded, seeded.renter_id)
    renter = await login(Role.RENTER, username="bakery", renter_id=seeded.renter_id)
    response = await client.post(f"/api/v1/bookings/{booking_id}/check-in", headers=renter)
    assert response.status_code == 403


async def test_compliance_preview_and_evaluate(
    client: Client, login: Login, seeded: Seeded
) -> None:
    staff = await login(Role.STAFF)
    booking_id = await _book(client, staff, seeded, seeded.uninsured_renter_id)
    preview = await client.get(f"/api/v1/bookings/{booking_id}/compliance", headers=staff)
    scenario = {
        "jurisdiction": "sf",
        "booking": {"start": "2025-11-15T10:00:00", "end": "2025-11-15T14:00:00"},
    }
    evaluated = await client.post("/api/v1/compliance/evaluate", json=scenario, headers=staff)
    unknown = await client.post(
        "/api/v1/compliance/evaluate", headers=staff, json={**scenario, "jurisdiction": "atlantis"}
    )
    assert preview.json()["result"] == "DENY"
    assert evaluated.status_code == 200 and evaluated.json()["result"] == "DENY"
    assert unknown.status_code == 422


async def test_the_days_other_bookings_count_towards_the_daily_cap(
    client: Client, login: Login, seeded: Seeded
) -> None:
    staff = await login(Role.STAFF)
    booking_id = await _book(client, staff, seeded, seeded.renter_id)  # 10:00-14:00
    long_day = {
        "resource_id": seeded.other_resource_id,
        "renter_id": seeded.renter_id,
        "start": "2025-11-05T08:00:00",
        "end": "2025-11-05T18:00:00",
    }  # 10 h more
    assert (await client.post("/api/v1/bookings", json=long_day, headers=staff)).status_code == 201
    response = await client.post(f"/api/v1/bookings/{booking_id}/check-in", headers=staff)
    verdict = response.json()["verdict"]
    assert (response.status_code, verdict["result"]) == (200, "CONDITIONS")
    assert [v["rule_id"] for v in verdict["violations"]] == ["RENTAL_LIMIT_DAILY"]


async def test_another_renters_bookings_do_not_count_towards_the_daily_cap(
    client: Client, login: Login, seeded: Seeded
) -> None:
    staff = await login(Role.STAFF)
    booking_id = await _book(client, staff, seeded, seeded.renter_id)  # 10:00-14:00
    neighbour = {
        "resource_id": seeded.other_resource_id,
        "renter_id": seeded.uninsured_renter_id,
        "start": "2025-11-05T08:00:00",
        "end": "2025-11-05T18:00:00",
    }  # 10 h at the next station, someone else's
    assert (await client.post("/api/v1/bookings", json=neighbour, headers=staff)).status_code == 201
    response = await client.post(f"/api/v1/bookings/{booking_id}/check-in", headers=staff)
    assert (response.status_code, response.json()["verdict"]["result"]) == (200, "ALLOW")
